//! Strategies that propose configurations: grid, random, bayes (GP), tpe, evolution.
// PLACEHOLDER until the strategy branch lands.
pub fn sampler(_: &crate::search::StrategyOptions, _: u64) -> Box<dyn crate::search::Sampler> {
    unimplemented!()
}
