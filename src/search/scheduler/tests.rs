//! Properties of every scheduler, checked by simulation against brute-force oracles.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::sim::{
    Limited, TestSampler, branin_space, check_brackets, check_common, make, make_with, opts,
    opts_with, rung_values, simulate,
};
use super::*;
use crate::search::{Strategy, StrategyKind};

fn kinds() -> Vec<(&'static str, Strategy, Option<usize>, u32)> {
    let median = opts_with(StrategyKind::Random, 3, 1, 12, "median_stopping: true");
    vec![
        ("random", opts(StrategyKind::Random, 3, 1, 9), Some(13), 9),
        ("median", median, Some(14), 12),
        ("sha", opts(StrategyKind::Sha, 3, 1, 27), None, 27),
        (
            "hyperband",
            opts(StrategyKind::Hyperband, 3, 1, 27),
            None,
            27,
        ),
        ("bohb", opts(StrategyKind::Bohb, 3, 1, 9), Some(40), 9),
        ("asha", opts(StrategyKind::Asha, 3, 1, 27), Some(40), 27),
        ("pbt", opts(StrategyKind::Pbt, 3, 1, 12), None, 12),
    ]
}

#[test]
fn decisions_do_not_depend_on_workers_or_completion_order() {
    for fail_rate in [0.0, 0.3] {
        for (name, o, trials, max) in kinds() {
            let s = make(&o, trials, max);
            let base = simulate(s.as_ref(), 1, 0, max, fail_rate);
            for (workers, order) in [(2, 1), (4, 2), (3, 3), (8, 4)] {
                let other = simulate(s.as_ref(), workers, order, max, fail_rate);
                assert_eq!(
                    base.issued, other.issued,
                    "{name}: 1 worker vs {workers} (order {order})"
                );
            }
            let budget = trials.unwrap_or(usize::MAX);
            check_common(&base, max, budget);
            assert!(!base.issued.is_empty(), "{name} issued nothing");
        }
    }
}

#[test]
fn sha_promotes_exactly_the_oracle_top_fraction() {
    for (eta, min, max, trials, fail) in [
        (3, 1, 27, None, 0.0),
        (3, 1, 27, Some(30), 0.2),
        (2, 1, 10, Some(17), 0.0),
        (4, 2, 32, Some(9), 0.5),
        (3, 1, 1, Some(5), 0.0),
    ] {
        let o = opts(StrategyKind::Sha, eta, min, max);
        let out = simulate(make(&o, trials, max).as_ref(), 3, 7, max, fail);
        let epochs = ladder::ladder(min, max, eta);
        let n = trials.unwrap_or((eta as usize).pow(epochs.len() as u32 - 1));
        check_brackets(&out, &[ladder::bracket(0, n, &epochs, eta)], eta);
        check_common(&out, max, n);
    }
}

#[test]
fn hyperband_runs_the_paper_brackets_in_order() {
    let o = opts(StrategyKind::Hyperband, 3, 1, 81);
    let out = simulate(make(&o, None, 81).as_ref(), 4, 3, 81, 0.0);
    let brackets = ladder::hyperband(1, 81, 3);
    check_brackets(&out, &brackets, 3);
    // Without failures every rung has exactly its table size.
    let mut first = 0;
    for b in &brackets {
        for r in &b.rungs {
            let n = out
                .issued
                .iter()
                .filter(|w| {
                    w.trial >= first && w.trial < first + b.rungs[0].n && w.epochs == r.epochs
                })
                .count();
            assert_eq!(n, r.n, "bracket s={} rung at {} epochs", b.s, r.epochs);
        }
        first += b.rungs[0].n;
    }
    assert_eq!(first, 143);
    assert!(out.issued.iter().all(|w| w.epochs <= 81));
}

