//! A test coordinator: drives a scheduler exactly as the real one does (ask for the horizon,
//! wait for those results, decide), with W simulated workers finishing items in a seeded
//! random order, training the Branin function at fidelity epochs/max_epochs.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use crate::search::objectives::{at_fidelity, coordinates};
use crate::search::space::RawParam;
use crate::search::{
    Budget, Decision, ItemResult, Observation, Proposal, Sampler, Scheduler, Space, Strategy,
    StrategyKind, WorkItem, rng_for,
};

use super::ladder::Bracket;
use super::random::random_config;
use super::scheduler;

/// Uniform random proposals, seeded by index: the samplers' stand-in.
pub struct TestSampler(pub u64);

impl Sampler for TestSampler {
    fn propose(
        &self,
        space: &Space,
        _o: &[Observation],
        _p: &[crate::search::Config],
        index: usize,
    ) -> Option<Proposal> {
        Some(Proposal {
            config: random_config(space, &mut rng_for(self.0, "test-sampler", index as u64)),
            reason: "test".into(),
        })
    }
}

/// A sampler that proposes `n` configurations and then nothing (like a finished grid).
pub struct Limited(pub u64, pub usize);

impl Sampler for Limited {
    fn propose(
        &self,
        space: &Space,
        o: &[Observation],
        p: &[crate::search::Config],
        index: usize,
    ) -> Option<Proposal> {
        (index < self.1)
            .then(|| TestSampler(self.0).propose(space, o, p, index))
            .flatten()
    }
}

pub fn branin_space() -> Space {
    let raw: Vec<(String, RawParam)> = ["x1: {uniform: [-5, 10]}", "x2: {uniform: [0, 15]}"]
        .iter()
        .map(|y| {
            let m: serde_yaml::Mapping = serde_yaml::from_str(y).unwrap();
            let (k, v) = m.into_iter().next().unwrap();
            (
                k.as_str().unwrap().to_string(),
                serde_yaml::from_value(v).unwrap(),
            )
        })
        .collect();
    Space::from_raw(&raw, "space").unwrap()
}

/// The epoch at which a configuration fails (a deterministic share `fail_rate` of them do,
/// somewhere in their first `max` epochs), or `None`.
fn fails_at(x: &[f64], max: u32, fail_rate: f64) -> Option<u32> {
    let h = ((x[0] * 12.9898 + x[1] * 78.233).sin() * 43758.5453)
        .fract()
        .abs();
    (h < fail_rate).then(|| 1 + ((h / fail_rate.max(1e-9)) * f64::from(max)) as u32 % max.max(1))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub issued: Vec<WorkItem>,
    pub results: Vec<ItemResult>,
    /// The horizon each decision was made with.
    pub horizons: Vec<usize>,
    /// Epochs trained continuing from checkpoints, and the same schedule retraining each item.
    pub trained: u64,
    pub scratch: u64,
    /// Items that would have trained a trial backwards (restart), with no clone.
    pub restarts: usize,
}

pub fn simulate(
    s: &dyn Scheduler,
    workers: usize,
    order_seed: u64,
    max: u32,
    fail_rate: f64,
) -> Outcome {
    let mut issued: Vec<WorkItem> = Vec::new();
    let mut results: Vec<Option<ItemResult>> = Vec::new();
    let mut horizons = Vec::new();
    let mut in_flight: Vec<usize> = Vec::new();
    let mut curves: BTreeMap<usize, Vec<Option<f64>>> = BTreeMap::new();
    let (mut trained, mut scratch, mut restarts) = (0u64, 0u64, 0usize);
    let mut order = rng_for(order_seed, "sim-order", 0);
    let mut finished = false;
    loop {
        while !finished && in_flight.len() < workers {
            let k = issued.len();
            let h = s.horizon(k, &issued);
            assert!(h <= k, "horizon {h} beyond item {k}");
            if results[..h].iter().any(Option::is_none) {
                break;
            }
            let known: Vec<ItemResult> = results[..h].iter().flatten().cloned().collect();
            match s.decide(k, &issued, &known) {
                Decision::Run(item) => {
                    assert!(
                        !in_flight.iter().any(|&i| issued[i].trial == item.trial),
                        "item {k} runs trial {} while it is still training",
                        item.trial
                    );
                    if item.clone_from.is_none() {
                        let last = issued.iter().rposition(|w| w.trial == item.trial);
                        assert!(
                            last.is_none_or(|i| i < h),
                            "item {k} continues trial {} from an unseen result",
                            item.trial
                        );
                    }
                    horizons.push(h);
                    issued.push(item);
                    results.push(None);
                    in_flight.push(k);
                }
                Decision::Finished => finished = true,
            }
        }
        if in_flight.is_empty() {
            assert!(finished, "nothing in flight and no decision possible");
            break;
        }
        let i = in_flight.swap_remove(order.random_range(0..in_flight.len()));
        let w = &issued[i];
        let mut curve = match w.clone_from {
            Some((d, e)) => curves
                .get(&d)
                .map(|c| c[..(e as usize).min(c.len())].to_vec())
                .unwrap_or_default(),
            None => curves.get(&w.trial).cloned().unwrap_or_default(),
        };
        let start = curve.len() as u32;
        if w.epochs < start && w.clone_from.is_none() {
            restarts += 1;
            curve.truncate(0);
        }
        let x = coordinates(&w.config);
        let fail = fails_at(&x, max, fail_rate);
        for ep in curve.len() as u32 + 1..=w.epochs {
            trained += 1;
            if curve.last().is_some_and(Option::is_none) || fail.is_some_and(|f| ep >= f) {
                curve.push(None);
                break;
            }
            curve.push(at_fidelity("branin", &x, ep, max).ok());
        }
        let value = if curve.len() as u32 == w.epochs {
            curve.last().copied().flatten()
        } else {
            None
        };
        scratch += u64::from(w.epochs);
        results[i] = Some(ItemResult {
            item: i,
            trial: w.trial,
            epochs: curve.len() as u32,
            value,
            curve: curve.clone(),
            ..Default::default()
        });
        curves.insert(w.trial, curve);
    }
    Outcome {
        issued,
        results: results.into_iter().flatten().collect(),
        horizons,
        trained,
        scratch,
        restarts,
    }
}

