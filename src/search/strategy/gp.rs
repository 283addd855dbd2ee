//! A Gaussian-process regression model for `bayes`: Matérn 5/2 kernel with one length scale
//! per parameter (a choice's one-hot features share one), signal variance and noise fitted by
//! maximising the log marginal likelihood (plus weak log-normal priors that keep it sane with
//! few points), L-BFGS on the log-parameters from given starts (`posterior.rs` conditions on
//! the data with the fitted values).
//!
//! Outputs are standardised before fitting; predictions are in standardised units.

use rand::Rng;

use crate::search::strategy::lbfgs;
use crate::search::strategy::linalg::{Factor, dot};

/// Jitter added to the diagonal on top of the fitted noise, for numerical safety.
pub const JITTER: f64 = 1e-8;
const SQRT5: f64 = 2.236_067_977_499_79;

/// Hyperparameters as one vector: `[ln ℓ_1 .. ln ℓ_G, ln σ², ln σ_n²]`.
pub type Theta = Vec<f64>;

/// Training inputs with their squared distances per length-scale group precomputed (they do
/// not depend on the hyperparameters, and the likelihood is evaluated many times).
pub struct Data {
    pub x: Vec<Vec<f64>>,
    /// Feature → group (parameter) index.
    pub groups: Vec<usize>,
    pub n_groups: usize,
    /// `d2[g][i * n + j]`: squared distance of points i and j in the features of group g.
    d2: Vec<Vec<f64>>,
}

