//! Data: the sources a workflow names (builtin, idx, csv), loaded into one in-memory
//! `Dataset`, and the split of its rows into train / val / sealed test.

pub mod builtin;
pub mod checks;
pub mod csv;
mod csv_reader;
pub mod dataset;
pub mod idx;
mod normalise;
pub mod par;
pub mod probe;
pub mod relabel;
pub mod rows_file;
pub mod split;
#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use dataset::{Dataset, Manifest, Normalisation, SourceTable, Target, Task};
pub use split::{Duplicate, SplitOptions, SplitOutcome, split};

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
/// CSV column whose values keep rows together in the split (the split stage's `group:`).
pub fn load(spec: &DataSpec, base_dir: &Path, group: Option<&str>) -> crate::Result<Dataset> {
    if group.is_some() && spec.source != Source::Csv {
        return Err(crate::Error::Usage(format!(
            "group: needs csv data with that column; {} data has no columns",
            source_name(spec.source)
        )));
    }
    match spec.source {
        Source::Builtin => builtin::load(builtin_name(spec)?, spec.task),
        Source::Idx => idx::load(&resolve(spec, base_dir)?, spec.task),
        Source::Csv => csv::load(&resolve(spec, base_dir)?, spec, group),
    }
}

/// sha256 (hex) over the bytes the data comes from: the embedded file for a builtin, the IDX
/// or CSV files otherwise (each with its name and length, sorted by name). The compressed
/// bytes are hashed, never decoded ones, so hashing Fashion-MNIST costs one read of 30 MB.
/// Only the bytes go in: the rest of `DataSpec` is part of the job's config already.
pub fn content_hash(spec: &DataSpec, base_dir: &Path) -> crate::Result<String> {
    let mut h = Sha256::new();
    h.update(b"hpflow-data-v1\0");
    h.update(source_name(spec.source).as_bytes());
    h.update(b"\0");
    match spec.source {
        Source::Builtin => {
            let name = builtin_name(spec)?;
            let bytes = builtin::bytes(name)?;
            hash_named(&mut h, name, bytes.len() as u64);
            h.update(bytes);
        }
        Source::Idx => {
            let files = idx::find(&resolve(spec, base_dir)?)?;
            for f in files.all() {
                hash_file(&mut h, f)?;
            }
        }
        Source::Csv => hash_file(&mut h, &resolve(spec, base_dir)?)?,
    }
    Ok(hex::encode(h.finalize()))
}

fn hash_named(h: &mut Sha256, name: &str, len: u64) {
    h.update(name.as_bytes());
    h.update(b"\0");
    h.update(len.to_le_bytes());
}

fn hash_file(h: &mut Sha256, path: &Path) -> crate::Result<()> {
    let io = |e| crate::Error::io(path, e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    hash_named(h, &name, len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = f.read(&mut buf).map_err(io)?;
        if k == 0 {
            return Ok(());
        }
        h.update(&buf[..k]);
    }
}

fn builtin_name(spec: &DataSpec) -> crate::Result<&str> {
    spec.name.as_deref().ok_or_else(|| {
        crate::Error::Usage(format!(
            "data.name: builtin data needs `name:`; known: {}",
            builtin::KNOWN.join(", ")
        ))
    })
}

/// `data.path`, relative to the workflow's folder unless absolute.
pub fn resolve(spec: &DataSpec, base_dir: &Path) -> crate::Result<PathBuf> {
    let what = if spec.source == Source::Idx {
        "a folder"
    } else {
        "a file"
    };
    let path = spec.path.as_ref().ok_or_else(|| {
        crate::Error::Usage(format!(
            "data.path: {} data needs `path:` ({what})",
            source_name(spec.source)
        ))
    })?;
    Ok(if path.is_absolute() {
        path.clone()
    } else {
        base_dir.join(path)
    })
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Builtin => "builtin",
        Source::Idx => "idx",
        Source::Csv => "csv",
    }
}
