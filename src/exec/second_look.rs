//! No second look by accident: before anything runs, each evaluate job the run would start is
//! checked against the test rows earlier evaluations looked at, by content (the rows'
//! fingerprints), whatever split, seed or workflow they came from. A match stops the run
//! (exit 2) with what changed since; `--allow-second-look` runs it and records the choice,
//! which the audit then lists as an acknowledged second look. Looks by other projects of the
//! same user count too (`store::user_looks`).

use crate::error::{Error, Result};
use crate::plan::{Job, Plan};
use crate::store::layout::short;
use crate::store::{Db, Layout};
use crate::workflow::{StageSpec, Workflow};

/// An evaluate job of the plan that would open test rows an earlier evaluation looked at.
pub struct SecondLook {
    /// The evaluate job of the plan.
    pub job: String,
    /// The earlier evaluate job (the one with the most of these rows).
    pub earlier: String,
    /// Rows of this job's test split the earlier one looked at.
    pub rows: usize,
    /// What would happen, what was looked at when, and what changed since (one sentence).
    pub what: String,
}

/// Every evaluate job of the plan that is not done and would take a second look. Reads only:
/// `plan` calls it too, so that it says before a run what the run would refuse.
pub fn find(wf: &Workflow, plan: &Plan, layout: &Layout, db: &Db) -> Result<Vec<SecondLook>> {
    let mut out = Vec::new();
    let here = db.any_looks()?;
    let user = crate::store::user_looks::store().is_some_and(|p| p.exists());
    if !here && !user {
        return Ok(out);
    }
    for job in plan.jobs.iter().filter(|j| j.kind == "evaluate") {
        let done = db
            .job(&job.id)?
            .is_some_and(|r| r.status == crate::vocab::JobState::Done)
            && crate::stage::outputs_present(layout, job);
        if done {
            continue;
        }
        let Some(split) = split_of(wf, plan, job) else {
            continue;
        };
        let rows = test_fingerprints(wf, layout, db, split)?;
        let earlier = if here {
            db.earlier_looks(&job.id, &rows)?
        } else {
            Vec::new()
        };
        if let Some((other, other_split, at, n)) = earlier.iter().max_by_key(|e| e.3).cloned() {
            let what = format!(
                "stage {} would evaluate on {} test rows, {n} of which evaluate job {} already looked at ({}; split {}); {}",
                job.stage,
                rows.len(),
                short(&other),
                when(at),
                short(&other_split),
                changed(wf, db, &other_split, split)?
            );
            out.push(SecondLook {
                job: job.id.clone(),
                earlier: other,
                rows: n,
                what,
            });
            continue;
        }
        // Another project of this user's, another folder with its own runs, looked at them.
        if let Some(o) = crate::store::user_looks::earlier(layout.root(), &rows)? {
            let what = format!(
                "stage {} would evaluate on {} test rows, {} of which evaluate job {} of another project already looked at ({}; its runs folder {}): the same data evaluated from another folder",
                job.stage,
                rows.len(),
                o.rows,
                short(&o.job),
                when(o.at),
                o.runs.display()
            );
            out.push(SecondLook {
                job: job.id.clone(),
                earlier: o.job,
                rows: o.rows,
                what,
            });
        }
    }
    Ok(out)
}

/// Before a run: refuse a second look (exit 2, nothing run), or record the one allowed.
pub fn check(wf: &Workflow, plan: &Plan, layout: &Layout, db: &Db, allow: bool) -> Result<()> {
    for look in find(wf, plan, layout, db)? {
        let what = &look.what;
        if !allow {
            return Err(Error::Usage(format!(
                "{what}. Comparing models on rows already evaluated turns the test set into a \
                 validation set. Keep the test rows of the first evaluation sealed (same split), \
                 or run with --allow-second-look to evaluate anyway: the audit will list it as \
                 an acknowledged second look"
            )));
        }
        crate::progress::say(&format!("second look allowed: {what}"));
        db.allow_second_look(&look.job, look.rows, &look.earlier)?;
    }
    Ok(())
}

/// The split job an evaluate job's test rows come from.
fn split_of<'p>(wf: &Workflow, plan: &'p Plan, job: &Job) -> Option<&'p Job> {
    let stage = wf.stage(&job.stage)?;
    let split = wf.upstream(stage, "split")?;
    plan.job(&split.name)
}

