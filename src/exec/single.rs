//! Run one request on one worker and wait for its status: retrain and evaluate jobs.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::exec::pool::{Event, Pool, worker_program};
use crate::exec::signals;
use crate::train::files;
use crate::train::protocol::{TrainRequest, TrialState, TrialStatus};

pub fn run_one(req: &TrainRequest) -> Result<TrialStatus> {
    let (program, args) = worker_program(req.trainer.needs_torch())?;
    let mut pool = Pool::new(1, program, args, None);
    // A status left by an earlier run (interrupted, or failed before a fix) must not answer.
    let _ = std::fs::remove_file(crate::train::files::status(&req.trial_dir));
    crate::store::atomic::write_json(&req.trial_dir.join("request.json"), req)?;
    pool.send(0, req)?;
    let mut interrupted = false;
    loop {
        if signals::count() >= 2 {
            pool.kill();
            return Err(Error::Interrupted);
        }
        if signals::stop_requested() && !interrupted {
            interrupted = true;
            pool.interrupt();
        }
        let event = pool.next_event(Duration::from_millis(500));
        let status: Option<TrialStatus> = std::fs::read_to_string(files::status(&req.trial_dir))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .filter(|s: &TrialStatus| s.request == req.id);
        if let Some(s) = status {
            if s.state == TrialState::Running {
                return Err(Error::Interrupted);
            }
            return Ok(s);
        }
        if let Some(Event::Exited { .. }) = event {
            if interrupted {
                return Err(Error::Interrupted);
            }
            return Err(Error::JobFailed(format!(
                "the worker for {} exited without an answer",
                req.trial_dir.display()
            )));
        }
    }
}
