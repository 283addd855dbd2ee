//! A coordinator that starts again finds the worker jobs the previous one left in Slurm (by
//! their job name and its records), adopts the live ones and waits for the trials they are
//! training, so that no trial is ever trained by two jobs and no job is submitted twice.

use std::time::{Duration, Instant};

use super::{Live, SlurmPool, commands, files};
use crate::error::{Error, Result};

impl SlurmPool<'_> {
    pub(super) fn adopt(&mut self, say: &mut dyn FnMut(&str)) -> Result<()> {
        // Requests the previous coordinator queued are issued again by this one.
        for (name, _) in files(&self.q.queue()) {
            let _ = std::fs::remove_file(self.q.queue().join(name));
        }
        let known: Vec<String> = self
            .db
            .slurm_jobs(&self.search_job)?
            .into_iter()
            .filter(|r| !commands::is_finished(&r.state))
            .map(|r| r.slurm_id)
            .collect();
        let listed = commands::query(&self.name)?;
        for j in &listed {
            if !commands::is_finished(&j.state) {
                self.db.insert_slurm_job(&self.search_job, &j.id)?;
                self.db
                    .set_slurm_state(&j.id, &j.state, j.reason.as_deref())?;
                self.live.insert(
                    j.id.clone(),
                    Live {
                        state: j.state.clone(),
                        reason: j.reason.clone(),
                        since: Instant::now(),
                        reported: None,
                    },
                );
            }
        }
        // Recorded as alive but no longer running: say how they ended.
        for id in known.iter().filter(|id| !self.live.contains_key(*id)) {
            let state = listed
                .iter()
                .find(|j| &j.id == id)
                .map(|j| j.state.clone())
                .or_else(|| commands::accounting(id))
                .unwrap_or_else(|| "GONE".into());
            self.db.set_slurm_state(id, &state, None)?;
        }
        if !self.live.is_empty() {
            let ids: Vec<&str> = self.live.keys().map(String::as_str).collect();
            say(&format!(
                "  adopted worker jobs {} (still in Slurm from the previous run)",
                ids.join(", ")
            ));
        }
        loop {
            let mut held = 0;
            for (name, path) in files(&self.q.claimed_dir()) {
                let owner = name
                    .trim_end_matches(".json")
                    .rsplit_once('@')
                    .map(|(_, w)| w.to_string());
                if owner.is_some_and(|w| self.live.contains_key(&w)) {
                    held += 1;
                } else {
                    // Its job is gone: the request is issued again from the trial's checkpoint.
                    let _ = std::fs::remove_file(path);
                }
            }
            if held == 0 {
                return Ok(());
            }
            if crate::signals::stop_requested() {
                self.cancel_all();
                return Err(Error::Interrupted);
            }
            say(&format!(
                "  waiting for {held} trial(s) the adopted worker jobs are training"
            ));
            std::thread::sleep(Duration::from_millis(500));
            self.reconcile()?;
            self.events.clear();
        }
    }
}
