//! `hpflow gc`: remove job folders no workflow's current plan uses, and the checkpoints of
//! finished searches (only their metrics and the best trial's final checkpoint stay).

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::stage::retention::size;
use crate::store::layout::short;
use crate::store::{Db, Layout, lock::RunLock};

pub fn run(layout: &Layout, dry_run: bool) -> Result<()> {
    let _lock = RunLock::acquire(&layout.lock())?;
    let Some(_) = Db::open_read(&layout.db())? else {
        println!(
            "nothing to collect: {} has no runs",
            layout.root().display()
        );
        return Ok(());
    };
    let db = Db::open(&layout.db())?;
    let mut keep = BTreeSet::new();
    for (name, _) in db.workflows()? {
        keep.extend(db.workflow_jobs(&name)?.into_iter().map(|(_, id)| id));
    }
    // Jobs in the test-set access log stay recorded: the audit must be able to name them.
    keep.extend(db.accesses()?.into_iter().map(|a| a.job));
    let mut freed = 0u64;
    let mut removed = Vec::new();
    for id in db.all_job_ids()? {
        if keep.contains(&id) {
            continue;
        }
        let dir = layout.job(&id);
        freed += size(&dir);
        removed.push(format!("job {} (no workflow uses it)", short(&id)));
        if !dry_run {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            db.delete_job(&id)?;
        }
    }
    for id in &keep {
        let Some(job) = db
            .job(id)?
            .filter(|j| j.kind == "search" && j.status == "done")
        else {
            continue;
        };
        let best = job.outputs["trial"].as_u64().map(|t| t as usize);
        for t in db.trials(id)? {
            let root = crate::train::files::checkpoints(&layout.trial(id, t.trial));
            let epochs = crate::train::checkpoint::epochs(&root);
            let keep_epochs: Vec<u32> = if Some(t.trial) == best {
                epochs.last().copied().into_iter().collect()
            } else {
                vec![]
            };
            for e in epochs.iter().filter(|e| !keep_epochs.contains(e)) {
                let dir = root.join(crate::train::checkpoint::folder_name(*e));
                freed += size(&dir);
                if !dry_run {
                    std::fs::remove_dir_all(&dir).map_err(|err| Error::io(&dir, err))?;
                }
            }
        }
    }
    for r in &removed {
        println!("{} {r}", if dry_run { "would remove" } else { "removed" });
    }
    println!(
        "{} {:.1} MB",
        if dry_run { "would free" } else { "freed" },
        freed as f64 / 1e6
    );
    Ok(())
}
