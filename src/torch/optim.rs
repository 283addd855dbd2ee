//! Optimizers written on tensors (SGD with momentum/Nesterov, Adam, AdamW, RMSprop, AdaGrad),
//! because tch's own cannot save their state and a checkpoint must hold all of it.
//!
//! Parameters are paired with their state by name, sorted (`VarStore::variables()` is a
//! HashMap, so its order is not stable). State tensors are saved as `<kind>.<buffer>/<param>`
//! plus `<kind>.step`; loading state written by another optimizer kind starts that state fresh
//! (a PBT clone may switch optimizer), loading a partial one of the same kind is an error.

use std::collections::HashMap;
use std::path::Path;

use tch::{Kind, Tensor, nn::VarStore};

use super::hparams::{OptKind, OptParams};

pub struct Optimizer {
    hp: OptParams,
    /// Trainable variables sorted by name.
    params: Vec<(String, Tensor)>,
    /// One list of buffers per parameter, in the order of `buffers(kind)`.
    state: Vec<Vec<Tensor>>,
    step: i64,
}

fn buffers(kind: OptKind) -> &'static [&'static str] {
    match kind {
        OptKind::Sgd => &["momentum"],
        OptKind::Adam | OptKind::AdamW => &["exp_avg", "exp_avg_sq"],
        OptKind::RmsProp => &["square_avg", "momentum"],
        OptKind::Adagrad => &["sum"],
    }
}

impl Optimizer {
    pub fn new(vs: &VarStore, hp: &OptParams) -> Optimizer {
        let mut params: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let state = params
            .iter()
            .map(|(_, p)| buffers(hp.kind).iter().map(|_| p.zeros_like()).collect())
            .collect();
        Optimizer {
            hp: hp.clone(),
            params,
            state,
            step: 0,
        }
    }

    /// This epoch's learning rate (from the schedule).
    pub fn set_lr(&mut self, lr: f64) {
        self.hp.lr = lr;
    }

    /// Scale the gradients so that their global norm is at most `max_norm`. On the device,
    /// without reading the norm back: a read per step would synchronise a GPU.
    pub fn clip_grad_norm(&mut self, max_norm: f64) {
        let grads: Vec<Tensor> = self.params.iter().map(|(_, p)| p.grad()).collect();
        let Some(total) = grads
            .iter()
            .filter(|g| g.defined())
            .map(|g| g.square().sum(Kind::Float))
            .reduce(|a, b| a + b)
        else {
            return;
        };
        let scale = (total.sqrt() + 1e-6).reciprocal() * max_norm;
        let scale = scale.clamp_max(1.0);
        tch::no_grad(|| {
            for g in grads.iter().filter(|g| g.defined()) {
                let _ = g.shallow_clone().g_mul_(&scale);
            }
        });
    }

    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// `l1 · Σ|w|` over every parameter, to add to the loss; `None` when l1 is 0.
    pub fn l1_penalty(&self) -> Option<Tensor> {
        if self.hp.l1 <= 0.0 {
            return None;
        }
        let total = self
            .params
            .iter()
            .map(|(_, p)| p.abs().sum(Kind::Float))
            .reduce(|a, b| a + b)?;
        Some(total * self.hp.l1)
    }

    /// One update from the gradients that `backward` left on the parameters.
    pub fn step(&mut self) {
        self.step += 1;
        let hp = self.hp.clone();
        let t = self.step as f64;
        tch::no_grad(|| {
            for ((_, p), st) in self.params.iter_mut().zip(self.state.iter_mut()) {
                let grad = p.grad();
                if !grad.defined() {
                    continue;
                }
                let g = if hp.weight_decay > 0.0 && hp.kind != OptKind::AdamW {
                    &grad + &*p * hp.weight_decay
                } else {
                    grad
                };
                update(&hp, t, p, &g, st);
            }
        });
    }

    /// Every state tensor with its saved name (for the checkpoint and for tests).
    pub fn named_state(&self) -> Vec<(String, Tensor)> {
        let kind = self.hp.kind.name();
        let mut out = vec![(format!("{kind}.step"), Tensor::from_slice(&[self.step]))];
        for ((name, _), st) in self.params.iter().zip(&self.state) {
            for (buf, t) in buffers(self.hp.kind).iter().zip(st) {
                out.push((
                    format!("{kind}.{buf}/{name}"),
                    t.to_device(tch::Device::Cpu).contiguous(),
                ));
            }
        }
        out
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        Tensor::write_safetensors(&self.named_state(), path)
            .map_err(|e| format!("saving optimizer state: {e}"))
    }

