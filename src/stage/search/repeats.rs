//! A `command` program that does not resume from its checkpoint trains again what it had
//! trained: the epochs it printed, in the trial's append-only `epochs.log`, go back
//! (1, 1, 2, 1, 2, 3, 4, ...). Those epochs count as trained, and the search warns once.

use std::path::Path;

use super::Search;

/// What a unit folder's `epochs.log` shows of epochs trained again.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Repeats {
    /// Epochs the program printed again (an epoch it had printed before).
    pub again: u64,
    /// The first step back: (the epoch it had reached, the epoch it printed next).
    pub first: Option<(u64, u64)>,
}

pub(super) fn repeats(epochs_log: &Path) -> Repeats {
    let text = std::fs::read_to_string(epochs_log).unwrap_or_default();
    let mut out = Repeats::default();
    let mut reached = 0u64;
    for line in text.lines() {
        let Some(e) = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v["epoch"].as_u64())
        else {
            continue;
        };
        if e <= reached {
            out.again += reached - e + 1;
            out.first.get_or_insert((reached, e));
        }
        reached = e;
    }
    out
}

impl Search<'_, '_> {
    /// Whether epochs printed again are the program's doing: a command program, trials that
    /// continue (with `restart_promotions` every promotion starts over on purpose).
    fn counts_repeats(&self) -> bool {
        matches!(self.spec.trainer, crate::train::TrainerSpec::Command { .. })
            && !self.spec.restart_promotions
    }

    /// The folders item `k`'s trial trains in: the trial's, or each fold's.
    fn trial_units(&self, trial: usize) -> Vec<std::path::PathBuf> {
        let dir = self.ctx.layout.trial(self.job(), trial);
        if self.folds == 0 {
            return vec![dir.to_path_buf()];
        }
        (0..self.folds).map(|f| dir.fold(f).to_path_buf()).collect()
    }

    /// After item `k`: the first time a program is seen going back, say so once.
    pub(super) fn warn_repeats(&mut self, k: usize) {
        if self.warned_repeats || !self.counts_repeats() {
            return;
        }
        let trial = self.m.issued[k].trial;
        let first = self
            .trial_units(trial)
            .iter()
            .find_map(|u| repeats(&crate::train::TrialDir::of(u).epochs_log()).first);
        let Some((reached, next)) = first else {
            return;
        };
        self.warned_repeats = true;
        self.ctx.progress.line(&format!(
            "  warning: trial {trial}'s program reported epoch {next} again after epoch {reached}: it \
             did not resume from its checkpoint (save its state in HPFLOW_CHECKPOINT_DIR and \
             load it on start); every promotion trains it again, and those epochs count as trained"
        ));
    }

    /// Epochs the programs trained again, over the search's trials (per item: with folds, the
    /// mean over the fold models, as the count is the items' epochs).
    pub(super) fn epochs_repeated(&self) -> u64 {
        if !self.counts_repeats() {
            return 0;
        }
        let trials: std::collections::BTreeSet<usize> =
            self.m.issued.iter().map(|i| i.trial).collect();
        let again: u64 = trials
            .into_iter()
            .flat_map(|t| self.trial_units(t))
            .map(|u| repeats(&crate::train::TrialDir::of(&u).epochs_log()).again)
            .sum();
        again / self.folds.max(1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_starts_over_trains_its_epochs_again() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("epochs.log");
        let line = |e: u32| format!("{{\"epoch\": {e}, \"val_loss\": 1.0}}\n");
        let write = |epochs: &[u32]| {
            std::fs::write(&log, epochs.iter().map(|&e| line(e)).collect::<String>()).unwrap()
        };
        write(&[1, 1, 2, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            repeats(&log),
            Repeats {
                again: 7,
                first: Some((1, 1))
            }
        );
        write(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(repeats(&log), Repeats::default());
        assert_eq!(repeats(&dir.path().join("none")), Repeats::default());
    }
}
