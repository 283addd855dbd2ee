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
//! Each proposal: the observations in trial order (failed trials imputed with the worst
//! observed value), their values log-warped when heavy-tailed and standardised (`warp.rs`);
//! the hyperparameters as of the last refit size (`gpcache.rs`: refitted on a schedule fixed
//! by the observation count, on at most `FIT_POINTS`); the GP conditioned on at most
//! `MAX_POINTS` observations (past it, the best half and the most recent), with its prior mean
//! at the worst observed value (`pessimistic`), and on the pending
//! configurations with the GP's own mean as their value (kriging believer), so a batch spreads
//! out around the best region; `candidates` points (half uniform, half perturbations of the best observed ones)
//! scored in blocks, and the acquisition maximised from the incumbent and the best few
//! candidates (`acquire.rs`: L-BFGS-B on the gradient of log EI for continuous coordinates,
//! pattern search for discrete ones).
//!
//! A proposal is a function of the seed and the observations alone: what `gpcache.rs` keeps
//! between proposals saves time and never changes a result, so a search resumed after a crash
//! proposes exactly what an uninterrupted one does.

use std::cmp::Ordering;

use crate::search::options::BayesOptions;
use crate::search::space::Config;
use crate::search::strategy::acquire::{self, Score};
use crate::search::strategy::encode::{Encoder, Point};
use crate::search::strategy::gpcache::{FitInput, GpCache, Row};
use crate::search::strategy::warp::Warp;
use crate::search::strategy::{Seen, history, initial_point, random};
use crate::search::{Acquisition, Observation, Proposal, Sampler, Space, rng_for};

/// The most observations the GP conditions on (past it, the best half and the most recent):
/// its factor costs the cube of it whenever the set changes other than by new points.
pub const MAX_POINTS: usize = 600;
/// The most observations the hyperparameters are fitted on (each likelihood evaluation costs
/// the cube of it; a hundred-odd points pin down a handful of hyperparameters, and at 200 a
/// refit alone took over 100 ms: B2's 99th percentile).
pub const FIT_POINTS: usize = 128;
/// How many of the best candidates are refined by local optimisation (plus the incumbent).
const REFINE: usize = 10;

pub struct Bayes {
    seed: u64,
    initial: usize,
    acquisition: Acquisition,
    xi: f64,
    kappa: f64,
    candidates: usize,
    /// Fits and factors kept between proposals; never changes a proposal (`gpcache.rs`).
    cache: GpCache,
}

