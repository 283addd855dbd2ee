//! Worker processes on the coordinator's side. Each worker is a long-lived child (`hpflow
//! __worker`, or `hpflow-worker` when libtorch is needed) reading requests on stdin. A reader
//! thread per worker turns its `{"done": id}` lines into events, and its end of output into an
//! `Exited` event. The files in the trial folder are the truth: after an `Exited` event or a
//! wait that timed out, the search reads every status in flight, so a result whose wake-up
//! line was lost is still seen. No file watcher: a watch per trial folder made each trial cost
//! more the more trials came before (inotify bookkeeping grows with the folders watched).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::train::TrainRequest;
use crate::train::sandbox;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Done {
        worker: usize,
        request: u64,
    },
    Exited {
        worker: usize,
    },
    /// The worker's request was lost to something not the trial's doing (a Slurm job
    /// cancelled, timed out, preempted, its node gone): it resumes elsewhere, not a crash.
    Lost {
        worker: usize,
    },
    Files,
    /// Something the person running the search should read (a worker job that waits).
    Note(String),
}

/// A notify watcher on a job's trial folders that sends `Files` when a `status.json` changes.
pub fn watch_statuses(dir: &Path, tx: Sender<Event>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    std::fs::create_dir_all(dir).ok()?;
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok_and(|e| e.paths.iter().any(|p| p.ends_with("status.json"))) {
            let _ = tx.send(Event::Files);
        }
    })
    .ok()?;
    w.watch(dir, notify::RecursiveMode::Recursive).ok()?;
    Some(w)
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The request it is working on.
    busy: Option<u64>,
    /// Started under bubblewrap, in a process group of its own: a stop signal goes to the
    /// group, as bwrap would die of it and take the worker down before its checkpoint.
    group: bool,
}

pub struct Pool {
    program: PathBuf,
    args: Vec<String>,
    workers: Vec<Option<Worker>>,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    /// A stop signal arrived and workers were asked to stop.
    stopping: bool,
}

/// The program that serves trials: `hpflow-worker` (libtorch) beside this binary, or this
/// binary's own hidden `__worker` command.
pub fn worker_program(needs_torch: bool) -> Result<(PathBuf, Vec<String>)> {
    let me = std::env::current_exe()
        .map_err(|e| Error::internal(format!("cannot find own binary: {e}")))?;
    if !needs_torch {
        return Ok((me, vec!["__worker".into()]));
    }
    let torch = me.with_file_name("hpflow-worker");
    if !torch.exists() {
        return Err(Error::Usage(format!(
            "{} is missing: this model needs the libtorch worker (build with scripts/setup)",
            torch.display()
        )));
    }
    Ok((torch, Vec::new()))
}

/// Whether the worker for `req` starts under bubblewrap: where bubblewrap is the mechanism,
/// except a worker of `command` programs (each runs in a tighter namespace of its own, which
/// a namespace without capabilities could not make).
fn in_bwrap(req: &TrainRequest) -> bool {
    sandbox::bwrap_workers() && !matches!(req.trainer, crate::train::TrainerSpec::Command { .. })
}

impl Pool {
    pub fn new(size: usize, program: PathBuf, args: Vec<String>) -> Pool {
        let (tx, rx) = channel();
        Pool {
            program,
            args,
            workers: (0..size).map(|_| None).collect(),
            tx,
            rx,
            stopping: false,
        }
    }

    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// The program its workers run.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// A worker with nothing to do, started if needed.
    pub fn idle(&mut self) -> Option<usize> {
        self.workers
            .iter()
            .position(|w| w.as_ref().is_none_or(|w| w.busy.is_none()))
    }

