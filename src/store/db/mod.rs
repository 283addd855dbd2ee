//! `runs/hpflow.db`: the only module that speaks SQL (its children `search` and `access`
//! hold the search's tables and the test-set access log). WAL mode; the schema version lives
//! in `PRAGMA user_version` with ordered migrations, and a database from a newer hpflow is
//! refused for writing. Only the coordinator writes; commands that read open it read-only.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::vocab::WorkItem;
use crate::vocab::{ItemState, JobState, TrialRowState};

/// Each entry takes the schema from version i to i+1.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE workflows (
    name TEXT PRIMARY KEY, file TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE workflow_jobs (
    workflow TEXT NOT NULL, stage TEXT NOT NULL, job TEXT NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (workflow, stage));
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL,
    key_json TEXT NOT NULL, started_at REAL, finished_at REAL, outputs_json TEXT, error TEXT);
CREATE TABLE items (
    job TEXT NOT NULL, item INTEGER NOT NULL, trial INTEGER NOT NULL, epochs INTEGER NOT NULL,
    clone_trial INTEGER, clone_epoch INTEGER, config_json TEXT NOT NULL, reason TEXT NOT NULL,
    state TEXT NOT NULL, value REAL, attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job, item));
CREATE TABLE trials (
    job TEXT NOT NULL, trial INTEGER NOT NULL, config_json TEXT NOT NULL, config_hash TEXT NOT NULL,
    state TEXT NOT NULL, epochs INTEGER NOT NULL, value REAL, metrics_json TEXT, reason TEXT,
    seconds REAL NOT NULL DEFAULT 0, PRIMARY KEY (job, trial));
CREATE TABLE epochs (
    job TEXT NOT NULL, trial INTEGER NOT NULL, epoch INTEGER NOT NULL, metrics_json TEXT NOT NULL,
    PRIMARY KEY (job, trial, epoch));
CREATE TABLE data_access (
    seq INTEGER PRIMARY KEY, job TEXT NOT NULL, kind TEXT NOT NULL, split_job TEXT NOT NULL,
    split TEXT NOT NULL, split_hash TEXT NOT NULL, at REAL NOT NULL, prev TEXT NOT NULL,
    hash TEXT NOT NULL);
"#,
    // 2: the wall time a search has spent over all its runs, so `budget: {time}` counts
    // across resumes.
    "ALTER TABLE jobs ADD COLUMN search_seconds REAL NOT NULL DEFAULT 0;",
    // 3: every workflow file that ran here, also when two share a name, so that `gc` keeps
    // what any of them still describes.
    r#"
CREATE TABLE workflow_files (
    file TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at REAL NOT NULL);
INSERT OR IGNORE INTO workflow_files (file, name, updated_at)
    SELECT file, name, updated_at FROM workflows;
"#,
    // 4: early stopping: the epoch an item's value was measured at, and whether the trial
    // stopped before the item's epochs (kept per item for the scheduler, per trial for show).
    r#"
ALTER TABLE items ADD COLUMN best_epoch INTEGER;
ALTER TABLE items ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN best_epoch INTEGER;
ALTER TABLE trials ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
"#,
    // 5: which test rows (by content fingerprint) each logged opening exposed, so that a
    // second look at the same rows is seen across splits, seeds and workflows; and the
    // second looks a user allowed (`--allow-second-look`).
    r#"
CREATE TABLE test_looks (seq INTEGER NOT NULL, fingerprint TEXT NOT NULL);
CREATE INDEX test_looks_by_fingerprint ON test_looks (fingerprint);
CREATE TABLE second_looks (job TEXT PRIMARY KEY, at REAL NOT NULL, rows INTEGER NOT NULL, earlier TEXT NOT NULL);
"#,
    // 6: the Slurm worker jobs a search submitted, with their last known state, so that
    // `status` shows them and a restarted coordinator adopts the live ones.
    r#"
CREATE TABLE slurm_jobs (
    slurm_id TEXT PRIMARY KEY, job TEXT NOT NULL, submitted_at REAL NOT NULL,
    state TEXT NOT NULL, reason TEXT, updated_at REAL NOT NULL);