#[test]
fn continuation_trains_fewer_epochs_than_retraining() {
    for kind in [
        StrategyKind::Sha,
        StrategyKind::Hyperband,
        StrategyKind::Asha,
    ] {
        let o = opts(kind, 3, 1, 27);
        let out = simulate(make(&o, None, 27).as_ref(), 4, 5, 27, 0.0);
        assert!(
            out.trained < out.scratch,
            "{kind:?}: continuing trained {} epochs, retraining would take {}",
            out.trained,
            out.scratch
        );
    }
    // SHA with 27 trials over 1, 3, 9, 27 epochs: 27 + 9·2 + 3·6 + 1·18 = 81 against
    // 27 + 9·3 + 3·9 + 1·27 = 108.
    let out = simulate(
        make(&opts(StrategyKind::Sha, 3, 1, 27), None, 27).as_ref(),
        2,
        0,
        27,
        0.0,
    );
    assert_eq!((out.trained, out.scratch), (81, 108));
}

#[test]
fn failed_trials_are_never_promoted() {
    for (name, o, trials, max) in kinds() {
        let out = simulate(make(&o, trials, max).as_ref(), 3, 9, max, 0.6);
        check_common(&out, max, trials.unwrap_or(usize::MAX));
        let _ = name;
    }
}

/// ASHA: each promotion was in the top ⌊n/η⌋ of what its decision could see, and when the
/// search ends nothing promotable is left.
#[test]
fn asha_promotions_match_the_oracle() {
    for (eta, max, trials, fail) in [(3, 27, 40, 0.0), (2, 16, 30, 0.3), (3, 9, 5, 0.0)] {
        let o = opts(StrategyKind::Asha, eta, 1, max);
        let out = simulate(make(&o, Some(trials), max).as_ref(), 4, 1, max, fail);
        check_common(&out, max, trials);
        let rungs = ladder::ladder(1, max, eta);
        let q = |n: usize| n / eta as usize;
        for (k, w) in out.issued.iter().enumerate() {
            let Some(r) = rungs.iter().position(|&e| e == w.epochs).filter(|&r| r > 0) else {
                continue;
            };
            let seen: Vec<(usize, f64)> = out.issued[..k]
                .iter()
                .zip(&out.results[..out.horizons[k]])
                .filter(|(x, _)| x.epochs == rungs[r - 1])
                .map(|(x, res)| {
                    (
                        x.trial,
                        if res.epochs == x.epochs {
                            res.value.unwrap_or(f64::INFINITY)
                        } else {
                            f64::INFINITY
                        },
                    )
                })
                .collect();
            let mine = seen
                .iter()
                .find(|(t, _)| *t == w.trial)
                .expect("promoted from a seen result")
                .1;
            let better = seen
                .iter()
                .filter(|&&(t, v)| (v, t) < (mine, w.trial))
                .count();
            assert!(
                mine.is_finite() && better < q(seen.len()),
                "item {k}: {w:?}"
            );
        }
        let values = rung_values(&out);
        for r in 0..rungs.len() - 1 {
            let at: Vec<(usize, f64)> = values
                .iter()
                .filter(|((_, e), _)| *e == rungs[r])
                .filter_map(|(&(t, _), v)| Some((t, (*v)?)))
                .collect();
            let n = values.keys().filter(|(_, e)| *e == rungs[r]).count();
            let mut sorted = at.clone();
            sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            for (t, _) in sorted.into_iter().take(q(n)) {
                assert!(
                    values.contains_key(&(t, rungs[r + 1])),
                    "trial {t} left unpromoted at rung {r}"
                );
            }
        }
    }
}

