//! Strategies that propose configurations: grid, random, bayes (GP), tpe, evolution.
//!
//! Every strategy is a [`Sampler`]: a pure function of its options, the seed, the space, the
//! observations, the pending configurations and the proposal index. The pieces they share
//! live here: which observations a model learns from ([`history`]), duplicate avoidance
//! ([`Seen`]) and the space-filling start ([`initial_point`]).

pub mod acquire;
pub mod bayes;
pub mod bench;
pub mod encode;
pub mod evolution;
pub mod gp;
pub mod gpcache;
pub mod grid;
pub mod lbfgs;
pub mod linalg;
pub mod normal;
pub mod parzen;
pub mod posterior;
pub mod random;
pub mod sobol;
pub mod tpe;
pub mod warp;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use crate::search::options::TpeOptions;
use crate::search::space::Value;
use crate::search::{Config, Observation, Sampler, Space, Strategy};

pub use grid::grid_size;

/// The sampler for a strategy. Multi-fidelity kinds get the sampler their scheduler draws new
/// configurations from: TPE for `bohb` (its model), random for the others.
pub fn sampler(strategy: &Strategy, seed: u64) -> Box<dyn Sampler> {
    match strategy {
        Strategy::Grid(o) => Box::new(grid::Grid::new(o.steps)),
        Strategy::Random(o) => Box::new(random::Random::new(o.sobol, seed)),
        Strategy::Tpe(o) => Box::new(tpe::Tpe::new(o, seed)),
        // BOHB decides itself when a budget has enough observations for the model
        // (`initial`, default d + 2): TPE's own Sobol start would hide the model until 10.
        Strategy::Bohb(b) => Box::new(tpe::Tpe::new(
            &TpeOptions {
                initial: 2,
                gamma: b.gamma,
                candidates: b.candidates,
                batch: b.rungs.batch,
                median_stopping: false,
            },
            seed,
        )),
        Strategy::Bayes(o) => Box::new(bayes::Bayes::new(o, seed)),
        Strategy::Evolution(o) => Box::new(evolution::Evolution::new(o, seed)),
        // Their new configurations are uniform draws: part of the algorithm, not an option.
        Strategy::Sha(_) | Strategy::Hyperband(_) | Strategy::Asha(_) | Strategy::Pbt(_) => {
            Box::new(random::Random::new(false, seed))
        }
    }
}

/// The observations a model learns from, one per trial.
///
/// With a single budget (plain search) that is every trial at its value. With several
/// budgets (multi-fidelity), values at different budgets are not comparable, so, as BOHB
/// does, the model uses the largest budget at which at least `min_points` trials were
/// measured, each trial at that budget; when no budget has that many, each trial at the
/// largest budget it reached. A failed trial (`value: None`) is kept: strategies treat it as
/// bad, never as unknown.
pub fn history(observed: &[Observation], min_points: usize) -> Vec<&Observation> {
    // The common case, one record per trial in trial order at one budget, is its own answer;
    // checking for it is one pass, where the maps below cost a tree insertion per record.
    let one_budget = observed.windows(2).all(|w| w[0].epochs == w[1].epochs);
    if one_budget && observed.windows(2).all(|w| w[0].trial < w[1].trial) {
        return observed.iter().collect();
    }
    let mut per_budget: BTreeMap<u32, BTreeMap<usize, &Observation>> = BTreeMap::new();
    let mut latest: BTreeMap<usize, &Observation> = BTreeMap::new();
    for o in observed {
        // A later record of the same trial at the same budget replaces the earlier one.
        per_budget.entry(o.epochs).or_default().insert(o.trial, o);
        let keep = latest.get(&o.trial).is_some_and(|l| l.epochs > o.epochs);
        if !keep {
            latest.insert(o.trial, o);
        }
    }
    if per_budget.len() > 1
        && let Some((_, trials)) = per_budget
            .iter()
            .rev()
            .find(|(_, t)| t.len() >= min_points.max(1))
    {
        return trials.values().copied().collect();
    }
    latest.into_values().collect()
}