CREATE INDEX slurm_jobs_by_job ON slurm_jobs (job);
"#,
    // 7: `status` counts a search's trials by state from an index alone, without reading the
    // rows' configurations and metrics, and `show` finds the best trials without sorting
    // them all (100,000 trials in milliseconds).
    r#"
CREATE INDEX trials_by_state ON trials (job, state, epochs);
CREATE INDEX trials_by_value ON trials (job, value, trial);
"#,
    // 8: job, item and trial states are enums (`vocab::state`); the tables admit only their
    // words. SQLite adds a CHECK only by rebuilding a table, so each is copied over.
    r#"
CREATE TABLE jobs_8 (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, stage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    key_json TEXT NOT NULL, started_at REAL, finished_at REAL, outputs_json TEXT, error TEXT,
    search_seconds REAL NOT NULL DEFAULT 0);
INSERT INTO jobs_8 SELECT id, kind, stage, status, key_json, started_at, finished_at,
    outputs_json, error, search_seconds FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_8 RENAME TO jobs;
CREATE TABLE items_8 (
    job TEXT NOT NULL, item INTEGER NOT NULL, trial INTEGER NOT NULL, epochs INTEGER NOT NULL,
    clone_trial INTEGER, clone_epoch INTEGER, config_json TEXT NOT NULL, reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('issued', 'done', 'failed', 'stale')),
    value REAL, attempts INTEGER NOT NULL DEFAULT 0, best_epoch INTEGER,
    stopped INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (job, item));
INSERT INTO items_8 SELECT job, item, trial, epochs, clone_trial, clone_epoch, config_json,
    reason, state, value, attempts, best_epoch, stopped FROM items;
DROP TABLE items;
ALTER TABLE items_8 RENAME TO items;
CREATE TABLE trials_8 (
    job TEXT NOT NULL, trial INTEGER NOT NULL, config_json TEXT NOT NULL, config_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('queued', 'running', 'done', 'failed', 'diverged', 'infeasible', 'duplicate')),
    epochs INTEGER NOT NULL, value REAL, metrics_json TEXT, reason TEXT,
    seconds REAL NOT NULL DEFAULT 0, best_epoch INTEGER, stopped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job, trial));
INSERT INTO trials_8 SELECT job, trial, config_json, config_hash, state, epochs, value,
    metrics_json, reason, seconds, best_epoch, stopped FROM trials;
DROP TABLE trials;
ALTER TABLE trials_8 RENAME TO trials;
CREATE INDEX trials_by_state ON trials (job, state, epochs);
CREATE INDEX trials_by_value ON trials (job, value, trial);
"#,
    // 9: a synchronous scheduler's wave (`WorkItem::wave`) as numbers, read back by
    // `horizon` (before, only the reason's text said it). Older items have none and are read
    // from their reason (`Db::items`).
    r#"
ALTER TABLE items ADD COLUMN wave_place INTEGER;
ALTER TABLE items ADD COLUMN wave_len INTEGER;
"#,
];

mod access;
mod failures;
pub use failures::FailureGroup;
mod retry;
mod search;
mod slurm;

