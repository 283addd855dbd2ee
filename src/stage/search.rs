//! The search stage: the scheduler decides work items from recorded results, workers train
//! them, the coordinator records each outcome in SQLite. Restarting resumes: items already
//! recorded are kept, items issued but unfinished are handed out again (the worker continues
//! from the trial's last checkpoint), and new decisions follow exactly as they would have.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::error::{Error, Result};
use crate::exec::pool::{Event, Pool, worker_program};
use crate::exec::signals;
use crate::search::{Decision, ItemResult, WorkItem, scheduler, strategy};
use crate::stage::{Ctx, retention};
use crate::train::protocol::{EpochMetrics, Mode, TrainRequest, TrialState, TrialStatus};
use crate::train::{files, trial_seed};
use crate::workflow::SearchSpec;

/// Request ids carry the item and the attempt, so a status file answers one exact request.
fn request_id(item: usize, attempt: u32) -> u64 {
    ((item as u64) << 8) | u64::from(attempt & 0xff)
}

fn item_of(request: u64) -> usize {
    (request >> 8) as usize
}

struct Search<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    spec: &'c SearchSpec,
    issued: Vec<WorkItem>,
    results: Vec<Option<ItemResult>>,
    /// Duplicates (item, twin item) waiting for their twin's result.
    waiting: Vec<(usize, usize)>,
}

pub fn run(ctx: &mut Ctx, spec: &SearchSpec) -> Result<serde_json::Value> {
    let sampler = strategy::sampler(&spec.strategy, ctx.wf.seed);
    let sched = scheduler::scheduler(
        &spec.strategy,
        ctx.wf.seed,
        sampler,
        spec.space.clone(),
        &spec.budget,
        spec.epochs,
    )
    .map_err(|m| Error::Usage(format!("stages.{}.strategy: {m}", ctx.stage.name)))?;
    let rows = ctx.db.items(&ctx.job.id)?;
    let mut s = Search {
        ctx,
        spec,
        issued: Vec::new(),
        results: Vec::new(),
        waiting: Vec::new(),
    };
    for row in &rows {
        s.issued.push(row.item.clone());
        let done = row.state == "done" || row.state == "failed";
        s.results.push(if done {
            Some(s.stored_result(row.index, row.value)?)
        } else {
            None
        });
    }
    if !rows.is_empty() {
        let left = s.results.iter().filter(|r| r.is_none()).count();
        s.ctx.progress.line(&format!(
            "  resuming: {} items recorded, {left} to finish",
            rows.len()
        ));
    }
    s.run_loop(sched.as_ref())?;
    s.finish()
}

impl Search<'_, '_> {
    fn job(&self) -> &str {
        &self.ctx.job.id
    }

    /// An item's result from the database (after a restart).
    fn stored_result(&self, index: usize, value: Option<f64>) -> Result<ItemResult> {
        let item = &self.issued[index];
        let epochs = self.ctx.db.epochs(self.job(), item.trial)?;
        let curve = epochs
            .iter()
            .filter(|(e, _)| *e <= item.epochs)
            .map(|(_, m)| {
                m.get(&self.spec.metric.name)
                    .and_then(|v| v.as_f64())
                    .map(|v| self.spec.metric.objective(v))
            })
            .collect();
        Ok(ItemResult {
            item: index,
            trial: item.trial,
            epochs: item.epochs,
            value,
            curve,
        })
    }

    fn request(&self, index: usize, attempt: u32) -> Result<TrainRequest> {
        let item = &self.issued[index];
        let layout = self.ctx.layout;
        let mut config = self.spec.params.clone();
        config.extend(item.config.clone());
        Ok(TrainRequest {
            id: request_id(index, attempt),
            trial: item.trial,
            trial_dir: layout.trial(self.job(), item.trial),
            trainer: self.spec.trainer.clone(),
            mode: Mode::Search,
            config,
            epochs: item.epochs,
            max_epochs: self.spec.epochs,
            clone_from: item
                .clone_from
                .map(|(t, e)| layout.checkpoint(self.job(), t, e)),
            seed: trial_seed(self.ctx.wf.seed, "trial", item.trial),
            device: self.ctx.wf.device.clone(),
            threads: self.spec.threads,
            data: self.ctx.data_ref()?,
            metric: self.spec.metric.name.clone(),
        })
    }

