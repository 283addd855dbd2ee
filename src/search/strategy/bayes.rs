//! Bayesian optimisation with a GP surrogate (`gp.rs`) over the unit-cube features of
//! `encode.rs` (log parameters in log space, choices one-hot, inactive parameters masked).
//!
//! Defaults: `initial: 10` (Sobol points until ten trials have a value), `acquisition: ei`
//! with `xi: 0` (plain expected improvement, as Optuna and BoTorch use: any positive margin
//! in standardised units is large next to the improvements left near the optimum, and kept
//! the regret a hundred times higher on Branin), `pi` with the same `xi`, `ucb` with
//! `kappa: 2.0` (a lower confidence bound, since objectives are minimised), `candidates:
//! 1000`. `xi` is in standardised units (a fraction of the observed values' standard
//! deviation), so it means the same on any objective's scale.
//!
//! Each proposal: fit the hyperparameters on the observations (failed trials imputed with the
//! worst observed value; at most `MAX_POINTS`, the best half and the most recent); condition
//! the fitted GP on the pending configurations too, with the observed mean as their value
//! (constant liar), so a batch spreads out; score `candidates` points (half uniform, half
//! perturbations of the best observed ones) and maximise the acquisition from the incumbent
//! and the best few candidates (`acquire.rs`: L-BFGS-B on the gradient of log EI for
//! continuous coordinates, pattern search for discrete ones).

use std::cmp::Ordering;

use crate::search::space::Config;
use crate::search::strategy::acquire::{self, Score};
use crate::search::strategy::encode::{Coord, Encoder, Point};
use crate::search::strategy::gp::{self, Data, Posterior};
use crate::search::strategy::{Seen, history, initial_point, random, tpe};
use crate::search::{Acquisition, Observation, Proposal, Sampler, Space, StrategyOptions, rng_for};

pub const DEFAULT_INITIAL: usize = 10;
pub const DEFAULT_CANDIDATES: usize = 1000;
pub const DEFAULT_XI: f64 = 0.0;
pub const DEFAULT_KAPPA: f64 = 2.0;
/// The most observations the GP is fitted on (the cost grows with the cube of it).
pub const MAX_POINTS: usize = 200;
/// How many of the best candidates are refined by local optimisation (plus the incumbent).
const REFINE: usize = 10;

pub struct Bayes {
    seed: u64,
    initial: usize,
    acquisition: Acquisition,
    xi: f64,
    kappa: f64,
    candidates: usize,
}

impl Bayes {
    pub fn new(opts: &StrategyOptions, seed: u64) -> Self {
        Bayes {
            seed,
            initial: opts.initial.unwrap_or(DEFAULT_INITIAL),
            acquisition: opts.acquisition.unwrap_or(Acquisition::Ei),
            xi: opts.xi.unwrap_or(DEFAULT_XI),
            kappa: opts.kappa.unwrap_or(DEFAULT_KAPPA),
            candidates: opts.candidates.unwrap_or(DEFAULT_CANDIDATES).max(1),
        }
    }

    /// The acquisition to maximise, in standardised units, with `best` the lowest observed
    /// value. EI and PI are logarithms so that candidates far from the incumbent still rank
    /// (their EI underflows to zero).
    fn score(&self, best: f64) -> Score {
        match self.acquisition {
            Acquisition::Ei => Score::LogEi {
                target: best - self.xi,
            },
            Acquisition::Pi => Score::LogPi {
                target: best - self.xi,
            },
            Acquisition::Ucb => Score::Lcb { kappa: self.kappa },
        }
    }
}

/// The observations the GP learns from, as (config, value), failures at the worst value.
fn training_set<'a>(hist: &[&'a Observation]) -> Vec<(&'a Config, f64)> {
    let ranked = tpe::ranked(hist);
    let worst = ranked.last().map_or(0.0, |(_, v)| *v);
    let failed = hist
        .iter()
        .filter(|o| !o.value.is_some_and(f64::is_finite))
        .map(|o| (*o, worst));
    let mut all: Vec<(&Observation, f64)> = ranked.iter().copied().chain(failed).collect();
    if all.len() > MAX_POINTS {
        // `all` is best first (failures last): keep the best half, then the most recent.
        all[MAX_POINTS / 2..].sort_by_key(|(o, _)| std::cmp::Reverse(o.trial));
        all.truncate(MAX_POINTS);
    }
    all.into_iter().map(|(o, v)| (&o.config, v)).collect()
}

