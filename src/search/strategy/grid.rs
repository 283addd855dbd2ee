//! Grid search: every combination of every parameter's grid values, in a fixed order.
//!
//! Grid values: a choice's options in the order listed; an `int` range's levels `low,
//! low+step, …` up to `high` (a log int enumerates all its integers); a `uniform` range
//! `steps` evenly spaced values from low to high inclusive, a `loguniform` one `steps` values
//! evenly spaced in log space. A parameter's own `steps` overrides the strategy's.
//!
//! Order: like nested loops in the order the space lists its parameters, the first parameter
//! the outermost loop (it changes slowest) and the last the innermost. An inactive parameter
//! is not a loop at all, so conditional spaces enumerate each active combination once.
//! Proposal `index` is combination `index` of that order (observations are not consulted);
//! past the last one the grid proposes nothing.

use crate::search::space::{Config, Dist, Param, Value};
use crate::search::{Observation, Proposal, Sampler, Space};

pub struct Grid {
    steps: Option<usize>,
}

impl Grid {
    /// `steps`: the strategy's points per continuous range (a parameter's own come first).
    pub fn new(steps: Option<usize>) -> Self {
        Grid { steps }
    }
}

/// The number of combinations, or why the space has no grid (a continuous range without
/// `steps`, or more combinations than a `usize` holds).
pub fn grid_size(space: &Space, steps: Option<usize>) -> Result<usize, String> {
    Table::new(space, steps)?.count(0, &mut Config::new())
}

/// The grid values of one parameter.
pub fn values(p: &Param, steps: Option<usize>) -> Result<Vec<Value>, String> {
    let need_steps = || {
        p.steps.or(steps).filter(|&n| n >= 2).ok_or_else(|| {
            format!(
                "{}: a grid needs `steps` (at least 2) for a continuous range; set it on the \
                 strategy or on the parameter",
                p.name
            )
        })
    };
    let spaced = |n: usize, low: f64, high: f64, f: &dyn Fn(f64) -> f64| -> Vec<Value> {
        (0..n)
            .map(|k| {
                // Exact end points: a rounding error must not push `high` out of range.
                let x = match k {
                    0 => low,
                    k if k == n - 1 => high,
                    k => f(k as f64 / (n - 1) as f64).clamp(low, high),
                };
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            })
            .collect()
    };
    Ok(match &p.dist {
        Dist::Choice(options) => options.clone(),
        Dist::Int {
            low, high, step, ..
        } => (0..=(high - low) / step)
            .map(|k| Value::from(low + k * step))
            .collect(),
        Dist::Uniform { low, high } => {
            spaced(need_steps()?, *low, *high, &|t| low + t * (high - low))
        }
        Dist::LogUniform { low, high } => spaced(need_steps()?, *low, *high, &|t| {
            (low.ln() + t * (high.ln() - low.ln())).exp()
        }),
    })
}

/// Every parameter's grid values, and which parameters a condition refers to (only those
/// change the shape of what follows them).
struct Table<'a> {
    space: &'a Space,
    values: Vec<Vec<Value>>,
    referenced: Vec<bool>,
}

impl<'a> Table<'a> {
    fn new(space: &'a Space, steps: Option<usize>) -> Result<Self, String> {
        let values = space
            .params
            .iter()
            .map(|p| values(p, steps))
            .collect::<Result<Vec<_>, _>>()?;
        let referenced = space
            .params
            .iter()
            .map(|p| space.params.iter().any(|q| q.when.contains_key(&p.name)))
            .collect();
        Ok(Table {
            space,
            values,
            referenced,
        })
    }

    /// Combinations of parameters `i..` given the values chosen before them. A parameter no
    /// condition refers to multiplies (its value cannot change what follows), so the work is
    /// exponential only in the number of parameters that conditions name.
    fn count(&self, i: usize, prefix: &mut Config) -> Result<usize, String> {
        let Some(p) = self.space.params.get(i) else {
            return Ok(1);
        };
        if !self.space.is_active(p, prefix) {
            return self.count(i + 1, prefix);
        }
        let overflow = || "the grid has more combinations than can be counted".to_string();
        if !self.referenced[i] {
            return self.values[i]
                .len()
                .checked_mul(self.count(i + 1, prefix)?)
                .ok_or_else(overflow);
        }
        let mut total: usize = 0;
        for v in &self.values[i] {
            prefix.insert(p.name.clone(), v.clone());
            let c = self.count(i + 1, prefix);
            prefix.remove(&p.name);
            total = total.checked_add(c?).ok_or_else(overflow)?;
        }
        Ok(total)
    }

    /// Fill `prefix` with combination `index` of parameters `i..` (index < count(i, prefix)).
    fn nth(&self, i: usize, mut index: usize, prefix: &mut Config) -> Result<(), String> {
        let Some(p) = self.space.params.get(i) else {
            return Ok(());
        };
        if !self.space.is_active(p, prefix) {
            return self.nth(i + 1, index, prefix);
        }
        if !self.referenced[i] {
            let rest = self.count(i + 1, prefix)?;
            prefix.insert(p.name.clone(), self.values[i][index / rest].clone());
            return self.nth(i + 1, index % rest, prefix);
        }
        for v in &self.values[i] {
            prefix.insert(p.name.clone(), v.clone());
            let c = self.count(i + 1, prefix)?;
            if index < c {
                return self.nth(i + 1, index, prefix);
            }
            index -= c;
        }
        Err("grid index out of range".into())
    }
}