    fn run_loop(&mut self, sched: &dyn crate::search::Scheduler) -> Result<()> {
        let (program, args) = worker_program(self.spec.trainer.needs_torch())?;
        let trials_dir = self.ctx.layout.trials(self.job());
        // On a GPU the device is the limit: at most `trials_per_device` trials share it.
        let size = if self.ctx.wf.device.starts_with("cuda") {
            self.spec.workers.min(self.spec.trials_per_device)
        } else {
            self.spec.workers
        };
        let mut pool = Pool::new(size, program, args, Some(&trials_dir));
        let deadline = match &self.spec.budget.time {
            Some(t) => Some(
                Instant::now()
                    + Duration::from_secs(
                        crate::workflow::search::parse_duration(t).map_err(Error::Usage)?,
                    ),
            ),
            None => None,
        };
        let mut queue = VecDeque::new();
        let pending: Vec<usize> = (0..self.issued.len())
            .filter(|&i| self.results[i].is_none())
            .collect();
        for k in pending {
            self.enqueue(k, &mut queue)?;
        }
        // Work finished before a restart but not recorded: take it from the trial folder.
        for &k in queue.clone().iter() {
            if let Some(status) = self.read_status(k) {
                if item_of(status.request) == k && status.state != TrialState::Running {
                    self.ingest(k, status)?;
                    queue.retain(|&q| q != k);
                }
            }
        }
        let mut in_flight: HashMap<u64, (usize, usize)> = HashMap::new();
        let mut finished = false;
        let mut stopping = false;
        self.ctx
            .progress
            .start(&self.ctx.stage.name, self.issued.len() as u64);
        loop {
            if signals::count() >= 2 {
                pool.kill();
                return Err(Error::Interrupted);
            }
            if signals::stop_requested() && !stopping {
                stopping = true;
                self.ctx
                    .progress
                    .line("  stopping: trials checkpoint and stop (Ctrl-C again to stop at once)");
                pool.interrupt();
            }
            if stopping && in_flight.is_empty() {
                return Err(Error::Interrupted);
            }
            let out_of_time = deadline.is_some_and(|d| Instant::now() >= d);
            if out_of_time && !finished {
                self.ctx
                    .progress
                    .line("  time budget reached: no new work is started");
                finished = true;
                queue.clear();
            }
            while !stopping && !finished {
                if self.over_epoch_budget() {
                    finished = true;
                    break;
                }
                let k = self.issued.len();
                let h = sched.horizon(k, &self.issued).min(k);
                if self.results[..h].iter().any(|r| r.is_none()) {
                    break;
                }
                let known: Vec<ItemResult> = self.results[..h].iter().flatten().cloned().collect();
                match sched.decide(k, &self.issued, &known) {
                    Decision::Run(item) => {
                        self.ctx.db.insert_item(self.job(), k, &item)?;
                        self.issued.push(item);
                        self.results.push(None);
                        self.enqueue(k, &mut queue)?;
                    }
                    Decision::Finished => finished = true,
                }
            }
            while !stopping {
                let Some(&k) = queue.front() else { break };
                let Some(w) = pool.idle() else { break };
                queue.pop_front();
                let attempt = self.ctx.db.bump_attempts(self.job(), k)?;
                let req = self.request(k, attempt)?;
                if self.spec.restart_promotions
                    && self.issued[..k].iter().any(|i| i.trial == req.trial)
                {
                    // Measuring what continuation saves: forget the trial's progress.
                    let _ = std::fs::remove_dir_all(files::checkpoints(&req.trial_dir));
                    let _ = std::fs::remove_file(files::metrics(&req.trial_dir));
                }
                crate::store::atomic::write_json(&req.trial_dir.join("request.json"), &req)?;
                self.ctx
                    .db
                    .set_trial_state(self.job(), req.trial, "running")?;
                pool.send(w, &req)?;
                in_flight.insert(req.id, (k, w));
            }
            self.show_progress(in_flight.len());
            if finished && queue.is_empty() && in_flight.is_empty() {
                break;
            }
            if queue.is_empty() && in_flight.is_empty() && !finished && self.waiting.is_empty() {
                return Err(Error::internal(
                    "the scheduler waits for results that will never come",
                ));
            }
            let event = pool.next_event(Duration::from_millis(500));
            let requests: Vec<u64> = match &event {
                Some(Event::Done { request, .. }) => vec![*request],
                _ => in_flight.keys().copied().collect(),
            };
            for request in requests {
                let Some(&(k, w)) = in_flight.get(&request) else {
                    continue;
                };
                match self.read_status(k) {
                    Some(st) if st.request == request && st.state == TrialState::Running => {
                        // Stopped by a signal after a checkpoint: resumes on the next run.
                        in_flight.remove(&request);
                        pool.release(w);
                    }
                    Some(st) if st.request == request => {
                        in_flight.remove(&request);
                        pool.release(w);
                        self.ingest(k, st)?;
                    }
                    _ => {}
                }
            }
            if let Some(Event::Exited { worker }) = event {
                let Some(request) = pool.exited(worker) else {
                    continue;
                };
                let Some((k, _)) = in_flight.remove(&request) else {
                    continue;
                };
                if stopping {
                    continue;
                }
                let attempts = self
                    .ctx
                    .db
                    .items(self.job())?
                    .get(k)
                    .map_or(0, |r| r.attempts);
                if attempts > self.spec.retries {
                    let status = TrialStatus {
                        request,
                        state: TrialState::Failed,
                        epoch: 0,
                        metrics: Default::default(),
                        reason: Some(format!("worker crashed {attempts} times")),
                        seconds: 0.0,
                    };
                    self.ingest(k, status)?;
                } else {
                    self.ctx.progress.line(&format!(
                        "  worker {worker} died; retrying item {k} from its last checkpoint"
                    ));
                    queue.push_front(k);
                }
            }
        }
        self.ctx.progress.finish();
        Ok(())
    }

