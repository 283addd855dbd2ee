//! Hyperparameter importance by fANOVA: a seeded random forest fitted to the trials' metric,
//! its variance decomposed into main effects and pairwise interactions. Parameters are seen in
//! the space's own scale (log ranges in log space, choices as equal cells), and a conditional
//! parameter that is inactive takes a value of its own (an extra cell), so trials that lack it
//! still count. `encode` says how; `analyse` does the rest; `common_budget` picks the trials of
//! a multi-fidelity search.

pub mod fanova;
pub mod forest;
pub mod job;

use serde::Serialize;

use crate::search::space::{Config, Dist, Param, Space, Value};

/// How a parameter's values are placed on its axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    Linear,
    Log,
    Choice,
}

/// A parameter as a feature of the forest: its axis and the domain it is uniform over.
#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    pub name: String,
    pub scale: Scale,
    pub low: f64,
    pub high: f64,
    /// Where trials in which the parameter is inactive sit (outside the active range).
    pub inactive: Option<f64>,
}

impl Feature {
    pub fn of(p: &Param) -> Feature {
        let (scale, low, high) = match &p.dist {
            Dist::Uniform { low, high } => (Scale::Linear, *low, *high),
            Dist::LogUniform { low, high } => (Scale::Log, low.ln(), high.ln()),
            // Every integer owns the half step either side of it.
            Dist::Int {
                low,
                high,
                log: false,
                step,
            } => {
                let h = *step as f64 / 2.0;
                (Scale::Linear, *low as f64 - h, *high as f64 + h)
            }
            Dist::Int {
                low,
                high,
                log: true,
                ..
            } => (
                Scale::Log,
                (*low as f64 - 0.5).ln(),
                (*high as f64 + 0.5).ln(),
            ),
            Dist::Choice(options) => (Scale::Choice, -0.5, options.len() as f64 - 0.5),
        };
        let mut f = Feature {
            name: p.name.clone(),
            scale,
            low,
            high,
            inactive: None,
        };
        if !p.when.is_empty() {
            // Inactive gets a region as wide as the active one (one more cell for a choice).
            if scale == Scale::Choice {
                f.inactive = Some(high + 0.5);
                f.high += 1.0;
            } else {
                let w = high - low;
                f.inactive = Some(low - w / 2.0);
                f.low -= w;
            }
        }
        f
    }

    /// The coordinate of a value (`None`: the parameter is inactive), or `None` when the value
    /// is not one this parameter can take.
    pub fn coordinate(&self, dist: &Dist, v: Option<&Value>) -> Option<f64> {
        let Some(v) = v else {
            return self.inactive;
        };
        match dist {
            Dist::Choice(options) => options
                .iter()
                .position(|o| o == v || (o.as_f64().is_some() && o.as_f64() == v.as_f64()))
                .map(|i| i as f64),
            _ => {
                let x = v.as_f64()?;
                match self.scale {
                    Scale::Log if x > 0.0 => Some(x.ln()),
                    Scale::Log => None,
                    _ => Some(x),
                }
            }
        }
    }
}

/// One trial's configuration and metric value.
#[derive(Debug, Clone)]
pub struct Observation {
    pub trial: usize,
    pub config: Config,
    pub value: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub trees: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { trees: 64, seed: 0 }
    }
}

