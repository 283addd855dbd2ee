//! `hpflow export WORKFLOW --format json|csv`: every trial with its parameters, state,
//! per-epoch metrics and epochs trained; the selected configuration; retrain and test results.
//! A search whose budget was made smaller than what it did lists the trials that budget
//! selects among, and counts the others as `kept_for_larger_budget` in its job.
//!
//! The file is written as the trials are read (one trial at a time from SQLite), so a
//! 100,000-trial search exports in constant memory; `collect` builds the whole document for
//! the MLflow upload.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::cli::ExportFormat;
use crate::error::{Error, Result};
use crate::stage::output::Outputs;
use crate::store::{Db, Layout};

/// A job as the export lists it, with the fixed params every one of its trials has.
struct Job {
    stage: String,
    id: String,
    fixed: Map<String, Value>,
    /// A search whose smaller budget selects among some of its recorded trials: those.
    within: Option<BTreeSet<usize>>,
}

/// Everything but the trials: the workflow, its jobs, the selected configuration, the
/// retrain and the test results. With `layout`, a search under a smaller budget than it ran
/// lists only the trials that budget selects among (the others are counted as kept).
fn head(
    db: &Db,
    layout: Option<&Layout>,
    name: &str,
    jobs: &[(String, String)],
) -> Result<(Value, Vec<Job>)> {
    let mut out =
        json!({ "workflow": name, "jobs": [], "selected": null, "retrain": null, "test": null });
    let mut listed = Vec::new();
    for (stage, id) in jobs {
        let row = db.job(id)?;
        let kind = row.as_ref().map(|r| r.kind.clone()).unwrap_or_default();
        let key = db.job_key(id)?.unwrap_or_default();
        let mut entry = json!({
            "stage": stage, "job": id, "kind": kind,
            "status": row.as_ref().map_or("not run".into(), |r| r.status.to_string()),
            "metric": crate::workflow::Metric::of_job_key(&key),
        });
        let within = match layout.filter(|_| kind == "search") {
            Some(layout) => crate::stage::search::within(db, layout, id)?,
            None => None,
        };
        if let Some(w) = within.as_ref().filter(|w| w.kept > 0) {
            entry["kept_for_larger_budget"] = json!(w.kept);
        }
        out["jobs"].as_array_mut().expect("array").push(entry);
        // Fixed params are part of every trial's configuration too.
        let fixed = key["config"]["params"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        listed.push(Job {
            stage: stage.clone(),
            id: id.clone(),
            fixed,
            within: within.map(|w| w.trials),
        });
        let Some(row) = row.filter(|r| r.status == crate::vocab::JobState::Done) else {
            continue;
        };
        let outputs = serde_json::to_value(Outputs::of_row(db, &row)?).map_err(Error::internal)?;
        match kind.as_str() {
            "search" => out["selected"] = outputs,
            "retrain" => out["retrain"] = outputs,
            "evaluate" => out["test"] = outputs,
            _ => {}
        }
    }
    Ok((out, listed))
}

/// Each trial of the jobs as its export object, in job and trial order.
fn each_trial(db: &Db, jobs: &[Job], f: &mut dyn FnMut(Value) -> Result<()>) -> Result<()> {
    for job in jobs {
        db.each_trial(&job.id, &mut |t, epochs| {
            if job.within.as_ref().is_some_and(|w| !w.contains(&t.trial)) {
                return Ok(());
            }
            let mut params = job.fixed.clone();
            params.extend(t.config.as_object().cloned().unwrap_or_default());
            let epochs: Vec<Value> = epochs
                .into_iter()
                .map(|(e, m)| json!({ "epoch": e, "metrics": m }))
                .collect();
            f(json!({
                "stage": job.stage, "job": job.id, "trial": t.trial, "params": params, "state": t.state,
                "epochs_trained": t.epochs, "best_epoch": t.best_epoch, "stopped_early": t.stopped, "metrics": t.metrics, "reason": t.reason, "seconds": t.seconds, "epochs": epochs,
            }))
        })?;
    }
    Ok(())
}

/// The export without its trials (what the report's page needs of it).
pub fn collect_head(db: &Db, name: &str, jobs: &[(String, String)]) -> Result<Value> {
    Ok(head(db, None, name, jobs)?.0)
}

/// The whole export as one document (the MLflow upload reads it).
pub fn collect(db: &Db, layout: &Layout, name: &str, jobs: &[(String, String)]) -> Result<Value> {
    let (mut out, listed) = head(db, Some(layout), name, jobs)?;
    let mut trials = Vec::new();
    each_trial(db, &listed, &mut |t| {
        trials.push(t);
        Ok(())
    })?;
    out["trials"] = Value::Array(trials);
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

fn io(e: std::io::Error) -> Error {
    Error::io("export output", e)
}

/// The CSV's columns: fixed ones, then `param_*` and the metrics, each sorted.
struct Columns {
    params: BTreeSet<String>,
    metrics: BTreeSet<String>,
}

impl Columns {
    fn header(&self) -> Vec<String> {
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
        header.extend(self.params.iter().map(|p| format!("param_{p}")));
        header.extend(self.metrics.iter().cloned());
        header
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        w: &mut dyn Write,
        record: &str,
        stage: &str,
        trial: String,
        state: &str,
        (trained, best): (String, String),
        epoch: String,
        p: &Value,
        m: &Value,
    ) -> Result<()> {
        let mut row = vec![
            record.to_string(),
            stage.to_string(),
            trial,
            state.to_string(),
            trained,
            best,
            epoch,
        ];
        row.extend(self.params.iter().map(|k| scalar(&p[k])));
        row.extend(self.metrics.iter().map(|k| scalar(&m[k])));
        line(w, &row)
    }
}

fn line(w: &mut dyn Write, fields: &[String]) -> Result<()> {
    let text: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    writeln!(w, "{}", text.join(",")).map_err(io)
}

/// One row per trial and epoch (a trial with no epoch gets one row), then the selected
/// configuration, the retrain and the test results as rows of their own. The columns come
/// from SQLite first (the parameter and metric names), so rows are written as they are read.
fn write_csv(db: &Db, head: &Value, jobs: &[Job], w: &mut dyn Write) -> Result<()> {
    let mut cols = Columns {
        params: BTreeSet::new(),
        metrics: BTreeSet::new(),
    };
    for job in jobs {
        let (params, metrics) = db.trial_keys(&job.id)?;
        let has_trials = db.trial_summary(&job.id)?.states.values().sum::<usize>() > 0;
        if has_trials {
            cols.params.extend(job.fixed.keys().cloned());
        }
        cols.params.extend(params);
        cols.metrics.extend(metrics);
    }
    let outputs = |k: &str, kind: &str| {
        Outputs::of(kind, &head[k], Path::new("export"))
            .ok()
            .flatten()
    };
    let (retrain, test) = (outputs("retrain", "retrain"), outputs("test", "evaluate"));
    let retrain = retrain.as_ref().and_then(Outputs::retrain);
    let test = test.as_ref().and_then(Outputs::evaluate);
    cols.metrics
        .extend(retrain.iter().flat_map(|r| r.metrics.keys().cloned()));
    cols.metrics
        .extend(test.iter().flat_map(|t| t.metrics.keys().cloned()));
    line(w, &cols.header())?;
    each_trial(db, jobs, &mut |t| {
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
            cols.row(
                w,
                "trial",
                stage,
                scalar(&t["trial"]),
                state,
                (trained.clone(), scalar(&t["best_epoch"])),
                epoch,
                &t["params"],
                metrics,
            )?;
        }
        Ok(())
    })?;
    if let Some(Outputs::Search(sel)) = outputs("selected", "search") {
        let m = json!({ sel.metric.clone(): sel.value });
        cols.row(
            w,
            "selected",
            &stage_of(head, "search"),
            sel.trial.to_string(),
            "",
            match &sel.early_stopping {
                Some(e) => (e.trained.to_string(), e.best_epoch.to_string()),
                None => (sel.epochs.to_string(), String::new()),
            },
            String::new(),
            &trained_for(&sel.config, sel.epochs),
            &m,
        )?;
    }
    if let Some(r) = retrain {
        cols.row(
            w,
            "retrain",
            &stage_of(head, "retrain"),
            r.from_trial.to_string(),
            "",
            (r.epochs.to_string(), String::new()),
            String::new(),
            &trained_for(&r.config, r.epochs),
            &json!(r.metrics),
        )?;
    }
    if let Some(t) = test {
        cols.row(
            w,
            "test",
            &stage_of(head, "evaluate"),
            String::new(),
            "",
            (String::new(), String::new()),
            String::new(),
            &Value::Null,
            &json!(t.metrics),
        )?;
    }
    Ok(())
}

/// The stage whose outputs the head took for `kind`: the last done job of that kind.
fn stage_of(head: &Value, kind: &str) -> String {
    head["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|j| j["kind"] == kind && j["status"] == "done")
        .map(|j| scalar(&j["stage"]))
        .unwrap_or_default()
}

/// A configuration with its `epochs` parameter (where it has one) set to the epochs the
/// value was measured at or the model trained: under early stopping the winner's best
/// epoch, not the search's `params.epochs`.
fn trained_for(config: &crate::search::Config, epochs: u32) -> Value {
    let mut c = config.clone();
    if let Some(e) = c.get_mut("epochs") {
        *e = json!(epochs);
    }
    json!(c)
}

/// The JSON document, trials last and one per line.
fn write_json(db: &Db, head: &Value, jobs: &[Job], w: &mut dyn Write) -> Result<()> {
    let field = |v: &Value| serde_json::to_string(v).map_err(Error::internal);
    write!(
        w,
        "{{\n  \"workflow\": {},\n  \"jobs\": [",
        field(&head["workflow"])?
    )
    .map_err(io)?;
    for (i, j) in head["jobs"].as_array().into_iter().flatten().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        write!(w, "{sep}\n    {}", field(j)?).map_err(io)?;
    }
    write!(w, "\n  ],").map_err(io)?;
    for k in ["selected", "retrain", "test"] {
        write!(w, "\n  \"{k}\": {},", field(&head[k])?).map_err(io)?;
    }
    write!(w, "\n  \"trials\": [").map_err(io)?;
    let mut first = true;
    each_trial(db, jobs, &mut |t| {
        let sep = if first { "" } else { "," };
        first = false;
        write!(w, "{sep}\n    {}", field(&t)?).map_err(io)
    })?;
    writeln!(w, "\n  ]\n}}").map_err(io)
}

pub fn run(
    workflow: &str,
    layout: &Layout,
    format: ExportFormat,
    output: Option<&Path>,
) -> Result<()> {
    let db = super::open_db(layout)?;
    let (name, jobs) = super::workflow_jobs(&db, workflow)?;
    let (head, listed) = head(&db, Some(layout), &name, &jobs)?;
    super::stream_output(output, &mut |w| match format {
        ExportFormat::Json => write_json(&db, &head, &listed, w),
        ExportFormat::Csv => write_csv(&db, &head, &listed, w),
        // Sent to a server by `cmd::mlflow`, never written here.
        ExportFormat::Mlflow => Err(Error::internal("mlflow export without --to")),
    })
    .map(|_| ())
}
