//! The GP conditioned on data with fixed hyperparameters (`gp.rs` fits them): mean and
//! standard deviation of the latent function at one point, with their gradients (for the
//! acquisition's optimiser), or at many points at once (for scoring candidates).
//!
//! The Cholesky factor grows one row per point (`linalg::Factor`), so `bayes` keeps it
//! between proposals while the hyperparameters stay the same and only adds the new
//! observations' rows; a posterior built from nothing goes through the same rows in the same
//! order and is the same to the bit.

use crate::search::strategy::gp::{JITTER, Theta, matern, matern_dlog};
use crate::search::strategy::linalg::{Factor, axpy, dot};

/// Candidates scored together: an n×64 block of kernel values stays in cache.
const BLOCK: usize = 64;

pub struct Posterior {
    x: Vec<Vec<f64>>,
    /// 1/ℓ² of each feature's group.
    inv_l2: Vec<f64>,
    signal: f64,
    factor: Factor,
    alpha: Vec<f64>,
    /// The kernel matrix's diagonal: signal, noise and jitter.
    diag: f64,
}

impl Posterior {
    /// Condition on features `x` (one length-scale group per feature in `groups`) and values
    /// `y` under `theta`. `factor` is the factor this function built before for a prefix of
    /// the same `x` under the same `theta` ([`Posterior::into_factor`]), or empty; the rows
    /// past it are added. None when the kernel matrix is not positive definite.
    pub fn new(
        x: Vec<Vec<f64>>,
        groups: &[usize],
        y: &[f64],
        theta: &Theta,
        mut factor: Factor,
    ) -> Option<Self> {
        let g = theta.len() - 2;
        let mut post = Posterior {
            inv_l2: groups.iter().map(|&q| (-2.0 * theta[q]).exp()).collect(),
            signal: theta[g].exp(),
            x,
            factor: Factor::default(),
            alpha: Vec::new(),
            diag: 0.0,
        };
        let diag = post.signal + theta[g + 1].exp() + JITTER;
        post.diag = diag;
        factor.truncate(post.x.len());
        for i in factor.len()..post.x.len() {
            let row: Vec<f64> = (0..i).map(|j| post.k(&post.x[i], &post.x[j])).collect();
            factor.push(&row, diag)?;
        }
        let mut alpha = y.to_vec();
        factor.solve_lower(&mut alpha);
        factor.solve_upper(&mut alpha);
        post.factor = factor;
        post.alpha = alpha;
        Some(post)
    }

    /// This posterior further conditioned on the points `xs`; `y` holds the values of every
    /// row, the existing ones first. Only the new rows of the factor are computed.
    pub fn extended(mut self, xs: Vec<Vec<f64>>, y: &[f64]) -> Option<Self> {
        for x in xs {
            let row: Vec<f64> = self.x.iter().map(|xj| self.k(&x, xj)).collect();
            self.factor.push(&row, self.diag)?;
            self.x.push(x);
        }
        let mut alpha = y.to_vec();
        self.factor.solve_lower(&mut alpha);
        self.factor.solve_upper(&mut alpha);
        self.alpha = alpha;
        Some(self)
    }

    /// The factor, to extend for the next proposal.
    pub fn into_factor(self) -> Factor {
        self.factor
    }

    pub fn factor(&self) -> &Factor {
        &self.factor
    }

    /// The scaled squared distance of two feature vectors.
    #[inline]
    fn r2(&self, a: &[f64], b: &[f64]) -> f64 {
        let mut s = 0.0;
        for f in 0..a.len() {
            let d = a[f] - b[f];
            s += d * d * self.inv_l2[f];
        }
        s
    }

    #[inline]
    fn k(&self, a: &[f64], b: &[f64]) -> f64 {
        self.signal * matern(self.r2(a, b).sqrt())
    }

