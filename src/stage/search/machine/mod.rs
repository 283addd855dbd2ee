//! The search's decisions, apart from carrying them out: events come in (a tick of the
//! driver's loop with the time it read, a worker free, a status that answers a request, a
//! worker that ended, a stop signal), actions go out (record this decision, hand this unit to
//! that worker, record this status, retry, stop). Nothing here reads a file, the database or
//! the clock, so the decisions can be driven in tests exactly as `run_loop` drives them.
//!
//! Some actions are answered by the driver with an event before anything else happens: an
//! `Issue` with `Issued` (a stale decision's result may be taken instead of training), a
//! `Send` with `Sent` (the request's id holds the attempt the database counts), a `Record`
//! with `Result` once the item has one (its folds may still be training).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use super::{Unit, unit_of};
use crate::search::{Decision, ItemResult, Scheduler, WorkItem};
use crate::train::protocol::{TrialState, TrialStatus};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event {
    /// The loop begins: unfinished items are handed out again, and this run may take
    /// `time_left` (the time budget less what earlier runs spent).
    Start { time_left: Option<Duration> },
    /// A turn of the driver's loop, `elapsed` since this run started: decide what can be.
    Tick { elapsed: Duration },
    /// A stop signal: nothing new is handed out, and the search stops once nothing runs.
    Interrupt,
    /// Decision `k` is recorded; `reused` is a stale decision's result it takes (a retry, a
    /// growth), else it trains.
    Issued {
        k: usize,
        reused: Option<ItemResult>,
    },
    /// This worker has no request.
    WorkerFree(usize),
    /// `unit` went to `worker` as `request`.
    Sent {
        request: u64,
        unit: Unit,
        worker: usize,
    },
    /// A unit's status file, read after its worker said something: the answer to `request`
    /// when `status.request` is that request.
    Answered { request: u64, status: TrialStatus },
    /// A queued unit's status file before it was handed out: work finished before a restart
    /// and not recorded.
    Found { unit: Unit, status: TrialStatus },
    /// Item `k`'s result is recorded.
    Result { k: usize, result: ItemResult },
    /// The worker that had `request` ended: it crashed, or (not `crashed`) the cluster took it.
    WorkerEnded {
        request: u64,
        worker: usize,
        crashed: bool,
    },
    /// The driver is about to wait for its workers.
    Wait,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    /// Record decision `k` (already counted here); answer with `Issued`.
    Issue {
        k: usize,
        item: WorkItem,
    },
    /// Item `k` repeats item `twin`'s configuration and takes its result, here already.
    Duplicate {
        k: usize,
        twin: usize,
        result: ItemResult,
    },
    /// Hand `unit` to `worker`; answer with `Sent`.
    Send {
        unit: Unit,
        worker: usize,
    },
    /// The worker's request is answered: it takes another.
    Release(usize),
    /// Record a unit's final status; answer with `Result` once its item has one.
    Record {
        unit: Unit,
        status: TrialStatus,
    },
    /// A result came in: checkpoints nothing needs may go (`disk_limit_mb`).
    Tidy,
    /// The time budget ran out: no new work starts.
    OutOfTime,
    /// A worker crashed while it trained `unit` (a full disk stops the run).
    Crashed {
        unit: Unit,
    },
    /// The crashed worker's unit is handed out again, from its last checkpoint.
    Retry {
        unit: Unit,
        worker: usize,
    },
    /// The cluster took the unit's worker: it resumes on another, no retry used.
    Moved {
        unit: Unit,
    },
    Stop(Stop),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Stop {
    /// Decided and trained all there is.
    Done,
    /// Stopped by a signal, nothing running any more.
    Interrupted,
    /// Nothing runs or waits, and the scheduler waits for results: a scheduler's bug.
    Stuck,
}

/// What the machine is told once: the search's settings that decide.
pub(super) struct Rules {
    /// Plain strategies train each item as a new trial: a repeated configuration takes its
    /// first item's result.
    pub twins: bool,
    /// Units per item: k-fold cross-validation trains one model per fold (0: no folds).
    pub folds: usize,
    /// Crashes of one unit's worker that are retried.
    pub retries: u32,
    /// `budget.epochs`.
    pub epochs: Option<u64>,
}

pub(super) struct Machine<'s> {
    sched: &'s dyn Scheduler,
    rules: Rules,
    time_left: Option<Duration>,
    pub issued: Vec<WorkItem>,
    pub results: Vec<Option<ItemResult>>,
    // Kept up to date as items and results come, so that no step of a tick reads every item:
    /// The results of items `0..known.len()`, all known (what the scheduler decides from).
    known: Vec<ItemResult>,
    /// Items without a result yet.
    pub unfinished: BTreeSet<usize>,
    /// Plain strategies: the first item of each (configuration, epochs); `twin[k]` is the
    /// earlier item that item k repeats.
    first_of: HashMap<(String, u32), usize>,
    twin: Vec<Option<usize>>,
    /// Duplicates (item, twin item) waiting for their twin's result.
    waiting: Vec<(usize, usize)>,
    /// Units to hand out, first first.
    queue: VecDeque<Unit>,
    /// Requests out, with their unit and worker (ordered, so that a tick records the answers
    /// it finds in one order).
    in_flight: BTreeMap<u64, (Unit, usize)>,
    /// Crashes by unit in this run: only crashes count against the retry limit, not
    /// restarts of the coordinator.
    crashes: HashMap<Unit, u32>,
    /// No new decisions: the scheduler finished, or a budget ran out.
    finished: bool,
    stopping: bool,
    /// Results known, and the best objective among them.
    pub done: usize,
    pub best: Option<f64>,
}

