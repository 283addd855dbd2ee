//! The worker loop: read one request per stdin line, run it on the right trainer, write the
//! trial's `status.json` atomically, print `{"done": id}`. A worker lives for many trials, so
//! libtorch is loaded once per process, not once per trial.

use std::io::{BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use crate::store::atomic;
use crate::train::command::CommandTrainer;
use crate::train::function::FunctionTrainer;
use crate::train::sandbox::{Kind, WorkerSandbox};
use crate::train::{TrainRequest, Trainer, TrainerSpec, TrialState, TrialStatus};

/// Serve requests until stdin closes. `torch` is the libtorch trainer where this binary has one.
pub fn serve(torch: Option<Box<dyn Trainer>>) -> crate::error::Result<()> {
    crate::signals::install();
    // A worker must not outlive its coordinator: an orphan still writing into a trial folder
    // would race the fresh worker a restarted coordinator hands the same trial to.
    // SAFETY: plain prctl/getppid calls with constant arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() == 1 {
            return Ok(());
        }
    }
    let stdin = std::io::stdin();
    let mut trainers = Trainers::new(torch);
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| crate::error::Error::io("<stdin>", e))?;
        if line.trim().is_empty() {
            continue;
        }
        if stop_requested() {
            break;
        }
        let req: TrainRequest = serde_json::from_str(&line).map_err(|e| {
            crate::error::Error::internal(format!("bad request from coordinator: {e}"))
        })?;
        let status = trainers.answer(&req);
        trainers.write_status(&req, &status)?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", serde_json::json!({ "done": req.id }));
        let _ = out.flush();
    }
    Ok(())
}

/// Every trainer a worker has, and the one step both kinds of worker share: run a request on
/// the right trainer and turn whatever happens into the status to write.
pub struct Trainers {
    function: FunctionTrainer,
    command: CommandTrainer,
    torch: Option<Box<dyn Trainer>>,
    /// The worker's own confinement, entered on the first request (`train::sandbox`).
    pub sandbox: WorkerSandbox,
}

impl Trainers {
    pub fn new(torch: Option<Box<dyn Trainer>>) -> Self {
        Trainers {
            function: FunctionTrainer,
            command: CommandTrainer,
            torch,
            sandbox: WorkerSandbox::default(),
        }
    }

    pub fn answer(&mut self, req: &TrainRequest) -> TrialStatus {
        let started = Instant::now();
        if let Err(why) = self.sandbox.enter(req) {
            return failed(req, why);
        }
        let trainer: Option<&mut dyn Trainer> = match &req.trainer {
            TrainerSpec::Function { .. } => Some(&mut self.function),
            TrainerSpec::Command { .. } => Some(&mut self.command),
            TrainerSpec::Torch { .. } => self.torch.as_deref_mut(),
        };
        let status = match trainer {
            None => failed(
                req,
                "this worker has no libtorch trainer (run hpflow-worker)".into(),
            ),
            Some(t) => match catch_unwind(AssertUnwindSafe(|| t.run(req))) {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => failed(req, e),
                Err(panic) => failed(req, panic_message(panic)),
            },
        };
        TrialStatus {
            seconds: started.elapsed().as_secs_f64(),
            ..status
        }
    }
}

impl Trainers {
    /// Write the trial's `status.json`: the status, and how the trial was confined
    /// (`"sandbox": "landlock"`, `"bwrap"` or `"none"`, which the audit reports).
    pub fn write_status(
        &self,
        req: &TrainRequest,
        status: &TrialStatus,
    ) -> crate::error::Result<()> {
        let mut value = serde_json::to_value(status).map_err(crate::error::Error::internal)?;
        // A command program is confined on its own (bubblewrap where Landlock is missing).
        let kind = match (self.sandbox.kind().unwrap_or(Kind::None), &req.trainer) {
            (Kind::None, crate::train::TrainerSpec::Command { .. }) => {
                crate::train::sandbox::for_program()
            }
            (k, _) => k,
        };
        value["sandbox"] = serde_json::json!(kind.as_str());
        atomic::replace_json(&crate::train::TrialDir::of(&req.trial_dir).status(), &value)
    }
}

fn failed(req: &TrainRequest, reason: String) -> TrialStatus {
    let epoch =
        crate::train::checkpoint::epochs(&crate::train::TrialDir::of(&req.trial_dir).checkpoints())
            .last()
            .copied()
            .unwrap_or(0);
    TrialStatus {
        request: req.id,
        state: TrialState::Failed,
        epoch,
        metrics: Default::default(),
        reason: Some(reason),
        seconds: 0.0,
        early: None,
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    let msg = if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "unknown panic".into()
    };
    // libtorch errors carry a long C++ backtrace; the first lines say what went wrong.
    let short: Vec<&str> = msg.lines().take(3).collect();
    format!("crashed: {}", short.join(" | "))
}

/// Set when the worker got SIGINT/SIGTERM: trainers finish the epoch they are in, checkpoint,
/// and return a `Running` status instead of starting another.
pub fn stop_requested() -> bool {
    crate::signals::stop_requested()
}
