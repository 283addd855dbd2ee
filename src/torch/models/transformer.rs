//! `transformer`: an encoder over a sequence of tokens (an image's rows or patches, or a
//! table's features), with learned positions, post-norm layers as in PyTorch's
//! `TransformerEncoderLayer`, and the mean over tokens feeding the output layer.

use tch::{Kind, Tensor, nn};

use super::dropout::MaskDropout;
use super::sequence;
use crate::hparams::Activation;

#[derive(Debug)]
struct Layer {
    qkv: nn::Linear,
    proj: nn::Linear,
    norm1: nn::LayerNorm,
    ff1: nn::Linear,
    ff2: nn::Linear,
    norm2: nn::LayerNorm,
}

#[derive(Debug)]
pub struct Transformer {
    embed: nn::Linear,
    position: Tensor,
    layers: Vec<Layer>,
    out: nn::Linear,
    heads: i64,
    shape: Vec<usize>,
    patch: usize,
    activation: Activation,
    dropout: f64,
}

pub struct TransformerShape {
    pub heads: usize,
    pub d_model: usize,
    pub ff_dim: usize,
    pub layers: usize,
    pub patch_size: usize,
}

pub fn build(
    p: &nn::Path,
    shape: &[usize],
    a: &TransformerShape,
    activation: Activation,
    dropout: f64,
    outputs: i64,
) -> Result<Transformer, String> {
    if !a.d_model.is_multiple_of(a.heads) {
        return Err(format!(
            "d_model {} is not divisible by heads {}",
            a.d_model, a.heads
        ));
    }
    if a.patch_size > 0 {
        match shape {
            [_, h, w] if h % a.patch_size == 0 && w % a.patch_size == 0 => {}
            [_, h, w] => {
                return Err(format!(
                    "patch_size {} does not divide the {h}x{w} images",
                    a.patch_size
                ));
            }
            _ => {
                return Err(format!(
                    "patch_size needs images, the data has rows of shape {shape:?}"
                ));
            }
        }
    }
    let (steps, features) = sequence::dims(shape, a.patch_size);
    let d = a.d_model as i64;
    let ff = a.ff_dim as i64;
    let layers = (0..a.layers)
        .map(|i| {
            let l = p / format!("layer{i}");
            Layer {
                qkv: nn::linear(&l / "qkv", d, 3 * d, Default::default()),
                proj: nn::linear(&l / "proj", d, d, Default::default()),
                norm1: nn::layer_norm(&l / "norm1", vec![d], Default::default()),
                ff1: nn::linear(&l / "ff1", d, ff, Default::default()),
                ff2: nn::linear(&l / "ff2", ff, d, Default::default()),
                norm2: nn::layer_norm(&l / "norm2", vec![d], Default::default()),
            }
        })
        .collect();
    Ok(Transformer {
        embed: nn::linear(p / "embed", features, d, Default::default()),
        position: p.var(
            "position",
            &[1, steps, d],
            nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        ),
        layers,
        out: nn::linear(p / "out", d, outputs, Default::default()),
        heads: a.heads as i64,
        shape: shape.to_vec(),
        patch: a.patch_size,
        activation,
        dropout,
    })
}

impl Transformer {
    fn attention(&self, l: &Layer, x: &Tensor, train: bool) -> Tensor {
        let (b, t, d) = x.size3().expect("tokens are [batch, steps, d_model]");
        let dh = d / self.heads;
        let split = |m: &Tensor| m.reshape([b, t, self.heads, dh]).transpose(1, 2);
        let qkv = x.apply(&l.qkv).chunk(3, -1);
        let (q, k, v) = (split(&qkv[0]), split(&qkv[1]), split(&qkv[2]));
        let scores = q.matmul(&k.transpose(-2, -1)) / (dh as f64).sqrt();
        let weights = scores
            .softmax(-1, Kind::Float)
            .mask_dropout(self.dropout, train);
        weights
            .matmul(&v)
            .transpose(1, 2)
            .reshape([b, t, d])
            .apply(&l.proj)
    }
}

impl nn::ModuleT for Transformer {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let tokens = if self.patch > 0 {
            sequence::patches(xs, &self.shape, self.patch)
        } else {
            sequence::rows(xs, &self.shape)
        };
        let mut x = tokens.apply(&self.embed) + &self.position;
        for l in &self.layers {
            let a = self
                .attention(l, &x, train)
                .mask_dropout(self.dropout, train);
            x = (x + a).apply(&l.norm1);
            let f = self
                .activation
                .apply(&x.apply(&l.ff1))
                .mask_dropout(self.dropout, train);
            let f = f.apply(&l.ff2).mask_dropout(self.dropout, train);
            x = (x + f).apply(&l.norm2);
        }
        x.mean_dim(1, false, Kind::Float).apply(&self.out)
    }
}
