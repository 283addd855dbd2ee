//! A generational genetic algorithm over unit-cube points: tournament selection, uniform
//! crossover, mutation, elitism.
//!
//! Proposal `index` belongs to generation `index / population` (slot `index % population`).
//! Generation 0 is the space-filling Sobol start. Generation g is bred from the observations
//! of generation g−1, recognised by their trial number (trial numbers must be the proposal
//! indices, as the search stage assigns them), plus the `elitism` best trials seen so far,
//! which join every parent pool so the best configuration never drops out. Elites are not
//! re-proposed: their value is already known and a duplicate would waste a trial. When
//! generation g−1 has no observation yet (its trials are still running), the parents are
//! drawn from every observation.
//!
//! Defaults: `population: 20`, `tournament: 3` (best of 3 drawn with replacement),
//! `crossover_rate: 0.9` (otherwise the child copies its first parent), `mutation_rate: 0.2`
//! (per parameter: a normal step of sd 0.1 in unit space, reflected at the ends, for numbers;
//! a fresh uniform option for choices), `elitism: 1`, `generations` unlimited (with it,
//! nothing is proposed from generation `generations` on). Failed trials lose every
//! tournament against trials with a value.

use std::cmp::Ordering;

use rand::Rng;

use crate::search::options::EvolutionOptions;
use crate::search::space::Config;
use crate::search::strategy::encode::{Coord, Encoder, Point};
use crate::search::strategy::{RETRIES, Seen, history, initial_point, normal, random};
use crate::search::{Observation, Proposal, Sampler, Space, rng_for};

/// The standard deviation of a numeric mutation, in unit-cube coordinates.
const MUTATION_SD: f64 = 0.1;

pub struct Evolution {
    seed: u64,
    population: usize,
    generations: Option<usize>,
    tournament: usize,
    crossover_rate: f64,
    mutation_rate: f64,
    elitism: usize,
}

impl Evolution {
    pub fn new(o: &EvolutionOptions, seed: u64) -> Self {
        Evolution {
            seed,
            population: o.population,
            generations: o.generations,
            tournament: o.tournament,
            crossover_rate: o.crossover_rate,
            mutation_rate: o.mutation_rate,
            elitism: o.elitism,
        }
    }

    /// The parents generation `generation` is bred from, best first.
    fn pool<'a>(&self, hist: &[&'a Observation], generation: usize) -> Vec<&'a Observation> {
        let fitness = |o: &Observation| o.value.filter(|v| v.is_finite()).unwrap_or(f64::INFINITY);
        let better = |a: &&Observation, b: &&Observation| {
            fitness(a)
                .partial_cmp(&fitness(b))
                .unwrap_or(Ordering::Equal)
                .then(a.trial.cmp(&b.trial))
        };
        let prev = (generation - 1) * self.population..generation * self.population;
        let mut pool: Vec<&Observation> = hist
            .iter()
            .copied()
            .filter(|o| prev.contains(&o.trial))
            .collect();
        if pool.is_empty() {
            pool = hist.to_vec();
        }
        let mut all: Vec<&Observation> = hist.to_vec();
        all.sort_by(better);
        for elite in all
            .into_iter()
            .filter(|o| fitness(o).is_finite())
            .take(self.elitism)
        {
            if !pool.iter().any(|o| o.trial == elite.trial) {
                pool.push(elite);
            }
        }
        pool.sort_by(better);
        pool
    }

    /// The best of `tournament` members drawn with replacement from `pool` (sorted best
    /// first, so the smallest position drawn wins).
    fn select<'a>(&self, pool: &[&'a Observation], rng: &mut impl Rng) -> &'a Observation {
        let winner = (0..self.tournament)
            .map(|_| rng.random_range(0..pool.len()))
            .min()
            .unwrap_or(0);
        pool[winner]
    }

    fn breed(&self, enc: &Encoder, a: &Config, b: &Config, rng: &mut impl Rng) -> Point {
        let pa = enc.fill(&enc.encode(a), rng);
        let pb = enc.fill(&enc.encode(b), rng);
        let mut child: Point = if rng.random::<f64>() < self.crossover_rate {
            pa.iter()
                .zip(&pb)
                .map(|(x, y)| if rng.random::<bool>() { *x } else { *y })
                .collect()
        } else {
            pa
        };
        for (i, c) in child.iter_mut().enumerate() {
            if rng.random::<f64>() < self.mutation_rate {
                *c = match *c {
                    Coord::Num(u) => Coord::Num(reflect(u + MUTATION_SD * normal::sample(rng))),
                    Coord::Cat(_) => enc.random_coord(i, rng),
                };
            }
        }
        child
    }
}