impl Data {
    pub fn new(x: Vec<Vec<f64>>, groups: Vec<usize>) -> Self {
        let n_groups = groups.iter().map(|g| g + 1).max().unwrap_or(0);
        let n = x.len();
        let mut d2 = vec![vec![0.0; n * n]; n_groups];
        for i in 0..n {
            for j in 0..i {
                for (f, &g) in groups.iter().enumerate() {
                    let d = x[i][f] - x[j][f];
                    d2[g][i * n + j] += d * d;
                }
                for dg in d2.iter_mut() {
                    dg[j * n + i] = dg[i * n + j];
                }
            }
        }
        Data {
            x,
            groups,
            n_groups,
            d2,
        }
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// Matérn 5/2 as a function of the scaled distance r: (1 + √5 r + 5r²/3)·e^(−√5 r).
pub fn matern(r: f64) -> f64 {
    (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * (-SQRT5 * r).exp()
}

/// The factor that turns a group's scaled squared distance s_g = d2_g / ℓ_g² into the
/// derivative of Matérn by ln ℓ_g: (5/3)(1 + √5 r)·e^(−√5 r)·s_g (finite at r = 0).
pub fn matern_dlog(r: f64) -> f64 {
    5.0 / 3.0 * (1.0 + SQRT5 * r) * (-SQRT5 * r).exp()
}

/// Matérn and its derivative factor (`matern`, `matern_dlog`) of each pair of points under
/// `theta`'s length scales, packed by rows (pair (i, j < i) at i(i−1)/2 + j): both come from
/// one exponential, which is most of a pair's cost, and the likelihood needs both.
fn kernel_pairs(data: &Data, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = data.len();
    let g = data.n_groups;
    let inv_l2: Vec<f64> = theta[..g].iter().map(|l| (-2.0 * l).exp()).collect();
    let pairs = n * n.saturating_sub(1) / 2;
    let (mut k, mut dlog) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for i in 0..n {
        for j in 0..i {
            let r2: f64 = (0..g).map(|q| data.d2[q][i * n + j] * inv_l2[q]).sum();
            let r = r2.sqrt();
            let e = (-SQRT5 * r).exp();
            // The same operations as `matern` and `matern_dlog`, so the same bits.
            k.push((1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * e);
            dlog.push(5.0 / 3.0 * (1.0 + SQRT5 * r) * e);
        }
    }
    (k, dlog)
}

/// Weak priors on the log-parameters, as (mean, sd) of a normal on each: length scales
/// around 0.5·√G (longer in more dimensions, where data are sparser), signal variance
/// around 1 (outputs are standardised), noise around 1e-3 (objectives are often nearly
/// deterministic, but the noise must be able to grow for noisy ones).
fn priors(n_groups: usize) -> Vec<(f64, f64)> {
    let mut p = vec![((0.5 * (n_groups as f64).sqrt()).ln(), 1.5); n_groups];
    p.push((0.0, 1.0));
    p.push(((1e-3f64).ln(), 2.0));
    p
}

/// The least noise variance (standardised units). Deterministic objectives need it tiny: the
/// improvements left near an optimum are far below the observed values' spread, and a floor
/// of 1e-6 made the GP smooth them away (Branin median regret 2.5e-5 against 6.7e-7 with
/// this floor, 20 seeds). Noisy objectives still fit their noise; the prior keeps it there.
const NOISE_FLOOR: f64 = 1e-9;

/// Bounds on the log-parameters.
fn bounds(n_groups: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![(0.01f64).ln(); n_groups];
    let mut hi = vec![(20.0f64).ln(); n_groups];
    lo.extend([(0.05f64).ln(), NOISE_FLOOR.ln()]);
    hi.extend([(20.0f64).ln(), (1.0f64).ln()]);
    (lo, hi)
}

/// Negative log marginal likelihood minus log prior, and its gradient in `theta`.
pub fn objective(data: &Data, y: &[f64], theta: &[f64]) -> Option<(f64, Vec<f64>)> {
    let n = data.len();
    let g = data.n_groups;
    let (kpairs, dlog) = kernel_pairs(data, theta);
    let (signal, noise) = (theta[g].exp(), theta[g + 1].exp());
    let mut l = Factor::default();
    let mut row = Vec::with_capacity(n);
    for i in 0..n {
        let at = i * i.saturating_sub(1) / 2;
        row.clear();
        row.extend(kpairs[at..at + i].iter().map(|m| signal * m));
        l.push(&row, signal + noise + JITTER)?;
    }
    let mut alpha = y.to_vec();
    l.solve_lower(&mut alpha);
    let fit = dot(&alpha, &alpha);
    l.solve_upper(&mut alpha);
    let mut value = 0.5 * fit + l.half_logdet() + 0.5 * n as f64 * std::f64::consts::TAU.ln();

    // W = ααᵀ − K⁻¹; dNLL/dθ = −½ Σ W ∘ dK/dθ.
    let kinv = l.inverse();
    let inv_l2: Vec<f64> = theta[..g].iter().map(|v| (-2.0 * v).exp()).collect();
    let mut grad = vec![0.0; g + 2];
    for i in 0..n {
        let at = i * i.saturating_sub(1) / 2;
        for j in 0..i {
            let w = alpha[i] * alpha[j] - kinv[i * n + j];
            let common = signal * dlog[at + j];
            for q in 0..g {
                // Off-diagonal pairs count twice (W and dK are symmetric).
                grad[q] -= w * common * data.d2[q][i * n + j] * inv_l2[q];
            }
            grad[g] -= w * signal * kpairs[at + j];
        }
        let w = alpha[i] * alpha[i] - kinv[i * n + i];
        grad[g] -= 0.5 * w * signal;
        grad[g + 1] -= 0.5 * w * noise;
    }
    for (k, (mean, sd)) in priors(g).into_iter().enumerate() {
        let z = (theta[k] - mean) / sd;
        value += 0.5 * z * z;
        grad[k] += z / sd;
    }
    Some((value, grad))
}

/// Where a fit from scratch starts: the prior means, then `restarts` draws from the priors.
pub fn cold_starts(n_groups: usize, restarts: usize, rng: &mut impl Rng) -> Vec<Theta> {
    let pri = priors(n_groups);
    let mut starts: Vec<Theta> = vec![pri.iter().map(|(m, _)| *m).collect()];
    for _ in 0..restarts {
        starts.push(
            pri.iter()
                .map(|(m, s)| m + s * crate::search::strategy::normal::sample(rng))
                .collect(),
        );
    }
    starts
}

/// Fit the hyperparameters: L-BFGS (at most `iters` iterations) from each of `starts`; the
/// best optimum wins (the prior means when nothing could be evaluated), with its objective
/// (negative log marginal likelihood and log prior; infinite when never evaluated).
pub fn fit(data: &Data, y: &[f64], starts: &[Theta], iters: usize) -> (Theta, f64) {
    let g = data.n_groups;
    let (lo, hi) = bounds(g);
    let f = |t: &[f64]| objective(data, y, t);
    let mut best: Option<(Theta, f64)> = None;
    for s in starts {
        let (t, v) = lbfgs::minimize(&f, s, &lo, &hi, iters);
        if best.as_ref().is_none_or(|(_, bv)| v < *bv) {
            best = Some((t, v));
        }
    }
    best.unwrap_or_else(|| (priors(g).iter().map(|(m, _)| *m).collect(), f64::INFINITY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Data, Vec<f64>) {
        let x: Vec<Vec<f64>> = (0..12)
            .map(|i| vec![i as f64 / 11.0, ((i * 7) % 12) as f64 / 11.0])
            .collect();
        let y: Vec<f64> = x.iter().map(|p| (6.0 * p[0]).sin() + 0.1 * p[1]).collect();
        (Data::new(x, vec![0, 1]), y)
    }

    #[test]
    fn objective_is_the_marginal_likelihood() {
        // Straight from the definitions: K from `matern`, ½yᵀK⁻¹y + ½ln|K| + (n/2)ln 2π, and
        // the priors' ½z².
        let (data, y) = toy();
        let theta: Vec<f64> = vec![-0.7, 0.3, 0.2, -4.0];
        let n = data.len();
        let (signal, noise) = (theta[2].exp(), theta[3].exp());
        let mut l = Factor::default();
        for i in 0..n {
            let row: Vec<f64> = (0..i)
                .map(|j| {
                    let d = [data.x[i][0] - data.x[j][0], data.x[i][1] - data.x[j][1]];
                    let r2 = (d[0] / theta[0].exp()).powi(2) + (d[1] / theta[1].exp()).powi(2);
                    signal * matern(r2.sqrt())
                })
                .collect();
            l.push(&row, signal + noise + JITTER).unwrap();
        }
        let mut a = y.clone();
        l.solve_lower(&mut a);
        let prior: f64 = priors(2)
            .iter()
            .zip(&theta)
            .map(|((m, s), t)| 0.5 * ((t - m) / s).powi(2))
            .sum();
        let want = 0.5 * dot(&a, &a)
            + l.half_logdet()
            + 0.5 * n as f64 * std::f64::consts::TAU.ln()
            + prior;
        let (got, _) = objective(&data, &y, &theta).unwrap();
        assert!((got - want).abs() < 1e-9 * want.abs(), "{got} vs {want}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (data, y) = toy();
        let theta = vec![-0.7, 0.3, 0.2, -4.0];
        let (_, grad) = objective(&data, &y, &theta).unwrap();
        for k in 0..theta.len() {
            let h = 1e-5;
            let mut a = theta.clone();
            let mut b = theta.clone();
            a[k] += h;
            b[k] -= h;
            let fd = (objective(&data, &y, &a).unwrap().0 - objective(&data, &y, &b).unwrap().0)
                / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() < 1e-4 * (1.0 + fd.abs()),
                "θ{k}: {fd} vs {}",
                grad[k]
            );
        }
    }
}