    /// The earlier item that trains the same configuration to the same epochs as new trial
    /// `k` (plain strategies only, where each item is a whole trial).
    fn twin_of(&self, k: usize) -> Option<usize> {
        let item = &self.issued[k];
        if self.spec.strategy.kind.is_multi_fidelity()
            || self.issued[..k].iter().any(|i| i.trial == item.trial)
        {
            return None;
        }
        let hash = crate::search::space::config_hash(&item.config);
        self.issued[..k].iter().position(|i| {
            i.epochs == item.epochs && crate::search::space::config_hash(&i.config) == hash
        })
    }

    /// Copy the twin's result to a duplicate trial instead of training it again.
    fn copy_result(&mut self, k: usize, twin: usize) -> Result<()> {
        let Some(r) = self.results[twin].clone() else {
            return Ok(());
        };
        let trial = self.issued[k].trial;
        let twin_trial = self.issued[twin].trial;
        let result = ItemResult {
            item: k,
            trial,
            ..r
        };
        let reason = format!("same configuration as trial {twin_trial}: not trained again");
        let epochs = self.ctx.db.epochs(self.job(), twin_trial)?;
        self.ctx.db.finish_item(
            self.job(),
            &result,
            "duplicate",
            &serde_json::Value::Null,
            Some(&reason),
            0.0,
            &epochs,
        )?;
        self.ctx
            .progress
            .line(&format!("  trial {trial:>4}  {reason}"));
        self.results[k] = Some(result);
        Ok(())
    }

