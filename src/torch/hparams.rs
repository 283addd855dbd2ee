//! Hyperparameters of a libtorch trial, read from the request's config in one place: defaults
//! for absent keys, one clear message for a value of the wrong type or out of range.
//!
//! Integers may arrive as floats (`64.0`) from samplers and booleans as strings: both are
//! accepted when they are unambiguous.

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

pub const MODELS: &[&str] = &["mlp", "cnn", "rnn", "transformer"];

impl HParams {
    pub fn parse(model: &str, config: &Config) -> Result<HParams, String> {
        let r = Reader(config);
        let arch = match model {
            "mlp" => Arch::Mlp {
                hidden_layers: r.int("hidden_layers", 2, 0)?,
                units: r.int("units", 128, 1)?,
            },
            "cnn" => Arch::Cnn {
                conv_layers: r.int("conv_layers", 2, 1)?,
                filters: r.int("filters", 32, 1)?,
                kernel_size: r.int("kernel_size", 3, 1)?,
                stride: r.int("stride", 1, 1)?,
                padding: match r.choice("padding", "same", &["valid", "same"])? {
                    "valid" => Padding::Valid,
                    _ => Padding::Same,
                },
                pool: match r.choice("pool", "max", &["max", "avg", "none"])? {
                    "max" => Pool::Max,
                    "avg" => Pool::Avg,
                    _ => Pool::None,
                },
                pool_size: r.int("pool_size", 2, 1)?,
                dense_units: r.int("dense_units", 128, 0)?,
            },
            "rnn" => Arch::Rnn {
                cell: match r.choice("cell", "lstm", &["lstm", "gru"])? {
                    "gru" => Cell::Gru,
                    _ => Cell::Lstm,
                },
                units: r.int("rnn_units", 64, 1)?,
                layers: r.int("rnn_layers", 1, 1)?,
                bidirectional: r.bool("bidirectional", false)?,
            },
            "transformer" => Arch::Transformer {
                heads: r.int("heads", 4, 1)?,
                d_model: r.int("d_model", 64, 1)?,
                ff_dim: r.int("ff_dim", 128, 1)?,
                layers: r.int("encoder_layers", 2, 1)?,
                patch_size: r.int("patch_size", 0, 0)?,
            },
            other => {
                return Err(format!(
                    "unknown model {other} (expected one of {})",
                    MODELS.join(", ")
                ));
            }
        };
        let activation = match r.choice(
            "activation",
            "relu",
            &["relu", "leaky_relu", "elu", "tanh", "gelu"],
        )? {
            "leaky_relu" => Activation::LeakyRelu,
            "elu" => Activation::Elu,
            "tanh" => Activation::Tanh,
            "gelu" => Activation::Gelu,
            _ => Activation::Relu,
        };
        let dropout = r.num("dropout", 0.0, |v| (0.0..1.0).contains(&v), "in [0, 1)")?;
        let batch_size = r.int("batch_size", 64, 1)?;
        let kind = match r.choice(
            "optimizer",
            "adam",
            &["sgd", "adam", "adamw", "rmsprop", "adagrad"],
        )? {
            "sgd" => OptKind::Sgd,
            "adamw" => OptKind::AdamW,
            "rmsprop" => OptKind::RmsProp,
            "adagrad" => OptKind::Adagrad,
            _ => OptKind::Adam,
        };
        // PyTorch's defaults per optimizer, so that an unsearched value behaves as users expect.
        let (lr, eps, wd) = match kind {
            OptKind::Sgd => (0.01, 1e-8, 0.0),
            OptKind::Adam => (1e-3, 1e-8, 0.0),
            OptKind::AdamW => (1e-3, 1e-8, 0.01),
            OptKind::RmsProp => (1e-2, 1e-8, 0.0),
            OptKind::Adagrad => (1e-2, 1e-10, 0.0),
        };
        let positive = |v: f64| v > 0.0;
        let unit = |v: f64| (0.0..1.0).contains(&v);
        let non_negative = |v: f64| v >= 0.0;
        let opt = OptParams {
            kind,
            lr: r.num("lr", lr, positive, "> 0")?,
            momentum: r.num("momentum", 0.0, unit, "in [0, 1)")?,
            nesterov: r.bool("nesterov", false)?,
            beta1: r.num("beta1", 0.9, unit, "in [0, 1)")?,
            beta2: r.num("beta2", 0.999, unit, "in [0, 1)")?,
            alpha: r.num("alpha", 0.99, unit, "in [0, 1)")?,
            eps: r.num("eps", eps, positive, "> 0")?,
            weight_decay: r.num("weight_decay", wd, non_negative, ">= 0")?,
            l1: r.num("l1", 0.0, non_negative, ">= 0")?,
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

struct Reader<'a>(&'a Config);

impl Reader<'_> {
    fn num(
        &self,
        key: &str,
        default: f64,
        ok: impl Fn(f64) -> bool,
        want: &str,
    ) -> Result<f64, String> {
        let Some(v) = self.0.get(key) else {
            return Ok(default);
        };
        let x = v
            .as_f64()
            .ok_or_else(|| format!("hyperparameter {key} must be a number, got {v}"))?;
        if x.is_finite() && ok(x) {
            Ok(x)
        } else {
            Err(format!("hyperparameter {key} must be {want}, got {v}"))
        }
    }

    fn int(&self, key: &str, default: usize, min: usize) -> Result<usize, String> {
        let Some(v) = self.0.get(key) else {
            return Ok(default);
        };
        let x = v
            .as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x < 1e9);
        match x {
            Some(x) if x as usize >= min => Ok(x as usize),
            _ => Err(format!(
                "hyperparameter {key} must be an integer >= {min}, got {v}"
            )),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(serde_json::Value::Bool(b)) => Ok(*b),
            Some(serde_json::Value::String(s)) if s == "true" => Ok(true),
            Some(serde_json::Value::String(s)) if s == "false" => Ok(false),
            Some(v) => Err(format!(
                "hyperparameter {key} must be true or false, got {v}"
            )),
        }
    }

    fn choice<'c>(
        &self,
        key: &str,
        default: &'c str,
        allowed: &[&'c str],
    ) -> Result<&'c str, String> {
        let Some(v) = self.0.get(key) else {
            return Ok(default);
        };
        v.as_str()
            .and_then(|s| allowed.iter().find(|a| **a == s).copied())
            .ok_or_else(|| {
                format!(
                    "hyperparameter {key} must be one of {}, got {v}",
                    allowed.join(", ")
                )
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
        assert!(err.contains("units must be an integer"), "{err}");
        let err = HParams::parse("mlp", &config(json!({"activation": "swish"}))).unwrap_err();
        assert!(err.contains("activation must be one of relu"), "{err}");
        let err = HParams::parse("mlp", &config(json!({"lr": -1}))).unwrap_err();
        assert!(err.contains("lr must be > 0"), "{err}");
        assert!(
            HParams::parse("resnet", &Config::new())
                .unwrap_err()
                .contains("unknown model")
        );
    }
}
