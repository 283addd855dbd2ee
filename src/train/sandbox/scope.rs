//! What a trial process may touch (`Scope`) and the Landlock ruleset that enforces it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use landlock::{
    ABI, Access, AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr,
};

use crate::train::protocol::{Mode, TrainRequest, TrainerSpec};

/// The Landlock version whose file-system rights are asked for (best effort below it).
const ABI_WANTED: ABI = ABI::V5;

/// What one process may touch: folders and files it may read, and those it may write.
#[derive(Debug, Default)]
pub struct Scope {
    /// Broad folders (system, program, workflow folder): the hidden paths are cut out of them.
    roots: Vec<PathBuf>,
    /// Paths under `runs/` granted as they are.
    pub(super) read: Vec<PathBuf>,
    pub(super) write: Vec<PathBuf>,
    pub(super) hide: Vec<PathBuf>,
}

impl Scope {
    /// A `command` program's: its trial folder, its rows files, its program, the system.
    pub fn program(req: &TrainRequest, program: &str, files: &[PathBuf]) -> Scope {
        let mut s = Scope::system(req);
        s.write.push(req.trial_dir.clone());
        s.read.extend(files.iter().cloned());
        if let Mode::Evaluate { model_dir, .. } = &req.mode {
            s.read.push(model_dir.clone());
        }
        s.program_roots(req, program);
        s
    }

    /// A worker's, from its first request: every trial of that job, the split's rows (a
    /// `command` trial's CSVs are made beside them), and what its trainers need.
    pub fn worker(req: &TrainRequest, extra_write: &[PathBuf]) -> Scope {
        let mut s = Scope::system(req);
        s.write
            .push(crate::train::TrialDir::of(&req.trial_dir).job_trials());
        s.write.extend(extra_write.iter().cloned());
        if let Some(d) = &req.data {
            for rows in [&d.train, &d.val] {
                if let Some(dir) = rows.parent() {
                    s.write.push(dir.to_path_buf());
                }
            }
            s.read.push(d.manifest.clone());
        }
        if let Mode::Evaluate {
            model_dir, test, ..
        } = &req.mode
        {
            s.read.push(model_dir.clone());
            s.read.push(test.clone());
        }
        s.read.extend(req.clone_from.iter().cloned());
        // The worker's own binary and the libraries it loaded (libtorch in a venv), which
        // it may load more of later (CUDA kernels, OpenMP).
        if let Ok(me) = std::env::current_exe()
            && let Some(dir) = me.parent()
        {
            s.roots.push(dir.to_path_buf());
        }
        s.roots.extend(loaded_library_dirs());
        if let TrainerSpec::Command { argv } = &req.trainer
            && let Some(program) = argv.first()
        {
            s.program_roots(req, program);
        }
        s
    }

    /// What no broad folder may expose: the coordinator's hidden paths (the data source) and
    /// the `runs/` folder (the database, every job, every `sealed/`).
    pub fn hidden(req: &TrainRequest) -> Vec<PathBuf> {
        let mut hide = super::hidden_by_coordinator();
        if let Some(runs) = crate::train::TrialDir::of(&req.trial_dir).runs_root() {
            hide.push(runs);
        }
        hide
    }