    /// Queue item `k` for a worker, unless it duplicates an earlier one: then it takes that
    /// one's result, now or when it arrives.
    fn enqueue(&mut self, k: usize, queue: &mut VecDeque<usize>) -> Result<()> {
        match self.twin_of(k) {
            Some(twin) if self.results[twin].is_some() => self.copy_result(k, twin),
            Some(twin) => {
                self.waiting.push((k, twin));
                Ok(())
            }
            None => {
                queue.push_back(k);
                Ok(())
            }
        }
    }

    /// Epochs of `trial` that unfinished items will clone from.
    fn pending_clones(&self, trial: usize) -> Vec<u32> {
        self.issued
            .iter()
            .zip(&self.results)
            .filter(|(_, r)| r.is_none())
            .filter_map(|(i, _)| i.clone_from.filter(|(t, _)| *t == trial).map(|(_, e)| e))
            .collect()
    }

    fn over_epoch_budget(&self) -> bool {
        let Some(limit) = self.spec.budget.epochs else {
            return false;
        };
        let mut per_trial: HashMap<usize, u32> = HashMap::new();
        for it in &self.issued {
            let e = per_trial.entry(it.trial).or_default();
            *e = (*e).max(it.epochs);
        }
        per_trial.values().map(|&e| u64::from(e)).sum::<u64>() >= limit
    }