/// Fold a coordinate back into [0, 1] as a mirror would.
fn reflect(u: f64) -> f64 {
    let r = u.rem_euclid(2.0);
    if r > 1.0 { 2.0 - r } else { r }
}

impl Sampler for Evolution {
    fn propose(
        &self,
        space: &Space,
        observed: &[Observation],
        pending: &[Config],
        index: usize,
    ) -> Option<Proposal> {
        let generation = index / self.population;
        if self.generations.is_some_and(|n| generation >= n) {
            return None;
        }
        let seen = Seen::new(observed, pending);
        let hist = history(observed, 1);
        let g = generation + 1;
        if generation == 0 || hist.is_empty() {
            let config = initial_point(space, self.seed, index, &seen);
            return Some(Proposal {
                config,
                reason: format!("evolution: generation {g}, sobol point"),
            });
        }
        let enc = Encoder::new(space);
        let pool = self.pool(&hist, generation);
        let mut rng = rng_for(self.seed, "evolution", index as u64);
        for _ in 0..RETRIES {
            let (a, b) = (self.select(&pool, &mut rng), self.select(&pool, &mut rng));
            let config = enc.decode(&self.breed(&enc, &a.config, &b.config, &mut rng));
            if !seen.contains(&config) {
                let reason = format!(
                    "evolution: generation {g}, child of trials {} and {}",
                    a.trial, b.trial
                );
                return Some(Proposal { config, reason });
            }
        }
        let config = random::fresh(&enc, self.seed, "evolution-fallback", index, &seen);
        Some(Proposal {
            config,
            reason: format!("evolution: generation {g}, random (children all tried)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Strategy;
    use crate::search::strategy::testing::{branin_space, run};

    fn opts(population: usize, generations: Option<usize>) -> EvolutionOptions {
        let more = generations.map_or(String::new(), |g| format!(", generations: {g}"));
        let yaml = format!("{{kind: evolution, population: {population}{more}}}");
        match Strategy::from_yaml(&yaml, 1, 2).unwrap() {
            Strategy::Evolution(o) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn generations_cap_the_proposals() {
        let obs = run(
            &Evolution::new(&opts(5, Some(3)), 1),
            &branin_space(),
            "branin",
            100,
        );
        assert_eq!(obs.len(), 15);
    }

    #[test]
    fn children_come_from_the_previous_generation_or_the_elite() {
        let e = Evolution::new(&opts(4, None), 2);
        let obs = run(&e, &branin_space(), "branin", 12);
        let hist: Vec<&Observation> = obs.iter().collect();
        let pool: Vec<usize> = e.pool(&hist, 2).iter().map(|o| o.trial).collect();
        let best_so_far = (0..8)
            .min_by(|a, b| obs[*a].value.partial_cmp(&obs[*b].value).unwrap())
            .unwrap();
        assert!(
            pool.iter().all(|t| (4..8).contains(t) || *t == best_so_far),
            "{pool:?}"
        );
        assert!(pool.contains(&best_so_far));
        for o in &obs[8..] {
            let p = e.propose(&branin_space(), &obs[..8], &[], o.trial).unwrap();
            assert!(
                p.reason
                    .starts_with("evolution: generation 3, child of trials"),
                "{}",
                p.reason
            );
        }
    }

    #[test]
    fn later_generations_improve_on_the_first() {
        let obs = run(
            &Evolution::new(&opts(10, None), 3),
            &branin_space(),
            "branin",
            60,
        );
        let mean =
            |s: &[Observation]| s.iter().filter_map(|o| o.value).sum::<f64>() / s.len() as f64;
        assert!(
            mean(&obs[50..]) < 0.5 * mean(&obs[..10]),
            "{} vs {}",
            mean(&obs[50..]),
            mean(&obs[..10])
        );
    }

    #[test]
    fn reflection_stays_in_the_cube() {
        for (u, want) in [(-0.2, 0.2), (1.3, 0.7), (0.4, 0.4), (2.5, 0.5)] {
            assert!((reflect(u) - want).abs() < 1e-12);
        }
    }
}
