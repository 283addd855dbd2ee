//! `hpflow run --retry-failed`: a done search trains its failed items again. Items before the
//! first failed one keep their results; each failed item is handed out again (a worker
//! continues from the trial's last good checkpoint, or from scratch without one); every
//! decision that saw a failed result is made again from the new results. A decision that
//! comes out as before takes its earlier result instead of training (a random search retrains
//! only its failed trials), whatever its place (a rung's promotions may come in another
//! order); one that differs trains a new trial in a clean folder.
//!
//! The decisions to make again stay in the database as `stale` items, under negative item
//! numbers (`-1 - item`, so that new decisions take their places), until they are made or the
//! search ends: an interrupted retry resumes with a plain `hpflow run` and still reuses them.

use std::collections::{BTreeSet, HashMap};

use super::Search;
use crate::error::Result;
use crate::search::{ItemResult, Scheduler};
use crate::store::Db;
use crate::store::db::ItemRow;
use crate::vocab::{ItemState, TrialRowState};

/// Trials whose failure a retry may cure: failed outright (a crash, a program error), not
/// diverged or infeasible, which their configuration decides.
pub fn retryable_trials(db: &Db, job: &str) -> Result<BTreeSet<usize>> {
    Ok(db
        .trials(job)?
        .into_iter()
        .filter(|t| t.state == TrialRowState::Failed)
        .map(|t| t.trial)
        .collect())
}

/// Mark the failed items of `rows` to be trained again and the decisions after them to be
/// made again; returns how many trials are retried. Called before the rows are replayed.
pub(super) fn prepare(
    db: &Db,
    layout: &crate::store::Layout,
    job: &str,
    sched: &dyn Scheduler,
    rows: &[ItemRow],
) -> Result<usize> {
    // A done search has no stale rows; a row numbered as its place is all this reads.
    let rows: Vec<&ItemRow> = rows
        .iter()
        .filter(|r| r.state != ItemState::Stale)
        .collect();
    let trials = retryable_trials(db, job)?;
    let failed: Vec<usize> = rows
        .iter()
        .filter(|r| r.state == ItemState::Failed && trials.contains(&r.item.trial))
        .map(|r| r.index)
        .collect();
    let Some(&first) = failed.first() else {
        return Ok(0);
    };
    let issued: Vec<_> = rows.iter().map(|r| r.item.clone()).collect();
    // The first decision whose results included a failed item, and every one after it.
    let cut = (first + 1..rows.len())
        .find(|&k| sched.horizon(k, &issued) > first)
        .unwrap_or(rows.len());
    for &k in failed.iter().filter(|&&k| k < cut) {
        db.retry_item(job, k, rows[k].item.trial)?;
    }
    db.mark_stale(job, cut)?;
    // A failed trial's last status would be read back as its answer: it goes; its
    // checkpoints stay (the retry continues from the last good one).
    for &t in &trials {
        forget_status(&layout.trial(job, t));
    }
    Ok(trials.len())
}

/// A stale row's item number before it went stale.
pub(super) fn stale_index(row: &ItemRow) -> usize {
    (-1 - row.index as i64) as usize
}

/// Remove a trial's status files (its own and its folds').
fn forget_status(dir: &std::path::Path) {
    let trial = crate::train::TrialDir::of(dir);
    let _ = std::fs::remove_file(trial.status());
    for fold in trial.existing_folds() {
        let _ = std::fs::remove_file(fold.status());
    }
}

impl Search<'_, '_> {
    /// Item `k` was just decided (and recorded, before this). If a stale item is the same
    /// decision with a result, that result is taken: returned. Otherwise the item is trained; a
    /// trial that is new at `k` but was something else before starts from a clean folder.
    pub(super) fn reuse_stale(&mut self, k: usize) -> Result<Option<ItemResult>> {
        if self.stale.is_empty() {
            return Ok(None);
        }
        let new = &self.m.issued[k];
        let same = |old: &ItemRow| {
            old.item.trial == new.trial
                && old.item.epochs == new.epochs
                && old.item.clone_from == new.clone_from
                && crate::search::space::config_hash(&old.item.config)
                    == crate::search::space::config_hash(&new.config)
        };
        let db = self.ctx.db;
        let job = self.ctx.job.id.clone();
        if let Some(i) = self
            .stale
            .iter()
            .position(|old| old.value.is_some() && same(old))
        {
            let old = self.stale.swap_remove(i);
            db.restore_item(&job, stale_index(&old), k)?;
            let r = ItemResult {
                best_epoch: old.best_epoch,
                stopped: old.stopped,
                ..self.stored_result(k, old.value)?
            };
            return Ok(Some(r));
        }
        let trial = new.trial;
        let known = self.stale.iter().any(same);
        let earlier = self.m.issued[..k].iter().any(|i| i.trial == trial);
        let dir = self.ctx.layout.trial(&job, trial);
        if !known && !earlier {
            // The trial number was another configuration's (or nothing's): start clean.
            db.clear_trial(&job, trial)?;
            let _ = std::fs::remove_dir_all(&*dir);
        } else {
            forget_status(&dir);
        }
        Ok(None)
    }

    /// After the search: decisions that were not made again are gone. Their trials take back
    /// what their remaining items say, or go when no item is left.
    pub(super) fn drop_stale(&mut self) -> Result<()> {
        if self.stale.is_empty() {
            return Ok(());
        }
        let db = self.ctx.db;
        let job = self.ctx.job.id.clone();
        let touched: BTreeSet<usize> = self.stale.iter().map(|r| r.item.trial).collect();
        db.delete_stale(&job)?;
        self.stale.clear();
        let mut last: HashMap<usize, usize> = HashMap::new();
        for (k, it) in self.m.issued.iter().enumerate() {
            last.insert(it.trial, k);
        }
        for t in touched {
            match last.get(&t) {
                Some(&k) => {
                    if let Some(r) = self.m.results[k].clone() {
                        db.restore_trial(&job, t, &r)?;
                    }
                }
                None => {
                    db.delete_trial(&job, t)?;
                    let dir = self.ctx.layout.trial(&job, t);
                    let _ = std::fs::remove_dir_all(&*dir);
                }
            }
        }
        Ok(())
    }
}
