//! Hyperparameters of a libtorch trial, read from the request's config through the library's
//! one schema (`hpflow::train::schema`): its defaults for absent keys, its legal ranges for
//! one clear message, the same ones workflow validation checks.

use hpflow::search::Config;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Relu,
    LeakyRelu,
    Elu,
    Tanh,
    Gelu,
}

impl Activation {
    pub fn apply(self, xs: &tch::Tensor) -> tch::Tensor {
        match self {
            Activation::Relu => xs.relu(),
            Activation::LeakyRelu => xs.leaky_relu(),
            Activation::Elu => xs.elu(),
            Activation::Tanh => xs.tanh(),
            Activation::Gelu => xs.gelu("none"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptKind {
    Sgd,
    Adam,
    AdamW,
    RmsProp,
    Adagrad,
}

impl OptKind {
    pub fn name(self) -> &'static str {
        match self {
            OptKind::Sgd => "sgd",
            OptKind::Adam => "adam",
            OptKind::AdamW => "adamw",
            OptKind::RmsProp => "rmsprop",
            OptKind::Adagrad => "adagrad",
        }
    }
}

/// Everything the optimizer step reads; may change between requests of one trial (PBT).
#[derive(Debug, Clone, PartialEq)]
pub struct OptParams {
    pub kind: OptKind,
    pub lr: f64,
    pub momentum: f64,
    pub nesterov: bool,
    pub beta1: f64,
    pub beta2: f64,
    /// RMSprop's smoothing constant (PyTorch's `alpha`).
    pub alpha: f64,
    pub eps: f64,
    /// L2 penalty added to the gradient; decoupled (shrinks the weights) for AdamW.
    pub weight_decay: f64,
    /// L1 penalty added to the loss.
    pub l1: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Padding {
    Valid,
    Same,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pool {
    Max,
    Avg,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Lstm,
    Gru,
}

/// The architecture: which model and its shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Arch {
    Mlp {
        hidden_layers: usize,
        units: usize,
    },
    Cnn {
        conv_layers: usize,
        filters: usize,
        kernel_size: usize,
        stride: usize,
        padding: Padding,
        pool: Pool,
        pool_size: usize,
        dense_units: usize,
    },
    Rnn {
        cell: Cell,
        units: usize,
        layers: usize,
        bidirectional: bool,
    },
    Transformer {
        heads: usize,
        d_model: usize,
        ff_dim: usize,
        layers: usize,
        /// Square patches of this side for images; 0 reads an image row by row.
        patch_size: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct HParams {
    pub arch: Arch,
    pub activation: Activation,
    pub dropout: f64,
    pub batch_size: usize,
    pub opt: OptParams,
}

impl HParams {
    pub fn parse(model: &str, config: &Config) -> Result<HParams, String> {
        let r = hpflow::train::schema::Values::new(config)?;
        let arch = match model {
            "mlp" => Arch::Mlp {
                hidden_layers: r.int("hidden_layers")?,
                units: r.int("units")?,
            },
            "cnn" => Arch::Cnn {
                conv_layers: r.int("conv_layers")?,
                filters: r.int("filters")?,
                kernel_size: r.int("kernel_size")?,
                stride: r.int("stride")?,
                padding: match r.choice("padding")? {
                    "valid" => Padding::Valid,
                    _ => Padding::Same,
                },
                pool: match r.choice("pool")? {
                    "max" => Pool::Max,
                    "avg" => Pool::Avg,
                    _ => Pool::None,
                },
                pool_size: r.int("pool_size")?,
                dense_units: r.int("dense_units")?,
            },
            "rnn" => Arch::Rnn {
                cell: match r.choice("cell")? {
                    "gru" => Cell::Gru,
                    _ => Cell::Lstm,
                },
                units: r.int("rnn_units")?,
                layers: r.int("rnn_layers")?,
                bidirectional: r.bool("bidirectional")?,
            },
            "transformer" => Arch::Transformer {
                heads: r.int("heads")?,
                d_model: r.int("d_model")?,
                ff_dim: r.int("ff_dim")?,
                layers: r.int("encoder_layers")?,
                patch_size: r.int("patch_size")?,
            },
            other => {
                return Err(format!(
                    "unknown model {other} (expected one of {})",
                    hpflow::train::schema::FAMILIES.join(", ")
                ));
            }
        };
        let activation = match r.choice("activation")? {
            "leaky_relu" => Activation::LeakyRelu,
            "elu" => Activation::Elu,
            "tanh" => Activation::Tanh,
            "gelu" => Activation::Gelu,
            _ => Activation::Relu,
        };
        let dropout = r.number("dropout")?;
        let batch_size = r.int("batch_size")?;
        let kind = match r.choice("optimizer")? {
            "sgd" => OptKind::Sgd,
            "adamw" => OptKind::AdamW,
            "rmsprop" => OptKind::RmsProp,
            "adagrad" => OptKind::Adagrad,
            _ => OptKind::Adam,
        };
        // lr, eps and weight_decay default to PyTorch's value for the optimizer (the schema).
        let opt = OptParams {
            kind,
            lr: r.number("lr")?,
            momentum: r.number("momentum")?,
            nesterov: r.bool("nesterov")?,
            beta1: r.number("beta1")?,
            beta2: r.number("beta2")?,
            alpha: r.number("alpha")?,
            eps: r.number("eps")?,
            weight_decay: r.number("weight_decay")?,
            l1: r.number("l1")?,
        };
        Ok(HParams {
            arch,
            activation,
            dropout,
            batch_size,
            opt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: serde_json::Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_and_coercions() {
        let hp =
            HParams::parse("mlp", &config(json!({"units": 64.0, "optimizer": "sgd"}))).unwrap();
        assert_eq!(
            hp.arch,
            Arch::Mlp {
                hidden_layers: 2,
                units: 64
            }
        );
        assert_eq!(hp.opt.kind, OptKind::Sgd);
        assert_eq!(hp.opt.lr, 0.01);
        let hp = HParams::parse("rnn", &config(json!({"bidirectional": "true"}))).unwrap();
        assert!(matches!(
            hp.arch,
            Arch::Rnn {
                bidirectional: true,
                ..
            }
        ));
    }

    #[test]
    fn bad_values_are_named() {
        let err = HParams::parse("mlp", &config(json!({"units": 1.5}))).unwrap_err();
        assert!(
            err.contains("units must be a whole number from 1 to"),
            "{err}"
        );
        let err = HParams::parse("mlp", &config(json!({"activation": "swish"}))).unwrap_err();
        assert!(err.contains("activation must be one of relu"), "{err}");
        let err = HParams::parse("mlp", &config(json!({"lr": -1}))).unwrap_err();
        assert!(err.contains("lr must be a number > 0"), "{err}");
        assert!(
            HParams::parse("resnet", &Config::new())
                .unwrap_err()
                .contains("unknown model")
        );
    }
}
