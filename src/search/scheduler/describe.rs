//! What `hpflow plan` prints about a search's schedule: rungs, brackets, population, and the
//! epochs the schedule trains at most (continuing from checkpoints) against retraining.

use serde_json::{Value, json};

use crate::search::{Budget, StrategyKind, StrategyOptions};

use super::ladder::{self, Bracket};
use super::{DEFAULT_BATCH, DEFAULT_TRIALS, Fidelity, median, pbt_settings};

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
pub fn describe(opts: &StrategyOptions, budget: &Budget, default_epochs: u32) -> Value {
    use StrategyKind::*;
    let batch = opts.batch.unwrap_or(DEFAULT_BATCH);
    let mut out = match opts.kind {
        Grid | Random | Bayes | Tpe | Evolution => {
            let mut v = json!({
                // Named by the strategy that proposes the trials (`random`, `tpe`, ...).
                "scheduler": format!("{:?}", opts.kind).to_lowercase(),
                "batch": batch,
                "trials": budget.trials.unwrap_or(DEFAULT_TRIALS),
                "epochs": default_epochs,
            });
            if opts.median_stopping == Some(true) {
                v["median_stopping"] = json!({
                    "chunk": median::chunk(default_epochs),
                    "min_reported": median::MIN_REPORTED,
                    "compared_with": "trials of earlier batches",
                });
            }
            v
        }
        Sha | Hyperband | Bohb | Asha => match Fidelity::new(opts, default_epochs) {
            Err(e) => json!({ "error": e }),
            Ok(f) => {
                let mut v = match opts.kind {
                    Hyperband | Bohb => {
                        match ladder::hyperband_budgeted(f.min, f.max, f.eta, budget.trials) {
                            Ok(b) => brackets_json(&b),
                            Err(e) => json!({ "error": e }),
                        }
                    }
                    _ => {
                        let epochs = ladder::ladder(f.min, f.max, f.eta);
                        let n = budget.trials.unwrap_or_else(|| f.default_trials());
                        brackets_json(&[ladder::bracket(
                            epochs.len() as u32 - 1,
                            n,
                            &epochs,
                            f.eta,
                        )])
                    }
                };
                v["scheduler"] = json!(format!("{:?}", opts.kind).to_lowercase());
                v["eta"] = json!(f.eta);
                v["min_epochs"] = json!(f.min);
                v["max_epochs"] = json!(f.max);
                if opts.kind == Asha {
                    // ASHA's rung sizes depend on timing-free but result-driven promotions;
                    // the table is the synchronous equivalent.
                    v["batch"] = json!(batch);
                }
                v
            }
        },
        Pbt => {
            let (population, interval, max, quantile, perturb) =
                pbt_settings(opts, budget, default_epochs);
            json!({
                "scheduler": "pbt",
                "population": population,
                "interval": interval,
                "max_epochs": max,
                "generations": max.div_ceil(interval),
                "quantile": quantile,
                "perturb": perturb,
                "epochs_max": population as u64 * u64::from(max),
            })
        }
    };
    if let Some(e) = budget.epochs {
        out["budget_epochs"] = json!(e);
    }
    // Evolution and PBT end with their generations, whatever the budget.
    let generations = matches!(opts.kind, Evolution | Pbt);
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
        let mut opts = StrategyOptions::new(StrategyKind::Hyperband);
        opts.max_epochs = Some(81);
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
