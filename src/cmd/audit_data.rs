//! The audit's view of the data: the findings of the data checks each split recorded
//! (`crate::data::checks`), and whether anything was evaluated at all.

use super::audit_content::{Outcome, done_jobs};
use crate::error::Result;
use crate::stage::output::SplitRecord;
use crate::store::layout::short;
use crate::store::{Db, Layout};

/// Every split's data-check findings: not accepted ones are problems, accepted ones (by the
/// workflow's `accept:`) are listed as accepted. Exact duplicates are left to the content
/// check (`audit_content::duplicates`), which counts them from the fingerprints.
pub fn findings(db: &Db, layout: &Layout, in_scope: &dyn Fn(&str) -> bool) -> Result<Outcome> {
    let (mut problems, mut accepted) = (Vec::new(), Vec::new());
    for id in done_jobs(db, "split", in_scope)? {
        let Some(record) = split_record(layout, &id)? else {
            continue;
        };
        for f in record.checks {
            if f.check == "duplicates" {
                continue;
            }
            if f.accepted {
                accepted.push(format!(
                    "split {}: {} (accept: [{}])",
                    short(&id),
                    f.message,
                    f.check
                ));
            } else {
                problems.push(format!("split {}: {}", short(&id), f.line()));
            }
        }
    }
    Ok((problems, accepted))
}

/// Why nothing can be audited, when no split in scope finished and no test row was opened:
/// the checks would all pass for want of anything to look at, which is not a clean audit.
pub fn nothing_evaluated(
    db: &Db,
    scope: Option<&std::collections::BTreeSet<String>>,
    openings: usize,
) -> Result<Option<String>> {
    let in_scope = |id: &str| scope.is_none_or(|s| s.contains(id));
    if openings > 0 || !done_jobs(db, "split", &in_scope)?.is_empty() {
        return Ok(None);
    }
    for id in db.all_job_ids()?.into_iter().filter(|id| in_scope(id)) {
        let Some(job) = db.job(&id)? else { continue };
        if job.kind == "split" && job.status != crate::vocab::JobState::Done {
            let why = job
                .error
                .as_deref()
                .map(|e| format!(": {}", crate::reasons::one_line(e, 300)))
                .unwrap_or_default();
            return Ok(Some(format!(
                "nothing was evaluated: split job {} {}{why}",
                short(&id),
                job.status
            )));
        }
    }
    // A workflow without a split (a test function) has no test rows to guard: nothing to say.
    if db.all_job_ids()?.iter().any(|id| in_scope(id)) {
        return Ok(None);
    }
    Ok(Some("nothing was evaluated: no job has run".into()))
}

/// The record (`split.json`) of split `id`; `None` where there is none (a split from before
/// it), an error where it is of a version this hpflow does not read.
pub fn split_record(layout: &Layout, id: &str) -> Result<Option<SplitRecord>> {
    if !layout.split_record(id).exists() {
        return Ok(None);
    }
    crate::stage::output::read(layout, id).map(Some)
}
