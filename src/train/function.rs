//! The `function` trainer: test functions with a known optimum (Branin, Hartmann6,
//! Rosenbrock, Levy, Beale, and Six-Hump Camel, Goldstein–Price, Hartmann3, Styblinski–Tang 4-d, the
//! strategies' held-out benchmark set) where the epoch budget is a fidelity. It makes scheduler, resume and crash
//! tests run in seconds while going through the same folders, checkpoints and statuses as
//! real training.
//!
//! Parameters are the numeric config entries `x1, x2, ...`. An optional fixed `sleep` (seconds
//! per epoch) makes trials last long enough to be interrupted in tests, and `crash_trial: N`
//! kills the worker process in trial N's second epoch (fault injection for tests);
//! `overfit_from: E` makes the value worse by 0.5 per epoch after epoch E (early stopping tests).

use std::collections::BTreeMap;

use crate::train::protocol::EpochMetrics;
use crate::train::{TrainRequest, Trainer, TrainerSpec, TrialState, TrialStatus, checkpoint};

pub struct FunctionTrainer;

/// The metrics a function trial reports each epoch (both are the function's value).
pub const REPORTS: &[&str] = &["objective", "val_loss"];

// The functions themselves are pure and live below the trainers, with the search.
pub use crate::search::objectives::{NAMES, at_fidelity, coordinates, evaluate, optimum};

impl Trainer for FunctionTrainer {
    fn run(&mut self, req: &TrainRequest) -> Result<TrialStatus, String> {
        let TrainerSpec::Function { name } = &req.trainer else {
            return Err("not a function trial".into());
        };
        let x = coordinates(&req.config);
        let sleep = req
            .config
            .get("sleep")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let root = crate::train::TrialDir::of(&req.trial_dir).checkpoints();
        let start = match &req.clone_from {
            Some(dir) => Some(checkpoint::load(dir)?),
            None => checkpoint::latest(&root, req.epochs),
        };
        let mut history = start
            .as_ref()
            .map(|c| c.meta.history.clone())
            .unwrap_or_default();
        let mut epoch = start.as_ref().map_or(0, |c| c.meta.epoch);
        if !req.trial_dir.is_dir() {
            std::fs::create_dir_all(&req.trial_dir).map_err(|e| e.to_string())?;
        }
        crate::train::reset_metrics(&req.trial_dir, &history).map_err(|e| e.to_string())?;
        let status = |state, epoch, metrics, reason| TrialStatus {
            request: req.id,
            state,
            epoch,
            metrics,
            reason,
            seconds: 0.0,
            early: None,
        };
        if let Err(e) = evaluate(name, &x) {
            return Ok(status(
                TrialState::Infeasible,
                epoch,
                BTreeMap::new(),
                Some(e),
            ));
        }
        let mut metrics = history.last().map(|h| h.values.clone()).unwrap_or_default();
        let early = req.early_stopping.as_ref();
        let judge = |history: &[EpochMetrics]| early.map(|e| e.judge(history)).transpose();
        let mut verdict = judge(&history)?;
        while epoch < req.epochs && !verdict.is_some_and(|v| v.stop) {
            if crate::train::worker::stop_requested() {
                return Ok(status(
                    TrialState::Running,
                    epoch,
                    metrics,
                    Some("stopped by signal".into()),
                ));
            }
            epoch += 1;
            if epoch == 2
                && req.config.get("crash_trial").and_then(|v| v.as_u64()) == Some(req.trial as u64)
            {
                std::process::abort();
            }
            if sleep > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(sleep));
            }
            let mut v = at_fidelity(name, &x, epoch, req.max_epochs)?;
            if let Some(from) = req.config.get("overfit_from").and_then(|v| v.as_u64()) {
                // Tests of early stopping: after this epoch the value gets worse again.
                v += 0.5 * f64::from(epoch.saturating_sub(from as u32));
            }
            metrics = REPORTS.iter().map(|m| (m.to_string(), v)).collect();
            let m = EpochMetrics {
                epoch,
                values: metrics.clone(),
            };
            history.push(m.clone());
            crate::train::append_metrics(&req.trial_dir, &m).map_err(|e| e.to_string())?;
            checkpoint::save(&root, epoch, &history, serde_json::json!({}), |_| Ok(()))
                .map_err(|e| e.to_string())?;
            verdict = judge(&history)?;
        }
        let (metrics, early) = if early.is_some() {
            crate::train::early::outcome(&history, verdict)
        } else {
            (metrics, None)
        };
        Ok(TrialStatus {
            early,
            ..status(TrialState::Done, epoch, metrics, None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_optima() {
        let pi = std::f64::consts::PI;
        let b = evaluate("branin", &[pi, 2.275]).unwrap();
        assert!((b - optimum("branin").unwrap()).abs() < 1e-5);
        let h = evaluate(
            "hartmann6",
            &[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573],
        )
        .unwrap();
        assert!((h - optimum("hartmann6").unwrap()).abs() < 1e-4);
        assert_eq!(evaluate("rosenbrock", &[1.0, 1.0, 1.0]).unwrap(), 0.0);
        assert!(evaluate("levy", &[1.0; 10]).unwrap().abs() < 1e-12);
        for (name, x) in [
            ("beale", vec![3.0, 0.5]),
            ("camel6", vec![0.089_842_01, -0.712_656_4]),
            ("goldstein", vec![0.0, -1.0]),
            ("hartmann3", vec![0.114_614, 0.555_649, 0.852_547]),
            ("styblinski4", vec![-2.903_534_027_771_178; 4]),
            (
                "shekel",
                vec![4.000_746_87, 3.999_509_49, 4.000_746_87, 3.999_509_48],
            ),
            ("ackley5", vec![0.0; 5]),
            (
                "michalewicz5",
                vec![
                    2.202_905_51,
                    1.570_796_32,
                    1.284_991_57,
                    1.923_058_47,
                    1.720_469_77,
                ],
            ),
            ("colville", vec![1.0; 4]),
        ] {
            let v = evaluate(name, &x).unwrap();
            assert!((v - optimum(name).unwrap()).abs() < 1e-5, "{name}: {v}");
        }
    }

    #[test]
    fn full_fidelity_is_the_function() {
        let x = [1.0, 2.0];
        assert_eq!(
            at_fidelity("branin", &x, 27, 27).unwrap(),
            evaluate("branin", &x).unwrap()
        );
        assert!(at_fidelity("branin", &x, 1, 27).unwrap() > evaluate("branin", &x).unwrap());
    }
}
