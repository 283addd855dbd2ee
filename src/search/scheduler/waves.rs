//! The driver shared by every synchronous scheduler (SHA, Hyperband, BOHB, PBT, median
//! stopping): work is issued in waves, each a function of everything that finished before it.
//!
//! Why waves carry a tag: the coordinator asks `horizon(k, issued)` before it has the
//! results, and a wave's length can depend on results (failed trials are not promoted, so a
//! rung can be short). So each item records its place in its wave and the wave's length
//! (`WorkItem::wave`, stored as numbers; its reason shows it as a trailing `[c/L]` for
//! people). `horizon` reads the tags back: inside a wave it is the wave's start (the results
//! it was planned from, already in), at a wave's end it is `k` (wait for everything in
//! flight). A missing tag makes that item a wave of its own, which is safe: it only costs
//! parallelism. The reason's text is never read back.

use crate::search::{Decision, ItemResult, Proposal, Scheduler, WorkItem};
use crate::vocab::Wave;

use super::history::History;

/// One place in a wave: a fully decided item, or a new trial whose configuration is drawn
/// when its turn comes (so that it sees the wave's earlier proposals as pending).
pub(crate) enum Slot {
    Item(WorkItem),
    New { epochs: u32, reason: String },
}

/// A synchronous scheduler: plans the next wave from a complete history.
pub(crate) trait WavePlan: Send + Sync {
    /// The next wave after every item in `hist` has finished; empty when the search is over
    /// (final, since nothing is in flight and the history does not change any more).
    fn next_wave(&self, hist: &History) -> Vec<Slot>;

    /// The configuration for new trial `trial`; `earlier` are this wave's items so far.
    fn new_config(&self, hist: &History, earlier: &[WorkItem], trial: usize) -> Proposal;
}

pub(crate) struct Synchronous<P>(pub P);

/// A new trial's configuration: the sampler's proposal given what is known and what is
/// already planned, or, when it has nothing left, a random one seeded by (seed, purpose,
/// trial).
pub(crate) fn propose_or_random(
    sampler: &dyn crate::search::Sampler,
    space: &crate::search::Space,
    hist: &History,
    earlier: &[WorkItem],
    trial: usize,
    (seed, purpose): (u64, &str),
) -> Proposal {
    let pending: Vec<crate::search::Config> = earlier.iter().map(|w| w.config.clone()).collect();
    sampler
        .propose(space, &hist.observations(), &pending, trial)
        .unwrap_or_else(|| Proposal {
            config: super::random::random_config(
                space,
                &mut crate::search::rng_for(seed, purpose, trial as u64),
            ),
            reason: "random (the sampler had nothing left)".into(),
        })
}

/// Where the wave holding item `k` starts, and how many of its items precede `k`. When `k`
/// opens a new wave the answer is `(k, 0)`.
fn wave_of(issued: &[WorkItem], k: usize) -> (usize, usize) {
    let k = k.min(issued.len());
    let mut start = 0;
    while start < k {
        let len = match issued[start].wave {
            Some(w) if w.place == 1 => w.len.max(1) as usize,
            _ => 1,
        };
        // The wave ends early where a later item does not carry the expected tag.
        let expected = |end: usize| Wave {
            place: (end - start + 1) as u32,
            len: len as u32,
        };
        let mut end = start + 1;
        while end < start + len && end < k && issued[end].wave == Some(expected(end)) {
            end += 1;
        }
        if end == k && end < start + len {
            return (start, k - start);
        }
        start = end;
    }
    (k, 0)
}

impl<P: WavePlan> Scheduler for Synchronous<P> {
    fn horizon(&self, k: usize, issued: &[WorkItem]) -> usize {
        wave_of(issued, k).0
    }

    fn decide(&self, k: usize, issued: &[WorkItem], results: &[ItemResult]) -> Decision {
        let issued = &issued[..k.min(issued.len())];
        let (start, c) = wave_of(issued, k);
        // Plan from exactly the results before the wave, however many more were passed in.
        let hist = History::new(&issued[..start], &results[..start.min(results.len())]);
        let wave = self.0.next_wave(&hist);
        let len = wave.len();
        let Some(slot) = wave.into_iter().nth(c) else {
            return Decision::Finished;
        };
        let mut item = match slot {
            Slot::Item(item) => item,
            Slot::New { epochs, reason } => {
                let trial = History::new(issued, &[]).next_trial();
                let p = self.0.new_config(&hist, &issued[start..], trial);
                WorkItem {
                    trial,
                    config: p.config,
                    epochs,
                    clone_from: None,
                    reason: format!("{reason}; {}", p.reason),
                    wave: None,
                }
            }
        };
        let wave = Wave {
            place: c as u32 + 1,
            len: len as u32,
        };
        item.reason = format!("{} {wave}", item.reason);
        item.wave = Some(wave);
        Decision::Run(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An item whose reason ends in `[c/L]` carries that wave, as `decide` writes it.
    fn item(reason: &str) -> WorkItem {
        WorkItem {
            trial: 0,
            config: Default::default(),
            epochs: 1,
            clone_from: None,
            reason: reason.into(),
            wave: Wave::in_reason(reason),
        }
    }

    #[test]
    fn tags_delimit_waves() {
        assert_eq!(
            Wave::in_reason("new trial [2/9]"),
            Some(Wave { place: 2, len: 9 })
        );
        assert_eq!(Wave::in_reason("promoted [x]"), None);
        let issued: Vec<WorkItem> = ["a [1/2]", "b [2/2]", "c [1/3]", "d [2/3]"]
            .map(item)
            .to_vec();
        assert_eq!(wave_of(&issued, 0), (0, 0));
        assert_eq!(wave_of(&issued, 1), (0, 1));
        assert_eq!(wave_of(&issued, 2), (2, 0));
        assert_eq!(wave_of(&issued, 3), (2, 1));
        assert_eq!(wave_of(&issued, 4), (2, 2));
        // An untagged item is a wave of its own; so is a wave whose tags break off.
        let issued: Vec<WorkItem> = ["a [1/3]", "untagged", "c"].map(item).to_vec();
        assert_eq!(wave_of(&issued, 2), (2, 0));
        assert_eq!(wave_of(&issued, 3), (3, 0));
    }

    #[test]
    fn the_wave_comes_from_the_tag_not_the_reason() {
        // Reasons that say other waves (a reused row's older reason) or none at all: the
        // stored tags alone delimit the waves, 2 items and then 3.
        let tagged = |reason: &str, place, len| WorkItem {
            wave: Some(Wave { place, len }),
            ..item(reason)
        };
        let issued = vec![
            tagged("a [1/5]", 1, 2),
            tagged("b", 2, 2),
            tagged("c [1/1]", 1, 3),
            tagged("d [9/9]", 2, 3),
        ];
        assert_eq!(wave_of(&issued, 1), (0, 1));
        assert_eq!(wave_of(&issued, 2), (2, 0));
        assert_eq!(wave_of(&issued, 3), (2, 1));
        assert_eq!(wave_of(&issued, 4), (2, 2));
        // A tag in the reason alone is no tag: each item is a wave of its own.
        let untagged = vec![
            WorkItem {
                wave: None,
                ..item("a [1/2]")
            },
            WorkItem {
                wave: None,
                ..item("b [2/2]")
            },
        ];
        assert_eq!(wave_of(&untagged, 1), (1, 0));
    }
}
