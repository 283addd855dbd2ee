//! The report's HTML: the audit verdict first, the jobs, then per search the selected
//! configuration, its charts and a readable trials table, then the retrain, the test results
//! and the audit's checks.

use std::fmt::Write;

use serde_json::Value;

use super::Search;
use super::charts::{self, label};
use super::fidelity;
use super::plot::{esc, num};
use crate::store::layout::short;

pub const CSS: &str = "body{font-family:sans-serif;max-width:1180px;margin:2em auto;color:#222;padding:0 1em}\
h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.charts{display:flex;flex-wrap:wrap;gap:8px}\
svg.chart{font-family:sans-serif;font-size:11px;background:#fff}\
svg .title{font-size:13px}svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#bbb}\
svg .trial-point{fill:#16a085;fill-opacity:.65}svg .best{fill:none;stroke:#1f5fbf;stroke-width:2}\
svg .curve{fill:none;stroke:#999;stroke-opacity:.7}svg .curve-point{fill:#999}\
svg .selected{fill:none;stroke:#1f5fbf;stroke-width:2.5}circle.selected{fill:#1f5fbf}\
svg .pc{fill:none;stroke-width:1.2;stroke-opacity:.75}svg .bar{fill:#1f5fbf;fill-opacity:.8}\
svg .spread{stroke:#222}svg .axis{stroke:#444}svg .rung{fill:none;stroke:#16a085;stroke-opacity:.6}\
.state{padding:1px 6px;border-radius:3px;color:#fff}.s-done{background:#2e7d32}\
.s-failed,.s-diverged,.s-infeasible{background:#c62828}.s-running,.s-queued{background:#1565c0}\
.s-other{background:#777}.verdict{padding:.6em 1em;border-radius:4px;font-weight:bold}\
.clean{background:#e8f5e9;color:#1b5e20}.findings{background:#ffebee;color:#b71c1c}.note{color:#555}";

fn table(head: &[String], rows: &[Vec<String>]) -> String {
    let mut t = String::from("<table><tr>");
    for h in head {
        let _ = write!(t, "<th>{}</th>", esc(h));
    }
    t.push_str("</tr>");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            // Cells are escaped by `cell`/`text` or are trusted markup (state badges).
            let _ = write!(
                t,
                "<td{}>{c}</td>",
                if is_number(c) { " class=\"n\"" } else { "" }
            );
        }
        t.push_str("</tr>");
    }
    t + "</table>"
}

fn is_number(c: &str) -> bool {
    !c.is_empty() && c.parse::<f64>().is_ok()
}

fn heads(h: &[&str]) -> Vec<String> {
    h.iter().map(|s| s.to_string()).collect()
}

/// A JSON value for a table cell, escaped: numbers rounded, nothing as `-`.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        other => esc(&label(other)),
    }
}

fn state(s: &str) -> String {
    let class = match s {
        "done" | "failed" | "diverged" | "infeasible" | "running" | "queued" => s,
        _ => "other",
    };
    format!("<span class=\"state s-{class}\">{}</span>", esc(s))
}

