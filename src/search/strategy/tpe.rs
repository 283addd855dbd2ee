//! Multivariate TPE (Bergstra et al. 2013; the joint form BOHB and Optuna's
//! `multivariate=True` use): split the observations into the best γ and the rest, fit a
//! Parzen estimator l(x) to the good ones and g(x) to the rest, draw candidates from l and
//! propose the one with the largest l(x)/g(x).
//!
//! Defaults: `initial: 10` (Sobol points until ten trials have a value), `candidates: 24`.
//! `gamma` unset follows Optuna: the good group is the best ⌈0.1·n⌉ trials, at most 25; set,
//! it is the best ⌈gamma·n⌉. At least one trial is always good.
//!
//! Failed trials and pending configurations (constant liar: they are treated as if they had
//! the worst value) join the bad group, so l/g is low around them and a batch spreads out.

use std::cmp::Ordering;

use crate::search::space::Config;
use crate::search::strategy::encode::Encoder;
use crate::search::strategy::parzen::Parzen;
use crate::search::strategy::{RETRIES, Seen, history, initial_point, random};
use crate::search::{Observation, Proposal, Sampler, Space, StrategyOptions, rng_for};

pub const DEFAULT_INITIAL: usize = 10;
pub const DEFAULT_CANDIDATES: usize = 24;

pub struct Tpe {
    seed: u64,
    initial: usize,
    gamma: Option<f64>,
    candidates: usize,
}

impl Tpe {
    pub fn new(opts: &StrategyOptions, seed: u64) -> Self {
        Tpe {
            seed,
            initial: opts.initial.unwrap_or(DEFAULT_INITIAL),
            gamma: opts.gamma,
            candidates: opts.candidates.unwrap_or(DEFAULT_CANDIDATES).max(1),
        }
    }

    /// The size of the good group among `n` trials with a value.
    fn n_good(&self, n: usize) -> usize {
        let k = match self.gamma {
            Some(g) => (g * n as f64).ceil() as usize,
            None => ((0.1 * n as f64).ceil() as usize).min(25),
        };
        k.max(1).min(n)
    }
}

/// Observations with a value, best first (ties broken by trial number, so the order never
/// depends on the order of `observed`).
pub fn ranked<'a>(hist: &[&'a Observation]) -> Vec<(&'a Observation, f64)> {
    let mut out: Vec<(&Observation, f64)> = hist
        .iter()
        .filter_map(|o| o.value.filter(|v| v.is_finite()).map(|v| (*o, v)))
        .collect();
    // Unstable is fine: the trial number breaks every tie.
    out.sort_unstable_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(Ordering::Equal)
            .then(a.0.trial.cmp(&b.0.trial))
    });
    out
}

impl Sampler for Tpe {
    fn propose(
        &self,
        space: &Space,
        observed: &[Observation],
        pending: &[Config],
        index: usize,
    ) -> Option<Proposal> {
        let enc = Encoder::new(space);
        let seen = Seen::new(observed, pending);
        let hist = history(observed, enc.len() + 1);
        let ranked = ranked(&hist);
        if ranked.is_empty() || ranked.len() < self.initial {
            let config = initial_point(space, self.seed, index, &seen);
            return Some(Proposal {
                config,
                reason: format!("tpe: initial sobol point {index}"),
            });
        }
        let n_good = self.n_good(ranked.len());
        let good: Vec<_> = ranked[..n_good]
            .iter()
            .map(|(o, _)| enc.encode(&o.config))
            .collect();
        let failed = hist
            .iter()
            .filter(|o| !o.value.is_some_and(f64::is_finite))
            .map(|o| &o.config);
        let bad: Vec<_> = ranked[n_good..]
            .iter()
            .map(|(o, _)| &o.config)
            .chain(failed)
            .chain(pending)
            .map(|c| enc.encode(c))
            .collect();
        let (l, g) = (Parzen::fit(&enc, &good), Parzen::fit(&enc, &bad));

        let mut rng = rng_for(self.seed, "tpe", index as u64);
        let mut best: Option<(f64, Config)> = None;
        for _ in 0..RETRIES {
            for _ in 0..self.candidates {
                let point = enc.snap(&l.sample(&mut rng));
                let config = enc.decode(&point);
                if seen.contains(&config) {
                    continue;
                }
                let active = enc.active(&point);
                let score = l.log_density(&point, &active) - g.log_density(&point, &active);
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    best = Some((score, config));
                }
            }
            if best.is_some() {
                break;
            }
        }
        let reason_tail = format!(
            "{n_good} good of {} trials, {} pending",
            hist.len(),
            pending.len()
        );
        Some(match best {
            Some((score, config)) => Proposal {
                config,
                reason: format!("tpe: log l/g = {score:.4}; {reason_tail}"),
            },
            None => Proposal {
                config: random::fresh(&enc, self.seed, "tpe-fallback", index, &seen),
                reason: format!("tpe: every candidate was tried already, random; {reason_tail}"),
            },
        })
    }
}
