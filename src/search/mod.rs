//! The search: which configurations to try (strategies) and how much to train each
//! (schedulers). Everything here is pure and seeded: a decision is a function of the workflow,
//! the seed and the recorded results, so a resumed or replayed search decides the same.
//!
//! Objectives are always minimised here; the search stage negates maximised metrics.

pub mod narrow;
pub mod options;
pub mod scheduler;
pub mod space;
pub mod strategy;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use options::{Acquisition, Budget, StrategyKind, StrategyOptions};
pub use space::{Config, Space, Value};

/// A finished evaluation a strategy can learn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub trial: usize,
    pub config: Config,
    /// The budget (epochs, or fidelity) the value was measured at.
    pub epochs: u32,
    /// The objective to minimise; `None` when the trial failed, diverged or was infeasible.
    pub value: Option<f64>,
}

/// A proposed configuration with the reason for it (e.g. the acquisition value), recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub config: Config,
    pub reason: String,
}

/// Ask/tell with the "tell" folded into the arguments: a sampler holds only its options and
/// seed, and proposes configuration number `index` from what has been observed so far and
/// what has been proposed but not observed yet (`pending`, so that parallel workers are not
/// handed the same point). `None` when the strategy has nothing more to propose (a finished
/// grid).
pub trait Sampler: Send + Sync {
    fn propose(
        &self,
        space: &Space,
        observed: &[Observation],
        pending: &[Config],
        index: usize,
    ) -> Option<Proposal>;

    /// `propose`, for a caller whose `observed` only grew at its end since its last call to
    /// this sampler (a plain search): a sampler may keep what it made of the earlier ones.
    /// The answer is `propose`'s.
    fn propose_grown(
        &self,
        space: &Space,
        observed: &[Observation],
        pending: &[Config],
        index: usize,
    ) -> Option<Proposal> {
        self.propose(space, observed, pending, index)
    }
}

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
}

/// The epochs `items` train in total, each trial's epochs paid once: an item continues from
/// where its trial (or, for a clone, its donor's checkpoint) stood. The one count of epochs
/// that `budget.epochs`, the search's progress and its outputs all use.
pub fn epochs_paid<'a>(items: impl IntoIterator<Item = &'a WorkItem>) -> u64 {
    paid(items.into_iter().map(|w| (w.trial, w.epochs, w.clone_from)))
}

/// `epochs_paid` over (trial, epochs to reach, clone source) without copying the items.
fn paid(items: impl Iterator<Item = (usize, u32, Option<(usize, u32)>)>) -> u64 {
    let mut at: std::collections::BTreeMap<usize, u32> = Default::default();
    let mut total = 0u64;
    for (trial, epochs, clone_from) in items {
        let start = match clone_from {
            Some((_, e)) => e,
            None => at.get(&trial).copied().unwrap_or(0),
        };
        total += u64::from(epochs.saturating_sub(start));
        at.insert(trial, epochs.max(start));
    }
    total
}

/// `epochs_paid` with each finished item counted at the epochs it reached (an item early
/// stopping or a failure ended trains fewer than it asked for); unfinished ones as planned.
pub fn epochs_paid_known<'a>(
    issued: &[WorkItem],
    results: impl IntoIterator<Item = &'a ItemResult>,
) -> u64 {
    let reached: std::collections::HashMap<usize, u32> =
        results.into_iter().map(|r| (r.item, r.epochs)).collect();
    paid(issued.iter().enumerate().map(|(i, w)| {
        let epochs = reached.get(&i).map_or(w.epochs, |&e| e.min(w.epochs));
        (w.trial, epochs, w.clone_from)
    }))
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

/// What to do for work item `k`.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Run(WorkItem),
    /// The search issues no more work; it ends when the items in flight finish.
    Finished,
}

/// A scheduler turns recorded results into work items. Determinism with any number of
/// workers comes from `horizon`: decision `k` sees exactly the results of items
/// `0..horizon(k)`, and the coordinator waits until those are all in before asking. A
/// synchronous rung-based scheduler asks for the whole previous rung; an asynchronous one
/// asks for a fixed lag behind `k`.
pub trait Scheduler: Send + Sync {
    fn horizon(&self, k: usize, issued: &[WorkItem]) -> usize;
    fn decide(&self, k: usize, issued: &[WorkItem], results: &[ItemResult]) -> Decision;
}

/// A seeded random stream for one decision: the same (seed, purpose, index) always gives the
/// same numbers, whatever was drawn before.
pub fn rng_for(seed: u64, purpose: &str, index: u64) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(purpose.as_bytes());
    h.update(index.to_le_bytes());
    let digest = h.finalize();
    let mut key = [0u8; 32];
    key.copy_from_slice(&digest);
    ChaCha8Rng::from_seed(key)
}
