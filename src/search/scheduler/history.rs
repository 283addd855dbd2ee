//! A read-only view of what a scheduler issued and what came of it. Every decision is a
//! function of one such view (plus options and seed), which is what makes them replayable.

use std::collections::BTreeMap;

use crate::search::{Config, ItemResult, Observation, WorkItem};

/// Items `0..issued.len()` and the results of a prefix of them (`results[i]` is item `i`).
pub(crate) struct History<'a> {
    pub issued: &'a [WorkItem],
    pub results: &'a [ItemResult],
    /// (trial, target epochs) → the item that trained the trial to exactly that many epochs.
    by_target: BTreeMap<(usize, u32), usize>,
}

/// A failed, diverged or non-finite objective counts as no value: it is never promoted.
pub(crate) fn usable(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

impl<'a> History<'a> {
    pub fn new(issued: &'a [WorkItem], results: &'a [ItemResult]) -> Self {
        let mut by_target = BTreeMap::new();
        for (i, w) in issued.iter().enumerate() {
            by_target.insert((w.trial, w.epochs), i);
        }
        History {
            issued,
            results,
            by_target,
        }
    }

    /// The result of item `i`, when it is part of this view.
    pub fn result(&self, i: usize) -> Option<&ItemResult> {
        match self.results.get(i) {
            Some(r) if r.item == i => Some(r),
            _ => self.results.iter().find(|r| r.item == i),
        }
    }

    /// The next unused trial number.
    pub fn next_trial(&self) -> usize {
        self.issued.iter().map(|w| w.trial + 1).max().unwrap_or(0)
    }

    /// The trial's objective at the end of its item that trained to exactly `epochs`:
    /// `Some(None)` when that item failed (or stopped short), `None` when there is no such
    /// item or its result is not in this view.
    pub fn rung_value(&self, trial: usize, epochs: u32) -> Option<Option<f64>> {
        let i = *self.by_target.get(&(trial, epochs))?;
        let r = self.result(i)?;
        Some(if r.epochs >= epochs || r.stopped {
            usable(r.value)
        } else {
            None
        })
    }

    /// Did early stopping end `trial` (in any known result)? Such a trial is never promoted.
    pub fn stopped(&self, trial: usize) -> bool {
        self.results.iter().any(|r| r.trial == trial && r.stopped)
    }

    /// `rung_value` for promotion: a stopped trial keeps its place in the rung (it counts
    /// among the `n` the survivors are a share of) but has no value to be promoted with.
    pub fn promotable(&self, trial: usize, epochs: u32) -> Option<Option<f64>> {
        let v = self.rung_value(trial, epochs)?;
        Some(v.filter(|_| !self.stopped(trial)))
    }

    /// Has `trial` been issued an item beyond `epochs` (promoted, possibly still running)?
    pub fn went_beyond(&self, trial: usize, epochs: u32) -> bool {
        self.by_target
            .range((trial, epochs + 1)..=(trial, u32::MAX))
            .next()
            .is_some()
    }

    /// Trials that have an item training to exactly `epochs`, in trial order.
    pub fn trials_at(&self, epochs: u32) -> Vec<usize> {
        self.by_target
            .keys()
            .filter(|(_, e)| *e == epochs)
            .map(|(t, _)| *t)
            .collect()
    }

    /// The last item issued for `trial`.
    pub fn latest_item(&self, trial: usize) -> Option<&'a WorkItem> {
        self.issued.iter().rev().find(|w| w.trial == trial)
    }

    /// The objective of `trial` after epoch `e`, from the curve of its latest known result.
    pub fn value_at_epoch(&self, trial: usize, e: u32) -> Option<f64> {
        let r = self
            .results
            .iter()
            .filter(|r| r.trial == trial && r.epochs >= e)
            .max_by_key(|r| (r.epochs, r.item))?;
        let from_curve = e
            .checked_sub(1)
            .and_then(|i| r.curve.get(i as usize))
            .copied()
            .flatten();
        usable(from_curve.or(if r.epochs == e { r.value } else { None }))
    }

    /// Every known result as an observation at the epochs it was measured.
    pub fn observations(&self) -> Vec<Observation> {
        self.results
            .iter()
            .filter_map(|r| {
                let w = self.issued.get(r.item)?;
                Some(Observation {
                    trial: r.trial,
                    config: w.config.clone(),
                    // A stopped trial's best value stands for the budget it was given.
                    epochs: if r.stopped { w.epochs } else { r.epochs },
                    value: usable(r.value),
                })
            })
            .collect()
    }

    /// One observation per trial whose item trained to exactly `epochs` (one budget, BOHB).
    pub fn observations_at(&self, epochs: u32) -> Vec<Observation> {
        self.by_target
            .iter()
            .filter(|((_, e), _)| *e == epochs)
            .filter_map(|(&(trial, _), &i)| {
                let value = self.rung_value(trial, epochs)?;
                Some(Observation {
                    trial,
                    config: self.issued[i].config.clone(),
                    epochs,
                    value,
                })
            })
            .collect()
    }

    /// Configurations issued whose results are not in this view.
    pub fn pending(&self) -> Vec<Config> {
        self.issued
            .iter()
            .enumerate()
            .filter(|(i, _)| self.result(*i).is_none())
            .map(|(_, w)| w.config.clone())
            .collect()
    }
}