pub use search::TrialSummary;
pub use slurm::SlurmJobRow;

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub struct Db {
    conn: Connection,
    path: PathBuf,
    /// Read by a command while no `hpflow run` is alive: a job or trial recorded as running
    /// is not (its run was killed or stopped), and readers are told `interrupted`.
    orphaned: bool,
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

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

#[derive(Debug, Clone, Serialize)]
pub struct ItemRow {
    pub item: WorkItem,
    pub index: usize,
    pub state: ItemState,
    pub value: Option<f64>,
    pub attempts: u32,
    pub best_epoch: Option<u32>,
    pub stopped: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrialRow {
    pub trial: usize,
    pub config: serde_json::Value,
    pub config_hash: String,
    pub state: TrialRowState,
    pub epochs: u32,
    pub value: Option<f64>,
    pub metrics: serde_json::Value,
    pub reason: Option<String>,
    pub seconds: f64,
    /// Under early stopping: the epoch `value` and `metrics` come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<u32>,
    /// Early stopping ended the trial before the epochs it was given.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

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

fn json(text: Option<String>) -> serde_json::Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null)
}

impl Db {
    /// Open for writing, creating and migrating as needed.
    pub fn open(path: &Path) -> Result<Db> {
        let conn = Connection::open(path).map_err(|e| db_err(path, e))?;
        let db = Db {
            conn,
            path: path.to_path_buf(),
            orphaned: false,
        };
        db.conn
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
            )
            .map_err(|e| db.err(e))?;
        db.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| db.err(e))?;
        let version = db.schema_version("refusing to write")?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = db.conn.unchecked_transaction().map_err(|e| db.err(e))?;
            tx.execute_batch(sql).map_err(|e| db.err(e))?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(|e| db.err(e))?;
            tx.commit().map_err(|e| db.err(e))?;
        }
        Ok(db)
    }

    /// Open an existing database read-only (status, show, export, audit); `None` if absent.
    pub fn open_read(path: &Path) -> Result<Option<Db>> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| db_err(path, e))?;
        let db = Db {
            conn,
            path: path.to_path_buf(),
            orphaned: false,
        };
        db.schema_version("refusing to read")?;
        Ok(Some(db))
    }

    /// Tell this reader whether a live `hpflow run` holds the runs folder (see `orphaned`).
    pub fn with_live_run(mut self, live: bool) -> Db {
        self.orphaned = !live;
        self
    }

    /// A recorded trial state as it is now: `running` without a live run is `interrupted`.
    pub(crate) fn state_now(&self, state: TrialRowState) -> TrialRowState {
        if self.orphaned && state == TrialRowState::Running {
            TrialRowState::Interrupted
        } else {
            state
        }
    }

    /// A recorded job state as it is now (see `state_now`).
    fn job_state_now(&self, state: JobState) -> JobState {
        if self.orphaned && state == JobState::Running {
            JobState::Interrupted
        } else {
            state
        }
    }

    /// The database's schema version; one newer than this hpflow knows is an error.
    fn schema_version(&self, refusal: &str) -> Result<i64> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > SCHEMA_VERSION {
            return Err(Error::Db {
                path: self.path.clone(),
                msg: format!(
                    "written by a newer hpflow (schema {version}, this one knows {SCHEMA_VERSION}); {refusal}"
                ),
            });
        }
        Ok(version)
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        db_err(&self.path, e)
    }

    /// Run `f` as one unit: committed on its own, or, inside a [`Held`] tick, with the tick.
    /// A savepoint rather than BEGIN, so that it nests.
    pub(crate) fn atomically<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("SAVEPOINT one")
            .map_err(|e| self.err(e))?;
        match f(&self.conn) {
            Ok(v) => {
                self.conn
                    .execute_batch("RELEASE one")
                    .map_err(|e| self.err(e))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK TO one; RELEASE one");
                Err(e)
            }
        }
    }

    /// Hold the writes that follow until the guard is committed or dropped, so that they
    /// cost one commit (one fsync of the journal) together: a search coordinator's tick
    /// records every result that came in and every item it decided at once.
    pub fn hold(&self) -> Result<Held<'_>> {
        self.conn
            .execute_batch("SAVEPOINT tick")
            .map_err(|e| self.err(e))?;
        Ok(Held(Some(self)))
    }

    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    // ---- workflows and jobs ----

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
    pub fn commit(self, outputs: &serde_json::Value) -> Result<()> {
        self.db.finish_job(&self.id, JobState::Done, outputs, None)
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

/// Writes held for one commit (see [`Db::hold`]). Dropped without `commit` (an error on the
/// way out), it still commits: each write in it is whole, and what was recorded stays.
pub struct Held<'d>(Option<&'d Db>);

impl Held<'_> {
    pub fn commit(mut self) -> Result<()> {
        match self.0.take() {
            Some(db) => db.conn.execute_batch("RELEASE tick").map_err(|e| db.err(e)),
            None => Ok(()),
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(db) = self.0.take()
            && let Err(e) = db.conn.execute_batch("RELEASE tick")
        {
            tracing::warn!("could not commit the search's last records: {e}");
        }
    }
}

fn db_err(path: &Path, e: rusqlite::Error) -> Error {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return Error::DiskFull {
            path: path.to_path_buf(),
        };
    }
    Error::Db {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}