/// The fingerprints of a split's test rows: from its sealed file when it ran, else by
/// splitting now (in memory, nothing written).
fn test_fingerprints(wf: &Workflow, layout: &Layout, db: &Db, split: &Job) -> Result<Vec<String>> {
    let ran = db
        .job(&split.id)?
        .is_some_and(|r| r.status == crate::vocab::JobState::Done);
    if ran {
        if let Ok(text) = std::fs::read_to_string(layout.sealed_test(&split.id)) {
            let sealed: serde_json::Value = serde_json::from_str(&text).map_err(Error::internal)?;
            if let Ok(f) = serde_json::from_value(sealed["fingerprints"].clone()) {
                return Ok(f);
            }
        }
    }
    let Some(StageSpec::Split(opts)) = wf.stage(&split.stage).map(|s| &s.spec) else {
        return Ok(Vec::new());
    };
    let Some(spec) = &wf.data else {
        return Ok(Vec::new());
    };
    let ds = crate::data::load(spec, &wf.base_dir, opts.group.as_deref())?;
    let out = crate::data::split(&ds, opts, wf.seed)?;
    Ok(out.fingerprints(&out.test_rows))
}

/// What differs between the split an earlier evaluation used and this one, in the
/// workflow's words: a changed data file by its name, not by its content hash.
fn changed(wf: &Workflow, db: &Db, earlier_split: &str, split: &Job) -> Result<String> {
    if earlier_split == split.id {
        return Ok("the split is the same, so another model would be compared on it".into());
    }
    let Some(before) = db.job_key(earlier_split)? else {
        return Ok("the earlier split is no longer recorded".into());
    };
    let now = serde_json::to_value(&split.key).map_err(Error::internal)?;
    let mut diffs = Vec::new();
    diff("", &readable(&before), &readable(&now), &mut diffs);
    for d in &mut diffs {
        if d.starts_with("data.content ") {
            *d = format!("the content of {} changed", data_name(wf));
        }
    }
    Ok(if diffs.is_empty() {
        "the split's settings are the same".into()
    } else {
        format!("what changed in the split since: {}", diffs.join(", "))
    })
}

/// A split key with its `inputs` pairs (`["data", sha256]`, `["data_spec", json]`) as the
/// fields they stand for: `data.content` and `data.path`, `data.label`, ...
fn readable(key: &serde_json::Value) -> serde_json::Value {
    let mut out = key.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    let Some(inputs) = map.remove("inputs") else {
        return out;
    };
    let mut data = serde_json::Map::new();
    for pair in inputs.as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (pair[0].as_str(), pair[1].as_str()) else {
            continue;
        };
        match name {
            "data" => {
                data.insert("content".into(), value.into());
            }
            "data_spec" => {
                if let Ok(serde_json::Value::Object(spec)) = serde_json::from_str(value) {
                    data.extend(spec);
                }
            }
            other => {
                data.insert(other.into(), value.into());
            }
        }
    }
    map.insert("data".into(), serde_json::Value::Object(data));
    out
}

/// The workflow's data as its author knows it: the file or folder named, or the builtin set.
fn data_name(wf: &Workflow) -> String {
    match &wf.data {
        Some(d) => match &d.path {
            Some(p) => p.display().to_string(),
            None => format!("the builtin data {}", d.name.as_deref().unwrap_or_default()),
        },
        None => "the data".into(),
    }
}

/// The settings that differ between `a` and `b`, one `path old → new` line each (long values
/// cut, by characters). `hpflow status` names a workflow's changed settings with it too.
pub(crate) fn diff(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<String>,
) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = serde_json::Value::Null;
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    &p,
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => {
            let show = |v: &serde_json::Value| {
                let t = v.to_string();
                if t.chars().count() > 24 {
                    format!("{}…", t.chars().take(20).collect::<String>())
                } else {
                    t
                }
            };
            out.push(format!("{path} {} → {}", show(a), show(b)));
        }
        _ => {}
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM UTC`.
fn when(at: f64) -> String {
    let secs = at as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_read_as_utc() {
        assert_eq!(super::when(0.0), "1970-01-01 00:00 UTC");
        assert_eq!(super::when(1_796_000_000.0), "2026-11-30 00:53 UTC");
    }
}
