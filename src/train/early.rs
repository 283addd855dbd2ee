//! Early stopping: a trial stops when its metric has not improved by more than `min_delta` for
//! `patience` epochs. The verdict is a pure function of the trial's epoch history, which every
//! checkpoint holds, so a resumed or promoted trial judges exactly as an uninterrupted one, and
//! a trial that already stopped trains nothing more when asked again.

use serde::{Deserialize, Serialize};

use crate::train::protocol::EpochMetrics;
use crate::vocab::Goal;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The metric watched, e.g. `val_loss` (by default the search's metric).
    pub metric: String,
    pub goal: Goal,
    /// Epochs without improvement after which the trial stops.
    pub patience: u32,
    /// An improvement must be larger than this to count.
    pub min_delta: f64,
}

/// Where a trial stands: its best epoch so far (0 before any epoch), and whether it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub best_epoch: u32,
    pub stop: bool,
}

/// What a trial that watched its metric ended with, in its `status.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlyEnd {
    /// The epoch whose metrics the trial reports (its checkpoint is kept).
    pub best_epoch: u32,
    /// The trial stopped before the epochs it was asked for.
    pub stopped: bool,
}

impl EarlyStopping {
    /// Judge `history` (epochs 1..n in order). An epoch without the metric, or with a value
    /// that is not finite, is no improvement. Err when epochs were trained and none reported
    /// the metric: the stopping rule watches nothing.
    pub fn judge(&self, history: &[EpochMetrics]) -> Result<Verdict, String> {
        let mut best: Option<(u32, f64)> = None;
        for h in history {
            let Some(v) = h
                .values
                .get(&self.metric)
                .copied()
                .filter(|v| v.is_finite())
            else {
                continue;
            };
            let better = match best {
                None => true,
                Some((_, b)) => match self.goal {
                    Goal::Maximize => v > b + self.min_delta,
                    Goal::Minimize => v < b - self.min_delta,
                },
            };
            if better {
                best = Some((h.epoch, v));
            }
        }
        let last = history.last().map_or(0, |h| h.epoch);
        match best {
            Some((epoch, _)) => Ok(Verdict {
                best_epoch: epoch,
                stop: last - epoch >= self.patience,
            }),
            None if history.iter().any(|h| h.values.contains_key(&self.metric)) => Ok(Verdict {
                // Only non-finite values: the trial diverged, which its trainer reports.
                best_epoch: 0,
                stop: false,
            }),
            None if history.is_empty() => Ok(Verdict {
                best_epoch: 0,
                stop: false,
            }),
            None => {
                let have: Vec<&String> = history[0].values.keys().collect();
                Err(format!(
                    "early_stopping.metric {} was not reported (reported: {have:?})",
                    self.metric
                ))
            }
        }
    }

    /// The metrics a trial reports under early stopping: those of its best epoch.
    pub fn report(
        history: &[EpochMetrics],
        verdict: Verdict,
    ) -> Option<std::collections::BTreeMap<String, f64>> {
        history
            .iter()
            .find(|h| h.epoch == verdict.best_epoch)
            .map(|h| h.values.clone())
    }
}

/// A finished trial's reported metrics and early-stopping record: without a rule, the last
/// epoch's metrics; with one, the best epoch's.
pub fn outcome(
    history: &[EpochMetrics],
    verdict: Option<Verdict>,
) -> (std::collections::BTreeMap<String, f64>, Option<EarlyEnd>) {
    let last = || history.last().map(|h| h.values.clone()).unwrap_or_default();
    match verdict {
        Some(v) if v.best_epoch > 0 => (
            EarlyStopping::report(history, v).unwrap_or_else(last),
            Some(EarlyEnd {
                best_epoch: v.best_epoch,
                stopped: v.stop,
            }),
        ),
        _ => (last(), None),
    }
}

/// The goal a metric has when nobody says: losses and errors fall, everything else rises.
pub fn default_goal(metric: &str) -> Goal {
    if let Some(known) = crate::train::metrics::goal(metric) {
        return known;
    }
    let m = metric.to_ascii_lowercase();
    let falls = ["loss", "error", "mse", "mae", "rmse", "objective"];
    if falls.iter().any(|w| m.ends_with(w)) {
        Goal::Minimize
    } else {
        Goal::Maximize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(values: &[f64]) -> Vec<EpochMetrics> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| EpochMetrics {
                epoch: i as u32 + 1,
                values: [("val_loss".to_string(), *v)].into(),
            })
            .collect()
    }

    fn rule(patience: u32, min_delta: f64) -> EarlyStopping {
        EarlyStopping {
            metric: "val_loss".into(),
            goal: Goal::Minimize,
            patience,
            min_delta,
        }
    }

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let r = rule(2, 0.0);
        let v = |c: &[f64]| r.judge(&curve(c)).unwrap();
        assert_eq!(
            v(&[]),
            Verdict {
                best_epoch: 0,
                stop: false
            }
        );
        assert_eq!(
            v(&[1.0, 0.8]),
            Verdict {
                best_epoch: 2,
                stop: false
            }
        );
        assert_eq!(
            v(&[1.0, 0.8, 0.9]),
            Verdict {
                best_epoch: 2,
                stop: false
            }
        );
        assert_eq!(
            v(&[1.0, 0.8, 0.9, 0.85]),
            Verdict {
                best_epoch: 2,
                stop: true
            }
        );
        // An equal value is no improvement.
        assert_eq!(
            v(&[1.0, 0.8, 0.8, 0.8]),
            Verdict {
                best_epoch: 2,
                stop: true
            }
        );
    }

    #[test]
    fn min_delta_and_goal_decide_what_counts_as_better() {
        let r = rule(1, 0.1);
        // 0.95 improves on 1.0 by less than min_delta: not the new best.
        assert_eq!(
            r.judge(&curve(&[1.0, 0.95])).unwrap(),
            Verdict {
                best_epoch: 1,
                stop: true
            }
        );
        let up = EarlyStopping {
            goal: Goal::Maximize,
            ..rule(1, 0.0)
        };
        assert_eq!(
            up.judge(&curve(&[0.5, 0.7, 0.6])).unwrap(),
            Verdict {
                best_epoch: 2,
                stop: true
            }
        );
        assert_eq!(default_goal("val_loss"), Goal::Minimize);
        assert_eq!(default_goal("val_accuracy"), Goal::Maximize);
    }

    #[test]
    fn a_metric_never_reported_is_an_error_naming_what_was() {
        let r = EarlyStopping {
            metric: "val_f1".into(),
            ..rule(1, 0.0)
        };
        let err = r.judge(&curve(&[1.0])).unwrap_err();
        assert!(err.contains("val_f1") && err.contains("val_loss"), "{err}");
    }

    #[test]
    fn the_report_is_the_best_epochs_metrics() {
        let h = curve(&[1.0, 0.5, 0.7, 0.9]);
        let v = rule(2, 0.0).judge(&h).unwrap();
        assert_eq!(EarlyStopping::report(&h, v).unwrap()["val_loss"], 0.5);
    }
}