#[test]
fn pbt_clones_only_from_the_top_quantile() {
    let o = opts_with(StrategyKind::Pbt, 3, 1, 12, "population: 8, interval: 2");
    let out = simulate(make(&o, None, 12).as_ref(), 3, 2, 12, 0.2);
    check_common(&out, 12, 8);
    let values = rung_values(&out);
    let mut clones = 0;
    for w in &out.issued {
        let Some((donor, e)) = w.clone_from else {
            continue;
        };
        clones += 1;
        let mine = values[&(w.trial, e)];
        let dv = values[&(donor, e)].expect("donor has a value");
        let better = (0..8)
            .filter(|&t| values[&(t, e)].is_some_and(|v| (v, t) < (dv, donor)))
            .count();
        assert!(
            better < 2,
            "donor {donor} ranked {} at epoch {e}",
            better + 1
        );
        if let Some(m) = mine {
            let worse = (0..8)
                .filter(|&t| values[&(t, e)].is_none_or(|v| (v, t) > (m, w.trial)))
                .count();
            assert!(
                worse < 2,
                "trial {} exploited from rank {}",
                w.trial,
                8 - worse
            );
        }
        assert!(
            w.reason
                .contains(&format!("copied trial {donor} at epoch {e}")),
            "{}",
            w.reason
        );
    }
    assert!(clones > 0);
    assert_eq!(out.issued.len(), 8 * 6);
}

