//! The search space: distributions of hyperparameters, conditions between them, and the
//! configurations (name → value) that trials are given.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

pub use crate::vocab::config::{Config, Value, config_hash};

/// Serialized into job keys and read back from them (`hpflow importance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dist {
    Uniform {
        low: f64,
        high: f64,
    },
    LogUniform {
        low: f64,
        high: f64,
    },
    /// Integers in `[low, high]`, on a grid of `step`, optionally sampled in log space.
    Int {
        low: i64,
        high: i64,
        log: bool,
        step: i64,
    },
    Choice(Vec<Value>),
}

/// A searched hyperparameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub dist: Dist,
    /// Active only when each named parameter takes one of the listed values.
    pub when: BTreeMap<String, Vec<Value>>,
    /// Grid points for a continuous range (`grid` strategy); overrides the strategy's `steps`.
    pub steps: Option<usize>,
}

/// The searched parameters in the order the workflow lists them. A condition may only refer
/// to a parameter listed before it, so one pass in order decides what is active.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Space {
    pub params: Vec<Param>,
}

/// A space entry as written: `{loguniform: [1e-4, 1e-1]}`, `{int: [1, 4], log: true}`, ...
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawParam {
    pub uniform: Option<(f64, f64)>,
    pub loguniform: Option<(f64, f64)>,
    pub int: Option<(i64, i64)>,
    pub choice: Option<Vec<Value>>,
    pub log: Option<bool>,
    pub step: Option<i64>,
    pub steps: Option<usize>,
    pub when: Option<BTreeMap<String, Vec<Value>>>,
}

impl Dist {
    pub fn is_log(&self) -> bool {
        matches!(self, Dist::LogUniform { .. } | Dist::Int { log: true, .. })
    }

    /// Does `v` lie in this distribution's support?
    pub fn contains(&self, v: &Value) -> bool {
        match self {
            Dist::Uniform { low, high } | Dist::LogUniform { low, high } => {
                v.as_f64().is_some_and(|x| x >= *low && x <= *high)
            }
            Dist::Int {
                low, high, step, ..
            } => v
                .as_i64()
                .is_some_and(|x| x >= *low && x <= *high && (x - low) % step == 0),
            Dist::Choice(options) => options.contains(v),
        }
    }
}

