//! What each stage kind leaves behind: one typed struct per kind, each with a `version`, and
//! the one function that writes an output file ([`write`]) and the one that reads it back
//! ([`read`], which refuses a version it does not know). The same structs are the job's
//! outputs in the database ([`Outputs`]), which `status`, `export`, `gc`, the report and the
//! MLflow upload read.
//!
//! Adding a field: add it to the struct here (with `#[serde(default)]`, so that outputs
//! written before it still read), set it where the stage makes the struct, and read it where
//! it is shown. A change that old outputs cannot be read as is bumps [`VERSION`].
//!
//! Outputs written before versions had none: they read as version 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::search::{Budget, Config};
use crate::store::Layout;

/// The version of the outputs this hpflow writes, and the only one it reads.
pub const VERSION: u32 = 1;

fn first_version() -> u32 {
    1
}

/// Metric values by name. A value JSON cannot hold (NaN, an infinity, a function's unknown
/// regret) is written as `null` and read back as NaN.
pub type Metrics = BTreeMap<String, f64>;

fn nan_for_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A metric value as read: `null` is NaN.
#[derive(Deserialize)]
struct Read(#[serde(deserialize_with = "nan_for_null")] f64);

fn metrics(m: BTreeMap<String, Read>) -> Metrics {
    m.into_iter().map(|(k, v)| (k, v.0)).collect()
}

fn metrics_nan_for_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Metrics, D::Error> {
    Ok(metrics(Option::deserialize(d)?.unwrap_or_default()))
}

fn some_metrics_nan_for_null<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Metrics>, D::Error> {
    Ok(Option::<BTreeMap<String, Read>>::deserialize(d)?.map(metrics))
}

fn seeds_nan_for_null<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<Metrics>>, D::Error> {
    Ok(Option::<Vec<BTreeMap<String, Read>>>::deserialize(d)?
        .map(|v| v.into_iter().map(metrics).collect()))
}

/// A metric value for people: 4 decimals, or `-` for one JSON holds as null.
pub fn shown(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "-".into()
    }
}

/// The split's outputs (the job's record): row counts and the data checks' warnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitOutput {
    #[serde(default = "first_version")]
    pub version: u32,
    pub rows: usize,
    pub train: usize,
    pub val: usize,
    pub test: usize,
    #[serde(default)]
    pub removed_duplicates: usize,
    /// The findings not accepted, one line each (what the run summary and `status` show).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// `split.json`: what the split did. The audit reads `checks` and `source`; the rest
/// (`data::split::record`: sizes, label counts, duplicates, seed) is for people and kept as
/// the split described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRecord {
    #[serde(default = "first_version")]
    pub version: u32,
    /// The data checks' findings, accepted ones included.
    #[serde(default)]
    pub checks: Vec<crate::data::checks::Finding>,
    /// Classes in no training row, with their val and test counts.
    #[serde(default)]
    pub classes_not_in_train: Vec<UnseenClass>,
    /// The data source, resolved (the audit tells a trial handed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(flatten)]
    pub described: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnseenClass {
    pub class: String,
    pub val: usize,
    pub test: usize,
}

/// `best.json` and the search's outputs: the selected configuration and how the search went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchOutput {
    #[serde(default = "first_version")]
    pub version: u32,
    pub trial: usize,
    pub config: Config,
    /// The epochs its value was measured at (under early stopping the best one): what
    /// retrain trains.
    pub epochs: u32,
    pub metric: String,
    /// The selected trial's value, in the metric's own direction.
    #[serde(deserialize_with = "nan_for_null")]
    pub value: f64,
    /// Trials that reported a result.
    #[serde(default)]
    pub trials: usize,
    #[serde(default)]
    pub epochs_trained: u64,
    #[serde(default)]
    pub failed: usize,
    /// k-fold: the fold models behind each value (0 without folds).
    #[serde(default)]
    pub folds: usize,
    /// The most common failure and a trial that shows it.
    #[serde(default)]
    pub failure: Option<Failure>,
    /// The budget the selection was made under: another one runs the search on. (None in
    /// outputs from before sweeps grew.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Under early stopping: the winner's best epoch and the epochs it trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<WinnerStop>,
    /// Epochs command programs trained again after starting over (counted in
    /// `epochs_trained`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs_repeated: Option<u64>,
    /// Under early stopping: how many trials it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub reason: String,
    pub trial: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinnerStop {
    pub best_epoch: u32,
    pub trained: u32,
    #[serde(default)]
    pub stopped: bool,
}

