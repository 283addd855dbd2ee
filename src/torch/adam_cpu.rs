//! Adam's update on the CPU in one pass over the raw f32 memory.
//!
//! Written on tensors (`optim::update`) the update makes about 13 passes over each parameter
//! and allocates 7 temporaries; on B5 (small MLPs, one thread a trial) that was about 13% of
//! a search's time. Here each element is read and written once, with the same f32 operations
//! in the same order as the tensor path. The results agree to within an ulp or two, not to
//! the bit: ATen's float sqrt on the CPU is MKL's (about 1 ulp), Rust's is correctly rounded.
//! A CPU run takes this path from its first step to its last, resumed or not, so its numbers
//! stay exact and deterministic.

use tch::{Device, Kind, Tensor};

/// Adam's constants for one step, as the tensor path rounds them (f64 scalars become f32).
pub struct Step {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ.
    pub bc1: f64,
    pub bc2: f64,
    /// AdamW's decoupled decay factor 1 − lr·wd, applied to `p` first (`None`: Adam).
    pub decay: Option<f64>,
}

/// Update `p` in place from `g` and the moments `m`, `v`; false (nothing touched) when the
/// tensors are not all contiguous f32 on the CPU with one size, and the caller's tensor path
/// must run instead.
pub fn update(p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, s: &Step) -> bool {
    let n = p.numel();
    let fits = |t: &Tensor| {
        t.device() == Device::Cpu && t.kind() == Kind::Float && t.is_contiguous() && t.numel() == n
    };
    if ![p, g, m, v].into_iter().all(fits) {
        return false;
    }
    // Four distinct buffers: a parameter, its gradient and its two moments never share one.
    let ptrs = [p, g, m, v].map(|t| t.data_ptr() as usize);
    if (1..4).any(|i| ptrs[..i].contains(&ptrs[i])) {
        return false;
    }
    // SAFETY: each pointer is the start of a contiguous f32 buffer of `n` elements (checked
    // above), the four are distinct tensors' storages, and no other thread touches them
    // during the step (a worker's trial runs on one thread of Rust code).
    let (p, g, m, v) = unsafe {
        (
            std::slice::from_raw_parts_mut(ptrs[0] as *mut f32, n),
            std::slice::from_raw_parts(ptrs[1] as *const f32, n),
            std::slice::from_raw_parts_mut(ptrs[2] as *mut f32, n),
            std::slice::from_raw_parts_mut(ptrs[3] as *mut f32, n),
        )
    };
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, which is all `pass_avx2` was compiled for.
        unsafe { pass_avx2(p, g, m, v, s) };
        return true;
    }
    pass(p, g, m, v, s);
    true
}

/// `pass` compiled for AVX2: the same IEEE operations (no fused multiply-add), so the same
/// bits, eight lanes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pass_avx2(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &Step) {
    pass(p, g, m, v, s)
}

#[inline(always)]
fn pass(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &Step) {
    let (b1, b2) = (s.beta1 as f32, s.beta2 as f32);
    let (one_b1, one_b2) = ((1.0 - s.beta1) as f32, (1.0 - s.beta2) as f32);
    let (bc2, eps, step) = (s.bc2 as f32, s.eps as f32, (s.lr / s.bc1) as f32);
    // x · 1 is x: Adam's path multiplies by 1 rather than branching in the loop.
    let decay = s.decay.map_or(1.0, |d| d as f32);
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *p *= decay;
        *m = *m * b1 + g * one_b1;
        *v = *v * b2 + g * g * one_b2;
        *p -= *m / ((*v / bc2).sqrt() + eps) * step;
    }
}

#[cfg(test)]
mod tests {
    use super::super::hparams::{OptKind, OptParams};
    use super::super::optim::{adam_step, adam_tensors};
    use tch::{Kind, Tensor};

    fn params(kind: OptKind, weight_decay: f64) -> OptParams {
        OptParams {
            kind,
            lr: 3e-3,
            momentum: 0.0,
            nesterov: false,
            beta1: 0.9,
            beta2: 0.999,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay,
            l1: 0.0,
        }
    }

