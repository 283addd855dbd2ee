//! `strategy:` as written: one variant per kind holding only that kind's options, so an
//! option of another kind is refused when the workflow is read, with the kind's own named.
//! Nothing here is a default: `resolve` applies them.

use serde::Deserialize;

use super::{Acquisition, StrategyKind};

#[derive(Debug, Clone)]
pub enum RawStrategy {
    Grid(Grid),
    Random(Random),
    Bayes(Bayes),
    Tpe(Tpe),
    Evolution(Evolution),
    Sha(Rungs),
    Hyperband(Rungs),
    Asha(Rungs),
    Bohb(Bohb),
    Pbt(Pbt),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub steps: Option<usize>,
    pub allow_large: Option<bool>,
    pub batch: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Random {
    pub sobol: Option<bool>,
    pub batch: Option<usize>,
    pub median_stopping: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bayes {
    pub surrogate: Option<String>,
    pub acquisition: Option<Acquisition>,
    pub initial: Option<usize>,
    pub kappa: Option<f64>,
    pub xi: Option<f64>,
    pub candidates: Option<usize>,
    pub batch: Option<usize>,
    pub median_stopping: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tpe {
    pub initial: Option<usize>,
    pub gamma: Option<f64>,
    pub candidates: Option<usize>,
    pub batch: Option<usize>,
    pub median_stopping: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evolution {
    pub population: Option<usize>,
    pub generations: Option<usize>,
    pub mutation_rate: Option<f64>,
    pub crossover_rate: Option<f64>,
    pub tournament: Option<usize>,
    pub elitism: Option<usize>,
}

/// sha, hyperband, asha.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rungs {
    pub eta: Option<u32>,
    pub min_epochs: Option<u32>,
    pub max_epochs: Option<u32>,
    pub batch: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bohb {
    pub eta: Option<u32>,
    pub min_epochs: Option<u32>,
    pub max_epochs: Option<u32>,
    pub batch: Option<usize>,
    pub initial: Option<usize>,
    pub gamma: Option<f64>,
    pub candidates: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pbt {
    pub population: Option<usize>,
    pub interval: Option<u32>,
    pub quantile: Option<f64>,
    pub perturb: Option<f64>,
    pub max_epochs: Option<u32>,
}

impl RawStrategy {
    /// A kind with no option written.
    pub fn new(kind: StrategyKind) -> Self {
        use StrategyKind as K;
        match kind {
            K::Grid => Self::Grid(Grid::default()),
            K::Random => Self::Random(Random::default()),
            K::Bayes => Self::Bayes(Bayes::default()),
            K::Tpe => Self::Tpe(Tpe::default()),
            K::Evolution => Self::Evolution(Evolution::default()),
            K::Sha => Self::Sha(Rungs::default()),
            K::Hyperband => Self::Hyperband(Rungs::default()),
            K::Asha => Self::Asha(Rungs::default()),
            K::Bohb => Self::Bohb(Bohb::default()),
            K::Pbt => Self::Pbt(Pbt::default()),
        }
    }

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

    /// `max_epochs` as written: the stage's epochs when given (it must then agree with
    /// `params.epochs`).
    pub fn max_epochs(&self) -> Option<u32> {
        match self {
            Self::Sha(r) | Self::Hyperband(r) | Self::Asha(r) => r.max_epochs,
            Self::Bohb(b) => b.max_epochs,
            Self::Pbt(p) => p.max_epochs,
            Self::Grid(_)
            | Self::Random(_)
            | Self::Bayes(_)
            | Self::Tpe(_)
            | Self::Evolution(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for RawStrategy {
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
        use StrategyKind as K;
        Ok(match kind {
            K::Grid => Self::Grid(options(rest)?),
            K::Random => Self::Random(options(rest)?),
            K::Bayes => Self::Bayes(options(rest)?),
            K::Tpe => Self::Tpe(options(rest)?),
            K::Evolution => Self::Evolution(options(rest)?),
            K::Sha => Self::Sha(options(rest)?),
            K::Hyperband => Self::Hyperband(options(rest)?),
            K::Asha => Self::Asha(options(rest)?),
            K::Bohb => Self::Bohb(options(rest)?),
            K::Pbt => Self::Pbt(options(rest)?),
        })
    }
}
