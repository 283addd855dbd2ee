//! The audit's checks that follow test rows by content (their fingerprints) rather than by
//! split job: a row looked at by two evaluations, a former test row trained on, test rows
//! identical to train or val rows; and that every finished evaluation has its log entry.
//! Each returns (problems, accepted): accepted are choices the user made knowingly
//! (`dedupe: keep`, `--allow-second-look`), listed but not findings.

use std::collections::{BTreeMap, HashMap, HashSet};

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
/// workflow on the same data; or looked at before by another project of the user's (the
/// per-user store, `store::user_looks`).
pub fn second_looks(
    db: &Db,
    layout: &Layout,
    log: &Log,
    in_scope: &dyn Fn(&str) -> bool,
) -> Result<Outcome> {
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
    // Another project's evaluation of the same rows, before this project's.
    let mut looked: BTreeMap<String, (f64, Vec<String>)> = BTreeMap::new();
    let at: HashMap<i64, f64> = accesses.iter().map(|a| (a.seq, a.at)).collect();
    for (seq, f) in &log.looks {
        if let Some(job) = job_of.get(seq).filter(|j| in_scope(j)) {
            let e = looked
                .entry(job.clone())
                .or_insert((at.get(seq).copied().unwrap_or(0.0), Vec::new()));
            e.1.push(f.clone());
        }
    }
    for (job, (t, rows)) in looked {
        let other = crate::store::user_looks::by_others(layout.root(), &rows)?
            .into_iter()
            .filter(|o| o.at < t)
            // The most rows, then the first to look.
            .max_by(|a, b| a.rows.cmp(&b.rows).then(b.at.total_cmp(&a.at)));
        let known_earlier = allowed
            .get(&job)
            .is_some_and(|(_, e)| !job_of.values().any(|j| j == e));
        let line = match (&other, known_earlier) {
            (Some(o), _) => format!(
                "evaluate job {} looked at {} test rows that evaluate job {} of another project (runs folder {}) had looked at before",
                short(&job),
                o.rows,
                short(&o.job),
                o.runs.display()
            ),
            // The store is off or gone, but the permission names the other project's job.
            (None, true) => format!(
                "evaluate job {} looked at {} test rows that evaluate job {} of another project had looked at before",
                short(&job),
                allowed[&job].0,
                short(&allowed[&job].1)
            ),
            (None, false) => continue,
        };
        if allowed.contains_key(&job) {
            accepted.push(format!("{line} (allowed with --allow-second-look)"));
        } else {
            problems.push(line);
        }
    }
    Ok((problems, accepted))
}