/// The retrain's `results.json` and outputs: the model trained from the selected trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainOutput {
    #[serde(default = "first_version")]
    pub version: u32,
    pub from_search: String,
    pub from_trial: usize,
    pub config: Config,
    /// `train` or `train+val`.
    pub on: crate::vocab::RetrainOn,
    pub epochs: u32,
    #[serde(deserialize_with = "metrics_nan_for_null")]
    pub metrics: Metrics,
    #[serde(default)]
    pub seconds: f64,
    /// One per seed (trial folder): the models evaluate measures. Empty in a retrain from
    /// before seeds, which has its trial 0 only.
    #[serde(default)]
    pub models: Vec<RetrainedModel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainedModel {
    pub trial: usize,
    pub epochs: u32,
    #[serde(deserialize_with = "metrics_nan_for_null")]
    pub metrics: Metrics,
}

/// The evaluate's `results.json` and outputs: the test metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluateOutput {
    #[serde(default = "first_version")]
    pub version: u32,
    /// The retrain job whose model(s) were measured.
    pub model_from: String,
    /// The test metrics (their mean over seeds with several).
    #[serde(deserialize_with = "metrics_nan_for_null")]
    pub metrics: Metrics,
    /// With several seeds: each metric's standard deviation over them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_metrics_nan_for_null"
    )]
    pub std: Option<Metrics>,
    /// With several seeds: each model's metrics.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "seeds_nan_for_null"
    )]
    pub seeds: Option<Vec<Metrics>>,
}

/// An output file: its struct, and where it lies for a job.
pub trait OutputFile: Serialize + DeserializeOwned {
    fn path(layout: &Layout, job: &str) -> PathBuf;
}

impl OutputFile for SplitRecord {
    fn path(layout: &Layout, job: &str) -> PathBuf {
        layout.split_record(job)
    }
}
impl OutputFile for SearchOutput {
    fn path(layout: &Layout, job: &str) -> PathBuf {
        layout.best(job)
    }
}
impl OutputFile for RetrainOutput {
    fn path(layout: &Layout, job: &str) -> PathBuf {
        layout.results(job)
    }
}
impl OutputFile for EvaluateOutput {
    fn path(layout: &Layout, job: &str) -> PathBuf {
        layout.results(job)
    }
}

/// Write job `job`'s output file (atomically: whole or not at all).
pub fn write<T: OutputFile>(layout: &Layout, job: &str, output: &T) -> Result<()> {
    crate::store::atomic::write_json(&T::path(layout, job), output)
}

/// Read job `job`'s output file back; one of an unknown version is refused, naming the file.
pub fn read<T: OutputFile>(layout: &Layout, job: &str) -> Result<T> {
    let path = T::path(layout, job);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
    parse(value, &path)
}

/// An output from its JSON (a file's, or a job's record in the database, named by `whence`).
pub fn parse<T: DeserializeOwned>(value: Value, whence: &Path) -> Result<T> {
    let version = match value.get("version") {
        None => 1,
        Some(v) => v.as_u64().unwrap_or(0),
    };
    if version != u64::from(VERSION) {
        return Err(Error::Usage(format!(
            "{}: outputs of version {}, but this hpflow reads version {VERSION} only \
             (written by another hpflow? run it with that one, or remove the job's folder to \
             run the job again)",
            whence.display(),
            value.get("version").map_or("?".into(), Value::to_string)
        )));
    }
    serde_json::from_value(value).map_err(|e| Error::internal(format!("{}: {e}", whence.display())))
}

/// A job's outputs as its kind types them: what a stage returns, the database records and
/// `hpflow run --json` shows (each as its own JSON object).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outputs {
    Split(SplitOutput),
    Search(SearchOutput),
    Retrain(RetrainOutput),
    Evaluate(EvaluateOutput),
}

