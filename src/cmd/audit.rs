//! `hpflow audit [WORKFLOW]`: proves from the records that only evaluate jobs opened the test
//! rows. Checks the hash chain of the access log, who opened what, that no search or retrain
//! request ever carried test rows, and that each split's rows files (the sealed one above
//! all) are the bytes the split wrote and share no row of train or val with test. Exit 0 when clean, 4 with findings.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::audit_content as content;
use crate::error::{Error, Result};
use crate::store::{Db, Layout};

pub fn findings(
    db: &Db,
    layout: &Layout,
    scope: Option<&BTreeSet<String>>,
) -> Result<(Vec<Value>, Vec<String>)> {
    let mut checks = Vec::new();
    let mut bad = Vec::new();
    let mut check_with = |name: &str, (problems, accepted): (Vec<String>, Vec<String>)| {
        // `accepted`: clean, but only because the user allowed what it found.
        let status = match (problems.is_empty(), accepted.is_empty()) {
            (false, _) => "fail",
            (true, false) => "accepted",
            (true, true) => "ok",
        };
        checks.push(json!({ "check": name, "ok": problems.is_empty(), "status": status, "problems": problems, "accepted": accepted }));
        bad.extend(problems);
    };
    let in_scope = |id: &str| scope.is_none_or(|s| s.contains(id));
    // 1. The access log's chain.
    let log = content::Log {
        accesses: db.accesses()?,
        looks: db.looks()?,
    };
    let accesses = &log.accesses;
    let mut problems = Vec::new();
    let mut prev = "genesis".to_string();
    for a in accesses {
        if a.prev != prev || a.hash != a.expected_hash() {
            problems.push(format!(
                "access log entry {} is altered or out of order",
                a.seq
            ));
        }
        prev = a.hash.clone();
    }
    check_with("access log hash chain intact", (problems, Vec::new()));
    // 2. Who opened the test rows: the log records the kind of job itself, so the check
    // holds even after `gc` forgot the job.
    let mut problems = Vec::new();
    let scoped: Vec<_> = accesses
        .iter()
        .filter(|a| in_scope(&a.job) || in_scope(&a.split_job))
        .collect();
    for a in &scoped {
        let kind = db.job(&a.job)?.map(|j| j.kind);
        if a.kind != "evaluate" || kind.as_deref().is_some_and(|k| k != "evaluate") {
            problems.push(format!(
                "job {} ({}) opened the test rows of split {}",
                a.job,
                kind.unwrap_or_else(|| a.kind.clone()),
                a.split_job
            ));
        }
    }
    check_with(
        "only evaluate jobs opened the test split",
        (problems, Vec::new()),
    );
    // 2b. One look: a test split opened by several evaluate jobs was used to compare models,
    // unless the later ones were allowed (`--allow-second-look`).
    let mut per_split: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for a in &scoped {
        let jobs = per_split.entry(a.split_job.as_str()).or_default();
        if !jobs.contains(&a.job.as_str()) {
            jobs.push(a.job.as_str());
        }
    }
    let allowed = db.second_looks()?;
    let (mut problems, mut accepted) = (Vec::new(), Vec::new());
    for (split, jobs) in per_split.iter().filter(|(_, jobs)| jobs.len() > 1) {
        let line = format!(
            "the test rows of split {} were opened by {} different evaluate jobs: results were compared on the test set",
            crate::store::layout::short(split),
            jobs.len()
        );
        if jobs[1..].iter().all(|j| allowed.contains_key(*j)) {
            accepted.push(format!("{line} (allowed with --allow-second-look)"));
        } else {
            problems.push(line);
        }
    }
    check_with(
        "each test split was looked at by one evaluation",
        (problems, accepted),
    );
    let own = |id: &str| in_scope(id);
    check_with(
        "each test row was looked at by one evaluation (by content, across splits)",
        content::second_looks(db, layout, &log, &own)?,
    );
    check_with(
        "no former test row is used for training or validation",
        content::former_test_rows(db, layout, &log, &own)?,
    );
    check_with(
        "every finished evaluation has its entry in the access log",
        content::receipts(db, layout, &log, &own)?,
    );
    // 3. No search or retrain request, in any trial or fold folder, names the test rows or
    // the data source.
    let (problems, requests) = super::audit_requests::check(db, layout, &in_scope)?;
    check_with(
        &format!("no search or retrain request reaches the test rows ({requests} requests read)"),
        (problems, Vec::new()),
    );
    // 4. Splits: sealed file matches, no overlap.
    let mut problems = Vec::new();
    for id in content::done_jobs(db, "split", &in_scope)? {
        let (Some(manifest), Some(sealed)) = (
            content::read(layout.manifest(&id)),
            content::read(layout.sealed_test(&id)),
        ) else {
            problems.push(format!("split {id}: manifest or sealed test file missing"));
            continue;
        };
        if manifest["test_hash"] != sealed["hash"] {
            problems.push(format!(
                "split {id}: the sealed test rows do not match the manifest's hash"
            ));
        }
        problems.extend(content::files_changed(layout, &id, &manifest));
        let test: BTreeSet<u64> = sealed["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_u64())
            .collect();
        for part in ["train", "val"] {
            let overlap = manifest[part]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_u64())
                .filter(|r| test.contains(r))
                .count();
            if overlap > 0 {
                problems.push(format!(
                    "split {id}: {overlap} {part} rows are also test rows"
                ));
            }
        }
    }
    check_with(
        "test rows are disjoint from train and val, rows files unchanged since the split (sha256)",
        (problems, Vec::new()),
    );
    check_with(
        "no test row is identical in content to a train or val row",
        content::duplicates(db, layout, &in_scope)?,
    );
    check_with(
        "the data passed the split's checks (leaks, identifiers, entities, time, labels, constant columns)",
        super::audit_data::findings(db, layout, &in_scope)?,
    );
    check_with(
        "every trial ran sandboxed",
        super::audit_sandbox::unsandboxed(db, layout, &in_scope)?,
    );
    Ok((checks, bad))
}

