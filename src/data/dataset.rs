//! The in-memory dataset every source loads into, and the split manifests that index it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::split::{Cell, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Classification,
    Regression,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Class indices `0..classes`.
    Classes(Vec<i64>),
    Values(Vec<f32>),
}

/// Rows of features with their targets. Features are row-major `n × features()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub x: Vec<f32>,
    pub n: usize,
    /// The shape of one row: `[channels, height, width]` for images, `[features]` otherwise.
    pub shape: Vec<usize>,
    pub y: Target,
    /// Number of classes (0 for regression).
    pub classes: usize,
    /// The name of each class index `0..classes` (the label as written in the source; empty
    /// for regression), so reports can say `cat` rather than `3`.
    pub class_names: Vec<String>,
    pub task: Task,
    /// Feature names (columns of a CSV; empty for images).
    pub feature_names: Vec<String>,
    /// The group of each row (`group:` column of a CSV), if any.
    pub groups: Option<Vec<String>>,
    /// Rows from this index on came from a separate official test file (IDX `t10k-*`).
    pub official_test_from: Option<usize>,
    /// Every column of a CSV as read (selected or not), for row identity; `None` for
    /// sources whose rows are their features and label (images, rows files).
    pub source: Option<SourceTable>,
}

/// The source records of a CSV: the column names sorted, and each row's cells in that order
/// (row-major, `names.len()` per row).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceTable {
    pub names: Vec<String>,
    pub cells: Vec<Cell>,
}

impl Dataset {
    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.features();
        &self.x[i * d..(i + 1) * d]
    }

    /// Row `i` as read from its source, for its identity (`split::row_identity`): every
    /// column of a CSV, or the features and the label's name.
    pub fn record(&self, i: usize) -> Record<'_> {
        match &self.source {
            Some(t) => {
                let w = t.names.len();
                Record {
                    names: &t.names,
                    cells: Cow::Borrowed(&t.cells[i * w..(i + 1) * w]),
                }
            }
            None => Record {
                names: &[],
                cells: Cow::Owned(super::split::record_of_features(self, i)),
            },
        }
    }

    /// The class index of row `i` (`None` for regression).
    pub fn class_of(&self, i: usize) -> Option<usize> {
        match &self.y {
            // Loaders only ever store indices in `0..classes`, so the cast cannot wrap.
            Target::Classes(c) => Some(c[i] as usize),
            Target::Values(_) => None,
        }
    }

    /// A new dataset holding `rows` in the order given. The official-test marker does not
    /// survive: a selection is one split, not the loaded file pair.
    pub fn select(&self, rows: &[u32]) -> Dataset {
        let d = self.features();
        let mut x = Vec::with_capacity(rows.len() * d);
        for &r in rows {
            x.extend_from_slice(self.row(r as usize));
        }
        let y = match &self.y {
            Target::Classes(c) => Target::Classes(rows.iter().map(|&r| c[r as usize]).collect()),
            Target::Values(v) => Target::Values(rows.iter().map(|&r| v[r as usize]).collect()),
        };
        let groups = self
            .groups
            .as_ref()
            .map(|g| rows.iter().map(|&r| g[r as usize].clone()).collect());
        let source = self.source.as_ref().map(|t| {
            let w = t.names.len();
            SourceTable {
                names: t.names.clone(),
                cells: rows
                    .iter()
                    .flat_map(|&r| {
                        t.cells[r as usize * w..(r as usize + 1) * w]
                            .iter()
                            .cloned()
                    })
                    .collect(),
            }
        });
        Dataset {
            x,
            n: rows.len(),
            shape: self.shape.clone(),
            y,
            classes: self.classes,
            class_names: self.class_names.clone(),
            task: self.task,
            feature_names: self.feature_names.clone(),
            groups,
            official_test_from: None,
            source,
        }
    }
}

/// Normalisation fitted on the training rows only: one mean/std per channel for images
/// (`shape.len() == 3`), one per feature otherwise. See `normalise.rs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// `manifest.json` of a split job: what search and retrain may see. The test rows are not
/// here; they live in the sealed file only an evaluate job opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub train: Vec<u32>,
    pub val: Vec<u32>,
    /// k-fold over train+val for search, when asked for.
    pub folds: Vec<Vec<u32>>,
    pub normalisation: Normalisation,
    /// sha256 of the test rows' indices and content (the sealed file holds the rows).
    pub test_hash: String,
    pub test_count: usize,
    /// The sha256 of every rows file the split wrote (`rows/train.safetensors`, ...,
    /// `sealed/test.safetensors`: paths relative to the split's folder), which each reader
    /// checks before it reads a row (`rows_file::read_checked`) and the audit recomputes.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, String>,
}

impl Manifest {
    /// Is `bytes`, read from `path`, the file the split wrote? `manifest_path` locates the
    /// split's folder, which the recorded paths are relative to.
    pub fn check_file(
        &self,
        manifest_path: &std::path::Path,
        path: &std::path::Path,
        bytes: &[u8],
    ) -> Result<(), String> {
        let key = manifest_path
            .parent()
            .and_then(|dir| path.strip_prefix(dir).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let Some(want) = self.files.get(&key) else {
            return Err(format!(
                "{}: {} records no hash of this file, so it cannot be checked (a split made by an \
                 older hpflow: run it again)",
                path.display(),
                manifest_path.display()
            ));
        };
        let got = super::rows_file::sha256(bytes);
        if got != *want {
            return Err(format!(
                "{} changed after the split wrote it (sha256 {}… recorded in {}, {}… now): \
                 refusing to read it. Restore the file, or run the split again",
                path.display(),
                &want[..want.len().min(12)],
                manifest_path.display(),
                &got[..12]
            ));
        }
        Ok(())
    }
}