    pub fn busy(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| w.as_ref().is_some_and(|w| w.busy.is_some()))
            .count()
    }

    /// Start worker `index`; under bubblewrap confined to the job of `first`, the request it
    /// is started for (`train::sandbox`).
    fn spawn(&mut self, index: usize, first: Option<&TrainRequest>) -> Result<()> {
        let mut argv: Vec<std::ffi::OsString> = vec![self.program.clone().into()];
        argv.extend(self.args.iter().map(Into::into));
        let wrapped = match first {
            Some(req) if in_bwrap(req) => {
                let wrapped = sandbox::bwrap::wrap_worker(req, &self.program, &self.args)
                    .map_err(Error::JobFailed)?;
                argv = wrapped.into_iter().map(Into::into).collect();
                true
            }
            _ => false,
        };
        let mut command = Command::new(&argv[0]);
        if wrapped {
            command.env(sandbox::bwrap::WORKER_ENV, "1");
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            // bwrap ignores SIGINT (and passes that on; the worker installs its own handler).
            // SAFETY: signal() is async-signal-safe.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                    libc::signal(libc::SIGINT, libc::SIG_IGN);
                    Ok(())
                });
            }
        } else {
            command.env_remove(sandbox::bwrap::WORKER_ENV);
        }
        let mut child = command
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(&self.program, e))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let done = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v.get("done").and_then(|d| d.as_u64()));
                if let Some(request) = done {
                    let _ = tx.send(Event::Done {
                        worker: index,
                        request,
                    });
                }
            }
            let _ = tx.send(Event::Exited { worker: index });
        });
        let stdin = child.stdin.take();
        self.workers[index] = Some(Worker {
            child,
            stdin,
            busy: None,
            group: wrapped,
        });
        Ok(())
    }

    /// Hand a request to worker `index` (starting it if it is not running).
    pub fn send(&mut self, index: usize, req: &TrainRequest) -> Result<()> {
        let line = crate::workers::record_request(req)?;
        if self.workers[index].is_none() {
            self.spawn(index, Some(req))?;
        }
        let w = self.workers[index].as_mut().expect("spawned");
        let stdin = w
            .stdin
            .as_mut()
            .ok_or_else(|| Error::internal("worker stdin closed"))?;
        if writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .is_err()
        {
            // The worker died; its reader thread reports `Exited` and the item is retried.
            tracing::warn!("worker {index} is gone; the request will be retried");
        }
        w.busy = Some(req.id);
        Ok(())
    }

    /// Mark worker `index` free again (its request finished).
    pub fn release(&mut self, index: usize) {
        if let Some(w) = self.workers[index].as_mut() {
            w.busy = None;
        }
    }

    /// A worker's process ended: reap it and return the request it had.
    pub fn exited(&mut self, index: usize) -> Option<u64> {
        let mut w = self.workers[index].take()?;
        let _ = w.child.wait();
        w.busy
    }

    pub fn next_event(&self, timeout: Duration) -> Option<Event> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Act on stop signals: the first asks the workers to stop after their current epoch's
    /// checkpoint (returns `Ok(true)` that once), a second kills them and ends the run.
    pub fn follow_signals(&mut self) -> Result<bool> {
        if crate::signals::count() >= 2 {
            self.kill();
            return Err(Error::Interrupted);
        }
        if crate::signals::stop_requested() && !self.stopping {
            self.stopping = true;
            self.interrupt();
            return Ok(true);
        }
        Ok(false)
    }

    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// Ask every worker to stop after its current epoch's checkpoint (SIGINT), then close.
    pub fn interrupt(&mut self) {
        for w in self.workers.iter_mut().flatten() {
            let pid = w.child.id() as i32;
            // SAFETY: sending a signal to our own child by pid (or to the group it leads).
            unsafe { libc::kill(if w.group { -pid } else { pid }, libc::SIGINT) };
        }
    }

    pub fn kill(&mut self) {
        for w in self.workers.iter_mut().flatten() {
            let _ = w.child.kill();
        }
    }

    /// Close stdin so workers exit, and wait for them.
    pub fn shutdown(&mut self) {
        for w in self.workers.iter_mut().flatten() {
            w.stdin.take();
        }
        for slot in self.workers.iter_mut() {
            if let Some(mut w) = slot.take() {
                let _ = w.child.wait();
            }
        }
    }
}

impl crate::workers::Workers for Pool {
    fn size(&self) -> usize {
        Pool::size(self)
    }
    fn idle(&mut self) -> Option<usize> {
        Pool::idle(self)
    }
    fn send(&mut self, index: usize, req: &TrainRequest) -> Result<()> {
        Pool::send(self, index, req)
    }
    fn release(&mut self, index: usize) {
        Pool::release(self, index)
    }
    fn exited(&mut self, index: usize) -> Option<u64> {
        Pool::exited(self, index)
    }
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        Pool::next_event(self, timeout)
    }
    fn follow_signals(&mut self) -> Result<bool> {
        Pool::follow_signals(self)
    }
    fn stopping(&self) -> bool {
        Pool::stopping(self)
    }
    fn warm_up(&mut self) -> Result<()> {
        // A worker under bubblewrap is confined to its first request's job: started then.
        if sandbox::bwrap_workers() {
            return Ok(());
        }
        for i in 0..self.workers.len() {
            if self.workers[i].is_none() {
                self.spawn(i, None)?;
            }
        }
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shutdown();
    }
}