    fn read_status(&self, k: usize) -> Option<TrialStatus> {
        let dir = self.ctx.layout.trial(self.job(), self.issued[k].trial);
        let text = std::fs::read_to_string(files::status(&dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Record a finished item: its value, the trial's state and every epoch's metrics.
    fn ingest(&mut self, k: usize, status: TrialStatus) -> Result<()> {
        let item = self.issued[k].clone();
        let dir = self.ctx.layout.trial(self.job(), item.trial);
        let lines: Vec<EpochMetrics> = std::fs::read_to_string(files::metrics(&dir))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let metric = &self.spec.metric;
        let mut state = status.state;
        let mut reason = status.reason.clone();
        let mut value = None;
        if state == TrialState::Done {
            match status.metrics.get(&metric.name) {
                Some(v) if v.is_finite() => value = Some(metric.objective(*v)),
                Some(v) => {
                    state = TrialState::Diverged;
                    reason = Some(format!("{} is {v}", metric.name));
                }
                None => {
                    state = TrialState::Failed;
                    let have: Vec<&String> = status.metrics.keys().collect();
                    reason = Some(format!(
                        "metric {} was not reported (reported: {have:?})",
                        metric.name
                    ));
                }
            }
        }
        let curve = lines
            .iter()
            .map(|l| {
                l.values
                    .get(&metric.name)
                    .filter(|v| v.is_finite())
                    .map(|v| metric.objective(*v))
            })
            .collect();
        let result = ItemResult {
            item: k,
            trial: item.trial,
            epochs: status.epoch,
            value,
            curve,
        };
        let epochs: Vec<(u32, serde_json::Value)> = lines
            .iter()
            .map(|l| (l.epoch, serde_json::to_value(&l.values).unwrap_or_default()))
            .collect();
        self.ctx.db.finish_item(
            self.job(),
            &result,
            state.as_str(),
            &serde_json::to_value(&status.metrics).unwrap_or_default(),
            reason.as_deref(),
            status.seconds,
            &epochs,
        )?;
        retention::prune_trial(&dir, &self.pending_clones(item.trial));
        let shown = status
            .metrics
            .get(&metric.name)
            .map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
        let extra = match state {
            TrialState::Done => String::new(),
            other => format!(
                "  {} {}",
                other.as_str(),
                reason.clone().unwrap_or_default()
            ),
        };
        self.ctx.progress.line(&format!(
            "  trial {:>4}  epoch {:>3}  {} {shown}{extra}",
            item.trial, status.epoch, metric.name
        ));
        self.results[k] = Some(result);
        let ready: Vec<(usize, usize)> = self
            .waiting
            .iter()
            .copied()
            .filter(|(_, twin)| *twin == k)
            .collect();
        self.waiting.retain(|(_, twin)| *twin != k);
        for (dup, twin) in ready {
            self.copy_result(dup, twin)?;
        }
        self.enforce_disk_limit();
        Ok(())
    }

    /// Under `disk_limit_mb`, clear the checkpoints of the worst trials that nothing running
    /// or pending needs.
    fn enforce_disk_limit(&mut self) {
        let Some(mb) = self.spec.disk_limit_mb else {
            return;
        };
        let mut best: HashMap<usize, Option<f64>> = HashMap::new();
        let mut busy = std::collections::HashSet::new();
        for (it, r) in self.issued.iter().zip(&self.results) {
            match r {
                None => {
                    busy.insert(it.trial);
                    if let Some((t, _)) = it.clone_from {
                        busy.insert(t);
                    }
                }
                Some(r) => {
                    best.insert(it.trial, r.value);
                }
            }
        }
        let ranking = best
            .into_iter()
            .filter(|(t, _)| !busy.contains(t))
            .map(|(t, v)| (self.ctx.layout.trial(self.job(), t), v))
            .collect();
        let cleared =
            retention::enforce_limit(&self.ctx.layout.trials(self.job()), mb * 1_000_000, ranking);
        if cleared > 0 {
            self.ctx.progress.line(&format!(
                "  disk limit {mb} MB: cleared the checkpoints of {cleared} trials"
            ));
        }
    }

    fn show_progress(&self, running: usize) {
        let done = self.results.iter().filter(|r| r.is_some()).count() as u64;
        let best = self
            .results
            .iter()
            .flatten()
            .filter_map(|r| r.value)
            .fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v))));
        let best = best.map(|v| {
            format!(
                "best {} {:.4}",
                self.spec.metric.name,
                self.spec.metric.objective(v)
            )
        });
        self.ctx.progress.set(
            done,
            self.issued.len() as u64,
            &format!("{running} running {}", best.unwrap_or_default()),
        );
    }

    /// Epochs paid for: with continuation each trial's epochs once; restarting pays every
    /// item's epochs from zero.
    fn epochs_trained(&self, known: &[ItemResult]) -> u64 {
        if self.spec.restart_promotions {
            return known.iter().map(|r| u64::from(r.epochs)).sum();
        }
        let mut per: HashMap<usize, u32> = HashMap::new();
        for r in known {
            let e = per.entry(r.trial).or_default();
            *e = (*e).max(r.epochs);
        }
        per.values().map(|&e| u64::from(e)).sum()
    }

    /// Select the configuration and write `best.json`.
    fn finish(self) -> Result<serde_json::Value> {
        let known: Vec<ItemResult> = self.results.iter().flatten().cloned().collect();
        let Some((trial, epochs, objective)) = scheduler::best_trial(&self.issued, &known) else {
            return Err(Error::JobFailed(format!(
                "stage {}: every trial failed; see `hpflow status` for the reasons",
                self.ctx.stage.name
            )));
        };
        let item = self
            .issued
            .iter()
            .find(|i| i.trial == trial)
            .ok_or_else(|| Error::internal("best trial unknown"))?;
        let mut config = self.spec.params.clone();
        // The newest configuration of the trial (PBT changes it along the way).
        let latest = self
            .issued
            .iter()
            .rev()
            .find(|i| i.trial == trial)
            .unwrap_or(item);
        config.extend(latest.config.clone());
        let trained = self.epochs_trained(&known);
        let best = json!({
            "trial": trial,
            "config": config,
            "epochs": epochs,
            "metric": self.spec.metric.name,
            "value": self.spec.metric.objective(objective),
            "trials": known.iter().map(|r| r.trial).collect::<std::collections::BTreeSet<_>>().len(),
            "epochs_trained": trained,
        });
        crate::store::atomic::write_json(&self.ctx.layout.best(self.job()), &best)?;
        self.ctx.progress.line(&format!(
            "  best: trial {trial} with {} = {:.4} after {epochs} epochs ({trained} epochs trained in all)",
            self.spec.metric.name,
            self.spec.metric.objective(objective)
        ));
        Ok(best)
    }
}
