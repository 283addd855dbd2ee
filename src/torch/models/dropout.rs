//! Dropout with its mask drawn in Rust on the CPU. ATen's CPU dropout draws its Bernoulli mask
//! with a 64-bit Mersenne-Twister number per element on one thread: about 6 ns an element,
//! a tenth of a small MLP's training time (perf on B5). Here each call takes one number from
//! libtorch's generator (so the epoch's `manual_seed` still decides every mask, and a resumed
//! epoch draws the same ones) and expands it with SplitMix64, two 24-bit draws per number.
//! Elsewhere (CUDA), and for p ≥ 1, ATen's own dropout.

use tch::{Device, Kind, Tensor};

pub trait MaskDropout {
    /// Zero each element with probability `p` and scale the rest by 1/(1−p) when training.
    fn mask_dropout(&self, p: f64, train: bool) -> Tensor;
}

impl MaskDropout for Tensor {
    fn mask_dropout(&self, p: f64, train: bool) -> Tensor {
        if !train || p <= 0.0 || self.numel() == 0 {
            return self.shallow_clone();
        }
        if self.device() != Device::Cpu || p >= 1.0 {
            return self.dropout(p, train);
        }
        let seed = Tensor::randint(i64::MAX, [1], (Kind::Int64, Device::Cpu)).int64_value(&[0]);
        let mask = mask(self.numel(), p, seed as u64);
        // In the input's own kind, so that dropout never changes a tensor's precision.
        let mask = Tensor::from_slice(&mask).view(self.size().as_slice());
        self * mask.to_kind(self.kind())
    }
}

/// `n` values, each 0 with probability `p` (to 2⁻²⁴) and 1/(1−p) otherwise.
fn mask(n: usize, p: f64, seed: u64) -> Vec<f32> {
    let below = (p * (1u64 << 24) as f64).round() as u32;
    let scale = 1.0f32 / (1.0 - p) as f32;
    let mut out = vec![0.0f32; n];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, which is all `fill_avx2` was compiled for.
        unsafe { fill_avx2(&mut out, below, scale, seed) };
        return out;
    }
    fill(&mut out, below, scale, seed);
    out
}

/// `fill` compiled for AVX2: the same integer arithmetic, so the same mask, four times wider.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_avx2(out: &mut [f32], below: u32, scale: f32, seed: u64) {
    fill(out, below, scale, seed)
}

/// SplitMix64 is a counter: its k-th number mixes `seed + k·γ`, so each pair of values is
/// computed on its own (and the loop vectorises), the same as drawing them in turn.
#[inline(always)]
fn fill(out: &mut [f32], below: u32, scale: f32, seed: u64) {
    let value = |draw: u64| if (draw as u32) < below { 0.0 } else { scale };
    let mut pairs = out.chunks_exact_mut(2);
    let mut k = 0u64;
    for pair in &mut pairs {
        k += 1;
        let z = splitmix64(seed.wrapping_add(k.wrapping_mul(GAMMA)));
        pair[0] = value(z >> 40);
        pair[1] = value((z >> 8) & 0xFF_FFFF);
    }
    if let [last] = pairs.into_remainder() {
        *last = value(splitmix64(seed.wrapping_add((k + 1).wrapping_mul(GAMMA))) >> 40);
    }
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output for the state `x` (the seed advanced by its counter).
#[inline(always)]
fn splitmix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_drops_p_of_the_elements_and_keeps_the_mean() {
        for p in [0.1, 0.3, 0.5] {
            let m = mask(200_000, p, 7);
            let dropped = m.iter().filter(|v| **v == 0.0).count() as f64 / m.len() as f64;
            assert!((dropped - p).abs() < 0.005, "p {p}: dropped {dropped}");
            let mean = m.iter().map(|v| *v as f64).sum::<f64>() / m.len() as f64;
            assert!((mean - 1.0).abs() < 0.01, "p {p}: mean {mean}");
        }
    }

    /// The counter form gives what drawing SplitMix64's numbers in turn gives (the masks of
    /// checkpoints written before it), odd lengths included.
    #[test]
    fn the_mask_is_splitmix64_drawn_in_turn() {
        for n in [1, 2, 7, 1000, 1001] {
            let (p, seed) = (0.3, 12345u64);
            let below = (p * (1u64 << 24) as f64).round() as u32;
            let scale = 1.0f32 / (1.0 - p) as f32;
            let (mut state, mut want) = (seed, Vec::new());
            while want.len() < n {
                state = state.wrapping_add(GAMMA);
                let z = splitmix64(state);
                for d in [(z >> 40) as u32, ((z >> 8) & 0xFF_FFFF) as u32] {
                    want.push(if d < below { 0.0 } else { scale });
                }
            }
            want.truncate(n);
            assert_eq!(mask(n, p, seed), want, "n {n}");
            let mut plain = vec![0.0; n];
            fill(&mut plain, below, scale, seed);
            assert_eq!(plain, want, "n {n}, without AVX2");
        }
    }

    #[test]
    fn masks_follow_libtorch_s_seed() {
        let x = Tensor::ones([64, 32], (Kind::Float, Device::Cpu));
        tch::manual_seed(3);
        let a = x.mask_dropout(0.4, true);
        let b = x.mask_dropout(0.4, true);
        tch::manual_seed(3);
        let a2 = x.mask_dropout(0.4, true);
        assert!(a.equal(&a2), "the same seed gives the same mask");
        assert!(!a.equal(&b), "the next call draws another mask");
        assert!(
            x.mask_dropout(0.4, false).equal(&x),
            "no dropout outside training"
        );
    }
}
