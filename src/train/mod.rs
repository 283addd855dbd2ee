//! Training trials: the request/answer protocol between coordinator and workers, the worker
//! loop, the trainers that need no libtorch (`function`, `command`), checkpoints and metrics.
//! The libtorch trainer lives in `src/torch/` (the `hpflow-worker` binary).

pub mod checkpoint;
pub mod command;
pub mod command_data;
pub mod early;
pub mod function;
pub mod metric_line;
pub mod metrics;
pub mod protocol;
pub mod queue_worker;
pub mod sandbox;
pub mod schedule;
pub mod schema;
pub mod worker;

pub use protocol::{EpochMetrics, Mode, TrainRequest, TrainerSpec, TrialState, TrialStatus};

/// One way of training a trial. `run` trains `req.trial` until `req.epochs`, continuing from
/// the trial's latest valid checkpoint (or `req.clone_from`), appends a `metrics.jsonl` line and
/// writes a checkpoint after every epoch, and returns the final status. A failure of the trial
/// itself (divergence, an infeasible configuration, a crash of the program) is a status, not
/// an `Err`; `Err` is for the worker's own trouble.
pub trait Trainer {
    fn run(&mut self, req: &TrainRequest) -> Result<TrialStatus, String>;
}

/// The seed of one trial: the same workflow seed and trial always give the same seed.
pub fn trial_seed(workflow_seed: u64, job: &str, trial: usize) -> u64 {
    let mut rng = crate::search::rng_for(workflow_seed, job, trial as u64);
    rand::RngCore::next_u64(&mut rng)
}

/// Paths inside a trial folder: `store::layout::TrialDir` names them all.
pub use crate::store::layout::TrialDir;

/// A trial folder's `status.json`, if there is a readable one.
pub fn read_status(trial_dir: &std::path::Path) -> Option<TrialStatus> {
    let text = std::fs::read_to_string(crate::train::TrialDir::of(&trial_dir).status()).ok()?;
    serde_json::from_str(&text).ok()
}

/// Rewrite `metrics.jsonl` to hold exactly `history` (after resuming from a checkpoint, lines
/// written after it are dropped so that the curve has each epoch once).
pub fn reset_metrics(
    trial_dir: &std::path::Path,
    history: &[EpochMetrics],
) -> crate::error::Result<()> {
    let mut text = String::new();
    for h in history {
        text.push_str(&serde_json::to_string(h).expect("metrics serialize"));
        text.push('\n');
    }
    let path = crate::train::TrialDir::of(&trial_dir).metrics();
    if text.is_empty() {
        // A fresh trial: the first epoch's append creates the file.
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(crate::error::Error::io(&path, e))
            }
            _ => Ok(()),
        };
    }
    crate::store::atomic::replace(&path, text.as_bytes())
}

/// Record one trained epoch: in `metrics.jsonl` (the curve, rewritten on resume) and in
/// `epochs.log` (append-only: every epoch ever trained, repeats after a crash included, so
/// the cost of interruptions can be counted).
pub fn append_metrics(trial_dir: &std::path::Path, m: &EpochMetrics) -> crate::error::Result<()> {
    let line = serde_json::to_string(m).expect("metrics serialize");
    crate::store::atomic::append_work(&crate::train::TrialDir::of(&trial_dir).metrics(), &line)?;
    crate::store::atomic::append_work(&crate::train::TrialDir::of(&trial_dir).epochs_log(), &line)
}
