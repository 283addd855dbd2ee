//! Successive Halving brackets run one after another: SHA is one bracket, Hyperband and BOHB
//! are Hyperband's brackets. Each rung is one wave; a promoted trial continues from its
//! checkpoint to the next rung's epochs.

use crate::search::{Proposal, Sampler, Space, WorkItem, rng_for};

use super::bohb::ModelFill;
use super::history::History;
use super::ladder::{Bracket, promote};
use super::random::random_config;
use super::waves::{Slot, WavePlan};

/// Where a bracket's new configurations come from.
pub(crate) enum Fill {
    /// The sampler, given every observation so far (random for SHA/Hyperband in practice).
    Sampler,
    /// BOHB: a model fitted on one budget's observations, random until there are enough.
    Model(ModelFill),
}

pub(crate) struct Brackets {
    pub brackets: Vec<Bracket>,
    pub eta: u32,
    pub seed: u64,
    pub sampler: Box<dyn Sampler>,
    pub space: Space,
    pub fill: Fill,
    pub label: super::ValueLabel,
}

impl Brackets {
    /// Which bracket `trial` belongs to: trials are numbered bracket after bracket.
    fn bracket_of(&self, trial: usize) -> Option<usize> {
        let mut end = 0;
        for (j, b) in self.brackets.iter().enumerate() {
            end += b.rungs.first().map_or(0, |r| r.n);
            if trial < end {
                return Some(j);
            }
        }
        None
    }

    fn first_trial(&self, j: usize) -> usize {
        self.brackets[..j]
            .iter()
            .map(|b| b.rungs.first().map_or(0, |r| r.n))
            .sum()
    }

    /// The wave that opens bracket `j` (its bottom rung of new trials), or nothing after the last.
    fn open(&self, j: usize) -> Vec<Slot> {
        let Some(b) = self.brackets.get(j) else {
            return Vec::new();
        };
        let Some(r0) = b.rungs.first() else {
            return Vec::new();
        };
        (0..r0.n)
            .map(|_| Slot::New {
                epochs: r0.epochs,
                reason: format!(
                    "bracket {} (s={}), rung 0: new trial to {} epochs",
                    j, b.s, r0.epochs
                ),
            })
            .collect()
    }
}

impl WavePlan for Brackets {
    fn next_wave(&self, hist: &History) -> Vec<Slot> {
        let Some(j) = hist
            .next_trial()
            .checked_sub(1)
            .and_then(|t| self.bracket_of(t))
        else {
            return if hist.issued.is_empty() {
                self.open(0)
            } else {
                Vec::new()
            };
        };
        let b = &self.brackets[j];
        let members = self.first_trial(j)..self.first_trial(j) + b.rungs[0].n;
        // The highest rung this bracket has reached; with sync waves all of it has finished.
        let reached = (0..b.rungs.len()).rev().find(|&i| {
            hist.trials_at(b.rungs[i].epochs)
                .iter()
                .any(|t| members.contains(t))
        });
        let Some(i) = reached else {
            return Vec::new();
        };
        if i + 1 < b.rungs.len() {
            let rung: Vec<(usize, Option<f64>)> = hist
                .trials_at(b.rungs[i].epochs)
                .into_iter()
                .filter(|t| members.contains(t))
                .map(|t| (t, hist.promotable(t, b.rungs[i].epochs).flatten()))
                .collect();
            let next = b.rungs[i + 1].epochs;
            let up = promote(&rung, self.eta, true);
            if !up.is_empty() {
                return up
                    .iter()
                    .enumerate()
                    .filter_map(|(rank, &(t, v))| {
                        let config = hist.latest_item(t)?.config.clone();
                        Some(Slot::Item(WorkItem {
                            trial: t,
                            config,
                            epochs: next,
                            clone_from: None,
                            wave: None,
                            reason: format!(
                                "bracket {j} (s={}), promoted to rung {} ({next} epochs): rank {} of {} at {} epochs ({})",
                                b.s,
                                i + 1,
                                rank + 1,
                                rung.len(),
                                b.rungs[i].epochs,
                                self.label.show(v)
                            ),
                        }))
                    })
                    .collect();
            }
        }
        self.open(j + 1)
    }

    fn new_config(&self, hist: &History, earlier: &[WorkItem], trial: usize) -> Proposal {
        if let Fill::Model(m) = &self.fill {
            let pending: Vec<_> = earlier.iter().map(|w| w.config.clone()).collect();
            return m.propose(self, hist, &pending, trial);
        }
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

impl Brackets {
    /// A uniform random configuration for `trial`, seeded by its number.
    pub(crate) fn random(&self, trial: usize, why: &str) -> Proposal {
        Proposal {
            config: random_config(
                &self.space,
                &mut rng_for(self.seed, "scheduler-random", trial as u64),
            ),
            reason: format!("random ({why})"),
        }
    }
}
