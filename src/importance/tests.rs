//! Oracle tests: functions whose variance decomposition is known analytically.

use rand::{Rng, SeedableRng};
use serde_json::json;

use super::*;
use crate::search::space::RawParam;

fn space(yaml: &str) -> Space {
    let m: serde_yaml::Mapping = serde_yaml::from_str(yaml).unwrap();
    let entries: Vec<(String, RawParam)> = m
        .into_iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                serde_yaml::from_value(v).unwrap(),
            )
        })
        .collect();
    Space::from_raw(&entries, "space").unwrap()
}

/// `n` trials with configurations drawn by `draw` and values from `f`.
fn observe(
    n: usize,
    mut draw: impl FnMut(&mut rand_chacha::ChaCha8Rng) -> Config,
    f: impl Fn(&Config) -> f64,
) -> Vec<Observation> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    (0..n)
        .map(|trial| {
            let config = draw(&mut rng);
            let value = f(&config);
            Observation {
                trial,
                config,
                value,
            }
        })
        .collect()
}

fn x(c: &Config, k: &str) -> f64 {
    c[k].as_f64().unwrap()
}

fn fraction(imp: &Importance, name: &str) -> f64 {
    imp.params
        .iter()
        .find(|p| p.name == name)
        .unwrap()
        .share
        .fraction
}

#[test]
fn a_bilinear_function_decomposes_into_its_known_shares() {
    // f = a·u + b·v + c·u·v with u, v uniform on [-1, 1]: Var(u) = 1/3, so the main effects
    // are a²/3 and b²/3 and the interaction c²/9; w does nothing.
    let (a, b, c) = (1.0, 2.0, 3.0);
    let s = space("u: {uniform: [-1, 1]}\nv: {uniform: [-1, 1]}\nw: {uniform: [0, 5]}");
    let obs = observe(
        600,
        |r| {
            [
                ("u".into(), json!(r.random_range(-1.0..1.0))),
                ("v".into(), json!(r.random_range(-1.0..1.0))),
                ("w".into(), json!(r.random_range(0.0..5.0))),
            ]
            .into()
        },
        |cfg| a * x(cfg, "u") + b * x(cfg, "v") + c * x(cfg, "u") * x(cfg, "v"),
    );
    let imp = analyse(&s, &obs, Options::default()).unwrap();
    let total = a * a / 3.0 + b * b / 3.0 + c * c / 9.0;
    let (fu, fv, fuv) = (
        a * a / 3.0 / total,
        b * b / 3.0 / total,
        c * c / 9.0 / total,
    );
    assert_eq!(imp.params[0].name, "v");
    assert!(
        (fraction(&imp, "u") - fu).abs() < 0.04,
        "u {imp:?} want {fu}"
    );
    assert!(
        (fraction(&imp, "v") - fv).abs() < 0.04,
        "v {imp:?} want {fv}"
    );
    assert!(fraction(&imp, "w") < 0.02, "{imp:?}");
    assert_eq!(imp.pairs[0].params, ["u".to_string(), "v".to_string()]);
    assert!(
        (imp.pairs[0].share.fraction - fuv).abs() < 0.04,
        "{imp:?} want {fuv}"
    );
    assert!(imp.pairs[1].share.fraction < 0.02, "{imp:?}");
}

#[test]
fn log_parameters_are_measured_in_log_space() {
    // Two steps at the middle of each axis: in log space lr's step halves its range, as x's
    // does, so each explains half. On a linear axis lr's step would sit at 3% of the range.
    let s = space("lr: {loguniform: [1.0e-4, 1.0e-1]}\nx: {uniform: [0, 1]}");
    let mid = (1e-4f64 * 1e-1).sqrt();
    let obs = observe(
        400,
        |r| {
            [
                ("lr".into(), json!(10f64.powf(r.random_range(-4.0..-1.0)))),
                ("x".into(), json!(r.random_range(0.0..1.0))),
            ]
            .into()
        },
        |cfg| f64::from(u8::from(x(cfg, "lr") > mid)) + f64::from(u8::from(x(cfg, "x") > 0.5)),
    );
    let imp = analyse(&s, &obs, Options::default()).unwrap();
    assert!((fraction(&imp, "lr") - 0.5).abs() < 0.05, "{imp:?}");
    assert!((fraction(&imp, "x") - 0.5).abs() < 0.05, "{imp:?}");
    let lr = imp.params.iter().find(|p| p.name == "lr").unwrap();
    assert_eq!(lr.scale, Scale::Log);
}

