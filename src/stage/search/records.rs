//! Recording what workers report: reading a trial's status, ingesting it into SQLite, and
//! duplicate configurations that take their twin's result instead of training.

use super::Search;
use crate::error::{Error, Result};
use crate::search::ItemResult;
use crate::stage::retention;
use crate::train::protocol::{EpochMetrics, TrialState, TrialStatus};

impl Search<'_, '_> {
    pub(super) fn read_status(&self, u: super::Unit) -> Option<TrialStatus> {
        crate::train::read_status(&self.unit_dir(u))
    }

    /// A unit's final status: the item's, or one fold's (the item ends with its last fold).
    /// The item's result once it has one.
    pub(super) fn finish_unit(
        &mut self,
        (k, fold): super::Unit,
        status: TrialStatus,
    ) -> Result<Option<ItemResult>> {
        if self.folds == 0 {
            return self.ingest(k, status).map(Some);
        }
        let n = self.folds;
        let slots = self.fold_status.entry(k).or_insert_with(|| vec![None; n]);
        slots[fold] = Some(status);
        if slots.iter().any(Option::is_none) {
            return Ok(None);
        }
        let each: Vec<TrialStatus> = self
            .fold_status
            .remove(&k)
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect();
        let trial_dir = self.ctx.layout.trial(self.job(), self.m.issued[k].trial);
        let merged = super::folds::merge(&trial_dir, &each, &self.spec.metric.name)
            .map_err(Error::internal)?;
        for f in 0..n {
            retention::prune_trial(&self.unit_dir((k, f)), &[]);
        }
        self.ingest(k, merged).map(Some)
    }

    /// Record a finished item: its value, the trial's state and every epoch's metrics. The
    /// item's result, for the machine.
    pub(super) fn ingest(&mut self, k: usize, status: TrialStatus) -> Result<ItemResult> {
        let item = self.m.issued[k].clone();
        let dir = self.ctx.layout.trial(self.job(), item.trial);
        if status.state == TrialState::Failed && crate::store::disk_full(&dir) {
            // Not the trial's failure: the run stops and the item is trained again on resume.
            return Err(Error::DiskFull {
                path: dir.to_path_buf(),
            });
        }
        let lines: Vec<EpochMetrics> = std::fs::read_to_string(dir.metrics())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let metric = &self.spec.metric;
        let mut state = status.state;
        let mut reason = status.reason.clone();
        let mut value = None;
        let mut unreported = false;
        if state == TrialState::Done {
            match status.metrics.get(&metric.name) {
                Some(v) if v.is_finite() => value = Some(metric.objective(*v)),
                Some(v) => {
                    state = TrialState::Diverged;
                    reason = Some(format!("{} is {v}", metric.name));
                }
                None => {
                    unreported = true;
                    state = TrialState::Failed;
                    let have: Vec<&String> = status.metrics.keys().collect();
                    reason = Some(format!(
                        "metric {} was not reported (reported: {have:?})",
                        metric.name
                    ));
                }
            }
        }
        let curve = lines
            .iter()
            .map(|l| {
                l.values
                    .get(&metric.name)
                    .filter(|v| v.is_finite())
                    .map(|v| metric.objective(*v))
            })
            .collect();
        let early = status.early.filter(|_| value.is_some());
        let result = ItemResult {
            item: k,
            trial: item.trial,
            epochs: status.epoch,
            value,
            curve,
            best_epoch: early.map(|e| e.best_epoch),
            stopped: early.is_some_and(|e| e.stopped),
        };
        let epochs: Vec<(u32, serde_json::Value)> = lines
            .iter()
            .map(|l| (l.epoch, serde_json::to_value(&l.values).unwrap_or_default()))
            .collect();
        if state == TrialState::Done
            && self.spec.strategy.kind() == crate::search::StrategyKind::Pbt
            && dir.checkpoint(status.epoch).is_dir()
        {
            // A later member may clone this checkpoint: once the row says done, nothing
            // trains it again, so it must outlive a power loss.
            crate::store::atomic::sync_tree(&dir.checkpoint(status.epoch))?;
        }
        self.ctx.db.finish_item(
            self.job(),
            &result,
            state.into(),
            &serde_json::to_value(&status.metrics).unwrap_or_default(),
            reason.as_deref(),
            status.seconds,
            &epochs,
        )?;
        // The best epoch's checkpoint stays beside the newest one.
        let mut keep = self.pending_clones(item.trial);
        keep.extend(result.best_epoch);
        retention::prune_trial(&dir, &keep);
        let shown = status
            .metrics
            .get(&metric.name)
            .map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
        let extra = match state {
            TrialState::Done => String::new(),
            other => format!(
                "  {} {}",
                other.as_str(),
                reason.clone().unwrap_or_default()
            ),
        };
        let stopped = match early {
            Some(e) if e.stopped => format!("  stopped early, best at epoch {}", e.best_epoch),
            Some(e) if e.best_epoch != status.epoch => format!("  best at epoch {}", e.best_epoch),
            Some(_) => String::new(),
            None => String::new(),
        };
        self.ctx.progress.line(&format!(
            "  trial {:>4}  epoch {:>3}  {} {shown}{extra}{stopped}",
            item.trial, status.epoch, metric.name
        ));
        self.warn_repeats(k);
        if unreported && matches!(self.spec.trainer, crate::train::TrainerSpec::Command { .. }) {
            // The program's output names other metrics: every trial would fail alike.
            return Err(Error::JobFailed(format!(
                "stage {}: trial {} {}; the program must print it in each epoch's line \
                 (or set metric.name to one it prints)",
                self.ctx.stage.name,
                item.trial,
                reason.unwrap_or_default()
            )));
        }
        let hard = (state == TrialState::Failed).then(|| reason.as_deref().unwrap_or("failed"));
        self.fail_fast(item.trial, hard)?;
        Ok(result)
    }