/// A row an evaluation looked at as a test row that a later training item used: a split
/// made after the evaluation that puts it into train or val, or a search or retrain request
/// sent after the evaluation (by the request's own time, whenever its split was made) that
/// trains or validates on it. Either way the former test row now steers training or selection.
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
    // The rows `fp` lists that were looked at before `t`, counted by the evaluation.
    let looked_before = |fp: &Value, parts: &[&str], t: f64| {
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for part in parts {
            for f in strings(&fp[*part]) {
                if let Some((when, eval)) = first_look.get(&f)
                    && *when < t
                {
                    *by.entry(eval.clone()).or_default() += 1;
                }
            }
        }
        by
    };
    for id in db.all_job_ids()?.into_iter().filter(|id| in_scope(id)) {
        let Some(job) = db.job(&id)? else {
            continue;
        };
        match job.kind.as_str() {
            "split" if job.status == crate::vocab::JobState::Done => {
                let Some(fp) = read(layout.split_fingerprints(&id)) else {
                    continue;
                };
                let made = job.started_at.unwrap_or(0.0);
                for part in ["train", "val"] {
                    for (eval, n) in looked_before(&fp, &[part], made) {
                        problems.push(format!(
                            "split {} puts {n} rows into {part} that evaluate job {} looked at as test rows before the split was made",
                            short(&id),
                            short(&eval)
                        ));
                    }
                }
            }
            "search" | "retrain" => {
                // (evaluation) → (rows, the first request that used them).
                let mut found: BTreeMap<String, (usize, String)> = BTreeMap::new();
                let mut splits: HashMap<std::path::PathBuf, Option<Value>> = HashMap::new();
                for (path, i, req) in super::audit_requests::logged(&layout.trials(&id)) {
                    let Some(manifest) = req["data"]["manifest"].as_str() else {
                        continue;
                    };
                    let dir = std::path::Path::new(manifest)
                        .parent()
                        .map(std::path::Path::to_path_buf)
                        .unwrap_or_default();
                    let fp = splits
                        .entry(dir.clone())
                        .or_insert_with(|| read(dir.join("rows").join("fingerprints.json")));
                    let Some(fp) = fp else { continue };
                    // A request from before `sent_at` was logged: the job's start stands in.
                    let t = req["sent_at"]
                        .as_f64()
                        .unwrap_or(job.started_at.unwrap_or(0.0));
                    for (eval, n) in looked_before(fp, &["train", "val"], t) {
                        let e = found
                            .entry(eval)
                            .or_insert((0, format!("{} (request {i})", path.display())));
                        e.0 = e.0.max(n);
                    }
                }
                for (eval, (n, first)) in found {
                    problems.push(format!(
                        "{} job {} trained or validated on {n} rows that evaluate job {} had looked at as test rows before: first in {first}",
                        job.kind,
                        short(&id),
                        short(&eval)
                    ));
                }
            }
            _ => {}
        }
    }
    Ok((problems, Vec::new()))
}

/// Rows identical in content to rows of an earlier part of the same split: test rows with a
/// copy in train or val, val rows with a copy in train (they inflate the validation score
/// that picks the model). Counted in rows, as the split's own warning counts them. A finding
/// unless the split says `dedupe: keep`.
pub fn duplicates(db: &Db, layout: &Layout, in_scope: &dyn Fn(&str) -> bool) -> Result<Outcome> {
    let (mut problems, mut accepted) = (Vec::new(), Vec::new());
    for id in done_jobs(db, "split", in_scope)? {
        let (Some(fp), Some(sealed)) = (
            read(layout.split_fingerprints(&id)),
            read(layout.sealed_test(&id)),
        ) else {
            continue;
        };
        let train: HashSet<String> = strings(&fp["train"]).into_iter().collect();
        let val = strings(&fp["val"]);
        let test = strings(&sealed["fingerprints"]);
        let in_val: HashSet<&String> = val.iter().collect();
        let t = test
            .iter()
            .filter(|f| train.contains(*f) || in_val.contains(f))
            .count();
        let v = val.iter().filter(|f| train.contains(*f)).count();
        if t + v == 0 {
            continue;
        }
        let keep = db
            .job_key(&id)?
            .is_some_and(|k| k["config"]["dedupe"] == "keep");
        let line = format!(
            "split {}: {t} test rows are identical in content to train or val rows, {v} val rows to train rows",
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

/// The rows files of a split whose bytes are not those the split wrote (their sha256 in the
/// manifest, recomputed), or that are gone while the split is recorded as done.
pub fn files_changed(layout: &Layout, id: &str, manifest: &Value) -> Vec<String> {
    let dir = layout.job(id);
    let Some(files) = manifest["files"].as_object().filter(|f| !f.is_empty()) else {
        return vec![format!(
            "split {}: the manifest records no hash of its rows files, so they cannot be checked (a split made by an older hpflow)",
            short(id)
        )];
    };
    let mut out = Vec::new();
    for (name, want) in files {
        let path = dir.join(name);
        match crate::store::atomic::sha256_file(&path) {
            Ok(got) if Some(got.as_str()) == want.as_str() => {}
            Ok(got) => out.push(format!(
                "split {}: {} changed after the split wrote it (sha256 {}… recorded, {}… now)",
                short(id),
                path.display(),
                want.as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(12)
                    .collect::<String>(),
                &got[..12]
            )),
            Err(_) => out.push(format!(
                "split {}: {} is missing",
                short(id),
                path.display()
            )),
        }
    }
    out
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
