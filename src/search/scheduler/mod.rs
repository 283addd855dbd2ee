//! Schedulers: pure decision functions that turn recorded results into work items (which
//! trial to start, promote, continue, stop or clone, and to how many epochs).
//!
//! | kind | file | horizon |
//! |---|---|---|
//! | grid, random, bayes, tpe, evolution | `plain.rs` | lag of `batch` (default 4) |
//! | the same with `median_stopping: true` | `median.rs` | waves (a batch's chunks) |
//! | sha, hyperband | `brackets.rs` | waves (one per rung) |
//! | bohb | `brackets.rs` + `bohb.rs` | waves (one per rung) |
//! | asha | `asha.rs` | lag of `batch` (default 4); full once the trials are spent |
//! | pbt | `pbt.rs` | waves (one per generation) |
//!
//! Determinism: decision k is a function of (options, seed, items `0..k`, results of items
//! `0..horizon(k)`), where `horizon(k)` depends on items `0..k` only; so 1 worker or 8 decide
//! the same. `Finished` is final: it is only answered when nothing still running could change
//! the answer, and the coordinator need not ask again.

mod asha;
mod bohb;
mod brackets;
mod describe;
mod grow;
mod history;
mod ladder;
mod median;
mod pbt;
mod plain;
mod random;
mod waves;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use describe::describe;
pub use grow::budget_in_identity;
pub use ladder::{Bracket, Rung};
pub use random::random_config;

use crate::search::options::{
    BayesOptions, BohbOptions, EvolutionOptions, GridOptions, PbtOptions, RandomOptions, Rungs,
    TpeOptions,
};
use crate::search::{Budget, Decision, ItemResult, Sampler, Scheduler, Space, Strategy, WorkItem};

use waves::Synchronous;

/// Trials of a plain search without a trial budget. Not a strategy option: `budget.trials`
/// says where the schedule stops, outside the search's identity (sweeps grow).
pub const DEFAULT_TRIALS: usize = 20;

/// How decision reasons name a result: the metric, and the sign that turns the minimised
/// objective back into the metric's own value, so a maximised accuracy reads positive.
#[derive(Debug, Clone)]
pub struct ValueLabel {
    pub name: String,
    /// -1 when the metric is maximised (objective = -value), else 1.
    pub sign: f64,
}

impl ValueLabel {
    /// Reasons in terms of the objective itself (tests, benchmarks).
    pub fn objective() -> Self {
        ValueLabel {
            name: "objective".into(),
            sign: 1.0,
        }
    }

    pub fn show(&self, objective: f64) -> String {
        format!("{} {:.6}", self.name, self.sign * objective)
    }
}

/// SHA's and ASHA's default trial count: enough that the top rung gets one trial.
pub(crate) fn default_trials(r: &Rungs) -> usize {
    let rungs = ladder::ladder(r.min_epochs, r.max_epochs, r.eta).len() as u32;
    (r.eta as usize).saturating_pow(rungs - 1)
}

/// PBT's population: at most `budget.trials`.
pub(crate) fn pbt_population(p: &PbtOptions, budget: &Budget) -> usize {
    p.population.min(budget.trials.unwrap_or(usize::MAX)).max(1)
}

/// The scheduler for a search stage. `epochs` is the stage's epochs: what plain trials
/// train to (a multi-fidelity strategy carries its own `max_epochs`).
pub fn scheduler(
    strategy: &Strategy,
    seed: u64,
    sampler: Box<dyn Sampler>,
    space: Space,
    budget: &Budget,
    epochs: u32,
    label: ValueLabel,
) -> Result<Box<dyn Scheduler>, String> {
    if epochs == 0 {
        return Err("the stage trains 0 epochs: set params.epochs or max_epochs".into());
    }
    // A budget of time or epochs alone is spent in full: trials go on until it runs out.
    let cap = budget.trials.or(budget
        .open_ended()
        .then_some(crate::search::options::OPEN_ENDED_TRIALS));
    let inner: Box<dyn Scheduler> = match strategy {
        Strategy::Grid(GridOptions { batch, .. })
        | Strategy::Random(RandomOptions { batch, .. })
        | Strategy::Bayes(BayesOptions { batch, .. })
        | Strategy::Tpe(TpeOptions { batch, .. })
        | Strategy::Evolution(EvolutionOptions { batch, .. }) => {
            let (batch, trials) = (*batch, cap.unwrap_or(DEFAULT_TRIALS));
            if strategy.median_stopping() {
                Box::new(Synchronous(median::MedianStopping {
                    batch,
                    trials,
                    epochs,
                    sampler,
                    space,
                    label,
                }))
            } else {
                Box::new(plain::Plain::new(batch, trials, epochs, sampler, space))
            }
        }
        Strategy::Sha(r)
        | Strategy::Hyperband(r)
        | Strategy::Bohb(BohbOptions { rungs: r, .. }) => {
            let brackets = if let Strategy::Sha(_) = strategy {
                let epochs = ladder::ladder(r.min_epochs, r.max_epochs, r.eta);
                let n = budget.trials.unwrap_or_else(|| default_trials(r));
                let one = ladder::bracket(epochs.len() as u32 - 1, n, &epochs, r.eta);
                // Open-ended: one bracket after another, each complete before the next.
                let repeats = match cap {
                    Some(c) if budget.trials.is_none() => (c / n.max(1)).max(1),
                    _ => 1,
                };
                vec![one; repeats]
            } else {
                ladder::hyperband_budgeted(r.min_epochs, r.max_epochs, r.eta, cap)?
            };
            let fill = match strategy {
                Strategy::Bohb(b) => brackets::Fill::Model(bohb::ModelFill {
                    min_points: b.initial,
                }),
                _ => brackets::Fill::Sampler,
            };
            Box::new(Synchronous(brackets::Brackets {
                brackets,
                eta: r.eta,
                seed,
                sampler,
                space,
                fill,
                label,
            }))
        }
        Strategy::Asha(r) => Box::new(asha::Asha {
            rungs: ladder::ladder(r.min_epochs, r.max_epochs, r.eta),
            eta: r.eta,
            batch: r.batch,
            trials: cap.unwrap_or_else(|| default_trials(r)),
            seed,
            sampler,
            space,
            label,
        }),
        Strategy::Pbt(p) => Box::new(Synchronous(pbt::Pbt {
            population: pbt_population(p, budget),
            interval: p.interval,
            max_epochs: p.max_epochs,
            quantile: p.quantile,
            perturb: p.perturb,
            seed,
            sampler,
            space,
            label,
        })),
    };
    Ok(match budget.epochs {
        Some(limit) => Box::new(EpochBudget {
            inner,
            limit,
            largest: u64::from(strategy.max_epochs(epochs)),
        }),
        None => inner,
    })
}

