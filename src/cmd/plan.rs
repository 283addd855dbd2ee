//! `hpflow plan WORKFLOW [--json]`: each job, its hash and what went into it; runs nothing.

use std::path::Path;

use serde_json::json;

use crate::error::Result;
use crate::store::layout::short;
use crate::store::{Db, Layout};
use crate::workflow::StageSpec;
use crate::workflow::executor::ExecutorKind;

pub fn run(
    path: &Path,
    layout: &Layout,
    as_json: bool,
    executor: Option<ExecutorKind>,
) -> Result<()> {
    let mut wf = crate::workflow::load(path)?;
    if let Some(kind) = executor {
        wf.executor.kind = kind;
    }
    let plan = crate::plan::build(&wf)?;
    let db = Db::open_read(&layout.db())?;
    let state = |job: &crate::plan::Job| -> Result<String> {
        let row = match &db {
            Some(db) => db.job(&job.id)?,
            None => None,
        };
        let stage = wf.stage(&job.stage).expect("planned stages exist");
        Ok(match row {
            Some(r) if r.status == crate::vocab::JobState::Done => {
                let best = match &db {
                    Some(db) => crate::stage::output::Outputs::of_row(db, &r)?
                        .and_then(crate::stage::output::Outputs::into_search),
                    None => None,
                };
                match best.and_then(|b| crate::stage::search::budget_changed(stage, &b)) {
                    Some(_) => continuation(db.as_ref(), &job.id, stage)?,
                    None => "done".into(),
                }
            }
            Some(r) => format!("{} (will resume)", r.status),
            None => "to run".into(),
        })
    };
    // What `run` would refuse before running anything, said now rather than after a wait.
    let second_looks = match &db {
        Some(db) => crate::exec::second_look::find(&wf, &plan, layout, db)?,
        None => Vec::new(),
    };
    let mut jobs = Vec::new();
    for job in &plan.jobs {
        let stage = wf.stage(&job.stage).expect("planned stages exist");
        let hyperparameters = match &stage.spec {
            StageSpec::Search(s) => match &s.trainer {
                crate::train::TrainerSpec::Torch { model } => {
                    let searched: Vec<&str> =
                        s.space.params.iter().map(|p| p.name.as_str()).collect();
                    let optimizers = crate::train::schema::optimizers_in_use(&s.params, &s.space);
                    let optimizers: Vec<&str> = optimizers.iter().map(String::as_str).collect();
                    Some(crate::train::schema::resolved(
                        model,
                        &s.params,
                        &searched,
                        &optimizers,
                    ))
                }
                _ => None,
            },
            _ => None,
        };
        let narrowed = match &stage.spec {
            StageSpec::Search(s) => narrowed(s, &plan, db.as_ref())?,
            _ => None,
        };
        let schedule = match &stage.spec {
            StageSpec::Search(s) => Some(crate::search::scheduler::describe(
                &s.strategy,
                &s.budget,
                s.epochs,
            )),
            _ => None,
        };
        // Only under Slurm, so that a local plan reads (and snapshots) as before.
        let slurm = match &stage.spec {
            StageSpec::Search(s) if wf.executor.kind == ExecutorKind::Slurm => {
                Some(crate::workers::slurm::describe(
                    layout,
                    &job.id,
                    &wf.executor.slurm,
                    s.workers,
                    s.threads as u32,
                    s.trainer.needs_torch(),
                ))
            }
            _ => None,
        };
        let mut entry = json!({
            "stage": job.stage,
            "kind": job.kind,
            "id": job.id,
            "needs": job.needs,
            "state": state(job)?,
            "key": job.key,
            "schedule": schedule,
            "hyperparameters": hyperparameters,
            "narrowed": narrowed,
        });
        if let Some(why) = &job.budget_in_identity {
            entry["budget_in_identity"] = json!(why);
        }
        // A growing search hands on its id with its budget: what the stages after it hash.
        if job.output != job.id {
            entry["output"] = json!(job.output);
        }
        if let Some(x) = slurm {
            entry["executor"] = x;
        }
        if let Some(look) = second_looks.iter().find(|l| l.job == job.id) {
            entry["second_look"] = json!({
                "earlier": look.earlier, "rows": look.rows, "text": look.what,
            });
        }
        jobs.push(entry);
    }
    if as_json {
        return super::print_json(&json!({ "workflow": wf.name, "jobs": jobs }));
    }
    let mut rows = vec![vec![
        "stage".into(),
        "kind".into(),
        "job".into(),
        "needs".into(),
        "state".into(),
    ]];
    for j in &jobs {
        rows.push(vec![
            j["stage"].as_str().unwrap_or_default().into(),
            j["kind"].as_str().unwrap_or_default().into(),
            short(j["id"].as_str().unwrap_or_default()).into(),
            j["needs"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            j["state"].as_str().unwrap_or_default().into(),
        ]);
    }
    println!("workflow {}", wf.name);
    print!("{}", super::table(&rows));
    for j in &jobs {
        let state = j["state"].as_str().unwrap_or_default();
        if state.starts_with("continues") || state.starts_with("shrinks") {
            println!(
                "{} {} {state}",
                j["stage"].as_str().unwrap_or_default(),
                short(j["id"].as_str().unwrap_or_default())
            );
        }
    }
    for j in &jobs {
        let defaults: Vec<String> = j["hyperparameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| h["source"] == "default")
            .map(|h| {
                format!(
                    "{} {}",
                    h["name"].as_str().unwrap_or_default(),
                    h["value"].as_str().unwrap_or_default()
                )
            })
            .collect();
        if !defaults.is_empty() {
            print!(
                "\n{}: at their defaults: {}\n",
                j["stage"].as_str().unwrap_or_default(),
                defaults.join("; ")
            );
        }
        if let Some(n) = j["narrowed"].as_object() {
            print!(
                "\n{}: {}\n",
                j["stage"].as_str().unwrap_or_default(),
                n.get("text").and_then(|t| t.as_str()).unwrap_or_default()
            );
        }
        if let Some(x) = j.get("executor") {
            let words: Vec<&str> = x["sbatch"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_str())
                .collect();
            print!(
                "\n{}: on Slurm, {} worker job(s), each submitted as\n  {}\n  running {}\n",
                j["stage"].as_str().unwrap_or_default(),
                x["worker_jobs"],
                words.join(" "),
                x["runs"].as_str().unwrap_or_default()
            );
        }
        if let Some(why) = j["budget_in_identity"].as_str() {
            print!(
                "\n{}: another budget is another search: {why}\n",
                j["stage"].as_str().unwrap_or_default()
            );
        }
        if let Some(look) = j.get("second_look") {
            print!(
                "\n{}: would be refused: a second look at the test rows of evaluate {}\n  {}\n  \
                 (`hpflow run --allow-second-look` evaluates anyway; the audit lists it as accepted)\n",
                j["stage"].as_str().unwrap_or_default(),
                short(look["earlier"].as_str().unwrap_or_default()),
                look["text"].as_str().unwrap_or_default(),
            );
        }
        let es = &j["key"]["config"]["early_stopping"];
        if es.is_object() {
            print!(
                "\n{}: early stopping: a trial stops after {} without {} improving by more than {} ({}); it reports its best epoch, which retrain trains to\n",
                j["stage"].as_str().unwrap_or_default(),
                crate::text::plural(es["patience"].as_u64().unwrap_or(0), "epoch"),
                es["metric"].as_str().unwrap_or_default(),
                es["min_delta"],
                es["goal"].as_str().unwrap_or_default(),
            );
        }
        if !j["schedule"].is_null() {
            print!(
                "\n{}",
                schedule_text(j["stage"].as_str().unwrap_or_default(), &j["schedule"])
            );
        }
    }
    Ok(())
}

/// A done search under a new budget: the same job runs on (a sweep that grows) or selects
/// within what it did (a smaller budget). Counted in trials, as the budget is.
fn continuation(db: Option<&Db>, job: &str, stage: &crate::workflow::Stage) -> Result<String> {
    let StageSpec::Search(s) = &stage.spec else {
        return Ok("done".into());
    };
    let done = match db {
        Some(db) => db
            .trials(job)?
            .iter()
            .filter(|t| {
                t.state == crate::vocab::TrialRowState::Done
                    || t.state == crate::vocab::TrialRowState::Failed
            })
            .count(),
        None => 0,
    };
    let planned = crate::search::scheduler::describe(&s.strategy, &s.budget, s.epochs)["trials"]
        .as_u64()
        .map(|t| t as usize);
    let trials = |n: usize| crate::text::plural(n as u64, "trial");
    Ok(match (planned, s.budget.open_ended_by()) {
        (Some(p), _) if p >= done => {
            format!("continues: {} done, {} to train", trials(done), p - done)
        }
        (Some(p), _) => format!(
            "shrinks: selects among the first {} of {} done, none to train",
            p, done
        ),
        (None, Some(by)) => format!(
            "continues: {} done, more until {by} are spent",
            trials(done)
        ),
        (None, None) => format!("continues: {} done", trials(done)),
    })
}

fn rungs_text(rungs: &serde_json::Value) -> String {
    let parts: Vec<String> = rungs
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| format!("{}×{}", r["n"], r["epochs"]))
        .collect();
    parts.join("  ")
}

/// A search's schedule for people: Hyperband's brackets as the paper's table (trials ×
/// epochs per rung), other schedulers as one line of their settings.
fn schedule_text(stage: &str, d: &serde_json::Value) -> String {
    let mut out = String::new();
    let mut head = format!("{stage}: {}", d["scheduler"].as_str().unwrap_or("search"));
    if let Some(t) = d["trials"].as_u64() {
        head.push_str(&format!(", {t} trials"));
    }
    if let Some(by) = d["until"].as_str() {
        head.push_str(&format!(
            ", new trials until {by} are spent (at most {})",
            d["trials_at_most"]
        ));
    }
    if let Some(e) = d["epochs_max"].as_u64() {
        head.push_str(&format!(", at most {e} epochs trained"));
        if let Some(r) = d["epochs_if_retrained"].as_u64() {
            head.push_str(&format!(" ({r} if promotions retrained from scratch)"));
        }
    }
    out.push_str(&head);
    out.push('\n');
    if let Some(brackets) = d["brackets"].as_array() {
        let mut rows = vec![vec![
            "  bracket".to_string(),
            "rungs (trials×epochs)".to_string(),
        ]];
        for b in brackets {
            rows.push(vec![format!("  {}", b["s"]), rungs_text(&b["rungs"])]);
        }
        out.push_str(&super::table(&rows));
    } else if d["rungs"].is_array() {
        out.push_str(&format!(
            "  rungs (trials×epochs): {}\n",
            rungs_text(&d["rungs"])
        ));
    }
    out
}

/// A `narrow:` search's space: derived from the upstream's trials once that search is done,
/// else said to come later.
fn narrowed(
    s: &crate::workflow::SearchSpec,
    plan: &crate::plan::Plan,
    db: Option<&Db>,
) -> Result<Option<serde_json::Value>> {
    let Some(n) = &s.narrow else { return Ok(None) };
    let upstream = plan.job(&n.from).map(|j| j.id.clone()).unwrap_or_default();
    let done = match db {
        Some(db) => db
            .job(&upstream)?
            .is_some_and(|r| r.status == crate::vocab::JobState::Done),
        None => false,
    };
    let derived = match (db, done) {
        (Some(db), true) => crate::stage::search::narrowing::derive(db, &upstream, s)?,
        _ => None,
    };
    Ok(Some(match derived {
        Some(d) => {
            let ranges: Vec<String> = d
                .space
                .params
                .iter()
                .map(|p| format!("{} {}", p.name, dist_text(&p.dist)))
                .collect();
            json!({
                "from": n.from, "space": d.space, "ranked": d.ranked, "used": d.used,
                "text": format!("space narrowed from {} (the best {} of {} trials): {}", n.from, d.used, d.ranked, ranges.join("; ")),
            })
        }
        None => json!({
            "from": n.from,
            "text": format!("space narrowed from {} once that search is done (top {})", n.from, n.top),
        }),
    }))
}

fn dist_text(d: &crate::search::space::Dist) -> String {
    use crate::search::space::Dist;
    let g = |x: f64| {
        format!("{x:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    };
    match d {
        Dist::Uniform { low, high } => format!("uniform [{}, {}]", g(*low), g(*high)),
        Dist::LogUniform { low, high } => format!("loguniform [{low:.3e}, {high:.3e}]"),
        Dist::Int { low, high, .. } => format!("int [{low}, {high}]"),
        Dist::Choice(o) => format!(
            "choice [{}]",
            o.iter()
                .map(|v| v.as_str().map_or(v.to_string(), String::from))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