impl Sampler for Grid {
    /// A space without a grid proposes nothing; the search stage checks [`grid_size`] first
    /// and reports why.
    fn propose(
        &self,
        space: &Space,
        _: &[Observation],
        _: &[Config],
        index: usize,
    ) -> Option<Proposal> {
        let table = Table::new(space, self.steps).ok()?;
        let size = table.count(0, &mut Config::new()).ok()?;
        if index >= size {
            return None;
        }
        let mut config = Config::new();
        table.nth(0, index, &mut config).ok()?;
        Some(Proposal {
            config,
            reason: format!("grid point {} of {size}", index + 1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::space::config_hash;
    use crate::search::strategy::testing::{cond_space, space_of};
    use std::collections::HashSet;

    fn all(space: &Space, steps: Option<usize>) -> Vec<Config> {
        let g = Grid::new(steps);
        (0..)
            .map_while(|i| g.propose(space, &[], &[], i).map(|p| p.config))
            .collect()
    }

    #[test]
    fn sizes_on_a_table_of_spaces() {
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            Option<usize>,
            Result<usize, &'a str>,
        );
        let cases: &[Case] = &[
            (&[("a", "{choice: [1, 2, 3]}")], None, Ok(3)),
            (
                &[("a", "{int: [1, 10], step: 3}"), ("b", "{choice: [x, y]}")],
                None,
                Ok(8),
            ),
            (&[("a", "{int: [32, 512], log: true}")], None, Ok(481)),
            (&[("a", "{uniform: [0, 1]}")], Some(5), Ok(5)),
            (
                &[
                    ("a", "{uniform: [0, 1], steps: 3}"),
                    ("b", "{loguniform: [1, 100]}"),
                ],
                Some(4),
                Ok(12),
            ),
            (
                &[("a", "{uniform: [0, 1]}")],
                None,
                Err("a: a grid needs `steps`"),
            ),
            (
                &[
                    ("b", "{choice: [1]}"),
                    ("a", "{loguniform: [1, 2], when: {b: [1]}}"),
                ],
                None,
                Err("a: "),
            ),
            (
                &[
                    ("o", "{choice: [adam, sgd]}"),
                    ("m", "{uniform: [0, 1], steps: 3, when: {o: [sgd]}}"),
                ],
                None,
                Ok(1 + 3),
            ),
            (
                &[
                    ("o", "{choice: [adam, sgd, rms]}"),
                    ("n", "{choice: [true, false], when: {o: [sgd]}}"),
                    ("d", "{int: [0, 2], when: {n: [false]}}"),
                    ("w", "{int: [1, 2]}"),
                ],
                None,
                // adam, rms: 1 each; sgd: nesterov true (1) or false (3 dampening values).
                Ok((1 + 1 + (1 + 3)) * 2),
            ),
        ];
        for (entries, steps, want) in cases {
            let space = space_of(entries);
            let got = grid_size(&space, *steps);
            match want {
                Ok(n) => {
                    assert_eq!(got, Ok(*n), "{entries:?}");
                    let configs = all(&space, *steps);
                    assert_eq!(configs.len(), *n);
                    let distinct: HashSet<String> = configs.iter().map(config_hash).collect();
                    assert_eq!(distinct.len(), *n, "duplicates in {entries:?}");
                    for c in &configs {
                        assert_eq!(space.validate(c), Ok(()));
                    }
                }
                Err(prefix) => {
                    let e = got.expect_err("no grid");
                    assert!(e.starts_with(prefix), "{e}");
                }
            }
        }
    }

    #[test]
    fn enumeration_order_is_nested_loops_in_listing_order() {
        let space = space_of(&[
            ("a", "{choice: [p, q]}"),
            ("b", "{uniform: [0, 1]}"),
            ("c", "{int: [1, 2]}"),
        ]);
        let got: Vec<String> = all(&space, Some(3))
            .iter()
            .map(|c| format!("{}{}{}", c["a"].as_str().unwrap(), c["b"], c["c"]))
            .collect();
        let want: Vec<String> = ["p", "q"]
            .iter()
            .flat_map(|a| ["0.0", "0.5", "1.0"].map(move |b| (a, b)))
            .flat_map(|(a, b)| [1, 2].map(move |c| format!("{a}{b}{c}")))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn log_ranges_are_spaced_geometrically_with_exact_ends() {
        let space = space_of(&[("lr", "{loguniform: [1.0e-4, 1.0e-1]}")]);
        let got: Vec<f64> = all(&space, Some(4))
            .iter()
            .map(|c| c["lr"].as_f64().unwrap())
            .collect();
        assert_eq!(got[0], 1e-4);
        assert_eq!(got[3], 1e-1);
        assert!(
            (got[1] - 1e-3).abs() < 1e-12 && (got[2] - 1e-2).abs() < 1e-12,
            "{got:?}"
        );
    }

    #[test]
    fn conditional_grid_has_only_active_parameters() {
        let space = cond_space();
        let configs = all(&space, Some(2));
        assert_eq!(configs.len(), grid_size(&space, Some(2)).unwrap());
        assert!(configs.iter().all(|c| space.validate(c).is_ok()));
        assert!(configs.iter().any(|c| c.contains_key("dampening")));
        assert!(
            configs
                .iter()
                .all(|c| !c.contains_key("momentum") || c["optimizer"] != "adam")
        );
    }
}
