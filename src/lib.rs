//! hpflow: hyperparameter sweeps as content-hashed, resumable workflows.
//!
//! The data flow, module by module:
//! `workflow` (YAML → validated `Workflow`) → `plan` (jobs with content hashes) → `exec`
//! (the coordinator runs jobs in order, skipping done ones) → `stage` (split, search, retrain,
//! evaluate) → `search` (strategies and schedulers) / `workers` (the worker processes the
//! stages hand requests to) → `train` (the worker loop and trainers) → `store` (the `runs/`
//! folder and its SQLite database, the only place state lives). `signals` and `progress` sit
//! below them all; each layer only looks down.

pub mod data;
pub mod error;
pub mod importance;
pub mod mlflow;
pub mod reasons;
pub mod report;
pub mod search;
pub mod serve;
pub mod store;
pub mod text;
pub mod train;
pub mod vocab;

pub use error::{Error, Result};
pub mod cli;
pub mod cmd;
pub mod exec;
pub mod plan;
pub mod progress;
pub mod signals;
pub mod stage;
pub mod workers;
pub mod workflow;
