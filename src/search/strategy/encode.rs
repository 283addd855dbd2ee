//! Configurations ↔ points in the unit cube: the one coordinate system every strategy works in.
//!
//! A [`Point`] holds one coordinate per parameter of the space, in the space's order, whether
//! the parameter is active or not; decoding keeps only the active ones (conditions are
//! resolved in order, so a chain of conditions works). Strategies can therefore move, cross
//! and mutate points freely and still only ever propose valid configurations.
//!
//! - `uniform` maps linearly onto [0, 1]; `loguniform` and `int` with `log: true` map their
//!   logarithm linearly, so a uniform coordinate is a log-uniform value.
//! - `int` covers its levels `low, low+step, …, high` with cells of equal width (in log space
//!   when `log`), so a uniform coordinate gives every level the same probability (or the
//!   log-uniform one), and decoding rounds onto the level whose cell holds the coordinate.
//! - `choice` is a category index; the GP sees it one-hot (see [`Encoder::features`]).

use rand::Rng;
use serde_json::Value as Json;

use crate::search::space::{Config, Dist, Param, Space, Value};

/// One coordinate: a position in [0, 1] for numeric parameters, an index for choices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coord {
    Num(f64),
    Cat(usize),
}

/// A full point: one coordinate per parameter of the space.
pub type Point = Vec<Coord>;

/// How one parameter is encoded.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A numeric parameter; `levels` is the number of integer levels (None when continuous).
    Num { levels: Option<usize> },
    /// A choice among `n` options.
    Cat { n: usize },
}

/// A condition of one parameter, resolved to the index of the parameter it names.
#[derive(Debug, Clone)]
struct Cond {
    parent: usize,
    values: Vec<Value>,
}

/// The encoder for one space.
#[derive(Debug, Clone)]
pub struct Encoder {
    params: Vec<Param>,
    pub kinds: Vec<Kind>,
    conds: Vec<Vec<Cond>>,
}

impl Encoder {
    pub fn new(space: &Space) -> Self {
        let kinds = space
            .params
            .iter()
            .map(|p| match &p.dist {
                Dist::Choice(options) => Kind::Cat { n: options.len() },
                Dist::Int {
                    low, high, step, ..
                } => Kind::Num {
                    levels: Some(((high - low) / step + 1) as usize),
                },
                _ => Kind::Num { levels: None },
            })
            .collect();
        let conds = space
            .params
            .iter()
            .map(|p| {
                p.when
                    .iter()
                    .filter_map(|(name, values)| {
                        let parent = space.params.iter().position(|q| &q.name == name)?;
                        Some(Cond {
                            parent,
                            values: values.clone(),
                        })
                    })
                    .collect()
            })
            .collect();
        Encoder {
            params: space.params.clone(),
            kinds,
            conds,
        }
    }

    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Does any parameter of the space depend on another one?
    pub fn has_conditions(&self) -> bool {
        self.conds.iter().any(|c| !c.is_empty())
    }

    /// Which parameters are active at `point` (a condition naming an unknown parameter, which
    /// a validated space never has, counts as unmet).
    pub fn active(&self, point: &[Coord]) -> Vec<bool> {
        let mut active = vec![false; self.params.len()];
        for i in 0..self.params.len() {
            active[i] = self.conds[i].iter().all(|c| {
                c.parent < i
                    && active[c.parent]
                    && c.values.contains(&self.value(c.parent, point[c.parent]))
            }) && self.params[i].when.len() == self.conds[i].len();
        }
        active
    }

    /// The value parameter `i` takes at coordinate `c`.
    pub fn value(&self, i: usize, c: Coord) -> Value {
        match (&self.params[i].dist, c) {
            (Dist::Choice(options), Coord::Cat(k)) => options[k.min(options.len() - 1)].clone(),
            (Dist::Choice(options), Coord::Num(u)) => options
                [((u.clamp(0.0, 1.0) * options.len() as f64) as usize).min(options.len() - 1)]
            .clone(),
            (Dist::Uniform { low, high }, c) => {
                number((low + unit(c) * (high - low)).clamp(*low, *high))
            }
            (Dist::LogUniform { low, high }, c) => {
                let x = (low.ln() + unit(c) * (high.ln() - low.ln())).exp();
                number(x.clamp(*low, *high))
            }
            (
                Dist::Int {
                    low,
                    high,
                    log,
                    step,
                },
                c,
            ) => {
                let levels = (high - low) / step + 1;
                let level = if *log {
                    // Cells of equal width in log space around each integer: [k-½, k+½].
                    let (a, b) = ((*low as f64 - 0.5).ln(), (*high as f64 + 0.5).ln());
                    let x = (a + unit(c) * (b - a)).exp().round() as i64;
                    (x.clamp(*low, *high) - low) / step
                } else {
                    ((unit(c) * levels as f64) as i64).min(levels - 1)
                };
                Json::from(low + level.clamp(0, levels - 1) * step)
            }
        }
    }

