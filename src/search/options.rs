//! The `strategy:` and `budget:` sections of a search stage, as written and as checked.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    Grid,
    Random,
    Bayes,
    Tpe,
    Evolution,
    Sha,
    Hyperband,
    Asha,
    Bohb,
    Pbt,
}

impl StrategyKind {
    /// Strategies whose budget is epochs continued from checkpoints.
    pub fn is_multi_fidelity(self) -> bool {
        matches!(
            self,
            Self::Sha | Self::Hyperband | Self::Asha | Self::Bohb | Self::Pbt
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Acquisition {
    Ei,
    Pi,
    Ucb,
}

/// Every strategy option; `check` says which apply to which kind. Unset options take the
/// defaults documented on each strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyOptions {
    pub kind: StrategyKind,
    /// How many proposals are made from the same results (constant liar within a batch). The
    /// decisions depend on it, not on `workers`, so 1 worker or many decide the same.
    pub batch: Option<usize>,
    // grid
    pub steps: Option<usize>,
    /// Run a grid larger than the trial budget anyway (it is cut at the budget).
    pub allow_large: Option<bool>,
    // random
    pub sobol: Option<bool>,
    // bayes / tpe
    pub surrogate: Option<String>,
    pub acquisition: Option<Acquisition>,
    pub initial: Option<usize>,
    pub kappa: Option<f64>,
    pub xi: Option<f64>,
    pub gamma: Option<f64>,
    pub candidates: Option<usize>,
    // evolution / pbt
    pub population: Option<usize>,
    pub generations: Option<usize>,
    pub mutation_rate: Option<f64>,
    pub crossover_rate: Option<f64>,
    pub tournament: Option<usize>,
    pub elitism: Option<usize>,
    // multi-fidelity
    pub eta: Option<u32>,
    pub min_epochs: Option<u32>,
    pub max_epochs: Option<u32>,
    // pbt
    pub interval: Option<u32>,
    pub quantile: Option<f64>,
    pub perturb: Option<f64>,
    /// Stop a plain (random/bayes/tpe) trial whose metric is worse than the median of earlier
    /// trials at the same epoch.
    pub median_stopping: Option<bool>,
}

/// `budget:`: limits on the whole search (all across resumes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// New trials in total.
    pub trials: Option<usize>,
    /// Epochs trained in total, over all trials.
    pub epochs: Option<u64>,
    /// Wall time, e.g. `30m`, `2h`, `90s` (stops issuing new work; not deterministic).
    pub time: Option<String>,
}

impl Budget {
    /// Only time or epochs bound the search: it starts trials until they are spent (at
    /// most `OPEN_ENDED_TRIALS`), rather than stopping at the default trial count.
    pub fn open_ended(&self) -> bool {
        self.trials.is_none() && (self.time.is_some() || self.epochs.is_some())
    }

    /// What bounds an open-ended search, for people.
    pub fn open_ended_by(&self) -> Option<String> {
        if !self.open_ended() {
            return None;
        }
        let mut parts = Vec::new();
        if let Some(t) = &self.time {
            parts.push(format!("{t} of time"));
        }
        if let Some(e) = self.epochs {
            parts.push(format!("{e} epochs"));
        }
        Some(parts.join(" or "))
    }
}

/// The most epochs a trial may train (the schema's limit for `epochs`).
pub const MAX_EPOCHS: usize = 100_000;

/// The most trials an open-ended search (a time or epoch budget alone) starts.
pub const OPEN_ENDED_TRIALS: usize = 10_000;

impl StrategyOptions {
    pub fn new(kind: StrategyKind) -> Self {
        StrategyOptions {
            kind,
            batch: None,
            steps: None,
            allow_large: None,
            sobol: None,
            surrogate: None,
            acquisition: None,
            initial: None,
            kappa: None,
            xi: None,
            gamma: None,
            candidates: None,
            population: None,
            generations: None,
            mutation_rate: None,
            crossover_rate: None,
            tournament: None,
            elitism: None,
            eta: None,
            min_epochs: None,
            max_epochs: None,
            interval: None,
            quantile: None,
            perturb: None,
            median_stopping: None,
        }
    }