#[test]
fn inactive_conditional_parameters_keep_their_trials() {
    // sgd's result depends on momentum; adam's does not have one.
    let s = space(
        "opt: {choice: [adam, sgd]}\nmomentum: {uniform: [0, 1], when: {opt: [sgd]}}\nz: {int: [1, 4]}",
    );
    let obs = observe(
        300,
        |r| {
            let mut c: Config = [("z".into(), json!(r.random_range(1..=4)))].into();
            if r.random_bool(0.5) {
                c.insert("opt".into(), json!("sgd"));
                c.insert("momentum".into(), json!(r.random_range(0.0..1.0)));
            } else {
                c.insert("opt".into(), json!("adam"));
            }
            c
        },
        |cfg| {
            cfg.get("momentum")
                .map_or(0.5, |m| 4.0 * m.as_f64().unwrap())
        },
    );
    let imp = analyse(&s, &obs, Options::default()).unwrap();
    assert_eq!(imp.trials, 300);
    assert_eq!(imp.params[0].name, "momentum");
    assert!(fraction(&imp, "z") < 0.02, "{imp:?}");
    let f = Feature::of(s.get("momentum").unwrap());
    assert_eq!((f.low, f.high, f.inactive), (-1.0, 1.0, Some(-0.5)));
}

#[test]
fn the_same_seed_gives_the_same_figures() {
    let s = space("u: {uniform: [0, 1]}\nk: {choice: [1, 2, 3]}");
    let obs = observe(
        50,
        |r| {
            [
                ("u".into(), json!(r.random_range(0.0..1.0))),
                ("k".into(), json!(r.random_range(1..=3))),
            ]
            .into()
        },
        |cfg| x(cfg, "u").sin() * x(cfg, "k"),
    );
    let opts = Options { trees: 16, seed: 9 };
    let a = serde_json::to_string(&analyse(&s, &obs, opts).unwrap()).unwrap();
    let b = serde_json::to_string(&analyse(&s, &obs, opts).unwrap()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn too_few_trials_or_no_variance_is_an_error() {
    let s = space("u: {uniform: [0, 1]}");
    let one = observe(1, |_| [("u".into(), json!(0.5))].into(), |_| 1.0);
    assert!(analyse(&s, &one, Options::default()).is_err());
    let flat = observe(
        10,
        |r| [("u".into(), json!(r.random_range(0.0..1.0)))].into(),
        |_| 1.0,
    );
    let e = analyse(&s, &flat, Options::default()).unwrap_err();
    assert!(e.contains("no variance"), "{e}");
}

#[test]
fn the_common_budget_is_the_largest_that_enough_trials_reached() {
    let curve = |n: u32| (1..=n).map(|e| (e, e as f64)).collect::<Vec<_>>();
    let curves: Vec<(usize, Vec<(u32, f64)>)> = vec![
        (0, curve(1)),
        (1, curve(1)),
        (2, curve(3)),
        (3, curve(3)),
        (4, curve(9)),
    ];
    let (b, v) = common_budget(&curves, 3).unwrap();
    assert_eq!(b, 3);
    assert_eq!(v, vec![(2, 3.0), (3, 3.0), (4, 3.0)]);
    assert_eq!(common_budget(&curves, 5).unwrap().0, 1);
    // Nobody reached 6 trials: the budget most trials reached.
    assert_eq!(common_budget(&curves, 6).unwrap().0, 1);
    assert!(common_budget(&[], 2).is_none());
}

#[test]
fn past_max_trials_a_seeded_draw_still_finds_the_known_shares() {
    // The bilinear function above, with more trials than the forest takes: the draw is seeded
    // (the same shares every time) and says how many trials it came from.
    let s = space("u: {uniform: [-1, 1]}\nv: {uniform: [-1, 1]}");
    let obs = observe(
        MAX_TRIALS + 500,
        |r| {
            [
                ("u".into(), json!(r.random_range(-1.0..1.0))),
                ("v".into(), json!(r.random_range(-1.0..1.0))),
            ]
            .into()
        },
        |cfg| x(cfg, "u") + 2.0 * x(cfg, "v") + 3.0 * x(cfg, "u") * x(cfg, "v"),
    );
    let opts = Options {
        trees: 16,
        ..Options::default()
    };
    let imp = analyse(&s, &obs, opts).unwrap();
    assert_eq!(
        (imp.trials, imp.sampled_from),
        (MAX_TRIALS, Some(MAX_TRIALS + 500))
    );
    let total = 1.0 / 3.0 + 4.0 / 3.0 + 1.0;
    assert!(
        (fraction(&imp, "v") - 4.0 / 3.0 / total).abs() < 0.05,
        "{imp:?}"
    );
    let again = analyse(&s, &obs, opts).unwrap();
    assert_eq!(
        serde_json::to_value(&again.params).unwrap(),
        serde_json::to_value(&imp.params).unwrap()
    );
}
