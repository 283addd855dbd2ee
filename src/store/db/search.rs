//! The search's tables: work items, trials and their per-epoch metrics.

use rusqlite::params;

use super::{Db, ItemRow, TrialRow, json};
use crate::error::{Error, Result};
use crate::search::{ItemResult, WorkItem};

impl Db {
    pub fn insert_item(&self, job: &str, index: usize, item: &WorkItem) -> Result<()> {
        let config = serde_json::to_string(&item.config).map_err(Error::internal)?;
        self.atomically(|tx| {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO items (job, item, trial, epochs, clone_trial, clone_epoch, config_json, reason, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'issued')",
        )
        .and_then(|mut st| st.execute(params![
                job,
                index as i64,
                item.trial as i64,
                item.epochs,
                item.clone_from.map(|c| c.0 as i64),
                item.clone_from.map(|c| c.1),
                config,
                item.reason
            ]))
        .map_err(|e| self.err(e))?;
        tx.prepare_cached(
            "INSERT INTO trials (job, trial, config_json, config_hash, state, epochs) VALUES (?1, ?2, ?3, ?4, 'queued', 0)
             ON CONFLICT(job, trial) DO UPDATE SET config_json = excluded.config_json, config_hash = excluded.config_hash",
        )
        .and_then(|mut st| st.execute(params![job, item.trial as i64, config, crate::search::space::config_hash(&item.config)]))
        .map_err(|e| self.err(e))?;
        Ok(())
        })
    }

    pub fn bump_attempts(&self, job: &str, index: usize) -> Result<u32> {
        self.conn
            .prepare_cached(
                "UPDATE items SET attempts = attempts + 1 WHERE job = ?1 AND item = ?2 RETURNING attempts",
            )
            .and_then(|mut st| st.query_row(params![job, index as i64], |r| r.get(0)))
            .map_err(|e| self.err(e))
    }

    /// Record an item's outcome with the trial's state and its per-epoch metrics, in one
    /// transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_item(
        &self,
        job: &str,
        result: &ItemResult,
        state: &str,
        metrics: &serde_json::Value,
        reason: Option<&str>,
        seconds: f64,
        epochs: &[(u32, serde_json::Value)],
    ) -> Result<()> {
        self.atomically(|tx| {
        let item_state = if result.value.is_some() {
            "done"
        } else {
            "failed"
        };
        tx.prepare_cached(
            "UPDATE items SET state = ?3, value = ?4, best_epoch = ?5, stopped = ?6
             WHERE job = ?1 AND item = ?2",
        )
        .and_then(|mut st| st.execute(params![
                job,
                result.item as i64,
                item_state,
                result.value,
                result.best_epoch,
                result.stopped
            ]))
        .map_err(|e| self.err(e))?;
        tx.prepare_cached(
            "UPDATE trials SET state = ?3, epochs = ?4, value = ?5, metrics_json = ?6, reason = ?7, seconds = seconds + ?8,
             best_epoch = ?9, stopped = ?10
             WHERE job = ?1 AND trial = ?2",
        )
        .and_then(|mut st| st.execute(params![job, result.trial as i64, state, result.epochs, result.value, metrics.to_string(), reason, seconds, result.best_epoch, result.stopped]))
        .map_err(|e| self.err(e))?;
        let mut st = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO epochs (job, trial, epoch, metrics_json) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(|e| self.err(e))?;
        for (epoch, m) in epochs {
            st.execute(params![job, result.trial as i64, epoch, m.to_string()])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
        })
    }

    pub fn set_trial_state(&self, job: &str, trial: usize, state: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE trials SET state = ?3 WHERE job = ?1 AND trial = ?2")
            .and_then(|mut st| st.execute(params![job, trial as i64, state]))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn items(&self, job: &str) -> Result<Vec<ItemRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT item, trial, epochs, clone_trial, clone_epoch, config_json, reason, state, value, attempts,
                        best_epoch, stopped
                 FROM items WHERE job = ?1 ORDER BY item",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                let clone_trial: Option<i64> = r.get(3)?;
                let clone_epoch: Option<u32> = r.get(4)?;
                let config: String = r.get(5)?;
                Ok(ItemRow {
                    index: r.get::<_, i64>(0)? as usize,
                    item: WorkItem {
                        trial: r.get::<_, i64>(1)? as usize,
                        epochs: r.get(2)?,
                        clone_from: clone_trial.zip(clone_epoch).map(|(t, e)| (t as usize, e)),
                        config: serde_json::from_str(&config).unwrap_or_default(),
                        reason: r.get(6)?,
                    },
                    state: r.get(7)?,
                    value: r.get(8)?,
                    attempts: r.get(9)?,
                    best_epoch: r.get(10)?,
                    stopped: r.get(11)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub fn trials(&self, job: &str) -> Result<Vec<TrialRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT trial, config_json, config_hash, state, epochs, value, metrics_json, reason, seconds,
                        best_epoch, stopped
                 FROM trials WHERE job = ?1 ORDER BY trial",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                Ok(TrialRow {
                    trial: r.get::<_, i64>(0)? as usize,
                    config: json(r.get(1)?),
                    config_hash: r.get(2)?,
                    state: self.state_now(r.get(3)?),
                    epochs: r.get(4)?,
                    value: r.get(5)?,
                    metrics: json(r.get(6)?),
                    reason: r.get(7)?,
                    seconds: r.get(8)?,
                    best_epoch: r.get(9)?,
                    stopped: r.get(10)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Per-epoch metrics of one trial, by epoch.
    pub fn epochs(&self, job: &str, trial: usize) -> Result<Vec<(u32, serde_json::Value)>> {
        let mut st = self
            .conn
            .prepare("SELECT epoch, metrics_json FROM epochs WHERE job = ?1 AND trial = ?2 ORDER BY epoch")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job, trial as i64], |r| {
                Ok((r.get(0)?, json(r.get(1)?)))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}
