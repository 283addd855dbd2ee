//! `hpflow report WORKFLOW [-o report.html]`: one self-contained HTML page: the jobs, the
//! selected configuration, learning curves, the metric by trial and by parameter, the test
//! results and the audit.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::svg::{Series, chart};
use crate::error::Result;
use crate::store::Layout;
use crate::store::layout::short;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = String::from("<table><tr>");
    for h in head {
        t.push_str(&format!("<th>{}</th>", esc(h)));
    }
    t.push_str("</tr>");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            t.push_str(&format!("<td>{}</td>", esc(c)));
        }
        t.push_str("</tr>");
    }
    t + "</table>"
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or(n.to_string(), |x| {
            if x.fract() == 0.0 {
                n.to_string()
            } else if x.abs() < 1e-3 {
                format!("{x:.3e}")
            } else {
                format!("{x:.4}")
            }
        }),
        other => other.to_string(),
    }
}

/// The charts of one search job's trials, for its metric.
fn search_section(stage: &str, trials: &[&Value], metric: &str, best: Option<u64>) -> String {
    let mut html = format!("<h2>Search: {}</h2>", esc(stage));
    let mut curves = Vec::new();
    let mut finals = Vec::new();
    let mut by_param: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for t in trials {
        let id = t["trial"].as_u64().unwrap_or(0);
        let curve: Vec<(f64, f64)> = t["epochs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| Some((e["epoch"].as_f64()?, e["metrics"][metric].as_f64()?)))
            .collect();
        let is_best = Some(id) == best;
        curves.push(Series {
            points: curve,
            color: if is_best { "#1f5fbf" } else { "#999" },
            width: if is_best { 2.5 } else { 1.0 },
            dots: false,
        });
        if let Some(v) = t["metrics"][metric].as_f64() {
            finals.push((id as f64, v));
            for (k, p) in t["params"].as_object().into_iter().flatten() {
                if let Some(x) = p.as_f64() {
                    by_param.entry(k.clone()).or_default().push((x, v));
                }
            }
        }
    }
    // The best-so-far line needs the goal; take it from where the best trial's value lies.
    html.push_str(&chart(
        &format!("{metric} by epoch, every trial (selected in blue)"),
        "epoch",
        metric,
        &curves,
    ));
    html.push_str(&chart(
        &format!("{metric} at each trial's last epoch"),
        "trial",
        metric,
        &[Series {
            points: finals,
            color: "#c0392b",
            width: 3.0,
            dots: true,
        }],
    ));
    for (param, points) in by_param {
        html.push_str(&chart(
            &format!("{metric} by {param}"),
            &param,
            metric,
            &[Series {
                points,
                color: "#16a085",
                width: 3.0,
                dots: true,
            }],
        ));
    }
    html
}

pub fn render(data: &Value, status: &Value, audit: &[Value]) -> String {
    let name = data["workflow"].as_str().unwrap_or_default();
    let mut body = format!("<h1>hpflow report: {}</h1>", esc(name));
    let rows: Vec<Vec<String>> = status["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| {
            vec![
                cell(&j["stage"]),
                short(j["job"].as_str().unwrap_or_default()).to_string(),
                cell(&j["status"]),
                cell(&j["epochs_trained"]),
            ]
        })
        .collect();
    body.push_str(&table(&["stage", "job", "status", "epochs trained"], &rows));
    let sel = &data["selected"];
    if !sel.is_null() {
        body.push_str("<h2>Selected configuration</h2>");
        let mut rows = vec![
            vec!["trial".to_string(), cell(&sel["trial"])],
            vec![cell(&sel["metric"]), cell(&sel["value"])],
            vec!["epochs".to_string(), cell(&sel["epochs"])],
        ];
        for (k, v) in sel["config"].as_object().into_iter().flatten() {
            rows.push(vec![k.clone(), cell(v)]);
        }
        body.push_str(&table(&["", ""], &rows));
    }
    let trials: Vec<&Value> = data["trials"].as_array().into_iter().flatten().collect();
    let mut stages: Vec<String> = trials
        .iter()
        .filter_map(|t| t["stage"].as_str().map(String::from))
        .collect();
    stages.dedup();
    for stage in stages {
        let of_stage: Vec<&Value> = trials
            .iter()
            .copied()
            .filter(|t| t["stage"] == stage.as_str())
            .collect();
        // The stage's own metric (from its job), also when no trial succeeded.
        let metric = data["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|j| j["stage"] == stage.as_str())
            .and_then(|j| j["metric"]["name"].as_str())
            .or(sel["metric"].as_str())
            .unwrap_or("val_loss");
        body.push_str(&search_section(
            &stage,
            &of_stage,
            metric,
            sel["trial"].as_u64(),
        ));
        let rows: Vec<Vec<String>> = of_stage
            .iter()
            .map(|t| {
                vec![
                    cell(&t["trial"]),
                    cell(&t["state"]),
                    cell(&t["epochs_trained"]),
                    cell(&t["metrics"][metric]),
                    cell(&t["params"]),
                    cell(&t["reason"]),
                ]
            })
            .collect();
        body.push_str(&table(
            &["trial", "state", "epochs", metric, "parameters", "reason"],
            &rows,
        ));
    }
    for (title, key) in [("Retrain", "retrain"), ("Test set", "test")] {
        if let Some(m) = data[key]["metrics"].as_object() {
            body.push_str(&format!("<h2>{title}</h2>"));
            let rows: Vec<Vec<String>> = m.iter().map(|(k, v)| vec![k.clone(), cell(v)]).collect();
            body.push_str(&table(&["metric", "value"], &rows));
        }
    }
    body.push_str("<h2>Audit</h2>");
    let rows: Vec<Vec<String>> = audit
        .iter()
        .map(|c| {
            vec![
                if c["ok"] == true {
                    "ok".into()
                } else {
                    "FAIL".into()
                },
                cell(&c["check"]),
                c["problems"]
                    .as_array()
                    .map(|p| p.iter().map(cell).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    body.push_str(&table(&["", "check", "problems"], &rows));
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>hpflow report: {}</title><style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:left}}\
         figure{{display:inline-block;margin:0.5em}}</style></head><body>{body}</body></html>\n",
        esc(name)
    )
}

pub fn run(workflow: &str, layout: &Layout, output: Option<&Path>) -> Result<()> {
    let db = super::open_db(layout)?;
    let (name, jobs) = super::workflow_jobs(&db, workflow)?;
    let data = super::export::collect(&db, layout, &name, &jobs)?;
    let status = super::status::collect(&db, layout, &name, &jobs)?;
    let scope = jobs.iter().map(|(_, id)| id.clone()).collect();
    let (checks, _) = super::audit::findings(&db, layout, Some(&scope))?;
    let html = render(&data, &status, &checks);
    let path = output.map_or_else(
        || std::path::PathBuf::from(format!("{name}-report.html")),
        Path::to_path_buf,
    );
    if super::write_output(Some(&path), &html)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
