//! The audit's check of what search and retrain trials were asked to read: every request a
//! trial received (`requests.jsonl`, in the trial's folder and in each fold's, `fold-F/`),
//! judged by the paths it names. Each path is resolved (relative ones against the request's
//! working folder, symlinks followed) and compared with every split's sealed folder and
//! every data source a split read: a search or retrain names neither.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::Result;
use crate::store::layout::short;
use crate::store::{Db, Layout};

/// The places no search or retrain request may name, resolved: (path, what it is).
fn forbidden(db: &Db, layout: &Layout) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    for id in db.all_job_ids()? {
        if !db.job(&id)?.is_some_and(|j| j.kind == "split") {
            continue;
        }
        let sealed = layout.job(&id).join("sealed");
        out.push((
            resolve(&sealed),
            format!("the sealed folder of split {}", short(&id)),
        ));
        let record = super::audit_data::split_record(layout, &id)?;
        if let Some(src) = record.and_then(|r| r.source) {
            out.push((resolve(Path::new(&src)), format!("the data source {src}")));
        }
    }
    Ok(out)
}

/// `path` with symlinks followed where it exists, else made absolute and `..` folded.
fn resolve(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Every string in `v` that names a path: absolute ones, and relative ones that exist in
/// the request's working folder (a program argument such as `rows.csv`).
fn paths(v: &Value, workdir: Option<&Path>, out: &mut Vec<PathBuf>) {
    match v {
        Value::String(s) if s.starts_with('/') => out.push(resolve(Path::new(s))),
        Value::String(s) if !s.is_empty() => {
            if let Some(w) = workdir.map(|w| w.join(s)).filter(|p| p.exists()) {
                out.push(resolve(&w));
            }
        }
        Value::Array(a) => a.iter().for_each(|x| paths(x, workdir, out)),
        // The program's working folder is where it runs, not something it is told to read.
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| *k != "workdir")
            .for_each(|(_, x)| paths(x, workdir, out)),
        _ => {}
    }
}

/// Every request logged under a job's trials folder, trials and folds alike: (the file,
/// the 1-based line, the request; `Null` for a line that is not JSON). A unit from before
/// the log existed has its last request alone (`request.json`, one pretty-printed object).
pub fn logged(trials: &Path) -> Vec<(PathBuf, usize, Value)> {
    let mut out = Vec::new();
    for unit in crate::store::layout::unit_dirs(trials) {
        let dir = crate::train::TrialDir::of(&unit);
        let (path, reqs): (PathBuf, Vec<Value>) = match std::fs::read_to_string(dir.requests_log())
        {
            Ok(text) => (
                dir.requests_log(),
                text.lines()
                    .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
                    .collect(),
            ),
            Err(_) => match std::fs::read_to_string(dir.request()) {
                Ok(text) => (
                    dir.request(),
                    vec![serde_json::from_str(&text).unwrap_or(Value::Null)],
                ),
                Err(_) => continue,
            },
        };
        out.extend(
            reqs.into_iter()
                .enumerate()
                .map(|(i, r)| (path.clone(), i + 1, r)),
        );
    }
    out
}

/// (problems, number of requests read).
pub fn check(
    db: &Db,
    layout: &Layout,
    in_scope: &dyn Fn(&str) -> bool,
) -> Result<(Vec<String>, usize)> {
    let forbidden = forbidden(db, layout)?;
    let mut problems = Vec::new();
    let mut requests = 0;
    for id in db.all_job_ids()?.into_iter().filter(|id| in_scope(id)) {
        let Some(job) = db.job(&id)? else { continue };
        if job.kind != "search" && job.kind != "retrain" {
            continue;
        }
        {
            // A line cut by a kill is no request (a whole line is written in one call).
            for (path, i, req) in logged(&layout.trials(&id))
                .into_iter()
                .filter(|r| !r.2.is_null())
            {
                requests += 1;
                let at = format!("{} (request {i})", path.display());
                if req["mode"]["mode"] == "evaluate" || req["mode"].get("test_rows").is_some() {
                    problems.push(format!(
                        "{at} of a {} job asks for an evaluation of the test rows",
                        job.kind
                    ));
                }
                let workdir = req["workdir"].as_str().map(Path::new);
                let mut named = Vec::new();
                paths(&req, workdir, &mut named);
                for p in named {
                    if let Some((_, what)) = forbidden.iter().find(|(f, _)| p.starts_with(f)) {
                        problems.push(format!(
                            "{at} of a {} job names {} ({what})",
                            job.kind,
                            p.display()
                        ));
                    }
                }
            }
        }
    }
    Ok((problems, requests))
}
