//! `hpflow export WORKFLOW --format mlflow --to URI`: send a workflow's trials, retrain and
//! evaluation to an MLflow tracking server (`crate::mlflow`), updating what an earlier export
//! sent.

use crate::error::Result;
use crate::store::Layout;

pub fn run(workflow: &str, layout: &Layout, uri: &str) -> Result<()> {
    let db = super::open_db(layout)?;
    let (name, jobs) = super::workflow_jobs(&db, workflow)?;
    let specs = crate::mlflow::runs::collect(&db, &name, &jobs)?;
    let s = crate::mlflow::send(uri, &name, &specs)?;
    let line = format!(
        "exported {} runs to experiment {:?} (id {}) at {uri}: {} new, {} updated\n",
        specs.len(),
        s.experiment,
        s.experiment_id,
        s.created,
        s.updated
    );
    super::emit(&line)
}
