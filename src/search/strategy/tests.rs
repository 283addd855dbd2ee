//! Properties every strategy must have: valid proposals, determinism, conditions respected,
//! no duplicates in a batch, failures tolerated, and the model-based ones beating random.

use proptest::prelude::*;

use super::encode::Encoder;
use super::testing::{best, branin_space, cond_space, mixed_space, run, run_with, space_of};
use super::{history, sampler};
use crate::search::objectives as function;
use crate::search::space::{Config, config_hash};
use crate::search::{Observation, Space, Strategy, StrategyKind};

/// The strategies that learn from observations, plus random and sobol as references.
fn kinds() -> Vec<(&'static str, Strategy)> {
    let s = |yaml: &str| Strategy::from_yaml(yaml, 1, 2).unwrap();
    vec![
        ("random", s("{kind: random}")),
        ("sobol", s("{kind: random, sobol: true}")),
        ("tpe", s("{kind: tpe, initial: 5}")),
        ("bayes", s("{kind: bayes, initial: 5}")),
        ("evolution", s("{kind: evolution, population: 6}")),
    ]
}

/// A kind at its defaults.
fn plain(kind: StrategyKind) -> Strategy {
    Strategy::of_kind(kind, 1, 2)
}

/// A smooth objective on any space: squared distance of the GP features from 0.3.
fn toy(space: &Space, config: &Config) -> f64 {
    let enc = Encoder::new(space);
    enc.features_of(&enc.encode(config))
        .iter()
        .map(|f| (f - 0.3).powi(2))
        .sum()
}

/// Sequential run with the toy objective; every third trial fails.
fn run_toy(kind: &Strategy, seed: u64, space: &Space, n: usize) -> Vec<Observation> {
    let s = sampler(kind, seed);
    run_with(s.as_ref(), space, n, |i, config| {
        (i % 3 != 2).then(|| toy(space, config))
    })
}

#[test]
/// A smoke test that every strategy runs 40 valid evaluations to a sensible point; whether
/// the model-based ones learn is `model_based_strategies_beat_random_on_branin`.
fn every_strategy_runs_forty_valid_evaluations_on_branin() {
    let space = branin_space();
    let opt = function::optimum("branin").unwrap();
    for (name, kind) in kinds() {
        let obs = run(sampler(&kind, 1).as_ref(), &space, "branin", 40);
        assert_eq!(obs.len(), 40, "{name}");
        let regret = best(&obs) - opt;
        assert!(regret < 5.0, "{name}: regret {regret}");
    }
    let grid = Strategy::from_yaml("{kind: grid, steps: 7}", 1, 2).unwrap();
    let obs = run(sampler(&grid, 1).as_ref(), &space, "branin", 100);
    assert_eq!(obs.len(), 49);
}

#[test]
fn same_seed_same_sequence_different_seed_differs() {
    for space in [mixed_space(), cond_space()] {
        for (name, kind) in kinds() {
            let a = run_toy(&kind, 11, &space, 16);
            let b = run_toy(&kind, 11, &space, 16);
            let c = run_toy(&kind, 12, &space, 16);
            assert_eq!(a, b, "{name}");
            assert_ne!(a, c, "{name}");
        }
    }
}

#[test]
fn conditional_params_are_present_only_when_active() {
    let space = cond_space();
    for (name, kind) in kinds() {
        let obs = run_toy(&kind, 3, &space, 30);
        // run_toy validated each one; check that both branches were explored.
        assert!(
            obs.iter().any(|o| o.config.contains_key("momentum")),
            "{name}"
        );
        assert!(obs.iter().any(|o| o.config.contains_key("beta1")), "{name}");
        assert!(
            obs.iter()
                .all(|o| !(o.config.contains_key("momentum") && o.config.contains_key("beta1")))
        );
    }
}

#[test]
fn a_batch_with_pending_configs_has_no_duplicates() {
    let space = space_of(&[("a", "{int: [0, 8]}"), ("b", "{choice: [x, y]}")]);
    for (name, kind) in kinds() {
        let s = sampler(&kind, 5);
        let observed = run_toy(&kind, 5, &space, 6);
        let mut pending: Vec<Config> = Vec::new();
        for i in 6..12 {
            let p = s
                .propose(&space, &observed, &pending, i)
                .expect("a proposal");
            pending.push(p.config);
        }
        let mut hashes: Vec<String> = observed
            .iter()
            .map(|o| &o.config)
            .chain(&pending)
            .map(config_hash)
            .collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(
            hashes.len(),
            12,
            "{name}: duplicates among 12 of 18 possible configs"
        );
    }
}

