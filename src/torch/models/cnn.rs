//! `cnn`: convolution blocks (conv, activation, optional pooling) over `[C, H, W]` images,
//! then an optional dense layer. `same` padding follows TensorFlow (output side
//! `ceil(side / stride)`, zeros split left/right), so it is defined for every stride.

use tch::{Tensor, nn};

use super::dropout::MaskDropout;
use crate::hparams::{Activation, Padding, Pool};

#[derive(Debug)]
struct Block {
    conv: nn::Conv2D,
    /// Zero padding `[left, right, top, bottom]` applied before the convolution.
    pad: [i64; 4],
}

#[derive(Debug)]
pub struct Cnn {
    blocks: Vec<Block>,
    pool: Pool,
    pool_size: i64,
    dense: Option<nn::Linear>,
    out: nn::Linear,
    activation: Activation,
    dropout: f64,
}

pub struct CnnShape {
    pub conv_layers: usize,
    pub filters: usize,
    pub kernel_size: usize,
    pub stride: usize,
    pub padding: Padding,
    pub pool: Pool,
    pub pool_size: usize,
    pub dense_units: usize,
}

/// `(before, after)` zeros so that a side of `n` gives `ceil(n / s)` outputs.
fn same_pad(n: i64, k: i64, s: i64) -> (i64, i64) {
    let out = (n + s - 1) / s;
    let total = ((out - 1) * s + k - n).max(0);
    (total / 2, total - total / 2)
}

/// Checks the geometry first (an impossible one is `Err`, the trial is infeasible), then
/// creates the variables.
pub fn build(
    p: &nn::Path,
    shape: &[usize],
    a: &CnnShape,
    activation: Activation,
    dropout: f64,
    outputs: i64,
) -> Result<Cnn, String> {
    let &[c, h, w] = shape else {
        return Err(format!(
            "cnn needs images of shape [C, H, W], the data has rows of shape {shape:?}"
        ));
    };
    let (k, s, ps) = (a.kernel_size as i64, a.stride as i64, a.pool_size as i64);
    let (mut ch, mut hh, mut ww) = (c as i64, h as i64, w as i64);
    let mut blocks = Vec::new();
    for i in 0..a.conv_layers {
        let pad = match a.padding {
            Padding::Valid => [0; 4],
            Padding::Same => {
                let (t, b) = same_pad(hh, k, s);
                let (l, r) = same_pad(ww, k, s);
                [l, r, t, b]
            }
        };
        let (ph, pw) = (hh + pad[2] + pad[3], ww + pad[0] + pad[1]);
        if k > ph || k > pw {
            return Err(format!(
                "conv layer {} has kernel {k} but its input is only {hh}x{ww}",
                i + 1
            ));
        }
        hh = (ph - k) / s + 1;
        ww = (pw - k) / s + 1;
        let conv = nn::conv2d(
            p / format!("conv{i}"),
            ch,
            a.filters as i64,
            k,
            nn::ConvConfig {
                stride: s,
                ..Default::default()
            },
        );
        blocks.push(Block { conv, pad });
        ch = a.filters as i64;
        if a.pool != Pool::None {
            if ps > hh || ps > ww {
                return Err(format!(
                    "pool {ps} after conv layer {} is larger than its input {hh}x{ww}",
                    i + 1
                ));
            }
            hh /= ps;
            ww /= ps;
        }
    }
    let mut width = ch * hh * ww;
    let dense = (a.dense_units > 0).then(|| {
        let l = nn::linear(p / "dense", width, a.dense_units as i64, Default::default());
        width = a.dense_units as i64;
        l
    });
    Ok(Cnn {
        blocks,
        pool: a.pool,
        pool_size: ps,
        dense,
        out: nn::linear(p / "out", width, outputs, Default::default()),
        activation,
        dropout,
    })
}

impl nn::ModuleT for Cnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut h = xs.shallow_clone();
        for b in &self.blocks {
            if b.pad != [0; 4] {
                h = h.constant_pad_nd(b.pad);
            }
            h = self.activation.apply(&h.apply(&b.conv));
            let k = [self.pool_size, self.pool_size];
            h = match self.pool {
                Pool::Max => h.max_pool2d(k, k, [0, 0], [1, 1], false),
                Pool::Avg => h.avg_pool2d(k, k, [0, 0], false, true, None::<i64>),
                Pool::None => h,
            };
        }
        let mut h = h.flatten(1, -1);
        if let Some(d) = &self.dense {
            h = self
                .activation
                .apply(&h.apply(d))
                .mask_dropout(self.dropout, train);
        }
        h.apply(&self.out)
    }
}
