//! Trials run sandboxed. A trial's process may read its rows files, its own trial folder
//! (read-write), the program and the system folders a program needs (`/usr`, `/lib`, `/etc`,
//! `/proc`, `/dev`, ...), and nothing else: not the data source, no `sealed/` folder, no other
//! job's folder, not the database. Landlock (Linux 5.13+, no privileges needed) enforces it,
//! in two layers: the worker restricts itself when its first request comes (to its job's
//! trials, the split's rows, and what its trainers need), and a `command` program gets a
//! tighter layer of its own between fork and exec (its own trial folder, its rows files).
//!
//! Landlock allows folders, it cannot carve a hole in one. The workflow's folder, where a
//! program's own files sit, usually holds the data source and `runs/` too, so it is allowed
//! as its entries: each one that holds none of the hidden paths whole, the others entry by
//! entry again (`allow_except`). The coordinator hands the hidden paths to its workers in
//! their environment (`HIDE_ENV`).
//!
//! Where the kernel has no Landlock, trials run under bubblewrap instead (`bwrap`): a
//! `command` program in a namespace of its own, a libtorch or function worker started in one
//! for its job by the coordinator (a Slurm worker, which starts itself, runs unconfined).
//! `HPFLOW_SANDBOX=landlock|bwrap` chooses the mechanism rather than the kernel (so that the
//! fallback can be run where Landlock is there too); `HPFLOW_NO_SANDBOX=1` switches both off.
//! Each trial's `status.json` says how it ran (`"sandbox": "landlock" | "bwrap" | "none"`), a
//! run that cannot confine says so once, and `hpflow audit` reports the unconfined trials as
//! a finding.

use std::path::PathBuf;

use landlock::RulesetStatus;

use crate::train::protocol::TrainRequest;

pub mod bwrap;
mod scope;

pub use scope::Scope;

/// How a trial was confined, as recorded in its `status.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Landlock,
    /// bubblewrap's mount namespace (where Landlock is missing, or `HPFLOW_SANDBOX=bwrap`).
    Bwrap,
    None,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Landlock => "landlock",
            Kind::Bwrap => "bwrap",
            Kind::None => "none",
        }
    }
}

/// The paths no trial may read though they sit in a folder it may (the data source; `runs/`
/// is hidden always), as the coordinator hands them to its workers: in their environment, so
/// that no request names the data source (the audit would take it for a leak).
pub const HIDE_ENV: &str = "HPFLOW_SANDBOX_HIDE";

/// Set `HIDE_ENV` for the workers this coordinator starts (local processes, and Slurm jobs,
/// which get the submitter's environment).
pub fn hide_from_trials(sources: &[PathBuf]) {
    let hidden: Vec<PathBuf> = sources
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    if let Ok(value) = std::env::join_paths(hidden) {
        // SAFETY: called by the coordinator before it starts any thread (workers, readers,
        // the progress bar), so nothing reads the environment meanwhile.
        unsafe { std::env::set_var(HIDE_ENV, value) };
    }
}

/// `HIDE_ENV` as this worker got it.
pub fn hidden_by_coordinator() -> Vec<PathBuf> {
    std::env::var_os(HIDE_ENV)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| p.is_absolute())
                .collect()
        })
        .unwrap_or_default()
}

/// In hpflow's environment, the mechanism asked for; a `command` program gets the one it
/// runs under in the same variable.
pub const CHOOSE_ENV: &str = "HPFLOW_SANDBOX";

/// The mechanism `HPFLOW_SANDBOX` asks for (`None`: unset, the kernel decides).
pub fn asked() -> Result<Option<Kind>, String> {
    match std::env::var(CHOOSE_ENV).as_deref() {
        Err(_) | Ok("") => Ok(None),
        Ok("landlock") => Ok(Some(Kind::Landlock)),
        Ok("bwrap") => Ok(Some(Kind::Bwrap)),
        Ok(other) => Err(format!(
            "HPFLOW_SANDBOX is {other:?}: expected `landlock` or `bwrap` (unset: Landlock \
             where the kernel has it, else bubblewrap; HPFLOW_NO_SANDBOX=1 switches the \
             sandbox off)"
        )),
    }
}

