//! Every strategy default, in one place. Only `resolve` reads them: the schedulers and samplers
//! get resolved options, and the job key hashes those, so that changing a default here
//! changes the ids of the jobs it applies to (`plan::tests`).

use super::Acquisition;

#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// Proposals made from the same results (grid, random, bayes, tpe, evolution, asha).
    pub batch: usize,
    pub eta: u32,
    pub min_epochs: u32,
    pub sobol: bool,
    pub acquisition: Acquisition,
    pub surrogate: &'static str,
    pub bayes_initial: usize,
    pub bayes_candidates: usize,
    pub xi: f64,
    pub kappa: f64,
    pub tpe_initial: usize,
    /// TPE's and BOHB's.
    pub tpe_candidates: usize,
    pub evolution_population: usize,
    pub tournament: usize,
    pub crossover_rate: f64,
    pub mutation_rate: f64,
    pub elitism: usize,
    pub pbt_population: usize,
    pub quantile: f64,
    pub perturb: f64,
    /// A PBT member is exploited every `max_epochs / this` epochs (at least 1).
    pub pbt_intervals: u32,
    /// BOHB uses its model at a budget once it has `parameters + this` observations there.
    pub bohb_initial_over_params: usize,
}

pub const DEFAULTS: Defaults = Defaults {
    batch: 4,
    eta: 3,
    min_epochs: 1,
    sobol: false,
    acquisition: Acquisition::Ei,
    surrogate: "gp",
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
    pbt_intervals: 8,
    bohb_initial_over_params: 2,
};