fn search_section(s: &Search) -> String {
    let mut h = format!("<h2>Search: {}</h2>", esc(&s.stage));
    let best = s
        .selected
        .and_then(|id| s.trials.iter().find(|t| t.id == id));
    if let Some(b) = best {
        let _ = write!(
            h,
            "<h3>Selected configuration</h3><p>Trial {} with {} = {} {}, out of {} trials.</p>",
            b.id,
            esc(&s.metric),
            b.value.map_or("-".into(), num),
            // Under early stopping the value is the best epoch's, which retrain trains to.
            match b.best_epoch {
                Some(e) => format!("at its best epoch {e} of {}", b.epochs),
                None => format!("after {}", crate::text::plural(b.epochs, "epoch")),
            },
            s.total
        );
        let rows: Vec<Vec<String>> = s
            .space
            .params
            .iter()
            .map(|p| {
                vec![
                    esc(&p.name),
                    b.params.get(&p.name).map_or("inactive".into(), cell),
                ]
            })
            .collect();
        h.push_str(&table(&heads(&["parameter", "value"]), &rows));
    }
    if let Some(b) = &s.budgets {
        // A sweep that grew (or shrank) ran on as one search: its earlier trials were kept.
        let _ = write!(
            h,
            "<p>Budgets: {}. Each larger budget ran the same search on: the trials done \
             before stood, and only new ones trained.</p>",
            esc(b)
        );
    }
    if s.kept > 0 {
        let _ = write!(
            h,
            "<p class=\"note\">The current budget selects among the {} trials shown; {} more \
             are kept for a larger budget.</p>",
            s.total, s.kept
        );
    }
    h.push_str("<h3>Optimisation history</h3><div class=\"charts\">");
    h.push_str(&charts::history(s));
    h.push_str("</div><h3>Importance</h3><div class=\"charts\">");
    match &s.importance {
        Ok(imp) => {
            h.push_str(&super::effects::importance_bars(imp));
            let pair = imp
                .pairs
                .first()
                .and_then(|p| Some((s.space.get(&p.params[0])?, s.space.get(&p.params[1])?)));
            if let Some((a, b)) = pair {
                h.push_str(&super::effects::heatmap(s, a, b));
            }
            let _ = write!(
                h,
                "</div><p class=\"note\">fANOVA over {} trials ({} trees): each bar is the share of the metric's variance a parameter explains alone; pairs show what two explain together beyond that. The heat map is the top pair.</p>",
                imp.trials, imp.trees
            );
        }
        Err(why) => {
            let _ = write!(h, "</div><p class=\"note\">No importance: {}</p>", esc(why));
        }
    }
    h.push_str("<h3>Slices</h3><div class=\"charts\">");
    h.push_str(&charts::slices(s));
    h.push_str("</div><h3>Parallel coordinates</h3><div class=\"charts\">");
    h.push_str(&charts::parallel(s));
    h.push_str("</div><h3>Learning curves</h3><div class=\"charts\">");
    h.push_str(&fidelity::curves(s));
    h.push_str("</div>");
    if let Some(b) = fidelity::brackets(s) {
        let _ = write!(h, "<h3>Brackets</h3>{b}");
    }
    h.push_str("<h3>Trials</h3>");
    if s.trials.len() < s.total {
        let _ = write!(
            h,
            "<p class=\"note\">The charts and this table show {} of the {} trials: the best 100, \
             the selected one and an even spread of the rest (`hpflow export` has them all).</p>",
            s.trials.len(),
            s.total
        );
    }
    let mut head = heads(&["trial", "state", "epochs", &s.metric]);
    head.extend(s.space.params.iter().map(|p| p.name.clone()));
    let reasons = s.trials.iter().any(|t| t.reason.is_some());
    if reasons {
        head.push("reason".into());
    }
    let rows: Vec<Vec<String>> = s
        .trials
        .iter()
        .map(|t| {
            let mut r = vec![
                t.id.to_string(),
                state(&t.state),
                match (t.best_epoch, t.stopped) {
                    (Some(b), true) => format!("{} (best {b}, stopped early)", t.epochs),
                    (Some(b), false) if b != t.epochs => format!("{} (best {b})", t.epochs),
                    _ => t.epochs.to_string(),
                },
                t.value.map_or("-".into(), num),
            ];
            r.extend(
                s.space
                    .params
                    .iter()
                    .map(|p| t.params.get(&p.name).map_or("-".into(), cell)),
            );
            if reasons {
                r.push(t.reason.as_deref().map_or(String::new(), esc));
            }
            r
        })
        .collect();
    h.push_str(&table(&head, &rows));
    h
}

/// The jobs table: epochs trained are the trials' for a search and the retrain's own.
fn jobs(status: &Value, data: &Value) -> String {
    let rows: Vec<Vec<String>> = status["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| {
            let epochs = match j["kind"].as_str() {
                Some("search") => cell(&j["epochs_trained"]),
                Some("retrain") => cell(&data["retrain"]["epochs"]),
                _ => "-".into(),
            };
            vec![
                cell(&j["stage"]),
                esc(short(j["job"].as_str().unwrap_or_default())),
                state(j["status"].as_str().unwrap_or("not run")),
                epochs,
            ]
        })
        .collect();
    table(&heads(&["stage", "job", "status", "epochs trained"]), &rows)
}

