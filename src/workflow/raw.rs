//! The workflow file as written: serde types that mirror the YAML, unknown keys refused.
//! `validate` turns this into a `Workflow` with defaults filled in and every value checked.

use serde::Deserialize;

use crate::data::{Source, Task};
use crate::search::RawStrategy;
use crate::search::space::RawParam;
use crate::workflow::yaml::Ordered;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkflow {
    pub name: String,
    pub seed: Option<u64>,
    pub device: Option<String>,
    pub data: Option<RawData>,
    /// `local`, `slurm`, or a mapping with `kind` and Slurm settings (`executor::parse`).
    pub executor: Option<serde_yaml::Value>,
    /// Each stage is checked on its own (`RawStage`), so errors can name the stage.
    pub stages: Ordered<serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    pub source: Source,
    pub path: Option<String>,
    pub name: Option<String>,
    pub task: Option<Task>,
    pub label: Option<String>,
    pub features: Option<Vec<String>>,
}

/// A stage, told apart by its `kind` key (read first, see `validate::parse_stage`).
#[derive(Debug)]
pub enum RawStage {
    Split(crate::data::split::SplitOptions),
    Search(RawSearch),
    Retrain(RawRetrain),
    Evaluate(RawEvaluate),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    #[serde(default, deserialize_with = "stage_names")]
    pub needs: Option<Vec<String>>,
    pub model: String,
    /// `model: function`: branin | hartmann6 | rosenbrock | levy.
    pub function: Option<String>,
    /// `model: command`: the program and its arguments.
    pub command: Option<Vec<String>>,
    pub params: Option<Ordered<serde_json::Value>>,
    pub space: Option<Ordered<RawParam>>,
    pub strategy: RawStrategy,
    pub metric: Option<RawMetric>,
    pub budget: Option<RawBudget>,
    pub workers: Option<usize>,
    /// libtorch threads per trial (fixed, so that numbers do not depend on `workers`).
    pub threads: Option<usize>,
    /// Trials sharing one GPU.
    pub trials_per_device: Option<usize>,
    /// Attempts of a trial whose worker crashed before it is marked failed.
    pub retries: Option<u32>,
    /// Keep checkpoints within this many megabytes (oldest unneeded ones go first).
    pub disk_limit_mb: Option<u64>,
    /// The largest fraction of trials that may fail before the stages after the search are
    /// refused (default 0.5).
    pub max_failed: Option<f64>,
    /// Take the space from an upstream search's best trials (wide, then narrow).
    pub narrow: Option<RawNarrow>,
    /// `continue` (default): a promoted trial continues from its checkpoint; `restart`: it
    /// trains again from scratch (only to measure what continuation saves).
    pub promotion: Option<String>,
    /// Stop a trial whose metric has not improved for `patience` epochs.
    pub early_stopping: Option<RawEarlyStopping>,
}

/// `budget:` as written (`search::Budget` once checked).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub trials: Option<usize>,
    pub epochs: Option<u64>,
    /// `30m`, `2h`, `90s`, `1h30m`.
    pub time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEarlyStopping {
    /// Default: the search's metric.
    pub metric: Option<String>,
    /// Default: the search's goal for its metric, else falling for losses and errors.
    pub goal: Option<Goal>,
    pub patience: u32,
    pub min_delta: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetric {
    pub name: String,
    pub goal: Goal,
}

pub use crate::vocab::Goal;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetrain {
    #[serde(default, deserialize_with = "stage_names")]
    pub needs: Option<Vec<String>>,
    /// `train` or `train+val` (read as text, so that another value gets validation's error).
    pub on: Option<String>,
    /// `best` (the epochs the winning trial's value was measured at: its best epoch under
    /// early stopping) or a number.
    pub epochs: Option<serde_json::Value>,
    /// Retrain the selected configuration with this many seeds (each model evaluated once).
    pub seeds: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvaluate {
    #[serde(default, deserialize_with = "stage_names")]
    pub needs: Option<Vec<String>>,
    pub metrics: Option<Vec<String>>,
}

/// `needs: split` or `needs: [split, search]`: one stage name or a list of them.
fn stage_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    struct Names;
    impl<'de> serde::de::Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a stage name or a list of them, e.g. [split]")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(name) = seq.next_element::<String>()? {
                out.push(name);
            }
            Ok(out)
        }
    }
    d.deserialize_any(Names).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNarrow {
    pub from: String,
    pub top: Option<f64>,
    pub seed_best: Option<usize>,
}