    /// Mean and standard deviation at feature vector `x`.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let mut k: Vec<f64> = self.x.iter().map(|xi| self.k(xi, x)).collect();
        let mean = dot(&k, &self.alpha);
        self.factor.solve_lower(&mut k);
        let var = self.signal - dot(&k, &k);
        (mean, var.max(1e-12).sqrt())
    }

    /// Mean and standard deviation at features `x`, with their gradients in `x`.
    pub fn predict_grad(&self, x: &[f64]) -> (f64, f64, Vec<f64>, Vec<f64>) {
        let n = self.x.len();
        let d = x.len();
        let mut k = vec![0.0; n];
        // dk_i/dx = −s·m'(r)·(x − x_i)/ℓ², stored as the factor s·m'(r) per point.
        let mut dfac = vec![0.0; n];
        for (i, xi) in self.x.iter().enumerate() {
            let r = self.r2(x, xi).sqrt();
            k[i] = self.signal * matern(r);
            dfac[i] = self.signal * matern_dlog(r);
        }
        let mean = dot(&k, &self.alpha);
        let mut w = k;
        self.factor.solve_lower(&mut w);
        let var = self.signal - dot(&w, &w);
        let sd = var.max(1e-12).sqrt();
        // v = K⁻¹k, so dvar/dx = −2 vᵀ dk/dx.
        self.factor.solve_upper(&mut w);
        let mut dmean = vec![0.0; d];
        let mut dvar = vec![0.0; d];
        for (i, xi) in self.x.iter().enumerate() {
            for f in 0..d {
                let dk = -dfac[i] * (x[f] - xi[f]) * self.inv_l2[f];
                dmean[f] += self.alpha[i] * dk;
                dvar[f] -= 2.0 * w[i] * dk;
            }
        }
        let dsd = if var > 1e-12 {
            dvar.iter().map(|v| v / (2.0 * sd)).collect()
        } else {
            vec![0.0; d]
        };
        (mean, sd, dmean, dsd)
    }

    /// Mean and standard deviation at each of `xs`, a block of candidates at a time (one
    /// triangular solve with many right-hand sides instead of one per candidate).
    pub fn predict_many(&self, xs: &[Vec<f64>]) -> Vec<(f64, f64)> {
        let n = self.x.len();
        let mut out = Vec::with_capacity(xs.len());
        let mut kb = vec![0.0; n * BLOCK];
        for chunk in xs.chunks(BLOCK) {
            let m = chunk.len();
            let kb = &mut kb[..n * m];
            let mut mean = vec![0.0; m];
            for (i, xi) in self.x.iter().enumerate() {
                let row = &mut kb[i * m..(i + 1) * m];
                for (v, c) in row.iter_mut().zip(chunk) {
                    *v = self.k(xi, c);
                }
                axpy(self.alpha[i], row, &mut mean);
            }
            self.factor.solve_lower_many(kb, m);
            let mut explained = vec![0.0; m];
            for i in 0..n {
                for (e, w) in explained.iter_mut().zip(&kb[i * m..(i + 1) * m]) {
                    *e += w * w;
                }
            }
            out.extend(
                mean.into_iter()
                    .zip(explained)
                    .map(|(mu, e)| (mu, (self.signal - e).max(1e-12).sqrt())),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::strategy::gp::{self, Data};
    use rand::SeedableRng;

    fn toy() -> (Vec<Vec<f64>>, Vec<f64>) {
        let x: Vec<Vec<f64>> = (0..12)
            .map(|i| vec![i as f64 / 11.0, ((i * 7) % 12) as f64 / 11.0])
            .collect();
        let y: Vec<f64> = x.iter().map(|p| (6.0 * p[0]).sin() + 0.1 * p[1]).collect();
        (x, y)
    }

    #[test]
    fn fitted_model_interpolates_and_knows_what_it_does_not_know() {
        let (x, y) = toy();
        let data = Data::new(x.clone(), vec![0, 1]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (theta, _) = gp::fit(&data, &y, &gp::cold_starts(2, 2, &mut rng), 60);
        // x1 matters much more than x2: its length scale is shorter.
        assert!(theta[0] < theta[1], "{theta:?}");
        let post = Posterior::new(x.clone(), &[0, 1], &y, &theta, Factor::default()).unwrap();
        for (xi, yi) in x.iter().zip(&y) {
            let (m, s) = post.predict(xi);
            assert!((m - yi).abs() < 0.05 && s < 0.1, "{m} vs {yi}, sd {s}");
        }
        let (_, far) = post.predict(&[3.0, 3.0]);
        assert!(far > 0.5, "{far}");
        // Scoring many at once agrees with one at a time.
        let probe: Vec<Vec<f64>> = (0..150)
            .map(|i| vec![(i as f64 * 0.37).fract(), (i as f64 * 0.61).fract()])
            .collect();
        for (p, (m, s)) in probe.iter().zip(post.predict_many(&probe)) {
            let (m1, s1) = post.predict(p);
            assert!((m - m1).abs() < 1e-9 && (s - s1).abs() < 1e-9);
        }
    }

    #[test]
    fn an_extended_factor_is_the_same_as_a_fresh_one() {
        let (x, y) = toy();
        let theta = vec![-1.0, -0.5, 0.0, -9.0];
        let first =
            Posterior::new(x[..7].to_vec(), &[0, 1], &y[..7], &theta, Factor::default()).unwrap();
        let kept = Posterior::new(x.clone(), &[0, 1], &y, &theta, first.into_factor()).unwrap();
        let fresh = Posterior::new(x, &[0, 1], &y, &theta, Factor::default()).unwrap();
        assert_eq!(kept.alpha, fresh.alpha);
        assert_eq!(kept.predict(&[0.3, 0.3]), fresh.predict(&[0.3, 0.3]));
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (x, y) = toy();
        let theta = vec![-1.0, -0.5, 0.0, -9.0];
        let post = Posterior::new(x, &[0, 1], &y, &theta, Factor::default()).unwrap();
        let at = [0.37, 0.81];
        let (_, _, dm, ds) = post.predict_grad(&at);
        for k in 0..2 {
            let h = 1e-6;
            let (mut a, mut b) = (at, at);
            a[k] += h;
            b[k] -= h;
            let (ma, sa) = post.predict(&a);
            let (mb, sb) = post.predict(&b);
            let (fm, fs) = ((ma - mb) / (2.0 * h), (sa - sb) / (2.0 * h));
            assert!(
                (fm - dm[k]).abs() < 1e-4 * (1.0 + fm.abs()),
                "{fm} vs {}",
                dm[k]
            );
            assert!(
                (fs - ds[k]).abs() < 1e-4 * (1.0 + fs.abs()),
                "{fs} vs {}",
                ds[k]
            );
        }
    }
}
