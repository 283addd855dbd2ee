//! One libtorch worker started ahead of the job that will use it. Loading libtorch takes a
//! worker process about a third of a second here (its operator registry), which a retrain or
//! an evaluate job would otherwise wait for. So while the last trials of a search train, or
//! while a retrain trains, the next job's worker starts beside them and waits on its stdin;
//! the next `single::run_one` takes it. Like a search's warm workers it is confined on its
//! first request (`train::sandbox`), so it is started ahead only where that holds: never
//! under bubblewrap, which confines a worker to a job when it starts. One not taken (the next
//! job failed, or was found done) exits when hpflow does: its stdin closes.

use std::path::Path;
use std::sync::Mutex;

use crate::train::sandbox;
use crate::workers::Workers;
use crate::workers::pool::{Pool, worker_program};

static SPARE: Mutex<Option<Pool>> = Mutex::new(None);

/// Start a libtorch worker for the next job, unless one waits already.
pub fn start() {
    if sandbox::bwrap_workers() {
        return;
    }
    let Ok(mut spare) = SPARE.lock() else { return };
    if spare.is_some() {
        return;
    }
    let Ok((program, args)) = worker_program(true) else {
        return;
    };
    let mut pool = Pool::new(1, program, args);
    if pool.warm_up().is_ok() {
        *spare = Some(pool);
    }
}

/// The worker started ahead, if it runs `program`.
pub fn take(program: &Path) -> Option<Pool> {
    let mut spare = SPARE.lock().ok()?;
    if spare.as_ref().is_some_and(|p| p.program() == program) {
        spare.take()
    } else {
        None
    }
}