/// Before a run starts anything: a mechanism asked for that this machine lacks is an error,
/// not a quietly weaker sandbox.
pub fn check() -> Result<(), String> {
    if switched_off() {
        return Ok(());
    }
    match asked()? {
        Some(Kind::Landlock) if landlock_abi().is_none() => Err(
            "HPFLOW_SANDBOX=landlock, but this kernel offers no Landlock (Linux 5.13+ with the \
             landlock LSM enabled); unset it to fall back to bubblewrap"
                .into(),
        ),
        Some(Kind::Bwrap) if !bwrap::works() => Err(
            "HPFLOW_SANDBOX=bwrap, but bubblewrap cannot run here: install it (the Debian \
             package `bubblewrap`) or allow unprivileged user namespaces; unset it to use \
             Landlock"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// `HPFLOW_NO_SANDBOX` set (to anything but empty or `0`): trials run unconfined.
pub fn switched_off() -> bool {
    std::env::var("HPFLOW_NO_SANDBOX").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The kernel's Landlock version, if it has Landlock enabled.
pub fn landlock_abi() -> Option<i64> {
    const VERSION: libc::c_uint = 1; // LANDLOCK_CREATE_RULESET_VERSION
    // SAFETY: the version query takes no ruleset and writes nothing.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            VERSION,
        )
    };
    (v > 0).then_some(v)
}

/// What a worker (and the libtorch and function trials it runs itself) gets.
pub fn available() -> Kind {
    let bwrap_asked = asked() == Ok(Some(Kind::Bwrap));
    if !switched_off() && !bwrap_asked && landlock_abi().is_some() {
        Kind::Landlock
    } else {
        Kind::None
    }
}

/// What a `command` program gets: Landlock, else bubblewrap (bubblewrap first when asked).
pub fn for_program() -> Kind {
    match available() {
        Kind::None if !switched_off() && bwrap::works() => Kind::Bwrap,
        k => k,
    }
}

/// Whether this coordinator starts its libtorch and function workers under bubblewrap
/// (`bwrap::wrap_worker`): where bubblewrap is the mechanism, a worker cannot confine itself.
pub fn bwrap_workers() -> bool {
    for_program() == Kind::Bwrap
}

/// Why trials run unconfined, for the one line a run prints; `None` when they are confined.
pub fn why_not() -> Option<String> {
    if switched_off() {
        return Some(
            "HPFLOW_NO_SANDBOX is set: trials run unsandboxed and could read the data source \
             and the sealed rows; `hpflow audit` will report them"
                .into(),
        );
    }
    if for_program() == Kind::None {
        return Some(
            "this kernel offers no Landlock (Linux 5.13+ with the landlock LSM enabled) nor \
             bubblewrap (bwrap): trials run unsandboxed; `hpflow audit` will report them"
                .into(),
        );
    }
    None
}

/// The reason a trial that was denied a file gets after its program's own words.
pub const DENIED_HINT: &str = "trials run sandboxed: a trial reads only the rows hpflow gives \
     it (HPFLOW_TRAIN, HPFLOW_VAL; HPFLOW_TEST when evaluating), its own folder \
     (HPFLOW_TRIAL_DIR) and its program's files; read those, not the data source or runs/ \
     (HPFLOW_NO_SANDBOX=1 switches the sandbox off, and the audit reports it)";

/// Whether a program's stderr says the sandbox (of `kind`) denied it something. Under
/// bubblewrap what lies in the covered `runs/` folder is simply not there.
pub fn denied(kind: Kind, stderr: &str) -> bool {
    let absent: &[&str] = match kind {
        Kind::Bwrap => &["No such file or directory", "FileNotFoundError", "ENOENT"],
        _ => &[],
    };
    ["Permission denied", "PermissionError", "EACCES"]
        .iter()
        .chain(absent)
        .any(|w| stderr.contains(w))
}

/// The worker's own layer, entered once, on its first request (a worker serves one job).
#[derive(Debug, Default)]
pub struct WorkerSandbox {
    entered: Option<Kind>,
    /// Folders the worker itself writes besides the job's trials (a Slurm queue).
    pub extra_write: Vec<PathBuf>,
}

impl WorkerSandbox {
    /// How this worker is confined, once it has entered its sandbox.
    pub fn kind(&self) -> Option<Kind> {
        self.entered
    }

    /// Confine this process for `req`'s job (a no-op after the first call). Threads started
    /// before stay unconfined: a worker starts none of its own before its first request.
    pub fn enter(&mut self, req: &TrainRequest) -> Result<Kind, String> {
        if let Some(k) = self.entered {
            return Ok(k);
        }
        let kind = match available() {
            // Started under bubblewrap by its coordinator (which removes the mark otherwise).
            Kind::None | Kind::Bwrap if std::env::var_os(bwrap::WORKER_ENV).is_some() => {
                Kind::Bwrap
            }
            Kind::None | Kind::Bwrap => Kind::None,
            Kind::Landlock => {
                let status = Scope::worker(req, &self.extra_write)
                    .ruleset()?
                    .restrict_self()
                    .map_err(|e| format!("cannot enter the sandbox: {e}"))?;
                if status.ruleset == RulesetStatus::NotEnforced {
                    Kind::None
                } else {
                    Kind::Landlock
                }
            }
        };
        self.entered = Some(kind);
        Ok(kind)
    }
}
