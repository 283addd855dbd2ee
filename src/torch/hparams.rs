//! Hyperparameters of a libtorch trial, read from the request's config through the library's
//! one schema (`hpflow::train::schema`): its defaults for absent keys, its legal ranges for
//! one clear message, the same ones workflow validation checks.

use hpflow::search::Config;
use hpflow::train::schema::Choice;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Relu,
    LeakyRelu,
    Elu,
    Tanh,
    Gelu,
}

impl Choice for Activation {
    const PARAM: &'static str = "activation";
    const ALL: &'static [Self] = &[
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Tanh,
        Activation::Gelu,
    ];
    fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Elu => "elu",
            Activation::Tanh => "tanh",
            Activation::Gelu => "gelu",
        }
    }
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

impl Choice for OptKind {
    const PARAM: &'static str = "optimizer";
    const ALL: &'static [Self] = &[
        OptKind::Sgd,
        OptKind::Adam,
        OptKind::AdamW,
        OptKind::RmsProp,
        OptKind::Adagrad,
    ];
    fn name(self) -> &'static str {
        OptKind::name(self)
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

impl Choice for Padding {
    const PARAM: &'static str = "padding";
    const ALL: &'static [Self] = &[Padding::Valid, Padding::Same];
    fn name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pool {
    Max,
    Avg,
    None,
}

impl Choice for Pool {
    const PARAM: &'static str = "pool";
    const ALL: &'static [Self] = &[Pool::Max, Pool::Avg, Pool::None];
    fn name(self) -> &'static str {
        match self {
            Pool::Max => "max",
            Pool::Avg => "avg",
            Pool::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Lstm,
    Gru,
}

impl Choice for Cell {
    const PARAM: &'static str = "cell";
    const ALL: &'static [Self] = &[Cell::Lstm, Cell::Gru];
    fn name(self) -> &'static str {
        match self {
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
        }
    }
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

impl Arch {
    /// Whether the model reads a row as a flat vector of features (an image's pixels lose
    /// their places): it is then fed every feature standardised on its own.
    pub fn flattens(&self) -> bool {
        matches!(self, Arch::Mlp { .. })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HParams {
    pub arch: Arch,
    pub activation: Activation,
    pub dropout: f64,
    pub batch_size: usize,
    pub opt: OptParams,
    /// Clip the gradients' global norm to this before each step; 0 is off.
    pub grad_clip: f64,
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
                padding: r.choose()?,
                pool: r.choose()?,
                pool_size: r.int("pool_size")?,
                dense_units: r.int("dense_units")?,
            },
            "rnn" => Arch::Rnn {
                cell: r.choose()?,
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
        let activation = r.choose()?;
        let dropout = r.number("dropout")?;
        let batch_size = r.int("batch_size")?;
        let kind = r.choose()?;
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
            grad_clip: r.number("grad_clip")?,
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
    fn every_schema_choice_has_its_own_variant() {
        use hpflow::train::schema::each_choice_maps_to_itself as walk;
        walk::<Activation>().unwrap();
        walk::<OptKind>().unwrap();
        walk::<Padding>().unwrap();
        walk::<Pool>().unwrap();
        walk::<Cell>().unwrap();
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
