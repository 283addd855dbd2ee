//! The workflow: a YAML file of stages, read into a raw form (`raw`), then validated into a
//! `Workflow` with defaults filled in (`validate`). Every error names the file, the line and
//! the field, and is found before anything is written.

pub mod command;
pub mod data_check;
pub mod executor;
pub mod hparams;
pub mod raw;
pub mod search;
pub mod validate;
pub mod yaml;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::DataSpec;
use crate::error::{Error, Result};
use crate::search::{Budget, Config, Space, Strategy};
use crate::train::TrainerSpec;

pub use raw::Goal;

#[derive(Debug, Clone, Serialize)]
pub struct Workflow {
    /// The file it was read from, and the folder relative data paths are resolved against.
    pub file: PathBuf,
    pub base_dir: PathBuf,
    pub name: String,
    pub seed: u64,
    pub device: String,
    pub data: Option<DataSpec>,
    /// Where trials run; no part of any job key.
    #[serde(skip)]
    pub executor: executor::Executor,
    /// In an order where every stage comes after the stages it needs.
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    pub needs: Vec<String>,
    pub spec: StageSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StageSpec {
    Split(crate::data::split::SplitOptions),
    Search(SearchSpec),
    Retrain(RetrainSpec),
    Evaluate(EvaluateSpec),
}

impl StageSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            StageSpec::Split(_) => "split",
            StageSpec::Search(_) => "search",
            StageSpec::Retrain(_) => "retrain",
            StageSpec::Evaluate(_) => "evaluate",
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Metric {
    pub name: String,
    pub goal: Goal,
}

impl Metric {
    /// The objective schedulers minimise.
    pub fn objective(&self, value: f64) -> f64 {
        match self.goal {
            Goal::Minimize => value,
            Goal::Maximize => -value,
        }
    }

    /// The metric's value (what users read) from a recorded objective.
    pub fn value(&self, objective: f64) -> f64 {
        self.objective(objective)
    }

    /// A search job's metric, from its recorded key.
    pub fn of_job_key(key: &serde_json::Value) -> Option<Metric> {
        serde_json::from_value(key["config"]["metric"].clone()).ok()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchSpec {
    pub trainer: TrainerSpec,
    /// Fixed hyperparameters (not searched).
    pub params: Config,
    pub space: Space,
    /// The space comes from this upstream search's best trials (then `space` is the
    /// upstream's). Left out of the key when absent, so that earlier searches keep their ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrow: Option<crate::search::narrow::Narrow>,
    /// With every default applied (the job key hashes this, and the search runs it).
    pub strategy: Strategy,
    pub metric: Metric,
    /// Left out of the key when absent, so that earlier searches keep their ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<crate::train::early::EarlyStopping>,
    pub budget: Budget,
    /// The epochs a trial trains by default (`params.epochs`, else `max_epochs`, else 10).
    pub epochs: u32,
    /// Execution settings: they change speed, never decisions, so they stay out of the job key.
    #[serde(skip)]
    pub workers: usize,
    pub threads: usize,
    #[serde(skip)]
    pub trials_per_device: usize,
    #[serde(skip)]
    pub retries: u32,
    #[serde(skip)]
    pub disk_limit_mb: Option<u64>,
    /// The largest fraction of failed trials with which later stages may use the result.
    /// Not in the key: it decides whether the result is used, not what it is.
    #[serde(skip)]
    pub max_failed: f64,
    /// Promoted trials start again from scratch instead of continuing (benchmarks only).
    #[serde(skip)]
    pub restart_promotions: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetrainSpec {
    /// Models trained from the selected configuration, each with its own seed. Left out of
    /// the key when 1, so that earlier retrains keep their ids.
    #[serde(skip_serializing_if = "one")]
    pub seeds: u32,
    pub on: crate::vocab::RetrainOn,
    /// `None`: the epochs the winning trial's value was measured at (its best epoch under
    /// early stopping).
    pub epochs: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvaluateSpec {
    pub metrics: Vec<String>,
    /// `metrics:` was written in the workflow (not filled in by default): a `command`
    /// program must then print every one. Not part of the job's key.
    #[serde(skip)]
    pub listed: bool,
}

impl Workflow {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The nearest upstream stage of a kind (a search's split, a retrain's search, ...).
    pub fn upstream(&self, stage: &Stage, kind: &str) -> Option<&Stage> {
        let mut todo: Vec<&str> = stage.needs.iter().map(String::as_str).collect();
        while let Some(name) = todo.pop() {
            let s = self.stage(name)?;
            if s.spec.kind() == kind {
                return Some(s);
            }
            todo.extend(s.needs.iter().map(String::as_str));
        }
        None
    }
}

/// Read and validate a workflow file.
pub fn load(path: &Path) -> Result<Workflow> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    validate::from_text(path, &text)
}

fn one(n: &u32) -> bool {
    *n == 1
}
