//! The Slurm executor, on the coordinator's side: the same file protocol as local workers,
//! with the worker processes as `sbatch` jobs. A request is written into the search's queue
//! folder (`QueueDir`), whichever worker job is free claims it, and its answer lands in the
//! trial folder where the scan (and notify, where the filesystem reports changes) finds it.
//! The coordinator keeps `target` worker jobs alive while it has work, records every job in
//! SQLite, reconciles with `squeue`/`sacct`, and puts a request a job lost back in the queue.

pub mod commands;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::atomic;
use crate::store::layout::QueueDir;
use crate::train::{TrainRequest, TrialDir, TrialState};
use crate::workers::pool::{Event, watch_statuses};
use crate::workflow::executor::SlurmSettings;

/// How often `squeue` is asked (and the heartbeat touched).
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// A job pending this long is reported with Slurm's reason (and again when it changes).
const REPORT_PENDING_AFTER: Duration = Duration::from_secs(5);

struct Live {
    state: String,
    reason: Option<String>,
    since: Instant,
    reported: Option<String>,
}

/// What the coordinator needs to start worker jobs for one search.
pub struct Setup<'a> {
    pub db: &'a Db,
    pub search_job: String,
    pub queue: QueueDir,
    pub settings: SlurmSettings,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Requests in flight at once (the search's `workers`).
    pub slots: usize,
    /// The search's `threads`: the CPUs a worker job asks for unless told otherwise.
    pub threads: u32,
    pub trials_dir: PathBuf,
}

pub struct SlurmPool<'a> {
    db: &'a Db,
    search_job: String,
    name: String,
    q: QueueDir,
    sbatch: Vec<String>,
    target: usize,
    slots: Vec<Option<(u64, PathBuf)>>,
    live: BTreeMap<String, Live>,
    events: VecDeque<Event>,
    rx: Receiver<Event>,
    _watcher: Option<notify::RecommendedWatcher>,
    last_check: Instant,
    stopping: bool,
    /// Worker jobs that ended by failing (not by the cluster's doing).
    failures: usize,
    fatal: Option<Error>,
}

/// The Slurm job name of a search's workers: how a restarted coordinator finds them.
pub fn job_name(search_job: &str) -> String {
    format!("hpflow-{}", crate::store::layout::short(search_job))
}

/// How many worker jobs serve a search with `slots` requests in flight at once.
pub fn worker_jobs(settings: &SlurmSettings, slots: usize) -> usize {
    settings.max_jobs.unwrap_or(slots).min(slots).max(1)
}

/// What `hpflow plan` shows of a search under Slurm: the jobs it would submit and how.
pub fn describe(
    layout: &crate::store::Layout,
    search_job: &str,
    settings: &SlurmSettings,
    slots: usize,
    threads: u32,
    needs_torch: bool,
) -> serde_json::Value {
    let q = layout.queue(search_job);
    let worker = if needs_torch {
        "hpflow-worker --queue"
    } else {
        "hpflow __worker --queue"
    };
    let mut sbatch = vec!["sbatch".to_string()];
    sbatch.extend(commands::sbatch_args(
        settings,
        &job_name(search_job),
        &q.logs(),
        threads,
    ));
    sbatch.push(q.script().display().to_string());
    serde_json::json!({
        "kind": "slurm",
        "worker_jobs": worker_jobs(settings, slots),
        "sbatch": sbatch,
        "runs": format!("{worker} {}", q.root().display()),
    })
}

