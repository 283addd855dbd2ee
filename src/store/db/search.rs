//! The search's tables: work items, trials and their per-epoch metrics.

use rusqlite::{OptionalExtension, params};

use super::{Db, ItemRow, TrialRow, json};

/// SQLite's JSON path to the member `name` of an object.
fn json_path(name: &str) -> String {
    format!("$.\"{}\"", name.replace('"', "\\\""))
}

const TRIAL_COLUMNS: &str = "trial, config_json, config_hash, state, epochs, value, metrics_json, reason, seconds, best_epoch, stopped";

/// What `Db::trial_summary` counts.
#[derive(Debug, Default)]
pub struct TrialSummary {
    pub states: std::collections::BTreeMap<String, usize>,
    /// (reason, trials, the first of them), most frequent first, then by reason.
    pub failures: Vec<(String, usize, usize)>,
    pub running: Vec<usize>,
    pub epochs: u64,
}
use crate::error::{Error, Result};
use crate::vocab::{ItemResult, Wave, WorkItem};
use crate::vocab::{ItemState, TrialRowState};

impl Db {
    pub fn insert_item(&self, job: &str, index: usize, item: &WorkItem) -> Result<()> {
        let config = serde_json::to_string(&item.config).map_err(Error::internal)?;
        self.atomically(|tx| {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO items (job, item, trial, epochs, clone_trial, clone_epoch, config_json, reason,
                 wave_place, wave_len, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'issued')",
        )
        .and_then(|mut st| st.execute(params![
                job,
                index as i64,
                item.trial as i64,
                item.epochs,
                item.clone_from.map(|c| c.0 as i64),
                item.clone_from.map(|c| c.1),
                config,
                item.reason,
                item.wave.map(|w| w.place),
                item.wave.map(|w| w.len)
            ]))
        .map_err(|e| self.err(e))?;
        tx.prepare_cached(
            "INSERT INTO trials (job, trial, config_json, config_hash, state, epochs) VALUES (?1, ?2, ?3, ?4, 'queued', 0)
             ON CONFLICT(job, trial) DO UPDATE SET config_json = excluded.config_json, config_hash = excluded.config_hash",
        )
        .and_then(|mut st| st.execute(params![job, item.trial as i64, config, crate::vocab::config::config_hash(&item.config)]))
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
        state: TrialRowState,
        metrics: &serde_json::Value,
        reason: Option<&str>,
        seconds: f64,
        epochs: &[(u32, serde_json::Value)],
    ) -> Result<()> {
        self.atomically(|tx| {
        let item_state = if result.value.is_some() {
            ItemState::Done
        } else {
            ItemState::Failed
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

    pub fn set_trial_state(&self, job: &str, trial: usize, state: TrialRowState) -> Result<()> {
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
                        best_epoch, stopped, wave_place, wave_len
                 FROM items WHERE job = ?1 ORDER BY item",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                let clone_trial: Option<i64> = r.get(3)?;
                let clone_epoch: Option<u32> = r.get(4)?;
                let config: String = r.get(5)?;
                let reason: String = r.get(6)?;
                let place: Option<u32> = r.get(12)?;
                let len: Option<u32> = r.get(13)?;
                // Recorded before schema 9: the wave is only in the reason's text.
                let wave = match place.zip(len) {
                    Some((place, len)) => Some(Wave { place, len }),
                    None => Wave::in_reason(&reason),
                };
                Ok(ItemRow {
                    index: r.get::<_, i64>(0)? as usize,
                    item: WorkItem {
                        trial: r.get::<_, i64>(1)? as usize,
                        epochs: r.get(2)?,
                        clone_from: clone_trial.zip(clone_epoch).map(|(t, e)| (t as usize, e)),
                        config: serde_json::from_str(&config).unwrap_or_default(),
                        reason,
                        wave,
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
            .prepare(&format!(
                "SELECT {TRIAL_COLUMNS} FROM trials WHERE job = ?1 ORDER BY trial"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| self.trial_row(r))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// One trial of a job.
    pub fn trial(&self, job: &str, trial: usize) -> Result<Option<TrialRow>> {
        self.conn
            .query_row(
                &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE job = ?1 AND trial = ?2"),
                params![job, trial as i64],
                |r| self.trial_row(r),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The `n` trials with the lowest objective (those without a value last), and how many
    /// trials the job has.
    pub fn best_trials(&self, job: &str, n: usize) -> Result<(Vec<TrialRow>, usize)> {
        let total: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM trials WHERE job = ?1",
                params![job],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        // Two walks of the index on (job, value, trial): values, then the trials without one.
        let mut rows: Vec<TrialRow> = Vec::new();
        for cond in [
            "value IS NOT NULL ORDER BY value, trial",
            "value IS NULL ORDER BY trial",
        ] {
            let mut st = self
                .conn
                .prepare(&format!(
                    "SELECT {TRIAL_COLUMNS} FROM trials WHERE job = ?1 AND {cond} LIMIT ?2"
                ))
                .map_err(|e| self.err(e))?;
            let more = st
                .query_map(params![job, (n - rows.len()) as i64], |r| self.trial_row(r))
                .map_err(|e| self.err(e))?;
            for r in more {
                rows.push(r.map_err(|e| self.err(e))?);
            }
            if rows.len() >= n {
                break;
            }
        }
        Ok((rows, total as usize))
    }

    fn trial_row(&self, r: &rusqlite::Row) -> rusqlite::Result<TrialRow> {
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
    }

    /// Every trial of a job with its per-epoch metrics, one at a time in trial order: two
    /// ordered scans merged, so a 100,000-trial search is never in memory at once.
    pub fn each_trial(
        &self,
        job: &str,
        f: &mut dyn FnMut(TrialRow, Vec<(u32, serde_json::Value)>) -> Result<()>,
    ) -> Result<()> {
        self.each_trial_of(job, None, f)
    }

    /// `each_trial`, of the trials numbered in `only` when given (a page draws 2,000 of a
    /// 100,000-trial search: only those are read whole).
    pub fn each_trial_of(
        &self,
        job: &str,
        only: Option<&[usize]>,
        f: &mut dyn FnMut(TrialRow, Vec<(u32, serde_json::Value)>) -> Result<()>,
    ) -> Result<()> {
        let err = |e| self.err(e);
        let ids = only.map(|ids| serde_json::to_string(ids).expect("numbers serialize"));
        let within = if ids.is_some() {
            "AND trial IN (SELECT value FROM json_each(?2))"
        } else {
            "AND ?2 IS NULL"
        };
        let mut trials = self
            .conn
            .prepare(&format!(
                "SELECT {TRIAL_COLUMNS} FROM trials WHERE job = ?1 {within} ORDER BY trial"
            ))
            .map_err(err)?;
        let mut epochs = self
            .conn
            .prepare(&format!("SELECT trial, epoch, metrics_json FROM epochs WHERE job = ?1 {within} ORDER BY trial, epoch"))
            .map_err(err)?;
        let mut trial_rows = trials.query(params![job, ids]).map_err(err)?;
        let mut epoch_rows = epochs.query(params![job, ids]).map_err(err)?;
        let mut read_epoch = || -> Result<Option<(usize, u32, serde_json::Value)>> {
            match epoch_rows.next().map_err(err)? {
                Some(r) => Ok(Some((
                    r.get::<_, i64>(0).map_err(err)? as usize,
                    r.get(1).map_err(err)?,
                    json(r.get(2).map_err(err)?),
                ))),
                None => Ok(None),
            }
        };
        let mut next = read_epoch()?;
        while let Some(r) = trial_rows.next().map_err(err)? {
            let t = self.trial_row(r).map_err(err)?;
            let mut mine = Vec::new();
            while let Some((trial, epoch, m)) = next.take() {
                if trial > t.trial {
                    next = Some((trial, epoch, m));
                    break;
                }
                if trial == t.trial {
                    mine.push((epoch, m));
                }
                next = read_epoch()?;
            }
            f(t, mine)?;
        }
        Ok(())
    }

    /// Every trial's (number, epochs, `metric`), in trial order, computed in SQL without
    /// reading configurations or curves into memory: the metric's final value, else the last
    /// epoch that reported it as a number (a running or failed trial), as `report::Trial`.
    pub fn trial_values(&self, job: &str, metric: &str) -> Result<Vec<(usize, u32, Option<f64>)>> {
        let path = json_path(metric);
        let number = |col: &str| {
            format!("json_valid({col}) AND json_type({col}, ?2) IN ('integer', 'real')")
        };
        let sql = format!(
            "SELECT t.trial, t.epochs, COALESCE(
                 CASE WHEN {} THEN json_extract(t.metrics_json, ?2) END,
                 (SELECT json_extract(e.metrics_json, ?2) FROM epochs e
                  WHERE e.job = t.job AND e.trial = t.trial AND {}
                  ORDER BY e.epoch DESC LIMIT 1))
             FROM trials t WHERE t.job = ?1 ORDER BY t.trial",
            number("t.metrics_json"),
            number("e.metrics_json")
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job, path], |r| {
                Ok((r.get::<_, i64>(0)? as usize, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Every trial's (number, epochs, recorded value: the objective, minimised), in trial order.
    pub fn trial_objectives(&self, job: &str) -> Result<Vec<(usize, u32, Option<f64>)>> {
        self.trial_epochs_values(
            "SELECT trial, epochs, value FROM trials WHERE job = ?1 ORDER BY trial",
            job,
        )
    }

    /// Every work item's (trial, epochs, recorded value), in `items`' order, without their
    /// configurations.
    pub fn item_values(&self, job: &str) -> Result<Vec<(usize, u32, Option<f64>)>> {
        self.trial_epochs_values(
            "SELECT trial, epochs, value FROM items WHERE job = ?1 ORDER BY item",
            job,
        )
    }

    /// Rows of (trial, epochs, value) that `sql` selects for `job`.
    fn trial_epochs_values(&self, sql: &str, job: &str) -> Result<Vec<(usize, u32, Option<f64>)>> {
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                Ok((r.get::<_, i64>(0)? as usize, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Each trial's curve of `metric` (epoch, value: numbers only), in trial order; trials
    /// that reported it at no epoch are absent.
    pub fn metric_curves(&self, job: &str, metric: &str) -> Result<Vec<(usize, Vec<(u32, f64)>)>> {
        let path = json_path(metric);
        let mut st = self
            .conn
            .prepare(
                "SELECT trial, epoch, json_extract(metrics_json, ?2) FROM epochs
                 WHERE job = ?1 AND json_valid(metrics_json)
                   AND json_type(metrics_json, ?2) IN ('integer', 'real')
                 ORDER BY trial, epoch",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query(params![job, path]).map_err(|e| self.err(e))?;
        let mut out: Vec<(usize, Vec<(u32, f64)>)> = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let trial = r.get::<_, i64>(0).map_err(|e| self.err(e))? as usize;
            let point = (
                r.get(1).map_err(|e| self.err(e))?,
                r.get(2).map_err(|e| self.err(e))?,
            );
            match out.last_mut() {
                Some((t, c)) if *t == trial => c.push(point),
                _ => out.push((trial, vec![point])),
            }
        }
        Ok(out)
    }

    /// The names of a job's searched parameters and of its per-epoch metrics, each sorted
    /// (the columns of a CSV export), read without loading the trials.
    pub fn trial_keys(&self, job: &str) -> Result<(Vec<String>, Vec<String>)> {
        let names = |sql: &str| -> Result<Vec<String>> {
            let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
            let rows = st
                .query_map(params![job], |r| r.get::<_, String>(0))
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))
        };
        Ok((
            names(
                "SELECT DISTINCT j.key FROM trials t, json_each(t.config_json) j
                 WHERE t.job = ?1 AND json_valid(t.config_json) AND json_type(t.config_json) = 'object' ORDER BY 1",
            )?,
            names(
                "SELECT DISTINCT j.key FROM epochs e, json_each(e.metrics_json) j
                 WHERE e.job = ?1 AND json_valid(e.metrics_json) AND json_type(e.metrics_json) = 'object' ORDER BY 1",
            )?,
        ))
    }

    /// A search's trials counted in SQLite, without reading every row into memory (`status`
    /// on a 100,000-trial search): trials per state, failures per reason with the first
    /// trial showing it, the trials running, and the epochs trained in all.
    pub fn trial_summary(&self, job: &str) -> Result<TrialSummary> {
        let mut out = TrialSummary::default();
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT state, COUNT(*), COALESCE(SUM(epochs), 0) FROM trials WHERE job = ?1 GROUP BY state",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                Ok((
                    r.get::<_, TrialRowState>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (state, n, epochs) = row.map_err(|e| self.err(e))?;
            *out.states
                .entry(self.state_now(state).to_string())
                .or_default() += n as usize;
            out.epochs += epochs as u64;
        }
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(reason, state), COUNT(*), MIN(trial) FROM trials
                 WHERE job = ?1 AND state IN ('failed', 'diverged', 'infeasible')
                 GROUP BY 1 ORDER BY 2 DESC, 1",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as usize,
                    r.get::<_, i64>(2)? as usize,
                ))
            })
            .map_err(|e| self.err(e))?;
        out.failures = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?;
        if !self.orphaned {
            let mut st = self
                .conn
                .prepare_cached(
                    "SELECT trial FROM trials WHERE job = ?1 AND state = 'running' ORDER BY trial",
                )
                .map_err(|e| self.err(e))?;
            let rows = st
                .query_map(params![job], |r| Ok(r.get::<_, i64>(0)? as usize))
                .map_err(|e| self.err(e))?;
            out.running = rows
                .collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?;
        }
        Ok(out)
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