#[test]
fn an_exhausted_space_still_gets_proposals() {
    let space = space_of(&[("a", "{choice: [1, 2]}")]);
    for (name, kind) in kinds() {
        let obs = run_toy(&kind, 2, &space, 8);
        assert_eq!(obs.len(), 8, "{name}");
    }
}

#[test]
fn all_failed_observations_do_not_crash() {
    let space = mixed_space();
    for (name, kind) in kinds() {
        let s = sampler(&kind, 9);
        let mut observed = Vec::new();
        for i in 0..14 {
            let p = s.propose(&space, &observed, &[], i).expect("a proposal");
            assert_eq!(space.validate(&p.config), Ok(()), "{name}");
            observed.push(Observation {
                trial: i,
                config: p.config,
                epochs: 1,
                value: None,
            });
        }
    }
}

/// Mean final regret over seeds 0..5 with 40 evaluations: the model-based strategies beat
/// random search by a wide margin. Fixed seeds make this deterministic; the margin (a third
/// lower) leaves room for harmless changes in the algorithms.
#[test]
fn model_based_strategies_beat_random_on_branin() {
    let space = branin_space();
    let opt = function::optimum("branin").unwrap();
    let mean_regret = |kind: &Strategy| {
        (0..5u64)
            .map(|seed| best(&run(sampler(kind, seed).as_ref(), &space, "branin", 40)) - opt)
            .sum::<f64>()
            / 5.0
    };
    let random = mean_regret(&plain(StrategyKind::Random));
    for kind in [
        StrategyKind::Tpe,
        StrategyKind::Bayes,
        StrategyKind::Evolution,
    ] {
        let r = mean_regret(&plain(kind));
        eprintln!("{kind:?}: mean regret {r:.4} vs random {random:.4}");
        assert!(r < 0.67 * random, "{kind:?}: {r} vs random {random}");
    }
}

#[test]
fn history_uses_the_largest_budget_with_enough_trials() {
    let obs = |trial, epochs, value| Observation {
        trial,
        config: Config::new(),
        epochs,
        value: Some(value),
    };
    let observed = vec![
        obs(0, 1, 5.0),
        obs(1, 1, 4.0),
        obs(2, 1, 3.0),
        obs(0, 3, 2.0),
        obs(1, 3, 1.0),
        obs(2, 9, 0.5),
    ];
    let pick = |min| {
        let mut v: Vec<(usize, u32)> = history(&observed, min)
            .iter()
            .map(|o| (o.trial, o.epochs))
            .collect();
        v.sort();
        v
    };
    assert_eq!(pick(2), vec![(0, 3), (1, 3)]);
    assert_eq!(pick(3), vec![(0, 1), (1, 1), (2, 1)]);
    assert_eq!(pick(4), vec![(0, 3), (1, 3), (2, 9)]);
}

