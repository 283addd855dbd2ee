//! `hpflow serve`'s pages: the workflows list, a workflow (the report's own content, from
//! `report::page::body`) and a trial's per-epoch curves (drawn with `report::plot`). Each
//! page is whole on load and carries a small script that long-polls its state and swaps in
//! its fresh content when the state changes, so a running sweep updates with no reload.

use std::fmt::Write;

use serde_json::{Value, json};
use sha2::Digest;

use crate::cmd::status;
use crate::error::{Error, Result};
use crate::report::Search;
use crate::report::page::CSS;
use crate::report::plot::{Axis, Frame, esc, num};
use crate::store::layout::short;
use crate::store::{Db, Layout};

pub enum Page<'a> {
    Index,
    Workflow(&'a str),
    /// (workflow, job, trial)
    Trial(&'a str, &'a str, usize),
}

const EXTRA_CSS: &str = "header{display:flex;gap:1.5em;align-items:baseline;color:#555;font-size:14px}\
header a{color:#1f5fbf}#live-state{font-weight:bold}#seen{display:none}";

/// Polls `data-api` (long poll while a run is live, every 3 s otherwise) and, on a new
/// version, swaps in `data-body`. `#seen` keeps every trial count shown, for tests.
const SCRIPT: &str = r#"<script>
(() => {
  const live = document.getElementById('live');
  const errors = [];
  window.addEventListener('error', e => { errors.push(String(e.message)); document.getElementById('errors').textContent = errors.join('\n'); });
  let version = live.dataset.version, going = live.dataset.live === 'true';
  const show = s => {
    document.getElementById('count').textContent = s.trials;
    document.getElementById('live-state').textContent = s.live ? 'a run is going: updating live' : 'no run going';
    const seen = document.getElementById('seen');
    if (seen.textContent.split(' ').pop() !== String(s.trials)) seen.textContent += ' ' + s.trials;
  };
  const poll = async () => {
    try {
      const r = await fetch(live.dataset.api + '?since=' + encodeURIComponent(version) + (going ? '&wait=1' : ''));
      if (!r.ok) throw new Error('state: HTTP ' + r.status);
      const s = await r.json();
      if (s.version !== version) {
        const b = await fetch(live.dataset.body);
        if (b.ok) live.innerHTML = await b.text();
        version = s.version;
      }
      going = s.live;
      show(s);
      setTimeout(poll, going ? 300 : 3000);
    } catch (e) {
      setTimeout(poll, 3000);
    }
  };
  setTimeout(poll, 300);
})();
</script>"#;

/// The database as it is now, read-only; `None` before any run.
fn open(layout: &Layout) -> Result<Option<Db>> {
    let live = crate::cmd::live_run(layout).is_some();
    Ok(Db::open_read(&layout.db())?.map(|db| db.with_live_run(live)))
}

fn jobs_of(db: &Db, name: &str) -> Result<Vec<(String, String)>> {
    let jobs = db.workflow_jobs(name)?;
    if jobs.is_empty() {
        return Err(Error::Usage(format!(
            "no workflow {name:?} in this runs folder"
        )));
    }
    Ok(jobs)
}

fn path(p: &Page) -> String {
    match p {
        Page::Index => "/".into(),
        Page::Workflow(w) => format!("/w/{}", crate::text::percent_encode(w)),
        Page::Trial(w, j, n) => format!(
            "/w/{}/trial/{}/{n}",
            crate::text::percent_encode(w),
            crate::text::percent_encode(j)
        ),
    }
}

