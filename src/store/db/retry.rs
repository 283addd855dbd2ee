//! The writes of `hpflow run --retry-failed` (see `stage::search::retry`): failed items back
//! to `issued`, later decisions to `stale` until they are made again, and trials put back to
//! what their remaining items say.

use rusqlite::params;

use super::Db;
use crate::error::Result;
use crate::vocab::ItemResult;

impl Db {
    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<()> {
        self.conn
            .execute(sql, p)
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// A failed item is handed out again; its trial waits for it.
    pub fn retry_item(&self, job: &str, item: usize, trial: usize) -> Result<()> {
        self.atomically(|_| {
            self.exec(
                "UPDATE items SET state = 'issued', value = NULL, best_epoch = NULL, stopped = 0
                 WHERE job = ?1 AND item = ?2",
                params![job, item as i64],
            )?;
            self.exec(
                "UPDATE trials SET state = 'queued', value = NULL, reason = NULL
                 WHERE job = ?1 AND trial = ?2",
                params![job, trial as i64],
            )
        })
    }

    /// Items from `from` on are decided again: stale, numbered `-1 - item` meanwhile. Rows
    /// already stale (a growth or retry interrupted, then met again) move below those numbers
    /// first; a stale row's number only has to be its own.
    pub fn mark_stale(&self, job: &str, from: usize) -> Result<()> {
        self.atomically(|_| {
            let (lowest, highest): (i64, i64) = self
                .conn
                .query_row(
                    "SELECT COALESCE(MIN(item), 0), COALESCE(MAX(item), 0) FROM items
                     WHERE job = ?1",
                    params![job],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(|e| self.err(e))?;
            // Below both the stale rows' numbers and the new ones' (down to -1 - highest).
            let shift = highest + 1 - lowest.min(0);
            self.exec(
                "UPDATE items SET item = item - ?2 WHERE job = ?1 AND state = 'stale'",
                params![job, shift],
            )?;
            self.exec(
                "UPDATE items SET state = 'stale', item = -1 - item WHERE job = ?1 AND item >= ?2",
                params![job, from as i64],
            )
        })
    }

    /// Stale item `was` decided again as item `now` (just inserted): its result stands there,
    /// under the new decision's reason and wave (a later `horizon` reads the wave back).
    pub fn restore_item(&self, job: &str, was: usize, now: usize) -> Result<()> {
        self.atomically(|_| {
            self.exec(
                "UPDATE items SET (reason, wave_place, wave_len) =
                     (SELECT reason, wave_place, wave_len FROM items WHERE job = ?1 AND item = ?3)
                 WHERE job = ?1 AND item = ?2",
                params![job, -1 - was as i64, now as i64],
            )?;
            self.exec(
                "DELETE FROM items WHERE job = ?1 AND item = ?2",
                params![job, now as i64],
            )?;
            self.exec(
                "UPDATE items SET state = 'done', item = ?3 WHERE job = ?1 AND item = ?2",
                params![job, -1 - was as i64, now as i64],
            )
        })
    }

    /// A trial number that now names another configuration: nothing of the old one stays.
    pub fn clear_trial(&self, job: &str, trial: usize) -> Result<()> {
        self.atomically(|_| {
            self.exec(
                "DELETE FROM epochs WHERE job = ?1 AND trial = ?2",
                params![job, trial as i64],
            )?;
            self.exec(
                "UPDATE trials SET state = 'queued', epochs = 0, value = NULL, metrics_json = NULL,
                 reason = NULL, seconds = 0, best_epoch = NULL, stopped = 0
                 WHERE job = ?1 AND trial = ?2",
                params![job, trial as i64],
            )
        })
    }

    pub fn delete_stale(&self, job: &str) -> Result<()> {
        self.exec(
            "DELETE FROM items WHERE job = ?1 AND state = 'stale'",
            params![job],
        )
    }

    pub fn delete_trial(&self, job: &str, trial: usize) -> Result<()> {
        self.atomically(|_| {
            for table in ["epochs", "trials"] {
                self.exec(
                    &format!("DELETE FROM {table} WHERE job = ?1 AND trial = ?2"),
                    params![job, trial as i64],
                )?;
            }
            Ok(())
        })
    }

    /// A trial whose later items are gone reads as its last remaining item left it.
    pub fn restore_trial(&self, job: &str, trial: usize, r: &ItemResult) -> Result<()> {
        self.atomically(|_| {
            self.exec(
                "DELETE FROM epochs WHERE job = ?1 AND trial = ?2 AND epoch > ?3",
                params![job, trial as i64, r.epochs],
            )?;
            self.exec(
                "UPDATE trials SET epochs = ?3, value = ?4, best_epoch = ?5, stopped = ?6,
                 state = CASE WHEN ?4 IS NULL THEN state ELSE 'done' END,
                 metrics_json = COALESCE((SELECT metrics_json FROM epochs
                     WHERE job = ?1 AND trial = ?2 AND epoch = ?3), metrics_json)
                 WHERE job = ?1 AND trial = ?2",
                params![
                    job,
                    trial as i64,
                    r.epochs,
                    r.value,
                    r.best_epoch,
                    r.stopped
                ],
            )
        })
    }
}
