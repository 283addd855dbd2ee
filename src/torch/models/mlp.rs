//! `mlp`: fully connected layers over the flattened input.

use tch::{Tensor, nn};

use super::dropout::MaskDropout;
use crate::hparams::Activation;

#[derive(Debug)]
pub struct Mlp {
    hidden: Vec<nn::Linear>,
    out: nn::Linear,
    activation: Activation,
    dropout: f64,
}

pub fn build(
    p: &nn::Path,
    inputs: i64,
    hidden_layers: usize,
    units: usize,
    activation: Activation,
    dropout: f64,
    outputs: i64,
) -> Mlp {
    let mut hidden = Vec::new();
    let mut width = inputs;
    for i in 0..hidden_layers {
        hidden.push(nn::linear(
            p / format!("hidden{i}"),
            width,
            units as i64,
            Default::default(),
        ));
        width = units as i64;
    }
    Mlp {
        hidden,
        out: nn::linear(p / "out", width, outputs, Default::default()),
        activation,
        dropout,
    }
}

impl nn::ModuleT for Mlp {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut h = xs.flatten(1, -1);
        for layer in &self.hidden {
            h = self
                .activation
                .apply(&h.apply(layer))
                .mask_dropout(self.dropout, train);
        }
        h.apply(&self.out)
    }
}
