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

/// Every strategy option of the resolved search, in one record (the job key's form); an
/// option its kind does not have is `None`. Unset options take the defaults documented on
/// each strategy. Read from `RawStrategy`, whose variants say which options each kind has.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

    /// Check that every option lies in its range (which options a kind has, `RawStrategy`
    /// decided when the workflow was read). `field` is the dotted path of the strategy section.
    pub fn check(&self, field: &str) -> Result<(), FieldError> {
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

/// `strategy:` as written: one variant per kind holding only that kind's options, so an
/// option of another kind is refused when the workflow is read, with the kind's own named.
#[derive(Debug)]
enum RawStrategy {
    Grid(GridOptions),
    Random(RandomOptions),
    Bayes(BayesOptions),
    Tpe(TpeOptions),
    Evolution(EvolutionOptions),
    Sha(RungOptions),
    Hyperband(RungOptions),
    Asha(RungOptions),
    Bohb(BohbOptions),
    Pbt(PbtOptions),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GridOptions {
    steps: Option<usize>,
    allow_large: Option<bool>,
    batch: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomOptions {
    sobol: Option<bool>,
    batch: Option<usize>,
    median_stopping: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BayesOptions {
    surrogate: Option<String>,
    acquisition: Option<Acquisition>,
    initial: Option<usize>,
    kappa: Option<f64>,
    xi: Option<f64>,
    candidates: Option<usize>,
    batch: Option<usize>,
    median_stopping: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TpeOptions {
    initial: Option<usize>,
    gamma: Option<f64>,
    candidates: Option<usize>,
    batch: Option<usize>,
    median_stopping: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvolutionOptions {
    population: Option<usize>,
    generations: Option<usize>,
    mutation_rate: Option<f64>,
    crossover_rate: Option<f64>,
    tournament: Option<usize>,
    elitism: Option<usize>,
}

/// sha, hyperband, asha.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RungOptions {
    eta: Option<u32>,
    min_epochs: Option<u32>,
    max_epochs: Option<u32>,
    batch: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BohbOptions {
    eta: Option<u32>,
    min_epochs: Option<u32>,
    max_epochs: Option<u32>,
    batch: Option<usize>,
    initial: Option<usize>,
    gamma: Option<f64>,
    candidates: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PbtOptions {
    population: Option<usize>,
    interval: Option<u32>,
    quantile: Option<f64>,
    perturb: Option<f64>,
    max_epochs: Option<u32>,
}

impl From<RawStrategy> for StrategyOptions {
    fn from(raw: RawStrategy) -> Self {
        use RawStrategy as R;
        let kind = match &raw {
            R::Grid(_) => StrategyKind::Grid,
            R::Random(_) => StrategyKind::Random,
            R::Bayes(_) => StrategyKind::Bayes,
            R::Tpe(_) => StrategyKind::Tpe,
            R::Evolution(_) => StrategyKind::Evolution,
            R::Sha(_) => StrategyKind::Sha,
            R::Hyperband(_) => StrategyKind::Hyperband,
            R::Asha(_) => StrategyKind::Asha,
            R::Bohb(_) => StrategyKind::Bohb,
            R::Pbt(_) => StrategyKind::Pbt,
        };
        let mut o = StrategyOptions::new(kind);
        match raw {
            R::Grid(g) => {
                (o.steps, o.allow_large, o.batch) = (g.steps, g.allow_large, g.batch);
            }
            R::Random(r) => {
                (o.sobol, o.batch, o.median_stopping) = (r.sobol, r.batch, r.median_stopping);
            }
            R::Bayes(b) => {
                (o.surrogate, o.acquisition, o.initial) = (b.surrogate, b.acquisition, b.initial);
                (o.kappa, o.xi, o.candidates) = (b.kappa, b.xi, b.candidates);
                (o.batch, o.median_stopping) = (b.batch, b.median_stopping);
            }
            R::Tpe(t) => {
                (o.initial, o.gamma, o.candidates) = (t.initial, t.gamma, t.candidates);
                (o.batch, o.median_stopping) = (t.batch, t.median_stopping);
            }
            R::Evolution(e) => {
                (o.population, o.generations, o.tournament) =
                    (e.population, e.generations, e.tournament);
                (o.mutation_rate, o.crossover_rate, o.elitism) =
                    (e.mutation_rate, e.crossover_rate, e.elitism);
            }
            R::Sha(r) | R::Hyperband(r) | R::Asha(r) => {
                (o.eta, o.min_epochs, o.max_epochs, o.batch) =
                    (r.eta, r.min_epochs, r.max_epochs, r.batch);
            }
            R::Bohb(b) => {
                (o.eta, o.min_epochs, o.max_epochs, o.batch) =
                    (b.eta, b.min_epochs, b.max_epochs, b.batch);
                (o.initial, o.gamma, o.candidates) = (b.initial, b.gamma, b.candidates);
            }
            R::Pbt(p) => {
                (o.population, o.interval, o.quantile) = (p.population, p.interval, p.quantile);
                (o.perturb, o.max_epochs) = (p.perturb, p.max_epochs);
            }
        }
        o
    }
}

impl<'de> Deserialize<'de> for StrategyOptions {
    /// The kind first, then that kind's options on their own, so that an error inside names
    /// its key (serde's tagged enums lose the path).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_yaml::Mapping::deserialize(d)?;
        let kind = map
            .remove("kind")
            .ok_or_else(|| D::Error::custom("`kind` is required"))?;
        let kind: StrategyKind = serde_yaml::from_value(kind).map_err(|e| {
            D::Error::custom(format!("kind: {e}").replace("unknown variant", "unknown value"))
        })?;
        let rest = serde_yaml::Value::Mapping(map);
        fn options<'a, T: Deserialize<'a>, E: serde::de::Error>(
            v: serde_yaml::Value,
        ) -> Result<T, E> {
            serde_path_to_error::deserialize(v).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.inner().to_string();
                let inner = inner
                    .split(" at line ")
                    .next()
                    .unwrap_or(&inner)
                    .to_string();
                if path == "." || inner.starts_with("unknown field") {
                    E::custom(inner)
                } else {
                    E::custom(format!("{path}: {inner}"))
                }
            })
        }
        use RawStrategy as R;
        let raw = match kind {
            StrategyKind::Grid => R::Grid(options(rest)?),
            StrategyKind::Random => R::Random(options(rest)?),
            StrategyKind::Bayes => R::Bayes(options(rest)?),
            StrategyKind::Tpe => R::Tpe(options(rest)?),
            StrategyKind::Evolution => R::Evolution(options(rest)?),
            StrategyKind::Sha => R::Sha(options(rest)?),
            StrategyKind::Hyperband => R::Hyperband(options(rest)?),
            StrategyKind::Asha => R::Asha(options(rest)?),
            StrategyKind::Bohb => R::Bohb(options(rest)?),
            StrategyKind::Pbt => R::Pbt(options(rest)?),
        };
        Ok(raw.into())
    }
}

/// Every strategy default, in one place: the schedulers and samplers take theirs from here
/// (`scheduler::DEFAULT_*`, `strategy::*::DEFAULT_*` are these), and `resolve` applies them
/// for the job's identity, so that changing one changes the ids of the jobs it affects.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub batch: usize,
    pub eta: u32,
    pub min_epochs: u32,
    pub sobol: bool,
    pub acquisition: Acquisition,
    pub bayes_initial: usize,
    pub bayes_candidates: usize,
    pub xi: f64,
    pub kappa: f64,
    pub tpe_initial: usize,
    pub tpe_candidates: usize,
    pub evolution_population: usize,
    pub tournament: usize,
    pub crossover_rate: f64,
    pub mutation_rate: f64,
    pub elitism: usize,
    pub pbt_population: usize,
    pub quantile: f64,
    pub perturb: f64,
}

pub const DEFAULTS: Defaults = Defaults {
    batch: 4,
    eta: 3,
    min_epochs: 1,
    sobol: false,
    acquisition: Acquisition::Ei,
    bayes_initial: 10,
    bayes_candidates: 1000,
    xi: 0.0,
    kappa: 2.0,
    tpe_initial: 10,
    tpe_candidates: 24,
    evolution_population: 20,
    tournament: 3,
    crossover_rate: 0.9,
    mutation_rate: 0.2,
    elitism: 1,
    pbt_population: 8,
    quantile: 0.25,
    perturb: 0.2,
};

/// The epochs of a multi-fidelity kind's rungs, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rungs {
    pub eta: u32,
    pub min_epochs: u32,
    pub max_epochs: u32,
    pub batch: usize,
}

/// A strategy with every default applied: the job key's form. One variant per kind, holding
/// only that kind's options. `None` where unset means something of its own (grid `steps`:
/// each parameter's; tpe `gamma`: Optuna's rule; evolution `generations`: no limit).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Strategy {
    Grid {
        steps: Option<usize>,
        allow_large: bool,
        batch: usize,
    },
    Random {
        sobol: bool,
        batch: usize,
        median_stopping: bool,
    },
    Bayes {
        surrogate: String,
        acquisition: Acquisition,
        initial: usize,
        kappa: f64,
        xi: f64,
        candidates: usize,
        batch: usize,
        median_stopping: bool,
    },
    Tpe {
        initial: usize,
        gamma: Option<f64>,
        candidates: usize,
        batch: usize,
        median_stopping: bool,
    },
    Evolution {
        population: usize,
        generations: Option<usize>,
        mutation_rate: f64,
        crossover_rate: f64,
        tournament: usize,
        elitism: usize,
    },
    Sha(Rungs),
    Hyperband(Rungs),
    Asha(Rungs),
    Bohb {
        #[serde(flatten)]
        rungs: Rungs,
        /// Observations at a budget before its model is used (default: parameters + 2).
        initial: usize,
        gamma: Option<f64>,
        candidates: usize,
    },
    Pbt {
        population: usize,
        interval: u32,
        quantile: f64,
        perturb: f64,
        max_epochs: u32,
    },
}

impl StrategyOptions {
    /// The strategy with every default applied. `default_epochs` is the stage's epochs (the
    /// default `max_epochs`), `params` the number of searched parameters (BOHB's `initial`).
    pub fn resolve(&self, default_epochs: u32, params: usize) -> Strategy {
        self.resolve_with(&DEFAULTS, default_epochs, params)
    }

    /// `resolve` under other defaults (a test changes one and sees which job ids change).
    pub fn resolve_with(&self, d: &Defaults, default_epochs: u32, params: usize) -> Strategy {
        let o = self;
        let batch = o.batch.unwrap_or(d.batch);
        let median_stopping = o.median_stopping.unwrap_or(false);
        let max_epochs = o.max_epochs.unwrap_or(default_epochs);
        let rungs = Rungs {
            eta: o.eta.unwrap_or(d.eta),
            min_epochs: o.min_epochs.unwrap_or(d.min_epochs),
            max_epochs,
            batch,
        };
        match o.kind {
            StrategyKind::Grid => Strategy::Grid {
                steps: o.steps,
                allow_large: o.allow_large.unwrap_or(false),
                batch,
            },
            StrategyKind::Random => Strategy::Random {
                sobol: o.sobol.unwrap_or(d.sobol),
                batch,
                median_stopping,
            },
            StrategyKind::Bayes => Strategy::Bayes {
                surrogate: o.surrogate.clone().unwrap_or_else(|| "gp".into()),
                acquisition: o.acquisition.unwrap_or(d.acquisition),
                initial: o.initial.unwrap_or(d.bayes_initial),
                kappa: o.kappa.unwrap_or(d.kappa),
                xi: o.xi.unwrap_or(d.xi),
                candidates: o.candidates.unwrap_or(d.bayes_candidates),
                batch,
                median_stopping,
            },
            StrategyKind::Tpe => Strategy::Tpe {
                initial: o.initial.unwrap_or(d.tpe_initial),
                gamma: o.gamma,
                candidates: o.candidates.unwrap_or(d.tpe_candidates),
                batch,
                median_stopping,
            },
            StrategyKind::Evolution => Strategy::Evolution {
                population: o.population.unwrap_or(d.evolution_population),
                generations: o.generations,
                mutation_rate: o.mutation_rate.unwrap_or(d.mutation_rate),
                crossover_rate: o.crossover_rate.unwrap_or(d.crossover_rate),
                tournament: o.tournament.unwrap_or(d.tournament),
                elitism: o.elitism.unwrap_or(d.elitism),
            },
            StrategyKind::Sha => Strategy::Sha(rungs),
            StrategyKind::Hyperband => Strategy::Hyperband(rungs),
            StrategyKind::Asha => Strategy::Asha(rungs),
            StrategyKind::Bohb => Strategy::Bohb {
                rungs,
                initial: o.initial.unwrap_or(params + 2),
                gamma: o.gamma,
                candidates: o.candidates.unwrap_or(d.tpe_candidates),
            },
            StrategyKind::Pbt => {
                let max = max_epochs.max(1);
                Strategy::Pbt {
                    population: o.population.unwrap_or(d.pbt_population),
                    interval: o.interval.unwrap_or((max / 8).max(1)).clamp(1, max),
                    quantile: o.quantile.unwrap_or(d.quantile),
                    perturb: o.perturb.unwrap_or(d.perturb),
                    max_epochs: max,
                }
            }
        }
    }
}