/// Configurations already observed or pending, so that a strategy does not propose one of
/// them again. Built on every proposal from all observations, so it must be cheap: a
/// structural 64-bit hash of the configuration (no JSON, no sha256; that was most of TPE's
/// proposing time) picks a bucket, and equality within the bucket makes the answer exact.
/// Two configurations are the same here exactly when their canonical JSON (`config_hash`)
/// is: serde_json's `Value` equality distinguishes the same things its serialisation does.
///
/// A sampler asked again and again by one search can keep the observed part and add only the
/// new observations ([`Seen::over`]): the set is the same, so are the answers.
#[derive(Default)]
pub struct Seen<'a> {
    own: HashMap<u64, Vec<Cow<'a, Config>>>,
    /// Configurations seen before, kept by the caller between proposals.
    base: Option<&'a Seen<'a>>,
}

impl<'a> Seen<'a> {
    pub fn new(observed: &'a [Observation], pending: &'a [Config]) -> Self {
        let mut seen = Seen {
            own: HashMap::with_capacity(observed.len() + pending.len()),
            base: None,
        };
        for c in observed.iter().map(|o| &o.config).chain(pending) {
            seen.add(Cow::Borrowed(c));
        }
        seen
    }

    /// `base` and the pending configurations: what `new` makes of the observations `base`
    /// holds and `pending`.
    pub fn over(base: &'a Seen<'a>, pending: &'a [Config]) -> Self {
        let mut seen = Seen {
            own: HashMap::with_capacity(pending.len()),
            base: Some(base),
        };
        for c in pending {
            seen.add(Cow::Borrowed(c));
        }
        seen
    }

    fn add(&mut self, config: Cow<'a, Config>) {
        let bucket = self.own.entry(structural_hash(&config)).or_default();
        if !bucket.iter().any(|c| **c == *config) {
            bucket.push(config);
        }
    }

    pub fn contains(&self, config: &Config) -> bool {
        let hash = structural_hash(config);
        self.own
            .get(&hash)
            .is_some_and(|b| b.iter().any(|c| **c == *config))
            || self.base.is_some_and(|b| b.contains(config))
    }

    /// Remember a configuration (a strategy proposing several at once).
    pub fn insert(&mut self, config: &Config) {
        self.add(Cow::Owned(config.clone()));
    }
}

/// A multiply-rotate hasher (the Fx hash of rustc): fixed, so deterministic, and several times
/// cheaper than SipHash on these short keys. Only bucket choice depends on it, never an answer.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A deterministic hash of a configuration's structure.
fn structural_hash(config: &Config) -> u64 {
    fn value(v: &Value, h: &mut Fx) {
        match v {
            Value::Null => 0u8.hash(h),
            Value::Bool(b) => (1u8, b).hash(h),
            Value::Number(n) => {
                2u8.hash(h);
                if let Some(i) = n.as_i64() {
                    (0u8, i).hash(h)
                } else if let Some(u) = n.as_u64() {
                    (1u8, u).hash(h)
                } else {
                    (2u8, n.as_f64().map(f64::to_bits)).hash(h)
                }
            }
            Value::String(s) => (3u8, s).hash(h),
            Value::Array(a) => {
                (4u8, a.len()).hash(h);
                a.iter().for_each(|x| value(x, h));
            }
            Value::Object(o) => {
                (5u8, o.len()).hash(h);
                for (k, x) in o {
                    k.hash(h);
                    value(x, h);
                }
            }
        }
    }
    let mut h = Fx::default();
    for (k, v) in config {
        k.hash(&mut h);
        value(v, &mut h);
    }
    h.finish()
}

/// How many fresh draws a strategy makes to avoid a duplicate before it gives up and proposes
/// the duplicate (a small discrete space can be exhausted).
pub const RETRIES: u64 = 64;

/// Point `index` of the seeded, scrambled Sobol sequence over the whole space, or a random
/// point when that one was already tried: the space-filling start shared by random (with
/// `sobol: true`), bayes, tpe and evolution.
pub fn initial_point(space: &Space, seed: u64, index: usize, seen: &Seen) -> Config {
    let enc = encode::Encoder::new(space);
    let mut rng = crate::search::rng_for(seed, "sobol-scramble", 0);
    let sobol = sobol::Sobol::new(enc.len(), &mut rng);
    let mut extra = crate::search::rng_for(seed, "sobol-extra", index as u64);
    let config = enc.decode(&enc.from_unit(&sobol.point(index as u64, &mut extra)));
    if !seen.contains(&config) {
        return config;
    }
    random::fresh(&enc, seed, "sobol-retry", index, seen)
}
