//! Strategies that propose configurations: grid, random, bayes (GP), tpe, evolution.
//!
//! Every strategy is a [`Sampler`]: a pure function of its options, the seed, the space, the
//! observations, the pending configurations and the proposal index. The pieces they share
//! live here: which observations a model learns from ([`history`]), duplicate avoidance
//! ([`Seen`]) and the space-filling start ([`initial_point`]).

pub mod bayes;
pub mod bench;
pub mod encode;
pub mod evolution;
pub mod gp;
pub mod grid;
pub mod lbfgs;
pub mod normal;
pub mod parzen;
pub mod random;
pub mod sobol;
pub mod tpe;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};

use crate::search::space::config_hash;
use crate::search::{Config, Observation, Sampler, Space, StrategyKind, StrategyOptions};

pub use grid::grid_size;

/// The sampler for a strategy. Multi-fidelity kinds get the sampler their scheduler draws new
/// configurations from: TPE for `bohb` (its model), random for the others.
pub fn sampler(opts: &StrategyOptions, seed: u64) -> Box<dyn Sampler> {
    match opts.kind {
        StrategyKind::Grid => Box::new(grid::Grid::new(opts)),
        StrategyKind::Random => Box::new(random::Random::new(opts, seed)),
        StrategyKind::Tpe | StrategyKind::Bohb => Box::new(tpe::Tpe::new(opts, seed)),
        StrategyKind::Bayes => Box::new(bayes::Bayes::new(opts, seed)),
        StrategyKind::Evolution => Box::new(evolution::Evolution::new(opts, seed)),
        StrategyKind::Sha | StrategyKind::Hyperband | StrategyKind::Asha | StrategyKind::Pbt => {
            Box::new(random::Random::new(
                &StrategyOptions::new(StrategyKind::Random),
                seed,
            ))
        }
    }
}

/// The observations a model learns from, one per trial.
///
/// With a single budget (plain search) that is every trial at its value. With several
/// budgets (multi-fidelity), values at different budgets are not comparable, so, as BOHB
/// does, the model uses the largest budget at which at least `min_points` trials were
/// measured, each trial at that budget; when no budget has that many, each trial at the
/// largest budget it reached. A failed trial (`value: None`) is kept: strategies treat it as
/// bad, never as unknown.
pub fn history(observed: &[Observation], min_points: usize) -> Vec<&Observation> {
    let mut per_budget: BTreeMap<u32, BTreeMap<usize, &Observation>> = BTreeMap::new();
    let mut latest: BTreeMap<usize, &Observation> = BTreeMap::new();
    for o in observed {
        // A later record of the same trial at the same budget replaces the earlier one.
        per_budget.entry(o.epochs).or_default().insert(o.trial, o);
        let keep = latest.get(&o.trial).is_some_and(|l| l.epochs > o.epochs);
        if !keep {
            latest.insert(o.trial, o);
        }
    }
    if per_budget.len() > 1
        && let Some((_, trials)) = per_budget
            .iter()
            .rev()
            .find(|(_, t)| t.len() >= min_points.max(1))
    {
        return trials.values().copied().collect();
    }
    latest.into_values().collect()
}

/// Configurations already observed or pending, by hash, so that a strategy does not propose
/// one of them again.
pub struct Seen(HashSet<String>);

impl Seen {
    pub fn new(observed: &[Observation], pending: &[Config]) -> Self {
        Seen(
            observed
                .iter()
                .map(|o| &o.config)
                .chain(pending)
                .map(config_hash)
                .collect(),
        )
    }

    pub fn contains(&self, config: &Config) -> bool {
        self.0.contains(&config_hash(config))
    }

    /// Remember a configuration (a strategy proposing several at once).
    pub fn insert(&mut self, config: &Config) {
        self.0.insert(config_hash(config));
    }
}

/// How many fresh draws a strategy makes to avoid a duplicate before it gives up and proposes
/// the duplicate (a small discrete space can be exhausted).
pub const RETRIES: u64 = 64;

/// Point `index` of the seeded, scrambled Sobol sequence over the whole space, or a random
/// point when that one was already tried: the space-filling start shared by random (with
/// `sobol: true`), bayes, tpe and evolution.
pub fn initial_point(space: &Space, seed: u64, index: usize, seen: &Seen) -> Config {
    let enc = encode::Encoder::new(space);
    let mut rng = crate::search::rng_for(seed, "sobol-scramble", 0);
    let sobol = sobol::Sobol::new(enc.len(), &mut rng);
    let mut extra = crate::search::rng_for(seed, "sobol-extra", index as u64);
    let config = enc.decode(&enc.from_unit(&sobol.point(index as u64, &mut extra)));
    if !seen.contains(&config) {
        return config;
    }
    random::fresh(&enc, seed, "sobol-retry", index, seen)
}
