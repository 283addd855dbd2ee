//! Spaces and objectives shared by the strategies' tests.

use crate::search::objectives as function;
use crate::search::space::{RawParam, Space};
use crate::search::{Observation, Sampler};

/// A space from `(name, yaml)` entries, e.g. `("lr", "{loguniform: [1e-4, 1e-1]}")`.
pub fn space_of(entries: &[(&str, &str)]) -> Space {
    let raw: Vec<(String, RawParam)> = entries
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_yaml::from_str(v).expect("test yaml parses"),
            )
        })
        .collect();
    Space::from_raw(&raw, "space").expect("test space is valid")
}

/// Branin's domain: x1 in [-5, 10], x2 in [0, 15].
pub fn branin_space() -> Space {
    space_of(&[("x1", "{uniform: [-5, 10]}"), ("x2", "{uniform: [0, 15]}")])
}

/// One parameter of every kind.
pub fn mixed_space() -> Space {
    space_of(&[
        ("lr", "{loguniform: [1.0e-4, 1.0e-1]}"),
        ("units", "{int: [32, 512], log: true}"),
        ("layers", "{int: [1, 7], step: 2}"),
        ("dropout", "{uniform: [0.0, 0.5]}"),
        ("act", "{choice: [relu, tanh, elu]}"),
        ("bs", "{choice: [32, 64, 128]}"),
    ])
}

/// A chain of conditions: momentum for sgd/rmsprop, nesterov for sgd, dampening only when
/// nesterov is false (so only for sgd), beta1 for adam, width2 for depth 2 or 3.
pub fn cond_space() -> Space {
    space_of(&[
        ("optimizer", "{choice: [adam, sgd, rmsprop]}"),
        ("lr", "{loguniform: [1.0e-4, 1.0e-1]}"),
        (
            "momentum",
            "{uniform: [0.0, 0.99], when: {optimizer: [sgd, rmsprop]}}",
        ),
        (
            "nesterov",
            "{choice: [true, false], when: {optimizer: [sgd]}}",
        ),
        (
            "dampening",
            "{uniform: [0.0, 0.5], when: {nesterov: [false]}}",
        ),
        ("beta1", "{uniform: [0.8, 0.99], when: {optimizer: [adam]}}"),
        ("depth", "{int: [1, 3]}"),
        ("width2", "{int: [8, 64], log: true, when: {depth: [2, 3]}}"),
    ])
}

/// Run `sampler` sequentially for `n` evaluations of the named function (failures are
/// recorded as failed trials) and return the observations.
pub fn run(sampler: &dyn Sampler, space: &Space, name: &str, n: usize) -> Vec<Observation> {
    run_with(sampler, space, n, |_, config| {
        function::evaluate(name, &function::coordinates(config)).ok()
    })
}

/// Run `sampler` sequentially for `n` evaluations of `objective(trial, config)` (`None` = a
/// failed trial), checking that every proposal is valid.
pub fn run_with(
    sampler: &dyn Sampler,
    space: &Space,
    n: usize,
    objective: impl Fn(usize, &crate::search::Config) -> Option<f64>,
) -> Vec<Observation> {
    let mut observed: Vec<Observation> = Vec::new();
    for i in 0..n {
        let Some(p) = sampler.propose(space, &observed, &[], i) else {
            break;
        };
        assert_eq!(
            space.validate(&p.config),
            Ok(()),
            "proposal {i}: {:?}",
            p.config
        );
        let value = objective(i, &p.config);
        observed.push(Observation {
            trial: i,
            config: p.config,
            epochs: 1,
            value,
        });
    }
    observed
}

/// The best value found.
pub fn best(observed: &[Observation]) -> f64 {
    observed
        .iter()
        .filter_map(|o| o.value)
        .fold(f64::INFINITY, f64::min)
}
