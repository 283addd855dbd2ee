//! Uniform random configurations drawn straight from the space: the fallback when a sampler
//! has nothing to propose, BOHB's random share, and PBT's source for newly active parameters.

use rand::Rng;
use serde_json::json;

use crate::search::space::{Dist, Param};
use crate::search::{Config, Space, Value};

/// One value of `param`, uniform over its support (in log space for log ranges).
pub(crate) fn random_value(param: &Param, rng: &mut impl Rng) -> Value {
    match &param.dist {
        Dist::Uniform { low, high } => json!(low + rng.random::<f64>() * (high - low)),
        Dist::LogUniform { low, high } => {
            let x = (low.ln() + rng.random::<f64>() * (high.ln() - low.ln())).exp();
            json!(x.clamp(*low, *high))
        }
        Dist::Int {
            low,
            high,
            log: true,
            ..
        } => {
            // Uniform in log space over [low, high + 1), then floored: each integer gets the
            // mass of its log-interval.
            let (a, b) = ((*low as f64).ln(), ((*high + 1) as f64).ln());
            let x = (a + rng.random::<f64>() * (b - a)).exp().floor() as i64;
            json!(x.clamp(*low, *high))
        }
        Dist::Int {
            low, high, step, ..
        } => {
            let n = (high - low) / step.max(&1);
            json!(low + step * rng.random_range(0..=n))
        }
        Dist::Choice(options) => match options.len() {
            0 => Value::Null,
            n => options[rng.random_range(0..n)].clone(),
        },
    }
}

/// A configuration with every active parameter drawn uniformly; conditions are resolved in
/// the space's order, so a parameter is drawn only when its parents make it active.
pub fn random_config(space: &Space, rng: &mut impl Rng) -> Config {
    let mut config = Config::new();
    for p in &space.params {
        if space.is_active(p, &config) {
            config.insert(p.name.clone(), random_value(p, rng));
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::rng_for;
    use crate::search::space::RawParam;

    #[test]
    fn random_configs_are_valid() {
        let raw: Vec<(String, RawParam)> = serde_yaml::from_str::<serde_yaml::Mapping>(
            "lr: {loguniform: [1.0e-4, 1.0e-1]}\nunits: {int: [32, 512], log: true}\n\
             layers: {int: [1, 9], step: 2}\nopt: {choice: [adam, sgd]}\n\
             momentum: {uniform: [0, 0.99], when: {opt: [sgd]}}",
        )
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                serde_yaml::from_value(v).unwrap(),
            )
        })
        .collect();
        let space = Space::from_raw(&raw, "space").unwrap();
        for i in 0..200 {
            let c = random_config(&space, &mut rng_for(7, "t", i));
            assert_eq!(space.validate(&c), Ok(()), "{c:?}");
        }
    }
}
