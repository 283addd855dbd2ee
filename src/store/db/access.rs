//! The sealed test set's access log: append-only, each entry hash-chained to the one before.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Db, now};
use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct AccessRow {
    pub seq: i64,
    pub job: String,
    pub kind: String,
    pub split_job: String,
    pub split: String,
    pub split_hash: String,
    pub at: f64,
    pub prev: String,
    pub hash: String,
}

impl AccessRow {
    /// The chained hash: each entry commits to the one before it.
    pub fn expected_hash(&self) -> String {
        let text = format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            self.seq,
            self.job,
            self.kind,
            self.split_job,
            self.split,
            self.split_hash,
            self.at,
            self.prev
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

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

    /// The test rows (fingerprints) the opening `seq` exposed.
    pub fn record_looks(&self, seq: i64, fingerprints: &[String]) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        {
            let mut st = tx
                .prepare("INSERT INTO test_looks (seq, fingerprint) VALUES (?1, ?2)")
                .map_err(|e| self.err(e))?;
            for f in fingerprints {
                st.execute(params![seq, f]).map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Earlier looks at any of `fingerprints` by a job other than `job`: (job, workflow
    /// split job, when, how many of the rows), one per opening.
    pub fn earlier_looks(
        &self,
        job: &str,
        fingerprints: &[String],
    ) -> Result<Vec<(String, String, f64, usize)>> {
        let wanted: std::collections::HashSet<&str> =
            fingerprints.iter().map(String::as_str).collect();
        let mut st = self
            .conn
            .prepare(
                "SELECT a.seq, a.job, a.split_job, a.at, l.fingerprint FROM test_looks l
                 JOIN data_access a ON a.seq = l.seq WHERE a.job != ?1 ORDER BY a.seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, f64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut by_seq: std::collections::BTreeMap<i64, (String, String, f64, usize)> =
            Default::default();
        for row in rows {
            let (seq, j, split, at, f) = row.map_err(|e| self.err(e))?;
            if wanted.contains(f.as_str()) {
                by_seq.entry(seq).or_insert((j, split, at, 0)).3 += 1;
            }
        }
        Ok(by_seq.into_values().collect())
    }

    /// Has any opening recorded the rows it exposed?
    pub fn any_looks(&self) -> Result<bool> {
        self.conn
            .query_row("SELECT EXISTS (SELECT 1 FROM test_looks)", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Every look: (seq, fingerprint).
    pub fn looks(&self) -> Result<Vec<(i64, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT seq, fingerprint FROM test_looks ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// A second look the user allowed with `--allow-second-look`.
    pub fn allow_second_look(&self, job: &str, rows: usize, earlier: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO second_looks (job, at, rows, earlier) VALUES (?1, ?2, ?3, ?4)",
                params![job, now(), rows as i64, earlier],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The allowed second looks: job → (rows, what it looked at before).
    pub fn second_looks(&self) -> Result<std::collections::BTreeMap<String, (i64, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT job, rows, earlier FROM second_looks")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
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
