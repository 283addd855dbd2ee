//! Worker processes on the coordinator's side, as the stages use them: a pool serving a
//! search's items (`pool`: local child processes; `slurm`: Slurm jobs reading a queue
//! folder), and one request run to its end (`single`, retrain and evaluate). Below the stages
//! and above the trainers; signal handling (`crate::signals`) sits below all.

pub mod pool;
pub mod single;
pub mod slurm;
pub mod spare;

use std::time::Duration;

use crate::error::Result;
use crate::train::TrainRequest;
use pool::Event;

/// Before a request goes out: the trial folder gets it as a line of `requests.jsonl` (every
/// request the trial received, with the time it was sent, `sent_at`: what `audit` reads)
/// and loses any status an earlier request left, so that only this request's answer can be
/// taken for it. Returns the request's line.
pub fn record_request(req: &TrainRequest) -> Result<String> {
    let dir = crate::train::TrialDir::of(&req.trial_dir);
    let _ = std::fs::remove_file(dir.status());
    let mut logged = serde_json::to_value(req).map_err(crate::error::Error::internal)?;
    logged["sent_at"] = serde_json::json!(crate::store::db::now());
    let line = serde_json::to_string(req).map_err(crate::error::Error::internal)?;
    if !req.trial_dir.is_dir() {
        std::fs::create_dir_all(&req.trial_dir)
            .map_err(|e| crate::error::Error::io(&req.trial_dir, e))?;
    }
    crate::store::atomic::append_work(&dir.requests_log(), &logged.to_string())?;
    Ok(line)
}

/// What a search needs of its workers, whichever executor runs them. Slots are the requests
/// in flight at once; `send` gives one to a free slot, events say when answers may be there.
pub trait Workers {
    fn size(&self) -> usize;
    /// A slot with no request.
    fn idle(&mut self) -> Option<usize>;
    fn send(&mut self, index: usize, req: &TrainRequest) -> Result<()>;
    /// The slot's request was answered.
    fn release(&mut self, index: usize);
    /// The slot's worker ended (`Exited` or `Lost`): the request it had.
    fn exited(&mut self, index: usize) -> Option<u64>;
    fn next_event(&mut self, timeout: Duration) -> Option<Event>;
    /// Act on stop signals: `Ok(true)` once, when a clean stop begins.
    fn follow_signals(&mut self) -> Result<bool>;
    fn stopping(&self) -> bool;
    /// Start the workers before the first request (local processes; a no-op where workers
    /// are started by someone else, as Slurm jobs are).
    fn warm_up(&mut self) -> Result<()> {
        Ok(())
    }
}
