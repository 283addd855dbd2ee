//! Population Based Training (Jaderberg et al. 2017) in synchronous generations: the
//! population trains `interval` epochs at a time; at each boundary the bottom `quantile`
//! exploit (continue from the checkpoint of a random top-`quantile` member) and explore
//! (perturb its hyperparameters).
//!
//! Model: each member is one trial number for its whole life. An exploiting member's next
//! item keeps its trial number, carries `clone_from: (donor, epoch)` and the perturbed donor
//! configuration; so a trial's configuration can change between items, and its history is
//! the donor's up to the clone epoch. A failed member always exploits (if anyone is left to
//! copy), which is how PBT recovers from diverged members.

use rand::Rng;
use serde_json::json;

use crate::search::space::Dist;
use crate::search::{Config, Proposal, Sampler, Space, WorkItem, rng_for};

use super::history::History;
use super::random::random_value;
use super::waves::{Slot, WavePlan};

/// Chance that a categorical parameter is resampled when a member explores.
pub(crate) const RESAMPLE: f64 = 0.2;

pub(crate) struct Pbt {
    pub population: usize,
    pub interval: u32,
    pub max_epochs: u32,
    pub quantile: f64,
    pub perturb: f64,
    pub seed: u64,
    pub sampler: Box<dyn Sampler>,
    pub space: Space,
    pub label: super::ValueLabel,
}

impl Pbt {
    /// Members in each of the top and bottom groups: ⌊quantile·population⌋, at least one.
    pub(crate) fn group(&self) -> usize {
        ((self.quantile * self.population as f64).floor() as usize).max(1)
    }

    /// `donor`'s configuration with continuous values scaled by 1 ± perturb (clipped to the
    /// space) and categoricals resampled now and then; returns it with what changed.
    fn explore(&self, donor: &Config, rng: &mut impl Rng) -> (Config, Vec<String>) {
        let mut out = Config::new();
        let mut notes = Vec::new();
        for p in &self.space.params {
            if !self.space.is_active(p, &out) {
                continue;
            }
            let Some(v) = donor.get(&p.name) else {
                // Newly active after a categorical changed: draw it.
                let v = random_value(p, rng);
                notes.push(format!("{} = {v} (newly active)", p.name));
                out.insert(p.name.clone(), v);
                continue;
            };
            let factor = if rng.random_bool(0.5) {
                1.0 + self.perturb
            } else {
                1.0 - self.perturb
            };
            let new = match (&p.dist, v.as_f64()) {
                (Dist::Uniform { low, high } | Dist::LogUniform { low, high }, Some(x)) => {
                    json!((x * factor).clamp(*low, *high))
                }
                (
                    Dist::Int {
                        low, high, step, ..
                    },
                    Some(x),
                ) => {
                    let step = (*step).max(1);
                    let y = ((x * factor - *low as f64) / step as f64).round() as i64 * step + low;
                    json!(y.clamp(*low, *high))
                }
                (Dist::Choice(_), _) if rng.random_bool(RESAMPLE) => random_value(p, rng),
                _ => v.clone(),
            };
            if &new != v {
                notes.push(match &p.dist {
                    Dist::Choice(_) => format!("{} → {new}", p.name),
                    _ => format!("{} ×{factor}", p.name),
                });
            }
            out.insert(p.name.clone(), new);
        }
        (out, notes)
    }
}

impl WavePlan for Pbt {
    fn next_wave(&self, hist: &History) -> Vec<Slot> {
        let first = self.interval.min(self.max_epochs);
        if hist.issued.is_empty() {
            return (0..self.population)
                .map(|_| Slot::New {
                    epochs: first,
                    reason: format!("new member, trained to {first} epochs"),
                })
                .collect();
        }
        // Generations are synchronous, so every member stands at the same epoch.
        let e = hist.issued.iter().map(|w| w.epochs).max().unwrap_or(0);
        if e >= self.max_epochs {
            return Vec::new();
        }
        let to = (e + self.interval).min(self.max_epochs);
        let members: Vec<(usize, Option<f64>)> = (0..hist.next_trial())
            .map(|t| (t, hist.rung_value(t, e).flatten()))
            .collect();
        let mut ranked: Vec<(usize, f64)> =
            members.iter().filter_map(|&(t, v)| Some((t, v?))).collect();
        ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let g = self.group();
        let top: Vec<(usize, f64)> = ranked.iter().take(g).copied().collect();
        if top.is_empty() {
            return Vec::new(); // every member failed: there is nothing to copy
        }
        // The bottom group counts failed members first (they rank last), never the top.
        let failed = members.len() - ranked.len();
        let k = g.saturating_sub(failed);
        let bottom: Vec<usize> = ranked
            .iter()
            .skip(ranked.len().saturating_sub(k).max(g))
            .map(|&(t, _)| t)
            .collect();
        let n = members.len();
        members
            .iter()
            .filter_map(|&(t, v)| {
                let own = hist.latest_item(t)?;
                if v.is_some() && !bottom.contains(&t) {
                    return Some(Slot::Item(WorkItem {
                        trial: t,
                        config: own.config.clone(),
                        epochs: to,
                        clone_from: None,
                        wave: None,
                        reason: format!("continued to {to} epochs"),
                    }));
                }
                let mut rng = rng_for(self.seed, "pbt-exploit", (u64::from(e) << 32) | t as u64);
                let (rank, &(donor, dv)) = top
                    .iter()
                    .enumerate()
                    .nth(rng.random_range(0..top.len()))?;
                let (config, notes) = self.explore(&hist.latest_item(donor)?.config, &mut rng);
                let why = match v {
                    Some(v) => format!("{} in the bottom {g} of {n}", self.label.show(v)),
                    None => "failed".to_string(),
                };
                Some(Slot::Item(WorkItem {
                    trial: t,
                    config,
                    epochs: to,
                    clone_from: Some((donor, e)),
                    wave: None,
                    reason: format!(
                        "exploit ({why}): copied trial {donor} at epoch {e} (rank {}/{n}, {}), perturbed {}",
                        rank + 1,
                        self.label.show(dv),
                        if notes.is_empty() { "nothing".to_string() } else { notes.join(", ") }
                    ),
                }))
            })
            .collect()
    }

    fn new_config(&self, hist: &History, earlier: &[WorkItem], trial: usize) -> Proposal {
        let seed = (self.seed, "scheduler-random");
        super::waves::propose_or_random(
            self.sampler.as_ref(),
            &self.space,
            hist,
            earlier,
            trial,
            seed,
        )
    }
}
