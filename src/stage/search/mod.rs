//! The search stage: the scheduler decides work items from recorded results, workers train
//! them, the coordinator records each outcome in SQLite. Restarting resumes: items already
//! recorded are kept, items issued but unfinished are handed out again (the worker continues
//! from the trial's last checkpoint), and new decisions follow exactly as they would have.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::search::{Decision, ItemResult, WorkItem, scheduler, strategy};
use crate::stage::Ctx;
use crate::train::protocol::{Mode, TrainRequest, TrialState, TrialStatus};
use crate::train::{TrialDir, trial_seed};
use crate::vocab::ItemState;
use crate::workers::Workers;
use crate::workers::pool::{Event, Pool, worker_program};
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
pub use grow::{budget_changed, budget_text, history as budget_history};
mod outcome;
mod records;
mod repeats;
pub mod retry;

struct Search<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    spec: &'c SearchSpec,
    issued: Vec<WorkItem>,
    results: Vec<Option<ItemResult>>,
    /// Duplicates (item, twin item) waiting for their twin's result.
    waiting: Vec<(usize, usize)>,
    /// While the first trials all failed outright for one reason: it, and which trials.
    failing: Option<(String, Vec<usize>)>,
    /// Fail-fast no longer applies: a first trial did not fail outright, failed otherwise, or
    /// the search was resumed.
    any_ok: bool,
    /// k-fold cross-validation: each item trains this many fold models (0: no folds).
    folds: usize,
    /// Fold statuses of items whose other folds are still training.
    fold_status: HashMap<usize, Vec<Option<TrialStatus>>>,
    // Kept up to date as items and results come, so that no step of a tick reads every item:
    /// The results of items `0..known.len()`, all known (what the scheduler decides from).
    known: Vec<ItemResult>,
    /// Items without a result yet.
    unfinished: std::collections::BTreeSet<usize>,
    /// Plain strategies: the first item of each (configuration, epochs); `twin[k]` is the
    /// earlier item that item k repeats.
    first_of: HashMap<(String, u32), usize>,
    twin: Vec<Option<usize>>,
    /// Results known, and the best objective among them.
    done: usize,
    best: Option<f64>,
    /// A program was seen not resuming from its checkpoint (warned once).
    warned_repeats: bool,
    /// `--retry-failed`: recorded decisions to make again, by item (see `retry`).
    stale: Vec<crate::store::db::ItemRow>,
}

/// When the first this-many trials (0, 1, 2) of a fresh search all failed outright with the
/// same reason, the search stops: the rest of the budget would fail the same way.
const FAIL_FAST: usize = 3;

pub fn run(ctx: &mut Ctx, spec: &SearchSpec) -> Result<serde_json::Value> {
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
    let mut s = Search {
        ctx,
        spec,
        issued: Vec::new(),
        results: Vec::new(),
        waiting: Vec::new(),
        failing: None,
        any_ok: false,
        folds,
        fold_status: HashMap::new(),
        known: Vec::new(),
        unfinished: Default::default(),
        first_of: HashMap::new(),
        twin: Vec::new(),
        done: 0,
        best: None,
        warned_repeats: false,
        stale: Vec::new(),
    };
    let pool = s.start_workers()?;
    // A sweep that grows or shrinks: the recorded items meet the new budget's decisions.
    let live = rows
        .iter()
        .filter(|r| r.state != crate::vocab::ItemState::Stale)
        .count();
    let changed = grow::record(s.ctx.layout, &s.ctx.job.id, &spec.budget, live)?;
    if changed && !rows.is_empty() && retried == 0 {
        rows = s.regrow(sched.as_ref(), rows)?;
    }
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
        s.add_item(row.item.clone());
        if matches!(row.state, ItemState::Done | ItemState::Failed) {
            let r = ItemResult {
                best_epoch: row.best_epoch,
                stopped: row.stopped,
                ..s.stored_result(row.index, row.value)?
            };
            s.set_result(row.index, r);
        }
    }
    // Fail-fast judges a fresh search's first trials only (see `fail_fast`).
    s.any_ok = resumed;
    if s.any_ok {
        let left = s.unfinished.len();
        s.ctx.progress.line(&format!(
            "  resuming: {} items recorded, {left} to finish",
            s.issued.len()
        ));
    }
    s.run_loop(sched.as_ref(), pool)?;
    s.drop_stale()?;
    s.finish()
}

