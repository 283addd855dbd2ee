//! What `hpflow plan` prints about a search's schedule: rungs, brackets, population, and the
//! epochs the schedule trains at most (continuing from checkpoints) against retraining.

use serde_json::{Value, json};

use crate::search::options::BohbOptions;
use crate::search::{Budget, Strategy, StrategyKind};

use super::ladder::{self, Bracket};
use super::{DEFAULT_TRIALS, default_trials, median, pbt_population};

/// Epochs of a bracket run without failures: with continuation (each trial's epochs paid
/// once) and retraining every promoted trial from scratch.
fn bracket_epochs(b: &Bracket) -> (u64, u64) {
    let (mut cont, mut scratch, mut prev) = (0u64, 0u64, 0u32);
    for r in &b.rungs {
        cont += r.n as u64 * u64::from(r.epochs - prev);
        scratch += r.n as u64 * u64::from(r.epochs);
        prev = r.epochs;
    }
    (cont, scratch)
}

fn brackets_json(brackets: &[Bracket]) -> Value {
    let (cont, scratch) = brackets
        .iter()
        .map(bracket_epochs)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    json!({
        "brackets": brackets.iter().map(|b| json!({
            "s": b.s,
            "rungs": b.rungs.iter().map(|r| json!({"n": r.n, "epochs": r.epochs})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "trials": brackets.iter().map(|b| b.rungs.first().map_or(0, |r| r.n)).sum::<usize>(),
        "epochs_max": cont,
        "epochs_if_retrained": scratch,
    })
}

/// A JSON description of the schedule (errors in the options are reported as `{"error"}`).
/// `epochs` is the stage's: what plain trials train to.
pub fn describe(strategy: &Strategy, budget: &Budget, epochs: u32) -> Value {
    use StrategyKind::*;
    let kind = strategy.kind();
    let name = format!("{kind:?}").to_lowercase();
    let mut out = match strategy {
        Strategy::Grid(_)
        | Strategy::Random(_)
        | Strategy::Bayes(_)
        | Strategy::Tpe(_)
        | Strategy::Evolution(_) => {
            let mut v = json!({
                // Named by the strategy that proposes the trials (`random`, `tpe`, ...).
                "scheduler": name,
                "batch": strategy.batch(),
                "trials": budget.trials.unwrap_or(DEFAULT_TRIALS),
                "epochs": epochs,
            });
            if strategy.median_stopping() {
                v["median_stopping"] = json!({
                    "chunk": median::chunk(epochs),
                    "min_reported": median::MIN_REPORTED,
                    "compared_with": "trials of earlier batches",
                });
            }
            v
        }
        Strategy::Sha(r)
        | Strategy::Hyperband(r)
        | Strategy::Asha(r)
        | Strategy::Bohb(BohbOptions { rungs: r, .. }) => {
            let mut v = match kind {
                Hyperband | Bohb => {
                    match ladder::hyperband_budgeted(
                        r.min_epochs,
                        r.max_epochs,
                        r.eta,
                        budget.trials,
                    ) {
                        Ok(b) => brackets_json(&b),
                        Err(e) => json!({ "error": e }),
                    }
                }
                _ => {
                    let ladder = ladder::ladder(r.min_epochs, r.max_epochs, r.eta);
                    let n = budget.trials.unwrap_or_else(|| default_trials(r));
                    brackets_json(&[ladder::bracket(ladder.len() as u32 - 1, n, &ladder, r.eta)])
                }
            };
            v["scheduler"] = json!(name);
            v["eta"] = json!(r.eta);
            v["min_epochs"] = json!(r.min_epochs);
            v["max_epochs"] = json!(r.max_epochs);
            if kind == Asha {
                // ASHA's rung sizes depend on timing-free but result-driven promotions;
                // the table is the synchronous equivalent.
                v["batch"] = json!(r.batch);
            }
            v
        }
        Strategy::Pbt(p) => {
            let population = pbt_population(p, budget);
            json!({
                "scheduler": "pbt",
                "population": population,
                "interval": p.interval,
                "max_epochs": p.max_epochs,
                "generations": p.max_epochs.div_ceil(p.interval),
                "quantile": p.quantile,
                "perturb": p.perturb,
                "epochs_max": population as u64 * u64::from(p.max_epochs),
            })
        }
    };
    if let Some(e) = budget.epochs {
        out["budget_epochs"] = json!(e);
    }
    // Evolution and PBT end with their generations, whatever the budget.
    let generations = matches!(kind, Evolution | Pbt);
    if let Some(by) = budget.open_ended_by().filter(|_| !generations) {
        // The schedule above repeats (new trials, new brackets) until the budget is spent.
        out["until"] = json!(by);
        out["trials_at_most"] = json!(crate::search::options::OPEN_ENDED_TRIALS);
        // Counts of one pass would read as the whole search's: leave them out.
        if let Some(o) = out.as_object_mut() {
            for k in ["trials", "epochs_max", "epochs_if_retrained"] {
                o.remove(k);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperband_description_lists_the_paper_table() {
        let opts = Strategy::from_yaml("{kind: hyperband, max_epochs: 81}", 81, 2).unwrap();
        let v = describe(&opts, &Budget::default(), 81);
        let n: Vec<u64> = v["brackets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["rungs"][0]["n"].as_u64().unwrap())
            .collect();
        assert_eq!(n, vec![81, 34, 15, 8, 5]);
        assert_eq!(v["trials"], 143);
        assert!(v["epochs_max"].as_u64() < v["epochs_if_retrained"].as_u64());
    }
}