fn trial_count(status: &Value) -> u64 {
    status["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|j| j["trials"].as_object().into_iter().flatten())
        .filter_map(|(_, n)| n.as_u64())
        .sum()
}

/// What a page shows, summed up: `version` changes whenever its content would.
pub fn state(layout: &Layout, p: &Page) -> Result<Value> {
    let live = crate::cmd::live_run(layout).is_some();
    let Some(db) = open(layout)? else {
        return Ok(json!({"version": format!("empty-{live}"), "trials": 0, "live": live}));
    };
    let (seen, trials) = match p {
        Page::Index => {
            let mut all = Vec::new();
            for (name, _) in db.workflows()? {
                let jobs = db.workflow_jobs(&name)?;
                all.push(status::collect(&db, layout, &name, &jobs)?);
            }
            let t = all.iter().map(trial_count).sum();
            (Value::Array(all), t)
        }
        Page::Workflow(name) => {
            let st = status::collect(&db, layout, name, &jobs_of(&db, name)?)?;
            let t = trial_count(&st);
            // A newer audit or importance ready changes the page too.
            (json!([st, super::background::finished()]), t)
        }
        Page::Trial(name, job, n) => {
            let (row, epochs) = trial(&db, layout, name, job, *n)?;
            (json!([row.state, epochs]), epochs.len() as u64)
        }
    };
    let digest = sha2::Sha256::digest(format!("{seen}{live}").as_bytes());
    Ok(json!({"version": hex::encode(&digest[..8]), "trials": trials, "live": live}))
}

/// A whole page: the header, the content in `#live`, and the script that keeps it fresh.
pub fn document(p: &Page, body: &str, st: &Value) -> String {
    let title = match p {
        Page::Index => "hpflow serve".to_string(),
        Page::Workflow(w) => format!("hpflow: {w}"),
        Page::Trial(w, j, n) => format!("hpflow: {w}, trial {n} of {}", short(j)),
    };
    let back = match p {
        Page::Index => String::new(),
        Page::Workflow(_) => "<a href=\"/\">all workflows</a>".into(),
        Page::Trial(w, _, _) => format!(
            "<a href=\"/\">all workflows</a><a href=\"{}\">{}</a>",
            path(&Page::Workflow(w)),
            esc(w)
        ),
    };
    let here = path(p);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{CSS}{EXTRA_CSS}</style></head><body><h1>{t}</h1><header>{back}\
         <span>{unit}: <b id=\"count\">{count}</b></span><span id=\"live-state\">{state}</span>\
         </header><div id=\"live\" data-api=\"/api{api}\" data-body=\"{here}?part=body\" \
         data-version=\"{v}\" data-live=\"{l}\">{body}</div><pre id=\"errors\"></pre>\
         <p id=\"seen\">{count}</p>{SCRIPT}</body></html>\n",
        t = esc(&title),
        // A trial page counts the epochs it has, the others the trials.
        unit = if matches!(p, Page::Trial(..)) {
            "epochs"
        } else {
            "trials"
        },
        api = if here == "/" {
            String::new()
        } else {
            here.clone()
        },
        count = st["trials"],
        state = if st["live"] == true {
            "a run is going: updating live"
        } else {
            "no run going"
        },
        v = st["version"].as_str().unwrap_or_default(),
        l = st["live"] == true,
    )
}

/// A page's content (what `#live` holds).
pub fn body(layout: &Layout, p: &Page) -> Result<String> {
    match p {
        Page::Index => index(layout),
        Page::Workflow(name) => workflow(layout, name),
        Page::Trial(name, job, n) => trial_page(layout, name, job, *n),
    }
}

fn index(layout: &Layout) -> Result<String> {
    let Some(db) = open(layout)? else {
        return Ok(format!(
            "<p class=\"note\">No runs in {} yet: start one with <code>hpflow run WORKFLOW.yaml</code>; this page shows it as it goes.</p>",
            esc(&layout.root().display().to_string())
        ));
    };
    let mut h = String::new();
    for (name, _) in db.workflows()? {
        let jobs = db.workflow_jobs(&name)?;
        let st = status::collect(&db, layout, &name, &jobs)?;
        let _ = write!(
            h,
            "<h2><a href=\"{}\">{}</a></h2><table><tr><th>stage</th><th>job</th><th>status</th><th>trials</th></tr>",
            path(&Page::Workflow(&name)),
            esc(&name)
        );
        for j in st["jobs"].as_array().into_iter().flatten() {
            let trials: Vec<String> = j["trials"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{v} {k}"))
                .collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(j["stage"].as_str().unwrap_or_default()),
                esc(short(j["job"].as_str().unwrap_or_default())),
                esc(j["status"].as_str().unwrap_or("not run")),
                esc(&trials.join(", "))
            );
        }
        h.push_str("</table>");
    }
    if h.is_empty() {
        h.push_str("<p class=\"note\">No workflows have run here yet.</p>");
    }
    Ok(h)
}