impl<'s> Machine<'s> {
    pub fn new(sched: &'s dyn Scheduler, rules: Rules) -> Self {
        Machine {
            sched,
            rules,
            time_left: None,
            issued: Vec::new(),
            results: Vec::new(),
            known: Vec::new(),
            unfinished: BTreeSet::new(),
            first_of: HashMap::new(),
            twin: Vec::new(),
            waiting: Vec::new(),
            queue: VecDeque::new(),
            in_flight: BTreeMap::new(),
            crashes: HashMap::new(),
            finished: false,
            stopping: false,
            done: 0,
            best: None,
        }
    }

    /// A new item, not yet finished (a decision, or one recorded before this run).
    pub fn add_item(&mut self, item: WorkItem) {
        let k = self.issued.len();
        let twin = if self.rules.twins {
            let key = (crate::search::space::config_hash(&item.config), item.epochs);
            match self.first_of.get(&key) {
                Some(&first) => Some(first),
                None => {
                    self.first_of.insert(key, k);
                    None
                }
            }
        } else {
            None
        };
        self.twin.push(twin);
        self.issued.push(item);
        self.results.push(None);
        self.unfinished.insert(k);
    }

    /// Item `k`'s result (arrived, or recorded before this run).
    pub fn set_result(&mut self, k: usize, r: ItemResult) {
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

    /// Units waiting for a worker, first first.
    pub fn queued(&self) -> Vec<Unit> {
        self.queue.iter().copied().collect()
    }

    /// Requests out, in order.
    pub fn requests(&self) -> Vec<u64> {
        self.in_flight.keys().copied().collect()
    }

    /// The unit `request` trains, while it is out.
    pub fn in_flight(&self, request: u64) -> Option<Unit> {
        self.in_flight.get(&request).map(|&(u, _)| u)
    }

    /// Units wait and may be handed out (not while stopping).
    pub fn wants_worker(&self) -> bool {
        !self.stopping && !self.queue.is_empty()
    }

    /// No new decisions will come: the scheduler finished, or a budget ran out.
    pub fn finished(&self) -> bool {
        self.finished
    }

    pub fn running(&self) -> usize {
        self.in_flight.len()
    }

    pub fn on(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Start { time_left } => {
                self.time_left = time_left;
                let pending: Vec<usize> = self.unfinished.iter().copied().collect();
                for k in pending {
                    self.enqueue(k, &mut out);
                }
            }
            Event::Tick { elapsed } => {
                if self.stopping && self.in_flight.is_empty() {
                    return vec![Action::Stop(Stop::Interrupted)];
                }
                if !self.finished && self.time_left.is_some_and(|t| elapsed >= t) {
                    out.push(Action::OutOfTime);
                    self.finished = true;
                    self.queue.clear();
                }
                self.decide(&mut out);
            }
            Event::Interrupt => self.stopping = true,
            Event::Issued { k, reused } => {
                match reused {
                    Some(r) => self.set_result(k, r),
                    None => self.enqueue(k, &mut out),
                }
                self.decide(&mut out);
            }
            Event::WorkerFree(worker) => {
                if !self.stopping
                    && let Some(unit) = self.queue.pop_front()
                {
                    out.push(Action::Send { unit, worker });
                }
            }
            Event::Sent {
                request,
                unit,
                worker,
            } => {
                self.in_flight.insert(request, (unit, worker));
            }
            Event::Answered { request, status } => {
                let Some(&(unit, worker)) = self.in_flight.get(&request) else {
                    return out;
                };
                if status.request != request {
                    return out;
                }
                self.in_flight.remove(&request);
                out.push(Action::Release(worker));
                if status.state == TrialState::Running {
                    // Stopped by a signal after a checkpoint: resumes on the next run, or now
                    // if only the worker was signalled.
                    if !self.stopping {
                        self.queue.push_front(unit);
                    }
                } else {
                    out.push(Action::Record { unit, status });
                }
            }
            Event::Found { unit, status } => {
                if unit_of(status.request) == unit && status.state != TrialState::Running {
                    self.queue.retain(|&q| q != unit);
                    out.push(Action::Record { unit, status });
                }
            }
            Event::Result { k, result } => {
                self.set_result(k, result);
                let ready: Vec<(usize, usize)> = self
                    .waiting
                    .iter()
                    .copied()
                    .filter(|(_, twin)| *twin == k)
                    .collect();
                self.waiting.retain(|(_, twin)| *twin != k);
                for (dup, twin) in ready {
                    self.copy_result(dup, twin, &mut out);
                }
                out.push(Action::Tidy);
            }
            Event::WorkerEnded {
                request,
                worker,
                crashed,
            } => self.worker_ended(request, worker, crashed, &mut out),
            Event::Wait => {
                let idle = self.queue.is_empty() && self.in_flight.is_empty();
                if idle && self.finished {
                    out.push(Action::Stop(Stop::Done));
                } else if idle && self.waiting.is_empty() {
                    out.push(Action::Stop(Stop::Stuck));
                }
            }
        }
        out
    }

