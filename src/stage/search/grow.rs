//! Sweeps that grow: a search's budget is outside its identity (see
//! `search::scheduler::budget_in_identity`), so a larger budget runs the same job on. Its
//! recorded items are decided again from their results, as a fresh run under the new budget
//! would decide them; while the decisions come out as recorded they stand (their trials do not
//! train again). A smaller budget stops deciding before the recorded items end: the search
//! selects among those within it and trains nothing, and the later items stay recorded for a
//! larger budget (`budgets.json` records how many it selects `within`, which `status`, `export`
//! and the report follow). The budget is recorded once the items met it, so a run killed
//! before then meets it again, and one killed while deciding items again leaves stale rows
//! that the next budget's replay keeps as recorded results. Where a decision comes out differently (ASHA's promotions once its trials were
//! spent, median stopping's last batch), the items from there are decided again like a retry's
//! (see `retry`): each that comes out as before takes its recorded result.

use std::collections::BTreeSet;

use super::Search;
use crate::error::Result;
use crate::search::{Budget, Decision, ItemResult, Scheduler, WorkItem};
use crate::stage::output::SearchOutput;
use crate::store::db::ItemRow;
use crate::store::{Db, Layout};
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
pub fn budget_changed(stage: &Stage, best: &SearchOutput) -> Option<String> {
    let StageSpec::Search(spec) = &stage.spec else {
        return None;
    };
    let was = best.budget.as_ref()?;
    (*was != spec.budget).then(|| {
        format!(
            "budget {} (was {}): the same search, run on",
            budget_text(&spec.budget),
            budget_text(was)
        )
    })
}

/// One budget a search ran under, as `budgets.json` records it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BudgetEntry {
    pub budget: Budget,
    /// The items recorded when this budget began.
    pub items_before: usize,
    /// A smaller budget: it selects among the first this-many items (the later ones are kept
    /// for a larger budget). `None`: every recorded item counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<usize>,
}

/// The budgets a search ran under, oldest first.
pub fn history(layout: &Layout, job: &str) -> Vec<BudgetEntry> {
    std::fs::read(layout.budgets(job))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The history for people: `12 trials → 16 trials`; `None` for a search that ran under one
/// budget only.
pub fn history_text(layout: &Layout, job: &str) -> Option<String> {
    let h = history(layout, job);
    (h.len() > 1).then(|| {
        h.iter()
            .map(|e| budget_text(&e.budget))
            .collect::<Vec<_>>()
            .join(" → ")
    })
}

/// A search whose budget was made smaller than what it did: the trials the budget selects
/// among (its first `within` items'), and how many other trials stay kept for a larger one.
pub struct Within {
    pub trials: BTreeSet<usize>,
    pub kept: usize,
}

/// `None` when every recorded trial counts (the usual case: no smaller budget).
pub fn within(db: &Db, layout: &Layout, job: &str) -> Result<Option<Within>> {
    let Some(n) = history(layout, job).last().and_then(|e| e.within) else {
        return Ok(None);
    };
    let trials: BTreeSet<usize> = db
        .items(job)?
        .into_iter()
        .filter(|r| r.state != ItemState::Stale && r.index < n)
        .map(|r| r.item.trial)
        .collect();
    let all = db.trial_summary(job)?.states.values().sum::<usize>();
    Ok(Some(Within {
        kept: all.saturating_sub(trials.len()),
        trials,
    }))
}

/// Record `budget` as the one the search now runs under (after its recorded items met it).
fn record(
    layout: &Layout,
    job: &str,
    budget: &Budget,
    items_before: usize,
    within: Option<usize>,
) -> Result<()> {
    let mut h = history(layout, job);
    h.push(BudgetEntry {
        budget: budget.clone(),
        items_before,
        within,
    });
    crate::store::atomic::write_json(&layout.budgets(job), &h)
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

    /// The recorded items (`rows`, as the database has them) meet the search's budget: the
    /// rows to resume from. Under the budget they were recorded under: all of them, or the
    /// first `within` after a smaller budget. Under another: see `regrow`; the budget is
    /// recorded only after, so that a run killed in between meets it again.
    pub(super) fn meet_budget(
        &mut self,
        sched: &dyn Scheduler,
        rows: Vec<ItemRow>,
    ) -> Result<Vec<ItemRow>> {
        let (layout, job) = (self.ctx.layout, self.ctx.job.id.clone());
        let history = history(layout, &job);
        let live = rows.iter().filter(|r| r.state != ItemState::Stale).count();
        match history.last() {
            Some(last) if last.budget == self.spec.budget => Ok(match last.within {
                // Interrupted after a smaller budget was recorded: still only its items.
                Some(n) => rows
                    .into_iter()
                    .filter(|r| r.state != ItemState::Stale && r.index < n)
                    .collect(),
                None => rows,
            }),
            // The first run (or one recorded before budgets were): nothing to meet.
            None => {
                record(layout, &job, &self.spec.budget, live, None)?;
                Ok(rows)
            }
            Some(_) if live == 0 => {
                record(layout, &job, &self.spec.budget, 0, None)?;
                Ok(rows)
            }
            Some(_) => {
                let (rows, within) = self.regrow(sched, rows)?;
                record(layout, &job, &self.spec.budget, live, within)?;
                Ok(rows)
            }
        }
    }

    /// The budget changed since the items were recorded: keep those the new budget decides
    /// the same, leave out those beyond a smaller budget, and mark the rest to be decided
    /// again. Returns the rows to resume from, and for a smaller budget how many items it
    /// selects among. Stale rows (a growth or retry interrupted while it decided items again)
    /// stay what they are: recorded results a decision made again may take.
    fn regrow(
        &mut self,
        sched: &dyn Scheduler,
        rows: Vec<ItemRow>,
    ) -> Result<(Vec<ItemRow>, Option<usize>)> {
        let (live, stale): (Vec<ItemRow>, Vec<ItemRow>) =
            rows.into_iter().partition(|r| r.state != ItemState::Stale);
        let r = self.replay(sched, &live)?;
        let n = live.len();
        let budget = budget_text(&self.spec.budget);
        if r.stand == n {
            self.ctx.progress.line(&format!(
                "  budget {budget}: continues after {n} recorded items"
            ));
            return Ok((live.into_iter().chain(stale).collect(), None));
        }
        if r.finished {
            self.ctx.progress.line(&format!(
                "  budget {budget}: selects among the first {} of {n} recorded items, training \
                 none (the others stay recorded for a larger budget)",
                r.stand
            ));
            // Stale rows stay in the database, for a larger budget to take.
            return Ok((live.into_iter().take(r.stand).collect(), Some(r.stand)));
        }
        self.ctx.progress.line(&format!(
            "  budget {budget}: {} recorded items stand; the {} after them are decided again, \
             each taking its recorded result when it comes out the same",
            r.stand,
            n - r.stand
        ));
        self.ctx.db.mark_stale(&self.ctx.job.id, r.stand)?;
        Ok((self.ctx.db.items(&self.ctx.job.id)?, None))
    }
}