impl Param {
    fn from_raw(name: &str, raw: &RawParam, field: &str) -> Result<Param, FieldError> {
        let err = |msg: String| FieldError::new(field, msg);
        let given: Vec<&str> = [
            ("uniform", raw.uniform.is_some()),
            ("loguniform", raw.loguniform.is_some()),
            ("int", raw.int.is_some()),
            ("choice", raw.choice.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| *k)
        .collect();
        if given.len() != 1 {
            return Err(err(format!(
                "needs exactly one of uniform, loguniform, int, choice; got {}",
                if given.is_empty() {
                    "none".to_string()
                } else {
                    given.join(", ")
                }
            )));
        }
        let int_only = |key: &str, set: bool| -> Result<(), FieldError> {
            if set && raw.int.is_none() {
                Err(FieldError::new(
                    format!("{field}.{key}"),
                    "only applies to int ranges",
                ))
            } else {
                Ok(())
            }
        };
        int_only("log", raw.log.is_some())?;
        int_only("step", raw.step.is_some())?;
        let dist = if let Some((low, high)) = raw.uniform {
            if !(low.is_finite() && high.is_finite() && low < high) {
                return Err(err(format!(
                    "uniform needs low < high, got [{low}, {high}]"
                )));
            }
            Dist::Uniform { low, high }
        } else if let Some((low, high)) = raw.loguniform {
            if !(low > 0.0 && low < high && high.is_finite()) {
                return Err(err(format!(
                    "loguniform needs 0 < low < high, got [{low}, {high}]"
                )));
            }
            Dist::LogUniform { low, high }
        } else if let Some((low, high)) = raw.int {
            let log = raw.log.unwrap_or(false);
            let step = raw.step.unwrap_or(1);
            if low > high {
                return Err(err(format!("int needs low <= high, got [{low}, {high}]")));
            }
            if log && low <= 0 {
                return Err(err(format!(
                    "int with log: true needs 0 < low, got [{low}, {high}]"
                )));
            }
            if step < 1 {
                return Err(FieldError::new(
                    format!("{field}.step"),
                    format!("must be at least 1, got {step}"),
                ));
            }
            if log && step != 1 {
                return Err(FieldError::new(
                    format!("{field}.step"),
                    "cannot be combined with log: true",
                ));
            }
            Dist::Int {
                low,
                high,
                log,
                step,
            }
        } else {
            let options = raw.choice.clone().unwrap_or_default();
            if options.is_empty() {
                return Err(err("choice needs at least one option".into()));
            }
            for (i, o) in options.iter().enumerate() {
                if !(o.is_number() || o.is_string() || o.is_boolean()) {
                    return Err(FieldError::new(
                        format!("{field}.choice[{i}]"),
                        format!("options must be numbers, strings or booleans, got {o}"),
                    ));
                }
                if options[..i].contains(o) {
                    return Err(FieldError::new(
                        format!("{field}.choice[{i}]"),
                        format!("{o} is listed twice"),
                    ));
                }
            }
            Dist::Choice(options)
        };
        if let Some(steps) = raw.steps {
            if steps < 2 || !matches!(dist, Dist::Uniform { .. } | Dist::LogUniform { .. }) {
                return Err(FieldError::new(
                    format!("{field}.steps"),
                    "applies to uniform/loguniform ranges and must be at least 2",
                ));
            }
        }
        Ok(Param {
            name: name.to_string(),
            dist,
            when: raw.when.clone().unwrap_or_default(),
            steps: raw.steps,
        })
    }
}

impl Space {
    /// Validate a raw space (entries in the order written). `field` is the dotted path of the
    /// space itself, e.g. `stages.search.space`.
    pub fn from_raw(entries: &[(String, RawParam)], field: &str) -> Result<Space, FieldError> {
        let mut params: Vec<Param> = Vec::new();
        for (name, raw) in entries {
            let pfield = format!("{field}.{name}");
            let p = Param::from_raw(name, raw, &pfield)?;
            for (cond, values) in &p.when {
                let cfield = format!("{pfield}.when.{cond}");
                let Some(parent) = params.iter().find(|q| &q.name == cond) else {
                    return Err(FieldError::new(
                        cfield,
                        format!("names no parameter listed above {name}"),
                    ));
                };
                if values.is_empty() {
                    return Err(FieldError::new(cfield, "needs at least one value"));
                }
                if let Some(bad) = values.iter().find(|v| !parent.dist.contains(v)) {
                    return Err(FieldError::new(
                        cfield,
                        format!("{bad} is not a value {cond} can take"),
                    ));
                }
            }
            params.push(p);
        }
        Ok(Space { params })
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Is `param` active given the values already chosen in `config`?
    pub fn is_active(&self, param: &Param, config: &Config) -> bool {
        param
            .when
            .iter()
            .all(|(cond, values)| config.get(cond).is_some_and(|v| values.contains(v)))
    }

    /// Drop parameters whose condition does not hold (in order, so chains resolve).
    pub fn prune(&self, config: &Config) -> Config {
        let mut out = Config::new();
        for p in &self.params {
            if let Some(v) = config.get(&p.name) {
                if self.is_active(p, &out) {
                    out.insert(p.name.clone(), v.clone());
                }
            }
        }
        out
    }

    /// Does `config` hold exactly the active parameters, each within its range?
    pub fn validate(&self, config: &Config) -> Result<(), String> {
        let mut seen = Config::new();
        for p in &self.params {
            let active = self.is_active(p, &seen);
            match (active, config.get(&p.name)) {
                (true, Some(v)) if p.dist.contains(v) => {
                    seen.insert(p.name.clone(), v.clone());
                }
                (true, Some(v)) => return Err(format!("{} = {v} is out of range", p.name)),
                (true, None) => return Err(format!("{} is active but missing", p.name)),
                (false, Some(_)) => return Err(format!("{} is set but inactive", p.name)),
                (false, None) => {}
            }
        }
        match config.keys().find(|k| self.get(k).is_none()) {
            Some(k) => Err(format!("{k} is not in the space")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(yaml: &str) -> Vec<(String, RawParam)> {
        let m: serde_yaml::Mapping = serde_yaml::from_str(yaml).unwrap();
        m.into_iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap().to_string(),
                    serde_yaml::from_value(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn conditions_prune_inactive_parameters() {
        let s = Space::from_raw(
            &raw("optimizer: {choice: [adam, sgd]}\nmomentum: {uniform: [0, 0.99], when: {optimizer: [sgd]}}"),
            "space",
        )
        .unwrap();
        let c: Config = [
            ("optimizer".into(), json!("adam")),
            ("momentum".into(), json!(0.5)),
        ]
        .into();
        assert_eq!(s.prune(&c).len(), 1);
        assert!(s.validate(&c).is_err());
        let c: Config = [
            ("optimizer".into(), json!("sgd")),
            ("momentum".into(), json!(0.5)),
        ]
        .into();
        assert_eq!(s.validate(&c), Ok(()));
    }

    #[test]
    fn bad_ranges_are_named() {
        let e =
            Space::from_raw(&raw("lr: {loguniform: [0, 0.1]}"), "stages.search.space").unwrap_err();
        assert_eq!(e.field, "stages.search.space.lr");
        assert_eq!(e.msg, "loguniform needs 0 < low < high, got [0, 0.1]");
        let e = Space::from_raw(&raw("m: {uniform: [0, 1], when: {opt: [sgd]}}"), "s").unwrap_err();
        assert_eq!(e.field, "s.m.when.opt");
    }
}
