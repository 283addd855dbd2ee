//! Written → resolved: each kind's options checked against their ranges and given their
//! defaults. The one place a default is applied.

use super::raw::{self, RawStrategy};
use super::strategy::*;
use super::{Defaults, MAX_EPOCHS};
use crate::error::FieldError;

impl RawStrategy {
    /// The strategy with every default applied, or the first option out of range. `field` is
    /// the dotted path of the strategy section, `epochs` the stage's epochs (the default
    /// `max_epochs`), `params` the number of searched parameters (BOHB's default `initial`).
    pub fn resolve(
        &self,
        field: &str,
        d: &Defaults,
        epochs: u32,
        params: usize,
    ) -> Result<Strategy, FieldError> {
        let c = Check { field };
        let batch = |b: Option<usize>| c.count("batch", b, 10_000).map(|b| b.unwrap_or(d.batch));
        let median = |m: Option<bool>| m.unwrap_or(false);
        Ok(match self {
            RawStrategy::Grid(o) => {
                c.count("steps", o.steps, 100_000)?;
                if let Some(s) = o.steps.filter(|&s| s < 2) {
                    return Err(c.err("steps", format!("must be at least 2, got {s}")));
                }
                Strategy::Grid(GridOptions {
                    steps: o.steps,
                    allow_large: o.allow_large.unwrap_or(false),
                    batch: batch(o.batch)?,
                })
            }
            RawStrategy::Random(o) => Strategy::Random(RandomOptions {
                sobol: o.sobol.unwrap_or(d.sobol),
                batch: batch(o.batch)?,
                median_stopping: median(o.median_stopping),
            }),
            RawStrategy::Bayes(o) => {
                let surrogate = o.surrogate.clone().unwrap_or_else(|| d.surrogate.into());
                if surrogate != "gp" {
                    return Err(c.err(
                        "surrogate",
                        format!("only gp is supported, got {surrogate}"),
                    ));
                }
                Strategy::Bayes(BayesOptions {
                    surrogate,
                    acquisition: o.acquisition.unwrap_or(d.acquisition),
                    initial: o.initial.unwrap_or(d.bayes_initial),
                    kappa: c.non_negative("kappa", o.kappa)?.unwrap_or(d.kappa),
                    xi: c.non_negative("xi", o.xi)?.unwrap_or(d.xi),
                    candidates: c
                        .count("candidates", o.candidates, 1_000_000)?
                        .unwrap_or(d.bayes_candidates),
                    batch: batch(o.batch)?,
                    median_stopping: median(o.median_stopping),
                })
            }
            RawStrategy::Tpe(o) => Strategy::Tpe(TpeOptions {
                initial: o.initial.unwrap_or(d.tpe_initial),
                gamma: c.fraction("gamma", o.gamma, true)?,
                candidates: c
                    .count("candidates", o.candidates, 1_000_000)?
                    .unwrap_or(d.tpe_candidates),
                batch: batch(o.batch)?,
                median_stopping: median(o.median_stopping),
            }),
            RawStrategy::Evolution(o) => Strategy::Evolution(EvolutionOptions {
                population: c
                    .count("population", o.population, 10_000)?
                    .unwrap_or(d.evolution_population),
                generations: c.count("generations", o.generations, 100_000)?,
                mutation_rate: c
                    .fraction("mutation_rate", o.mutation_rate, false)?
                    .unwrap_or(d.mutation_rate),
                crossover_rate: c
                    .fraction("crossover_rate", o.crossover_rate, false)?
                    .unwrap_or(d.crossover_rate),
                tournament: c
                    .count("tournament", o.tournament, 10_000)?
                    .unwrap_or(d.tournament),
                elitism: o.elitism.unwrap_or(d.elitism),
                batch: d.batch,
            }),
            RawStrategy::Sha(r) => Strategy::Sha(rungs(&c, d, r, epochs)?),
            RawStrategy::Hyperband(r) => Strategy::Hyperband(rungs(&c, d, r, epochs)?),
            RawStrategy::Asha(r) => Strategy::Asha(rungs(&c, d, r, epochs)?),
            RawStrategy::Bohb(b) => {
                let written = raw::Rungs {
                    eta: b.eta,
                    min_epochs: b.min_epochs,
                    max_epochs: b.max_epochs,
                    batch: b.batch,
                };
                Strategy::Bohb(BohbOptions {
                    rungs: rungs(&c, d, &written, epochs)?,
                    initial: b.initial.unwrap_or(params + d.bohb_initial_over_params),
                    gamma: c.fraction("gamma", b.gamma, true)?,
                    candidates: c
                        .count("candidates", b.candidates, 1_000_000)?
                        .unwrap_or(d.tpe_candidates),
                })
            }
            RawStrategy::Pbt(p) => {
                let max = c
                    .epochs("max_epochs", p.max_epochs)?
                    .unwrap_or(epochs)
                    .max(1);
                let interval = c.epochs("interval", p.interval)?;
                let quantile = c.fraction("quantile", p.quantile, true)?;
                if let Some(q) = quantile.filter(|&q| q > 0.5) {
                    return Err(c.err("quantile", format!("must be at most 0.5, got {q}")));
                }
                Strategy::Pbt(PbtOptions {
                    population: c
                        .count("population", p.population, 10_000)?
                        .unwrap_or(d.pbt_population),
                    interval: interval
                        .unwrap_or((max / d.pbt_intervals).max(1))
                        .clamp(1, max),
                    quantile: quantile.unwrap_or(d.quantile),
                    perturb: c.non_negative("perturb", p.perturb)?.unwrap_or(d.perturb),
                    max_epochs: max,
                })
            }
        })
    }
}

