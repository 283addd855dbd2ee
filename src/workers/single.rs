//! Run one request on one worker and wait for its status: retrain and evaluate jobs.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::train::protocol::{TrainRequest, TrialState, TrialStatus};
use crate::workers::pool::{Event, Pool, worker_program};
use crate::workers::spare;

/// `then`: another libtorch job follows this one (another model of the stage, or the next
/// job of the run): its worker starts while this request runs (`spare`).
pub fn run_one(req: &TrainRequest, then: bool) -> Result<TrialStatus> {
    let (program, args) = worker_program(req.trainer.needs_torch())?;
    let mut pool = match spare::take(&program) {
        Some(pool) => {
            tracing::debug!("{}: on a worker started ahead", req.trial_dir.display());
            pool
        }
        None => Pool::new(1, program, args),
    };
    pool.send(0, req)?;
    if then && req.trainer.needs_torch() {
        spare::start();
    }
    loop {
        pool.follow_signals()?;
        let event = pool.next_event(Duration::from_millis(500));
        let status = crate::train::read_status(&req.trial_dir).filter(|s| s.request == req.id);
        if let Some(s) = status {
            if s.state == TrialState::Running {
                return Err(Error::Interrupted);
            }
            return Ok(s);
        }
        if let Some(Event::Exited { .. }) = event {
            if pool.stopping() {
                return Err(Error::Interrupted);
            }
            return Err(Error::JobFailed(format!(
                "the worker for {} exited without an answer",
                req.trial_dir.display()
            )));
        }
    }
}
