//! The ground floor: the vocabulary every layer shares (states, and later configurations,
//! goals, work items and results), so that each layer only looks down.

pub mod state;

pub use state::{ItemState, JobState, TrialRowState};
