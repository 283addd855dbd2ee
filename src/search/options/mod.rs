//! The `strategy:` and `budget:` sections of a search stage: as written (`raw`), with every
//! default applied and every range checked (`resolve`, into the typed `Strategy` of
//! `strategy`), and the defaults themselves, in one place (`defaults`). The schedulers and
//! samplers read only the resolved form, so the job key (which hashes it) and the run agree.
//!
//! Adding a strategy option: its field in the kind's struct in `raw.rs` (as written) and in
//! `strategy.rs` (resolved), its default in `defaults.rs`, its check and default in the kind's
//! arm of `resolve.rs`, and its use in the sampler or scheduler that reads it.

mod budget;
mod defaults;
mod raw;
mod resolve;
mod strategy;

use serde::{Deserialize, Serialize};

pub use budget::{Budget, parse_duration, show_duration};
pub use defaults::{DEFAULTS, Defaults};
pub use raw::RawStrategy;
pub use strategy::{
    BayesOptions, BohbOptions, EvolutionOptions, GridOptions, PbtOptions, RandomOptions, Rungs,
    Strategy, TpeOptions,
};

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

/// The most epochs a trial may train (the schema's limit for `epochs`).
pub const MAX_EPOCHS: usize = 100_000;

/// The most trials an open-ended search (a time or epoch budget alone) starts.
pub const OPEN_ENDED_TRIALS: usize = 10_000;

impl Strategy {
    /// A strategy written as YAML (`{kind: tpe, initial: 3}`), resolved under the defaults
    /// for a stage of `epochs` epochs and `params` searched parameters (tests, benchmarks).
    pub fn from_yaml(yaml: &str, epochs: u32, params: usize) -> Result<Strategy, String> {
        let raw: RawStrategy = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        raw.resolve("strategy", &DEFAULTS, epochs, params)
            .map_err(|e| format!("{}: {}", e.field, e.msg))
    }

    /// A kind with every option at its default (benchmarks).
    pub fn of_kind(kind: StrategyKind, epochs: u32, params: usize) -> Strategy {
        RawStrategy::new(kind)
            .resolve("strategy", &DEFAULTS, epochs, params)
            .expect("the defaults are in range")
    }
}
