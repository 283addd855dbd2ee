//! PLACEHOLDER until the data branch lands: the split stage's options.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitOptions {
    pub train: Option<f64>,
    pub val: Option<f64>,
    pub test: Option<serde_json::Value>,
    pub stratify: Option<bool>,
    pub group: Option<String>,
    pub folds: Option<usize>,
    #[serde(default)]
    pub dedupe: bool,
}

impl SplitOptions {
    pub fn check(&self, _field: &str) -> Result<(), crate::error::FieldError> {
        Ok(())
    }
}

pub struct SplitOutcome {
    pub manifest: crate::data::Manifest,
    pub test_rows: Vec<u32>,
    pub duplicates: Vec<(u32, u32)>,
    pub removed_duplicates: usize,
    pub record: serde_json::Value,
}

pub fn split(_: &crate::data::Dataset, _: &SplitOptions, _: u64) -> crate::Result<SplitOutcome> {
    Err(crate::Error::internal("not yet"))
}
