//! The search stage: the scheduler decides work items from recorded results, workers train
//! them, the coordinator records each outcome in SQLite. Restarting resumes: items already
//! recorded are kept, items issued but unfinished are handed out again (the worker continues
//! from the trial's last checkpoint), and new decisions follow exactly as they would have.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::search::{ItemResult, WorkItem, scheduler, strategy};
use crate::stage::Ctx;
use crate::store::db::Held;
use crate::train::protocol::{Mode, TrainRequest, TrialStatus};
use crate::train::{TrialDir, trial_seed};
use crate::vocab::ItemState;
use crate::workers::Workers;
use crate::workers::pool::{Event as WorkerEvent, Pool, worker_program};
use crate::workers::slurm;
use crate::workflow::SearchSpec;
use crate::workflow::executor::ExecutorKind;

/// Request ids carry the item, the fold and the attempt, so a status file answers one exact
/// request.
fn request_id((item, fold): Unit, attempt: u32) -> u64 {
    ((item as u64) << 16) | (((fold as u64) & 0xff) << 8) | u64::from(attempt & 0xff)
}

fn unit_of(request: u64) -> Unit {
    ((request >> 16) as usize, ((request >> 8) & 0xff) as usize)
}

/// One piece of work for a worker: item `k`'s fold `f` (fold 0 when the split has none).
pub(super) type Unit = (usize, usize);

pub mod narrowing;

/// The number of folds of the split behind this job's data (0 without folds).
pub fn folds_of(ctx: &Ctx) -> Result<usize> {
    folds::count(ctx.data_ref()?.as_ref())
}
mod folds;
mod grow;
mod machine;
pub use grow::{
    BudgetEntry, Within, budget_changed, budget_text, history as budget_history,
    history_text as budget_history_text, within,
};
use machine::{Action, Event, Machine, Stop};
mod outcome;
mod records;
mod repeats;
pub mod retry;

struct Search<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    spec: &'c SearchSpec,
    /// The decisions: items, results, the queue and the requests out.
    m: Machine<'c>,
    /// While the first trials all failed outright for one reason: it, and which trials.
    failing: Option<(String, Vec<usize>)>,
    /// Fail-fast no longer applies: a first trial did not fail outright, failed otherwise, or
    /// the search was resumed.
    any_ok: bool,
    /// k-fold cross-validation: each item trains this many fold models (0: no folds).
    folds: usize,
    /// Fold statuses of items whose other folds are still training.
    fold_status: HashMap<usize, Vec<Option<TrialStatus>>>,
    /// A program was seen not resuming from its checkpoint (warned once).
    warned_repeats: bool,
    /// `--retry-failed`: recorded decisions to make again, by item (see `retry`).
    stale: Vec<crate::store::db::ItemRow>,
}

/// When the first this-many trials (0, 1, 2) of a fresh search all failed outright with the
/// same reason, the search stops: the rest of the budget would fail the same way.
const FAIL_FAST: usize = 3;

