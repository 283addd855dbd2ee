//! The one hyperparameter schema of the built-in (libtorch) models: every name, its type, its
//! legal range, its default and the model families that read it. Workflow validation checks
//! fixed values and searched ranges against it, the worker reads its values through it, and
//! `hpflow plan` and the docs print it, so the three can never disagree.
//!
//! Adding a model family: its file in `src/torch/models/` plus its name in `FAMILIES` and the
//! `models` of each parameter it reads.

use serde_json::Value;

use crate::search::Config;

pub const FAMILIES: &[&str] = &["mlp", "cnn", "rnn", "transformer"];
const ALL: &[&str] = FAMILIES;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Whole numbers in `[min, max]`.
    Int {
        min: i64,
        max: i64,
    },
    /// Reals in `[min, max]`, or `[min, max)` when `max_open`; `min_open` likewise.
    Real {
        min: f64,
        max: f64,
        min_open: bool,
        max_open: bool,
    },
    Bool,
    Choice(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    Int(i64),
    Real(f64),
    Bool(bool),
    Str(&'static str),
    /// PyTorch's default for each optimizer (`lr`, `eps`, `weight_decay`), `adam` first.
    PerOptimizer([f64; 5]),
}

#[derive(Debug, Clone, Copy)]
pub struct HParam {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
    /// The families that read it (every family: `ALL`).
    pub models: &'static [&'static str],
    pub doc: &'static str,
}

/// Sizes no one means: past these a value is a typo that would exhaust memory or time.
const BIG: i64 = 1 << 20;

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn real(min: f64, max: f64, min_open: bool, max_open: bool) -> Kind {
    Kind::Real {
        min,
        max,
        min_open,
        max_open,
    }
}
/// `[0, 1)`: probabilities and decay rates.
const UNIT: Kind = real(0.0, 1.0, false, true);
const POSITIVE: Kind = real(0.0, f64::INFINITY, true, false);
const NON_NEGATIVE: Kind = real(0.0, f64::INFINITY, false, false);

pub const OPTIMIZERS: &[&str] = &["adam", "sgd", "adamw", "rmsprop", "adagrad"];