/// `budget.epochs`: no item is issued that would take the total (each trial's epochs paid
/// once; finished items at the epochs they reached, so early stopping hands its unused epochs
/// on) past the limit; the search finishes there instead. The results are those the horizon
/// fixes, so the count, like every decision, does not depend on the number of workers.
struct EpochBudget {
    inner: Box<dyn Scheduler>,
    limit: u64,
    /// The most epochs one item can add (the search's max_epochs).
    largest: u64,
}

impl Scheduler for EpochBudget {
    /// Near the limit (when the items issued, as planned, leave less than one item's worth),
    /// wait for every result: items that ended early leave room the planned count hides.
    fn horizon(&self, k: usize, issued: &[WorkItem]) -> usize {
        let inner = self.inner.horizon(k, issued);
        let planned = crate::search::epochs_paid(&issued[..k.min(issued.len())]);
        if planned + self.largest > self.limit {
            k
        } else {
            inner
        }
    }

    fn decide(&self, k: usize, issued: &[WorkItem], results: &[ItemResult]) -> Decision {
        let issued = &issued[..k.min(issued.len())];
        // The inner scheduler decides from its own horizon's results, as without a budget.
        let h = self.inner.horizon(k, issued);
        // Copied only near the limit, where this horizon reaches past the inner one.
        let seen: std::borrow::Cow<[ItemResult]> = if results.iter().all(|r| r.item < h) {
            std::borrow::Cow::Borrowed(results)
        } else {
            results.iter().filter(|r| r.item < h).cloned().collect()
        };
        match self.inner.decide(k, issued, &seen) {
            Decision::Run(item) => {
                let mut with = issued.to_vec();
                with.push(item.clone());
                if crate::search::epochs_paid_known(&with, results) > self.limit {
                    Decision::Finished
                } else {
                    Decision::Run(item)
                }
            }
            Decision::Finished => Decision::Finished,
        }
    }
}

/// The selected configuration: among the results of trials none of whose items failed,
/// those at the largest epoch count any trial reached with a value, and those early stopping
/// ended; the best of them, ties by trial number. Returns (trial, the epochs its value was
/// measured at (the best epoch under early stopping), value); the configuration is that of
/// the trial's last item (PBT changes it).
pub fn best_trial(issued: &[WorkItem], results: &[ItemResult]) -> Option<(usize, u32, f64)> {
    // A trial whose later item failed or diverged ended failed: its earlier rungs' values
    // describe a model that no longer trains to the end, so it is never selected.
    let failed: std::collections::HashSet<usize> = results
        .iter()
        .filter(|r| history::usable(r.value).is_none())
        .map(|r| r.trial)
        .collect();
    let ok: Vec<&ItemResult> = results
        .iter()
        .filter(|r| r.item < issued.len() && history::usable(r.value).is_some())
        .filter(|r| !failed.contains(&r.trial))
        .collect();
    // A trial early stopping ended has finished training: its best value competes with
    // the trials that reached the most epochs (theirs are best-epoch values too).
    let top = ok.iter().filter(|r| !r.stopped).map(|r| r.epochs).max();
    ok.into_iter()
        .filter(|r| r.stopped || Some(r.epochs) == top)
        .filter_map(|r| Some((r.trial, r.measured_at(), r.value?)))
        .min_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)))
}
