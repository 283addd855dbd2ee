//! The `slurm_jobs` table: every worker job a search submitted, and what Slurm last said of it.

use rusqlite::params;
use serde::Serialize;

use super::{Db, now};
use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct SlurmJobRow {
    pub slurm_id: String,
    /// The search job it serves.
    pub job: String,
    pub submitted_at: f64,
    /// Slurm's state word (`PENDING`, `RUNNING`, `COMPLETED`, `CANCELLED`, ...), or `GONE`
    /// when Slurm no longer knows the job.
    pub state: String,
    /// Slurm's reason for a pending job, or how a job ended.
    pub reason: Option<String>,
    pub updated_at: f64,
}

impl Db {
    pub fn insert_slurm_job(&self, job: &str, slurm_id: &str) -> Result<()> {
        let t = now();
        self.conn
            .execute(
                "INSERT OR IGNORE INTO slurm_jobs (slurm_id, job, submitted_at, state, updated_at)
                 VALUES (?1, ?2, ?3, 'PENDING', ?3)",
                params![slurm_id, job, t],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn set_slurm_state(&self, slurm_id: &str, state: &str, reason: Option<&str>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE slurm_jobs SET state = ?2, reason = ?3, updated_at = ?4 WHERE slurm_id = ?1",
                params![slurm_id, state, reason, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The worker jobs of one search, in submission order.
    pub fn slurm_jobs(&self, job: &str) -> Result<Vec<SlurmJobRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT slurm_id, job, submitted_at, state, reason, updated_at FROM slurm_jobs
                 WHERE job = ?1 ORDER BY submitted_at, CAST(slurm_id AS INTEGER)",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                Ok(SlurmJobRow {
                    slurm_id: r.get(0)?,
                    job: r.get(1)?,
                    submitted_at: r.get(2)?,
                    state: r.get(3)?,
                    reason: r.get(4)?,
                    updated_at: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}
