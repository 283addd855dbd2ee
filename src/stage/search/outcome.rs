//! The search as a whole: its epoch budget, which checkpoints it keeps, what the bar
//! shows, and the selected configuration it ends with.

use std::collections::HashMap;

use serde_json::json;

use super::Search;
use crate::error::{Error, Result};
use crate::search::{ItemResult, scheduler};
use crate::stage::retention;

impl Search<'_, '_> {
    /// Epochs of `trial` that unfinished items will clone from.
    pub(super) fn pending_clones(&self, trial: usize) -> Vec<u32> {
        self.unfinished
            .iter()
            .filter_map(|&k| self.issued[k].clone_from)
            .filter(|(t, _)| *t == trial)
            .map(|(_, e)| e)
            .collect()
    }

    /// Every result known now counts at the epochs it reached: never more than the
    /// scheduler's count (which knows a prefix), so the scheduler's budget decides.
    pub(super) fn over_epoch_budget(&self) -> bool {
        self.spec.budget.epochs.is_some_and(|limit| {
            crate::search::epochs_paid_known(&self.issued, self.results.iter().flatten()) >= limit
        })
    }

    /// Under `disk_limit_mb`, clear the checkpoints of the worst trials that nothing running
    /// or pending needs.
    pub(super) fn enforce_disk_limit(&mut self) {
        let Some(mb) = self.spec.disk_limit_mb else {
            return;
        };
        // PBT members continue and clone from each other at every interval: any member's
        // checkpoint may be the next generation's start, and a member's history is not
        // reproducible from scratch once it has cloned. Only per-trial pruning applies.
        if self.spec.strategy.kind() == crate::search::StrategyKind::Pbt {
            return;
        }
        let mut best: HashMap<usize, Option<f64>> = HashMap::new();
        let mut busy = std::collections::HashSet::new();
        for (it, r) in self.issued.iter().zip(&self.results) {
            match r {
                None => {
                    busy.insert(it.trial);
                    if let Some((t, _)) = it.clone_from {
                        busy.insert(t);
                    }
                }
                Some(r) => {
                    best.insert(it.trial, r.value);
                }
            }
        }
        let ranking = best
            .into_iter()
            .filter(|(t, _)| !busy.contains(t))
            .map(|(t, v)| (self.ctx.layout.trial(self.job(), t).to_path_buf(), v))
            .collect();
        let cleared =
            retention::enforce_limit(&self.ctx.layout.trials(self.job()), mb * 1_000_000, ranking);
        if cleared > 0 {
            self.ctx.progress.line(&format!(
                "  disk limit {mb} MB: cleared the checkpoints of {cleared} trials"
            ));
        }
    }

    pub(super) fn show_progress(&self, running: usize) {
        let done = self.done as u64;
        let best = self.best.map(|v| {
            format!(
                "best {} {:.4}",
                self.spec.metric.name,
                self.spec.metric.objective(v)
            )
        });
        self.ctx.progress.set(
            done,
            self.issued.len() as u64,
            &format!("{running} running {}", best.unwrap_or_default()),
        );
    }

    /// Epochs paid for: with continuation each trial's epochs once; restarting pays every
    /// item's epochs from zero.
    pub(super) fn epochs_trained(&self, known: &[ItemResult]) -> u64 {
        if self.spec.restart_promotions {
            return known.iter().map(|r| u64::from(r.epochs)).sum();
        }
        // The epochs each item reached (a failed or stopped one ends early), not the ones it
        // planned; items without a result (a search ended by its time budget) paid nothing.
        let reached: Vec<crate::search::WorkItem> = known
            .iter()
            .filter_map(|r| {
                let planned = self.issued.get(r.item)?;
                Some(crate::search::WorkItem {
                    epochs: r.epochs,
                    ..planned.clone()
                })
            })
            .collect();
        crate::search::epochs_paid(&reached)
    }