impl Outputs {
    /// The outputs of a job of `kind` from their JSON (`whence` names where they come from);
    /// `None` for a job without any (not done) or of an unknown kind.
    pub fn of(kind: &str, value: &Value, whence: &Path) -> Result<Option<Outputs>> {
        if value.is_null() {
            return Ok(None);
        }
        let v = value.clone();
        Ok(Some(match kind {
            "split" => Outputs::Split(parse(v, whence)?),
            "search" => Outputs::Search(parse(v, whence)?),
            "retrain" => Outputs::Retrain(parse(v, whence)?),
            "evaluate" => Outputs::Evaluate(parse(v, whence)?),
            _ => return Ok(None),
        }))
    }

    /// A job's outputs as the database recorded them.
    pub fn of_row(
        db: &crate::store::Db,
        row: &crate::store::db::JobRow,
    ) -> Result<Option<Outputs>> {
        let whence = PathBuf::from(format!("{} (job {})", db.path().display(), row.id));
        Outputs::of(&row.kind, &row.outputs, &whence)
    }

    pub fn search(&self) -> Option<&SearchOutput> {
        match self {
            Outputs::Search(s) => Some(s),
            _ => None,
        }
    }

    pub fn into_search(self) -> Option<SearchOutput> {
        match self {
            Outputs::Search(s) => Some(s),
            _ => None,
        }
    }

    pub fn retrain(&self) -> Option<&RetrainOutput> {
        match self {
            Outputs::Retrain(r) => Some(r),
            _ => None,
        }
    }

    pub fn evaluate(&self) -> Option<&EvaluateOutput> {
        match self {
            Outputs::Evaluate(e) => Some(e),
            _ => None,
        }
    }

    pub fn split(&self) -> Option<&SplitOutput> {
        match self {
            Outputs::Split(s) => Some(s),
            _ => None,
        }
    }

    /// The data checks' warnings (a split's; none for the other kinds).
    pub fn warnings(&self) -> &[String] {
        self.split().map_or(&[], |s| &s.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search() -> SearchOutput {
        SearchOutput {
            version: VERSION,
            trial: 3,
            config: [("lr".to_string(), serde_json::json!(0.01))].into(),
            epochs: 4,
            metric: "val_accuracy".into(),
            value: 0.9,
            trials: 8,
            epochs_trained: 32,
            failed: 1,
            folds: 0,
            failure: Some(Failure {
                reason: "boom".into(),
                trial: 5,
            }),
            budget: Some(Budget {
                trials: Some(8),
                ..Budget::default()
            }),
            early_stopping: Some(WinnerStop {
                best_epoch: 4,
                trained: 6,
                stopped: true,
            }),
            epochs_repeated: None,
            stopped_early: Some(2),
        }
    }

    #[test]
    fn an_output_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let best = search();
        write(&layout, "0123456789abcdef", &best).unwrap();
        assert_eq!(
            read::<SearchOutput>(&layout, "0123456789abcdef").unwrap(),
            best
        );
        let eval = EvaluateOutput {
            version: VERSION,
            model_from: "r".into(),
            metrics: [
                ("test_accuracy".to_string(), 0.5),
                ("regret".into(), f64::NAN),
            ]
            .into(),
            std: None,
            seeds: None,
        };
        write(&layout, "e", &eval).unwrap();
        let back: EvaluateOutput = read(&layout, "e").unwrap();
        assert_eq!(back.metrics["test_accuracy"], 0.5);
        assert!(back.metrics["regret"].is_nan(), "null reads as NaN");
    }

    #[test]
    fn an_unknown_version_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let mut best = serde_json::to_value(search()).unwrap();
        best["version"] = serde_json::json!(VERSION + 1);
        crate::store::atomic::write_json(&layout.best("j"), &best).unwrap();
        let e = read::<SearchOutput>(&layout, "j").unwrap_err().to_string();
        assert!(e.contains("best.json") && e.contains("version 2"), "{e}");
    }

    #[test]
    fn outputs_from_before_versions_read_as_version_1() {
        // A best.json as the previous hpflow wrote it: no version, no budget.
        let old = serde_json::json!({
            "trial": 0, "config": {"x": 1}, "epochs": 2, "metric": "val_loss",
            "value": 0.25, "trials": 4, "epochs_trained": 8, "failed": 0, "folds": 0,
            "failure": null,
        });
        let s: SearchOutput = parse(old, Path::new("best.json")).unwrap();
        assert_eq!((s.version, s.trial, s.budget), (1, 0, None));
    }
}
