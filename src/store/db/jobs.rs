//! The workflows and jobs tables: which jobs each workflow file names, and each job's state,
//! key and outputs. A job ends only through the [`RunningJob`] guard that starting it gives.

use std::path::Path;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Db, json, now};
use crate::error::Result;
use crate::vocab::JobState;

#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub stage: String,
    pub status: JobState,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub outputs: serde_json::Value,
    pub error: Option<String>,
}

impl Db {
    pub fn record_workflow(
        &self,
        name: &str,
        file: &Path,
        jobs: &[(String, String)],
    ) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO workflows (name, file, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET file = excluded.file, updated_at = excluded.updated_at",
            params![name, file.to_string_lossy(), now()],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO workflow_files (file, name, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(file) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
            params![file.to_string_lossy(), name, now()],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM workflow_jobs WHERE workflow = ?1",
            params![name],
        )
        .map_err(|e| self.err(e))?;
        for (i, (stage, job)) in jobs.iter().enumerate() {
            tx.execute(
                "INSERT INTO workflow_jobs (workflow, stage, job, position) VALUES (?1, ?2, ?3, ?4)",
                params![name, stage, job, i as i64],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// (name, file) of every workflow, the most recently run first.
    pub fn workflows(&self) -> Result<Vec<(String, String)>> {
        self.string_pairs("SELECT name, file FROM workflows ORDER BY updated_at DESC")
    }

    /// (file, workflow name) of every workflow file that ran in this runs folder.
    pub fn workflow_files(&self) -> Result<Vec<(String, String)>> {
        self.string_pairs("SELECT file, name FROM workflow_files ORDER BY file")
    }

    fn string_pairs(&self, sql: &str) -> Result<Vec<(String, String)>> {
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// (stage, job id) of a workflow as last run or planned, in order.
    pub fn workflow_jobs(&self, name: &str) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT stage, job FROM workflow_jobs WHERE workflow = ?1 ORDER BY position")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![name], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub fn job(&self, id: &str) -> Result<Option<JobRow>> {
        self.conn
            .query_row(
                "SELECT id, kind, stage, status, started_at, finished_at, outputs_json, error FROM jobs WHERE id = ?1",
                params![id],
                |r| {
                    Ok(JobRow {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        stage: r.get(2)?,
                        status: self.job_state_now(r.get(3)?),
                        started_at: r.get(4)?,
                        finished_at: r.get(5)?,
                        outputs: json(r.get(6)?),
                        error: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The key a job was started with (`job.json`'s content): its resolved configuration.
    pub fn job_key(&self, id: &str) -> Result<Option<serde_json::Value>> {
        self.conn
            .query_row(
                "SELECT key_json FROM jobs WHERE id = ?1",
                params![id],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|k| k.and_then(|k| serde_json::from_str(&k).ok()))
            .map_err(|e| self.err(e))
    }

    /// Jobs whose id starts with `prefix` (for `hpflow show`).
    pub fn jobs_with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM jobs WHERE id LIKE ?1 || '%'")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![prefix], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub fn all_job_ids(&self) -> Result<Vec<String>> {
        self.jobs_with_prefix("")
    }

    /// Record a job as running. The guard it gives back is the only way to end it: as done
    /// with its outputs, failed or interrupted.
    pub fn start_job(
        &self,
        id: &str,
        kind: &str,
        stage: &str,
        key_json: &str,
    ) -> Result<RunningJob<'_>> {
        self.conn
            .execute(
                "INSERT INTO jobs (id, kind, stage, status, key_json, started_at) VALUES (?1, ?2, ?3, 'running', ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET status = 'running', stage = excluded.stage, error = NULL,
                   started_at = COALESCE(jobs.started_at, excluded.started_at), finished_at = NULL",
                params![id, kind, stage, key_json, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(RunningJob {
            db: self,
            id: id.to_string(),
        })
    }

    fn finish_job(
        &self,
        id: &str,
        status: JobState,
        outputs: &serde_json::Value,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE jobs SET status = ?2, finished_at = ?3, outputs_json = ?4, error = ?5 WHERE id = ?1",
                params![id, status, now(), outputs.to_string(), error],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Seconds a search spent in earlier runs.
    pub fn search_seconds(&self, id: &str) -> Result<f64> {
        self.conn
            .query_row(
                "SELECT search_seconds FROM jobs WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map(|v| v.unwrap_or(0.0))
            .map_err(|e| self.err(e))
    }

    pub fn set_search_seconds(&self, id: &str, seconds: f64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE jobs SET search_seconds = ?2 WHERE id = ?1",
                params![id, seconds],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Forget a job's search records (its outputs vanished; it is redone from scratch).
    pub fn reset_job(&self, id: &str) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE jobs SET search_seconds = 0 WHERE id = ?1",
            params![id],
        )
        .map_err(|e| self.err(e))?;
        for table in ["items", "trials", "epochs"] {
            tx.execute(&format!("DELETE FROM {table} WHERE job = ?1"), params![id])
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    pub fn delete_job(&self, id: &str) -> Result<()> {
        self.reset_job(id)?;
        self.conn
            .execute("DELETE FROM jobs WHERE id = ?1", params![id])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

/// A job recorded as running (see [`Db::start_job`]). Consumed by the one call that ends it,
/// so a job is marked done only by `commit`, with its outputs, and only once.
#[must_use = "a running job ends with commit, fail or interrupt"]
pub struct RunningJob<'d> {
    db: &'d Db,
    id: String,
}

impl RunningJob<'_> {
    /// The commit point of a job: called only after its outputs are renamed into place.
    pub fn commit(self, outputs: &impl Serialize) -> Result<()> {
        let outputs = serde_json::to_value(outputs).map_err(crate::error::Error::internal)?;
        self.db.finish_job(&self.id, JobState::Done, &outputs, None)
    }

    pub fn fail(self, error: &str) -> Result<()> {
        self.db.finish_job(
            &self.id,
            JobState::Failed,
            &serde_json::Value::Null,
            Some(error),
        )
    }

    /// Stopped from outside (a signal, a full disk): the next run resumes it.
    pub fn interrupt(self) -> Result<()> {
        self.db.finish_job(
            &self.id,
            JobState::Interrupted,
            &serde_json::Value::Null,
            None,
        )
    }
}
