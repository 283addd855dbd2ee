//! The `runs/` folder. This module is the only code that joins paths under it.
//!
//! ```text
//! runs/
//! ├── hpflow.db                 SQLite: workflows, jobs, items, trials, epochs, data accesses
//! ├── .lock                     held (flock) by the one `hpflow run` writing here
//! └── <job>/                    one folder per job, named by its content hash (16 hex digits)
//!     ├── job.json              the job's key: everything that went into its hash
//!     ├── manifest.json         split: train/val rows and normalisation
//!     ├── rows/train.safetensors, rows/val.safetensors   split: the rows search and retrain
//!     │                         read (and `*.csv` made from them for command programs)
//!     ├── rows/fingerprints.json   split: the train and val rows' content fingerprints
//!     ├── sealed/test.json      split: the test rows' indices, hash and fingerprints
//!     ├── sealed/test.safetensors   split: the test rows (only evaluate opens them)
//!     ├── split.json            split: what the split did (sizes, label counts, duplicates)
//!     ├── best.json             search: the selected configuration
//!     ├── narrowed.json         search with `narrow:`: the space derived from the upstream
//!     ├── trials/<NNNN>/        search: one folder per trial (`TrialDir` names its files)
//!     │   ├── requests.jsonl    every request it ever received (the audit reads them all;
//!     │   │                     runs made before it have
//!     │   │                     only request.json, the last)
//!     │   ├── status.json       the last request's outcome (written by the worker)
//!     │   ├── metrics.jsonl     one line per epoch
//!     │   ├── epochs.log        one line per epoch actually trained (resumes included)
//!     │   ├── stdout.log, stderr.log   a command program's other output
//!     │   ├── checkpoints/epoch-NNNN/   weights, optimizer state, meta.json with hashes
//!     │   ├── checkpoints/command/      a command program's own checkpoint folder
//!     │   ├── tmp/              a command program's TMPDIR (removed after it)
//!     │   └── scratch/, test-rows/   evaluate, command: HPFLOW_CHECKPOINT_DIR and the test
//!     │                         rows as CSV, both removed when the program ends
//!     ├── slurm/                search under `executor: slurm` (`QueueDir` names its files)
//!     │   ├── queue/<request>.json          requests no worker job has claimed yet
//!     │   ├── claimed/<request>@<jobid>.json  requests a worker job claimed (renamed)
//!     │   ├── logs/<jobid>.out              each worker job's output
//!     │   ├── heartbeat                     touched by the coordinator while it lives
//!     │   └── stop                          the search is over: idle workers exit
//!     ├── model/                retrain: the final model (trials/0000 holds its training)
//!     ├── access.json           evaluate: its entry in the access log (seq, chain hash)
//!     └── results.json          retrain / evaluate: the metrics
//! ```

use std::ops::Deref;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

/// The folder name of a job: the first 16 hex digits of its id.
pub fn short(job_id: &str) -> &str {
    &job_id[..job_id.len().min(16)]
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn db(&self) -> PathBuf {
        self.root.join("hpflow.db")
    }
    pub fn lock(&self) -> PathBuf {
        self.root.join(".lock")
    }
    pub fn job(&self, job_id: &str) -> PathBuf {
        self.root.join(short(job_id))
    }
    pub fn job_key(&self, job_id: &str) -> PathBuf {
        self.job(job_id).join("job.json")
    }
    pub fn manifest(&self, split_job: &str) -> PathBuf {
        self.job(split_job).join("manifest.json")
    }
    pub fn sealed_test(&self, split_job: &str) -> PathBuf {
        self.job(split_job).join("sealed").join("test.json")
    }
    /// The rows of `part` (`train` or `val`) that search and retrain read.
    pub fn split_rows(&self, split_job: &str, part: &str) -> PathBuf {
        self.job(split_job)
            .join("rows")
            .join(format!("{part}.safetensors"))
    }
    /// evaluate: the access-log entry (seq, chain hash) of its opening of the test rows.
    pub fn access_receipt(&self, evaluate_job: &str) -> PathBuf {
        self.job(evaluate_job).join("access.json")
    }
    /// The content fingerprints of the train and val rows (for the audit).
    pub fn split_fingerprints(&self, split_job: &str) -> PathBuf {
        self.job(split_job).join("rows").join("fingerprints.json")
    }
    /// The test rows themselves, which only an evaluate job reads (after logging it).
    pub fn sealed_rows(&self, split_job: &str) -> PathBuf {
        self.job(split_job).join("sealed").join("test.safetensors")
    }
    pub fn split_record(&self, split_job: &str) -> PathBuf {
        self.job(split_job).join("split.json")
    }
    /// search with `narrow:`: the space derived from the upstream search.
    pub fn narrowed(&self, search_job: &str) -> PathBuf {
        self.job(search_job).join("narrowed.json")
    }
    pub fn best(&self, search_job: &str) -> PathBuf {
        self.job(search_job).join("best.json")
    }
    /// The budgets a search ran under, oldest first (a sweep that grew).
    pub fn budgets(&self, search_job: &str) -> PathBuf {
        self.job(search_job).join("budgets.json")
    }
    pub fn trials(&self, job_id: &str) -> PathBuf {
        self.job(job_id).join("trials")
    }
    pub fn trial(&self, job_id: &str, trial: usize) -> TrialDir {
        TrialDir(self.trials(job_id).join(format!("{trial:04}")))
    }
    pub fn checkpoint(&self, job_id: &str, trial: usize, epoch: u32) -> PathBuf {
        self.trial(job_id, trial).checkpoint(epoch)
    }
    /// The folder through which a search's Slurm worker jobs get their requests.
    pub fn queue(&self, search_job: &str) -> QueueDir {
        QueueDir(self.job(search_job).join("slurm"))
    }
    pub fn model(&self, retrain_job: &str) -> PathBuf {
        self.trial(retrain_job, 0).model()
    }
    pub fn results(&self, job_id: &str) -> PathBuf {
        self.job(job_id).join("results.json")
    }
}