    /// Stop the search when its first `FAIL_FAST` trials (by number, so that any number of
    /// workers decides alike) all failed outright for one reason: a broken set-up, not a bad
    /// configuration (a diverged or infeasible trial does not count). Only a search that
    /// started fresh: a resumed one has results this run did not see arrive.
    fn fail_fast(&mut self, trial: usize, hard_failure: Option<&str>) -> Result<()> {
        if self.any_ok || trial >= super::FAIL_FAST {
            return Ok(());
        }
        let Some(reason) = hard_failure else {
            self.any_ok = true;
            return Ok(());
        };
        let failing = self
            .failing
            .get_or_insert_with(|| (reason.to_string(), Vec::new()));
        if failing.0 != reason {
            self.any_ok = true;
            return Ok(());
        }
        if !failing.1.contains(&trial) {
            failing.1.push(trial);
        }
        if failing.1.len() < super::FAIL_FAST {
            return Ok(());
        }
        Err(Error::JobFailed(format!(
            "stage {}: the first {} trials all failed with: {reason}; stopped before spending the \
             rest of the budget (see `hpflow show {}/0`)",
            self.ctx.stage.name,
            super::FAIL_FAST,
            crate::store::layout::short(self.job()),
        )))
    }

    /// Record item `k`'s result, copied from item `twin`'s: the same configuration is not
    /// trained again.
    pub(super) fn record_duplicate(
        &mut self,
        k: usize,
        twin: usize,
        result: &ItemResult,
    ) -> Result<()> {
        let trial = self.m.issued[k].trial;
        let twin_trial = self.m.issued[twin].trial;
        let reason = format!("same configuration as trial {twin_trial}: not trained again");
        let epochs = self.ctx.db.epochs(self.job(), twin_trial)?;
        self.ctx.db.finish_item(
            self.job(),
            result,
            crate::vocab::TrialRowState::Duplicate,
            &serde_json::Value::Null,
            Some(&reason),
            0.0,
            &epochs,
        )?;
        self.ctx
            .progress
            .line(&format!("  trial {trial:>4}  {reason}"));
        Ok(())
    }
}