impl Bayes {
    pub fn new(o: &BayesOptions, seed: u64) -> Self {
        Bayes {
            seed,
            initial: o.initial,
            acquisition: o.acquisition,
            xi: o.xi,
            kappa: o.kappa,
            candidates: o.candidates,
            cache: GpCache::default(),
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

/// The GP's prior mean is zero: shifting the standardised values so that the worst observed
/// one is zero puts the prior mean at the worst value seen (De Ath et al., "What do you mean?
/// The role of the mean function in Bayesian optimisation", GECCO 2020). Away from the data
/// the model then predicts no improvement, so EI there comes from the spread alone and the
/// search stops chasing the corners of the box, where a mean at the average of the values
/// promised improvement wherever nothing had been seen. Median regret over 20 seeds with the
/// default batch of 4 (`hpflow bench-strategy --batch 4`), before and after: Levy 5.7 and 3.8,
/// Hartmann6 2.7e-5 and 1.5e-5, Ackley-5 5.7 and 4.3, Colville 27.9 and 24.2, Michalewicz-5
/// 2.0 and 1.5; proposals on a bound of the box on Levy, 62 of 100 and 36. The hyperparameters
/// are still fitted on the unshifted values: shifting there too helped Hartmann6 and Levy but
/// cost Styblinski-Tang-4 (median 14.4 to 23.9) and Michalewicz-5 (1.5 to 2.0).
fn pessimistic(mut y: Vec<f64>) -> Vec<f64> {
    let worst = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if worst.is_finite() {
        y.iter_mut().for_each(|v| *v -= worst);
    }
    y
}

/// The training set made from `rows` (trial order): the indices of the rows used and their
/// values, failures at the worst observed value. Past `window` rows, the best half and then
/// the most recent, still in trial order.
fn training(rows: &[Row], window: usize) -> (Vec<usize>, Vec<f64>) {
    let worst = rows
        .iter()
        .filter_map(|r| r.value)
        .fold(f64::NEG_INFINITY, f64::max);
    let worst = if worst.is_finite() { worst } else { 0.0 };
    let value = |i: usize| rows[i].value.unwrap_or(worst);
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    if rows.len() > window {
        idx.sort_by(|&a, &b| value(a).total_cmp(&value(b)).then(a.cmp(&b)));
        idx[window / 2..].sort_by_key(|&i| std::cmp::Reverse(i));
        idx.truncate(window);
        idx.sort_unstable();
    }
    let values = idx.iter().map(|&i| value(i)).collect();
    (idx, values)
}

/// The hyperparameters' training set for a prefix of rows.
fn fit_training(rows: &[Row], log: bool) -> (Vec<Vec<f64>>, Vec<f64>, f64) {
    let (idx, raw) = training(rows, FIT_POINTS);
    let warp = Warp::new(&raw, log);
    let y = raw.iter().map(|&v| warp.apply(v)).collect();
    let log_jacobian = warp.log_jacobian(&raw);
    (
        idx.iter().map(|&i| rows[i].x.clone()).collect(),
        y,
        log_jacobian,
    )
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
        let groups = enc.feature_groups();
        let rows: Vec<Row> = hist
            .iter()
            .map(|o| Row {
                x: enc.features_of(&enc.encode(&o.config)),
                value: o.value.filter(|v| v.is_finite()),
            })
            .collect();
        let model = self.cache.model(
            &FitInput {
                seed: self.seed,
                groups: &groups,
                training: &fit_training,
            },
            &rows,
        );
        let (idx, raw) = training(&rows, MAX_POINTS);
        let warp = Warp::new(&raw, model.log);
        let theta = model.theta;
        let y = pessimistic(raw.iter().map(|&v| warp.apply(v)).collect());
        let x: Vec<Vec<f64>> = idx.iter().map(|&i| rows[i].x.clone()).collect();
        let n_obs = x.len();
        let fallback = |why: &str| Proposal {
            config: random::fresh(&enc, self.seed, "bayes-fallback", index, &seen),
            reason: format!("bayes: {why}, random"),
        };
        let Some(observed_post) = self.cache.posterior(x.clone(), n_obs, &groups, &y, &theta)
        else {
            return Some(fallback("the GP could not be conditioned"));
        };
        self.cache.keep(&observed_post, &x, n_obs, &theta);
        // Kriging believer: each pending configuration is told the GP's own mean there. The
        // mean elsewhere stays as the observations make it (the incumbent's basin stays
        // attractive), while the spread at and near the pending points collapses, so a batch
        // spreads out without being pushed away from the best region. A constant liar at
        // the observed mean did push it away: with the default batch of 4, regret on
        // Hartmann3 was 10,000 times that of one proposal per result.
        //
        // The believed values count as data for the incumbent too: EI's target is the best of
        // the observed values and the conditioned GP's mean at the pending points. Against
        // the observed best alone, the points just beside a pending one predicted to improve
        // on it still promise that same improvement, so a batch piled up next to its own
        // pending points: median regret over 20 seeds at 100 evaluations, batch 4, was 12.6
        // on Levy and 5.3e-4 on Hartmann6, against 5.7 and 2.7e-5 with the believed values
        // counted (4.2 and 1.2e-5 with one proposal per result). Telling pending points the best observed value (a constant
        // liar at the minimum), their mean less one sd, or the lower of mean and best was
        // worse on both (12 to 17 on Levy, 1e-3 to 0.13 on Hartmann6).
        let pending_x: Vec<Vec<f64>> = pending
            .iter()
            .map(|c| enc.features_of(&enc.encode(c)))
            .collect();
        let post = if pending.is_empty() {
            observed_post
        } else {
            let believed = observed_post.predict_many(&pending_x);
            let mut y_all = y.clone();
            y_all.extend(believed.iter().map(|&(m, _)| m));
            let Some(post) = observed_post.extended(pending_x.clone(), &y_all) else {
                return Some(fallback(
                    "the GP could not be conditioned on the pending trials",
                ));
            };
            post
        };
        let best = y.iter().copied().fold(f64::INFINITY, f64::min);
        let best = post
            .predict_many(&pending_x)
            .iter()
            .fold(best, |b, &(m, _)| b.min(m));
        let score = self.score(best);

        // The best observations first (ties by trial), for the incumbent and perturbations.
        let mut ranked: Vec<usize> = (0..n_obs).collect();
        ranked.sort_by(|&a, &b| y[a].total_cmp(&y[b]).then(a.cmp(&b)));
        let mut rng = rng_for(self.seed, "bayes-candidates", index as u64);
        let top: Vec<Point> = ranked
            .iter()
            .take(REFINE)
            .map(|&i| enc.fill(&enc.encode(&hist[idx[i]].config), &mut rng))
            .collect();
        let points: Vec<Point> = (0..self.candidates)
            .map(|k| {
                if k % 2 == 0 || top.is_empty() {
                    enc.random_point(&mut rng)
                } else {
                    acquire::perturb(&enc, &top[(k / 2) % top.len()], &mut rng)
                }
            })
            .collect();
        let feats: Vec<Vec<f64>> = points.iter().map(|p| enc.features(p)).collect();
        let mut scored: Vec<(f64, Point)> = post
            .predict_many(&feats)
            .into_iter()
            .map(|(m, s)| score.value(m, s))
            .zip(points)
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
        // In the objective's units (to first order near the best value when log-warped).
        let shown = match self.acquisition {
            Acquisition::Ei => format!("ei {:.4e}", value.exp() * warp.raw_per_target(best)),
            Acquisition::Pi => format!("pi {:.4e}", value.exp()),
            Acquisition::Ucb => format!("ucb {:.4e}", warp.invert(-value)),
        };
        Some(Proposal {
            config: enc.decode(point),
            reason: format!(
                "bayes {shown}; predicted mean {:.6e} sd {:.4e}; gp on {} trials{}, {} pending",
                warp.invert(m),
                s * warp.raw_per_target(m),
                n_obs,
                if warp.is_log() { " (log-warped)" } else { "" },
                pending.len()
            ),
        })
    }
}