fn metrics_table(m: &Value) -> String {
    let rows: Vec<Vec<String>> = m
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| vec![esc(k), cell(v)])
        .collect();
    table(&heads(&["metric", "value"]), &rows)
}

pub fn render(data: &Value, status: &Value, audit: &[Value], searches: &[Search]) -> String {
    let name = data["workflow"].as_str().unwrap_or_default();
    let body = format!(
        "<h1>hpflow report: {}</h1>{}",
        esc(name),
        body(data, status, Some(audit), searches)
    );
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>hpflow report: {}</title><style>{CSS}</style></head><body>{body}</body></html>\n",
        esc(name)
    )
}

/// The page's content below its title: `hpflow serve` shows the same, refreshed while a run goes.
/// `audit`: the audit's checks, None while they are being made (`hpflow serve` makes them on
/// a thread of their own).
pub fn body(data: &Value, status: &Value, audit: Option<&[Value]>, searches: &[Search]) -> String {
    let mut body = String::new();
    let Some(audit) = audit else {
        body.push_str("<p class=\"verdict note\" id=\"verdict\">Audit: checking (it reads every trial's request log); the verdict appears here when it is ready</p>");
        return rest(body, data, status, None, searches);
    };
    let failed: Vec<&Value> = audit.iter().filter(|c| c["ok"] != true).collect();
    let _ = write!(
        body,
        "<p class=\"verdict {}\" id=\"verdict\">Audit: {}</p>",
        if failed.is_empty() {
            "clean"
        } else {
            "findings"
        },
        if failed.is_empty() {
            format!("clean, all {} checks passed", audit.len())
        } else {
            format!(
                "{} of {} checks found problems (see below)",
                failed.len(),
                audit.len()
            )
        }
    );
    rest(body, data, status, Some(audit), searches)
}

/// The page below the verdict: jobs, searches, retrain, test results, the audit's checks.
fn rest(
    mut body: String,
    data: &Value,
    status: &Value,
    audit: Option<&[Value]>,
    searches: &[Search],
) -> String {
    body.push_str(&jobs(status, data));
    for s in searches {
        body.push_str(&search_section(s));
    }
    let r = &data["retrain"];
    if !r.is_null() {
        body.push_str("<h2>Retrain</h2>");
        let mut rows = vec![
            vec!["from trial".into(), cell(&r["from_trial"])],
            vec!["trained on".into(), cell(&r["on"])],
            vec!["epochs".into(), cell(&r["epochs"])],
            vec!["seconds".into(), cell(&r["seconds"])],
        ];
        for (k, v) in r["metrics"].as_object().into_iter().flatten() {
            rows.push(vec![esc(k), cell(v)]);
        }
        body.push_str(&table(&heads(&["", "value"]), &rows));
    }
    if !data["test"]["metrics"].is_null() {
        body.push_str("<h2>Test set (one look)</h2>");
        body.push_str(&metrics_table(&data["test"]["metrics"]));
    }
    body.push_str("<h2>Audit</h2>");
    let Some(audit) = audit else {
        body.push_str("<p class=\"note\">Checking.</p>");
        return body;
    };
    let rows: Vec<Vec<String>> = audit
        .iter()
        .map(|c| {
            let ok = c["ok"] == true;
            // An accepted finding (`--allow-second-look`) passes, and says so.
            let word = match (ok, c["status"] == "accepted") {
                (false, _) => "finding",
                (true, true) => "accepted",
                (true, false) => "ok",
            };
            let listed = |k: &str, prefix: &str| -> Vec<String> {
                c[k].as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| format!("{prefix}{}", cell(p)))
                    .collect()
            };
            let mut found = listed("problems", "");
            found.extend(listed("accepted", "accepted: "));
            vec![
                state(if ok { "done" } else { "failed" })
                    .replace(if ok { ">done<" } else { ">failed<" }, &format!(">{word}<")),
                cell(&c["check"]),
                found.join("; "),
            ]
        })
        .collect();
    body.push_str(&table(&heads(&["", "check", "findings"]), &rows));
    body
}
