//! Schedulers that decide how long each trial trains: plain, sha, hyperband, asha, bohb, pbt.
// PLACEHOLDER until the scheduler branch lands.
use crate::search::*;
pub fn scheduler(_: &StrategyOptions, _: u64, _: Box<dyn Sampler>, _: Space, _: &Budget, _: u32) -> Result<Box<dyn Scheduler>, String> {
    Err("not yet".into())
}
pub fn best_trial(_: &[WorkItem], _: &[ItemResult]) -> Option<(usize, u32, f64)> { None }
pub fn describe(_: &StrategyOptions, _: &Budget, _: u32) -> serde_json::Value { serde_json::Value::Null }