impl<'a> Search<'_, 'a> {
    fn job(&self) -> &str {
        &self.ctx.job.id
    }

    /// A new item, not yet finished.
    fn add_item(&mut self, item: WorkItem) {
        let k = self.issued.len();
        // Only plain strategies train each item as a new trial; a repeat takes its twin's result.
        let twin = if self.spec.strategy.kind().is_multi_fidelity() {
            None
        } else {
            let key = (crate::search::space::config_hash(&item.config), item.epochs);
            match self.first_of.get(&key) {
                Some(&first) => Some(first),
                None => {
                    self.first_of.insert(key, k);
                    None
                }
            }
        };
        self.twin.push(twin);
        self.issued.push(item);
        self.results.push(None);
        self.unfinished.insert(k);
    }

    /// Item `k`'s result arrived.
    fn set_result(&mut self, k: usize, r: ItemResult) {
        if let Some(v) = r.value {
            self.best = Some(self.best.map_or(v, |b| b.min(v)));
        }
        if self.results[k].replace(r).is_none() {
            self.done += 1;
        }
        self.unfinished.remove(&k);
        while let Some(Some(r)) = self.results.get(self.known.len()) {
            self.known.push(r.clone());
        }
    }

    /// An item's result from the database (after a restart).
    fn stored_result(&self, index: usize, value: Option<f64>) -> Result<ItemResult> {
        self.result_of(&self.issued[index], index, value)
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
        let item = &self.issued[index];
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
        let dir = self.ctx.layout.trial(self.job(), self.issued[k].trial);
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

    fn run_loop(
        &mut self,
        sched: &dyn crate::search::Scheduler,
        mut pool: Box<dyn Workers + 'a>,
    ) -> Result<()> {
        let trials_dir = self.ctx.layout.trials(self.job());
        // The time budget counts every run of this search: earlier runs' time is recorded.
        let started = Instant::now();
        let spent_before = self.ctx.db.search_seconds(self.job())?;
        let mut last_saved = started;
        let deadline = self.spec.budget.time.map(|budget| {
            started + budget.saturating_sub(Duration::from_secs_f64(spent_before.max(0.0)))
        });
        // Every write of a tick (results in, items decided, items handed out) is held for one
        // commit, made before a request goes out or the loop waits: a trial is durable once
        // its row is in SQLite, and a cheap trial costs one journal sync, not five.
        let db = self.ctx.db;
        let mut held = Some(db.hold()?);
        let mut queue = VecDeque::new();
        let pending: Vec<usize> = self.unfinished.iter().copied().collect();
        for k in pending {
            self.enqueue(k, &mut queue)?;
        }
        // Work finished before a restart but not recorded: take it from the trial folder.
        for &u in queue.clone().iter() {
            if let Some(status) = self.read_status(u) {
                if unit_of(status.request) == u && status.state != TrialState::Running {
                    queue.retain(|&q| q != u);
                    self.finish_unit(u, status)?;
                }
            }
        }
        let mut in_flight: HashMap<u64, (Unit, usize)> = HashMap::new();
        let mut crashes: HashMap<Unit, u32> = HashMap::new();
        let mut finished = false;
        self.ctx
            .progress
            .start(&self.ctx.stage.name, self.issued.len() as u64);
        loop {
            if pool.follow_signals()? {
                self.ctx
                    .progress
                    .line("  stopping: trials checkpoint and stop (Ctrl-C again to stop at once)");
            }
            let stopping = pool.stopping();
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
            if held.is_none() {
                held = Some(db.hold()?);
            }
            while !stopping && !finished {
                if self.over_epoch_budget() {
                    finished = true;
                    break;
                }
                let k = self.issued.len();
                let h = sched.horizon(k, &self.issued).min(k);
                if self.known.len() < h {
                    break;
                }
                match sched.decide(k, &self.issued, &self.known[..h]) {
                    Decision::Run(item) => {
                        self.ctx.db.insert_item(self.job(), k, &item)?;
                        self.add_item(item);
                        if !self.reuse_stale(k)? {
                            self.enqueue(k, &mut queue)?;
                        }
                    }
                    Decision::Finished => finished = true,
                }
            }
            while !stopping {
                let Some(&u) = queue.front() else { break };
                let Some(w) = pool.idle() else { break };
                queue.pop_front();
                let k = u.0;
                let attempt = self.ctx.db.bump_attempts(self.job(), k)?;
                let req = self.request(u, attempt)?;
                if self.spec.restart_promotions
                    && self.issued[..k].iter().any(|i| i.trial == req.trial)
                {
                    // Measuring what continuation saves: forget the trial's progress.
                    let _ = std::fs::remove_dir_all(TrialDir::of(&req.trial_dir).checkpoints());
                    let _ = std::fs::remove_file(TrialDir::of(&req.trial_dir).metrics());
                }
                self.ctx.db.set_trial_state(
                    self.job(),
                    req.trial,
                    crate::vocab::TrialRowState::Running,
                )?;
                if let Some(h) = held.take() {
                    h.commit()?;
                }
                pool.send(w, &req)?;
                in_flight.insert(req.id, (u, w));
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
            if last_saved.elapsed() >= Duration::from_secs(1) {
                last_saved = Instant::now();
                let spent = spent_before + started.elapsed().as_secs_f64();
                self.ctx.db.set_search_seconds(self.job(), spent)?;
            }
            if let Some(h) = held.take() {
                h.commit()?;
            }
            let event = pool.next_event(Duration::from_millis(500));
            held = Some(db.hold()?);
            if let Some(Event::Note(m)) = &event {
                self.ctx.progress.line(m);
            }
            let requests: Vec<u64> = match &event {
                Some(Event::Done { request, .. }) => vec![*request],
                _ => in_flight.keys().copied().collect(),
            };
            for request in requests {
                let Some(&(u, w)) = in_flight.get(&request) else {
                    continue;
                };
                match self.read_status(u) {
                    Some(st) if st.request == request && st.state == TrialState::Running => {
                        // Stopped by a signal after a checkpoint: resumes on the next run,
                        // or now if only the worker was signalled.
                        in_flight.remove(&request);
                        pool.release(w);
                        if !stopping {
                            queue.push_front(u);
                        }
                    }
                    Some(st) if st.request == request => {
                        in_flight.remove(&request);
                        pool.release(w);
                        self.finish_unit(u, st)?;
                    }
                    _ => {}
                }
            }
            let (worker, crashed) = match event {
                Some(Event::Exited { worker }) => (worker, true),
                Some(Event::Lost { worker }) => (worker, false),
                _ => continue,
            };
            {
                let Some(request) = pool.exited(worker) else {
                    continue;
                };
                let Some((u, _)) = in_flight.remove(&request) else {
                    continue;
                };
                let k = u.0;
                if stopping {
                    continue;
                }
                if !crashed {
                    // The cluster took the worker away: not the trial's fault, no retry used.
                    self.ctx.progress.line(&format!(
                        "  item {k} resumes from its last checkpoint on another worker"
                    ));
                    queue.push_front(u);
                    continue;
                }
                if crate::store::disk_full(&trials_dir) {
                    return Err(Error::DiskFull { path: trials_dir });
                }
                // Only crashes count against the retry limit, not restarts of the coordinator.
                let attempts = {
                    let c = crashes.entry(u).or_insert(0u32);
                    *c += 1;
                    *c
                };
                if attempts > self.spec.retries {
                    let status = TrialStatus {
                        request,
                        state: TrialState::Failed,
                        epoch: 0,
                        metrics: Default::default(),
                        reason: Some(format!("worker crashed {attempts} times")),
                        seconds: 0.0,
                        early: None,
                    };
                    self.finish_unit(u, status)?;
                } else {
                    self.ctx.progress.line(&format!(
                        "  worker {worker} died; retrying item {k} from its last checkpoint"
                    ));
                    queue.push_front(u);
                }
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
}