    /// The coordinate of value `v` of parameter `i` (the centre of its cell for ints); None
    /// when `v` is not a value the parameter can take.
    pub fn coord(&self, i: usize, v: &Value) -> Option<Coord> {
        let p = &self.params[i];
        if !p.dist.contains(v) {
            return None;
        }
        Some(match &p.dist {
            Dist::Choice(options) => Coord::Cat(options.iter().position(|o| o == v)?),
            Dist::Uniform { low, high } => Coord::Num((v.as_f64()? - low) / (high - low)),
            Dist::LogUniform { low, high } => {
                Coord::Num((v.as_f64()?.ln() - low.ln()) / (high.ln() - low.ln()))
            }
            Dist::Int {
                low,
                high,
                log,
                step,
            } => {
                let x = v.as_i64()?;
                if *log {
                    let (a, b) = ((*low as f64 - 0.5).ln(), (*high as f64 + 0.5).ln());
                    Coord::Num(((x as f64).ln() - a) / (b - a))
                } else {
                    let levels = ((high - low) / step + 1) as f64;
                    Coord::Num((((x - low) / step) as f64 + 0.5) / levels)
                }
            }
        })
    }

    /// The configuration at `point`: the active parameters only.
    pub fn decode(&self, point: &[Coord]) -> Config {
        let active = self.active(point);
        let mut config = Config::new();
        for (i, p) in self.params.iter().enumerate() {
            if active[i] {
                config.insert(p.name.clone(), self.value(i, point[i]));
            }
        }
        config
    }

    /// The point of a configuration, with `None` for the parameters it does not set (inactive,
    /// or out of range in a configuration recorded under an older space).
    pub fn encode(&self, config: &Config) -> Vec<Option<Coord>> {
        self.params
            .iter()
            .enumerate()
            .map(|(i, p)| config.get(&p.name).and_then(|v| self.coord(i, v)))
            .collect()
    }

    /// A uniformly random coordinate for parameter `i`.
    pub fn random_coord(&self, i: usize, rng: &mut impl Rng) -> Coord {
        match self.kinds[i] {
            Kind::Cat { n } => Coord::Cat(rng.random_range(0..n)),
            Kind::Num { .. } => Coord::Num(rng.random::<f64>()),
        }
    }

    /// A uniformly random point.
    pub fn random_point(&self, rng: &mut impl Rng) -> Point {
        (0..self.len()).map(|i| self.random_coord(i, rng)).collect()
    }

    /// Complete a partial point with random coordinates where it has none.
    pub fn fill(&self, partial: &[Option<Coord>], rng: &mut impl Rng) -> Point {
        partial
            .iter()
            .enumerate()
            .map(|(i, c)| c.unwrap_or_else(|| self.random_coord(i, rng)))
            .collect()
    }

    /// The point from unit-cube coordinates `u` (one per parameter): choices take the cell of
    /// `u` among their options.
    pub fn from_unit(&self, u: &[f64]) -> Point {
        self.kinds
            .iter()
            .zip(u)
            .map(|(k, &x)| match k {
                Kind::Cat { n } => {
                    Coord::Cat(((x.clamp(0.0, 1.0) * *n as f64) as usize).min(n - 1))
                }
                Kind::Num { .. } => Coord::Num(x.clamp(0.0, 1.0)),
            })
            .collect()
    }

    /// Move every numeric coordinate onto the value it decodes to (ints onto their cell's
    /// centre), so that points proposing the same configuration coincide.
    pub fn snap(&self, point: &[Coord]) -> Point {
        point
            .iter()
            .enumerate()
            .map(|(i, &c)| match c {
                Coord::Num(_) => self.coord(i, &self.value(i, c)).unwrap_or(c),
                Coord::Cat(_) => c,
            })
            .collect()
    }

