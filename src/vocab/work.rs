//! What a search hands a worker and what comes back: the work items a scheduler decides and
//! the results the coordinator records (the store keeps both, the search reads them).

use serde::{Deserialize, Serialize};

use crate::vocab::Config;

/// Train `trial` (configuration `config`) until `epochs`; continue it from its own latest
/// checkpoint, or, for PBT, from `clone_from`'s checkpoint at the given epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    pub trial: usize,
    pub config: Config,
    pub epochs: u32,
    pub clone_from: Option<(usize, u32)>,
    /// Why this item exists: "new (random)", "promoted to rung 2: rank 1 of 9", ...
    pub reason: String,
    /// A synchronous scheduler's wave this item belongs to (`None` for other schedulers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<Wave>,
}

/// Item `place` (from 1) of a wave of `len` items, as a synchronous scheduler planned it
/// (`search::scheduler::waves`): later decisions are read from it, so it is stored as numbers,
/// not only in the reason's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    pub place: u32,
    pub len: u32,
}

impl Wave {
    /// The trailing `[c/L]` a reason shows the wave as (see `Display`). Items recorded before
    /// schema 9 carry their wave only there.
    pub fn in_reason(reason: &str) -> Option<Wave> {
        let inner = reason.strip_suffix(']')?.rsplit_once('[')?.1;
        let (c, l) = inner.split_once('/')?;
        Some(Wave {
            place: c.trim().parse().ok()?,
            len: l.trim().parse().ok()?,
        })
    }
}

impl std::fmt::Display for Wave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}/{}]", self.place, self.len)
    }
}

/// The outcome of one work item, as the coordinator recorded it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    pub item: usize,
    pub trial: usize,
    /// Epochs the trial has trained when this item ended.
    pub epochs: u32,
    /// The objective at `epochs` (minimised), or at `best_epoch` under early stopping;
    /// `None` when the trial failed.
    pub value: Option<f64>,
    /// The objective after each epoch of the trial so far (index 0 = epoch 1).
    pub curve: Vec<Option<f64>>,
    /// Under early stopping: the epoch `value` was measured at.
    #[serde(default)]
    pub best_epoch: Option<u32>,
    /// Early stopping ended the trial before the item's epochs: it stands at its best value
    /// for the rung it was in and is never promoted.
    #[serde(default)]
    pub stopped: bool,
}

impl ItemResult {
    /// The epochs a retrain of this trial should train: those its value was measured at.
    pub fn measured_at(&self) -> u32 {
        self.best_epoch.unwrap_or(self.epochs)
    }
}
