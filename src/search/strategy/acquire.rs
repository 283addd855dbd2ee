//! Maximising `bayes`'s acquisition: its gradient through the GP posterior, and a multi-start
//! L-BFGS-B over the continuous coordinates (the box is the unit cube), followed by a pattern
//! search over the discrete ones (integer levels and choices, where there is no gradient).
//!
//! Why gradients: near the optimum the useful improvements are tiny, and random candidates or
//! a coordinate pattern search stall a step size away from the acquisition's peak; a
//! quasi-Newton step lands on it, which is what lets the GP converge to small regrets.

use rand::Rng;

use crate::search::strategy::encode::{Coord, Encoder, Kind, Point};
use crate::search::strategy::posterior::Posterior;
use crate::search::strategy::{lbfgs, normal};

/// L-BFGS iterations per start.
const LBFGS_ITERS: usize = 60;
/// Acquisition evaluations per pattern search over discrete coordinates.
const PATTERN_BUDGET: usize = 200;

/// An acquisition in standardised units, maximised: log EI, log PI, or the lower confidence
/// bound's negative. `target` is the best observed value minus `xi`.
#[derive(Clone, Copy)]
pub enum Score {
    LogEi { target: f64 },
    LogPi { target: f64 },
    Lcb { kappa: f64 },
}

impl Score {
    pub fn value(&self, mean: f64, sd: f64) -> f64 {
        match *self {
            Score::LogEi { target } => sd.ln() + normal::log_h((target - mean) / sd),
            Score::LogPi { target } => normal::log_cdf((target - mean) / sd),
            Score::Lcb { kappa } => kappa * sd - mean,
        }
    }

    /// The score's partial derivatives in (mean, sd).
    fn partials(&self, mean: f64, sd: f64) -> (f64, f64) {
        match *self {
            Score::LogEi { target } => {
                // d log h / dz = Φ(z)/h(z); z = (target − μ)/σ.
                let z = (target - mean) / sd;
                let ratio = (normal::log_cdf(z) - normal::log_h(z)).exp();
                (-ratio / sd, 1.0 / sd - ratio * z / sd)
            }
            Score::LogPi { target } => {
                let z = (target - mean) / sd;
                let ratio = (normal::log_pdf(z) - normal::log_cdf(z)).exp();
                (-ratio / sd, -ratio * z / sd)
            }
            Score::Lcb { kappa } => (-1.0, kappa),
        }
    }
}

/// Maximise `score` from each of `starts`; returns (score, point) per start.
pub fn maximise(
    enc: &Encoder,
    post: &Posterior,
    score: Score,
    starts: &[Point],
) -> Vec<(f64, Point)> {
    let acq = |p: &[Coord]| {
        let (m, s) = post.predict(&enc.features(p));
        score.value(m, s)
    };
    // Feature index of each parameter's first feature.
    let mut offset = Vec::with_capacity(enc.len());
    let mut f = 0;
    for k in &enc.kinds {
        offset.push(f);
        f += match k {
            Kind::Num { .. } => 1,
            Kind::Cat { n } => *n,
        };
    }
    let has_discrete = enc
        .kinds
        .iter()
        .any(|k| !matches!(k, Kind::Num { levels: None }));
    starts
        .iter()
        .map(|start| {
            let active = enc.active(start);
            let free: Vec<usize> = (0..enc.len())
                .filter(|&i| active[i] && matches!(enc.kinds[i], Kind::Num { levels: None }))
                .collect();
            let mut point = start.clone();
            if !free.is_empty() {
                let at = |v: &[f64]| {
                    let mut p = start.clone();
                    for (&i, &u) in free.iter().zip(v) {
                        p[i] = Coord::Num(u);
                    }
                    p
                };
                let objective = |v: &[f64]| {
                    let (m, s, dm, ds) = post.predict_grad(&enc.features(&at(v)));
                    let value = score.value(m, s);
                    if !value.is_finite() {
                        return None;
                    }
                    let (pm, ps) = score.partials(m, s);
                    let grad = free
                        .iter()
                        .map(|&i| -(pm * dm[offset[i]] + ps * ds[offset[i]]))
                        .collect();
                    Some((-value, grad))
                };
                let v0: Vec<f64> = free
                    .iter()
                    .map(|&i| match start[i] {
                        Coord::Num(u) => u,
                        Coord::Cat(_) => 0.5,
                    })
                    .collect();
                let (lo, hi) = (vec![0.0; free.len()], vec![1.0; free.len()]);
                let (v, _) = lbfgs::minimize(&objective, &v0, &lo, &hi, LBFGS_ITERS);
                point = at(&v);
            }
            if has_discrete {
                pattern(enc, &point, &acq)
            } else {
                (acq(&point), point)
            }
        })
        .collect()
}