/// sha, hyperband, asha and bohb's rungs: 2 <= eta, 1 <= min_epochs <= max_epochs.
fn rungs(c: &Check, d: &Defaults, r: &raw::Rungs, epochs: u32) -> Result<Rungs, FieldError> {
    if let Some(m) = r.min_epochs.filter(|&m| m as usize > MAX_EPOCHS) {
        return Err(c.err(
            "min_epochs",
            format!("must be at most {MAX_EPOCHS}, got {m}"),
        ));
    }
    let max = c.epochs("max_epochs", r.max_epochs)?.unwrap_or(epochs);
    let min = r.min_epochs.unwrap_or(d.min_epochs);
    let eta = r.eta.unwrap_or(d.eta);
    if eta < 2 {
        return Err(c.err("eta", format!("must be at least 2, got {eta}")));
    }
    if min == 0 || min > max {
        let msg = format!("needs 1 <= min_epochs <= max_epochs, got {min} and {max}");
        return Err(match r.max_epochs {
            Some(_) => c.err("min_epochs", msg),
            // The conflict is with a number the user did not write here: say where it is from.
            None => FieldError::new(
                c.field,
                format!("{msg} (max_epochs not given: it is params.epochs, else 10)"),
            ),
        });
    }
    Ok(Rungs {
        eta,
        min_epochs: min,
        max_epochs: max,
        batch: c.count("batch", r.batch, 10_000)?.unwrap_or(d.batch),
    })
}

/// The range checks options share, each naming `field.name`.
struct Check<'a> {
    field: &'a str,
}

impl Check<'_> {
    fn err(&self, name: &str, msg: impl Into<String>) -> FieldError {
        FieldError::new(format!("{}.{name}", self.field), msg)
    }

    /// A size from 1 to `most`: more is a size no one means (that many slots, trials or
    /// epochs would be built or run).
    fn count(
        &self,
        name: &str,
        v: Option<usize>,
        most: usize,
    ) -> Result<Option<usize>, FieldError> {
        match v {
            Some(x) if x > most => Err(self.err(name, format!("must be at most {most}, got {x}"))),
            Some(0) => Err(self.err(name, "must be at least 1")),
            v => Ok(v),
        }
    }

    /// Epochs from 1 to `MAX_EPOCHS`.
    fn epochs(&self, name: &str, v: Option<u32>) -> Result<Option<u32>, FieldError> {
        self.count(name, v.map(|e| e as usize), MAX_EPOCHS)
            .map(|_| v)
    }

    /// A fraction in [0, 1], or in (0, 1) when `open`.
    fn fraction(&self, name: &str, v: Option<f64>, open: bool) -> Result<Option<f64>, FieldError> {
        match v {
            Some(x) if !(0.0..=1.0).contains(&x) || open && (x == 0.0 || x >= 1.0) => {
                Err(self.err(name, format!("must lie in (0, 1), got {x}")))
            }
            v => Ok(v),
        }
    }

    fn non_negative(&self, name: &str, v: Option<f64>) -> Result<Option<f64>, FieldError> {
        match v {
            Some(x) if !(x.is_finite() && x >= 0.0) => {
                Err(self.err(name, format!("must be a number >= 0, got {x}")))
            }
            v => Ok(v),
        }
    }
}
