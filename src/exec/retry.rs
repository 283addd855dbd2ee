//! `hpflow run --retry-failed` in the coordinator: which done searches train their failed
//! trials again, and the jobs after them that run again with the new selection. Job ids do
//! not change (the same workflow asks for the same jobs); their results may.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::store::Db;
use crate::store::layout::short;
use crate::workflow::Workflow;

#[derive(Default)]
pub(super) struct Retry {
    /// Search job id: how many failed trials it trains again.
    pub searches: BTreeMap<String, usize>,
    /// Jobs downstream of those searches: their done results are dropped and made again.
    pub redo: BTreeSet<String>,
}

/// Decided before anything is written. A finished evaluation downstream of a retried search
/// refuses the retry (exit 2): its test metrics were measured on the old selection, and a new
/// one would be a second look at the same test rows.
pub(super) fn plan(wf: &Workflow, plan: &Plan, db: &Db, on: bool) -> Result<Retry> {
    let mut out = Retry::default();
    if !on {
        return Ok(out);
    }
    for job in plan.jobs.iter().filter(|j| j.kind == "search") {
        if !db
            .job(&job.id)?
            .is_some_and(|r| r.status == crate::vocab::JobState::Done)
        {
            continue;
        }
        let failed = crate::stage::search::retry::retryable_trials(db, &job.id)?.len();
        if failed == 0 {
            continue;
        }
        out.searches.insert(job.id.clone(), failed);
        let mut after: BTreeSet<&str> = BTreeSet::from([job.stage.as_str()]);
        for later in &plan.jobs {
            let needs = wf.stage(&later.stage).map_or(&[][..], |s| &s.needs[..]);
            if !needs.iter().any(|n| after.contains(n.as_str())) {
                continue;
            }
            after.insert(&later.stage);
            out.redo.insert(later.id.clone());
            let done = db
                .job(&later.id)?
                .is_some_and(|r| r.status == crate::vocab::JobState::Done);
            if later.kind == "evaluate" && done {
                return Err(Error::Usage(format!(
                    "--retry-failed: stage {} ({}) has {failed} failed trials, but evaluate \
                     stage {} ({}) already measured the test rows with its selection; \
                     retrying would change the selection after that look. Copy the workflow \
                     under a new name (a new search) to go on",
                    job.stage,
                    short(&job.id),
                    later.stage,
                    short(&later.id)
                )));
            }
        }
    }
    Ok(out)
}