/// A point near `base`: numeric coordinates moved by a normal step of a random scale (0.02
/// to 0.2 of the range), each choice resampled with probability 0.2.
pub fn perturb(enc: &Encoder, base: &[Coord], rng: &mut impl Rng) -> Point {
    let sigma = [0.02, 0.05, 0.1, 0.2][rng.random_range(0..4)];
    base.iter()
        .enumerate()
        .map(|(i, c)| match c {
            Coord::Num(u) => Coord::Num((u + sigma * normal::sample(rng)).clamp(0.0, 1.0)),
            Coord::Cat(_) if rng.random::<f64>() < 0.2 => enc.random_coord(i, rng),
            c => *c,
        })
        .collect()
}

/// Pattern search from `start`: try each active coordinate one step up and down (every other
/// option for a choice), move on the first improvement, halve the step when none improves.
fn pattern(enc: &Encoder, start: &[Coord], acq: &dyn Fn(&[Coord]) -> f64) -> (f64, Point) {
    let mut cur: Point = start.to_vec();
    let mut best = acq(&cur);
    let mut step = 0.1;
    let mut evals = 0;
    while step >= 1e-3 && evals < PATTERN_BUDGET {
        let mut improved = false;
        let active = enc.active(&cur);
        for i in (0..cur.len()).filter(|&i| active[i]) {
            let tries: Vec<Coord> = match cur[i] {
                Coord::Num(u) => [u + step, u - step]
                    .into_iter()
                    .filter(|v| (0.0..=1.0).contains(v))
                    .map(Coord::Num)
                    .collect(),
                Coord::Cat(k) => match enc.kinds[i] {
                    Kind::Cat { n } => (0..n).filter(|&j| j != k).map(Coord::Cat).collect(),
                    _ => Vec::new(),
                },
            };
            for t in tries {
                let mut cand = cur.clone();
                cand[i] = t;
                let v = acq(&cand);
                evals += 1;
                if v > best {
                    best = v;
                    cur = cand;
                    improved = true;
                    break;
                }
            }
        }
        if !improved {
            step *= 0.5;
        }
    }
    (best, cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::strategy::linalg::Factor;

    #[test]
    fn acquisition_gradient_matches_finite_differences() {
        let x: Vec<Vec<f64>> = (0..9)
            .map(|i| vec![i as f64 / 8.0, ((i * 5) % 9) as f64 / 8.0])
            .collect();
        let y: Vec<f64> = x.iter().map(|p| (5.0 * p[0]).sin() + p[1] * p[1]).collect();
        let theta = vec![-1.0, -0.5, 0.0, -9.0];
        let post = Posterior::new(x, &[0, 1], &y, &theta, Factor::default()).unwrap();
        let best = y.iter().copied().fold(f64::INFINITY, f64::min);
        for score in [
            Score::LogEi { target: best },
            Score::LogPi { target: best - 0.1 },
            Score::Lcb { kappa: 2.0 },
        ] {
            let f = |p: &[f64]| {
                let (m, s) = post.predict(p);
                score.value(m, s)
            };
            let at = [0.37, 0.81];
            let (m, s, dm, ds) = post.predict_grad(&at);
            let (pm, ps) = score.partials(m, s);
            for k in 0..2 {
                let h = 1e-6;
                let (mut a, mut b) = (at, at);
                a[k] += h;
                b[k] -= h;
                let fd = (f(&a) - f(&b)) / (2.0 * h);
                let g = pm * dm[k] + ps * ds[k];
                assert!((fd - g).abs() < 1e-4 * (1.0 + fd.abs()), "{k}: {fd} vs {g}");
            }
        }
    }
}