#[test]
fn median_stopping_stops_only_trials_worse_than_the_median() {
    let o = opts_with(
        StrategyKind::Random,
        3,
        1,
        12,
        "median_stopping: true, batch: 3",
    );
    let out = simulate(make(&o, Some(15), 12).as_ref(), 2, 4, 12, 0.0);
    check_common(&out, 12, 15);
    let mut last: BTreeMap<usize, (u32, f64)> = BTreeMap::new();
    for (w, r) in out.issued.iter().zip(&out.results) {
        last.insert(w.trial, (w.epochs, r.value.unwrap()));
    }
    let stopped: Vec<_> = last.iter().filter(|(_, (e, _))| *e < 12).collect();
    assert!(!stopped.is_empty(), "nothing stopped");
    for (&t, &(e, v)) in stopped {
        assert!(t >= 3, "the first batch trains to the end");
        let earlier: Vec<f64> = (0..t / 3 * 3)
            .filter_map(|u| {
                out.results
                    .iter()
                    .filter(|r| r.trial == u)
                    .flat_map(|r| r.curve.get(e as usize - 1))
                    .flatten()
                    .next()
                    .copied()
            })
            .collect();
        let mut s = earlier.clone();
        s.sort_by(f64::total_cmp);
        let m = if s.len() % 2 == 1 {
            s[s.len() / 2]
        } else {
            (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
        };
        assert!(
            s.len() >= 3 && v > m,
            "trial {t} stopped at {e} with {v} vs median {m}"
        );
    }
}

#[test]
fn plain_respects_the_budget_and_an_exhausted_sampler() {
    let o = opts(StrategyKind::Grid, 3, 1, 5);
    let s = make_with(&o, Some(10), 5, Box::new(Limited(1, 6)));
    let out = simulate(s.as_ref(), 3, 0, 5, 0.0);
    assert_eq!(out.issued.len(), 6);
    let out = simulate(make(&o, Some(10), 5).as_ref(), 3, 0, 5, 0.0);
    assert_eq!(out.issued.len(), 10);
    assert!(
        out.issued
            .iter()
            .enumerate()
            .all(|(k, w)| w.trial == k && w.epochs == 5)
    );
    // Decision k saw the results of items 0..k-3 (batch 4).
    assert_eq!(out.horizons, vec![0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
}

#[test]
fn bohb_uses_the_model_once_a_budget_has_enough_points() {
    let o = opts(StrategyKind::Bohb, 3, 1, 9);
    // BOHB's own sampler (TPE), so the test sees whether its model is really fitted.
    let real = crate::search::strategy::sampler(&o, 42);
    let out = simulate(make_with(&o, None, 9, real).as_ref(), 2, 0, 9, 0.0);
    let reasons: Vec<&str> = out.issued.iter().map(|w| w.reason.as_str()).collect();
    assert!(
        reasons[..9]
            .iter()
            .all(|r| r.contains("no budget has 4 observations")),
        "{reasons:?}"
    );
    let model: Vec<&&str> = reasons
        .iter()
        .filter(|r| r.contains("bohb: model on"))
        .collect();
    assert!(!model.is_empty(), "{reasons:?}");
    // Fitted from the 4 observations the budget has, not waiting for TPE's own 10.
    assert!(
        model.iter().all(|r| r.contains("tpe: log l/g")),
        "{model:?}"
    );
    check_brackets(&out, &ladder::hyperband(1, 9, 3), 3);
}

#[test]
fn epoch_budget_caps_the_planned_epochs() {
    let o = opts(StrategyKind::Sha, 3, 1, 27);
    let budget = Budget {
        epochs: Some(50),
        ..Budget::default()
    };
    let s = scheduler(
        &o,
        1,
        Box::new(TestSampler(0)),
        branin_space(),
        &budget,
        27,
        super::ValueLabel::objective(),
    )
    .unwrap();
    let out = simulate(s.as_ref(), 2, 0, 27, 0.0);
    assert!(out.trained <= 50 && out.trained > 40, "{}", out.trained);
}

#[test]
fn best_trial_is_the_best_at_the_largest_epochs() {
    let out = simulate(
        make(&opts(StrategyKind::Sha, 3, 1, 9), Some(9), 9).as_ref(),
        2,
        0,
        9,
        0.0,
    );
    let (t, e, v) = best_trial(&out.issued, &out.results).unwrap();
    assert_eq!(e, 9);
    let at9: Vec<f64> = out
        .results
        .iter()
        .filter(|r| r.epochs == 9)
        .filter_map(|r| r.value)
        .collect();
    assert_eq!(at9.len(), 1);
    assert_eq!(
        (v, out.results.iter().find(|r| r.epochs == 9).unwrap().trial),
        (at9[0], t)
    );
    assert_eq!(best_trial(&[], &[]), None);
}

/// A trial early stopping ended at a lower rung competes with the top rung at its best value,
/// and the epochs to retrain are its best epoch's.
#[test]
fn best_trial_counts_a_stopped_trial_at_its_best_epoch() {
    let item = |trial, epochs| WorkItem {
        trial,
        config: Default::default(),
        epochs,
        clone_from: None,
        wave: None,
        reason: String::new(),
    };
    let issued = vec![item(0, 3), item(1, 3), item(1, 9)];
    let result = |item, trial, epochs, value, best_epoch, stopped| ItemResult {
        item,
        trial,
        epochs,
        value: Some(value),
        best_epoch: Some(best_epoch),
        stopped,
        ..Default::default()
    };
    // Trial 0 stopped after 3 epochs (best at 1) with a better value than trial 1 at 9.
    let mut results = vec![
        result(0, 0, 3, 1.0, 1, true),
        result(1, 1, 3, 3.0, 3, false),
        result(2, 1, 9, 2.0, 7, false),
    ];
    assert_eq!(best_trial(&issued, &results), Some((0, 1, 1.0)));
    // Worse than the top rung's best: trial 1 at its best epoch 7.
    results[0].value = Some(2.5);
    assert_eq!(best_trial(&issued, &results), Some((1, 7, 2.0)));
    // Not stopped, trial 0 would only count at 3 epochs: below the top rung.
    results[0] = result(0, 0, 3, 1.0, 1, false);
    assert_eq!(best_trial(&issued, &results), Some((1, 7, 2.0)));
}

/// A trial that failed in its last rung is never selected, however good its earlier rung
/// (issue 23: SHA retrained a trial whose program stopped early).
#[test]
fn best_trial_never_selects_a_trial_that_failed_later() {
    let item = |trial, epochs| WorkItem {
        trial,
        config: Default::default(),
        epochs,
        clone_from: None,
        wave: None,
        reason: String::new(),
    };
    let issued = vec![item(0, 2), item(1, 2), item(1, 4)];
    let result = |item, trial, epochs, value| ItemResult {
        item,
        trial,
        epochs,
        value,
        ..Default::default()
    };
    let mut results = vec![
        result(0, 0, 2, Some(2.0)),
        result(1, 1, 2, Some(1.0)),
        result(2, 1, 3, None),
    ];
    assert_eq!(best_trial(&issued, &results), Some((0, 2, 2.0)));
    // Diverged (a non-finite value) counts as failed too.
    results[2].value = Some(f64::NAN);
    assert_eq!(best_trial(&issued, &results), Some((0, 2, 2.0)));
    // Every trial failed somewhere: nothing to select.
    results[0].value = None;
    assert_eq!(best_trial(&issued, &results), None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn multi_fidelity_schedules_hold_their_properties(
        kind in prop::sample::select(vec![StrategyKind::Sha, StrategyKind::Hyperband, StrategyKind::Asha]),
        eta in 2u32..5, min in 1u32..3, extra in 0u32..30, trials in prop::option::of(1usize..50),
        workers in 1usize..6, order in 0u64..1000, fail in prop::sample::select(vec![0.0, 0.2, 0.7]),
    ) {
        let max = min + extra;
        let o = opts(kind, eta, min, max);
        let s = make(&o, trials, max);
        let a = simulate(s.as_ref(), 1, order, max, fail);
        let b = simulate(s.as_ref(), workers, order + 1, max, fail);
        prop_assert_eq!(&a.issued, &b.issued);
        let budget = trials.unwrap_or(if kind == StrategyKind::Hyperband { usize::MAX } else { default_trials(o.rungs().unwrap()) });
        check_common(&b, max, budget);
        match kind {
            StrategyKind::Sha => {
                let epochs = ladder::ladder(min, max, eta);
                check_brackets(&b, &[ladder::bracket(0, budget, &epochs, eta)], eta);
            }
            StrategyKind::Hyperband => {
                check_brackets(&b, &ladder::hyperband_budgeted(min, max, eta, trials).unwrap(), eta);
            }
            _ => {}
        }
    }
}

/// A plain search keeps its observations and the random sampler its set of seen
/// configurations between decisions. Each decision must still be the one made from scratch
/// (a fresh scheduler, and the sampler's `propose` over the whole history), and duplicates
/// must still be avoided while the space has fresh configurations.
#[test]
fn kept_state_between_plain_decisions_changes_no_decision() {
    use crate::search::strategy::testing::space_of;
    let space = space_of(&[("a", "{int: [0, 8]}"), ("b", "{choice: [x, y]}")]);
    let random = Strategy::of_kind(StrategyKind::Random, 1, 2);
    let fresh = || {
        plain::Plain::new(
            2,
            30,
            1,
            crate::search::strategy::sampler(&random, 9),
            space.clone(),
        )
    };
    let kept = fresh();
    let mut issued: Vec<WorkItem> = Vec::new();
    let mut results: Vec<ItemResult> = Vec::new();
    for k in 0..30 {
        let h = kept.horizon(k, &issued);
        while results.len() < h {
            let i = results.len();
            results.push(ItemResult {
                item: i,
                trial: issued[i].trial,
                epochs: 1,
                value: Some(i as f64 % 7.0),
                ..Default::default()
            });
        }
        let Decision::Run(item) = kept.decide(k, &issued, &results[..h]) else {
            panic!("plain search ended early at {k}");
        };
        assert_eq!(
            Decision::Run(item.clone()),
            fresh().decide(k, &issued, &results[..h]),
            "decision {k}"
        );
        let hist = history::History::new(&issued, &results[..h]);
        let reference = crate::search::strategy::sampler(&random, 9)
            .propose(&space, &hist.observations(), &hist.pending(), k)
            .unwrap();
        assert_eq!(
            item.config, reference.config,
            "decision {k} against propose"
        );
        issued.push(item);
    }
    let mut first: Vec<String> = issued[..18]
        .iter()
        .map(|w| crate::search::space::config_hash(&w.config))
        .collect();
    first.sort();
    first.dedup();
    assert_eq!(
        first.len(),
        18,
        "a duplicate among the first 18 of 18 configurations"
    );
}
