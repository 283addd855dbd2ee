//! The fallback where the kernel has no Landlock (or `HPFLOW_SANDBOX=bwrap`): a trial's
//! process runs under bubblewrap (`bwrap`), in a mount namespace of its own, with the `Scope`
//! Landlock would enforce turned into mounts. The system is mounted read-only, the `runs/`
//! folder and the data source are covered (an empty folder; for a file, an empty one nobody
//! may read, so that opening it fails as under Landlock), and only the scope's paths are
//! mounted back into the covered `runs/`: the folders it writes read-write, those it reads
//! read-only. A process run by root is given no capabilities: with them it would read the
//! unreadable cover all the same.
//!
//! A `command` program gets its own (its trial folder, its rows files, the model it
//! evaluates); a libtorch or function worker is started under one for its first request's
//! job (`Scope::worker`). A worker that runs `command` programs is not wrapped itself: a
//! namespace without capabilities cannot make the program's tighter one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::Scope;
use crate::train::protocol::TrainRequest;

/// Set by the coordinator for a worker it started under bubblewrap, so that the worker's
/// trials record `"sandbox": "bwrap"`.
pub const WORKER_ENV: &str = "HPFLOW_SANDBOX_BWRAP_WORKER";

/// Whether `bwrap` is on `PATH` and may make a mount namespace here (a container can forbid
/// it); asked once per process.
pub fn works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        Command::new("bwrap")
            .args(["--ro-bind", "/", "/", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The command line that runs `argv` (in `workdir`) confined for `req`: its trial folder,
/// the rows `files` it is given, and the model it evaluates.
pub fn wrap(
    req: &TrainRequest,
    files: &[PathBuf],
    workdir: &Path,
    argv: &[String],
) -> Result<Vec<String>, String> {
    // `Scope::program`'s roots are the system and the program's folders: all read-only here.
    let scope = Scope::program(req, argv.first().map_or("", |a| a.as_str()), files);
    let mut a = mounts(req, &scope)?;
    a.extend(["--chdir".to_string(), abs(workdir), "--".to_string()]);
    a.extend(argv.iter().cloned());
    Ok(a)
}

/// The command line that starts the worker `program args` confined to `req`'s job.
pub fn wrap_worker(
    req: &TrainRequest,
    program: &Path,
    args: &[String],
) -> Result<Vec<String>, String> {
    let mut a = mounts(req, &Scope::worker(req, &[]))?;
    a.extend(["--".to_string(), abs(program)]);
    a.extend(args.iter().cloned());
    Ok(a)
}

/// `bwrap` and its mounts for `scope`, up to the command.
fn mounts(req: &TrainRequest, scope: &Scope) -> Result<Vec<String>, String> {
    let mut a: Vec<String> = ["bwrap", "--die-with-parent", "--ro-bind", "/", "/"]
        .map(String::from)
        .to_vec();
    // SAFETY: geteuid reads the process's user id and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        a.extend(["--cap-drop", "ALL"].map(String::from));
    }
    // Devices written as well as read (/dev/null, a GPU, /dev/shm).
    a.extend(["--dev-bind", "/dev", "/dev"].map(String::from));
    // /proc written too: NVIDIA's driver names its threads there in cuInit (as under
    // Landlock, see `Scope::ruleset`), and the kernel lets a process write only its own
    // entries. The machine's knobs stay read-only.
    a.extend(
        [
            "--bind",
            "/proc",
            "/proc",
            "--ro-bind-try",
            "/proc/sys",
            "/proc/sys",
            "--ro-bind-try",
            "/proc/sysrq-trigger",
            "/proc/sysrq-trigger",
        ]
        .map(String::from),
    );
    for hidden in &scope.hide {
        if hidden.is_dir() {
            a.extend(["--tmpfs".to_string(), abs(hidden)]);
        } else if hidden.exists() {
            a.extend(["--ro-bind".into(), abs(&unreadable(req)?), abs(hidden)]);
        }
    }
    // Written first: a path read inside one written stays read-only. A folder to write that
    // is not there yet is made, so that what the process writes lands on disk.
    for p in &scope.write {
        let _ = std::fs::create_dir_all(p);
    }
    let back = [("--bind", &scope.write), ("--ro-bind", &scope.read)];
    for (how, paths) in back {
        for p in paths.iter().filter(|p| p.exists()) {
            a.extend([how.to_string(), abs(p), abs(p)]);
        }
    }
    Ok(a)
}

fn abs(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// An empty file with no permissions to cover a hidden file with: `runs/.sandbox-cover`,
/// made once (the covered `runs/` keeps trials from changing it).
fn unreadable(req: &TrainRequest) -> Result<PathBuf, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = crate::train::TrialDir::of(&req.trial_dir);
    let path = dir
        .runs_root()
        .unwrap_or_else(|| dir.tmp())
        .join(".sandbox-cover");
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0)
        .open(&path);
    match made {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(format!("{}: {e}", path.display()))
        }
        _ => Ok(path),
    }
}
