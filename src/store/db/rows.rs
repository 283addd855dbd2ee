//! The rows of the search's tables as readers get them (`search` fills them).

use serde::Serialize;

use crate::vocab::{ItemState, TrialRowState, WorkItem};

#[derive(Debug, Clone, Serialize)]
pub struct ItemRow {
    pub item: WorkItem,
    pub index: usize,
    pub state: ItemState,
    pub value: Option<f64>,
    pub attempts: u32,
    pub best_epoch: Option<u32>,
    pub stopped: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrialRow {
    pub trial: usize,
    pub config: serde_json::Value,
    pub config_hash: String,
    pub state: TrialRowState,
    pub epochs: u32,
    pub value: Option<f64>,
    pub metrics: serde_json::Value,
    pub reason: Option<String>,
    pub seconds: f64,
    /// Under early stopping: the epoch `value` and `metrics` come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<u32>,
    /// Early stopping ended the trial before the epochs it was given.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}
