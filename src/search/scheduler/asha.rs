//! Asynchronous Successive Halving (Li et al. 2020): each decision promotes a trial if some
//! rung has one in its top ⌊n/η⌋ not yet promoted (highest rung first), else starts a new
//! trial at the bottom rung. No rung waits to be complete, so workers never idle.
//!
//! Determinism: decision k sees the results of items `0..k+1-batch`, a fixed lag. Once the
//! trial budget is spent a decision may have nothing to issue while promotable results are
//! still on their way, and "nothing now" cannot be said; so from then on the horizon also
//! covers every issued item below the top rung (only those can make a promotion). Items at
//! the top rung keep running meanwhile, and `Finished` is final: nothing in flight could
//! promote anything.

use crate::search::{Decision, ItemResult, Sampler, Scheduler, Space, WorkItem, rng_for};

use super::history::History;
use super::ladder::promote;
use super::random::random_config;

pub(crate) struct Asha {
    pub rungs: Vec<u32>,
    pub eta: u32,
    pub batch: usize,
    pub trials: usize,
    pub seed: u64,
    pub sampler: Box<dyn Sampler>,
    pub space: Space,
    pub label: super::ValueLabel,
}

impl Asha {
    fn top(&self) -> u32 {
        self.rungs.last().copied().unwrap_or(0)
    }

    /// The best promotable trial: (trial, from rung, rank, rung size, value).
    fn promotion(&self, hist: &History) -> Option<(usize, usize, usize, usize, f64)> {
        for i in (0..self.rungs.len().saturating_sub(1)).rev() {
            let e = self.rungs[i];
            let done: Vec<(usize, Option<f64>)> = hist
                .trials_at(e)
                .into_iter()
                .filter_map(|t| Some((t, hist.promotable(t, e)?)))
                .collect();
            let up = promote(&done, self.eta, false);
            if let Some((rank, &(t, v))) = up
                .iter()
                .enumerate()
                .find(|(_, (t, _))| !hist.went_beyond(*t, e))
            {
                return Some((t, i, rank, done.len(), v));
            }
        }
        None
    }
}

impl Scheduler for Asha {
    fn horizon(&self, k: usize, issued: &[WorkItem]) -> usize {
        let issued = &issued[..k.min(issued.len())];
        let lag = (k + 1).saturating_sub(self.batch.max(1));
        if History::new(issued, &[]).next_trial() < self.trials {
            return lag;
        }
        let below_top = issued
            .iter()
            .rposition(|w| w.epochs < self.top())
            .map_or(0, |i| i + 1);
        lag.max(below_top)
    }

    fn decide(&self, k: usize, issued: &[WorkItem], results: &[ItemResult]) -> Decision {
        let issued = &issued[..k.min(issued.len())];
        let hist = History::new(issued, results);
        if let Some((t, i, rank, n, v)) = self.promotion(&hist) {
            let Some(w) = hist.latest_item(t) else {
                return Decision::Finished;
            };
            let to = self.rungs[i + 1];
            return Decision::Run(WorkItem {
                trial: t,
                config: w.config.clone(),
                epochs: to,
                clone_from: None,
                wave: None,
                reason: format!(
                    "promoted to rung {} ({to} epochs): rank {} of {n} finished at {} epochs ({})",
                    i + 1,
                    rank + 1,
                    self.rungs[i],
                    self.label.show(v)
                ),
            });
        }
        let trial = hist.next_trial();
        if trial >= self.trials {
            return Decision::Finished;
        }
        let p = self
            .sampler
            .propose(&self.space, &hist.observations(), &hist.pending(), trial);
        let (config, why) = match p {
            Some(p) => (p.config, p.reason),
            None => (
                random_config(
                    &self.space,
                    &mut rng_for(self.seed, "scheduler-random", trial as u64),
                ),
                "random (the sampler had nothing left)".to_string(),
            ),
        };
        Decision::Run(WorkItem {
            trial,
            config,
            epochs: self.rungs[0],
            clone_from: None,
            wave: None,
            reason: format!("new trial at rung 0 ({} epochs): {why}", self.rungs[0]),
        })
    }
}
