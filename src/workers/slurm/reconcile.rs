//! The coordinator's side of the worker jobs' lives: submit while there is work, reconcile
//! with Slurm, hand back what a job that ended had claimed, and close down leaving nothing.

use std::time::{Duration, Instant};

use super::{Live, QUERY_FAILURES_TOLERATED, REPORT_PENDING_AFTER, SlurmPool, commands, files};
use crate::error::{Error, Result};
use crate::store::atomic;
use crate::train::{TrainRequest, TrialDir, TrialState};
use crate::workers::pool::Event;

impl SlurmPool<'_> {
    /// Keep `target` worker jobs submitted while there is work.
    pub(super) fn ensure_workers(&mut self) -> Result<()> {
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
    pub(super) fn reconcile(&mut self) -> Result<()> {
        self.last_check = Instant::now();
        self.heartbeat();
        let listed = match commands::query(&self.name) {
            Ok(l) => {
                self.query_failures = 0;
                l
            }
            Err(e) if self.query_failures < QUERY_FAILURES_TOLERATED => {
                self.query_failures += 1;
                tracing::warn!("{e} (trying again)");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
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

    pub(super) fn cancel_all(&mut self) {
        let ids: Vec<String> = self.live.keys().cloned().collect();
        commands::cancel(&ids);
    }

    /// The search is over (or stopped): idle workers leave on `stop`; pending ones and any
    /// still busy after a grace period are cancelled, and the coordinator waits until none
    /// is left, so that `hpflow run` never returns with worker jobs still in Slurm.
    pub(super) fn close(&mut self) {
        self.stopping = true;
        let _ = atomic::write(&self.q.stop(), b"");
        for (name, _) in files(&self.q.queue()) {
            let _ = std::fs::remove_file(self.q.queue().join(name));
        }
        // The states may be a second old: a job last seen pending may be running by now, and
        // then it leaves on `stop` by itself instead of being cancelled.
        let _ = self.reconcile();
        let pending: Vec<String> = self
            .live
            .iter()
            .filter(|(_, l)| l.state == "PENDING")
            .map(|(id, _)| id.clone())
            .collect();
        commands::cancel(&pending);
        let started = Instant::now();
        let mut cancelled = !pending.is_empty() && pending.len() == self.live.len();
        let mut last_cancel = started;
        // No time limit: `hpflow run` returns only once no worker job is left in Slurm (a job
        // in COMPLETING on a slow node takes what it takes). A cancel Slurm lost is sent
        // again each minute. Only a third Ctrl-C, or a controller that stops answering, ends
        // the wait early, naming the jobs that may be left.
        while !self.live.is_empty() {
            // A second Ctrl-C does not wait for busy workers to notice `stop`.
            let hurry = crate::signals::count() >= 2;
            if !cancelled && (hurry || started.elapsed() > Duration::from_secs(20)) {
                self.cancel_all();
                cancelled = true;
                last_cancel = Instant::now();
            } else if cancelled && last_cancel.elapsed() > Duration::from_secs(60) {
                self.cancel_all();
                last_cancel = Instant::now();
            }
            if crate::signals::count() >= 3 {
                self.left_behind("a third Ctrl-C");
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
            self.stopping = true;
            if self.reconcile().is_err() {
                self.left_behind("squeue stopped answering");
                break;
            }
        }
    }

    /// The wait for the worker jobs ended early: say which may still be in Slurm.
    fn left_behind(&self, why: &str) {
        let ids: Vec<&String> = self.live.keys().collect();
        tracing::warn!(
            "stopped waiting for Slurm worker jobs ({why}); these may still be queued or \
             running: {ids:?} (scancel them, or run again: a new coordinator adopts them)"
        );
    }
}
