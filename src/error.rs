//! The one error type of hpflow and the exit code each kind of failure maps to.

use std::path::PathBuf;

/// Exit codes users and scripts can rely on.
pub mod exit {
    pub const OK: i32 = 0;
    /// A job or trial failed; the run stopped after recording it.
    pub const JOB_FAILED: i32 = 1;
    /// Bad input: a workflow, a flag, a data file. Nothing was written.
    pub const BAD_INPUT: i32 = 2;
    /// Another `hpflow run` holds the runs folder.
    pub const LOCKED: i32 = 3;
    /// `hpflow audit` found test-set leakage or a broken access log.
    pub const AUDIT_FINDINGS: i32 = 4;
    /// The disk (or a quota) is full. Nothing recorded was lost: free space and run again.
    pub const DISK_FULL: i32 = 5;
    /// A bug or an environment problem (disk, database) rather than the user's input.
    pub const INTERNAL: i32 = 70;
    /// Stopped by SIGINT/SIGTERM; rerun to resume.
    pub const INTERRUPTED: i32 = 130;
    /// `run` stopped as on Ctrl-C because its output's reader went away (a closed pipe:
    /// `2>&1 | head`); rerun to resume. 128 + SIGPIPE, as a shell reports a tool it killed.
    pub const OUTPUT_CLOSED: i32 = 141;

    /// Every code with what it means to a user: `--help` and the man page list these.
    pub const CODES: &[(i32, &str)] = &[
        (OK, "ok"),
        (
            JOB_FAILED,
            "a job or trial failed; the run stopped after recording it",
        ),
        (
            BAD_INPUT,
            "bad input (a workflow, a flag, a data file); nothing was written",
        ),
        (LOCKED, "another `hpflow run` holds the runs folder"),
        (
            AUDIT_FINDINGS,
            "`hpflow audit` found test-set leakage or a broken access log",
        ),
        (
            DISK_FULL,
            "the disk (or a quota) is full; free space and run again: nothing recorded is lost",
        ),
        (
            INTERNAL,
            "internal error: a bug, or the disk or database failing",
        ),
        (
            INTERRUPTED,
            "interrupted (Ctrl-C, SIGTERM); run the same command again to resume",
        ),
        (
            OUTPUT_CLOSED,
            "`run` stopped as on Ctrl-C because its output's reader went away (a closed pipe); run again to resume",
        ),
    ];
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mistake in a file the user wrote: names the file, the line where known, and the field.
    #[error("{}{}: {field}: {msg}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Input {
        file: PathBuf,
        line: Option<usize>,
        field: String,
        msg: String,
    },
    /// A bad command-line argument or a reference to something that does not exist.
    #[error("{0}")]
    Usage(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {}: {msg}", path.display())]
    Db { path: PathBuf, msg: String },
    #[error("another hpflow run is using {} (pid {pid}); wait for it or stop it", path.display())]
    Locked { path: PathBuf, pid: String },
    #[error("{0}")]
    JobFailed(String),
    #[error("audit: {0}")]
    Audit(String),
    #[error("interrupted; run the same command again to resume")]
    Interrupted,
    #[error(
        "disk full: cannot write {}; free space (or set disk_limit_mb on the search to keep \
         fewer checkpoints), then run the same command again: nothing recorded is lost",
        path.display()
    )]
    DiskFull { path: PathBuf },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } | Error::Usage(_) => exit::BAD_INPUT,
            Error::Locked { .. } => exit::LOCKED,
            Error::JobFailed(_) => exit::JOB_FAILED,
            Error::Audit(_) => exit::AUDIT_FINDINGS,
            Error::Interrupted => exit::INTERRUPTED,
            Error::DiskFull { .. } => exit::DISK_FULL,
            Error::Io { .. } | Error::Db { .. } | Error::Internal(_) => exit::INTERNAL,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if is_disk_full(&source) {
            return Error::DiskFull { path: path.into() };
        }
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// ENOSPC or EDQUOT: no room to write, which freeing space fixes.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// A problem with one field of a document, before the file and line are attached.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Dotted path, e.g. `stages.search.space.lr`.
    pub field: String,
    pub msg: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, msg: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            msg: msg.into(),
        }
    }
}
