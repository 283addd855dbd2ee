//! `hpflow report WORKFLOW [-o report.html]`: one self-contained HTML page (`crate::report`):
//! the audit verdict, the jobs, each search's history, importance, slices, parallel
//! coordinates, learning curves and trials, the retrain and the test results.

use std::path::Path;

use crate::error::Result;
use crate::report::Search;
use crate::store::Layout;

pub fn run(workflow: &str, layout: &Layout, output: Option<&Path>) -> Result<()> {
    let db = super::open_db(layout)?;
    let (name, jobs) = super::workflow_jobs(&db, workflow)?;
    let data = super::export::collect_head(&db, &name, &jobs)?;
    let status = super::status::collect(&db, layout, &name, &jobs)?;
    let scope = jobs.iter().map(|(_, id)| id.clone()).collect();
    let (checks, _) = super::audit::findings(&db, layout, Some(&scope))?;
    let mut searches = Vec::new();
    for (stage, id) in &jobs {
        if db.job(id)?.is_some_and(|j| j.kind == "search") {
            searches.push(Search::load(&db, layout, stage, id)?);
        }
    }
    let html = crate::report::page::render(&data, &status, &checks, &searches);
    let path = output.map_or_else(
        || std::path::PathBuf::from(format!("{name}-report.html")),
        Path::to_path_buf,
    );
    if super::write_output(Some(&path), &html)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