    /// Select the configuration and write `best.json`.
    /// The trials that ended failed, and the most common reason with a trial that shows it.
    fn failures(&self) -> Result<(usize, Option<(String, usize)>)> {
        // Grouped as `status` groups them: by reason with the trials' values taken out.
        let groups = self.ctx.db.failure_groups(self.job())?;
        let failed = groups.iter().map(|g| g.count).sum();
        let top = groups
            .into_iter()
            .next()
            .map(|g| (crate::reasons::one_line(&g.pattern, 300), g.trial));
        Ok((failed, top))
    }

    pub(super) fn finish(self) -> Result<serde_json::Value> {
        let known: Vec<ItemResult> = self.results.iter().flatten().cloned().collect();
        let (failed, top_reason) = self.failures()?;
        let Some((trial, epochs, objective)) = scheduler::best_trial(&self.issued, &known) else {
            let why = top_reason.map_or_else(String::new, |(r, t)| {
                format!(
                    " (most often: {r}; see `hpflow show {}/{t}`)",
                    crate::store::layout::short(self.job())
                )
            });
            return Err(Error::JobFailed(format!(
                "stage {}: every trial failed{why}; `hpflow status` lists the reasons",
                self.ctx.stage.name
            )));
        };
        let item = self
            .issued
            .iter()
            .find(|i| i.trial == trial)
            .ok_or_else(|| Error::internal("best trial unknown"))?;
        let mut config = self.spec.params.clone();
        // The newest configuration of the trial (PBT changes it along the way).
        let latest = self
            .issued
            .iter()
            .rev()
            .find(|i| i.trial == trial)
            .unwrap_or(item);
        config.extend(latest.config.clone());
        // What the programs printed counts: one that started over trained its epochs again.
        let repeated = self.epochs_repeated();
        let trained = self.epochs_trained(&known) + repeated;
        // Under early stopping `epochs` is the winner's best epoch, which retrain trains to.
        let winner = known
            .iter()
            .filter(|r| r.trial == trial)
            .max_by_key(|r| (r.epochs, r.item));
        let early = winner.filter(|r| r.best_epoch.is_some()).map(
            |r| json!({"best_epoch": r.measured_at(), "trained": r.epochs, "stopped": r.stopped}),
        );
        let mut best = json!({
            "trial": trial,
            "config": config,
            "epochs": epochs,
            "metric": self.spec.metric.name,
            "value": self.spec.metric.objective(objective),
            "trials": known.iter().map(|r| r.trial).collect::<std::collections::BTreeSet<_>>().len(),
            "epochs_trained": trained,
            "failed": failed,
            "folds": self.folds,
            "failure": top_reason.map(|(r, t)| json!({"reason": r, "trial": t})),
            // The budget this selection was made under: another one runs the search on.
            "budget": self.spec.budget,
        });
        if let Some(e) = &early {
            best["early_stopping"] = e.clone();
        }
        if repeated > 0 {
            best["epochs_repeated"] = json!(repeated);
        }
        if self.spec.early_stopping.is_some() {
            let stopped: std::collections::BTreeSet<usize> = known
                .iter()
                .filter(|r| r.stopped)
                .map(|r| r.trial)
                .collect();
            best["stopped_early"] = json!(stopped.len());
        }
        crate::store::atomic::write_json(&self.ctx.layout.best(self.job()), &best)?;
        let at = match &early {
            Some(e) => format!("at its best epoch {epochs} of {}", e["trained"]),
            None => format!("after {}", crate::text::plural(epochs, "epoch")),
        };
        let each = if self.folds > 0 {
            format!(", each by {} fold models", self.folds)
        } else {
            String::new()
        };
        self.ctx.progress.line(&format!(
            "  best: trial {trial} with {} = {:.4} {at} ({} trained in all{each})",
            self.spec.metric.name,
            self.spec.metric.objective(objective),
            crate::text::plural(trained, "epoch")
        ));
        Ok(best)
    }
}
