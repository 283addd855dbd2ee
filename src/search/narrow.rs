//! Wide, then narrow: a search space derived from an upstream search's best trials. Each
//! numeric range shrinks to what the top fraction of trials used, widened by a margin (in log
//! space for log parameters) and kept inside the original range; a choice keeps the options
//! seen among the top. A pure function of the upstream's recorded trials, so the narrowed
//! search is as reproducible as any other.

use serde::{Deserialize, Serialize};

use super::space::{Config, Dist, Space};

/// `narrow: {from: STAGE, top: 0.2, seed_best: 3}` resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Narrow {
    /// The upstream search stage.
    pub from: String,
    /// The fraction of its trials (best first) whose values bound the new space.
    pub top: f64,
    /// The first this-many trials are the upstream's best configurations.
    pub seed_best: usize,
}

/// Proposes the upstream's best configurations first (`seed_best`), then what `inner` does.
pub struct Seeded {
    pub configs: Vec<Config>,
    pub inner: Box<dyn super::Sampler>,
}

impl super::Sampler for Seeded {
    fn propose(
        &self,
        space: &Space,
        observed: &[super::Observation],
        pending: &[Config],
        index: usize,
    ) -> Option<super::Proposal> {
        match self.configs.get(index) {
            Some(c) => Some(super::Proposal {
                config: space.prune(c),
                reason: format!(
                    "narrow: the upstream search's best configuration #{}",
                    index + 1
                ),
            }),
            None => self.inner.propose(space, observed, pending, index),
        }
    }
}

/// Widen each narrowed range by this share of its width on each side.
const MARGIN: f64 = 0.1;

/// The trials that bound the narrowed space: `(config, objective)` of the upstream trials
/// with a value, best (lowest objective) first, ties by position; at least one.
pub fn top<'a>(trials: &'a [(Config, f64)], fraction: f64) -> Vec<&'a Config> {
    let mut ranked: Vec<(usize, &(Config, f64))> = trials.iter().enumerate().collect();
    ranked.sort_by(|a, b| a.1.1.total_cmp(&b.1.1).then(a.0.cmp(&b.0)));
    // Less a hair, so that 0.55 × 100 (55.000000000000007 in floating point) is 55.
    let k = ((fraction * trials.len() as f64 - 1e-9).ceil() as usize).clamp(1, trials.len().max(1));
    ranked.into_iter().take(k).map(|(_, t)| &t.0).collect()
}

/// The upstream space narrowed to the values the `best` configurations used. A parameter no
/// best configuration has (inactive under a condition) keeps its whole range.
pub fn narrow(space: &Space, best: &[&Config]) -> Space {
    let mut out = space.clone();
    for p in out.params.iter_mut() {
        let seen: Vec<&serde_json::Value> = best.iter().filter_map(|c| c.get(&p.name)).collect();
        if seen.is_empty() {
            continue;
        }
        let nums: Vec<f64> = seen.iter().filter_map(|v| v.as_f64()).collect();
        p.dist = match &p.dist {
            Dist::Uniform { low, high } => {
                let (lo, hi) = shrink(&nums, *low, *high, false);
                Dist::Uniform { low: lo, high: hi }
            }
            Dist::LogUniform { low, high } => {
                let (lo, hi) = shrink(&nums, *low, *high, true);
                Dist::LogUniform { low: lo, high: hi }
            }
            Dist::Int {
                low,
                high,
                log,
                step,
            } => {
                let (lo, hi) = shrink(&nums, *low as f64, *high as f64, *log);
                // Outward to the parameter's grid, inside the original bounds.
                let down = |x: f64| low + ((x - *low as f64) / *step as f64).floor() as i64 * step;
                let up = |x: f64| low + ((x - *low as f64) / *step as f64).ceil() as i64 * step;
                Dist::Int {
                    low: down(lo).max(*low),
                    high: up(hi).min(*high),
                    log: *log,
                    step: *step,
                }
            }
            Dist::Choice(options) => Dist::Choice(
                options
                    .iter()
                    .filter(|o| seen.contains(o))
                    .cloned()
                    .collect(),
            ),
        };
    }
    out
}