/// A share of the forest's variance: the mean over trees and its spread.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub fraction: f64,
    pub std: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamImportance {
    pub name: String,
    pub scale: Scale,
    #[serde(flatten)]
    pub share: Share,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairImportance {
    pub params: [String; 2],
    #[serde(flatten)]
    pub share: Share,
}

#[derive(Debug, Clone, Serialize)]
pub struct Importance {
    /// The trials the forest was fitted to.
    pub trials: usize,
    /// When there were more than `MAX_TRIALS` with a value: how many, of which `trials`
    /// were drawn (seeded) for the forest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampled_from: Option<usize>,
    /// Trees with any variance (the shares are averaged over these).
    pub trees: usize,
    /// Main effects, largest first.
    pub params: Vec<ParamImportance>,
    /// Interactions beyond the main effects, largest first.
    pub pairs: Vec<PairImportance>,
}

fn share(fractions: &[f64]) -> Share {
    let n = fractions.len().max(1) as f64;
    let mean = fractions.iter().sum::<f64>() / n;
    let var = fractions.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / n;
    Share {
        fraction: mean,
        std: var.sqrt(),
    }
}

/// The observations as rows of coordinates with their values; those that do not fit the
/// space or have no finite value are left out (their trial numbers are returned).
pub type Encoded = (Vec<Feature>, Vec<(Vec<f64>, f64)>, Vec<usize>);

pub fn encode(space: &Space, obs: &[Observation]) -> Encoded {
    let features: Vec<Feature> = space.params.iter().map(Feature::of).collect();
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for o in obs {
        let row: Option<Vec<f64>> = space
            .params
            .iter()
            .zip(&features)
            .map(|(p, f)| f.coordinate(&p.dist, o.config.get(&p.name)))
            .collect();
        match row {
            Some(r) if o.value.is_finite() => rows.push((r, o.value)),
            _ => skipped.push(o.trial),
        }
    }
    (features, rows, skipped)
}

/// At most this many trials go into the forest. A tree has up to one leaf per trial and a
/// pair's marginal one cell per pair of thresholds, so the cost grows with the square of the
/// trials; a random draw of 2,000 ranks parameters as well as 100,000 do, in a second.
pub const MAX_TRIALS: usize = 2000;

/// Which `MAX_TRIALS` of `n` rows go into the forest: a seeded draw, in row order.
pub fn draw(seed: u64, n: usize) -> Vec<usize> {
    let mut rng = crate::search::rng_for(seed, "importance-sample", 0);
    let mut keep = rand::seq::index::sample(&mut rng, n, MAX_TRIALS.min(n)).into_vec();
    keep.sort_unstable();
    keep
}

/// fANOVA of `obs` over `space`: a forest of `opts.trees` trees, each tree's variance split
/// into main effects and pairwise interactions, averaged over the trees.
pub fn analyse(space: &Space, obs: &[Observation], opts: Options) -> Result<Importance, String> {
    let (features, mut rows, _) = encode(space, obs);
    let sampled_from = (rows.len() > MAX_TRIALS).then_some(rows.len());
    if rows.len() > MAX_TRIALS {
        rows = draw(opts.seed, rows.len())
            .into_iter()
            .map(|i| rows[i].clone())
            .collect();
    }
    let (x, y): (Vec<Vec<f64>>, Vec<f64>) = rows.into_iter().unzip();
    if features.is_empty() {
        return Err("the search space is empty: nothing to rank".into());
    }
    if x.len() < 2 {
        return Err(format!(
            "fANOVA needs at least 2 trials with a value, got {}",
            x.len()
        ));
    }
    let domain: Vec<(f64, f64)> = features.iter().map(|f| (f.low, f.high)).collect();
    let forest = forest::fit_forest(&x, &y, opts.trees, Default::default(), |t| {
        crate::search::rng_for(opts.seed, "importance", t as u64)
    });
    let parts: Vec<fanova::TreeVariance> = forest
        .iter()
        .map(|t| fanova::decompose(t, &domain))
        .filter(|v| v.total > 0.0)
        .collect();
    if parts.is_empty() {
        return Err(format!(
            "the metric is the same in all {} trials: there is no variance to explain",
            x.len()
        ));
    }
    let mut params: Vec<ParamImportance> = features
        .iter()
        .enumerate()
        .map(|(i, f)| ParamImportance {
            name: f.name.clone(),
            scale: f.scale,
            share: share(
                &parts
                    .iter()
                    .map(|v| v.main[i] / v.total)
                    .collect::<Vec<_>>(),
            ),
        })
        .collect();
    let mut pairs: Vec<PairImportance> = fanova::pairs(features.len())
        .into_iter()
        .enumerate()
        .map(|(k, (i, j))| PairImportance {
            params: [features[i].name.clone(), features[j].name.clone()],
            share: share(
                &parts
                    .iter()
                    .map(|v| v.pairs[k] / v.total)
                    .collect::<Vec<_>>(),
            ),
        })
        .collect();
    params.sort_by(|a, b| b.share.fraction.total_cmp(&a.share.fraction));
    pairs.sort_by(|a, b| b.share.fraction.total_cmp(&a.share.fraction));
    Ok(Importance {
        trials: x.len(),
        sampled_from,
        trees: parts.len(),
        params,
        pairs,
    })
}

/// The budget (epoch) to compare trials at: the largest one at which at least `enough` trials
/// have a value, or, when none has that many, the one most trials reached (the larger on a
/// tie). `curves` holds each trial's (epoch, value) pairs. Returns the budget and the values.
pub fn common_budget(
    curves: &[(usize, Vec<(u32, f64)>)],
    enough: usize,
) -> Option<(u32, Vec<(usize, f64)>)> {
    let mut counts: std::collections::BTreeMap<u32, usize> = Default::default();
    for (_, c) in curves {
        for (e, v) in c {
            if v.is_finite() {
                *counts.entry(*e).or_default() += 1;
            }
        }
    }
    let budget = counts
        .iter()
        .rev()
        .find(|(_, n)| **n >= enough)
        .or_else(|| counts.iter().max_by_key(|(_, n)| **n))
        .map(|(b, _)| *b)?;
    let values = curves
        .iter()
        .filter_map(|(t, c)| {
            c.iter()
                .find(|(e, v)| *e == budget && v.is_finite())
                .map(|(_, v)| (*t, *v))
        })
        .collect();
    Some((budget, values))
}

#[cfg(test)]
mod tests;
