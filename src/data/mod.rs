//! Data: the sources a workflow names (builtin, idx, csv), loaded into one in-memory
//! `Dataset`, and the split of its rows into train / val / sealed test.

pub mod dataset;
pub mod split;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use dataset::{Dataset, Manifest, Normalisation, Target, Task};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Builtin,
    Idx,
    Csv,
}

/// The workflow's `data:` section, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    pub source: Source,
    /// idx: a folder; csv: a file. Relative paths are relative to the workflow file.
    pub path: Option<PathBuf>,
    /// builtin: the dataset's name (`digits`).
    pub name: Option<String>,
    pub task: Task,
    /// csv: the label column.
    pub label: Option<String>,
    /// csv: the feature columns (default: every column but the label and the group).
    pub features: Option<Vec<String>>,
}

/// Load the dataset a workflow names. `base_dir` resolves relative paths; `group` names a
/// CSV column whose values keep rows together in the split.
pub fn load(spec: &DataSpec, base_dir: &std::path::Path, group: Option<&str>) -> crate::Result<Dataset> {
    let _ = (spec, base_dir, group);
    Err(crate::Error::internal("data loading is not built yet"))
}

/// PLACEHOLDER until the data branch lands.
pub fn content_hash(spec: &DataSpec, base_dir: &std::path::Path) -> crate::Result<String> {
    let _ = (spec, base_dir);
    Ok(String::new())
}
