//! The Slurm executor, on the coordinator's side: the same file protocol as local workers,
//! with the worker processes as `sbatch` jobs. A request is written into the search's queue
//! folder (`QueueDir`), whichever worker job is free claims it, and its answer lands in the
//! trial folder where the scan (and notify, where the filesystem reports changes) finds it.
//! The coordinator keeps `target` worker jobs alive while it has work, records every job in
//! SQLite, reconciles with `squeue`/`sacct`, and puts a request a job lost back in the queue.

mod adopt;
pub mod commands;
mod reconcile;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::store::Db;
use crate::store::atomic;
use crate::store::layout::QueueDir;
use crate::train::TrainRequest;
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
    /// `squeue` calls that failed in a row (a busy slurmctld times out now and then).
    query_failures: u32,
    fatal: Option<Error>,
}

/// About a minute of `squeue` failing without pause: Slurm is gone, not just busy.
const QUERY_FAILURES_TOLERATED: u32 = 60;

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
            query_failures: 0,
            fatal: None,
            q,
        };
        pool.heartbeat();
        pool.adopt(say)?;
        Ok(pool)
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
}

/// (file name, path) of the request files in a folder (temp files left out).
pub(super) fn files(dir: &std::path::Path) -> Vec<(String, PathBuf)> {
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
        crate::workers::record_request(req)?;
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
