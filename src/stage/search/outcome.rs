//! The search as a whole: its epoch budget, which checkpoints it keeps, what the bar
//! shows, and the selected configuration it ends with.

use std::collections::HashMap;

use super::Search;
use crate::error::{Error, Result};
use crate::search::{ItemResult, scheduler};
use crate::stage::output::{self, Failure, SearchOutput, WinnerStop};
use crate::stage::retention;

impl Search<'_, '_> {
    /// Epochs of `trial` that unfinished items will clone from.
    pub(super) fn pending_clones(&self, trial: usize) -> Vec<u32> {
        self.m
            .unfinished
            .iter()
            .filter_map(|&k| self.m.issued[k].clone_from)
            .filter(|(t, _)| *t == trial)
            .map(|(_, e)| e)
            .collect()
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
        for (it, r) in self.m.issued.iter().zip(&self.m.results) {
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
        let done = self.m.done as u64;
        let best = self.m.best.map(|v| {
            format!(
                "best {} {:.4}",
                self.spec.metric.name,
                self.spec.metric.objective(v)
            )
        });
        self.ctx.progress.set(
            done,
            self.m.issued.len() as u64,
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
                let planned = self.m.issued.get(r.item)?;
                Some(crate::search::WorkItem {
                    epochs: r.epochs,
                    ..planned.clone()
                })
            })
            .collect();
        crate::search::epochs_paid(&reached)
    }

    /// The trials that ended failed, and the most common reason with a trial that shows it.
    fn failures(&self) -> Result<(usize, Option<(String, usize)>)> {
        // Grouped as `status` groups them: by reason with the trials' values taken out. Only
        // the trials this search selects among (a smaller budget keeps others recorded).
        let issued = self.m.issued.iter().map(|i| i.trial).collect();
        let groups = self
            .ctx
            .db
            .failure_groups_among(self.job(), Some(&issued))?;
        let failed = groups.iter().map(|g| g.count).sum();
        let top = groups
            .into_iter()
            .next()
            .map(|g| (crate::reasons::one_line(&g.pattern, 300), g.trial));
        Ok((failed, top))
    }

    /// Select the configuration and write `best.json`.
    pub(super) fn finish(self) -> Result<SearchOutput> {
        let known: Vec<ItemResult> = self.m.results.iter().flatten().cloned().collect();
        let (failed, top_reason) = self.failures()?;
        let Some((trial, epochs, objective)) = scheduler::best_trial(&self.m.issued, &known) else {
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
            .m
            .issued
            .iter()
            .find(|i| i.trial == trial)
            .ok_or_else(|| Error::internal("best trial unknown"))?;
        let mut config = self.spec.params.clone();
        // The newest configuration of the trial (PBT changes it along the way).
        let latest = self
            .m
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
        let early = winner
            .filter(|r| r.best_epoch.is_some())
            .map(|r| WinnerStop {
                best_epoch: r.measured_at(),
                trained: r.epochs,
                stopped: r.stopped,
            });
        let stopped_early = self.spec.early_stopping.is_some().then(|| {
            (known.iter().filter(|r| r.stopped).map(|r| r.trial))
                .collect::<std::collections::BTreeSet<usize>>()
                .len()
        });
        let best = SearchOutput {
            version: output::VERSION,
            trial,
            config,
            epochs,
            metric: self.spec.metric.name.clone(),
            value: self.spec.metric.objective(objective),
            trials: (known.iter().map(|r| r.trial))
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            epochs_trained: trained,
            failed,
            folds: self.folds,
            failure: top_reason.map(|(reason, trial)| Failure { reason, trial }),
            // The budget this selection was made under: another one runs the search on.
            budget: Some(self.spec.budget.clone()),
            early_stopping: early.clone(),
            epochs_repeated: (repeated > 0).then_some(repeated),
            stopped_early,
        };
        output::write(self.ctx.layout, self.job(), &best)?;
        let at = match &early {
            Some(e) => format!("at its best epoch {epochs} of {}", e.trained),
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
