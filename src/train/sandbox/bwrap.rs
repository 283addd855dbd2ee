//! The fallback where the kernel has no Landlock: a `command` program runs under bubblewrap
//! (`bwrap`), in a mount namespace of its own. The system is mounted read-only, the `runs/`
//! folder and the data source are covered (an empty folder; for a file, an empty one nobody
//! may read, so that opening it fails as under Landlock), and only the trial's own folder
//! (read-write), its rows files and, when evaluating, the model (read-only) are mounted back
//! into the covered `runs/`. A program run by root is given no capabilities: with them it
//! would read the unreadable cover all the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::train::protocol::{Mode, TrainRequest};

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
    let abs = |p: &Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    let mut a: Vec<String> = ["bwrap", "--die-with-parent", "--ro-bind", "/", "/"]
        .map(String::from)
        .to_vec();
    // SAFETY: geteuid reads the process's user id and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        a.extend(["--cap-drop", "ALL"].map(String::from));
    }
    // Devices written as well as read (/dev/null, a GPU, /dev/shm).
    a.extend(["--dev-bind", "/dev", "/dev"].map(String::from));
    for hidden in super::Scope::hidden(req) {
        let cover = if hidden.is_dir() {
            vec!["--tmpfs".to_string(), abs(&hidden)]
        } else if hidden.exists() {
            vec!["--ro-bind".into(), abs(&unreadable(req)?), abs(&hidden)]
        } else {
            continue;
        };
        a.extend(cover);
    }
    let mut back = |how: &str, p: &Path| {
        if p.exists() {
            a.extend([how.to_string(), abs(p), abs(p)]);
        }
    };
    back("--bind", &req.trial_dir);
    for f in files {
        back("--ro-bind", f);
    }
    if let Mode::Evaluate { model_dir, .. } = &req.mode {
        back("--ro-bind", model_dir);
    }
    a.extend(["--chdir".to_string(), abs(workdir), "--".to_string()]);
    a.extend(argv.iter().cloned());
    Ok(a)
}

/// An empty file with no permissions, in the trial's scratch folder (gone with it), to
/// cover a hidden file with.
fn unreadable(req: &TrainRequest) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let path = crate::train::TrialDir::of(&req.trial_dir)
        .tmp()
        .join("hidden");
    // Not written over: without capabilities nobody may open it, its owner included.
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, b"").map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
