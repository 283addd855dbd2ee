//! BOHB's source of new configurations (Falkner et al. 2018): Hyperband's brackets, with
//! configurations proposed by a model (the given sampler, TPE in practice) fitted on the
//! observations of one budget only: the largest budget that has enough of them. Until some
//! budget has, and for a fixed share of proposals anyway, configurations are random.

use rand::Rng;

use crate::search::{Config, Proposal, rng_for};

use super::brackets::Brackets;
use super::history::History;

/// The share of configurations drawn at random even when the model is ready, as in the
/// paper (ρ = 1/3): it keeps the search from trusting a model fitted on few points.
pub(crate) const RANDOM_FRACTION: f64 = 1.0 / 3.0;

pub(crate) struct ModelFill {
    /// Observations (with a value) a budget needs before the model is used on it:
    /// `initial` if given, else the number of searched parameters + 2.
    pub min_points: usize,
}

impl ModelFill {
    /// The largest budget (rung epochs) with at least `min_points` usable observations.
    fn budget(&self, b: &Brackets, hist: &History) -> Option<u32> {
        let mut budgets: Vec<u32> = b
            .brackets
            .iter()
            .flat_map(|x| x.rungs.iter().map(|r| r.epochs))
            .collect();
        budgets.sort_unstable();
        budgets.dedup();
        budgets.into_iter().rev().find(|&e| {
            hist.observations_at(e)
                .iter()
                .filter(|o| o.value.is_some())
                .count()
                >= self.min_points
        })
    }

    pub(crate) fn propose(
        &self,
        b: &Brackets,
        hist: &History,
        pending: &[Config],
        trial: usize,
    ) -> Proposal {
        let Some(epochs) = self.budget(b, hist) else {
            return b.random(
                trial,
                &format!("bohb: no budget has {} observations yet", self.min_points),
            );
        };
        if rng_for(b.seed, "bohb-random-share", trial as u64).random_bool(RANDOM_FRACTION) {
            return b.random(trial, "bohb: random share");
        }
        let observed = hist.observations_at(epochs);
        match b.sampler.propose(&b.space, &observed, pending, trial) {
            Some(p) => Proposal {
                config: p.config,
                reason: format!(
                    "bohb: model on {} observations at {epochs} epochs: {}",
                    observed.len(),
                    p.reason
                ),
            },
            None => b.random(trial, "bohb: the model had nothing to propose"),
        }
    }
}
