//! One model being trained: its variables, network, optimizer and head; an epoch of training
//! and the files of its state. Every epoch reseeds libtorch from (seed, epoch) and draws the
//! data order from that seed, so that an epoch does not depend on what ran before it in the
//! process: resuming from a checkpoint gives the same weights as never stopping.

use std::path::Path;

use tch::{Device, Kind, Tensor, nn::VarStore};

use super::data::Part;
use super::head::Head;
use super::hparams::HParams;
use super::models::{self, Net};
use super::optim::Optimizer;

pub const WEIGHTS: &str = "weights.safetensors";
pub const OPTIMIZER: &str = "optimizer.safetensors";

pub struct Session {
    pub vs: VarStore,
    pub net: Net,
    pub opt: Optimizer,
    pub head: Head,
    batch_size: i64,
    grad_clip: f64,
}

/// The libtorch seed of `epoch` of a trial (epoch 0 seeds the initial weights): splitmix64,
/// so that neighbouring epochs get unrelated streams.
pub fn seed_for(seed: u64, epoch: u32) -> i64 {
    let mut z = seed ^ u64::from(epoch).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 1) as i64
}

impl Session {
    /// Build the network with weights drawn from the trial's seed. `Err` is an architecture
    /// that cannot be built for this data: the trial is infeasible.
    pub fn new(
        hp: &HParams,
        shape: &[usize],
        head: Head,
        device: Device,
        seed: u64,
    ) -> Result<Session, String> {
        tch::manual_seed(seed_for(seed, 0));
        let vs = VarStore::new(device);
        let net = models::build(&vs.root(), hp, shape, head.outputs())?;
        let opt = Optimizer::new(&vs, &hp.opt);
        Ok(Session {
            vs,
            net,
            opt,
            head,
            batch_size: hp.batch_size as i64,
            grad_clip: hp.grad_clip,
        })
    }

    /// One pass over `data` in a seeded random order; the mean training loss (NaN or infinite
    /// when training diverged).
    pub fn train_epoch(&mut self, data: &Part, seed: u64, epoch: u32) -> f64 {
        tch::manual_seed(seed_for(seed, epoch));
        let n = data.len();
        if n == 0 {
            return 0.0;
        }
        let device = data.x.device();
        // Drawn on the CPU so that the order is the same on every device, then moved once.
        let order = Tensor::randperm(n, (Kind::Int64, Device::Cpu)).to_device(device);
        let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
        let mut start = 0;
        while start < n {
            let len = self.batch_size.min(n - start);
            let idx = order.narrow(0, start, len);
            let out = self.net.forward_t(&data.x.index_select(0, &idx), true);
            let loss = self.head.loss(&out, &data.y.index_select(0, &idx));
            loss_sum += loss.detach().to_kind(Kind::Double) * len as f64;
            let total = match self.opt.l1_penalty() {
                Some(l1) => &loss + l1,
                None => loss,
            };
            self.opt.zero_grad();
            total.backward();
            if self.grad_clip > 0.0 {
                self.opt.clip_grad_norm(self.grad_clip);
            }
            self.opt.step();
            start += len;
        }
        // One read per epoch: on CUDA a read per batch would synchronise every step.
        loss_sum.double_value(&[]) / n as f64
    }

    pub fn save(&self, dir: &Path) -> hpflow::Result<()> {
        self.vs
            .save(dir.join(WEIGHTS))
            .map_err(|e| hpflow::Error::internal(format!("saving weights: {e}")))?;
        self.opt
            .save(&dir.join(OPTIMIZER))
            .map_err(hpflow::Error::internal)
    }

    /// Restore weights and, when the folder has it, optimizer state.
    pub fn load(&mut self, dir: &Path) -> Result<(), String> {
        self.load_weights(&dir.join(WEIGHTS))?;
        let opt = dir.join(OPTIMIZER);
        if opt.exists() && !self.opt.load(&opt)? {
            tracing::info!(
                "{} holds another optimizer's state; starting it fresh",
                opt.display()
            );
        }
        Ok(())
    }

    pub fn load_weights(&mut self, path: &Path) -> Result<(), String> {
        self.vs.load(path).map_err(|e| {
            format!(
                "loading {}: {e} (was it trained with another architecture?)",
                path.display()
            )
        })
    }
}
