//! The machine driven as `run_loop` drives it, with workers played here: no processes,
//! files or clock.

use super::*;
use crate::search::space::{RawParam, Space};
use crate::search::{Budget, Config, Strategy, StrategyKind};
use crate::vocab::rng_for;
use rand::Rng;

/// A scheduler that runs a fixed list of items, decision k waiting for the results of
/// all items but the last `lag`.
struct Fixed(Vec<WorkItem>, usize);

impl Scheduler for Fixed {
    fn horizon(&self, k: usize, _issued: &[WorkItem]) -> usize {
        k.saturating_sub(self.1)
    }
    fn decide(&self, k: usize, _i: &[WorkItem], _r: &[ItemResult]) -> Decision {
        self.0
            .get(k)
            .cloned()
            .map_or(Decision::Finished, Decision::Run)
    }
}

fn config(x: f64) -> Config {
    [
        ("x1".to_string(), x.into()),
        ("x2".to_string(), 1.0_f64.into()),
    ]
    .into()
}

fn item(trial: usize, x: f64) -> WorkItem {
    WorkItem {
        trial,
        config: config(x),
        epochs: 3,
        clone_from: None,
        reason: "test".into(),
        wave: None,
    }
}

fn rules(retries: u32, twins: bool) -> Rules {
    Rules {
        twins,
        folds: 0,
        retries,
        epochs: None,
    }
}

fn space() -> Space {
    let raw: Vec<(String, RawParam)> = ["x1: {uniform: [-5, 10]}", "x2: {uniform: [0, 15]}"]
        .iter()
        .map(|y| {
            let m: serde_yaml::Mapping = serde_yaml::from_str(y).unwrap();
            let (k, v) = m.into_iter().next().unwrap();
            (
                k.as_str().unwrap().into(),
                serde_yaml::from_value(v).unwrap(),
            )
        })
        .collect();
    Space::from_raw(&raw, "space").unwrap()
}

const MAX: u32 = 9;

fn scheduler(kind: StrategyKind, trials: Option<usize>) -> Box<dyn Scheduler> {
    let name = serde_json::to_value(kind).unwrap();
    let name = name.as_str().unwrap();
    let yaml = if kind.is_multi_fidelity() {
        format!("{{kind: {name}, eta: 3, min_epochs: 1, max_epochs: {MAX}}}")
    } else {
        format!("{{kind: {name}}}")
    };
    let o = Strategy::from_yaml(&yaml, MAX, 2).unwrap();
    let budget = Budget {
        trials,
        ..Budget::default()
    };
    let sampler = crate::search::strategy::sampler(&o, 7);
    let label = crate::search::scheduler::ValueLabel::objective();
    crate::search::scheduler::scheduler(&o, 7, sampler, space(), &budget, MAX, label).unwrap()
}

fn status(request: u64, state: TrialState, epoch: u32, value: Option<f64>) -> TrialStatus {
    TrialStatus {
        request,
        state,
        epoch,
        metrics: value
            .map(|v| ("objective".to_string(), v))
            .into_iter()
            .collect(),
        reason: None,
        seconds: 0.0,
        early: None,
    }
}

/// The Branin function at the item's epochs: what a worker answers.
fn trained(item: &WorkItem) -> (Option<f64>, Vec<Option<f64>>) {
    let x = crate::search::objectives::coordinates(&item.config);
    let curve: Vec<Option<f64>> = (1..=item.epochs)
        .map(|e| crate::search::objectives::at_fidelity("branin", &x, e, MAX).ok())
        .collect();
    (curve.last().copied().flatten(), curve)
}

/// The driver's part, as `run_loop` plays it: every action is logged, `Issue`, `Send` and
/// `Record` are answered, and the workers' slots follow `Send` and `Release`.
struct Driver<'s> {
    m: Machine<'s>,
    log: Vec<Action>,
    /// Each worker's request and unit.
    busy: Vec<Option<(u64, Unit)>>,
    attempts: HashMap<Unit, u32>,
}

impl<'s> Driver<'s> {
    fn new(sched: &'s dyn Scheduler, rules: Rules, workers: usize) -> Self {
        Driver {
            m: Machine::new(sched, rules),
            log: Vec::new(),
            busy: vec![None; workers],
            attempts: HashMap::new(),
        }
    }

