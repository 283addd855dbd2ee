//! The search: which configurations to try (strategies) and how much to train each
//! (schedulers). Everything here is pure and seeded: a decision is a function of the workflow,
//! the seed and the recorded results, so a resumed or replayed search decides the same.
//!
//! Objectives are always minimised here; the search stage negates maximised metrics.

pub mod narrow;
pub mod objectives;
pub mod options;
pub mod scheduler;
pub mod space;
pub mod strategy;

use serde::{Deserialize, Serialize};

pub use options::{Acquisition, Budget, RawStrategy, Strategy, StrategyKind};
pub use space::{Config, Space, Value};
// The shared vocabulary lives on the ground floor; these keep the search's paths.
pub use crate::vocab::{ItemResult, WorkItem, rng_for};

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
