//! What `bayes` keeps between proposals, and why keeping it never changes a proposal.
//!
//! A proposal must be a function of the seed and the observations alone: a search resumed
//! after a crash, with a fresh sampler and nothing cached, proposes exactly what the
//! uninterrupted one would have. So everything here is memoisation of pure functions:
//!
//! - **When the model is refitted** (hyperparameters, and whether values are log-warped:
//!   `warp.rs`) depends only on how many observations there are: at every size up to 16,
//!   then each time the training set is about 1/8 larger (the [`schedule`]). Between refits
//!   the last fit's values are reused.
//! - **How a refit starts**: the raw and the log-warped model each have a chain of fits;
//!   every [`COLD_EVERY`]-th refit starts from scratch (prior means and random draws, seeded
//!   by the seed and the refit's size), the others from the same chain's previous result
//!   only. A fit is therefore a function of the first `s` observations (in trial order) and
//!   is recomputed, chain and all, when missing: at most `COLD_EVERY` fits per chain for a
//!   resumed search, one warm start per chain for a running one.
//! - **The Cholesky factor** of the observations' kernel matrix is kept with the rows and
//!   hyperparameters it was built for; when the new training set starts with those rows and
//!   the hyperparameters are the same, only the new rows are added, which gives the same bits
//!   as building it again (`linalg::Factor`).
//!
//! Each cached value is looked up by the full content it was computed from (every number, not a
//! hash of them), so a cache can only ever hand back what would have been computed anyway.

use std::sync::Mutex;

use crate::search::rng_for;
use crate::search::strategy::gp::{self, Data, Theta};
use crate::search::strategy::linalg::Factor;
use crate::search::strategy::posterior::Posterior;

/// A refit from scratch every this many refits (the chain a resumed search replays).
pub const COLD_EVERY: usize = 4;
/// Random restarts of a fit from scratch, besides the prior means.
const RESTARTS: usize = 2;
/// L-BFGS iterations of a fit from scratch and of a warm-started one. (Screening the cold
/// starts after 10 iterations and warm refits of 20 were tried for B2's slowest proposals:
/// Levy's median regret went from 4.2 to 7.5, worse on 15 seeds of 20. The refits were made
/// cheaper by fitting on fewer points instead: `bayes::FIT_POINTS`.)
pub const COLD_ITERS: usize = 60;
pub const WARM_ITERS: usize = 30;
/// Fits kept (the current chains, raw and log-warped, and a little more).
const KEEP: usize = 12;

/// The refit sizes: 1, 2, …, 16, 18, 20, 22, 24, 27, 30, … (each 1/8 more than the last).
/// Returns (k, s_k) for the largest s_k ≤ m (m ≥ 1).
pub fn schedule(m: usize) -> (usize, usize) {
    let (mut k, mut s) = (0, 1);
    loop {
        let next = s + (s / 8).max(1);
        if next > m {
            return (k, s);
        }
        k += 1;
        s = next;
    }
}

/// The refit size with index k.
fn size_at(k: usize) -> usize {
    (0..k).fold(1, |s, _| s + (s / 8).max(1))
}

/// One training row as the fit sees it: features and raw value (None for a failed trial).
pub struct Row {
    pub x: Vec<f64>,
    pub value: Option<f64>,
}

/// A training set made from a prefix of rows, the values log-warped or not: (features,
/// targets, Σ ln d target/d value).
pub type Training = dyn Fn(&[Row], bool) -> (Vec<Vec<f64>>, Vec<f64>, f64);

/// A fitted model: whether the values are log-warped (`warp.rs`), and the hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub log: bool,
    pub theta: Theta,
}

/// A factor with the hyperparameters and rows it was built for.
struct Kept {
    theta: Theta,
    rows: Vec<Vec<f64>>,
    factor: Factor,
}

/// What a fit needs to know besides the rows: the seed, the feature groups, and how the
/// training set is made from rows (failures imputed, at most so many points, standardised).
pub struct FitInput<'a> {
    pub seed: u64,
    pub groups: &'a [usize],
    pub training: &'a Training,
}

#[derive(Default)]
pub struct GpCache {
    fits: Mutex<Vec<(Vec<u64>, (Theta, f64))>>,
    factor: Mutex<Option<Kept>>,
}

impl GpCache {
    /// The model for a search whose observations so far are `rows` (trial order): at the
    /// last refit size, the GP fitted to the raw and to the log-warped values, whichever
    /// explains the values better (raw on a tie).
    pub fn model(&self, input: &FitInput, rows: &[Row]) -> Model {
        let (k, _) = schedule(rows.len());
        let (raw, raw_score) = self.fit_at(input, rows, k, false);
        let (logged, log_score) = self.fit_at(input, rows, k, true);
        if log_score < raw_score {
            Model {
                log: true,
                theta: logged,
            }
        } else {
            Model {
                log: false,
                theta: raw,
            }
        }
    }

