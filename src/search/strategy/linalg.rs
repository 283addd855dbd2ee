//! The dense linear algebra the GP needs, in f64: dot products, a Cholesky factor that grows
//! one row at a time, triangular solves for one or many right-hand sides, and the inverse of
//! a kernel matrix for the likelihood's gradient.
//!
//! Why by hand and shaped like this: float sums are not reordered by the compiler, so a plain
//! `.sum()` runs at one add per add-latency; four accumulators (`dot`) and loops that update
//! whole rows (`axpy`, vectorised) make the same arithmetic several times faster. Every result
//! is still a fixed sequence of operations, so the same inputs give the same bits.
//!
//! The solves are also compiled for AVX2 and take that build where the CPU has it: four lanes
//! instead of two, each element's operations unchanged (no fused multiply-add), so the bits do
//! not depend on the CPU. A lone `dot` gains nothing from wider vectors (its four partial sums
//! are one dependency chain per lane), so `solve_lower` runs the dots of four rows side by
//! side, each in `dot`'s own order.

/// Σ a_i·b_i over the shorter of the two, with four partial sums in a fixed order.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [0.0f64; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        let i = 4 * c;
        s[0] += a[i] * b[i];
        s[1] += a[i + 1] * b[i + 1];
        s[2] += a[i + 2] * b[i + 2];
        s[3] += a[i + 3] * b[i + 3];
    }
    let mut tail = 0.0;
    for i in 4 * chunks..n {
        tail += a[i] * b[i];
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

/// y += a·x (element-wise over the shorter of the two).
#[inline]
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// The lower Cholesky factor L of a symmetric positive-definite matrix, stored by rows
/// (row i holds L[i][0..=i]). Adding a point to the GP adds one row and leaves the others as
/// they are, so a factor built row by row from empty is the same, bit for bit, as one kept
/// and extended: the incremental path cannot change a result.
#[derive(Clone, Debug, Default)]
pub struct Factor {
    data: Vec<f64>,
    n: usize,
}

impl Factor {
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn row(&self, i: usize) -> &[f64] {
        let start = i * (i + 1) / 2;
        &self.data[start..start + i + 1]
    }

    /// Append the row of a new point: `k` is its covariance with the existing points, `diag`
    /// its variance (noise included). None (and nothing changed) when the extended matrix is
    /// not positive definite.
    pub fn push(&mut self, k: &[f64], diag: f64) -> Option<()> {
        debug_assert_eq!(k.len(), self.n);
        let mut l = k.to_vec();
        self.solve_lower(&mut l);
        let d = diag - dot(&l, &l);
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        self.data.extend_from_slice(&l);
        self.data.push(d.sqrt());
        self.n += 1;
        Some(())
    }

    /// Drop rows past the first `n` (points added for one proposal only).
    pub fn truncate(&mut self, n: usize) {
        if n < self.n {
            self.n = n;
            self.data.truncate(n * (n + 1) / 2);
        }
    }

    /// Solve L·x = b in place (b has `len()` entries): row i is `b[i] = (b[i] − dot(L[i][..i],
    /// b[..i])) / L[i][i]`, with `dot`'s exact sequence of operations.
    pub fn solve_lower(&self, b: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, all the other build assumes.
            return unsafe { self.solve_lower_avx2(b) };
        }
        self.solve_lower_plain(b)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn solve_lower_avx2(&self, b: &mut [f64]) {
        self.solve_lower_plain(b)
    }

    /// Four rows at a time. Rows 4q..4q+3 share `dot`'s whole chunks (elements 0..4q, all
    /// known before the block starts), so their sixteen partial sums run side by side instead
    /// of as four chains of one row each; each row then adds its own tail (elements 4q..i, in
    /// order) and is solved in turn. Every row's operations and their order are `dot`'s, so
    /// the bits are those of one row at a time (`the_blocked_solves_give_the_row_by_row_bits`).
    #[inline(always)]
    fn solve_lower_plain(&self, b: &mut [f64]) {
        let n = self.n;
        let blocks = n / 4;
        for q in 0..blocks {
            let i0 = 4 * q;
            let rows = [
                self.row(i0),
                self.row(i0 + 1),
                self.row(i0 + 2),
                self.row(i0 + 3),
            ];
            let mut s = [[0.0f64; 4]; 4];
            for c in 0..q {
                let j = 4 * c;
                let x = [b[j], b[j + 1], b[j + 2], b[j + 3]];
                for (sk, r) in s.iter_mut().zip(&rows) {
                    sk[0] += r[j] * x[0];
                    sk[1] += r[j + 1] * x[1];
                    sk[2] += r[j + 2] * x[2];
                    sk[3] += r[j + 3] * x[3];
                }
            }
            for (k, (sk, r)) in s.iter().zip(&rows).enumerate() {
                let i = i0 + k;
                let mut tail = 0.0;
                for j in i0..i {
                    tail += r[j] * b[j];
                }
                let d = (sk[0] + sk[1]) + (sk[2] + sk[3]) + tail;
                b[i] = (b[i] - d) / r[i];
            }
        }
        for i in 4 * blocks..n {
            let r = self.row(i);
            b[i] = (b[i] - dot(&r[..i], &b[..i])) / r[i];
        }
    }

    /// Solve Lᵀ·x = b in place.
    pub fn solve_upper(&self, b: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, all the other build assumes.
            return unsafe { self.solve_upper_avx2(b) };
        }
        self.solve_upper_plain(b)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn solve_upper_avx2(&self, b: &mut [f64]) {
        self.solve_upper_plain(b)
    }

    /// Row i (from the last) is `b[i] /= L[i][i]`, then `b[..i] += −b[i]·L[i][..i]`. Four rows
    /// at a time: the block's own entries in that order first, then every entry below the
    /// block takes its four updates in the same order in one pass (one load and store of b
    /// instead of four), so the bits are those of one row at a time.
    #[inline(always)]
    fn solve_upper_plain(&self, b: &mut [f64]) {
        let mut i = self.n;
        while i >= 4 {
            let lo = i - 4;
            let rows = [
                self.row(i - 1),
                self.row(i - 2),
                self.row(i - 3),
                self.row(lo),
            ];
            let mut m = [0.0f64; 4];
            for (k, r) in rows.iter().enumerate() {
                let top = i - 1 - k;
                b[top] /= r[top];
                m[k] = -b[top];
                for j in lo..top {
                    b[j] += m[k] * r[j];
                }
            }
            let (r0, r1, r2, r3) = (
                &rows[0][..lo],
                &rows[1][..lo],
                &rows[2][..lo],
                &rows[3][..lo],
            );
            for (j, bj) in b[..lo].iter_mut().enumerate() {
                let mut v = *bj;
                v += m[0] * r0[j];
                v += m[1] * r1[j];
                v += m[2] * r2[j];
                v += m[3] * r3[j];
                *bj = v;
            }
            i = lo;
        }
        for i in (0..i).rev() {
            let r = self.row(i);
            b[i] /= r[i];
            let bi = b[i];
            axpy(-bi, &r[..i], &mut b[..i]);
        }
    }

    /// Solve L·X = B in place for `m` right-hand sides at once: `b` is n×m by rows (row i
    /// holds entry i of every right-hand side), so the inner loop runs over the m columns.
    pub fn solve_lower_many(&self, b: &mut [f64], m: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, all the other build assumes.
            return unsafe { self.solve_lower_many_avx2(b, m) };
        }
        self.solve_lower_many_plain(b, m)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn solve_lower_many_avx2(&self, b: &mut [f64], m: usize) {
        self.solve_lower_many_plain(b, m)
    }

    #[inline(always)]
    fn solve_lower_many_plain(&self, b: &mut [f64], m: usize) {
        for i in 0..self.n {
            let r = self.row(i);
            let (done, rest) = b.split_at_mut(i * m);
            let bi = &mut rest[..m];
            // Four earlier rows per pass: a quarter of the loads and stores of row i.
            let mut k = 0;
            while k + 4 <= i {
                let (l0, l1, l2, l3) = (r[k], r[k + 1], r[k + 2], r[k + 3]);
                let d0 = &done[k * m..(k + 1) * m];
                let d1 = &done[(k + 1) * m..(k + 2) * m];
                let d2 = &done[(k + 2) * m..(k + 3) * m];
                let d3 = &done[(k + 3) * m..(k + 4) * m];
                for j in 0..m {
                    bi[j] -= (l0 * d0[j] + l1 * d1[j]) + (l2 * d2[j] + l3 * d3[j]);
                }
                k += 4;
            }
            for (k, &lik) in r[..i].iter().enumerate().skip(k) {
                axpy(-lik, &done[k * m..(k + 1) * m], bi);
            }
            let inv = 1.0 / r[i];
            bi.iter_mut().for_each(|v| *v *= inv);
        }
    }

    /// Σ ln L_ii: half the log-determinant of the factored matrix.
    pub fn half_logdet(&self) -> f64 {
        (0..self.n).map(|i| self.row(i)[i].ln()).sum()
    }

    /// K⁻¹ as a dense n×n matrix (row-major): L⁻¹ column by column in the row layout, then
    /// K⁻¹ = L⁻ᵀ·L⁻¹, about n³/3 multiply-adds in loops that vectorise.
    pub fn inverse(&self) -> Vec<f64> {
        let n = self.n;
        // Row i of `li` holds L⁻¹[i][..=i].
        let mut li = vec![0.0; n * n];
        for i in 0..n {
            let r = self.row(i);
            let inv = 1.0 / r[i];
            let (done, rest) = li.split_at_mut(i * n);
            let row = &mut rest[..n];
            for (k, &lik) in r[..i].iter().enumerate() {
                axpy(-lik, &done[k * n..k * n + i], &mut row[..i]);
            }
            row[..i].iter_mut().for_each(|v| *v *= inv);
            row[i] = inv;
        }
        // K⁻¹[a][b] = Σ_{i ≥ max(a, b)} L⁻¹[i][a]·L⁻¹[i][b]: accumulate row by row of L⁻¹.
        let mut kinv = vec![0.0; n * n];
        for i in 0..n {
            let row = &li[i * n..i * n + i + 1];
            for (a, &va) in row.iter().enumerate() {
                axpy(va, &row[..=a], &mut kinv[a * n..a * n + a + 1]);
            }
        }
        for a in 0..n {
            for b in 0..a {
                kinv[b * n + a] = kinv[a * n + b];
            }
        }
        kinv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize) -> Vec<f64> {
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let d = i as f64 - j as f64;
                a[i * n + j] = (-0.1 * d * d).exp() + if i == j { 0.1 } else { 0.0 };
            }
        }
        a
    }

    fn factor(a: &[f64], n: usize) -> Factor {
        let mut f = Factor::default();
        for i in 0..n {
            f.push(&a[i * n..i * n + i], a[i * n + i]).unwrap();
        }
        f
    }

    #[test]
    fn solves_and_inverts() {
        let n = 9;
        let a = spd(n);
        let f = factor(&a, n);
        let want: Vec<f64> = (0..n).map(|i| i as f64 - 3.0).collect();
        let mut b: Vec<f64> = (0..n).map(|r| dot(&a[r * n..(r + 1) * n], &want)).collect();
        f.solve_lower(&mut b);
        f.solve_upper(&mut b);
        for (x, w) in b.iter().zip(&want) {
            assert!((x - w).abs() < 1e-9, "{x} vs {w}");
        }
        let kinv = f.inverse();
        for r in 0..n {
            for c in 0..n {
                let v: f64 = (0..n).map(|k| a[r * n + k] * kinv[k * n + c]).sum();
                assert!((v - f64::from(u8::from(r == c))).abs() < 1e-9);
            }
        }
        // Many right-hand sides at once match one at a time.
        let m = 3;
        let mut many: Vec<f64> = (0..n * m).map(|k| (k as f64).sin()).collect();
        let cols: Vec<Vec<f64>> = (0..m)
            .map(|c| (0..n).map(|i| many[i * m + c]).collect())
            .collect();
        f.solve_lower_many(&mut many, m);
        for (c, mut col) in cols.into_iter().enumerate() {
            f.solve_lower(&mut col);
            for i in 0..n {
                assert!((col[i] - many[i * m + c]).abs() < 1e-12);
            }
        }
    }

    /// The AVX2 builds give the plain builds' bits.
    #[test]
    fn the_avx2_solves_give_the_plain_bits() {
        let n = 37;
        let f = factor(&spd(n), n);
        let m = 11;
        let b0: Vec<f64> = (0..n * m).map(|k| (k as f64 * 0.37).sin()).collect();
        let (mut a, mut b) = (b0.clone(), b0.clone());
        f.solve_lower_many(&mut a, m);
        f.solve_lower_many_plain(&mut b, m);
        assert_eq!(a, b);
        let (mut a, mut b) = (b0[..n].to_vec(), b0[..n].to_vec());
        f.solve_upper(&mut a);
        f.solve_upper_plain(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, b0[..n].to_vec());
    }

    /// The blocked solves give the bits of the one-row-at-a-time loops they replaced, at every
    /// size around the block of four.
    #[test]
    fn the_blocked_solves_give_the_row_by_row_bits() {
        for n in 0..23 {
            let f = factor(&spd(n), n);
            let b0: Vec<f64> = (0..n).map(|k| (k as f64 * 0.61).cos() * 3.0).collect();
            let mut want = b0.clone();
            for i in 0..n {
                let r = f.row(i);
                want[i] = (want[i] - dot(&r[..i], &want[..i])) / r[i];
            }
            let (mut a, mut p) = (b0.clone(), b0.clone());
            f.solve_lower(&mut a);
            f.solve_lower_plain(&mut p);
            assert_eq!(a, want, "lower, n = {n}");
            assert_eq!(p, want, "lower plain, n = {n}");
            for i in (0..n).rev() {
                let r = f.row(i);
                want[i] /= r[i];
                let wi = want[i];
                axpy(-wi, &r[..i], &mut want[..i]);
            }
            f.solve_upper(&mut a);
            f.solve_upper_plain(&mut p);
            assert_eq!(a, want, "upper, n = {n}");
            assert_eq!(p, want, "upper plain, n = {n}");
        }
    }

    #[test]
    fn not_positive_definite_is_refused() {
        let mut f = Factor::default();
        f.push(&[], 1.0).unwrap();
        assert!(f.push(&[2.0], 1.0).is_none());
        assert_eq!(f.len(), 1);
    }
}
