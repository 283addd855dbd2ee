//! Random search: independent uniform draws (log-uniform for log parameters), or with
//! `sobol: true` the points of a seeded, scrambled Sobol sequence (see `sobol.rs`), which
//! cover the space more evenly for the same number of trials.

use std::sync::Mutex;

use crate::search::space::Config;
use crate::search::strategy::encode::Encoder;
use crate::search::strategy::{RETRIES, Seen, initial_point};
use crate::search::{Observation, Proposal, Sampler, Space, rng_for};

pub struct Random {
    seed: u64,
    sobol: bool,
    /// For `propose_grown`: the observed configurations so far, and how many observations.
    grown: Mutex<(Seen<'static>, usize)>,
}

impl Random {
    /// `sobol`: draw a scrambled Sobol sequence instead of independent uniform points.
    pub fn new(sobol: bool, seed: u64) -> Self {
        Random {
            seed,
            sobol,
            grown: Mutex::new((Seen::default(), 0)),
        }
    }

    fn draw(&self, space: &Space, seen: &Seen, index: usize) -> Proposal {
        if self.sobol {
            let config = initial_point(space, self.seed, index, seen);
            return Proposal {
                config,
                reason: format!("sobol point {index}"),
            };
        }
        let config = fresh(&Encoder::new(space), self.seed, "random", index, seen);
        Proposal {
            config,
            reason: "random".into(),
        }
    }
}

/// A uniformly random configuration not in `seen` (after [`RETRIES`] tries, the last draw
/// even if seen). Draw `k` for proposal `index` comes from stream (`purpose`, index), so the
/// result depends on nothing else.
pub fn fresh(enc: &Encoder, seed: u64, purpose: &str, index: usize, seen: &Seen) -> Config {
    let mut rng = rng_for(seed, purpose, index as u64);
    let mut config = enc.decode(&enc.random_point(&mut rng));
    for _ in 0..RETRIES {
        if !seen.contains(&config) {
            break;
        }
        config = enc.decode(&enc.random_point(&mut rng));
    }
    config
}

impl Sampler for Random {
    fn propose(
        &self,
        space: &Space,
        observed: &[Observation],
        pending: &[Config],
        index: usize,
    ) -> Option<Proposal> {
        Some(self.draw(space, &Seen::new(observed, pending), index))
    }

    /// Only the observations new since the last call are added to the kept set: the cost of
    /// a proposal does not grow with the number of trials before it.
    fn propose_grown(
        &self,
        space: &Space,
        observed: &[Observation],
        pending: &[Config],
        index: usize,
    ) -> Option<Proposal> {
        let mut grown = self.grown.lock().unwrap_or_else(|e| e.into_inner());
        let (seen, count) = &mut *grown;
        if *count > observed.len() {
            (*seen, *count) = (Seen::default(), 0);
        }
        for o in &observed[*count..] {
            seen.insert(&o.config);
        }
        *count = observed.len();
        let seen: &Seen = seen;
        Some(self.draw(space, &Seen::over(seen, pending), index))
    }
}
