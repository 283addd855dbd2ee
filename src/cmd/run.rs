//! `hpflow run WORKFLOW`: plan, then run every job not already done.

use std::path::Path;

use crate::error::Result;
use crate::store::Layout;
use crate::store::layout::short;

pub fn run(path: &Path, layout: &Layout, quiet: bool, json: bool) -> Result<()> {
    let wf = crate::workflow::load(path)?;
    let plan = crate::plan::build(&wf)?;
    let outcomes = crate::exec::run(&wf, &plan, layout, quiet || json)?;
    if json {
        return super::print_json(&serde_json::json!({ "workflow": wf.name, "jobs": outcomes }));
    }
    if quiet {
        return Ok(());
    }
    let mut rows = vec![vec![
        "stage".into(),
        "job".into(),
        "status".into(),
        "time".into(),
    ]];
    for o in &outcomes {
        rows.push(vec![
            o.stage.clone(),
            short(&o.job).into(),
            o.status.clone(),
            format!("{:.1}s", o.seconds),
        ]);
    }
    print!("{}", super::table(&rows));
    if let Some(eval) = outcomes
        .iter()
        .rev()
        .find(|o| o.outputs.get("metrics").is_some() && o.outputs.get("model_from").is_some())
    {
        println!("\ntest metrics ({}):", eval.stage);
        for (k, v) in eval.outputs["metrics"].as_object().into_iter().flatten() {
            println!("  {k:<14} {}", super::fmt_value(v.as_f64()));
        }
    }
    Ok(())
}
