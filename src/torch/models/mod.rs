//! The model families, one file each, and `build`: the one place that turns hyperparameters
//! and the data's row shape into a network. An architecture that cannot be built for the data
//! (a kernel larger than its input, d_model not divisible by heads) is `Err(reason)`: the
//! trial is infeasible.

pub mod cnn;
pub mod dropout;
pub mod mlp;
pub mod rnn;
pub mod sequence;
pub mod transformer;

use tch::nn;

use super::hparams::{Arch, HParams};

pub type Net = Box<dyn nn::ModuleT>;

pub fn build(p: &nn::Path, hp: &HParams, shape: &[usize], outputs: i64) -> Result<Net, String> {
    let (act, drop) = (hp.activation, hp.dropout);
    let net: Net = match &hp.arch {
        Arch::Mlp {
            hidden_layers,
            units,
        } => {
            let inputs = shape.iter().product::<usize>() as i64;
            Box::new(mlp::build(
                p,
                inputs,
                *hidden_layers,
                *units,
                act,
                drop,
                outputs,
            ))
        }
        Arch::Cnn {
            conv_layers,
            filters,
            kernel_size,
            stride,
            padding,
            pool,
            pool_size,
            dense_units,
        } => {
            let a = cnn::CnnShape {
                conv_layers: *conv_layers,
                filters: *filters,
                kernel_size: *kernel_size,
                stride: *stride,
                padding: *padding,
                pool: *pool,
                pool_size: *pool_size,
                dense_units: *dense_units,
            };
            Box::new(cnn::build(p, shape, &a, act, drop, outputs)?)
        }
        Arch::Rnn {
            cell,
            units,
            layers,
            bidirectional,
        } => {
            let a = rnn::RnnShape {
                cell: *cell,
                units: *units,
                layers: *layers,
                bidirectional: *bidirectional,
            };
            Box::new(rnn::build(p, shape, &a, drop, outputs))
        }
        Arch::Transformer {
            heads,
            d_model,
            ff_dim,
            layers,
            patch_size,
        } => {
            let a = transformer::TransformerShape {
                heads: *heads,
                d_model: *d_model,
                ff_dim: *ff_dim,
                layers: *layers,
                patch_size: *patch_size,
            };
            Box::new(transformer::build(p, shape, &a, act, drop, outputs)?)
        }
    };
    Ok(net)
}