    /// How many GP features the space has: one per numeric parameter, one per option of a
    /// choice (one-hot).
    pub fn n_features(&self) -> usize {
        self.kinds
            .iter()
            .map(|k| match k {
                Kind::Num { .. } => 1,
                Kind::Cat { n } => *n,
            })
            .sum()
    }

    /// For each GP feature, the parameter it belongs to (that parameter's length scale).
    pub fn feature_groups(&self) -> Vec<usize> {
        let mut groups = Vec::new();
        for (i, k) in self.kinds.iter().enumerate() {
            match k {
                Kind::Num { .. } => groups.push(i),
                Kind::Cat { n } => groups.extend(std::iter::repeat_n(i, *n)),
            }
        }
        groups
    }

    /// The GP's view of a point: numeric coordinates snapped onto their value, choices
    /// one-hot. An inactive parameter is masked: 0.5 for a numeric one (the middle, so that it
    /// adds no spurious distance in its own dimension beyond what its parent's dimensions
    /// already say), all zeros for a choice.
    pub fn features(&self, point: &[Coord]) -> Vec<f64> {
        let active = self.active(point);
        self.features_masked(&self.snap(point), &active)
    }

    /// Features of a (partial) observed point: missing coordinates are inactive.
    pub fn features_of(&self, partial: &[Option<Coord>]) -> Vec<f64> {
        let active: Vec<bool> = partial.iter().map(Option::is_some).collect();
        let point: Point = partial
            .iter()
            .map(|c| c.unwrap_or(Coord::Num(0.5)))
            .collect();
        self.features_masked(&point, &active)
    }

    fn features_masked(&self, point: &[Coord], active: &[bool]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.n_features());
        for (i, k) in self.kinds.iter().enumerate() {
            match (k, point[i]) {
                (Kind::Num { .. }, c) => out.push(if active[i] { unit(c) } else { 0.5 }),
                (Kind::Cat { n }, c) => {
                    let hot = match c {
                        Coord::Cat(j) => j,
                        Coord::Num(u) => ((u * *n as f64) as usize).min(n - 1),
                    };
                    out.extend((0..*n).map(|j| if active[i] && j == hot { 1.0 } else { 0.0 }));
                }
            }
        }
        out
    }
}

fn unit(c: Coord) -> f64 {
    match c {
        Coord::Num(u) => u.clamp(0.0, 1.0),
        Coord::Cat(k) => k as f64,
    }
}

/// A finite float as JSON (a float is always finite here: ranges are checked finite).
fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::strategy::testing::{cond_space, mixed_space};
    use rand::SeedableRng;

    #[test]
    fn values_round_trip_through_coordinates() {
        let space = mixed_space();
        let enc = Encoder::new(&space);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..500 {
            let p = enc.random_point(&mut rng);
            let c = enc.decode(&p);
            assert_eq!(space.validate(&c), Ok(()), "{c:?}");
            let back = enc.fill(&enc.encode(&c), &mut rng);
            assert_eq!(enc.decode(&back), c);
        }
    }

    #[test]
    fn int_levels_are_equally_likely() {
        let space = crate::search::strategy::testing::space_of(&[("k", "{int: [0, 9], step: 3}")]);
        let enc = Encoder::new(&space);
        let mut counts = [0usize; 4];
        for j in 0..4000 {
            let u = (j as f64 + 0.5) / 4000.0;
            let v = enc.value(0, Coord::Num(u)).as_i64().unwrap();
            counts[(v / 3) as usize] += 1;
        }
        assert_eq!(counts, [1000; 4]);
    }

    #[test]
    fn inactive_parameters_are_masked_in_features() {
        let space = cond_space();
        let enc = Encoder::new(&space);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for _ in 0..200 {
            let p = enc.random_point(&mut rng);
            let c = enc.decode(&p);
            let f1 = enc.features(&p);
            let f2 = enc.features_of(&enc.encode(&c));
            assert_eq!(f1.len(), enc.n_features());
            for (a, b) in f1.iter().zip(&f2) {
                assert!((a - b).abs() < 1e-9, "{f1:?} vs {f2:?} for {c:?}");
            }
        }
    }
}
