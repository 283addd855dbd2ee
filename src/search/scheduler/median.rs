//! Median stopping for the plain strategies: trials run in chunks of epochs, and a trial whose
//! objective after a chunk is worse than the median of earlier trials at that epoch stops.
//!
//! Deterministic by construction: trials come in batches of `batch`; a batch's first wave
//! starts them all, each later wave continues the batch's survivors by one chunk, and the
//! next batch starts only when this one is done. The median is taken over trials of earlier
//! (finished) batches only, so a decision never depends on which trial of a batch ends first,
//! and the first batch always trains to the end (like a pruner's start-up trials).

use crate::search::{Config, Proposal, Sampler, Space, WorkItem};

use super::history::History;
use super::waves::{Slot, WavePlan};

/// Earlier trials that must have reported at an epoch before the median is trusted there.
pub(crate) const MIN_REPORTED: usize = 3;
/// Stopping is checked this many times over a trial's epochs (chunk = ⌈epochs / CHECKS⌉).
pub(crate) const CHECKS: u32 = 4;

pub(crate) struct MedianStopping {
    pub batch: usize,
    pub trials: usize,
    pub epochs: u32,
    pub sampler: Box<dyn Sampler>,
    pub space: Space,
    pub label: super::ValueLabel,
}

pub(crate) fn chunk(epochs: u32) -> u32 {
    epochs.div_ceil(CHECKS).max(1)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl MedianStopping {
    fn batch_of(&self, trial: usize) -> usize {
        trial / self.batch.max(1)
    }

    /// Why `trial` (at `e` epochs, value `v`) stops, or `None` to go on.
    fn stop(&self, hist: &History, trial: usize, e: u32, v: f64) -> Option<String> {
        let first = self.batch_of(trial) * self.batch.max(1);
        let earlier: Vec<f64> = (0..first)
            .filter_map(|t| hist.value_at_epoch(t, e))
            .collect();
        if earlier.len() < MIN_REPORTED {
            return None;
        }
        let m = median(earlier.clone());
        (v > m).then(|| {
            format!(
                "{} is worse than the median {} of {} earlier trials at epoch {e}",
                self.label.show(v),
                self.label.show(m),
                earlier.len()
            )
        })
    }

    /// The batch's proposals, all drawn from the same results, each seeing the earlier ones
    /// as pending; fewer when the sampler runs out.
    fn proposals(&self, hist: &History, first: usize) -> Vec<(usize, Proposal)> {
        let n = self.batch.max(1).min(self.trials.saturating_sub(first));
        let observed = hist.observations();
        let mut pending: Vec<Config> = Vec::new();
        let mut out = Vec::new();
        for trial in first..first + n {
            let Some(p) = self
                .sampler
                .propose(&self.space, &observed, &pending, trial)
            else {
                break;
            };
            pending.push(p.config.clone());
            out.push((trial, p));
        }
        out
    }
}

impl WavePlan for MedianStopping {
    fn next_wave(&self, hist: &History) -> Vec<Slot> {
        let next = hist.next_trial();
        let step = chunk(self.epochs);
        if let Some(last) = next.checked_sub(1) {
            let first = self.batch_of(last) * self.batch.max(1);
            let mut wave = Vec::new();
            for t in first..next {
                let Some(w) = hist.latest_item(t) else {
                    continue;
                };
                let e = w.epochs;
                let Some(v) = hist.rung_value(t, e).flatten() else {
                    continue;
                };
                if e >= self.epochs || hist.stopped(t) || self.stop(hist, t, e, v).is_some() {
                    continue;
                }
                let to = (e + step).min(self.epochs);
                wave.push(Slot::Item(WorkItem {
                    trial: t,
                    config: w.config.clone(),
                    epochs: to,
                    clone_from: None,
                    wave: None,
                    reason: format!(
                        "continued to {to} epochs: {} at epoch {e} is not worse than the median",
                        self.label.show(v)
                    ),
                }));
            }
            if !wave.is_empty() {
                return wave;
            }
        }
        // Nobody in this batch goes on: start the next batch (or finish).
        self.proposals(hist, next)
            .into_iter()
            .map(|(trial, p)| {
                Slot::Item(WorkItem {
                    trial,
                    config: p.config,
                    epochs: step.min(self.epochs),
                    clone_from: None,
                    wave: None,
                    reason: format!(
                        "new trial, first chunk of {} epochs: {}",
                        step.min(self.epochs),
                        p.reason
                    ),
                })
            })
            .collect()
    }

    /// Not used by `next_wave` (which draws whole batches to know their length up front);
    /// answers like it for any other caller.
    fn new_config(&self, hist: &History, earlier: &[WorkItem], trial: usize) -> Proposal {
        super::waves::propose_or_random(
            self.sampler.as_ref(),
            &self.space,
            hist,
            earlier,
            trial,
            (0, "median"),
        )
    }
}