    /// Every result known now counts at the epochs it reached: never more than the
    /// scheduler's count (which knows a prefix), so the scheduler's budget decides.
    fn over_epoch_budget(&self) -> bool {
        self.rules.epochs.is_some_and(|limit| {
            crate::search::epochs_paid_known(&self.issued, self.results.iter().flatten()) >= limit
        })
    }

    /// Decide while the results each decision needs are in. A decision is issued alone: the
    /// driver answers it (`Issued`) before the next one is made.
    fn decide(&mut self, out: &mut Vec<Action>) {
        while !self.stopping && !self.finished {
            if self.over_epoch_budget() {
                self.finished = true;
                break;
            }
            let k = self.issued.len();
            let h = self.sched.horizon(k, &self.issued).min(k);
            if self.known.len() < h {
                break;
            }
            match self.sched.decide(k, &self.issued, &self.known[..h]) {
                Decision::Run(item) => {
                    self.add_item(item.clone());
                    out.push(Action::Issue { k, item });
                    return;
                }
                Decision::Finished => self.finished = true,
            }
        }
    }

    /// Queue item `k`'s units, unless it duplicates an earlier item: then it takes that
    /// one's result, now or when it arrives.
    fn enqueue(&mut self, k: usize, out: &mut Vec<Action>) {
        match self.twin[k] {
            Some(twin) if self.results[twin].is_some() => self.copy_result(k, twin, out),
            Some(twin) => self.waiting.push((k, twin)),
            // Each fold is a unit of its own, so folds train on several workers at once.
            None => self
                .queue
                .extend((0..self.rules.folds.max(1)).map(|f| (k, f))),
        }
    }

    fn copy_result(&mut self, k: usize, twin: usize, out: &mut Vec<Action>) {
        let Some(r) = self.results[twin].clone() else {
            return;
        };
        let result = ItemResult {
            item: k,
            trial: self.issued[k].trial,
            ..r
        };
        self.set_result(k, result.clone());
        out.push(Action::Duplicate { k, twin, result });
    }

    fn worker_ended(&mut self, request: u64, worker: usize, crashed: bool, out: &mut Vec<Action>) {
        let Some((unit, _)) = self.in_flight.remove(&request) else {
            return;
        };
        if self.stopping {
            return;
        }
        if !crashed {
            // The cluster took the worker away: not the trial's fault, no retry used.
            self.queue.push_front(unit);
            out.push(Action::Moved { unit });
            return;
        }
        out.push(Action::Crashed { unit });
        let attempts = {
            let c = self.crashes.entry(unit).or_insert(0);
            *c += 1;
            *c
        };
        if attempts > self.rules.retries {
            let status = TrialStatus {
                request,
                state: TrialState::Failed,
                epoch: 0,
                metrics: Default::default(),
                reason: Some(format!("worker crashed {attempts} times")),
                seconds: 0.0,
                early: None,
            };
            out.push(Action::Record { unit, status });
        } else {
            self.queue.push_front(unit);
            out.push(Action::Retry { unit, worker });
        }
    }
}

#[cfg(test)]
mod tests;
