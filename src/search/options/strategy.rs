//! A strategy with every default applied and every option checked: what the schedulers and
//! samplers are built from, and the job key's form. One variant per kind, holding only that
//! kind's options. `None` where it means something of its own (grid `steps`: each parameter's;
//! tpe and bohb `gamma`: Optuna's rule; evolution `generations`: no limit).

use serde::Serialize;

use super::{Acquisition, StrategyKind};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Strategy {
    Grid(GridOptions),
    Random(RandomOptions),
    Bayes(BayesOptions),
    Tpe(TpeOptions),
    Evolution(EvolutionOptions),
    Sha(Rungs),
    Hyperband(Rungs),
    Asha(Rungs),
    Bohb(BohbOptions),
    Pbt(PbtOptions),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridOptions {
    pub steps: Option<usize>,
    /// Run a grid larger than the trial budget anyway (it is cut at the budget).
    pub allow_large: bool,
    pub batch: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RandomOptions {
    pub sobol: bool,
    pub batch: usize,
    pub median_stopping: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BayesOptions {
    pub surrogate: String,
    pub acquisition: Acquisition,
    pub initial: usize,
    pub kappa: f64,
    pub xi: f64,
    pub candidates: usize,
    pub batch: usize,
    pub median_stopping: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TpeOptions {
    pub initial: usize,
    pub gamma: Option<f64>,
    pub candidates: usize,
    pub batch: usize,
    pub median_stopping: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvolutionOptions {
    pub population: usize,
    pub generations: Option<usize>,
    pub mutation_rate: f64,
    pub crossover_rate: f64,
    pub tournament: usize,
    pub elitism: usize,
    /// Not an option of its own (the default batch): the plain scheduler's lag.
    pub batch: usize,
}

/// The epochs of a multi-fidelity kind's rungs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rungs {
    pub eta: u32,
    pub min_epochs: u32,
    pub max_epochs: u32,
    pub batch: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BohbOptions {
    #[serde(flatten)]
    pub rungs: Rungs,
    /// Observations at a budget before its model is used (default: parameters + 2).
    pub initial: usize,
    pub gamma: Option<f64>,
    pub candidates: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PbtOptions {
    pub population: usize,
    pub interval: u32,
    pub quantile: f64,
    pub perturb: f64,
    pub max_epochs: u32,
}

impl Strategy {
    pub fn kind(&self) -> StrategyKind {
        use StrategyKind as K;
        match self {
            Self::Grid(_) => K::Grid,
            Self::Random(_) => K::Random,
            Self::Bayes(_) => K::Bayes,
            Self::Tpe(_) => K::Tpe,
            Self::Evolution(_) => K::Evolution,
            Self::Sha(_) => K::Sha,
            Self::Hyperband(_) => K::Hyperband,
            Self::Asha(_) => K::Asha,
            Self::Bohb(_) => K::Bohb,
            Self::Pbt(_) => K::Pbt,
        }
    }

    /// The rungs of sha, hyperband, asha and bohb.
    pub fn rungs(&self) -> Option<&Rungs> {
        match self {
            Self::Sha(r) | Self::Hyperband(r) | Self::Asha(r) => Some(r),
            Self::Bohb(b) => Some(&b.rungs),
            Self::Grid(_)
            | Self::Random(_)
            | Self::Bayes(_)
            | Self::Tpe(_)
            | Self::Evolution(_)
            | Self::Pbt(_) => None,
        }
    }

    /// Proposals made from the same results (the plain and ASHA schedulers' lag); `None` for
    /// the kinds that decide in waves.
    pub fn batch(&self) -> Option<usize> {
        match self {
            Self::Grid(o) => Some(o.batch),
            Self::Random(o) => Some(o.batch),
            Self::Bayes(o) => Some(o.batch),
            Self::Tpe(o) => Some(o.batch),
            Self::Evolution(o) => Some(o.batch),
            Self::Sha(r) | Self::Hyperband(r) | Self::Asha(r) => Some(r.batch),
            Self::Bohb(b) => Some(b.rungs.batch),
            Self::Pbt(_) => None,
        }
    }

    /// Plain trials stopped when worse than the median of earlier ones at the same epoch.
    pub fn median_stopping(&self) -> bool {
        match self {
            Self::Random(o) => o.median_stopping,
            Self::Bayes(o) => o.median_stopping,
            Self::Tpe(o) => o.median_stopping,
            Self::Grid(_)
            | Self::Evolution(_)
            | Self::Sha(_)
            | Self::Hyperband(_)
            | Self::Asha(_)
            | Self::Bohb(_)
            | Self::Pbt(_) => false,
        }
    }

    /// The most epochs one trial trains: a multi-fidelity kind's `max_epochs`, else the
    /// stage's `epochs`.
    pub fn max_epochs(&self, epochs: u32) -> u32 {
        match self {
            Self::Pbt(p) => p.max_epochs,
            other => other.rungs().map_or(epochs, |r| r.max_epochs),
        }
    }
}