/// An audit with nothing to look at is not clean: when no split finished and no test row was
/// opened, say so (exit 1) instead of a table of checks that passed for want of records.
fn refuse_if_nothing_evaluated(
    db: &crate::store::Db,
    scope: Option<&BTreeSet<String>>,
    accesses: &[crate::store::db::AccessRow],
    as_json: bool,
) -> Result<()> {
    let in_scope = |id: &str| scope.is_none_or(|s| s.contains(id));
    let openings = accesses
        .iter()
        .filter(|a| in_scope(&a.job) || in_scope(&a.split_job))
        .count();
    let Some(why) = super::audit_data::nothing_evaluated(db, scope, openings)? else {
        return Ok(());
    };
    if as_json {
        super::print_json(&json!({ "clean": false, "evaluated": false, "reason": why }))?;
    }
    Err(Error::JobFailed(why))
}

/// `quiet`: no table; the exit code alone says whether the audit is clean.
pub fn run(workflow: Option<&str>, layout: &Layout, as_json: bool, quiet: bool) -> Result<()> {
    let db = super::open_db(layout)?;
    let scope = match workflow {
        Some(w) => Some(
            super::workflow_jobs(&db, w)?
                .1
                .into_iter()
                .map(|(_, id)| id)
                .collect::<BTreeSet<_>>(),
        ),
        None => None,
    };
    let accesses = db.accesses()?;
    refuse_if_nothing_evaluated(&db, scope.as_ref(), &accesses, as_json)?;
    let (checks, bad) = findings(&db, layout, scope.as_ref())?;
    if as_json {
        super::print_json(
            &json!({ "clean": bad.is_empty(), "checks": checks, "accesses": accesses }),
        )?;
    } else if !quiet {
        for c in &checks {
            let word = match c["status"].as_str() {
                Some("accepted") => "accepted",
                Some("ok") => "ok",
                _ => "FAIL",
            };
            println!("{word:<8}  {}", c["check"].as_str().unwrap_or_default());
            for p in c["problems"].as_array().into_iter().flatten() {
                println!("          {}", p.as_str().unwrap_or_default());
            }
            for a in c["accepted"].as_array().into_iter().flatten() {
                println!("          accepted: {}", a.as_str().unwrap_or_default());
            }
        }
        println!("{} test-set openings recorded", accesses.len());
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Error::Audit(format!("{} finding(s)", bad.len())))
    }
}
