//! `hpflow export WORKFLOW --format json|csv`: every trial with its parameters, state,
//! per-epoch metrics and epochs trained; the selected configuration; retrain and test results.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::cli::ExportFormat;
use crate::error::{Error, Result};
use crate::store::{Db, Layout};

pub fn collect(db: &Db, layout: &Layout, name: &str, jobs: &[(String, String)]) -> Result<Value> {
    let mut out = json!({ "workflow": name, "jobs": [], "trials": [], "selected": null, "retrain": null, "test": null });
    for (stage, id) in jobs {
        let row = db.job(id)?;
        let kind = row.as_ref().map(|r| r.kind.clone()).unwrap_or_default();
        let key = db.job_key(id)?.unwrap_or_default();
        out["jobs"].as_array_mut().expect("array").push(json!({
            "stage": stage, "job": id, "kind": kind,
            "status": row.as_ref().map_or("not run".into(), |r| r.status.clone()),
            "metric": crate::workflow::Metric::of_job_key(&key),
        }));
        // Fixed params are part of every trial's configuration too.
        let fixed = key["config"]["params"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for t in db.trials(id)? {
            let mut params = fixed.clone();
            params.extend(t.config.as_object().cloned().unwrap_or_default());
            let epochs: Vec<Value> = db
                .epochs(id, t.trial)?
                .into_iter()
                .map(|(e, m)| json!({ "epoch": e, "metrics": m }))
                .collect();
            out["trials"].as_array_mut().expect("array").push(json!({
                "stage": stage, "job": id, "trial": t.trial, "params": params, "state": t.state,
                "epochs_trained": t.epochs, "best_epoch": t.best_epoch, "stopped_early": t.stopped, "metrics": t.metrics, "reason": t.reason, "seconds": t.seconds, "epochs": epochs,
            }));
        }
        let Some(row) = row.filter(|r| r.status == "done") else {
            continue;
        };
        match kind.as_str() {
            "search" => out["selected"] = row.outputs,
            "retrain" => out["retrain"] = row.outputs,
            "evaluate" => out["test"] = row.outputs,
            _ => {}
        }
    }
    let _ = layout;
    Ok(out)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One row per trial and epoch (a trial with no epoch gets one row), then the selected
/// configuration, the retrain and the test results as rows of their own.
pub fn to_csv(data: &Value) -> String {
    let trials = data["trials"].as_array().cloned().unwrap_or_default();
    let mut params = BTreeSet::new();
    let mut metrics = BTreeSet::new();
    for t in &trials {
        params.extend(
            t["params"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone()),
        );
        for e in t["epochs"].as_array().into_iter().flatten() {
            metrics.extend(
                e["metrics"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone()),
            );
        }
    }
    for k in ["retrain", "test"] {
        metrics.extend(
            data[k]["metrics"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone()),
        );
    }
    let mut header: Vec<String> = [
        "record",
        "stage",
        "trial",
        "state",
        "epochs_trained",
        "best_epoch",
        "epoch",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(params.iter().map(|p| format!("param_{p}")));
    header.extend(metrics.iter().cloned());
    let mut lines = vec![
        header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(","),
    ];
    let mut push = |record: &str,
                    stage: &str,
                    trial: String,
                    state: &str,
                    (trained, best): (String, String),
                    epoch: String,
                    p: &Value,
                    m: &Value| {
        let mut row = vec![
            record.to_string(),
            stage.to_string(),
            trial,
            state.to_string(),
            trained,
            best,
            epoch,
        ];
        row.extend(params.iter().map(|k| scalar(&p[k])));
        row.extend(metrics.iter().map(|k| scalar(&m[k])));
        lines.push(
            row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
    };
    for t in &trials {
        let epochs = t["epochs"].as_array().cloned().unwrap_or_default();
        let (stage, state, trained) = (
            t["stage"].as_str().unwrap_or(""),
            t["state"].as_str().unwrap_or(""),
            scalar(&t["epochs_trained"]),
        );
        // A trial that trained no epoch still gets one row.
        let rows: Vec<(String, &Value)> = if epochs.is_empty() {
            vec![(String::new(), &Value::Null)]
        } else {
            epochs
                .iter()
                .map(|e| (scalar(&e["epoch"]), &e["metrics"]))
                .collect()
        };
        for (epoch, metrics) in rows {
            push(
                "trial",
                stage,
                scalar(&t["trial"]),
                state,
                (trained.clone(), scalar(&t["best_epoch"])),
                epoch,
                &t["params"],
                metrics,
            );
        }
    }
    let sel = &data["selected"];
    if !sel.is_null() {
        let m = json!({ sel["metric"].as_str().unwrap_or("value"): sel["value"] });
        push(
            "selected",
            "",
            scalar(&sel["trial"]),
            "",
            match sel["early_stopping"].as_object() {
                Some(e) => (scalar(&e["trained"]), scalar(&e["best_epoch"])),
                None => (scalar(&sel["epochs"]), String::new()),
            },
            String::new(),
            &sel["config"],
            &m,
        );
    }
    for k in ["retrain", "test"] {
        let r = &data[k];
        if !r.is_null() {
            push(
                k,
                "",
                scalar(&r["from_trial"]),
                "",
                (scalar(&r["epochs"]), String::new()),
                String::new(),
                &r["config"],
                &r["metrics"],
            );
        }
    }
    lines.join("\n") + "\n"
}

pub fn run(
    workflow: &str,
    layout: &Layout,
    format: ExportFormat,
    output: Option<&Path>,
) -> Result<()> {
    let db = super::open_db(layout)?;
    let (name, jobs) = super::workflow_jobs(&db, workflow)?;
    let data = collect(&db, layout, &name, &jobs)?;
    let text = match format {
        ExportFormat::Json => serde_json::to_string_pretty(&data).map_err(Error::internal)? + "\n",
        ExportFormat::Csv => to_csv(&data),
        // Sent to a server by `cmd::mlflow`, never written here.
        ExportFormat::Mlflow => return Err(Error::internal("mlflow export without --to")),
    };
    super::write_output(output, &text).map(|_| ())
}
