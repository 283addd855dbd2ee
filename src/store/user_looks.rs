//! Looks recorded per user as well as per project: the fingerprints of the test rows every
//! evaluation opened also go into a file of the user's (`$XDG_DATA_HOME/hpflow/looks.jsonl`,
//! else `~/.local/share/hpflow/looks.jsonl`), one line per evaluation with its runs folder.
//! A second project, another folder with its own `runs/`, about to evaluate rows another
//! project already evaluated is then refused like a second look. `HPFLOW_NO_USER_LOOKS=1`
//! turns the store off (nothing recorded, nothing checked).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};

/// An evaluation of another project that looked at some of the rows asked about.
pub struct OtherLook {
    /// The other project's runs folder.
    pub runs: PathBuf,
    pub job: String,
    pub at: f64,
    /// How many of the rows asked about it looked at.
    pub rows: usize,
}

/// The store's file, or `None` when turned off or there is no home to put it in.
pub fn store() -> Option<PathBuf> {
    if std::env::var_os("HPFLOW_NO_USER_LOOKS").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let base = match std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d,
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".local/share"),
    };
    Some(base.join("hpflow").join("looks.jsonl"))
}

/// A runs folder as the store names it: resolved, so that two spellings of one folder agree.
fn project(runs: &Path) -> PathBuf {
    std::fs::canonicalize(runs).unwrap_or_else(|_| runs.to_path_buf())
}

/// Record that evaluate job `job` of the project in `runs` looked at `fingerprints`.
pub fn record(runs: &Path, job: &str, fingerprints: &[String]) -> Result<()> {
    let Some(path) = store() else {
        return Ok(());
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let line = json!({
        "runs": project(runs).display().to_string(),
        "job": job,
        "at": crate::store::db::now(),
        "fingerprints": fingerprints,
    });
    crate::store::atomic::append_work(&path, &line.to_string())
}

/// The evaluation of another project (not the one in `runs`) that looked at the most of
/// `fingerprints`, if any did.
pub fn earlier(runs: &Path, fingerprints: &[String]) -> Result<Option<OtherLook>> {
    Ok(by_others(runs, fingerprints)?
        .into_iter()
        .max_by(|a, b| a.rows.cmp(&b.rows).then(b.at.total_cmp(&a.at))))
}

/// Every evaluation of another project (not the one in `runs`) that looked at some of
/// `fingerprints`.
pub fn by_others(runs: &Path, fingerprints: &[String]) -> Result<Vec<OtherLook>> {
    let Some(path) = store() else {
        return Ok(Vec::new());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let ours = project(runs);
    let wanted: HashSet<&str> = fingerprints.iter().map(String::as_str).collect();
    // (runs, job) → (first time, rows of `wanted` it looked at).
    let mut seen: HashMap<(String, String), (f64, HashSet<String>)> = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(r), Some(job)) = (v["runs"].as_str(), v["job"].as_str()) else {
            continue;
        };
        if Path::new(r) == ours {
            continue;
        }
        let hits: HashSet<String> = v["fingerprints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .filter(|f| wanted.contains(f))
            .map(str::to_string)
            .collect();
        if hits.is_empty() {
            continue;
        }
        let e = seen
            .entry((r.to_string(), job.to_string()))
            .or_insert((v["at"].as_f64().unwrap_or(0.0), HashSet::new()));
        e.1.extend(hits);
    }
    Ok(seen
        .into_iter()
        .map(|((r, job), (at, rows))| OtherLook {
            runs: PathBuf::from(r),
            job,
            at,
            rows: rows.len(),
        })
        .collect())
}