pub fn opts(kind: StrategyKind, eta: u32, min: u32, max: u32) -> Strategy {
    opts_with(kind, eta, min, max, "")
}

/// `opts` with more options, as written in YAML (`median_stopping: true, batch: 3`), resolved
/// for the Branin space's 2 parameters.
pub fn opts_with(kind: StrategyKind, eta: u32, min: u32, max: u32, more: &str) -> Strategy {
    let mut yaml = format!("{{kind: {}", format!("{kind:?}").to_lowercase());
    if kind.is_multi_fidelity() {
        if kind != StrategyKind::Pbt {
            yaml += &format!(", eta: {eta}, min_epochs: {min}");
        }
        yaml += &format!(", max_epochs: {max}");
    }
    if !more.is_empty() {
        yaml += &format!(", {more}");
    }
    Strategy::from_yaml(&format!("{yaml}}}"), max, 2).unwrap()
}

pub fn make(o: &Strategy, trials: Option<usize>, epochs: u32) -> Box<dyn Scheduler> {
    make_with(o, trials, epochs, Box::new(TestSampler(11)))
}

pub fn make_with(
    o: &Strategy,
    trials: Option<usize>,
    epochs: u32,
    s: Box<dyn Sampler>,
) -> Box<dyn Scheduler> {
    let budget = Budget {
        trials,
        ..Budget::default()
    };
    scheduler(
        o,
        42,
        s,
        branin_space(),
        &budget,
        epochs,
        super::ValueLabel::objective(),
    )
    .unwrap()
}

/// Value of each (trial, target epochs) item, `None` when it failed.
pub fn rung_values(out: &Outcome) -> BTreeMap<(usize, u32), Option<f64>> {
    out.issued
        .iter()
        .zip(&out.results)
        .map(|(w, r)| {
            (
                (w.trial, w.epochs),
                if r.epochs == w.epochs { r.value } else { None },
            )
        })
        .collect()
}

/// The brute-force oracle for synchronous brackets: in every bracket and rung, the trials at
/// the next rung are exactly those with a value ranked (value, trial) within max(1, ⌊n/η⌋).
pub fn check_brackets(out: &Outcome, brackets: &[Bracket], eta: u32) {
    let values = rung_values(out);
    let mut first = 0;
    for (j, b) in brackets.iter().enumerate() {
        let members: BTreeSet<usize> = (first..first + b.rungs[0].n).collect();
        first += b.rungs[0].n;
        for i in 0..b.rungs.len() - 1 {
            let at: Vec<(usize, Option<f64>)> = values
                .iter()
                .filter(|((t, e), _)| members.contains(t) && *e == b.rungs[i].epochs)
                .map(|(&(t, _), &v)| (t, v))
                .collect();
            let quota = if at.is_empty() {
                0
            } else {
                (at.len() / eta as usize).max(1)
            };
            let expected: BTreeSet<usize> = at
                .iter()
                .filter(|(t, v)| {
                    let Some(v) = v else { return false };
                    let better = at
                        .iter()
                        .filter(|(u, w)| w.is_some_and(|w| (w, *u) < (*v, *t)))
                        .count();
                    better < quota
                })
                .map(|(t, _)| *t)
                .collect();
            let actual: BTreeSet<usize> = values
                .keys()
                .filter(|(t, e)| members.contains(t) && *e == b.rungs[i + 1].epochs)
                .map(|(t, _)| *t)
                .collect();
            assert_eq!(actual, expected, "bracket {j}, rung {i} -> {}", i + 1);
        }
    }
}

/// Properties every schedule has: bounded epochs, trials only continue (or clone), a trial
/// budget, and no failed rung result followed by more training of that trial (no clone).
pub fn check_common(out: &Outcome, max: u32, trials: usize) {
    assert_eq!(out.restarts, 0);
    let mut at: BTreeMap<usize, u32> = BTreeMap::new();
    let values = rung_values(out);
    for w in &out.issued {
        assert!(w.epochs <= max && w.epochs >= 1, "{w:?}");
        if let Some(&prev) = at.get(&w.trial) {
            assert!(
                w.epochs > prev,
                "trial {} went from {prev} to {} epochs",
                w.trial,
                w.epochs
            );
            if w.clone_from.is_none() {
                assert!(
                    values[&(w.trial, prev)].is_some(),
                    "failed trial {} was promoted: {w:?}",
                    w.trial
                );
            }
        }
        at.insert(w.trial, w.epochs);
    }
    assert!(at.len() <= trials, "{} trials > budget {trials}", at.len());
}