/// The report's content for one workflow, its trial numbers linked to their pages.
fn workflow(layout: &Layout, name: &str) -> Result<String> {
    let db = open(layout)?.ok_or_else(|| Error::Usage("no runs here yet".into()))?;
    let jobs = jobs_of(&db, name)?;
    let data = crate::cmd::export::collect_head(&db, name, &jobs)?;
    let st = status::collect(&db, layout, name, &jobs)?;
    let scope = jobs.iter().map(|(_, id)| id.clone()).collect();
    // The audit and the importance are computed on threads of their own, once per state of
    // the jobs (`serve::background`).
    let state = hex::encode(&sha2::Sha256::digest(st.to_string().as_bytes())[..8]);
    let (l, scope2) = (layout.clone(), scope);
    let checks = super::background::latest(
        &format!("audit {name}"),
        &state,
        move || audit(&l, &scope2),
        || Err("the audit stopped on an internal error".into()),
    );
    let checks = match checks.as_deref() {
        Some(Ok(c)) => Some(&c[..]),
        Some(Err(e)) => return Err(Error::internal(format!("the audit: {e}"))),
        None => None,
    };
    let mut searches = Vec::new();
    for (stage, id) in &jobs {
        if db.job(id)?.is_some_and(|j| j.kind == "search") {
            let (l, s, j) = (layout.clone(), stage.clone(), id.clone());
            let importance = super::background::latest(
                &format!("importance {id}"),
                &state,
                move || {
                    let db = open(&l).map_err(|e| e.to_string())?.ok_or("no runs here")?;
                    crate::report::importance_of(&db, &l, &s, &j)
                },
                || Err("the analysis stopped on an internal error".into()),
            );
            let importance = importance.map_or_else(
                || Err("being computed (fANOVA over at most 2,000 trials); it appears here when ready".to_string()),
                |r| (*r).clone(),
            );
            searches.push(Search::load_with(&db, layout, stage, id, importance)?);
        }
    }
    let html = crate::report::page::body(&data, &st, checks, &searches);
    // The i-th search section is searches[i]: link each trials-table row's number.
    let mut parts = html.split("<h2>Search: ");
    let mut out = parts.next().unwrap_or_default().to_string();
    for (part, s) in parts.zip(&searches) {
        out.push_str("<h2>Search: ");
        // One pass over the section (2,000 rows of a large search, not 2,000 scans of it).
        let ids: std::collections::HashSet<usize> = s.trials.iter().map(|t| t.id).collect();
        let mut rows = part.split("<tr><td class=\"n\">");
        out.push_str(rows.next().unwrap_or_default());
        for row in rows {
            out.push_str("<tr><td class=\"n\">");
            let id = row
                .split_once("</td><td><span class=\"state")
                .and_then(|(n, _)| n.parse::<usize>().ok())
                .filter(|n| ids.contains(n));
            match id {
                Some(id) => {
                    let _ = write!(
                        out,
                        "<a href=\"{}\">{id}</a>{}",
                        path(&Page::Trial(name, &s.job, id)),
                        &row[id.to_string().len()..]
                    );
                }
                None => out.push_str(row),
            }
        }
    }
    Ok(out)
}