pub fn run(ctx: &mut Ctx, spec: &SearchSpec) -> Result<crate::stage::output::SearchOutput> {
    let mut sampler = strategy::sampler(&spec.strategy, ctx.wf.seed);
    let mut space = spec.space.clone();
    if let Some(n) = &spec.narrow {
        let upstream = ctx
            .plan
            .job(&n.from)
            .ok_or_else(|| Error::internal("narrow.from names no planned job"))?;
        if let Some(d) = narrowing::derive(ctx.db, &upstream.id, spec)? {
            ctx.progress.line(&format!(
                "  space narrowed from {}: the best {} of {} trials",
                n.from, d.used, d.ranked
            ));
            crate::store::atomic::write_json(
                &ctx.layout.narrowed(&ctx.job.id),
                &serde_json::json!({"from": n.from, "top": n.top, "ranked": d.ranked, "used": d.used, "space": d.space, "seeds": d.seeds}),
            )?;
            space = d.space;
            sampler = Box::new(crate::search::narrow::Seeded {
                configs: d.seeds,
                inner: sampler,
            });
        }
    }
    let sched = scheduler::scheduler(
        &spec.strategy,
        ctx.wf.seed,
        sampler,
        space,
        &spec.budget,
        spec.epochs,
        scheduler::ValueLabel {
            name: spec.metric.name.clone(),
            sign: spec.metric.value(1.0),
        },
    )
    .map_err(|m| Error::Usage(format!("stages.{}.strategy: {m}", ctx.stage.name)))?;
    let mut rows = ctx.db.items(&ctx.job.id)?;
    let retried = if ctx.retry_failed {
        retry::prepare(ctx.db, ctx.layout, &ctx.job.id, sched.as_ref(), &rows)?
    } else {
        0
    };
    if retried > 0 {
        rows = ctx.db.items(&ctx.job.id)?;
    }
    let folds = folds::count(ctx.data_ref()?.as_ref())?;
    let rules = machine::Rules {
        twins: !spec.strategy.kind().is_multi_fidelity(),
        folds,
        retries: spec.retries,
        epochs: spec.budget.epochs,
    };
    let mut s = Search {
        ctx,
        spec,
        m: Machine::new(sched.as_ref(), rules),
        failing: None,
        any_ok: false,
        folds,
        fold_status: HashMap::new(),
        warned_repeats: false,
        stale: Vec::new(),
    };
    let pool = s.start_workers()?;
    // A sweep that grows or shrinks: the recorded items meet the budget's decisions.
    let rows = s.meet_budget(sched.as_ref(), rows)?;
    let resumed = !rows.is_empty();
    if retried > 0 {
        s.ctx.progress.line(&format!(
            "  retrying {}: decisions that saw them are made again",
            crate::text::plural(retried as u64, "failed trial")
        ));
    }
    for row in rows {
        if row.state == ItemState::Stale {
            s.stale.push(row);
            continue;
        }
        s.m.add_item(row.item.clone());
        if matches!(row.state, ItemState::Done | ItemState::Failed) {
            let r = ItemResult {
                best_epoch: row.best_epoch,
                stopped: row.stopped,
                ..s.stored_result(row.index, row.value)?
            };
            s.m.set_result(row.index, r);
        }
    }
    // Fail-fast judges a fresh search's first trials only (see `fail_fast`).
    s.any_ok = resumed;
    if s.any_ok {
        let left = s.m.unfinished.len();
        s.ctx.progress.line(&format!(
            "  resuming: {} items recorded, {left} to finish",
            s.m.issued.len()
        ));
    }
    s.run_loop(pool)?;
    s.drop_stale()?;
    s.finish()
}

