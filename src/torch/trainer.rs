//! `TorchTrainer`: the libtorch `Trainer` of `hpflow-worker`. Search trains on the train rows
//! and measures the val rows after every epoch; retrain trains on train (measuring val) or on
//! train+val (measuring nothing but the training loss) and keeps the final model; evaluate
//! measures a retrained model once. Every epoch ends with a checkpoint, and a request
//! continues from the trial's latest valid one (or from `clone_from`, PBT's exploit step).

use std::collections::BTreeMap;

use serde_json::json;
use tch::Device;

use super::data::{DataCache, Part};
use super::evaluate::evaluate;
use super::head::measure;
use super::hparams::HParams;
use super::model_dir::{self, ModelInfo};
use super::session::Session;
use hpflow::train::protocol::EpochMetrics;
use hpflow::train::{
    Mode, TrainRequest, Trainer, TrainerSpec, TrialState, TrialStatus, checkpoint,
};
use hpflow::vocab::RetrainOn;

#[derive(Default)]
pub struct TorchTrainer {
    cache: DataCache,
}

impl TorchTrainer {
    pub fn new() -> TorchTrainer {
        TorchTrainer::default()
    }
}

/// `cpu`, `cuda` or `cuda:N`; CUDA that is not there is an error, never a silent fallback.
pub fn parse_device(name: &str) -> Result<Device, String> {
    let index = match name {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| format!("unknown device {other} (expected cpu, cuda or cuda:N)"))?,
    };
    if !tch::Cuda::is_available() {
        return Err(format!("device {name} requested but CUDA is not available"));
    }
    let count = tch::Cuda::device_count() as usize;
    if index >= count {
        return Err(format!(
            "device {name} requested but only {count} CUDA device(s) are available"
        ));
    }
    Ok(Device::Cuda(index))
}

struct Answer<'a> {
    req: &'a TrainRequest,
}

impl Answer<'_> {
    fn status(
        &self,
        state: TrialState,
        epoch: u32,
        metrics: BTreeMap<String, f64>,
        reason: Option<String>,
    ) -> TrialStatus {
        TrialStatus {
            request: self.req.id,
            state,
            epoch,
            metrics,
            reason,
            seconds: 0.0,
            early: None,
        }
    }

    fn fail(&self, state: TrialState, reason: String) -> TrialStatus {
        let epoch =
            checkpoint::epochs(&hpflow::train::TrialDir::of(&self.req.trial_dir).checkpoints())
                .last()
                .copied()
                .unwrap_or(0);
        self.status(state, epoch, BTreeMap::new(), Some(reason))
    }
}

impl Trainer for TorchTrainer {
    fn run(&mut self, req: &TrainRequest) -> Result<TrialStatus, String> {
        let TrainerSpec::Torch { model } = &req.trainer else {
            return Err("not a libtorch trial".into());
        };
        let ans = Answer { req };
        let device = match parse_device(&req.device) {
            Ok(d) => d,
            Err(reason) => return Ok(ans.fail(TrialState::Failed, reason)),
        };
        if req.threads > 0 {
            tch::set_num_threads(req.threads as i32);
        }
        std::fs::create_dir_all(&req.trial_dir)
            .map_err(|e| format!("{}: {e}", req.trial_dir.display()))?;
        match &req.mode {
            Mode::Search => self.train(&ans, model, device, Measured::Val, false),
            Mode::Retrain { on } => match on {
                RetrainOn::Train => self.train(&ans, model, device, Measured::Val, true),
                RetrainOn::TrainVal => self.train(&ans, model, device, Measured::None, true),
            },
            Mode::Evaluate {
                model_dir,
                test,
                metrics,
            } => match evaluate(req, device, model_dir, test, metrics) {
                Ok((epoch, m)) => Ok(ans.status(TrialState::Done, epoch, m, None)),
                Err(reason) => Ok(ans.fail(TrialState::Failed, reason)),
            },
        }
    }
}

/// Which rows are measured after each epoch (train+val retraining has none left).
#[derive(Clone, Copy, PartialEq)]
enum Measured {
    Val,
    None,
}

