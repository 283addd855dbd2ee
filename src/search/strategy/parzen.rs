//! The multivariate Parzen estimator of TPE: a mixture with one product kernel per observed
//! point plus one prior component, over the unit-cube coordinates of `encode.rs`.
//!
//! - Numeric coordinates: a normal kernel truncated to [0, 1] centred on the observation,
//!   with an adaptive bandwidth per point and coordinate (see [`bandwidths`]: the gap to its
//!   neighbours, Bergstra's original rule). On the benchmark it beat the fixed multivariate
//!   Scott's rule 0.2·n^(−1/(d+4)) clearly (Hartmann6 median regret 0.08 against 0.37).
//! - Choices: each observation puts weight 1 on its option plus `PRIOR_WEIGHT` spread evenly
//!   over all options, so an option nobody tried keeps some probability.
//! - The prior component (weight `PRIOR_WEIGHT`) is a wide normal N(0.5, 1) truncated to the
//!   cube for numbers and uniform for choices: the estimator is never zero anywhere.
//! - Conditional parameters: a component whose observation did not have parameter `i` active
//!   uses the prior for coordinate `i`, and the bandwidth of `i` counts only the observations
//!   where it was active. The density of a point is over the parameters active at that point
//!   only, so a parameter is in effect fitted on the observations where it was active.

use rand::Rng;

use crate::search::strategy::encode::{Coord, Encoder, Kind, Point};
use crate::search::strategy::normal;

/// The weight of the prior component, and of the uniform part of a categorical kernel.
pub const PRIOR_WEIGHT: f64 = 1.0;

/// Mixture terms this far (in log) below the largest are skipped rather than exponentiated:
/// e^-40 is under f64's relative precision, and most components are far from a given point.
const SKIP: f64 = 40.0;

/// One kernel in one coordinate.
#[derive(Debug, Clone)]
enum Kernel {
    /// A normal truncated to [0, 1]. `log_norm` = −ln σ − ln √(2π) − ln(mass inside), so the
    /// log density is one multiply-add away (density evaluation is TPE's hot loop).
    Num {
        mu: f64,
        sigma: f64,
        inv_sigma: f64,
        log_norm: f64,
    },
    /// Log-probabilities of each option.
    Cat { log_p: Vec<f64> },
}

impl Kernel {
    fn num(mu: f64, sigma: f64) -> Self {
        // The mass inside [0, 1] is 1 to f64 precision when both ends are 9σ away.
        let mass = if mu.min(1.0 - mu) > 9.0 * sigma {
            1.0
        } else {
            normal::cdf((1.0 - mu) / sigma) - normal::cdf(-mu / sigma)
        };
        Kernel::Num {
            mu,
            sigma,
            inv_sigma: 1.0 / sigma,
            log_norm: normal::log_pdf(0.0) - sigma.ln() - mass.max(1e-300).ln(),
        }
    }

    fn prior(kind: &Kind) -> Self {
        match kind {
            Kind::Num { .. } => Kernel::num(0.5, 1.0),
            Kind::Cat { n } => Kernel::Cat {
                log_p: vec![-(*n as f64).ln(); *n],
            },
        }
    }

    fn log_density(&self, c: Coord) -> f64 {
        match (self, c) {
            (
                Kernel::Num {
                    mu,
                    inv_sigma,
                    log_norm,
                    ..
                },
                Coord::Num(x),
            ) => {
                let z = (x - mu) * inv_sigma;
                log_norm - 0.5 * z * z
            }
            (Kernel::Cat { log_p }, Coord::Cat(k)) => {
                log_p.get(k).copied().unwrap_or(f64::NEG_INFINITY)
            }
            _ => f64::NEG_INFINITY,
        }
    }

    fn sample(&self, rng: &mut impl Rng) -> Coord {
        match self {
            Kernel::Num { mu, sigma, .. } => {
                // Rejection from the untruncated normal: with sigma <= 1 and mu in [0, 1] at
                // least a third of the draws land inside, so a hundred tries suffice.
                for _ in 0..100 {
                    let x = mu + sigma * normal::sample(rng);
                    if (0.0..=1.0).contains(&x) {
                        return Coord::Num(x);
                    }
                }
                Coord::Num(mu.clamp(0.0, 1.0))
            }
            Kernel::Cat { log_p } => {
                let mut u: f64 = rng.random();
                for (k, lp) in log_p.iter().enumerate() {
                    u -= lp.exp();
                    if u <= 0.0 {
                        return Coord::Cat(k);
                    }
                }
                Coord::Cat(log_p.len() - 1)
            }
        }
    }
}