/// `[min, max]` of the values with a margin, in log space when `log`, within `[low, high]`;
/// a single value gets a margin of the original width.
fn shrink(values: &[f64], low: f64, high: f64, log: bool) -> (f64, f64) {
    let (to, from): (fn(f64) -> f64, fn(f64) -> f64) = if log {
        (f64::ln, f64::exp)
    } else {
        (|x| x, |x| x)
    };
    let (lo0, hi0) = (to(low), to(high));
    let min = values.iter().copied().map(to).fold(f64::INFINITY, f64::min);
    let max = values
        .iter()
        .copied()
        .map(to)
        .fold(f64::NEG_INFINITY, f64::max);
    if !min.is_finite() || !max.is_finite() {
        return (low, high);
    }
    let width = if max > min { max - min } else { hi0 - lo0 };
    let lo = (min - MARGIN * width).max(lo0);
    let hi = (max + MARGIN * width).min(hi0);
    // Exactly the bounds when clipped, so that no rounding leaves the original range.
    let lo = if lo <= lo0 { low } else { from(lo).max(low) };
    let hi = if hi >= hi0 { high } else { from(hi).min(high) };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn space() -> Space {
        let raw: Vec<(String, crate::search::space::RawParam)> = serde_json::from_value(json!([
            ["lr", {"loguniform": [1e-5, 1.0]}],
            ["units", {"int": [8, 512], "step": 8}],
            ["act", {"choice": ["relu", "tanh", "gelu"]}],
            ["dropout", {"uniform": [0.0, 0.5]}]
        ]))
        .unwrap();
        Space::from_raw(&raw, "space").unwrap()
    }

    fn config(lr: f64, units: i64, act: &str, dropout: f64) -> Config {
        serde_json::from_value(json!({"lr": lr, "units": units, "act": act, "dropout": dropout}))
            .unwrap()
    }

    #[test]
    fn ranges_shrink_to_the_best_trials_with_a_log_aware_margin() {
        let trials = vec![
            (config(1e-3, 64, "relu", 0.1), 0.2),
            (config(1e-2, 128, "gelu", 0.2), 0.1),
            (config(0.5, 16, "tanh", 0.45), 0.9),
            (config(1e-5, 500, "tanh", 0.0), 0.8),
        ];
        let best = top(&trials, 0.5);
        assert_eq!(best.len(), 2);
        let s = narrow(&space(), &best);
        let Dist::LogUniform { low, high } = s.params[0].dist else {
            panic!()
        };
        // ln-width of [1e-3, 1e-2] is ln 10; 10% of it on each side is a factor 10^0.1.
        assert!((low - 1e-3 / 10f64.powf(0.1)).abs() < 1e-12, "{low}");
        assert!((high - 1e-2 * 10f64.powf(0.1)).abs() < 1e-12, "{high}");
        assert_eq!(
            s.params[1].dist,
            Dist::Int {
                low: 56,
                high: 136,
                log: false,
                step: 8
            }
        );
        assert_eq!(
            s.params[2].dist,
            Dist::Choice(vec![json!("relu"), json!("gelu")])
        );
        let Dist::Uniform { low, high } = s.params[3].dist else {
            panic!()
        };
        assert!((low - 0.09).abs() < 1e-12 && (high - 0.21).abs() < 1e-12);
        // Everything the narrowed space holds, the original held.
        for c in &best {
            s.validate(c).unwrap();
        }
    }

    #[test]
    fn a_range_never_leaves_the_original_bounds() {
        let trials = vec![(config(1.0, 512, "relu", 0.5), 0.0)];
        let s = narrow(&space(), &top(&trials, 0.2));
        let Dist::LogUniform { high, .. } = s.params[0].dist else {
            panic!()
        };
        assert_eq!(high, 1.0);
        let Dist::Int { high, .. } = s.params[1].dist else {
            panic!()
        };
        assert_eq!(high, 512);
    }
}