#[rustfmt::skip]
pub const SCHEMA: &[HParam] = &[
    // Every model.
    HParam { name: "lr", kind: POSITIVE, default: Default::PerOptimizer([1e-3, 1e-2, 1e-3, 1e-2, 1e-2]), models: ALL, doc: "learning rate (search it on a log scale)" },
    HParam { name: "batch_size", kind: int(1, BIG), default: Default::Int(64), models: ALL, doc: "rows per optimizer step" },
    HParam { name: "epochs", kind: int(1, 100_000), default: Default::Int(10), models: ALL, doc: "epochs a trial trains (multi-fidelity strategies set it)" },
    HParam { name: "optimizer", kind: Kind::Choice(OPTIMIZERS), default: Default::Str("adam"), models: ALL, doc: "the optimizer" },
    HParam { name: "momentum", kind: UNIT, default: Default::Real(0.0), models: ALL, doc: "sgd and rmsprop momentum" },
    HParam { name: "nesterov", kind: Kind::Bool, default: Default::Bool(false), models: ALL, doc: "sgd: Nesterov momentum" },
    HParam { name: "beta1", kind: UNIT, default: Default::Real(0.9), models: ALL, doc: "adam, adamw: first-moment decay" },
    HParam { name: "beta2", kind: UNIT, default: Default::Real(0.999), models: ALL, doc: "adam, adamw: second-moment decay" },
    HParam { name: "alpha", kind: UNIT, default: Default::Real(0.99), models: ALL, doc: "rmsprop: smoothing constant" },
    HParam { name: "eps", kind: POSITIVE, default: Default::PerOptimizer([1e-8, 1e-8, 1e-8, 1e-8, 1e-10]), models: ALL, doc: "optimizer epsilon" },
    HParam { name: "weight_decay", kind: NON_NEGATIVE, default: Default::PerOptimizer([0.0, 0.0, 0.01, 0.0, 0.0]), models: ALL, doc: "L2 penalty (decoupled for adamw)" },
    HParam { name: "l1", kind: NON_NEGATIVE, default: Default::Real(0.0), models: ALL, doc: "L1 penalty added to the loss" },
    HParam { name: "lr_schedule", kind: Kind::Choice(&["constant", "step", "cosine", "exponential"]), default: Default::Str("constant"), models: ALL, doc: "learning-rate schedule by epoch (cosine anneals over the search's max_epochs)" },
    HParam { name: "warmup_epochs", kind: int(0, 100_000), default: Default::Int(0), models: ALL, doc: "linear warm-up to lr over these first epochs" },
    HParam { name: "step_size", kind: int(1, 100_000), default: Default::Int(10), models: ALL, doc: "step: multiply the rate by gamma every this many epochs" },
    HParam { name: "gamma", kind: real(0.0, 1.0, true, false), default: Default::Real(0.1), models: ALL, doc: "step and exponential decay factor (exponential: try 0.9 to 0.99)" },
    HParam { name: "min_lr", kind: NON_NEGATIVE, default: Default::Real(0.0), models: ALL, doc: "the schedules' floor (cosine ends there)" },
    HParam { name: "grad_clip", kind: NON_NEGATIVE, default: Default::Real(0.0), models: ALL, doc: "clip the gradients' global norm to this (0: off)" },
    HParam { name: "dropout", kind: UNIT, default: Default::Real(0.0), models: ALL, doc: "dropout probability" },
    HParam { name: "activation", kind: Kind::Choice(&["relu", "leaky_relu", "elu", "tanh", "gelu"]), default: Default::Str("relu"), models: &["mlp", "cnn"], doc: "hidden activation" },
    // mlp
    HParam { name: "hidden_layers", kind: int(0, 1000), default: Default::Int(2), models: &["mlp"], doc: "hidden layers (0: a linear model)" },
    HParam { name: "units", kind: int(1, BIG), default: Default::Int(128), models: &["mlp"], doc: "units per hidden layer" },
    // cnn
    HParam { name: "conv_layers", kind: int(1, 100), default: Default::Int(2), models: &["cnn"], doc: "convolution blocks" },
    HParam { name: "filters", kind: int(1, BIG), default: Default::Int(32), models: &["cnn"], doc: "filters of the first block (doubled per block)" },
    HParam { name: "kernel_size", kind: int(1, 1000), default: Default::Int(3), models: &["cnn"], doc: "convolution kernel side" },
    HParam { name: "stride", kind: int(1, 1000), default: Default::Int(1), models: &["cnn"], doc: "convolution stride" },
    HParam { name: "padding", kind: Kind::Choice(&["valid", "same"]), default: Default::Str("same"), models: &["cnn"], doc: "convolution padding" },
    HParam { name: "pool", kind: Kind::Choice(&["max", "avg", "none"]), default: Default::Str("max"), models: &["cnn"], doc: "pooling after each block" },
    HParam { name: "pool_size", kind: int(1, 1000), default: Default::Int(2), models: &["cnn"], doc: "pooling window side" },
    HParam { name: "dense_units", kind: int(0, BIG), default: Default::Int(128), models: &["cnn"], doc: "units of the dense layer before the output (0: none)" },
    // rnn
    HParam { name: "cell", kind: Kind::Choice(&["lstm", "gru"]), default: Default::Str("lstm"), models: &["rnn"], doc: "recurrent cell" },
    HParam { name: "rnn_units", kind: int(1, BIG), default: Default::Int(64), models: &["rnn"], doc: "hidden units per direction" },
    HParam { name: "rnn_layers", kind: int(1, 100), default: Default::Int(1), models: &["rnn"], doc: "stacked recurrent layers" },
    HParam { name: "bidirectional", kind: Kind::Bool, default: Default::Bool(false), models: &["rnn"], doc: "read the sequence both ways" },
    // transformer
    HParam { name: "heads", kind: int(1, 1024), default: Default::Int(4), models: &["transformer"], doc: "attention heads (divide d_model)" },
    HParam { name: "d_model", kind: int(1, BIG), default: Default::Int(64), models: &["transformer"], doc: "embedding width" },
    HParam { name: "ff_dim", kind: int(1, BIG), default: Default::Int(128), models: &["transformer"], doc: "feed-forward width" },
    HParam { name: "encoder_layers", kind: int(1, 100), default: Default::Int(2), models: &["transformer"], doc: "encoder layers" },
    HParam { name: "patch_size", kind: int(0, 1000), default: Default::Int(0), models: &["transformer"], doc: "square image patches of this side (0: rows)" },
];

pub fn get(name: &str) -> Option<&'static HParam> {
    SCHEMA.iter().find(|p| p.name == name)
}

/// The parameter if `model` reads it.
pub fn of_model(model: &str, name: &str) -> Option<&'static HParam> {
    get(name).filter(|p| p.models.contains(&model))
}