    /// Restore the state saved by `save`. Returns false when the file holds another
    /// optimizer's state (ours then starts fresh).
    pub fn load(&mut self, path: &Path) -> Result<bool, String> {
        let saved: HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .map_err(|e| format!("reading optimizer state: {e}"))?
            .into_iter()
            .collect();
        let kind = self.hp.kind.name();
        let Some(step) = saved.get(&format!("{kind}.step")) else {
            return Ok(false);
        };
        self.step = step
            .f_int64_value(&[0])
            .map_err(|e| format!("optimizer step: {e}"))?;
        for ((name, _), st) in self.params.iter().zip(self.state.iter_mut()) {
            for (buf, t) in buffers(self.hp.kind).iter().zip(st.iter_mut()) {
                let key = format!("{kind}.{buf}/{name}");
                let src = saved
                    .get(&key)
                    .ok_or_else(|| format!("optimizer state lacks {key}"))?;
                if src.size() != t.size() {
                    return Err(format!(
                        "optimizer state {key} has shape {:?}, want {:?}",
                        src.size(),
                        t.size()
                    ));
                }
                tch::no_grad(|| t.f_copy_(src))
                    .map_err(|e| format!("optimizer state {key}: {e}"))?;
            }
        }
        Ok(true)
    }
}

/// The update of one parameter `p` with gradient `g` (L2 already added) at step `t`.
fn update(hp: &OptParams, t: f64, p: &mut Tensor, g: &Tensor, st: &mut [Tensor]) {
    match hp.kind {
        OptKind::Sgd => {
            let dir = if hp.momentum > 0.0 {
                let buf = &mut st[0];
                let _ = buf.g_mul_scalar_(hp.momentum);
                let _ = buf.g_add_(g);
                if hp.nesterov {
                    g + &*buf * hp.momentum
                } else {
                    buf.shallow_clone()
                }
            } else {
                g.shallow_clone()
            };
            let _ = p.g_sub_(&(dir * hp.lr));
        }
        OptKind::Adam | OptKind::AdamW => {
            let s = adam_step(hp, t);
            // On the CPU one pass over the memory (the same arithmetic, to an ulp: adam_cpu.rs).
            if !super::adam_cpu::update(p, g, &st[0], &st[1], &s) {
                adam_tensors(&s, p, g, st);
            }
        }
        OptKind::RmsProp => {
            let (sq, rest) = st.split_at_mut(1);
            let (sq, buf) = (&mut sq[0], &mut rest[0]);
            let _ = sq.g_mul_scalar_(hp.alpha);
            let _ = sq.g_add_(&(g * g * (1.0 - hp.alpha)));
            let scaled = g / (sq.sqrt() + hp.eps);
            if hp.momentum > 0.0 {
                let _ = buf.g_mul_scalar_(hp.momentum);
                let _ = buf.g_add_(&scaled);
                let _ = p.g_sub_(&(&*buf * hp.lr));
            } else {
                let _ = p.g_sub_(&(scaled * hp.lr));
            }
        }
        OptKind::Adagrad => {
            let sum = &mut st[0];
            let _ = sum.g_add_(&(g * g));
            let _ = p.g_sub_(&(g / (sum.sqrt() + hp.eps) * hp.lr));
        }
    }
}

/// Adam's (or AdamW's) constants at step `t`.
pub fn adam_step(hp: &OptParams, t: f64) -> super::adam_cpu::Step {
    super::adam_cpu::Step {
        lr: hp.lr,
        beta1: hp.beta1,
        beta2: hp.beta2,
        eps: hp.eps,
        bc1: 1.0 - hp.beta1.powf(t),
        bc2: 1.0 - hp.beta2.powf(t),
        decay: (hp.kind == OptKind::AdamW && hp.weight_decay > 0.0)
            .then(|| 1.0 - hp.lr * hp.weight_decay),
    }
}

/// Adam's update written on tensors (any device or kind); `st` is [exp_avg, exp_avg_sq].
pub fn adam_tensors(s: &super::adam_cpu::Step, p: &mut Tensor, g: &Tensor, st: &mut [Tensor]) {
    if let Some(d) = s.decay {
        let _ = p.g_mul_scalar_(d);
    }
    let (m, rest) = st.split_at_mut(1);
    let (m, v) = (&mut m[0], &mut rest[0]);
    let _ = m.g_mul_scalar_(s.beta1);
    let _ = m.g_add_(&(g * (1.0 - s.beta1)));
    let _ = v.g_mul_scalar_(s.beta2);
    let _ = v.g_add_(&(g * g * (1.0 - s.beta2)));
    let denom = (&*v / s.bc2).sqrt() + s.eps;
    let _ = p.g_sub_(&(&*m / denom * (s.lr / s.bc1)));
}