    fn system(req: &TrainRequest) -> Scope {
        let hide = Scope::hidden(req);
        Scope {
            roots: [
                "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt", "/sys",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            hide,
            ..Scope::default()
        }
    }

    /// The program's installation (a venv's or `/usr`'s prefix when it sits in a `bin`
    /// folder), every `PATH` folder's likewise (a script's interpreter), and the workflow's
    /// folder (the program's own files), all without the hidden paths.
    fn program_roots(&mut self, req: &TrainRequest, program: &str) {
        let prefix = |dir: &Path| -> PathBuf {
            match (dir.file_name(), dir.parent()) {
                (Some(n), Some(p)) if n == "bin" && p != Path::new("/") => p.to_path_buf(),
                _ => dir.to_path_buf(),
            }
        };
        let workdir = req.workdir.clone().unwrap_or_else(|| req.trial_dir.clone());
        let found = if program.contains('/') {
            Some(workdir.join(program))
        } else {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(program))
                    .find(|p| p.is_file())
            })
        };
        if let Some(p) = found {
            for q in [Some(p.clone()), p.canonicalize().ok()]
                .into_iter()
                .flatten()
            {
                if let Some(dir) = q.parent() {
                    self.roots.push(prefix(dir));
                }
            }
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for d in std::env::split_paths(&paths).filter(|d| d.is_absolute()) {
                self.roots.push(prefix(&d));
            }
        }
        if req.workdir.is_some() {
            self.roots.push(workdir);
        }
    }

    /// The Landlock ruleset, ready to enforce (`restrict_self`) here or in a child.
    pub fn ruleset(&self) -> Result<RulesetCreated, String> {
        let abi = ABI_WANTED;
        let read = AccessFs::from_read(abi);
        let all = AccessFs::from_all(abi);
        let hide: Vec<PathBuf> = self
            .hide
            .iter()
            .map(|h| h.canonicalize().unwrap_or_else(|_| h.clone()))
            .collect();
        let mut rules: Vec<(PathBuf, BitFlags<AccessFs>)> = Vec::new();
        for root in &self.roots {
            let root = root.canonicalize().unwrap_or_else(|_| root.clone());
            allow_except(&root, &hide, read, &mut rules, 0);
        }
        rules.extend(self.read.iter().map(|p| (p.clone(), read)));
        rules.extend(self.write.iter().map(|p| (p.clone(), all)));
        // Devices and the process's own files are written as well as read (/dev/null, a GPU,
        // /proc/self); /dev/shm is shared memory (libtorch's, python's multiprocessing).
        // NVIDIA's driver names its threads in cuInit by opening /proc/<pid>/task/<tid>/comm
        // with O_TRUNC: without the truncate right there CUDA fails to start (error 304,
        // found on the lent H200). The kernel lets a process write only its own entries.
        let dev = read | AccessFs::WriteFile | AccessFs::IoctlDev | AccessFs::Truncate;
        rules.push(("/dev".into(), dev));
        rules.push((
            "/proc".into(),
            read | AccessFs::WriteFile | AccessFs::Truncate,
        ));
        rules.push(("/dev/shm".into(), all));
        let err = |e: landlock::RulesetError| format!("cannot set up the sandbox: {e}");
        let mut ruleset = Ruleset::default()
            .handle_access(all)
            .map_err(err)?
            .create()
            .map_err(err)?;
        for (path, access) in rules {
            // A path that is not there (no /lib32 here) needs no rule.
            let Ok(fd) = PathFd::new(&path) else { continue };
            let access = if path.is_dir() {
                access
            } else {
                access & AccessFs::from_file(abi)
            };
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd, access))
                .map_err(err)?;
        }
        Ok(ruleset)
    }
}

/// Allow `root` with `access`, except the `hide` paths in it: a folder that holds one is
/// listed, and allowed entry by entry (a hidden path's siblings along its path).
fn allow_except(
    root: &Path,
    hide: &[PathBuf],
    access: BitFlags<AccessFs>,
    out: &mut Vec<(PathBuf, BitFlags<AccessFs>)>,
    depth: usize,
) {
    if hide.iter().any(|h| root.starts_with(h)) || depth > 32 {
        return;
    }
    if !hide.iter().any(|h| h.starts_with(root)) {
        out.push((root.to_path_buf(), access));
        return;
    }
    // Its names may be listed (python finds a script's modules by listing its folder); the
    // right reaches the folders below as well, for names only: no file there opens.
    out.push((root.to_path_buf(), access & AccessFs::ReadDir));
    for path in entries(root) {
        // A link is judged by what it points to: one into `runs/` stays out.
        let real = path.canonicalize().unwrap_or_else(|_| path.clone());
        if real != path {
            if !hide
                .iter()
                .any(|h| real.starts_with(h) || h.starts_with(&real))
            {
                out.push((path, access));
            }
            continue;
        }
        allow_except(&path, hide, access, out, depth + 1);
    }
}

/// The entries of `dir`, as the first look found them: once the worker is confined it may no
/// longer list the workflow's folder (only its entries are allowed), and a program's layer
/// is built after that, from the same listing.
fn entries(dir: &Path) -> Vec<PathBuf> {
    static SEEN: Mutex<BTreeMap<PathBuf, Vec<PathBuf>>> = Mutex::new(BTreeMap::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.entry(dir.to_path_buf())
        .or_insert_with(|| {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .collect()
        })
        .clone()
}

/// The folders of the shared libraries this process has loaded (`/proc/self/maps`).
fn loaded_library_dirs() -> Vec<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/') && p.contains(".so"))
        .filter_map(|p| Path::new(p).parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}
