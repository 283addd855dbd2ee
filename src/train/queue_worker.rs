//! The worker loop of a Slurm worker job: the same requests and trial-folder answers as the
//! stdin worker (`worker`), but requests come from the search's shared queue folder. A job
//! claims a request by renaming it into `claimed/` under its job id (exactly one rename wins),
//! answers it in the trial folder, then drops the claim. The coordinator reads the claims to
//! know which request a dead job held. A job leaves when told to stop, when the search is over
//! (`stop`), or when idle while the coordinator's heartbeat is stale (a coordinator that died
//! and did not come back); a restarted coordinator adopts it before then.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::store::layout::QueueDir;
use crate::train::worker::{Trainers, stop_requested};
use crate::train::{TrainRequest, Trainer};

/// An idle worker whose coordinator has not touched the heartbeat for this long leaves.
pub const ORPHAN_AFTER: Duration = Duration::from_secs(120);
/// Polling backs off from `POLL_MIN` after an answer (the coordinator often issues the next
/// request at once) to `POLL_MAX` while idle, so that a shared filesystem is not listed
/// many times a second by every idle worker.
const POLL_MIN: Duration = Duration::from_millis(10);
const POLL_MAX: Duration = Duration::from_millis(500);

pub fn serve_queue(torch: Option<Box<dyn Trainer>>, dir: &Path) -> Result<()> {
    crate::signals::install();
    let q = QueueDir::of(dir);
    // The Slurm job id names the claims; outside Slurm (tried by hand) the pid does.
    let me = std::env::var("SLURM_JOB_ID").unwrap_or_else(|_| std::process::id().to_string());
    let mut trainers = Trainers::new(torch);
    // The worker claims and drops requests in the queue folder, sandboxed too.
    trainers.sandbox.extra_write.push(dir.to_path_buf());
    requeue_own_claims(&q, &me);
    crate::progress::say(&format!(
        "hpflow worker {me}: serving {}",
        q.queue().display()
    ));
    let mut served = 0usize;
    let mut poll = POLL_MIN;
    while !stop_requested() {
        let Some((claim, req)) = claim_next(&q, &me)? else {
            if q.stop().exists() || orphaned(&q) {
                break;
            }
            std::thread::sleep(poll);
            poll = (poll * 2).min(POLL_MAX);
            continue;
        };
        poll = POLL_MIN;
        let status = trainers.answer(&req);
        trainers.write_status(&req, &status)?;
        // After the status: a claim without a status means the work was lost.
        let _ = std::fs::remove_file(&claim);
        served += 1;
    }
    crate::progress::say(&format!(
        "hpflow worker {me}: leaving after {served} requests"
    ));
    Ok(())
}

/// The oldest waiting request, claimed for `me`; `None` when none waits.
fn claim_next(q: &QueueDir, me: &str) -> Result<Option<(PathBuf, TrainRequest)>> {
    let mut names: Vec<String> = match std::fs::read_dir(q.queue()) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            // Temp files of the atomic writer start with a dot.
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect(),
        Err(_) => return Ok(None),
    };
    names.sort();
    std::fs::create_dir_all(q.claimed_dir()).map_err(|e| Error::io(q.claimed_dir(), e))?;
    for name in names {
        let claim = q.claimed(&name, me);
        // Another worker (or the coordinator withdrawing it) may win the race: try the next.
        if std::fs::rename(q.queue().join(&name), &claim).is_err() {
            continue;
        }
        let text = std::fs::read_to_string(&claim).map_err(|e| Error::io(&claim, e))?;
        let req: TrainRequest = serde_json::from_str(&text)
            .map_err(|e| Error::internal(format!("bad request {}: {e}", claim.display())))?;
        return Ok(Some((claim, req)));
    }
    Ok(None)
}

/// Claims under this job id at start were left by an earlier run of the same job (Slurm
/// requeues a job whose node failed, keeping its id): their requests go back to the queue,
/// to resume from their trials' checkpoints, as the coordinator cannot tell them apart from
/// live ones.
fn requeue_own_claims(q: &QueueDir, me: &str) {
    let suffix = format!("@{me}.json");
    for e in std::fs::read_dir(q.claimed_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(&suffix) {
            let _ = std::fs::rename(e.path(), q.queue().join(format!("{stem}.json")));
        }
    }
}

fn orphaned(q: &QueueDir) -> bool {
    let age = std::fs::metadata(q.heartbeat())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    age.is_some_and(|a| a > ORPHAN_AFTER)
}
