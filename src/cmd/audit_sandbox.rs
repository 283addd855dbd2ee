//! The audit's sandbox check: every trial of a search, retrain or evaluate job ran confined
//! (`train::sandbox`). A trial whose `status.json` says `"sandbox": "none"` (run with
//! `HPFLOW_NO_SANDBOX=1`, or on a kernel without Landlock) could have read the data source
//! and the sealed rows: a finding, never a silent pass. Statuses written before the sandbox
//! existed carry no such field and are not judged.

use crate::error::Result;
use crate::store::{Db, Layout};

/// Problems (one per job with unconfined trials) and nothing to accept.
pub fn unsandboxed(
    db: &Db,
    layout: &Layout,
    in_scope: &dyn Fn(&str) -> bool,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut problems = Vec::new();
    for id in db.all_job_ids()?.into_iter().filter(|id| in_scope(id)) {
        let Some(job) = db.job(&id)? else { continue };
        let mut open = Vec::new();
        // A k-fold trial's folds are trials of their own.
        for dir in crate::store::layout::unit_dirs(&layout.trials(&id)) {
            if unconfined(&dir) {
                open.push(dir);
            }
        }
        if let Some(first) = open.first() {
            problems.push(format!(
                "{} job {}: {} ran unsandboxed (HPFLOW_NO_SANDBOX set, or a kernel without \
                 Landlock) and could have read the data source and the sealed rows; first {}",
                job.kind,
                crate::store::layout::short(&id),
                crate::text::plural(open.len() as u64, "trial"),
                crate::train::TrialDir::of(first).status().display()
            ));
        }
    }
    Ok((problems, Vec::new()))
}

fn unconfined(dir: &std::path::Path) -> bool {
    let path = crate::train::TrialDir::of(dir).status();
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .is_ok_and(|v| v["sandbox"] == crate::train::sandbox::Kind::None.as_str())
}