impl TorchTrainer {
    fn train(
        &mut self,
        ans: &Answer,
        model: &str,
        device: Device,
        measured: Measured,
        keep: bool,
    ) -> Result<TrialStatus, String> {
        let req = ans.req;
        let hp = match HParams::parse(model, &req.config) {
            Ok(hp) => hp,
            Err(reason) => return Ok(ans.fail(TrialState::Failed, reason)),
        };
        let Some(data) = &req.data else {
            return Ok(ans.fail(TrialState::Failed, "a libtorch trial needs data".into()));
        };
        let prep = match self.cache.prepared(data, device, hp.arch.flattens()) {
            Ok(p) => p,
            Err(reason) => return Ok(ans.fail(TrialState::Failed, reason)),
        };
        let joined;
        let (train, val): (&Part, Option<&Part>) = match measured {
            Measured::Val => (&prep.train, Some(&prep.val)),
            Measured::None => {
                joined = prep.train.concat(&prep.val);
                (&joined, None)
            }
        };
        let mut session = match Session::new(&hp, &prep.shape, prep.head, device, req.seed) {
            Ok(s) => s,
            Err(reason) => return Ok(ans.fail(TrialState::Infeasible, reason)),
        };
        let root = hpflow::train::TrialDir::of(&req.trial_dir).checkpoints();
        let start = match &req.clone_from {
            Some(dir) => match checkpoint::load(dir) {
                Ok(c) => Some(c),
                Err(why) => {
                    return Ok(ans.fail(
                        TrialState::Failed,
                        format!("cloning {}: {why}", dir.display()),
                    ));
                }
            },
            None => checkpoint::latest(&root, req.epochs),
        };
        if let Some(c) = &start
            && let Err(reason) = session.load(&c.dir)
        {
            return Ok(ans.fail(TrialState::Failed, reason));
        }
        let mut history = start
            .as_ref()
            .map(|c| c.meta.history.clone())
            .unwrap_or_default();
        let mut epoch = start.as_ref().map_or(0, |c| c.meta.epoch);
        hpflow::train::reset_metrics(&req.trial_dir, &history).map_err(|e| e.to_string())?;
        let extra =
            json!({ "model": model, "optimizer": hp.opt.kind.name(), "config": req.config });
        // A pure function of the epoch, so a resumed or promoted trial continues it exactly.
        let schedule =
            match hpflow::train::schedule::LrSchedule::from_config(&req.config, req.max_epochs) {
                Ok(s) => s,
                Err(reason) => return Ok(ans.fail(TrialState::Failed, reason)),
            };
        // Judged before each epoch, so a trial that already stopped (and is asked again after
        // a resume or a promotion) trains nothing more.
        let early = req.early_stopping.as_ref();
        let judge = |history: &[EpochMetrics]| early.map(|e| e.judge(history)).transpose();
        let mut verdict = match judge(&history) {
            Ok(v) => v,
            Err(reason) => return Ok(ans.fail(TrialState::Failed, reason)),
        };
        while epoch < req.epochs && !verdict.is_some_and(|v| v.stop) {
            if hpflow::train::worker::stop_requested() {
                let last = history.last().map(|h| h.values.clone()).unwrap_or_default();
                let why = Some("stopped by signal after a checkpoint".to_string());
                return Ok(ans.status(TrialState::Running, epoch, last, why));
            }
            epoch += 1;
            let lr = schedule.lr_at(epoch);
            session.opt.set_lr(lr);
            let train_loss = session.train_epoch(train, req.seed, epoch);
            if !train_loss.is_finite() {
                let why = format!("training loss became {train_loss} in epoch {epoch}");
                return Ok(ans.status(TrialState::Diverged, epoch, BTreeMap::new(), Some(why)));
            }
            let mut values = BTreeMap::from([
                ("train_loss".to_string(), train_loss),
                ("lr".to_string(), lr),
            ]);
            if let Some(val) = val {
                match measure(&*session.net, session.head, val, "val_", &[]) {
                    Ok(m) => values.extend(m),
                    Err(loss) => {
                        let why = format!("validation loss became {loss} in epoch {epoch}");
                        return Ok(ans.status(
                            TrialState::Diverged,
                            epoch,
                            BTreeMap::new(),
                            Some(why),
                        ));
                    }
                }
            }
            let m = EpochMetrics { epoch, values };
            history.push(m.clone());
            hpflow::train::append_metrics(&req.trial_dir, &m).map_err(|e| e.to_string())?;
            checkpoint::save(&root, epoch, &history, extra.clone(), |dir| {
                session.save(dir)
            })
            .map_err(|e| e.to_string())?;
            verdict = match judge(&history) {
                Ok(v) => v,
                Err(reason) => return Ok(ans.fail(TrialState::Failed, reason)),
            };
        }
        if keep {
            let info = ModelInfo {
                model: model.to_string(),
                config: req.config.clone(),
                shape: prep.shape.clone(),
                task: data_task(prep.head),
                classes: match prep.head {
                    super::head::Head::Classes(k) => k,
                    super::head::Head::Binary => 2,
                    super::head::Head::Regression => 0,
                },
                normalisation: prep.normalisation.clone(),
                epochs: epoch,
            };
            model_dir::write(&req.trial_dir, &session, &info).map_err(|e| e.to_string())?;
        }
        let (metrics, early) = hpflow::train::early::outcome(&history, verdict);
        Ok(TrialStatus {
            early,
            ..ans.status(TrialState::Done, epoch, metrics, None)
        })
    }
}

fn data_task(head: super::head::Head) -> hpflow::data::Task {
    match head {
        super::head::Head::Regression => hpflow::data::Task::Regression,
        _ => hpflow::data::Task::Classification,
    }
}
