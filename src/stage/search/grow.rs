//! Sweeps that grow: a search's budget is outside its identity (see
//! `search::scheduler::budget_in_identity`), so a larger budget runs the same job on. Its
//! recorded items are decided again from their results, as a fresh run under the new budget
//! would decide them; while the decisions come out as recorded they stand (their trials do not
//! train again). A smaller budget stops deciding before the recorded items end: the search
//! selects among those within it and trains nothing, and the later items stay recorded for a
//! larger budget. Where a decision comes out differently (ASHA's promotions once its trials were
//! spent, median stopping's last batch), the items from there are decided again like a retry's
//! (see `retry`): each that comes out as before takes its recorded result.

use serde_json::{Value, json};

use super::Search;
use crate::error::Result;
use crate::search::{Budget, Decision, ItemResult, Scheduler, WorkItem};
use crate::store::Layout;
use crate::store::db::ItemRow;
use crate::vocab::ItemState;
use crate::workflow::{Stage, StageSpec};

/// A budget for people: `16 trials, 2m of time`.
pub fn budget_text(b: &Budget) -> String {
    let mut parts = Vec::new();
    if let Some(t) = b.trials {
        parts.push(crate::text::plural(t as u64, "trial"));
    }
    if let Some(e) = b.epochs {
        parts.push(crate::text::plural(e, "epoch"));
    }
    if let Some(t) = b.time {
        parts.push(format!(
            "{} of time",
            crate::search::options::show_duration(t)
        ));
    }
    if parts.is_empty() {
        "the default".into()
    } else {
        parts.join(", ")
    }
}

/// A done search whose budget is not the one its outputs were selected under: what happens
/// (it runs on as the same job). `None` for other stages and unchanged budgets.
pub fn budget_changed(stage: &Stage, outputs: &Value) -> Option<String> {
    let StageSpec::Search(spec) = &stage.spec else {
        return None;
    };
    let was: Budget = serde_json::from_value(outputs.get("budget")?.clone()).ok()?;
    (was != spec.budget).then(|| {
        format!(
            "budget {} (was {}): the same search, run on",
            budget_text(&spec.budget),
            budget_text(&was)
        )
    })
}

/// The budgets a search ran under, oldest first: `[{budget, items_before}]`.
pub fn history(layout: &Layout, job: &str) -> Vec<Value> {
    std::fs::read(layout.budgets(job))
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<Value>>(&b).ok())
        .unwrap_or_default()
}

/// Record `budget` as the one the search now runs under; true when it differs from the last
/// one recorded (the first run records without a change).
pub(super) fn record(layout: &Layout, job: &str, budget: &Budget, items: usize) -> Result<bool> {
    let mut h = history(layout, job);
    let last: Option<Budget> = h
        .last()
        .and_then(|e| serde_json::from_value(e["budget"].clone()).ok());
    if last.as_ref() == Some(budget) {
        return Ok(false);
    }
    h.push(json!({"budget": budget, "items_before": items}));
    crate::store::atomic::write_json(&layout.budgets(job), &h)?;
    Ok(last.is_some())
}

/// How the recorded items meet the new budget's decisions.
pub(super) struct Replayed {
    /// Items `0..stand` are what the new budget decides: they stand as recorded.
    pub stand: usize,
    /// The new budget finishes at `stand`: the later items are beyond it (a smaller budget).
    pub finished: bool,
}

impl Search<'_, '_> {
    /// Decide the recorded items again under the current budget, from their recorded results.
    /// `rows` are the live rows (no stale ones), numbered from 0.
    pub(super) fn replay(&self, sched: &dyn Scheduler, rows: &[ItemRow]) -> Result<Replayed> {
        let mut issued: Vec<WorkItem> = Vec::new();
        let mut known: Vec<ItemResult> = Vec::new();
        for (k, row) in rows.iter().enumerate() {
            let h = sched.horizon(k, &issued).min(k);
            if known.len() < h {
                // A decision that needs results not recorded (an interrupted run): made again.
                return Ok(Replayed {
                    stand: k,
                    finished: false,
                });
            }
            match sched.decide(k, &issued, &known[..h]) {
                Decision::Finished => {
                    return Ok(Replayed {
                        stand: k,
                        finished: true,
                    });
                }
                // Waves too: `horizon` reads them back (`waves.rs`), so a recorded item in
                // another wave would steer later decisions elsewhere. And reasons, which are
                // shown: an item decided again takes its result with the new reason.
                Decision::Run(item) if item == row.item => {}
                Decision::Run(_) => {
                    return Ok(Replayed {
                        stand: k,
                        finished: false,
                    });
                }
            }
            issued.push(row.item.clone());
            if known.len() == k && (row.state == ItemState::Done || row.state == ItemState::Failed)
            {
                known.push(ItemResult {
                    best_epoch: row.best_epoch,
                    stopped: row.stopped,
                    ..self.result_of(&row.item, k, row.value)?
                });
            }
        }
        Ok(Replayed {
            stand: rows.len(),
            finished: false,
        })
    }

    /// The budget changed since the items were recorded: keep those the new budget decides
    /// the same, leave out those beyond a smaller one, and mark the rest to be decided again.
    /// Returns the rows to resume from.
    pub(super) fn regrow(
        &mut self,
        sched: &dyn Scheduler,
        rows: Vec<ItemRow>,
    ) -> Result<Vec<ItemRow>> {
        if rows.iter().any(|r| r.state == ItemState::Stale) {
            // A growth was interrupted while it decided items again: it goes on from there.
            return Ok(rows);
        }
        let r = self.replay(sched, &rows)?;
        let n = rows.len();
        let budget = budget_text(&self.spec.budget);
        if r.stand == n {
            self.ctx.progress.line(&format!(
                "  budget {budget}: continues after {n} recorded items"
            ));
            return Ok(rows);
        }
        if r.finished {
            self.ctx.progress.line(&format!(
                "  budget {budget}: selects among the first {} of {n} recorded items, training \
                 none (the others stay recorded for a larger budget)",
                r.stand
            ));
            return Ok(rows.into_iter().take(r.stand).collect());
        }
        self.ctx.progress.line(&format!(
            "  budget {budget}: {} recorded items stand; the {} after them are decided again, \
             each taking its recorded result when it comes out the same",
            r.stand,
            n - r.stand
        ));
        self.ctx.db.mark_stale(&self.ctx.job.id, r.stand)?;
        self.ctx.db.items(&self.ctx.job.id)
    }
}
