//! `hpflow gc`: remove the jobs nothing needs any more and the checkpoints of finished
//! searches (their metrics and the best trial's final checkpoint stay). A job is kept when a
//! workflow file on disk still plans it (every file that ran here, also when two share a
//! name), when it is the latest run of a workflow name, or when the test-set access log names
//! it. Everything removed is named first; `--dry-run` stops there.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::stage::retention::size;
use crate::store::layout::short;
use crate::store::{Db, Layout, lock::RunLock};

/// One thing gc removes: what it is, why, where, and its size.
struct Removal {
    what: String,
    why: String,
    /// Shown; `remove` lists the folders actually deleted.
    path: std::path::PathBuf,
    remove: Vec<std::path::PathBuf>,
    bytes: u64,
    /// A job's record goes with its folder; checkpoints leave the record.
    job: Option<String>,
}

pub fn run(layout: &Layout, dry_run: bool) -> Result<()> {
    // Before the lock: the lock would create the runs folder.
    if Db::open_read(&layout.db())?.is_none() {
        println!(
            "nothing to collect: {} has no runs",
            layout.root().display()
        );
        return Ok(());
    }
    let _lock = RunLock::acquire(&layout.lock())?;
    let db = Db::open(&layout.db())?;
    let keep = kept_jobs(&db)?;
    let mut removals = Vec::new();
    for id in db.all_job_ids()? {
        if keep.contains_key(&id) {
            continue;
        }
        let row = db.job(&id)?;
        let dir = layout.job(&id);
        removals.push(Removal {
            what: format!(
                "job {} ({})",
                short(&id),
                row.map_or("unknown".into(), |r| format!("{} {}", r.kind, r.stage))
            ),
            why: "no workflow file on disk plans it, nor is it a workflow's latest run".into(),
            bytes: size(&dir),
            remove: vec![dir.clone()],
            path: dir,
            job: Some(id),
        });
    }
    for id in keep.keys() {
        removals.extend(finished_checkpoints(&db, layout, id)?);
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for r in &removals {
        if !dry_run {
            for p in r.remove.iter().filter(|p| p.exists()) {
                std::fs::remove_dir_all(p).map_err(|e| Error::io(p, e))?;
            }
            if let Some(id) = &r.job {
                db.delete_job(id)?;
            }
        }
        println!(
            "{verb} {} {:.1} MB: {} ({})",
            r.what,
            r.bytes as f64 / 1e6,
            r.path.display(),
            r.why
        );
    }
    let freed: u64 = removals.iter().map(|r| r.bytes).sum();
    println!(
        "{} {:.1} MB in {} places; kept {} jobs",
        if dry_run { "would free" } else { "freed" },
        freed as f64 / 1e6,
        removals.len(),
        keep.len()
    );
    Ok(())
}

/// Job id → why it stays.
fn kept_jobs(db: &Db) -> Result<BTreeMap<String, String>> {
    let mut keep = BTreeMap::new();
    for (file, name) in db.workflow_files()? {
        let path = std::path::Path::new(&file);
        if !path.is_file() {
            continue;
        }
        match crate::workflow::load(path).and_then(|wf| crate::plan::build(&wf)) {
            Ok(plan) => {
                for j in plan.jobs {
                    keep.entry(j.id)
                        .or_insert_with(|| format!("planned by {file}"));
                }
            }
            // A file that does not load now (being edited?) keeps what it last ran.
            Err(_) => {
                for (_, id) in db.workflow_jobs(&name)? {
                    keep.entry(id)
                        .or_insert_with(|| format!("{file} does not load"));
                }
            }
        }
    }
    for (name, _) in db.workflows()? {
        for (_, id) in db.workflow_jobs(&name)? {
            keep.entry(id)
                .or_insert_with(|| format!("latest run of {name}"));
        }
    }
    // Jobs in the test-set access log stay recorded: the audit must be able to name them.
    for a in db.accesses()? {
        keep.entry(a.job)
            .or_insert_with(|| "in the test-set access log".into());
    }
    Ok(keep)
}

/// A finished search's checkpoints, but the best trial's last one: nothing resumes from them.
fn finished_checkpoints(db: &Db, layout: &Layout, id: &str) -> Result<Vec<Removal>> {
    let Some(job) = db
        .job(id)?
        .filter(|j| j.kind == "search" && j.status == crate::vocab::JobState::Done)
    else {
        return Ok(Vec::new());
    };
    let best =
        crate::stage::output::Outputs::of_row(db, &job)?.and_then(|o| o.search().map(|s| s.trial));
    let mut out = Vec::new();
    for t in db.trials(id)? {
        let root = layout.trial(id, t.trial).checkpoints();
        let epochs = crate::train::checkpoint::epochs(&root);
        let last = epochs.last().copied();
        let gone: Vec<u32> = epochs
            .into_iter()
            .filter(|&e| !(Some(t.trial) == best && Some(e) == last))
            .collect();
        let (Some(first), Some(end)) = (gone.first(), gone.last()) else {
            continue;
        };
        let remove: Vec<_> = gone
            .iter()
            .map(|&e| root.join(crate::train::checkpoint::folder_name(e)))
            .collect();
        out.push(Removal {
            what: format!(
                "checkpoints of job {} trial {} ({})",
                short(id),
                t.trial,
                if first == end {
                    format!("epoch {first}")
                } else {
                    format!("epochs {first}..{end}")
                }
            ),
            why: if Some(t.trial) == best {
                "the search is done; its final checkpoint stays".into()
            } else {
                "the search is done".into()
            },
            bytes: remove.iter().map(|p| size(p)).sum(),
            path: root,
            remove,
            job: None,
        });
    }
    Ok(out)
}