impl<'a> Search<'_, 'a> {
    fn job(&self) -> &str {
        &self.ctx.job.id
    }

    /// An item's result from the database (after a restart).
    fn stored_result(&self, index: usize, value: Option<f64>) -> Result<ItemResult> {
        self.result_of(&self.m.issued[index], index, value)
    }

    /// Item `index`'s result from the database, its curve from the trial's recorded epochs.
    fn result_of(&self, item: &WorkItem, index: usize, value: Option<f64>) -> Result<ItemResult> {
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
            ..Default::default()
        })
    }

    fn request(&self, (index, fold): Unit, attempt: u32) -> Result<TrainRequest> {
        let item = &self.m.issued[index];
        let layout = self.ctx.layout;
        let mut config = self.spec.params.clone();
        config.extend(item.config.clone());
        let mut data = self.ctx.data_ref()?;
        if self.folds > 0
            && let (Some(d), Ok(split)) = (data.as_mut(), self.ctx.upstream("split"))
        {
            let (train, val) = crate::stage::split::fold_parts(fold);
            d.train = layout.split_rows(&split.id, &train);
            d.val = layout.split_rows(&split.id, &val);
        }
        Ok(TrainRequest {
            id: request_id((index, fold), attempt),
            trial: item.trial,
            trial_dir: self.unit_dir((index, fold)),
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
            data,
            metric: self.spec.metric.name.clone(),
            workdir: Some(self.ctx.wf.base_dir.clone()),
            early_stopping: self.spec.early_stopping.clone(),
        })
    }

    /// Local worker processes, or Slurm worker jobs (`executor: slurm`).
    fn open_workers(
        &mut self,
        size: usize,
        program: std::path::PathBuf,
        args: Vec<String>,
    ) -> Result<Box<dyn Workers + 'a>> {
        let trials_dir = self.ctx.layout.trials(self.job());
        let executor = &self.ctx.wf.executor;
        if executor.kind == ExecutorKind::Local {
            return Ok(Box::new(Pool::new(size, program, args)));
        }
        let setup = slurm::Setup {
            db: self.ctx.db,
            search_job: self.job().to_string(),
            queue: self.ctx.layout.queue(self.job()),
            settings: executor.slurm.clone(),
            program,
            args,
            // Each worker job has its own devices: `trials_per_device` is for one machine.
            slots: self.spec.workers,
            threads: self.spec.threads as u32,
            trials_dir,
        };
        let progress = &mut *self.ctx.progress;
        Ok(Box::new(slurm::SlurmPool::open(setup, &mut |m| {
            progress.line(m)
        })?))
    }

    /// The folder a unit trains in: the trial's, or its fold's inside it.
    fn unit_dir(&self, (k, fold): Unit) -> std::path::PathBuf {
        let dir = self.ctx.layout.trial(self.job(), self.m.issued[k].trial);
        if self.folds > 0 {
            dir.fold(fold).to_path_buf()
        } else {
            dir.to_path_buf()
        }
    }

    /// The search's workers, started now: a libtorch worker takes a few tenths of a second to
    /// load, which it spends while the coordinator replays the recorded items.
    fn start_workers(&mut self) -> Result<Box<dyn Workers + 'a>> {
        let (program, args) = worker_program(self.spec.trainer.needs_torch())?;
        // On a GPU the device is the limit: at most `trials_per_device` trials share it.
        let size = if self.ctx.wf.device.starts_with("cuda") {
            self.spec.workers.min(self.spec.trials_per_device)
        } else {
            self.spec.workers
        };
        let mut pool = self.open_workers(size, program, args)?;
        pool.warm_up()?;
        Ok(pool)
    }

    /// The driver: it turns the workers' messages, the clock and stop signals into the
    /// machine's events, and carries out its actions (records, requests, lines).
    fn run_loop(&mut self, mut pool: Box<dyn Workers + 'a>) -> Result<()> {
        // The time budget counts every run of this search: earlier runs' time is recorded.
        let started = Instant::now();
        let spent_before = self.ctx.db.search_seconds(self.job())?;
        let mut last_saved = started;
        let time_left = time_left(&self.spec.budget, spent_before)?;
        // Every write of a tick (results in, items decided, items handed out) is held for one
        // commit, made before a request goes out or the loop waits: a trial is durable once
        // its row is in SQLite, and a cheap trial costs one journal sync, not five.
        let db = self.ctx.db;
        let mut held = Some(db.hold()?);
        let workers = pool.as_mut();
        self.feed(Event::Start { time_left }, workers, &mut held)?;
        // Work finished before a restart but not recorded: take it from the trial folder.
        for unit in self.m.queued() {
            if let Some(status) = self.read_status(unit) {
                self.feed(Event::Found { unit, status }, workers, &mut held)?;
            }
        }
        self.ctx
            .progress
            .start(&self.ctx.stage.name, self.m.issued.len() as u64);
        // The retrain's worker starts once the last trials are out (`workers::spare`).
        let mut spare = self.ctx.wf.executor.kind == ExecutorKind::Local
            && self.spec.trainer.needs_torch()
            && self.ctx.next_job_runs_a_worker();
        loop {
            if workers.follow_signals()? {
                self.ctx
                    .progress
                    .line("  stopping: trials checkpoint and stop (Ctrl-C again to stop at once)");
            }
            if workers.stopping() {
                self.feed(Event::Interrupt, workers, &mut held)?;
            }
            if held.is_none() {
                held = Some(db.hold()?);
            }
            let elapsed = started.elapsed();
            if let Some(Stop::Interrupted) =
                self.feed(Event::Tick { elapsed }, workers, &mut held)?
            {
                return Err(Error::Interrupted);
            }
            while self.m.wants_worker() {
                let Some(w) = workers.idle() else { break };
                self.feed(Event::WorkerFree(w), workers, &mut held)?;
            }
            let last_out = (self.spec.budget.trials).is_some_and(|t| self.m.issued.len() >= t);
            if spare && (self.m.finished() || last_out) {
                spare = false;
                crate::workers::spare::start();
            }
            self.show_progress(self.m.running());
            match self.feed(Event::Wait, workers, &mut held)? {
                Some(Stop::Done) => break,
                Some(Stop::Stuck) => {
                    return Err(Error::internal(
                        "the scheduler waits for results that will never come",
                    ));
                }
                Some(Stop::Interrupted) => return Err(Error::Interrupted),
                None => {}
            }
            if last_saved.elapsed() >= Duration::from_secs(1) {
                last_saved = Instant::now();
                let spent = spent_before + started.elapsed().as_secs_f64();
                self.ctx.db.set_search_seconds(self.job(), spent)?;
            }
            if let Some(h) = held.take() {
                h.commit()?;
            }
            let event = workers.next_event(Duration::from_millis(500));
            held = Some(db.hold()?);
            if let Some(WorkerEvent::Note(m)) = &event {
                self.ctx.progress.line(m);
            }
            let requests = match &event {
                Some(WorkerEvent::Done { request, .. }) => vec![*request],
                _ => self.m.requests(),
            };
            for request in requests {
                let Some(unit) = self.m.in_flight(request) else {
                    continue;
                };
                if let Some(status) = self.read_status(unit) {
                    self.feed(Event::Answered { request, status }, workers, &mut held)?;
                }
            }
            let (worker, crashed) = match event {
                Some(WorkerEvent::Exited { worker }) => (worker, true),
                Some(WorkerEvent::Lost { worker }) => (worker, false),
                _ => continue,
            };
            if let Some(request) = workers.exited(worker) {
                let ended = Event::WorkerEnded {
                    request,
                    worker,
                    crashed,
                };
                self.feed(ended, workers, &mut held)?;
            }
        }
        if let Some(h) = held.take() {
            h.commit()?;
        }
        drop(pool);
        self.ctx.progress.finish();
        let spent = spent_before + started.elapsed().as_secs_f64();
        self.ctx.db.set_search_seconds(self.job(), spent)?;
        Ok(())
    }

    /// Give the machine an event and carry out its actions, and those of the events that
    /// answer them, in order. A stop ends the round and is returned.
    fn feed(
        &mut self,
        event: Event,
        pool: &mut (dyn Workers + 'a),
        held: &mut Option<Held<'_>>,
    ) -> Result<Option<Stop>> {
        let mut events = VecDeque::from([event]);
        while let Some(e) = events.pop_front() {
            for action in self.m.on(e) {
                if let Action::Stop(stop) = action {
                    return Ok(Some(stop));
                }
                events.extend(self.carry_out(action, pool, held)?);
            }
        }
        Ok(None)
    }

    /// Carry out one action; the event that answers it, where one does.
    fn carry_out(
        &mut self,
        action: Action,
        pool: &mut (dyn Workers + 'a),
        held: &mut Option<Held<'_>>,
    ) -> Result<Option<Event>> {
        let line = match action {
            Action::Issue { k, item } => {
                self.ctx.db.insert_item(self.job(), k, &item)?;
                let reused = self.reuse_stale(k)?;
                return Ok(Some(Event::Issued { k, reused }));
            }
            Action::Duplicate { k, twin, result } => {
                self.record_duplicate(k, twin, &result)?;
                return Ok(None);
            }
            Action::Send { unit, worker } => return self.send(unit, worker, pool, held).map(Some),
            Action::Release(worker) => {
                pool.release(worker);
                return Ok(None);
            }
            Action::Record { unit, status } => {
                let result = self.finish_unit(unit, status)?;
                return Ok(result.map(|result| Event::Result { k: unit.0, result }));
            }
            Action::Tidy => {
                self.enforce_disk_limit();
                return Ok(None);
            }
            Action::Crashed { .. } => {
                let trials_dir = self.ctx.layout.trials(self.job());
                if crate::store::disk_full(&trials_dir) {
                    return Err(Error::DiskFull { path: trials_dir });
                }
                return Ok(None);
            }
            Action::OutOfTime => "  time budget reached: no new work is started".to_string(),
            Action::Retry { unit, worker } => format!(
                "  worker {worker} died; retrying item {} from its last checkpoint",
                unit.0
            ),
            Action::Moved { unit } => format!(
                "  item {} resumes from its last checkpoint on another worker",
                unit.0
            ),
            // `feed` ends the round.
            Action::Stop(_) => return Ok(None),
        };
        self.ctx.progress.line(&line);
        Ok(None)
    }

    /// Hand `unit` to `worker`: the attempt is counted and the trial marked running first.
    fn send(
        &mut self,
        unit: Unit,
        worker: usize,
        pool: &mut (dyn Workers + 'a),
        held: &mut Option<Held<'_>>,
    ) -> Result<Event> {
        let k = unit.0;
        let attempt = self.ctx.db.bump_attempts(self.job(), k)?;
        let req = self.request(unit, attempt)?;
        if self.spec.restart_promotions && self.m.issued[..k].iter().any(|i| i.trial == req.trial) {
            // Measuring what continuation saves: forget the trial's progress.
            let _ = std::fs::remove_dir_all(TrialDir::of(&req.trial_dir).checkpoints());
            let _ = std::fs::remove_file(TrialDir::of(&req.trial_dir).metrics());
        }
        self.ctx
            .db
            .set_trial_state(self.job(), req.trial, crate::vocab::TrialRowState::Running)?;
        if let Some(h) = held.take() {
            h.commit()?;
        }
        pool.send(worker, &req)?;
        Ok(Event::Sent {
            request: req.id,
            unit,
            worker,
        })
    }
}

/// How long this run may take: the time budget less what earlier runs of the search spent.
fn time_left(budget: &crate::search::Budget, spent_before: f64) -> Result<Option<Duration>> {
    Ok(budget
        .time
        .map(|t| t.saturating_sub(Duration::from_secs_f64(spent_before.max(0.0)))))
}