/// A fitted estimator.
pub struct Parzen {
    /// `components[c][i]`: the kernel of component c in coordinate i (the last component is
    /// the prior).
    components: Vec<Vec<Kernel>>,
    log_weights: Vec<f64>,
    /// The same mixture flattened, when every kernel is numeric (no choices): density
    /// evaluation is TPE's hot loop, and this form needs no branching per coordinate.
    dense: Option<Dense>,
}

/// Coordinate i, component c at `i * n + c` (columns, so the loop over components for one
/// coordinate is contiguous and vectorises): the mean and 1/(2σ²); `base[c]` is the
/// component's log weight plus its kernels' log normalisers, everything but the quadratic.
struct Dense {
    n: usize,
    mu: Vec<f64>,
    half_prec: Vec<f64>,
    base: Vec<f64>,
}

impl Dense {
    fn new(components: &[Vec<Kernel>], log_weights: &[f64], d: usize) -> Option<Self> {
        let n = components.len();
        let mut dense = Dense {
            n,
            mu: vec![0.0; n * d],
            half_prec: vec![0.0; n * d],
            base: Vec::with_capacity(n),
        };
        for (c, (kernels, lw)) in components.iter().zip(log_weights).enumerate() {
            let mut base = *lw;
            for (i, k) in kernels.iter().enumerate() {
                let Kernel::Num {
                    mu,
                    inv_sigma,
                    log_norm,
                    ..
                } = k
                else {
                    return None;
                };
                dense.mu[i * n + c] = *mu;
                dense.half_prec[i * n + c] = 0.5 * inv_sigma * inv_sigma;
                base += log_norm;
            }
            dense.base.push(base);
        }
        Some(dense)
    }

    fn log_density(&self, x: &[f64]) -> f64 {
        let mut t = self.base.clone();
        let cols = self
            .mu
            .chunks_exact(self.n)
            .zip(self.half_prec.chunks_exact(self.n));
        for (xi, (mu, hp)) in x.iter().zip(cols) {
            for ((t, m), h) in t.iter_mut().zip(mu).zip(hp) {
                let z = xi - m;
                *t -= z * z * h;
            }
        }
        let max = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // Terms below e^-40 of the largest cannot change the sum's f64 value: skip their exp.
        let sum: f64 = t
            .iter()
            .filter(|v| **v > max - SKIP)
            .map(|v| (v - max).exp())
            .sum();
        max + sum.ln()
    }
}

impl Parzen {
    /// Fit on partial points (None: the parameter was inactive in that observation).
    /// `weights` (one per point, relative; the prior has `PRIOR_WEIGHT`) set each component's
    /// share of the mixture; `clip` scales the least bandwidth (see [`bandwidths`]).
    pub fn fit(enc: &Encoder, points: &[Vec<Option<Coord>>], weights: &[f64], clip: f64) -> Self {
        let d = enc.len();
        let priors: Vec<Kernel> = enc.kinds.iter().map(Kernel::prior).collect();
        let sigmas: Vec<Vec<f64>> = (0..d).map(|i| bandwidths(points, i, clip)).collect();
        let mut components: Vec<Vec<Kernel>> = points
            .iter()
            .enumerate()
            .map(|(c, p)| {
                (0..d)
                    .map(|i| match (p[i], &enc.kinds[i]) {
                        (Some(Coord::Num(x)), _) => Kernel::num(x, sigmas[i][c]),
                        (Some(Coord::Cat(k)), Kind::Cat { n }) => {
                            let base = PRIOR_WEIGHT / *n as f64;
                            let total = 1.0 + PRIOR_WEIGHT;
                            let log_p = (0..*n)
                                .map(|j| ((base + if j == k { 1.0 } else { 0.0 }) / total).ln())
                                .collect();
                            Kernel::Cat { log_p }
                        }
                        _ => priors[i].clone(),
                    })
                    .collect()
            })
            .collect();
        components.push(priors);
        let total = weights.iter().sum::<f64>() + PRIOR_WEIGHT;
        let mut log_weights: Vec<f64> = weights.iter().map(|w| (w / total).ln()).collect();
        log_weights.push((PRIOR_WEIGHT / total).ln());
        let dense = Dense::new(&components, &log_weights, d);
        Parzen {
            components,
            log_weights,
            dense,
        }
    }