    /// 20 steps of Adam and of AdamW with weight decay, from the same random start, one pass
    /// against the tensor path: the same moments to the bit (no sqrt in them), parameters
    /// within a few ulps (ATen's sqrt is MKL's), and a wrong formula is far outside that.
    #[test]
    fn one_pass_adam_matches_the_tensor_path() {
        for kind in [OptKind::Adam, OptKind::AdamW] {
            tch::manual_seed(7);
            let hp = params(kind, if kind == OptKind::AdamW { 0.01 } else { 0.0 });
            let p0 = Tensor::randn([37, 19], (Kind::Float, tch::Device::Cpu));
            let (mut pa, pb) = (p0.copy(), p0.copy());
            let mut sa = [p0.zeros_like(), p0.zeros_like()];
            let sb = [p0.zeros_like(), p0.zeros_like()];
            let mut moved = false;
            for t in 1..=20 {
                let g = Tensor::randn([37, 19], (Kind::Float, tch::Device::Cpu)) * 0.1;
                let s = adam_step(&hp, t as f64);
                adam_tensors(&s, &mut pa, &g, &mut sa);
                assert!(super::update(&pb, &g, &sb[0], &sb[1], &s));
                moved |= !pb.equal(&p0);
            }
            assert!(moved, "{kind:?}: the parameter never moved");
            assert!(
                sa[0].equal(&sb[0]) && sa[1].equal(&sb[1]),
                "{kind:?}: moments differ"
            );
            // The steps moved each weight by up to 20 · lr = 0.06; a few ulps of 1 are 1e-6.
            let off = (&pa - &pb).abs().max().double_value(&[]);
            assert!(off < 1e-6, "{kind:?}: parameters differ by up to {off}");
        }
    }

    /// The AVX2 build of the loop and the plain one give the same bits (the same IEEE
    /// operations), so a run's numbers do not depend on the CPU's vector width.
    #[test]
    fn the_vector_and_plain_loops_agree_to_the_bit() {
        let hp = params(OptKind::AdamW, 0.01);
        let n = 1003;
        let g: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 1e-3)
            .collect();
        let start: Vec<f32> = (0..n)
            .map(|i| ((i * 13 % 97) as f32 - 48.0) * 1e-2)
            .collect();
        let (mut pa, mut ma, mut va) = (start.clone(), vec![0.0f32; n], vec![0.0f32; n]);
        let (mut pb, mut mb, mut vb) = (start.clone(), vec![0.0f32; n], vec![0.0f32; n]);
        for t in 1..=5 {
            let s = adam_step(&hp, t as f64);
            super::pass(&mut pa, &g, &mut ma, &mut va, &s);
            let (pt, gt) = (Tensor::from_slice(&pb), Tensor::from_slice(&g));
            let (mt, vt) = (Tensor::from_slice(&mb), Tensor::from_slice(&vb));
            assert!(super::update(&pt, &gt, &mt, &vt, &s));
            pb = Vec::<f32>::try_from(&pt).unwrap();
            mb = Vec::<f32>::try_from(&mt).unwrap();
            vb = Vec::<f32>::try_from(&vt).unwrap();
        }
        assert_ne!(pa, start);
        let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&pa), bits(&pb));
        assert_eq!(bits(&ma), bits(&mb));
        assert_eq!(bits(&va), bits(&vb));
    }

    /// What it cannot do in one pass it leaves to the tensor path, untouched.
    #[test]
    fn other_kinds_and_shared_buffers_fall_back() {
        let s = adam_step(&params(OptKind::Adam, 0.0), 1.0);
        let p = Tensor::ones([4], (Kind::Double, tch::Device::Cpu));
        let (m, v) = (p.zeros_like(), p.zeros_like());
        assert!(!super::update(&p, &p.ones_like(), &m, &v, &s));
        assert!(p.equal(&p.ones_like()));
        let f = Tensor::ones([4], (Kind::Float, tch::Device::Cpu));
        assert!(!super::update(&f, &f.ones_like(), &f, &f.zeros_like(), &s));
        let strided = Tensor::ones([4, 4], (Kind::Float, tch::Device::Cpu)).tr();
        let g = Tensor::ones([4, 4], (Kind::Float, tch::Device::Cpu));
        assert!(!super::update(
            &g.copy(),
            &strided,
            &g.zeros_like(),
            &g.zeros_like(),
            &s
        ));
    }
}
