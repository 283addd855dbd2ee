//! The ground floor: the vocabulary every layer shares (configurations, goals, work items and
//! their results, states, seeded random streams). It imports nothing from the crate, so any
//! layer may use it and each layer only looks down (`tests/layers.rs` checks the order).

pub mod config;
pub mod goal;
pub mod retrain;
pub mod rng;
pub mod state;
pub mod work;

pub use config::{Config, Value};
pub use goal::Goal;
pub use retrain::RetrainOn;
pub use rng::rng_for;
pub use state::{ItemState, JobState, TrialRowState};
pub use work::{ItemResult, Wave, WorkItem};