    /// The options given, by name.
    fn given(&self) -> Vec<String> {
        // The serialized struct names every option that was set; `kind` is not an option.
        let v = serde_json::to_value(self).expect("options serialize");
        v.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, x)| k.as_str() != "kind" && !x.is_null())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Which options a kind accepts.
    pub fn accepted(kind: StrategyKind) -> &'static [&'static str] {
        use StrategyKind::*;
        match kind {
            Grid => &["steps", "allow_large", "batch"],
            Random => &["sobol", "batch", "median_stopping"],
            Bayes => &[
                "surrogate",
                "acquisition",
                "initial",
                "kappa",
                "xi",
                "candidates",
                "batch",
                "median_stopping",
            ],
            Tpe => &["initial", "gamma", "candidates", "batch", "median_stopping"],
            Evolution => &[
                "population",
                "generations",
                "mutation_rate",
                "crossover_rate",
                "tournament",
                "elitism",
            ],
            Sha | Hyperband | Asha => &["eta", "min_epochs", "max_epochs", "batch"],
            Bohb => &[
                "eta",
                "min_epochs",
                "max_epochs",
                "batch",
                "initial",
                "gamma",
                "candidates",
            ],
            Pbt => &[
                "population",
                "interval",
                "quantile",
                "perturb",
                "max_epochs",
            ],
        }
    }

    /// Check that every option applies to the kind and lies in its range. `field` is the
    /// dotted path of the strategy section.
    pub fn check(&self, field: &str) -> Result<(), FieldError> {
        let accepted = Self::accepted(self.kind);
        for name in self.given() {
            if !accepted.contains(&name.as_str()) {
                return Err(FieldError::new(
                    format!("{field}.{name}"),
                    format!(
                        "is not an option of {:?} (its options: {})",
                        self.kind,
                        accepted.join(", ")
                    )
                    .to_lowercase(),
                ));
            }
        }
        let f = |name: &str| format!("{field}.{name}");
        let positive = |name: &str, v: Option<usize>| match v {
            Some(0) => Err(FieldError::new(f(name), "must be at least 1")),
            _ => Ok(()),
        };
        // Sizes no one means: each would build or run that many slots, trials or epochs.
        for (name, v, limit) in [
            ("batch", self.batch, 10_000),
            ("population", self.population, 10_000),
            ("generations", self.generations, 100_000),
            ("tournament", self.tournament, 10_000),
            ("candidates", self.candidates, 1_000_000),
            ("steps", self.steps, 100_000),
            (
                "min_epochs",
                self.min_epochs.map(|e| e as usize),
                MAX_EPOCHS,
            ),
            (
                "max_epochs",
                self.max_epochs.map(|e| e as usize),
                MAX_EPOCHS,
            ),
            ("interval", self.interval.map(|e| e as usize), MAX_EPOCHS),
        ] {
            if let Some(x) = v.filter(|&x| x > limit) {
                return Err(FieldError::new(
                    f(name),
                    format!("must be at most {limit}, got {x}"),
                ));
            }
        }
        positive("batch", self.batch)?;
        positive("population", self.population)?;
        positive("generations", self.generations)?;
        positive("tournament", self.tournament)?;
        positive("candidates", self.candidates)?;
        if let Some(s) = self.steps {
            if s < 2 {
                return Err(FieldError::new(
                    f("steps"),
                    format!("must be at least 2, got {s}"),
                ));
            }
        }
        if let Some(eta) = self.eta {
            if eta < 2 {
                return Err(FieldError::new(
                    f("eta"),
                    format!("must be at least 2, got {eta}"),
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_epochs, self.max_epochs) {
            if lo == 0 || lo > hi {
                return Err(FieldError::new(
                    f("min_epochs"),
                    format!("needs 1 <= min_epochs <= max_epochs, got {lo} and {hi}"),
                ));
            }
        }
        if self.interval == Some(0) {
            return Err(FieldError::new(f("interval"), "must be at least 1"));
        }
        if self.max_epochs == Some(0) {
            return Err(FieldError::new(f("max_epochs"), "must be at least 1"));
        }
        for (name, v) in [
            ("gamma", self.gamma),
            ("quantile", self.quantile),
            ("mutation_rate", self.mutation_rate),
            ("crossover_rate", self.crossover_rate),
        ] {
            if let Some(x) = v {
                if !(0.0..=1.0).contains(&x)
                    || (name == "gamma" || name == "quantile") && (x == 0.0 || x >= 1.0)
                {
                    return Err(FieldError::new(
                        f(name),
                        format!("must lie in (0, 1), got {x}"),
                    ));
                }
            }
        }
        if let Some(q) = self.quantile {
            if q > 0.5 {
                return Err(FieldError::new(
                    f("quantile"),
                    format!("must be at most 0.5, got {q}"),
                ));
            }
        }
        for (name, v) in [
            ("kappa", self.kappa),
            ("xi", self.xi),
            ("perturb", self.perturb),
        ] {
            if let Some(x) = v {
                if !(x.is_finite() && x >= 0.0) {
                    return Err(FieldError::new(
                        f(name),
                        format!("must be a number >= 0, got {x}"),
                    ));
                }
            }
        }
        if let Some(s) = &self.surrogate {
            if s != "gp" {
                return Err(FieldError::new(
                    f("surrogate"),
                    format!("only gp is supported, got {s}"),
                ));
            }
        }
        Ok(())
    }
}
