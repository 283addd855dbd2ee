//! The audit's checks that follow test rows by content (their fingerprints) rather than by
//! split job: a row looked at by two evaluations, a former test row trained on, test rows
//! identical to train or val rows; and that every finished evaluation has its log entry.
//! Each returns (problems, accepted): accepted are choices the user made knowingly
//! (`dedupe: keep`, `--allow-second-look`), listed but not findings.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::error::Result;
use crate::store::db::AccessRow;
use crate::store::layout::short;
use crate::store::{Db, Layout};

pub type Outcome = (Vec<String>, Vec<String>);

/// The access log and the rows each opening exposed, read once for all the checks.
pub struct Log {
    pub accesses: Vec<AccessRow>,
    pub looks: Vec<(i64, String)>,
}

/// The finished jobs of `kind` in scope.
pub fn done_jobs(db: &Db, kind: &str, in_scope: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for id in db.all_job_ids()?.into_iter().filter(|id| in_scope(id)) {
        if db
            .job(&id)?
            .is_some_and(|j| j.kind == kind && j.status == crate::vocab::JobState::Done)
        {
            out.push(id);
        }
    }
    Ok(out)
}

pub fn read(path: std::path::PathBuf) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn strings(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// A test row looked at by two evaluate jobs of different splits (two of one split are the
/// per-split check's finding): another seed, `test: official` under a new split, another
/// workflow on the same data.
pub fn second_looks(db: &Db, log: &Log, in_scope: &dyn Fn(&str) -> bool) -> Result<Outcome> {
    let accesses = &log.accesses;
    let job_of: HashMap<i64, String> = accesses.iter().map(|a| (a.seq, a.job.clone())).collect();
    let split_of: HashMap<&str, &str> = accesses
        .iter()
        .map(|a| (a.job.as_str(), a.split_job.as_str()))
        .collect();
    // fingerprint → the jobs that looked at it, in the order they looked.
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for (seq, f) in &log.looks {
        let Some(job) = job_of.get(seq) else {
            continue;
        };
        let jobs = seen.entry(f.clone()).or_default();
        if !jobs.contains(job) {
            jobs.push(job.clone());
        }
    }
    // (first job, later job) → rows both looked at.
    let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
    for jobs in seen.values().filter(|j| j.len() > 1) {
        for later in &jobs[1..] {
            if split_of.get(jobs[0].as_str()) != split_of.get(later.as_str()) {
                *pairs.entry((jobs[0].clone(), later.clone())).or_default() += 1;
            }
        }
    }
    let allowed = db.second_looks()?;
    let (mut problems, mut accepted) = (Vec::new(), Vec::new());
    for ((first, later), n) in pairs {
        if !(in_scope(&first) || in_scope(&later)) {
            continue;
        }
        let line = format!(
            "evaluate job {} looked at {n} test rows that evaluate job {} had looked at before",
            short(&later),
            short(&first)
        );
        if allowed.contains_key(&later) {
            accepted.push(format!("{line} (allowed with --allow-second-look)"));
        } else {
            problems.push(line);
        }
    }
    Ok((problems, accepted))
}

/// A split made after an evaluation that puts rows the evaluation looked at into train or
/// val: the former test rows now steer training or selection.
pub fn former_test_rows(
    db: &Db,
    layout: &Layout,
    log: &Log,
    in_scope: &dyn Fn(&str) -> bool,
) -> Result<Outcome> {
    let at: HashMap<i64, (f64, String)> = log
        .accesses
        .iter()
        .map(|a| (a.seq, (a.at, a.job.clone())))
        .collect();
    // fingerprint → (when it was first looked at, by which job).
    let mut first_look: HashMap<String, (f64, String)> = HashMap::new();
    for (seq, f) in &log.looks {
        if let Some((t, job)) = at.get(seq) {
            first_look.entry(f.clone()).or_insert((*t, job.clone()));
        }
    }
    let mut problems = Vec::new();
    if first_look.is_empty() {
        return Ok((problems, Vec::new()));
    }
    for id in db.all_job_ids()?.into_iter().filter(|id| in_scope(id)) {
        let Some(job) = db
            .job(&id)?
            .filter(|j| j.kind == "split" && j.status == crate::vocab::JobState::Done)
        else {
            continue;
        };
        let Some(fp) = read(layout.split_fingerprints(&id)) else {
            continue;
        };
        let made = job.started_at.unwrap_or(0.0);
        for part in ["train", "val"] {
            let mut by: BTreeMap<String, usize> = BTreeMap::new();
            for f in strings(&fp[part]) {
                if let Some((t, eval)) = first_look.get(&f)
                    && *t < made
                {
                    *by.entry(eval.clone()).or_default() += 1;
                }
            }
            for (eval, n) in by {
                problems.push(format!(
                    "split {} puts {n} rows into {part} that evaluate job {} looked at as test rows before the split was made",
                    short(&id),
                    short(&eval)
                ));
            }
        }
    }
    Ok((problems, Vec::new()))
}

/// Test rows identical in content to train or val rows of the same split: a finding unless
/// the split says `dedupe: keep`.
pub fn duplicates(db: &Db, layout: &Layout, in_scope: &dyn Fn(&str) -> bool) -> Result<Outcome> {
    let (mut problems, mut accepted) = (Vec::new(), Vec::new());
    for id in done_jobs(db, "split", in_scope)? {
        let (Some(fp), Some(sealed)) = (
            read(layout.split_fingerprints(&id)),
            read(layout.sealed_test(&id)),
        ) else {
            continue;
        };
        let seen: HashSet<String> = strings(&fp["train"])
            .into_iter()
            .chain(strings(&fp["val"]))
            .collect();
        let test: BTreeSet<String> = strings(&sealed["fingerprints"]).into_iter().collect();
        let n = test.iter().filter(|f| seen.contains(*f)).count();
        if n == 0 {
            continue;
        }
        let keep = db
            .job_key(&id)?
            .is_some_and(|k| k["config"]["dedupe"] == "keep");
        let line = format!(
            "split {}: {n} test rows are identical in content to train or val rows",
            short(&id)
        );
        if keep {
            accepted.push(format!("{line} (dedupe: keep)"));
        } else {
            problems.push(format!(
                "{line} (dedupe: true removes them; dedupe: keep accepts them)"
            ));
        }
    }
    Ok((problems, accepted))
}

/// Every finished evaluate job has its entry in the log, unchanged: the entry it recorded
/// (`access.json`) is there with the same chain hash.
pub fn receipts(
    db: &Db,
    layout: &Layout,
    log: &Log,
    in_scope: &dyn Fn(&str) -> bool,
) -> Result<Outcome> {
    let log: HashMap<i64, (&str, &str)> = log
        .accesses
        .iter()
        .map(|a| (a.seq, (a.job.as_str(), a.hash.as_str())))
        .collect();
    let mut problems = Vec::new();
    for id in done_jobs(db, "evaluate", in_scope)? {
        let Some(receipt) = read(layout.access_receipt(&id)) else {
            // Without a split upstream (a test function) there are no rows to open.
            let opened = log.values().any(|(j, _)| *j == id.as_str());
            if !opened && has_split(db, &id)? {
                problems.push(format!(
                    "evaluate job {} finished without a logged opening of the test rows",
                    short(&id)
                ));
            }
            continue;
        };
        let seq = receipt["seq"].as_i64().unwrap_or(-1);
        match log.get(&seq) {
            Some((job, hash)) if *job == id.as_str() && Some(*hash) == receipt["hash"].as_str() => {}
            _ => problems.push(format!(
                "evaluate job {} recorded access-log entry {seq}, which is missing or changed: the log was cut or rewritten",
                short(&id)
            )),
        }
    }
    Ok((problems, Vec::new()))
}

/// Does a split job feed `job`, directly or through its upstream jobs?
fn has_split(db: &Db, job: &str) -> Result<bool> {
    let mut todo = vec![job.to_string()];
    let mut seen = HashSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        if db.job(&id)?.is_some_and(|j| j.kind == "split") {
            return Ok(true);
        }
        if let Some(key) = db.job_key(&id)? {
            todo.extend(strings(&key["upstream"]));
        }
    }
    Ok(false)
}
