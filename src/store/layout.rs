//! The `runs/` folder. This module is the only code that joins paths under it.
//!
//! ```text
//! runs/
//! ├── hpflow.db                 SQLite: workflows, jobs, items, trials, epochs, data accesses
//! ├── .lock                     held (flock) by the one `hpflow run` writing here
//! └── <job>/                    one folder per job, named by its content hash (16 hex digits)
//!     ├── job.json              the job's key: everything that went into its hash
//!     ├── manifest.json         split: train/val rows and normalisation
//!     ├── sealed/test.json      split: the test rows (only evaluate opens them)
//!     ├── split.json            split: what the split did (sizes, label counts, duplicates)
//!     ├── best.json             search: the selected configuration
//!     ├── narrowed.json         search with `narrow:`: the space derived from the upstream
//!     ├── trials/<NNNN>/        search: one folder per trial
//!     │   ├── status.json       the last request's outcome (written by the worker)
//!     │   ├── metrics.jsonl     one line per epoch
//!     │   └── checkpoints/epoch-NNNN/   weights, optimizer state, meta.json with hashes
//!     ├── model/                retrain: the final model (trials/0000 holds its training)
//!     └── results.json          retrain / evaluate: the metrics
//! ```

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
    pub fn trials(&self, job_id: &str) -> PathBuf {
        self.job(job_id).join("trials")
    }
    pub fn trial(&self, job_id: &str, trial: usize) -> PathBuf {
        self.trials(job_id).join(format!("{trial:04}"))
    }
    pub fn checkpoint(&self, job_id: &str, trial: usize, epoch: u32) -> PathBuf {
        crate::train::files::checkpoints(&self.trial(job_id, trial))
            .join(crate::train::checkpoint::folder_name(epoch))
    }
    pub fn model(&self, retrain_job: &str) -> PathBuf {
        crate::train::files::model(&self.trial(retrain_job, 0))
    }
    pub fn results(&self, job_id: &str) -> PathBuf {
        self.job(job_id).join("results.json")
    }
}
