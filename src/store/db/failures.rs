//! The failed trials of a search grouped by what went wrong (`reasons::pattern`): what
//! `status` lists and what a search's `max_failed` message names.

use rusqlite::params;

use super::{Db, json};
use crate::error::Result;

/// One group of failures.
#[derive(Debug, Clone)]
pub struct FailureGroup {
    /// The reason with the trials' own values taken out.
    pub pattern: String,
    pub count: usize,
    /// The first trial of the group, and its reason as it was.
    pub trial: usize,
    pub example: String,
}

impl Db {
    /// Failed, diverged and infeasible trials grouped by reason pattern, most frequent first,
    /// then by first trial. Reads only those trials (by the state index).
    pub fn failure_groups(&self, job: &str) -> Result<Vec<FailureGroup>> {
        self.failure_groups_among(job, None)
    }

    /// The same among `trials` only (a search whose smaller budget selects among some).
    pub fn failure_groups_among(
        &self,
        job: &str,
        trials: Option<&std::collections::BTreeSet<usize>>,
    ) -> Result<Vec<FailureGroup>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT trial, COALESCE(reason, state), config_json FROM trials
                 WHERE job = ?1 AND state IN ('failed', 'diverged', 'infeasible') ORDER BY trial",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job], |r| {
                Ok((
                    r.get::<_, i64>(0)? as usize,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut groups: Vec<FailureGroup> = Vec::new();
        let mut at: std::collections::HashMap<String, usize> = Default::default();
        for row in rows {
            let (trial, reason, config) = row.map_err(|e| self.err(e))?;
            if trials.is_some_and(|t| !t.contains(&trial)) {
                continue;
            }
            let pattern = crate::reasons::pattern(&reason, &json(Some(config)));
            match at.get(&pattern) {
                Some(&i) => groups[i].count += 1,
                None => {
                    at.insert(pattern.clone(), groups.len());
                    groups.push(FailureGroup {
                        pattern,
                        count: 1,
                        trial,
                        example: reason,
                    });
                }
            }
        }
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.trial.cmp(&b.trial)));
        Ok(groups)
    }
}
