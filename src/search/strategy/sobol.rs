//! A scrambled Sobol sequence: low-discrepancy points in the unit cube, any point computable
//! from its index alone (samplers are pure functions of the index).
//!
//! Direction numbers: the first 21 dimensions of Joe & Kuo's published table (primitive
//! polynomials over GF(2) with their initial odd numbers m_i < 2^i). Scrambling: a random
//! lower-triangular binary matrix per dimension applied to the direction numbers (Matoušek's
//! linear matrix scramble) followed by a random digital shift, both seeded, so the points keep
//! their stratification (the first 2^k points put exactly one point in every dyadic interval
//! of length 2^-k of each coordinate) while different seeds give independent-looking
//! sequences. Dimensions past the table get plain uniform draws from the caller's stream.

use rand::Rng;

const BITS: usize = 32;

/// (degree s, coefficients a, initial numbers m_1..m_s) for dimensions 2, 3, ...
const TABLE: &[(u32, u32, &[u32])] = &[
    (1, 0, &[1]),
    (2, 1, &[1, 3]),
    (3, 1, &[1, 3, 1]),
    (3, 2, &[1, 1, 1]),
    (4, 1, &[1, 1, 3, 3]),
    (4, 4, &[1, 3, 5, 13]),
    (5, 2, &[1, 1, 5, 5, 17]),
    (5, 4, &[1, 1, 5, 5, 5]),
    (5, 7, &[1, 1, 7, 11, 19]),
    (5, 11, &[1, 1, 5, 1, 1]),
    (5, 13, &[1, 1, 1, 3, 11]),
    (5, 14, &[1, 3, 5, 5, 31]),
    (6, 1, &[1, 3, 3, 9, 7, 49]),
    (6, 13, &[1, 1, 1, 15, 21, 21]),
    (6, 16, &[1, 3, 1, 13, 27, 49]),
    (6, 19, &[1, 1, 1, 15, 7, 5]),
    (6, 22, &[1, 3, 1, 15, 13, 25]),
    (6, 25, &[1, 1, 5, 5, 19, 61]),
    (7, 1, &[1, 3, 7, 11, 23, 15, 103]),
    (7, 4, &[1, 3, 7, 13, 13, 15, 69]),
];

/// The number of dimensions with Sobol coordinates.
pub const MAX_DIMS: usize = TABLE.len() + 1;

/// A scrambled Sobol sequence in `dims` dimensions.
#[derive(Debug, Clone)]
pub struct Sobol {
    /// Scrambled direction numbers, `[dim][bit]`.
    directions: Vec<[u32; BITS]>,
    shifts: Vec<u32>,
    dims: usize,
}

/// The unscrambled direction numbers of dimension `d` (0-based).
fn directions(d: usize) -> [u32; BITS] {
    let mut v = [0u32; BITS];
    if d == 0 {
        for (k, vk) in v.iter_mut().enumerate() {
            *vk = 1 << (BITS - 1 - k);
        }
        return v;
    }
    let (s, a, m) = TABLE[d - 1];
    let s = s as usize;
    for k in 0..BITS {
        v[k] = if k < s {
            m[k] << (BITS - 1 - k)
        } else {
            // The recurrence of the primitive polynomial x^s + a_1 x^{s-1} + ... + 1.
            let mut x = v[k - s] ^ (v[k - s] >> s);
            for j in 1..s {
                if (a >> (s - 1 - j)) & 1 == 1 {
                    x ^= v[k - j];
                }
            }
            x
        };
    }
    v
}

fn parity(x: u32) -> u32 {
    x.count_ones() & 1
}

impl Sobol {
    /// The sequence for `dims` dimensions, scrambled by draws from `rng`.
    pub fn new(dims: usize, rng: &mut impl Rng) -> Self {
        let n = dims.min(MAX_DIMS);
        let mut dirs = Vec::with_capacity(n);
        let mut shifts = Vec::with_capacity(n);
        for d in 0..n {
            // Row r of the lower-triangular matrix (r = 0 is the most significant bit): a one
            // on the diagonal and random bits on the more significant positions.
            let rows: Vec<u32> = (0..BITS)
                .map(|r| {
                    let diag = 1u32 << (BITS - 1 - r);
                    let above = if r == 0 { 0 } else { !0u32 << (BITS - r) };
                    diag | (rng.random::<u32>() & above)
                })
                .collect();
            let raw = directions(d);
            let mut scrambled = [0u32; BITS];
            for (k, out) in scrambled.iter_mut().enumerate() {
                *out = rows.iter().enumerate().fold(0, |acc, (r, row)| {
                    acc | (parity(row & raw[k]) << (BITS - 1 - r))
                });
            }
            dirs.push(scrambled);
            shifts.push(rng.random::<u32>());
        }
        Sobol {
            directions: dirs,
            shifts,
            dims,
        }
    }

    /// Point `index` of the sequence; dimensions past [`MAX_DIMS`] are drawn from `extra`.
    pub fn point(&self, index: u64, extra: &mut impl Rng) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.dims);
        for (v, shift) in self.directions.iter().zip(&self.shifts) {
            let mut x = *shift;
            let mut i = index;
            let mut k = 0;
            while i != 0 && k < BITS {
                if i & 1 == 1 {
                    x ^= v[k];
                }
                i >>= 1;
                k += 1;
            }
            out.push((f64::from(x) + 0.5) / 4_294_967_296.0);
        }
        while out.len() < self.dims {
            out.push(extra.random::<f64>());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn initial_numbers_are_odd_and_small() {
        for (s, _, m) in TABLE {
            assert_eq!(m.len(), *s as usize);
            for (i, mi) in m.iter().enumerate() {
                assert!(mi % 2 == 1 && *mi < 1 << (i + 1), "{m:?}");
            }
        }
    }

    #[test]
    fn every_coordinate_is_stratified() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let sobol = Sobol::new(MAX_DIMS, &mut rng);
        let pts: Vec<Vec<f64>> = (0..256).map(|i| sobol.point(i, &mut rng)).collect();
        for d in 0..MAX_DIMS {
            let mut cells = vec![0; 256];
            for p in &pts {
                cells[(p[d] * 256.0) as usize] += 1;
            }
            assert!(cells.iter().all(|&c| c == 1), "dimension {d}");
        }
    }

    #[test]
    fn pairs_of_coordinates_are_stratified() {
        // A (t, s)-net property in two dimensions: the first 2^k points of dims (0, 1) hit
        // every cell of a 2^(k/2) × 2^(k/2) grid exactly once (t = 0 for those two dims).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let sobol = Sobol::new(2, &mut rng);
        let mut cells = [[0; 16]; 16];
        for i in 0..256 {
            let p = sobol.point(i, &mut rng);
            cells[(p[0] * 16.0) as usize][(p[1] * 16.0) as usize] += 1;
        }
        assert!(cells.iter().flatten().all(|&c| c == 1));
    }
}