impl Sampler for Bayes {
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
        let n_valued = hist
            .iter()
            .filter(|o| o.value.is_some_and(f64::is_finite))
            .count();
        if n_valued < self.initial.max(2) {
            let config = initial_point(space, self.seed, index, &seen);
            return Some(Proposal {
                config,
                reason: format!("bayes: initial sobol point {index}"),
            });
        }
        let train = training_set(&hist);
        let raw: Vec<f64> = train.iter().map(|(_, v)| *v).collect();
        let mean = raw.iter().sum::<f64>() / raw.len() as f64;
        let var = raw.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / raw.len() as f64;
        let scale = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
        let y: Vec<f64> = raw.iter().map(|v| (v - mean) / scale).collect();
        let features = |c: &Config| enc.features_of(&enc.encode(c));
        let x: Vec<Vec<f64>> = train.iter().map(|(c, _)| features(c)).collect();

        let mut rng = rng_for(self.seed, "bayes-fit", index as u64);
        let theta = gp::fit(&Data::new(x.clone(), enc.feature_groups()), &y, 2, &mut rng);
        // Constant liar: pending points at the observed mean (0 once standardised).
        let mut x_all = x;
        let mut y_all = y.clone();
        for c in pending {
            x_all.push(features(c));
            y_all.push(0.0);
        }
        let fallback = |why: &str| Proposal {
            config: random::fresh(&enc, self.seed, "bayes-fallback", index, &seen),
            reason: format!("bayes: {why}, random"),
        };
        let Some(post) = Posterior::new(Data::new(x_all, enc.feature_groups()), &y_all, &theta)
        else {
            return Some(fallback("the GP could not be conditioned"));
        };
        let best = y.iter().copied().fold(f64::INFINITY, f64::min);
        let score = self.score(best);
        let acq = |p: &[Coord]| {
            let (m, s) = post.predict(&enc.features(p));
            score.value(m, s)
        };

        let mut rng = rng_for(self.seed, "bayes-candidates", index as u64);
        let top: Vec<Point> = train
            .iter()
            .take(REFINE)
            .map(|(c, _)| enc.fill(&enc.encode(c), &mut rng))
            .collect();
        let mut scored: Vec<(f64, Point)> = (0..self.candidates)
            .map(|k| {
                let p = if k % 2 == 0 || top.is_empty() {
                    enc.random_point(&mut rng)
                } else {
                    acquire::perturb(&enc, &top[(k / 2) % top.len()], &mut rng)
                };
                (acq(&p), p)
            })
            .collect();
        scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal));

        // Local optimisation starts at the incumbent (the acquisition's peak is usually near
        // it late in a run) and at the best distinct candidates.
        let mut starts: Vec<Point> = top.iter().take(1).cloned().collect();
        let mut start_configs: Vec<Config> = starts.iter().map(|p| enc.decode(p)).collect();
        for (_, p) in &scored {
            if starts.len() > REFINE {
                break;
            }
            let c = enc.decode(p);
            if !start_configs.contains(&c) {
                start_configs.push(c);
                starts.push(p.clone());
            }
        }
        let mut refined = acquire::maximise(&enc, &post, score, &starts);
        refined.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal));
        let chosen = refined
            .iter()
            .chain(&scored)
            .find(|(_, p)| !seen.contains(&enc.decode(p)));
        let Some((value, point)) = chosen else {
            return Some(fallback("every candidate was tried already"));
        };
        let (m, s) = post.predict(&enc.features(point));
        let shown = match self.acquisition {
            Acquisition::Ei => format!("ei {:.4e}", value.exp() * scale),
            Acquisition::Pi => format!("pi {:.4e}", value.exp()),
            Acquisition::Ucb => format!("ucb {:.4e}", -(value * scale - mean)),
        };
        Some(Proposal {
            config: enc.decode(point),
            reason: format!(
                "bayes {shown}; predicted mean {:.6e} sd {:.4e}; gp on {} trials, {} pending",
                m * scale + mean,
                s * scale,
                train.len(),
                pending.len()
            ),
        })
    }
}
