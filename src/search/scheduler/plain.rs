//! The scheduler of the plain strategies (grid, random, bayes, tpe, evolution): every item is
//! a new trial trained to the stage's epochs, proposed by the sampler.
//!
//! Why a sliding lag rather than fixed batches: item k is proposed from the results of items
//! `0..k+1-batch` (the rest are pending), so at most `batch` trials run at once and a worker
//! that finishes is handed the next trial at once instead of idling until a batch barrier.
//! What each proposal sees depends only on k, never on timing.
//!
//! Item k is trial k. Its results arrive in item order (`results` is a prefix), so the
//! observations only grow at their end: they are kept between decisions and extended, and the
//! sampler is asked with `propose_grown`, so that a decision costs the same after 100,000
//! trials as after 10.

use std::sync::Mutex;

use crate::search::{Decision, ItemResult, Observation, Sampler, Scheduler, Space, WorkItem};

use super::history::usable;

pub(crate) struct Plain {
    pub batch: usize,
    pub trials: usize,
    pub epochs: u32,
    pub sampler: Box<dyn Sampler>,
    pub space: Space,
    /// The observations of the results seen so far, and how many results that was.
    pub observed: Mutex<(Vec<Observation>, usize)>,
}

impl Plain {
    pub fn new(
        batch: usize,
        trials: usize,
        epochs: u32,
        sampler: Box<dyn Sampler>,
        space: Space,
    ) -> Self {
        Plain {
            batch,
            trials,
            epochs,
            sampler,
            space,
            observed: Mutex::new((Vec::new(), 0)),
        }
    }
}

/// What `History::observations` makes of one result.
fn observation(issued: &[WorkItem], r: &ItemResult) -> Option<Observation> {
    let w = issued.get(r.item)?;
    Some(Observation {
        trial: r.trial,
        config: w.config.clone(),
        epochs: if r.stopped { w.epochs } else { r.epochs },
        value: usable(r.value),
    })
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
        let trial = issued.last().map_or(0, |w| w.trial + 1);
        let mut kept = self.observed.lock().unwrap_or_else(|e| e.into_inner());
        let (observed, seen) = &mut *kept;
        // Kept observations of another history (a scheduler asked out of order): start over.
        let last = seen.checked_sub(1).and_then(|i| results.get(i));
        if *seen > results.len()
            || last.and_then(|r| observation(issued, r)).as_ref() != observed.last()
        {
            observed.clear();
            *seen = 0;
        }
        observed.extend(
            results[*seen..]
                .iter()
                .filter_map(|r| observation(issued, r)),
        );
        *seen = results.len();
        // Results are items 0..n in order: the rest of the issued items are pending.
        let pending: Vec<_> = issued[results.len().min(issued.len())..]
            .iter()
            .map(|w| w.config.clone())
            .collect();
        match self
            .sampler
            .propose_grown(&self.space, observed, &pending, trial)
        {
            Some(p) => Decision::Run(WorkItem {
                trial,
                config: p.config,
                epochs: self.epochs,
                clone_from: None,
                wave: None,
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
