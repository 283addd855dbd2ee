//! What the coordinator asks a worker to do, and what a trial leaves in its folder.
//!
//! Requests travel to a worker as one JSON line on its stdin. Results travel back as files in
//! the trial's own folder (`status.json`, `metrics.jsonl`, `checkpoints/`), written atomically;
//! the worker then prints `{"done": <request id>}` on stdout only as a wake-up call. The files
//! are the truth: a coordinator that restarts reads them again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::search::Config;

/// Which trainer runs the trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TrainerSpec {
    /// libtorch: `mlp | cnn | rnn | transformer` (served by `hpflow-worker` only).
    Torch { model: String },
    /// A test function with a known optimum; the epoch budget is its fidelity.
    Function { name: String },
    /// Any program; `{name}` in its arguments is replaced by the parameter's value.
    Command { argv: Vec<String> },
}

impl TrainerSpec {
    pub fn needs_torch(&self) -> bool {
        matches!(self, TrainerSpec::Torch { .. })
    }
}

/// Which rows a request trains on and measures on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    /// Train on `train`, measure on `val` after every epoch.
    Search,
    /// Train on `train` or `train+val` (no validation rows then) and keep the final model.
    Retrain { on: crate::vocab::RetrainOn },
    /// Load `model_dir`'s final model and measure once on the rows in `test` (the split's
    /// sealed file, which the evaluate stage logged opening).
    Evaluate {
        model_dir: PathBuf,
        test: PathBuf,
        metrics: Vec<String>,
    },
}

/// Where a trial's data comes from: the split job's files of train and val rows, and its
/// manifest (indices, normalisation statistics). The data source is not named here at all:
/// a worker has no way to reach it, nor the sealed test rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    /// The train and val rows (`data::rows_file`).
    pub train: PathBuf,
    pub val: PathBuf,
    /// `manifest.json` of the split job (train and val rows, normalisation statistics).
    pub manifest: PathBuf,
    pub task: crate::data::Task,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRequest {
    /// Unique per request within a coordinator's life; echoed in the `done` line.
    pub id: u64,
    pub trial: usize,
    pub trial_dir: PathBuf,
    pub trainer: TrainerSpec,
    pub mode: Mode,
    /// Every hyperparameter: the searched ones and the fixed `params`.
    pub config: Config,
    /// Train until this many epochs in total (continuing from the latest checkpoint).
    pub epochs: u32,
    /// The largest budget any trial of the search may get (the function trainer's fidelity).
    pub max_epochs: u32,
    /// Start from this checkpoint folder instead of the trial's own (PBT's exploit step).
    pub clone_from: Option<PathBuf>,
    /// The trial's own seed, derived from the workflow seed and the trial.
    pub seed: u64,
    pub device: String,
    /// libtorch intra-op threads, so that parallel trials do not oversubscribe the cores.
    pub threads: usize,
    pub data: Option<DataRef>,
    /// The metric the search optimises, e.g. `val_accuracy`.
    pub metric: String,
    /// The folder a `command` program runs in: the workflow's, so that it finds its files
    /// the way its author wrote them (its own trial folder is `HPFLOW_TRIAL_DIR`).
    #[serde(default)]
    pub workdir: Option<PathBuf>,
    /// Stop when the watched metric stops improving; report the best epoch's metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<crate::train::early::EarlyStopping>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    Running,
    Done,
    Failed,
    Diverged,
    Infeasible,
}

impl TrialState {
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Running => "running",
            TrialState::Done => "done",
            TrialState::Failed => "failed",
            TrialState::Diverged => "diverged",
            TrialState::Infeasible => "infeasible",
        }
    }
}

impl From<TrialState> for crate::vocab::TrialRowState {
    fn from(s: TrialState) -> Self {
        use crate::vocab::TrialRowState as Row;
        match s {
            TrialState::Running => Row::Running,
            TrialState::Done => Row::Done,
            TrialState::Failed => Row::Failed,
            TrialState::Diverged => Row::Diverged,
            TrialState::Infeasible => Row::Infeasible,
        }
    }
}

/// `status.json` in a trial folder, rewritten atomically after every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialStatus {
    /// The request this status answers.
    pub request: u64,
    pub state: TrialState,
    /// Epochs trained so far.
    pub epoch: u32,
    /// Metrics after the last epoch (validation metrics, or test metrics for evaluate).
    pub metrics: BTreeMap<String, f64>,
    pub reason: Option<String>,
    /// Seconds spent on this request.
    pub seconds: f64,
    /// Under early stopping: the best epoch (whose metrics `metrics` are) and whether the
    /// trial stopped before its epochs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early: Option<crate::train::early::EarlyEnd>,
}

/// One line of `metrics.jsonl`: the metrics after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: u32,
    #[serde(flatten)]
    pub values: BTreeMap<String, f64>,
}
