//! `hpflow importance WORKFLOW [--json]`: which hyperparameters mattered, by fANOVA over each
//! search's trials (main effects and pairwise interactions, shares of the metric's variance).

use crate::error::{Error, Result};
use crate::importance::Options;
use crate::importance::job::{SearchImportance, collect};
use crate::store::Layout;

fn percent(f: f64) -> String {
    format!("{:5.1}%", 100.0 * f)
}

/// The aligned text for people.
pub fn render(name: &str, searches: &[SearchImportance]) -> String {
    let mut out = String::new();
    for s in searches {
        let imp = &s.importance;
        let trials = match imp.sampled_from {
            Some(n) => format!("{} trials (drawn from {n})", imp.trials),
            None => format!("{} trials", imp.trials),
        };
        // A plain search compares the values the trials reported, wherever each ended.
        let at = if s.each_reported {
            "each at its reported value".to_string()
        } else {
            format!("at {}", crate::text::plural(u64::from(s.budget), "epoch"))
        };
        out.push_str(&format!(
            "{name} / {}: {} by fANOVA over {trials} {at} ({} trees)\n",
            s.stage, s.metric, imp.trees,
        ));
        let mut rows = vec![vec![
            "parameter".to_string(),
            "scale".into(),
            "share of variance".into(),
            "± across trees".into(),
        ]];
        for p in &imp.params {
            rows.push(vec![
                p.name.clone(),
                serde_json::to_value(p.scale)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                percent(p.share.fraction),
                percent(p.share.std),
            ]);
        }
        for pair in imp.pairs.iter().take(5) {
            rows.push(vec![
                format!("{} × {}", pair.params[0], pair.params[1]),
                "pair".into(),
                percent(pair.share.fraction),
                percent(pair.share.std),
            ]);
        }
        out.push_str(&super::table(&rows));
        let explained: f64 = imp.params.iter().map(|p| p.share.fraction).sum::<f64>()
            + imp.pairs.iter().map(|p| p.share.fraction).sum::<f64>();
        out.push_str(&format!(
            "main effects and pairs explain {} of the variance",
            percent(explained).trim_start()
        ));
        if s.trials_left_out > 0 {
            let why = if s.each_reported {
                "no value: failed or diverged".to_string()
            } else {
                format!("no value at {} epochs", s.budget)
            };
            out.push_str(&format!(
                "; {} trial{} left out ({why})",
                s.trials_left_out,
                if s.trials_left_out == 1 { "" } else { "s" },
            ));
        }
        out.push_str("\n\n");
    }
    out.trim_end().to_string() + "\n"
}

pub fn run(workflow: &str, layout: &Layout, json: bool) -> Result<()> {
    let db = super::open_db(layout)?;
    let (name, jobs) = super::workflow_jobs(&db, workflow)?;
    let searches = collect(&db, layout, &jobs, Options::default())?;
    if searches.is_empty() {
        return Err(Error::Usage(format!(
            "workflow {name:?} has no search that has run yet"
        )));
    }
    let text = if json {
        serde_json::to_string_pretty(&serde_json::json!({ "workflow": name, "searches": searches }))
            .map_err(Error::internal)?
            + "\n"
    } else {
        render(&name, &searches)
    };
    super::emit(&text)
}
