//! Random search: independent uniform draws (log-uniform for log parameters), or with
//! `sobol: true` the points of a seeded, scrambled Sobol sequence (see `sobol.rs`), which
//! cover the space more evenly for the same number of trials.

use crate::search::space::Config;
use crate::search::strategy::encode::Encoder;
use crate::search::strategy::{RETRIES, Seen, initial_point};
use crate::search::{Observation, Proposal, Sampler, Space, StrategyOptions, rng_for};

pub struct Random {
    seed: u64,
    sobol: bool,
}

impl Random {
    pub fn new(opts: &StrategyOptions, seed: u64) -> Self {
        Random {
            seed,
            sobol: opts.sobol.unwrap_or(false),
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
        let seen = Seen::new(observed, pending);
        if self.sobol {
            let config = initial_point(space, self.seed, index, &seen);
            return Some(Proposal {
                config,
                reason: format!("sobol point {index}"),
            });
        }
        let config = fresh(&Encoder::new(space), self.seed, "random", index, &seen);
        Some(Proposal {
            config,
            reason: "random".into(),
        })
    }
}