    /// The hyperparameters at refit k for raw or log-warped values, and the negative log
    /// marginal likelihood of the values (prior included) that decides between the two.
    fn fit_at(&self, input: &FitInput, rows: &[Row], k: usize, log: bool) -> (Theta, f64) {
        let s = size_at(k);
        let prefix = &rows[..s];
        let mut key = key_of(input, prefix);
        key.push(u64::from(log));
        if let Some((_, fit)) = lock(&self.fits).iter().find(|(kk, _)| *kk == key) {
            return fit.clone();
        }
        let (x, y, log_jacobian) = (input.training)(prefix, log);
        let g = input.groups.iter().map(|q| q + 1).max().unwrap_or(0);
        let data = Data::new(x, input.groups.to_vec());
        let (theta, nll) = if k.is_multiple_of(COLD_EVERY) {
            let mut rng = rng_for(input.seed, "bayes-fit", s as u64);
            gp::fit(
                &data,
                &y,
                &gp::cold_starts(g, RESTARTS, &mut rng),
                COLD_ITERS,
            )
        } else {
            let (start, _) = self.fit_at(input, rows, k - 1, log);
            gp::fit(&data, &y, &[start], WARM_ITERS)
        };
        let fit = (theta, nll - log_jacobian);
        let mut fits = lock(&self.fits);
        fits.push((key, fit.clone()));
        if fits.len() > KEEP {
            fits.remove(0);
        }
        fit
    }

    /// The posterior on `x` (the first `n_obs` rows observations, the rest pending) with
    /// values `y` under `theta`, extending the kept factor when it fits.
    pub fn posterior(
        &self,
        x: Vec<Vec<f64>>,
        n_obs: usize,
        groups: &[usize],
        y: &[f64],
        theta: &Theta,
    ) -> Option<Posterior> {
        let start = lock(&self.factor)
            .take()
            .filter(|k| same(&k.theta, theta) && k.rows.len() <= n_obs && prefix(&k.rows, &x))
            .map(|k| k.factor)
            .unwrap_or_default();
        let post = Posterior::new(x, groups, y, theta, start)?;
        Some(post)
    }

    /// Keep the observations' part of `post`'s factor for the next proposal.
    pub fn keep(&self, post: &Posterior, x: &[Vec<f64>], n_obs: usize, theta: &Theta) {
        let mut f = post.factor().clone();
        f.truncate(n_obs);
        *lock(&self.factor) = Some(Kept {
            theta: theta.clone(),
            rows: x[..n_obs].to_vec(),
            factor: f,
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a wrong entry behind (entries are inserted whole).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
}

fn prefix(rows: &[Vec<f64>], x: &[Vec<f64>]) -> bool {
    rows.iter().zip(x).all(|(a, b)| same(a, b))
}

/// Everything a fit on `prefix` depends on, as bits.
fn key_of(input: &FitInput, prefix: &[Row]) -> Vec<u64> {
    let mut key = vec![input.seed, prefix.len() as u64, input.groups.len() as u64];
    key.extend(input.groups.iter().map(|&g| g as u64));
    for r in prefix {
        key.extend(r.x.iter().map(|v| v.to_bits()));
        key.push(r.value.map_or(u64::MAX, f64::to_bits));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A smooth 3-d function on a quasi-random design of `n` points (standardised values).
    fn design(n: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let x: Vec<Vec<f64>> = (1..=n)
            .map(|i| {
                let i = i as f64;
                vec![
                    (i * 0.618_034).fract(),
                    (i * 0.754_878).fract(),
                    (i * 0.569_840).fract(),
                ]
            })
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|p| (4.0 * p[0]).sin() + 2.0 * (p[1] - 0.4).powi(2) + 0.1 * p[2])
            .collect();
        let mean = y.iter().sum::<f64>() / n as f64;
        let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        (x, y.iter().map(|v| (v - mean) / sd).collect())
    }

    #[test]
    fn a_warm_refit_reaches_the_likelihood_of_a_cold_fit() {
        let (x, y) = design(60);
        let groups = vec![0, 1, 2];
        let cold = |n: usize| {
            let data = Data::new(x[..n].to_vec(), groups.clone());
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            let starts = gp::cold_starts(3, RESTARTS, &mut rng);
            gp::fit(&data, &y[..n], &starts, COLD_ITERS)
        };
        // From the fit on a fifth of the points, far from the optimum on all of them.
        let (start, _) = cold(12);
        let (cold_theta, cold_nll) = cold(60);
        let data = Data::new(x, groups.clone());
        let (start_nll, _) = gp::objective(&data, &y, &start).unwrap();
        let (warm_theta, warm_nll) = gp::fit(&data, &y, &[start], WARM_ITERS);
        assert!(start_nll > cold_nll, "{start_nll} vs {cold_nll}");
        assert!(
            warm_nll <= cold_nll + 1e-3 * cold_nll.abs(),
            "warm {warm_nll} {warm_theta:?} vs cold {cold_nll} {cold_theta:?}"
        );
    }

    #[test]
    fn the_schedule_refits_every_time_early_then_every_eighth() {
        let sizes: Vec<usize> = (0..24).map(size_at).collect();
        assert_eq!(&sizes[..16], &(1..=16).collect::<Vec<_>>()[..]);
        assert_eq!(&sizes[16..], &[18, 20, 22, 24, 27, 30, 33, 37]);
        for m in 1..400 {
            let (k, s) = schedule(m);
            assert_eq!(size_at(k), s);
            assert!(s <= m && size_at(k + 1) > m, "{m}: {k} {s}");
        }
    }
}