    fn feed(&mut self, event: Event) -> Option<Stop> {
        let mut events = VecDeque::from([event]);
        while let Some(e) = events.pop_front() {
            for a in self.m.on(e) {
                self.log.push(a.clone());
                match a {
                    Action::Stop(s) => return Some(s),
                    Action::Issue { k, .. } => events.push_back(Event::Issued { k, reused: None }),
                    Action::Send { unit, worker } => {
                        let attempt = self.attempts.entry(unit).or_insert(0);
                        *attempt += 1;
                        let request = super::super::request_id(unit, *attempt);
                        self.busy[worker] = Some((request, unit));
                        events.push_back(Event::Sent {
                            request,
                            unit,
                            worker,
                        });
                    }
                    Action::Release(w) => self.busy[w] = None,
                    Action::Record { unit, status } => {
                        let k = unit.0;
                        let item = &self.m.issued[k];
                        let value = status.metrics.get("objective").copied();
                        let (_, curve) = trained(item);
                        let result = ItemResult {
                            item: k,
                            trial: item.trial,
                            epochs: status.epoch,
                            value,
                            curve: curve[..status.epoch as usize].to_vec(),
                            ..Default::default()
                        };
                        events.push_back(Event::Result { k, result });
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// One turn of the loop before it waits: decide, hand out, and whether it ends.
    fn turn(&mut self, elapsed: u64) -> Option<Stop> {
        if let Some(s) = self.feed(Event::Tick {
            elapsed: Duration::from_secs(elapsed),
        }) {
            return Some(s);
        }
        while self.m.wants_worker() {
            let Some(w) = self.busy.iter().position(Option::is_none) else {
                break;
            };
            self.feed(Event::WorkerFree(w));
        }
        self.feed(Event::Wait)
    }

    /// Worker `w` answers its request with the trained value.
    fn answer(&mut self, w: usize) {
        let (request, (k, _)) = self.busy[w].unwrap();
        let item = &self.m.issued[k];
        let (value, _) = trained(item);
        let st = status(request, TrialState::Done, item.epochs, value);
        self.feed(Event::Answered {
            request,
            status: st,
        });
    }

    fn sent(&self) -> Vec<(Unit, usize)> {
        self.log
            .iter()
            .filter_map(|a| match a {
                Action::Send { unit, worker } => Some((*unit, *worker)),
                _ => None,
            })
            .collect()
    }
}

/// A whole search with `workers` workers answering in a seeded random order.
fn search(
    sched: &dyn Scheduler,
    twins: bool,
    workers: usize,
    order: u64,
) -> (Vec<WorkItem>, Vec<ItemResult>) {
    let mut d = Driver::new(sched, rules(0, twins), workers);
    d.feed(Event::Start { time_left: None });
    let mut rng = rng_for(order, "answer-order", 0);
    loop {
        match d.turn(0) {
            Some(Stop::Done) => break,
            None => {}
            Some(s) => panic!("stopped: {s:?}"),
        }
        let busy: Vec<usize> = (0..workers).filter(|&w| d.busy[w].is_some()).collect();
        d.answer(busy[rng.random_range(0..busy.len())]);
    }
    let results = d.m.results.iter().flatten().cloned().collect();
    (d.m.issued, results)
}

#[test]
fn many_workers_answering_out_of_order_decide_as_one() {
    for (kind, trials) in [
        (StrategyKind::Asha, Some(12)),
        (StrategyKind::Hyperband, None),
        // 20 trials: past its 10 random ones, TPE decides from results, so a decision made
        // from whatever happens to be known (not results 0..horizon) shows.
        (StrategyKind::Tpe, Some(20)),
    ] {
        let sched = scheduler(kind, trials);
        let twins = !kind.is_multi_fidelity();
        let one = search(sched.as_ref(), twins, 1, 0);
        assert!(one.0.len() >= 10, "{kind:?}: {} items", one.0.len());
        // Each item is what the scheduler decides from the results 0..horizon, and from
        // no fewer (equal decisions of 1 and many workers alone would not show it).
        let (issued, results) = &one;
        for k in 0..issued.len() {
            let h = sched.horizon(k, &issued[..k]).min(k);
            match sched.decide(k, &issued[..k], &results[..h]) {
                Decision::Run(item) => assert_eq!(item, issued[k], "{kind:?}: item {k}"),
                Decision::Finished => panic!("{kind:?}: item {k} was not to be run"),
            }
        }
        // 6 workers hold more items in flight than a batch lags behind (3), so only the
        // machine's wait for results 0..horizon keeps their decisions those of 1 worker.
        for (workers, order) in [(3, 1), (3, 2), (6, 3), (6, 4)] {
            let many = search(sched.as_ref(), twins, workers, order);
            assert_eq!(
                one.0, many.0,
                "{kind:?}: other decisions ({workers} workers, order {order})"
            );
            let values = |r: &[ItemResult]| r.iter().map(|r| (r.item, r.value)).collect::<Vec<_>>();
            assert_eq!(values(&one.1), values(&many.1), "{kind:?}");
        }
    }
}

#[test]
fn a_crashed_worker_is_retried_then_its_unit_fails() {
    let sched = Fixed(vec![item(0, 0.0), item(1, 1.0)], usize::MAX);
    let mut d = Driver::new(&sched, rules(1, true), 1);
    d.feed(Event::Start { time_left: None });
    assert_eq!(d.turn(0), None);
    assert_eq!(d.sent(), vec![((0, 0), 0)]);
    let (request, _) = d.busy[0].unwrap();
    d.log.clear();
    // The cluster taking the worker away is no crash: the unit moves, no retry is used.
    d.feed(Event::WorkerEnded {
        request,
        worker: 0,
        crashed: false,
    });
    assert_eq!(d.log, vec![Action::Moved { unit: (0, 0) }]);
    d.busy[0] = None;
    d.turn(0);
    let (request, _) = d.busy[0].unwrap();
    d.log.clear();
    d.feed(Event::WorkerEnded {
        request,
        worker: 0,
        crashed: true,
    });
    assert_eq!(
        d.log,
        vec![
            Action::Crashed { unit: (0, 0) },
            Action::Retry {
                unit: (0, 0),
                worker: 0
            }
        ]
    );
    d.busy[0] = None;
    d.turn(0);
    // The same unit again, before item 1.
    assert_eq!(d.sent().last(), Some(&((0, 0), 0)));
    let (request, _) = d.busy[0].unwrap();
    d.log.clear();
    d.feed(Event::WorkerEnded {
        request,
        worker: 0,
        crashed: true,
    });
    let failed = TrialStatus {
        reason: Some("worker crashed 2 times".into()),
        ..status(request, TrialState::Failed, 0, None)
    };
    assert_eq!(d.log[0], Action::Crashed { unit: (0, 0) });
    assert_eq!(
        d.log[1],
        Action::Record {
            unit: (0, 0),
            status: failed
        }
    );
    assert!(d.m.results[0].is_some(), "item 0 ends failed");
    d.busy[0] = None;
    d.turn(0);
    assert_eq!(d.sent().last(), Some(&((1, 0), 0)), "item 1 goes next");
}

#[test]
fn the_deadline_stops_new_work_and_waits_for_the_items_in_flight() {
    let items: Vec<WorkItem> = (0..6).map(|t| item(t, t as f64)).collect();
    // Each decision waits for all results but the last one's: two items run at a time.
    let sched = Fixed(items, 1);
    let mut d = Driver::new(&sched, rules(0, true), 2);
    d.feed(Event::Start {
        time_left: Some(Duration::from_secs(10)),
    });
    assert_eq!(d.turn(9), None);
    assert_eq!(d.m.issued.len(), 2);
    assert_eq!(d.m.running(), 2);
    d.log.clear();
    assert_eq!(d.turn(10), None, "two items still train");
    assert_eq!(d.log, vec![Action::OutOfTime]);
    assert!(!d.m.wants_worker());
    d.answer(1);
    assert_eq!(d.turn(11), None);
    d.answer(0);
    assert_eq!(d.turn(12), Some(Stop::Done));
    assert_eq!(d.sent(), vec![], "nothing new was handed out");
    assert_eq!(d.m.done, 2);
}

#[test]
fn a_stop_signal_lets_running_items_checkpoint_and_stops() {
    let sched = Fixed(vec![item(0, 0.0), item(1, 1.0), item(2, 2.0)], usize::MAX);
    let mut d = Driver::new(&sched, rules(0, true), 2);
    d.feed(Event::Start { time_left: None });
    d.turn(0);
    assert_eq!(d.m.running(), 2);
    d.feed(Event::Interrupt);
    assert_eq!(d.turn(0), None, "two items still train");
    assert!(!d.m.wants_worker());
    // Each answers with a checkpoint: nothing is recorded or handed out again.
    for w in 0..2 {
        let (request, _) = d.busy[w].unwrap();
        d.log.clear();
        d.feed(Event::Answered {
            request,
            status: status(request, TrialState::Running, 1, None),
        });
        assert_eq!(d.log, vec![Action::Release(w)]);
    }
    assert_eq!(d.turn(0), Some(Stop::Interrupted));
    assert_eq!(d.m.done, 0);
}

#[test]
fn a_repeated_configuration_takes_its_twins_result_when_it_arrives() {
    let sched = Fixed(vec![item(0, 0.0), item(1, 0.0), item(2, 2.0)], usize::MAX);
    let mut d = Driver::new(&sched, rules(0, true), 2);
    d.feed(Event::Start { time_left: None });
    d.turn(0);
    assert_eq!(
        d.sent(),
        vec![((0, 0), 0), ((2, 0), 1)],
        "item 1 waits for item 0"
    );
    d.log.clear();
    d.answer(0);
    let twin = d.m.results[0].clone().unwrap();
    assert!(d.log.contains(&Action::Duplicate {
        k: 1,
        twin: 0,
        result: ItemResult {
            item: 1,
            trial: 1,
            ..twin
        }
    }));
    d.answer(1);
    assert_eq!(d.turn(0), Some(Stop::Done));
}
