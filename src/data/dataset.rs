//! The in-memory dataset every source loads into, and the split manifests that index it.

use serde::{Deserialize, Serialize};

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
}

impl Dataset {
    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.features();
        &self.x[i * d..(i + 1) * d]
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
}
