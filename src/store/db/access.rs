//! The sealed test set's access log: append-only, each entry hash-chained to the one before.

use rusqlite::{OptionalExtension, params};

use super::{AccessRow, Db, now};
use crate::error::Result;

impl Db {
    /// Append an access to the hash-chained log and return it.
    pub fn record_access(
        &self,
        job: &str,
        kind: &str,
        split_job: &str,
        split: &str,
        split_hash: &str,
    ) -> Result<AccessRow> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let (seq, prev): (i64, String) = tx
            .query_row(
                "SELECT seq, hash FROM data_access ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .map_or((1, "genesis".to_string()), |(s, h): (i64, String)| {
                (s + 1, h)
            });
        let mut row = AccessRow {
            seq,
            job: job.into(),
            kind: kind.into(),
            split_job: split_job.into(),
            split: split.into(),
            split_hash: split_hash.into(),
            at: now(),
            prev,
            hash: String::new(),
        };
        row.hash = row.expected_hash();
        tx.execute(
            "INSERT INTO data_access (seq, job, kind, split_job, split, split_hash, at, prev, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                row.seq,
                row.job,
                row.kind,
                row.split_job,
                row.split,
                row.split_hash,
                row.at,
                row.prev,
                row.hash
            ],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(row)
    }

    pub fn accesses(&self) -> Result<Vec<AccessRow>> {
        let mut st = self
            .conn
            .prepare("SELECT seq, job, kind, split_job, split, split_hash, at, prev, hash FROM data_access ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(AccessRow {
                    seq: r.get(0)?,
                    job: r.get(1)?,
                    kind: r.get(2)?,
                    split_job: r.get(3)?,
                    split: r.get(4)?,
                    split_hash: r.get(5)?,
                    at: r.get(6)?,
                    prev: r.get(7)?,
                    hash: r.get(8)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}