/// The audit's checks of the jobs in `scope`.
fn audit(
    layout: &Layout,
    scope: &std::collections::BTreeSet<String>,
) -> std::result::Result<Vec<Value>, String> {
    let db = open(layout)
        .map_err(|e| e.to_string())?
        .ok_or("no runs here")?;
    crate::cmd::audit::findings(&db, layout, Some(scope))
        .map(|(checks, _)| checks)
        .map_err(|e| e.to_string())
}

/// A trial of one of the workflow's jobs, and its epochs (on disk while it trains).
fn trial(
    db: &Db,
    layout: &Layout,
    name: &str,
    job: &str,
    n: usize,
) -> Result<(crate::store::db::TrialRow, Vec<(u32, Value)>)> {
    if !jobs_of(db, name)?.iter().any(|(_, id)| id == job) {
        return Err(Error::Usage(format!("no job {job:?} in workflow {name:?}")));
    }
    let row = db
        .trial(job, n)?
        .ok_or_else(|| Error::Usage(format!("no trial {n} in job {}", short(job))))?;
    let mut epochs = db.epochs(job, n)?;
    if epochs.is_empty() || row.state == crate::vocab::TrialRowState::Running {
        epochs = crate::cmd::trial_epochs_on_disk(layout, job, n);
    }
    Ok((row, epochs))
}

fn trial_page(layout: &Layout, name: &str, job: &str, n: usize) -> Result<String> {
    let db = open(layout)?.ok_or_else(|| Error::Usage("no runs here yet".into()))?;
    let (row, epochs) = trial(&db, layout, name, job, n)?;
    let mut h = format!(
        "<p>Trial {n} of job {}: <b>{}</b> after {} epochs{}.</p>",
        esc(short(job)),
        esc(row.state.as_str()),
        epochs.len(),
        row.reason
            .as_deref()
            .map(|r| format!(" ({})", esc(r)))
            .unwrap_or_default()
    );
    h.push_str("<table><tr><th>parameter</th><th>value</th></tr>");
    for (k, v) in row.config.as_object().into_iter().flatten() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(k),
            esc(&crate::report::charts::label(v))
        );
    }
    h.push_str("</table><h2>Per-epoch curves</h2><div class=\"charts\">");
    // One chart per metric the epochs report, in name order.
    let mut names: Vec<&String> = epochs
        .iter()
        .flat_map(|(_, m)| m.as_object().into_iter().flatten())
        .filter(|(_, v)| v.as_f64().is_some())
        .map(|(k, _)| k)
        .collect();
    names.sort();
    names.dedup();
    for metric in names {
        let pts: Vec<(f64, f64)> = epochs
            .iter()
            .filter_map(|(e, m)| Some((f64::from(*e), m[metric].as_f64()?)))
            .filter(|p| p.1.is_finite())
            .collect();
        let xa = Axis::linear(pts.iter().map(|p| p.0), true);
        let ya = Axis::linear(pts.iter().map(|p| p.1), false);
        let mut f = Frame::new("trial-curve", metric, 460.0, 260.0, xa, ya);
        let line: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", f.x(*x), f.y(*y)))
            .collect();
        let mark = if line.len() == 1 {
            crate::report::charts::dot(f.x(pts[0].0), f.y(pts[0].1), "selected", metric)
        } else {
            format!(
                r#"<polyline class="selected" points="{}"><title>{}</title></polyline>"#,
                line.join(" "),
                esc(metric)
            )
        };
        f.push(mark);
        h.push_str(&f.finish("epoch", metric));
    }
    h.push_str("</div>");
    if epochs.is_empty() {
        h.push_str("<p class=\"note\">No epochs reported yet.</p>");
    }
    if let Some(m) = row.metrics.as_object().filter(|m| !m.is_empty()) {
        h.push_str("<h2>Final metrics</h2><table><tr><th>metric</th><th>value</th></tr>");
        for (k, v) in m {
            let shown = v
                .as_f64()
                .map_or_else(|| crate::report::charts::label(v), num);
            let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&shown));
        }
        h.push_str("</table>");
    }
    Ok(h)
}