#[test]
fn multi_fidelity_kinds_get_a_sampler() {
    let space = mixed_space();
    for kind in [
        StrategyKind::Sha,
        StrategyKind::Hyperband,
        StrategyKind::Asha,
        StrategyKind::Bohb,
        StrategyKind::Pbt,
    ] {
        let p = sampler(&plain(kind), 1)
            .propose(&space, &[], &[], 0)
            .expect("a proposal");
        assert_eq!(space.validate(&p.config), Ok(()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_proposal_validates(seed in any::<u64>(), which in 0usize..8, n in 0usize..14, conditional in any::<bool>()) {
        let space = if conditional { cond_space() } else { mixed_space() };
        let kinds = kinds();
        let kind = &kinds[which % kinds.len()].1;
        let observed = run_toy(kind, seed, &space, n);
        let p = sampler(kind, seed).propose(&space, &observed, &[], n).expect("a proposal");
        prop_assert_eq!(space.validate(&p.config), Ok(()));
        for o in &observed {
            for (k, v) in &o.config {
                if let Some(step_ok) = match k.as_str() {
                    "layers" => Some(v.as_i64().is_some_and(|x| (x - 1) % 2 == 0)),
                    "units" | "depth" | "width2" => Some(v.as_i64().is_some()),
                    _ => None,
                } {
                    prop_assert!(step_ok, "{} = {}", k, v);
                }
            }
        }
    }

    #[test]
    fn log_uniform_samples_are_uniform_in_log_space(seed in any::<u64>(), sobol in any::<bool>()) {
        let space = space_of(&[("lr", "{loguniform: [1.0e-4, 1.0e-1]}"), ("u", "{int: [1, 1000], log: true}")]);
        let opts = Strategy::from_yaml(&format!("{{kind: random, sobol: {sobol}}}"), 1, 2).unwrap();
        let s = sampler(&opts, seed);
        let mut lr: Vec<f64> = Vec::new();
        let mut u: Vec<f64> = Vec::new();
        let mut observed: Vec<Observation> = Vec::new();
        for i in 0..400 {
            let c = s.propose(&space, &observed, &[], i).expect("a proposal").config;
            lr.push(c["lr"].as_f64().unwrap_or(f64::NAN).log10());
            u.push((c["u"].as_i64().unwrap_or(0) as f64).log10());
            observed.push(Observation { trial: i, config: c, epochs: 1, value: Some(0.0) });
        }
        lr.sort_by(f64::total_cmp);
        u.sort_by(f64::total_cmp);
        // Median at the geometric mean, quartiles a quarter of the way in log space. An int
        // level k covers [k-½, k+½] in log space, so small integers weigh more and the median
        // of log10 u sits at log10 √(0.5·1000.5) ≈ 1.35. Tolerances are five standard errors
        // of the order statistics of 400 draws, so the property does not flake.
        prop_assert!((lr[200] + 2.5).abs() < 0.4, "median log10 lr {}", lr[200]);
        prop_assert!((lr[100] + 3.25).abs() < 0.4 && (lr[300] + 1.75).abs() < 0.4);
        prop_assert!((u[200] - 1.35).abs() < 0.4, "median log10 u {}", u[200]);
    }
}

#[test]
fn proposals_record_their_reason() {
    let space = mixed_space();
    for (name, kind) in kinds() {
        let obs = run_toy(&kind, 4, &space, 12);
        let p = sampler(&kind, 4)
            .propose(&space, &obs, &[], 12)
            .expect("a proposal");
        assert!(!p.reason.is_empty(), "{name}");
    }
}

/// A search resumed after a crash starts a fresh sampler on the recorded observations; it must
/// propose exactly what the sampler that never stopped proposes, although `bayes` keeps fits
/// and factors between proposals (and warm-starts fits from earlier ones). Checked at every
/// proposal of a run that crosses many refit points, with failures, and with trials proposed
/// in batches (pending ones at the observed mean) whose results then arrive together, so the
/// long-lived sampler also skips refit sizes it never saw.
#[test]
fn a_resumed_search_proposes_exactly_what_an_uninterrupted_one_does() {
    let opts = Strategy::from_yaml("{kind: bayes, initial: 4, candidates: 200}", 1, 2).unwrap();
    for space in [branin_space(), mixed_space()] {
        let long = sampler(&opts, 21);
        let mut observed: Vec<Observation> = Vec::new();
        let mut index = 0;
        for step in 0..24 {
            let mut pending: Vec<Config> = Vec::new();
            for _ in 0..1 + step % 3 {
                let p = long.propose(&space, &observed, &pending, index);
                let fresh = sampler(&opts, 21).propose(&space, &observed, &pending, index);
                assert_eq!(p, fresh, "proposal {index}");
                pending.push(p.expect("a proposal").config);
                index += 1;
            }
            for config in pending {
                let trial = observed.len();
                observed.push(Observation {
                    trial,
                    value: (trial % 7 != 6).then(|| toy(&space, &config)),
                    config,
                    epochs: 1,
                });
            }
        }
        assert!(observed.len() > 40);
    }
}

#[test]
/// `bayes` with the default batch of 4 (each proposal made with three trials pending, as
/// `hpflow run` makes them) on 10-d Levy, 100 evaluations, seeds 0–29. Two parts of the batch
/// method show here, and the median regret without either is above the bound: the prior mean
/// at the worst observed value (without it 6.7) and the believed values of the pending trials
/// counted in EI's incumbent (without them 5.6); with both, 3.9. Thirty seeds, since a seed's
/// regret spreads from 1 to 17 and five seeds' median moves by two between changes.
fn bayes_in_batches_of_four_keeps_its_quality_on_levy() {
    let mut regrets: Vec<f64> = (0..30)
        .map(|seed| {
            super::bench::run_once(StrategyKind::Bayes, "levy", seed, 100, 4)
                .unwrap()
                .best
                - function::optimum("levy").unwrap()
        })
        .collect();
    regrets.sort_by(f64::total_cmp);
    let median = (regrets[14] + regrets[15]) / 2.0;
    assert!(median <= 4.5, "median {median}, sorted regrets {regrets:?}");
}