/// One trial's folder, and every path inside it: the only code that names a trial's files.
/// It reads as the folder's `Path` where a path is wanted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct TrialDir(PathBuf);

/// A checkpoint's folder name inside `checkpoints/`: `epoch-0003`.
pub fn checkpoint_folder(epoch: u32) -> String {
    format!("epoch-{epoch:04}")
}

impl TrialDir {
    /// The trial folder at `path` (a request carries it as a plain path).
    pub fn of(path: &Path) -> TrialDir {
        TrialDir(path.to_path_buf())
    }
    pub fn request(&self) -> PathBuf {
        self.0.join("request.json")
    }
    /// Every request the trial received, one JSON line each (append-only).
    pub fn requests_log(&self) -> PathBuf {
        self.0.join("requests.jsonl")
    }
    pub fn status(&self) -> PathBuf {
        self.0.join("status.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.0.join("metrics.jsonl")
    }
    pub fn epochs_log(&self) -> PathBuf {
        self.0.join("epochs.log")
    }
    /// A `command` program's output lines that are not metrics (its own log messages).
    pub fn stdout_log(&self) -> PathBuf {
        self.0.join("stdout.log")
    }
    pub fn stderr_log(&self) -> PathBuf {
        self.0.join("stderr.log")
    }
    pub fn checkpoints(&self) -> PathBuf {
        self.0.join("checkpoints")
    }
    pub fn checkpoint(&self, epoch: u32) -> PathBuf {
        self.checkpoints().join(checkpoint_folder(epoch))
    }
    /// The folder a `command` program saves and resumes from (`HPFLOW_CHECKPOINT_DIR`).
    pub fn command_checkpoint(&self) -> PathBuf {
        self.checkpoints().join("command")
    }
    /// The final model of a retrain job.
    pub fn model(&self) -> PathBuf {
        self.0.join("model")
    }
    /// Fold `f`'s folder inside the trial's (k-fold cross-validation): a trial folder of its own.
    pub fn fold(&self, f: usize) -> TrialDir {
        TrialDir(self.0.join(format!("fold-{f}")))
    }
    /// The fold folders present inside the trial's, in no particular order.
    pub fn existing_folds(&self) -> Vec<TrialDir> {
        std::fs::read_dir(&self.0)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("fold-"))
            .map(|e| TrialDir(e.path()))
            .collect()
    }
    /// A `command` evaluation's fresh `HPFLOW_CHECKPOINT_DIR` (the model it measures is
    /// read-only), removed when it ends.
    pub fn scratch(&self) -> PathBuf {
        self.0.join("scratch")
    }
    /// A `command` evaluation's copy of the test rows as CSV (`HPFLOW_TEST`), removed when
    /// it ends.
    pub fn test_rows(&self) -> PathBuf {
        self.0.join("test-rows")
    }
    /// A `command` program's private `TMPDIR`.
    pub fn tmp(&self) -> PathBuf {
        self.0.join("tmp")
    }
    /// The job's `trials/` folder, which holds this trial (a fold's folder sits in its
    /// trial's).
    pub fn job_trials(&self) -> PathBuf {
        self.0
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "trials"))
            .unwrap_or(&self.0)
            .to_path_buf()
    }
    /// The `runs/` folder that holds this trial's job.
    pub fn runs_root(&self) -> Option<PathBuf> {
        let trials = self.job_trials();
        (trials != self.0).then(|| trials.parent()?.parent().map(Path::to_path_buf))?
    }
}

impl Deref for TrialDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TrialDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// A search's Slurm folder: requests wait in `queue/` and a worker job claims one by renaming
/// it into `claimed/` under its own job id (a rename succeeds for exactly one claimant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDir(PathBuf);

impl QueueDir {
    pub fn of(path: &Path) -> QueueDir {
        QueueDir(path.to_path_buf())
    }
    pub fn root(&self) -> &Path {
        &self.0
    }
    pub fn queue(&self) -> PathBuf {
        self.0.join("queue")
    }
    pub fn waiting(&self, request: u64) -> PathBuf {
        self.queue().join(format!("{request:016}.json"))
    }
    pub fn claimed_dir(&self) -> PathBuf {
        self.0.join("claimed")
    }
    pub fn claimed(&self, file_name: &str, worker: &str) -> PathBuf {
        let stem = file_name.trim_end_matches(".json");
        self.claimed_dir().join(format!("{stem}@{worker}.json"))
    }
    pub fn logs(&self) -> PathBuf {
        self.0.join("logs")
    }
    pub fn heartbeat(&self) -> PathBuf {
        self.0.join("heartbeat")
    }
    pub fn stop(&self) -> PathBuf {
        self.0.join("stop")
    }
    /// The batch script every worker job of this search runs.
    pub fn script(&self) -> PathBuf {
        self.0.join("worker.sh")
    }
}

/// Every unit of work under a job's `trials/` folder: each trial's folder, in name order,
/// followed by its fold folders (k-fold trials), in name order.
pub fn unit_dirs(trials: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut trial_dirs: Vec<PathBuf> = std::fs::read_dir(trials)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    trial_dirs.sort();
    for dir in trial_dirs {
        let mut folds: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("fold-"))
            })
            .collect();
        folds.sort();
        out.push(dir);
        out.extend(folds);
    }
    out
}