    /// The log density at `point` over the coordinates marked `active`: a log-sum-exp over
    /// the components (the flat form when every coordinate is numeric and active, else one
    /// pass over the kernels with a running maximum).
    pub fn log_density(&self, point: &[Coord], active: &[bool]) -> f64 {
        if let Some(dense) = &self.dense
            && active.iter().all(|a| *a)
        {
            let x: Vec<f64> = point
                .iter()
                .map(|c| match c {
                    Coord::Num(x) => *x,
                    Coord::Cat(_) => f64::NAN,
                })
                .collect();
            if x.iter().all(|v| !v.is_nan()) {
                return dense.log_density(&x);
            }
        }
        let (mut max, mut sum) = (f64::NEG_INFINITY, 0.0);
        for (kernels, lw) in self.components.iter().zip(&self.log_weights) {
            let mut t = *lw;
            for ((k, c), a) in kernels.iter().zip(point).zip(active) {
                if *a {
                    t += k.log_density(*c);
                }
            }
            if t == f64::NEG_INFINITY || t <= max - SKIP {
                continue;
            } else if t <= max {
                sum += (t - max).exp();
            } else {
                sum = sum * (max - t).exp() + 1.0;
                max = t;
            }
        }
        if max == f64::NEG_INFINITY {
            max
        } else {
            max + sum.ln()
        }
    }

    /// A draw from the mixture: pick a component by weight, then each coordinate from it.
    pub fn sample(&self, rng: &mut impl Rng) -> Point {
        let mut u: f64 = rng.random();
        let mut chosen = self.components.len() - 1;
        for (c, lw) in self.log_weights.iter().enumerate() {
            u -= lw.exp();
            if u <= 0.0 {
                chosen = c;
                break;
            }
        }
        self.components[chosen]
            .iter()
            .map(|k| k.sample(rng))
            .collect()
    }
}

/// The bandwidth of each point's kernel in numeric coordinate `i` (0 where the point has no
/// numeric value there): the larger gap to its neighbours among the values in that
/// coordinate, with the cube's ends as outer neighbours, except that the two outermost points
/// use their inner gap (so one point near an end is not given a huge kernel). Dense regions
/// get narrow kernels, sparse ones wide; clipped to [clip/min(100, n+2), 1] (`clip` 1 is
/// Optuna's "magic clip").
fn bandwidths(points: &[Vec<Option<Coord>>], i: usize, clip: f64) -> Vec<f64> {
    // Sorted by the bits of x: for non-negative floats (+ 0.0 turns −0 into +0) their order
    // is the numbers' order, and integer keys sort several times faster than a float compare.
    let mut keys: Vec<(u64, usize)> = points
        .iter()
        .enumerate()
        .filter_map(|(c, p)| match p[i] {
            Some(Coord::Num(x)) => Some(((x.max(0.0) + 0.0).to_bits(), c)),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    let xs: Vec<(f64, usize)> = keys.iter().map(|(b, c)| (f64::from_bits(*b), *c)).collect();
    let n = xs.len();
    let mut with_ends = Vec::with_capacity(n + 2);
    with_ends.push(0.0);
    with_ends.extend(xs.iter().map(|(x, _)| *x));
    with_ends.push(1.0);
    let min_sigma = clip / (n as f64 + 2.0).min(100.0);
    let mut out = vec![0.0; points.len()];
    for (k, (_, c)) in xs.iter().enumerate() {
        let j = k + 1; // position in with_ends
        let gap = if n >= 2 && k == 0 {
            with_ends[2] - with_ends[1]
        } else if n >= 2 && k == n - 1 {
            with_ends[n] - with_ends[n - 1]
        } else {
            (with_ends[j] - with_ends[j - 1]).max(with_ends[j + 1] - with_ends[j])
        };
        out[*c] = gap.clamp(min_sigma, 1.0);
    }
    out
}

pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::strategy::testing::space_of;
    use rand::SeedableRng;

    #[test]
    fn density_integrates_to_one_and_peaks_at_the_data() {
        let space = space_of(&[("x", "{uniform: [0, 1]}"), ("c", "{choice: [a, b, c]}")]);
        let enc = Encoder::new(&space);
        let pts = vec![
            vec![Some(Coord::Num(0.2)), Some(Coord::Cat(1))],
            vec![Some(Coord::Num(0.25)), Some(Coord::Cat(1))],
        ];
        let pz = Parzen::fit(&enc, &pts, &[1.0, 1.0], 1.0);
        let n = 2000;
        let mut mass = 0.0;
        for k in 0..3 {
            for j in 0..n {
                let x = (j as f64 + 0.5) / n as f64;
                mass += pz
                    .log_density(&[Coord::Num(x), Coord::Cat(k)], &[true, true])
                    .exp()
                    / n as f64;
            }
        }
        assert!((mass - 1.0).abs() < 1e-3, "{mass}");
        let at = |x: f64| pz.log_density(&[Coord::Num(x), Coord::Cat(1)], &[true, true]);
        assert!(at(0.22) > at(0.8));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let near = (0..1000)
            .filter(|_| matches!(pz.sample(&mut rng)[0], Coord::Num(x) if (x - 0.225).abs() < 0.2))
            .count();
        // With two points the bandwidth is clipped to 1/3, and a third of the draws come from the
        // prior: about 55% land within 0.2 of the data, against 40% for a uniform draw.
        assert!(near > 500, "{near}");
    }
}