/// The names `model` reads, in schema order.
pub fn names(model: &str) -> Vec<&'static str> {
    SCHEMA
        .iter()
        .filter(|p| p.models.contains(&model))
        .map(|p| p.name)
        .collect()
}

impl HParam {
    /// What is legal, for messages: `a whole number from 1 to 1048576`, `in [0, 1)`.
    pub fn legal(&self) -> String {
        match self.kind {
            Kind::Int { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Real {
                min,
                max,
                min_open,
                max_open,
            } => match (max.is_finite(), min_open) {
                (false, true) => format!("a number > {min}"),
                (false, false) => format!("a number >= {min}"),
                (true, _) => format!(
                    "a number in {}{min}, {max}{}",
                    if min_open { "(" } else { "[" },
                    if max_open { ")" } else { "]" }
                ),
            },
            Kind::Bool => "true or false".into(),
            Kind::Choice(options) => format!("one of {}", options.join(", ")),
        }
    }

    /// Is `x` inside the legal range (numbers only)?
    pub fn admits(&self, x: f64) -> bool {
        match self.kind {
            Kind::Int { min, max } => x.fract() == 0.0 && x >= min as f64 && x <= max as f64,
            Kind::Real {
                min,
                max,
                min_open,
                max_open,
            } => {
                x.is_finite()
                    && (if min_open { x > min } else { x >= min })
                    && (if max_open { x < max } else { x <= max })
            }
            Kind::Bool | Kind::Choice(_) => false,
        }
    }

    /// Check one value (fixed, or an option of a choice); integers may come as `64.0` and
    /// booleans as `"true"` (samplers and YAML give both).
    pub fn check(&self, v: &Value) -> Result<(), String> {
        let ok = match self.kind {
            Kind::Int { .. } | Kind::Real { .. } => v.as_f64().is_some_and(|x| self.admits(x)),
            Kind::Bool => v.is_boolean() || matches!(v.as_str(), Some("true" | "false")),
            Kind::Choice(options) => v.as_str().is_some_and(|s| options.contains(&s)),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{} must be {}, got {v}", self.name, self.legal()))
        }
    }

    /// The default for the given optimizer (index into `OPTIMIZERS`).
    fn default_number(&self, optimizer: &str) -> f64 {
        match self.default {
            Default::Int(i) => i as f64,
            Default::Real(x) => x,
            Default::PerOptimizer(v) => {
                v[OPTIMIZERS.iter().position(|o| *o == optimizer).unwrap_or(0)]
            }
            Default::Bool(_) | Default::Str(_) => f64::NAN,
        }
    }

    /// The default for people when only `optimizers` can be used: a per-optimizer default
    /// names theirs (one alone: just its number).
    pub fn default_text_for(&self, optimizers: &[&str]) -> String {
        let Default::PerOptimizer(v) = self.default else {
            return self.default_text();
        };
        let used: Vec<(&str, f64)> = OPTIMIZERS
            .iter()
            .zip(v)
            .filter(|(o, _)| optimizers.contains(o))
            .map(|(o, x)| (*o, x))
            .collect();
        match used.as_slice() {
            [] => self.default_text(),
            [(_, x)] => number(*x),
            _ => used
                .iter()
                .map(|(o, x)| format!("{o} {}", number(*x)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The default for people (`plan`, docs).
    pub fn default_text(&self) -> String {
        match self.default {
            Default::Int(i) => i.to_string(),
            Default::Real(x) => number(x),
            Default::Bool(b) => b.to_string(),
            Default::Str(s) => s.to_string(),
            Default::PerOptimizer(v) => OPTIMIZERS
                .iter()
                .zip(v)
                .map(|(o, x)| format!("{o} {}", number(x)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// `1e-8` rather than `0.00000001`.
fn number(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// The optimizers that read an optimizer's setting (as `torch::optim` does); `None`: every
/// optimizer reads it, or it is no optimizer's setting.
pub fn read_by(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "momentum" => Some(&["sgd", "rmsprop"]),
        "nesterov" => Some(&["sgd"]),
        "beta1" | "beta2" => Some(&["adam", "adamw"]),
        "alpha" => Some(&["rmsprop"]),
        "eps" => Some(&["adam", "adamw", "rmsprop", "adagrad"]),
        _ => None,
    }
}

/// What a search of `model` trains with, name by name: `searched`, `fixed` (with its value)
/// or `default` (with the schema's), for `hpflow plan`. `optimizers` are those the search can
/// use: a default no one of them reads is left out, and a per-optimizer default shows theirs.
pub fn resolved(model: &str, fixed: &Config, searched: &[&str], optimizers: &[&str]) -> Vec<Value> {
    SCHEMA
        .iter()
        // The epochs are the schedule's (shown with it).
        .filter(|p| p.models.contains(&model) && p.name != "epochs")
        .filter_map(|p| {
            let (source, value) = if searched.contains(&p.name) {
                ("searched", Value::Null)
            } else if let Some(v) = fixed.get(p.name) {
                ("fixed", v.clone())
            } else {
                let readers: Vec<&str> = optimizers
                    .iter()
                    .copied()
                    .filter(|o| read_by(p.name).is_none_or(|by| by.contains(o)))
                    .collect();
                if readers.is_empty() {
                    return None;
                }
                ("default", Value::String(p.default_text_for(&readers)))
            };
            Some(serde_json::json!({"name": p.name, "source": source, "value": value}))
        })
        .collect()
}

/// The optimizers a search can train with: those a searched `optimizer` chooses from, else
/// the fixed one, else the default.
pub fn optimizers_in_use(fixed: &Config, space: &crate::search::Space) -> Vec<String> {
    let searched = space.params.iter().find(|p| p.name == "optimizer");
    let values: Vec<Value> = match searched.map(|p| &p.dist) {
        Some(crate::search::space::Dist::Choice(options)) => options.clone(),
        _ => fixed.get("optimizer").cloned().into_iter().collect(),
    };
    let mut out: Vec<String> = values
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if out.is_empty() {
        out.push("adam".into());
    }
    out
}

/// The schema as a Markdown table: the README's list of hyperparameters is this, checked by
/// a test, so the docs cannot drift from what validation and the worker use.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| name | models | legal values | default | what it is |\n|---|---|---|---|---|\n",
    );
    for p in SCHEMA {
        let models = if p.models == ALL {
            "all".to_string()
        } else {
            p.models.join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {models} | {} | {} | {} |\n",
            p.name,
            p.legal(),
            p.default_text(),
            p.doc
        ));
    }
    out
}

/// A trainer's variant named by one schema choice. `name` is an exhaustive `match`, so a new
/// variant must be given its schema name; `each_choice_maps_to_itself` checks the other way
/// (run by each implementer's test), so a choice added to the schema without a variant fails a
/// test instead of training as something else.
pub trait Choice: Copy + std::fmt::Debug + 'static {
    /// The schema parameter whose options these variants are.
    const PARAM: &'static str;
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
}

/// Every option the schema allows for `T::PARAM` is read as the variant of that name, and
/// every variant is an option the schema allows.
pub fn each_choice_maps_to_itself<T: Choice>() -> Result<(), String> {
    let Some(HParam {
        kind: Kind::Choice(options),
        ..
    }) = get(T::PARAM)
    else {
        return Err(format!("{} is not a choice in the schema", T::PARAM));
    };
    for option in *options {
        let mut c = Config::new();
        c.insert(T::PARAM.into(), Value::String(option.to_string()));
        let v: T = Values::new(&c)?.choose()?;
        if v.name() != *option {
            return Err(format!("{} {option} is read as {v:?}", T::PARAM));
        }
    }
    match T::ALL.iter().find(|v| !options.contains(&v.name())) {
        Some(v) => Err(format!("{v:?} is no option of {} in the schema", T::PARAM)),
        None => Ok(()),
    }
}

/// Reads a trial's configuration through the schema: the default for an absent name, one
/// clear message for a value outside its legal range.
pub struct Values<'a> {
    config: &'a Config,
    optimizer: &'a str,
}

impl<'a> Values<'a> {
    pub fn new(config: &'a Config) -> Result<Self, String> {
        let mut v = Values {
            config,
            optimizer: "adam",
        };
        v.optimizer = v.choice("optimizer")?;
        Ok(v)
    }

    fn param(&self, name: &str) -> Result<&'static HParam, String> {
        get(name).ok_or_else(|| format!("{name} is not in the hyperparameter schema"))
    }

    fn given(&self, name: &str) -> Result<Option<&'a Value>, String> {
        let p = self.param(name)?;
        match self.config.get(name) {
            None => Ok(None),
            Some(v) => p
                .check(v)
                .map(|()| Some(v))
                .map_err(|m| format!("hyperparameter {m}")),
        }
    }

    pub fn number(&self, name: &str) -> Result<f64, String> {
        let p = self.param(name)?;
        Ok(match self.given(name)? {
            Some(v) => v.as_f64().unwrap_or(f64::NAN),
            None => p.default_number(self.optimizer),
        })
    }

    pub fn int(&self, name: &str) -> Result<usize, String> {
        self.number(name).map(|x| x as usize)
    }

    pub fn bool(&self, name: &str) -> Result<bool, String> {
        let p = self.param(name)?;
        Ok(match self.given(name)? {
            Some(v) => v.as_bool().unwrap_or(v.as_str() == Some("true")),
            None => matches!(p.default, Default::Bool(true)),
        })
    }

    pub fn choice(&self, name: &str) -> Result<&'static str, String> {
        let p = self.param(name)?;
        let Kind::Choice(options) = p.kind else {
            return Err(format!("{name} is not a choice"));
        };
        let s = match self.given(name)? {
            Some(v) => v.as_str().unwrap_or_default(),
            None => match p.default {
                Default::Str(s) => s,
                _ => options[0],
            },
        };
        Ok(options
            .iter()
            .copied()
            .find(|o| *o == s)
            .unwrap_or(options[0]))
    }

    /// The variant the configuration chooses for `T::PARAM` (its default when absent).
    pub fn choose<T: Choice>(&self) -> Result<T, String> {
        let chosen = self.choice(T::PARAM)?;
        T::ALL
            .iter()
            .copied()
            .find(|v| v.name() == chosen)
            .ok_or_else(|| format!("hyperparameter {} {chosen} has no variant", T::PARAM))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plan_lists_the_defaults_of_the_optimizers_in_use_only() {
        let defaults = |optimizers: &[&str]| -> Vec<String> {
            resolved("mlp", &Config::new(), &[], optimizers)
                .iter()
                .filter(|h| h["source"] == "default")
                .map(|h| {
                    format!(
                        "{} {}",
                        h["name"].as_str().unwrap(),
                        h["value"].as_str().unwrap()
                    )
                })
                .collect()
        };
        let adam = defaults(&["adam"]);
        assert!(adam.contains(&"lr 0.001".to_string()), "{adam:?}");
        assert!(adam.contains(&"eps 1e-8".to_string()), "{adam:?}");
        assert!(adam.contains(&"beta1 0.9".to_string()), "{adam:?}");
        for unread in ["momentum", "nesterov", "alpha"] {
            assert!(!adam.iter().any(|d| d.starts_with(unread)), "{adam:?}");
        }
        let sgd_rms = defaults(&["sgd", "rmsprop"]);
        assert!(
            sgd_rms.contains(&"lr sgd 0.01, rmsprop 0.01".to_string()),
            "{sgd_rms:?}"
        );
        assert!(
            sgd_rms.contains(&"eps 1e-8".to_string()),
            "sgd reads no eps: {sgd_rms:?}"
        );
        assert!(sgd_rms.contains(&"momentum 0".to_string()), "{sgd_rms:?}");
        assert!(
            !sgd_rms.iter().any(|d| d.starts_with("beta")),
            "{sgd_rms:?}"
        );
    }

    #[test]
    fn every_default_is_legal() {
        for p in SCHEMA {
            let ok = match p.default {
                Default::Int(i) => p.admits(i as f64),
                Default::Real(x) => p.admits(x),
                Default::PerOptimizer(v) => v.iter().all(|x| p.admits(*x)),
                Default::Bool(_) => p.kind == Kind::Bool,
                Default::Str(s) => matches!(p.kind, Kind::Choice(o) if o.contains(&s)),
            };
            assert!(
                ok,
                "{}: default {:?} outside {}",
                p.name,
                p.default,
                p.legal()
            );
            assert!(!p.models.is_empty(), "{} is read by no model", p.name);
        }
    }

    #[test]
    fn values_read_defaults_and_refuse_what_is_out_of_range() {
        let c: Config = serde_json::from_value(json!({"optimizer": "sgd", "units": 64.0})).unwrap();
        let v = Values::new(&c).unwrap();
        assert_eq!(v.number("lr").unwrap(), 1e-2, "sgd's default learning rate");
        assert_eq!(v.int("units").unwrap(), 64);
        assert_eq!(v.int("hidden_layers").unwrap(), 2);
        let c: Config = serde_json::from_value(json!({"dropout": 1.5})).unwrap();
        let e = Values::new(&c).unwrap().number("dropout").unwrap_err();
        assert_eq!(
            e,
            "hyperparameter dropout must be a number in [0, 1), got 1.5"
        );
        let c: Config = serde_json::from_value(json!({"hidden_layers": 0})).unwrap();
        assert_eq!(Values::new(&c).unwrap().int("hidden_layers").unwrap(), 0);
    }
}
