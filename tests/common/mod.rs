//! Helpers for tests that drive the real `hpflow` binary in a temporary folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_hpflow");

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// The user's data folder (`XDG_DATA_HOME`) for this sandbox alone: the store of test
    /// looks across projects is per user, and tests running at once must not share one.
    pub xdg: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
            xdg: tempfile::tempdir().expect("temp dir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn runs(&self) -> PathBuf {
        self.path().join("runs")
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    }
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.path())
            .env_remove("HPFLOW_RUNS_DIR")
            .env_remove("HPFLOW_NO_USER_LOOKS")
            .env("XDG_DATA_HOME", self.xdg.path())
            .arg("--runs-dir")
            .arg(self.runs())
            .args(args);
        c
    }
    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("spawn hpflow");
        assert!(
            out.status.success(),
            "hpflow {args:?} failed: {}\n{}",
            out.status,
            text(&out.stderr)
        );
        text(&out.stdout)
    }
    pub fn output(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spawn hpflow")
    }
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("json output")
    }
    /// Start `hpflow ARGS`, wait `delay`, and SIGKILL it if it is still running. Returns
    /// whether the kill landed (the run had not finished).
    pub fn kill_after(&self, args: &[&str], delay: std::time::Duration) -> bool {
        let mut child = self.cmd(args).spawn().expect("spawn hpflow");
        std::thread::sleep(delay);
        let running = child.try_wait().expect("try_wait").is_none();
        if running {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        }
        let _ = child.wait();
        running
    }
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.runs().join("hpflow.db")).expect("open db")
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small function-trainer workflow: `strategy` is the YAML of the strategy mapping.
pub fn function_workflow(name: &str, strategy: &str, trials: usize, extra: &str) -> String {
    format!(
        "name: {name}
seed: 3
stages:
  search:
    kind: search
    model: function
    function: branin
    space:
      x1: {{uniform: [-5.0, 10.0]}}
      x2: {{uniform: [0.0, 15.0]}}
    strategy: {strategy}
    metric: {{name: objective, goal: minimize}}
    budget: {{trials: {trials}}}
{extra}
  retrain:
    kind: retrain
    needs: [search]
  evaluate:
    kind: evaluate
    needs: [retrain]
"
    )
}

/// A test whose real component (a Slurm cluster, a tmpfs mount, a document) cannot start here.
/// Under `CI=true` that is a failure naming what is missing (`scripts/setup` installs them
/// all, so CI must never pass by skipping); elsewhere the test is skipped, saying so.
pub fn missing(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if ci {
        panic!("CI=true, and this test cannot run: {what}");
    }
    eprintln!("SKIPPED: {what}");
}

/// What a run recorded: (trial, config, state, epochs, value) of every trial, and (job,
/// status) of every job.
pub type Records = (
    Vec<(i64, String, String, i64, Option<f64>)>,
    Vec<(String, String)>,
);

/// The records of the sandbox's runs folder, to compare an interrupted run with a clean one.
pub fn records(sb: &Sandbox) -> Records {
    let db = sb.db();
    let mut st = db
        .prepare("SELECT trial, config_json, state, epochs, value FROM trials ORDER BY job, trial")
        .unwrap();
    let trials = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let mut st = db
        .prepare("SELECT id, status FROM jobs ORDER BY id")
        .unwrap();
    let jobs = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (trials, jobs)
}
