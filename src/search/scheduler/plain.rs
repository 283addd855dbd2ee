//! The scheduler of the plain strategies (grid, random, bayes, tpe, evolution): every item is
//! a new trial trained to the stage's epochs, proposed by the sampler.
//!
//! Why a sliding lag rather than fixed batches: item k is proposed from the results of items
//! `0..k+1-batch` (the rest are pending), so at most `batch` trials run at once and a worker
//! that finishes is handed the next trial at once instead of idling until a batch barrier.
//! What each proposal sees depends only on k, never on timing.

use crate::search::{Decision, ItemResult, Sampler, Scheduler, Space, WorkItem};

use super::history::History;

pub(crate) struct Plain {
    pub batch: usize,
    pub trials: usize,
    pub epochs: u32,
    pub sampler: Box<dyn Sampler>,
    pub space: Space,
}

impl Scheduler for Plain {
    fn horizon(&self, k: usize, _issued: &[WorkItem]) -> usize {
        (k + 1).saturating_sub(self.batch.max(1))
    }

    /// Finished once `trials` are issued or the sampler has nothing more (a sampler's `None`
    /// is taken as final: grids and generation counts end by index, not by results).
    fn decide(&self, k: usize, issued: &[WorkItem], results: &[ItemResult]) -> Decision {
        if k >= self.trials {
            return Decision::Finished;
        }
        let issued = &issued[..k.min(issued.len())];
        let hist = History::new(issued, results);
        let trial = hist.next_trial();
        match self
            .sampler
            .propose(&self.space, &hist.observations(), &hist.pending(), trial)
        {
            Some(p) => Decision::Run(WorkItem {
                trial,
                config: p.config,
                epochs: self.epochs,
                clone_from: None,
                reason: format!(
                    "new trial to {}: {}",
                    crate::text::plural(self.epochs, "epoch"),
                    p.reason
                ),
            }),
            None => Decision::Finished,
        }
    }
}