impl<'a> SlurmPool<'a> {
    /// Prepare the queue folder and adopt the worker jobs a previous coordinator left running.
    /// A request such a job is still training is waited for (its answer is then read like
    /// any other left by an earlier run), so no trial is ever trained by two jobs at once.
    pub fn open(s: Setup<'a>, say: &mut dyn FnMut(&str)) -> Result<SlurmPool<'a>> {
        let q = s.queue;
        for dir in [q.queue(), q.claimed_dir(), q.logs()] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let _ = std::fs::remove_file(q.stop());
        let script = commands::script(&s.program, &s.args, q.root());
        atomic::write(&q.script(), script.as_bytes())?;
        let name = job_name(&s.search_job);
        let (tx, rx) = channel();
        let mut pool = SlurmPool {
            db: s.db,
            sbatch: commands::sbatch_args(&s.settings, &name, &q.logs(), s.threads),
            target: worker_jobs(&s.settings, s.slots),
            search_job: s.search_job,
            name,
            slots: vec![None; s.slots],
            live: BTreeMap::new(),
            events: VecDeque::new(),
            _watcher: watch_statuses(&s.trials_dir, tx),
            rx,
            last_check: Instant::now(),
            stopping: false,
            failures: 0,
            fatal: None,
            q,
        };
        pool.heartbeat();
        pool.adopt(say)?;
        Ok(pool)
    }

    fn adopt(&mut self, say: &mut dyn FnMut(&str)) -> Result<()> {
        // Requests the previous coordinator queued are issued again by this one.
        for (name, _) in files(&self.q.queue()) {
            let _ = std::fs::remove_file(self.q.queue().join(name));
        }
        let known: Vec<String> = self
            .db
            .slurm_jobs(&self.search_job)?
            .into_iter()
            .filter(|r| !commands::is_finished(&r.state))
            .map(|r| r.slurm_id)
            .collect();
        let listed = commands::query(&self.name)?;
        for j in &listed {
            if !commands::is_finished(&j.state) {
                self.db.insert_slurm_job(&self.search_job, &j.id)?;
                self.db
                    .set_slurm_state(&j.id, &j.state, j.reason.as_deref())?;
                self.live.insert(
                    j.id.clone(),
                    Live {
                        state: j.state.clone(),
                        reason: j.reason.clone(),
                        since: Instant::now(),
                        reported: None,
                    },
                );
            }
        }
        // Recorded as alive but no longer running: say how they ended.
        for id in known.iter().filter(|id| !self.live.contains_key(*id)) {
            let state = listed
                .iter()
                .find(|j| &j.id == id)
                .map(|j| j.state.clone())
                .or_else(|| commands::accounting(id))
                .unwrap_or_else(|| "GONE".into());
            self.db.set_slurm_state(id, &state, None)?;
        }
        if !self.live.is_empty() {
            let ids: Vec<&str> = self.live.keys().map(String::as_str).collect();
            say(&format!(
                "  adopted worker jobs {} (still in Slurm from the previous run)",
                ids.join(", ")
            ));
        }
        loop {
            let mut held = 0;
            for (name, path) in files(&self.q.claimed_dir()) {
                let owner = name
                    .trim_end_matches(".json")
                    .rsplit_once('@')
                    .map(|(_, w)| w.to_string());
                if owner.is_some_and(|w| self.live.contains_key(&w)) {
                    held += 1;
                } else {
                    // Its job is gone: the request is issued again from the trial's checkpoint.
                    let _ = std::fs::remove_file(path);
                }
            }
            if held == 0 {
                return Ok(());
            }
            if crate::signals::stop_requested() {
                self.cancel_all();
                return Err(Error::Interrupted);
            }
            say(&format!(
                "  waiting for {held} trial(s) the adopted worker jobs are training"
            ));
            std::thread::sleep(Duration::from_millis(500));
            self.reconcile()?;
            self.events.clear();
        }
    }

    fn heartbeat(&self) {
        let _ = atomic::write(
            &self.q.heartbeat(),
            format!("{}\n", crate::store::db::now()).as_bytes(),
        );
    }

    fn busy(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Keep `target` worker jobs submitted while there is work.
    fn ensure_workers(&mut self) -> Result<()> {
        while !self.stopping && self.busy() > 0 && self.live.len() < self.target {
            let id = commands::submit(&self.sbatch, &self.q.script())?;
            self.db.insert_slurm_job(&self.search_job, &id)?;
            tracing::info!("submitted worker job {id}");
            self.live.insert(
                id,
                Live {
                    state: "PENDING".into(),
                    reason: None,
                    since: Instant::now(),
                    reported: None,
                },
            );
        }
        Ok(())
    }

    /// Ask Slurm about every live job; note state changes, report long waits, and hand the
    /// requests of jobs that ended back as `Lost` (the cluster's doing) or `Exited` events.
    fn reconcile(&mut self) -> Result<()> {
        self.last_check = Instant::now();
        self.heartbeat();
        let listed = commands::query(&self.name)?;
        let ids: Vec<String> = self.live.keys().cloned().collect();
        for id in ids {
            let now = listed.iter().find(|j| j.id == id);
            let (state, reason) = match now {
                Some(j) => (j.state.clone(), j.reason.clone()),
                None => (
                    commands::accounting(&id).unwrap_or_else(|| "GONE".into()),
                    None,
                ),
            };
            if commands::is_finished(&state) {
                self.live.remove(&id);
                self.db.set_slurm_state(&id, &state, reason.as_deref())?;
                self.ended(&id, &state);
                continue;
            }
            let live = self.live.get_mut(&id).expect("listed above");
            if live.state != state || live.reason != reason {
                if live.state != state {
                    live.since = Instant::now();
                }
                live.state = state.clone();
                live.reason = reason.clone();
                self.db.set_slurm_state(&id, &state, reason.as_deref())?;
            }
            let waited = live.since.elapsed();
            if state == "PENDING" && waited >= REPORT_PENDING_AFTER && live.reported != reason {
                live.reported = reason.clone();
                self.events.push_back(Event::Note(format!(
                    "  worker job {id} has been pending for {}s: Slurm says {}",
                    waited.as_secs(),
                    reason.as_deref().unwrap_or("no reason given")
                )));
            }
        }
        if self.stopping && self.live.is_empty() {
            // Nothing will claim what still waits in the queue: hand it back.
            for worker in 0..self.slots.len() {
                let Some((request, _)) = &self.slots[worker] else {
                    continue;
                };
                if std::fs::remove_file(self.q.waiting(*request)).is_ok() {
                    self.events.push_back(Event::Lost { worker });
                }
            }
        }
        if self.failures > self.target + 2 {
            self.fatal = Some(Error::JobFailed(format!(
                "executor slurm: {} worker jobs failed; their output is in {}",
                self.failures,
                self.q.logs().display()
            )));
        }
        if self.fatal.is_none()
            && let Err(e) = self.ensure_workers()
        {
            self.fatal = Some(e);
        }
        Ok(())
    }

    /// Job `id` ended in `state`: the requests it had claimed and not answered go back.
    fn ended(&mut self, id: &str, state: &str) {
        let by_cluster = commands::ended_by_cluster(state);
        if !by_cluster {
            self.failures += 1;
        }
        let suffix = format!("@{id}.json");
        for (name, path) in files(&self.q.claimed_dir()) {
            if !name.ends_with(&suffix) {
                continue;
            }
            let req: Option<TrainRequest> = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            let _ = std::fs::remove_file(&path);
            let Some(req) = req else { continue };
            // Answered just before the end: the scan reads the answer.
            let answered = crate::train::read_status(&TrialDir::of(&req.trial_dir))
                .is_some_and(|s| s.request == req.id && s.state != TrialState::Running);
            let slot = self
                .slots
                .iter()
                .position(|s| s.as_ref().is_some_and(|(r, _)| *r == req.id));
            if let (false, Some(worker)) = (answered, slot) {
                self.events.push_back(Event::Note(format!(
                    "  worker job {id} ended ({state}) during trial {}",
                    req.trial
                )));
                self.events.push_back(if by_cluster {
                    Event::Lost { worker }
                } else {
                    Event::Exited { worker }
                });
            }
        }
    }

    fn cancel_all(&mut self) {
        let ids: Vec<String> = self.live.keys().cloned().collect();
        commands::cancel(&ids);
    }

    /// The search is over (or stopped): idle workers leave on `stop`; pending ones and any
    /// still busy after a grace period are cancelled, and the coordinator waits until none
    /// is left, so that `hpflow run` never returns with worker jobs still in Slurm.
    fn close(&mut self) {
        self.stopping = true;
        let _ = atomic::write(&self.q.stop(), b"");
        for (name, _) in files(&self.q.queue()) {
            let _ = std::fs::remove_file(self.q.queue().join(name));
        }
        let pending: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| l.state == "PENDING")
            .map(|(id, _)| id.clone())
            .collect();
        commands::cancel(&pending);
        let started = Instant::now();
        let mut cancelled = !pending.is_empty() && pending.len() == self.live.len();
        while !self.live.is_empty() && started.elapsed() < Duration::from_secs(120) {
            if !cancelled && started.elapsed() > Duration::from_secs(20) {
                self.cancel_all();
                cancelled = true;
            }
            std::thread::sleep(Duration::from_millis(300));
            self.stopping = true;
            if self.reconcile().is_err() {
                break;
            }
        }
    }
}

/// (file name, path) of the request files in a folder (temp files left out).
fn files(dir: &std::path::Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .filter(|(n, _)| n.ends_with(".json") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

impl crate::workers::Workers for SlurmPool<'_> {
    fn size(&self) -> usize {
        self.slots.len()
    }

    fn idle(&mut self) -> Option<usize> {
        self.slots.iter().position(Option::is_none)
    }

    fn send(&mut self, index: usize, req: &TrainRequest) -> Result<()> {
        let trial = TrialDir::of(&req.trial_dir);
        let _ = std::fs::remove_file(trial.status());
        atomic::write_json(&trial.request(), req)?;
        atomic::write_json(&self.q.waiting(req.id), req)?;
        self.slots[index] = Some((req.id, req.trial_dir.clone()));
        self.ensure_workers()
    }

    fn release(&mut self, index: usize) {
        self.slots[index] = None;
    }

    fn exited(&mut self, index: usize) -> Option<u64> {
        self.slots[index].take().map(|(r, _)| r)
    }

    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        let event = self.rx.recv_timeout(timeout.min(CHECK_EVERY)).ok();
        if self.last_check.elapsed() >= CHECK_EVERY
            && let Err(e) = self.reconcile()
        {
            self.fatal = Some(e);
        }
        event.or_else(|| self.events.pop_front())
    }

    fn follow_signals(&mut self) -> Result<bool> {
        if let Some(e) = self.fatal.take() {
            self.stopping = true;
            self.cancel_all();
            return Err(e);
        }
        if crate::signals::count() >= 2 {
            self.stopping = true;
            self.cancel_all();
            return Err(Error::Interrupted);
        }
        if crate::signals::stop_requested() && !self.stopping {
            // scancel sends SIGTERM: each worker checkpoints its trial and leaves.
            self.stopping = true;
            self.cancel_all();
            return Ok(true);
        }
        Ok(false)
    }

    fn stopping(&self) -> bool {
        self.stopping
    }
}

impl Drop for SlurmPool<'_> {
    fn drop(&mut self) {
        self.close();
    }
}
