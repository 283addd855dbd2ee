//! `runs/hpflow.db`: the only module that speaks SQL. WAL mode; the schema version lives in
//! `PRAGMA user_version` with ordered migrations (`schema`), and a database from a newer
//! hpflow is refused for writing. Only the coordinator writes; commands that read open it
//! read-only. This file opens it and holds writes together; its children hold the tables:
//! `jobs` (workflows, jobs and the guard that ends one), `search` (items, trials, epochs, read
//! as `rows`), `retry`, `failures`, `access` (the test-set access log) and `slurm`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::vocab::{JobState, TrialRowState};

mod access;
mod failures;
mod jobs;
mod retry;
mod rows;
mod schema;
mod search;
mod slurm;

pub use access::AccessRow;
pub use failures::FailureGroup;
pub use jobs::{JobRow, RunningJob};
pub use rows::{ItemRow, TrialRow};
use schema::MIGRATIONS;
pub use schema::SCHEMA_VERSION;
pub use search::TrialSummary;
pub use slurm::SlurmJobRow;

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

    /// The database file (for messages about what it holds).
    pub fn path(&self) -> &Path {
        &self.path
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
