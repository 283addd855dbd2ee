//! Slurm's command-line tools as hpflow calls them: `sbatch` to submit a worker job, `squeue`
//! (and `sacct` once a job has left `squeue`) to learn its state, `scancel` to end it. Only
//! this file spells their options and parses their output.

use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};
use crate::workflow::executor::SlurmSettings;

/// What Slurm says of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    pub id: String,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `CANCELLED`, `TIMEOUT`, `NODE_FAIL`, ...
    pub state: String,
    /// Why a pending job waits (`Resources`, `Priority`, `JobHeldUser`, ...), or `None`.
    pub reason: Option<String>,
}

/// States after which a job runs nothing any more.
pub fn is_finished(state: &str) -> bool {
    !matches!(
        state,
        "PENDING"
            | "CONFIGURING"
            | "RUNNING"
            | "COMPLETING"
            | "SUSPENDED"
            | "REQUEUED"
            | "RESIZING"
    ) && !state.starts_with("REQUEUE")
        && !state.starts_with("STAGE_OUT")
        && !state.starts_with("SIGNALING")
}

/// Endings that are the cluster's doing, not the trial's: the item moves to another worker
/// without counting against `retries`. `FAILED` and `OUT_OF_MEMORY` are the worker's own end
/// (a crash, a configuration too big for its memory), so they count as a crash would locally.
pub fn ended_by_cluster(state: &str) -> bool {
    // `COMPLETED` is a worker that left on its own (its queue closed, or a signal it
    // answered by checkpointing and exiting 0): not a crash.
    !matches!(state, "FAILED" | "OUT_OF_MEMORY")
}

/// The `sbatch` options of every worker job of a search (the script comes last).
pub fn sbatch_args(s: &SlurmSettings, name: &str, log_dir: &Path, cpus: u32) -> Vec<String> {
    let mut args = vec![
        "--parsable".to_string(),
        format!("--job-name={name}"),
        format!("--output={}/%j.out", log_dir.display()),
        format!("--cpus-per-task={}", s.cpus_per_worker.unwrap_or(cpus)),
    ];
    let optional = [
        ("--partition", s.partition.clone()),
        ("--account", s.account.clone()),
        ("--qos", s.qos.clone()),
        ("--time", s.time_minutes.map(|m| m.to_string())),
        ("--mem", s.mem.clone()),
        (
            "--gres",
            (s.gpus_per_worker > 0).then(|| format!("gpu:{}", s.gpus_per_worker)),
        ),
    ];
    for (flag, value) in optional {
        if let Some(v) = value {
            args.push(format!("{flag}={v}"));
        }
    }
    args.extend(s.extra.iter().cloned());
    args
}

/// The batch script: the worker program serving the queue folder, `exec`ed so that Slurm's
/// signals (scancel, the time limit) reach it and it checkpoints before it goes.
pub fn script(program: &Path, args: &[String], queue_dir: &Path) -> String {
    let mut words = vec![quote(&program.to_string_lossy())];
    words.extend(args.iter().map(|a| quote(a)));
    words.push("--queue".into());
    words.push(quote(&queue_dir.to_string_lossy()));
    format!(
        "#!/bin/sh\n# An hpflow worker job: serves the trials waiting in {}.\nexec {}\n",
        queue_dir.display(),
        words.join(" ")
    )
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Before anything is written: the Slurm tools are here (hpflow runs on a login node).
pub fn check_installed() -> Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in ["sbatch", "squeue", "scancel"] {
        if !std::env::split_paths(&path).any(|d| d.join(tool).is_file()) {
            return Err(Error::Usage(format!(
                "executor slurm: {tool} is not on PATH; run hpflow where Slurm's commands work \
                 (a login node), or use --executor local"
            )));
        }
    }
    Ok(())
}

/// Before anything runs: the cluster's controller answers. Asks `squeue` for a job name no
/// one uses (an empty answer when all is well). A controller that cannot be reached makes
/// squeue print the same error once per try: one line says so, with squeue's first line.
pub fn check_answers() -> Result<()> {
    let out = Command::new("squeue")
        .args(["--noheader", "--format=%i"])
        .arg(format!("--name=hpflow-check-{}", std::process::id()))
        .output()
        .map_err(|e| Error::Usage(format!("executor slurm: cannot run squeue: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    Err(Error::JobFailed(format!(
        "executor slurm: the cluster does not answer (squeue {}: {first}); nothing was run: \
         check that Slurm's controller is up, or use --executor local",
        out.status
    )))
}

/// Submit one worker job; its Slurm job id.
pub fn submit(args: &[String], script: &Path) -> Result<String> {
    let out = Command::new("sbatch")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| Error::Usage(format!("executor slurm: cannot run sbatch: {e}")))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "executor slurm: sbatch refused the worker job: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // `--parsable` prints `ID` or `ID;CLUSTER`.
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::internal(format!(
            "sbatch printed no job id: {text:?}"
        )));
    }
    Ok(id)
}

/// Every job named `name` that `squeue` still knows (finished ones for a few minutes too).
pub fn query(name: &str) -> Result<Vec<JobState>> {
    let out = Command::new("squeue")
        .args(["--noheader", "--states=all", "--format=%i|%T|%r"])
        .arg(format!("--name={name}"))
        .output()
        .map_err(|e| Error::Usage(format!("executor slurm: cannot run squeue: {e}")))?;
    if !out.status.success() {
        return Err(Error::JobFailed(format!(
            "executor slurm: squeue failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(parse_line)
        .collect())
}

fn parse_line(line: &str) -> Option<JobState> {
    let mut parts = line.trim().split('|');
    let id = parts.next()?.trim().to_string();
    let state = parts.next()?.trim().to_string();
    let reason = parts
        .next()
        .map(str::trim)
        .filter(|r| !r.is_empty() && *r != "None")
        .map(String::from);
    (!id.is_empty()).then_some(JobState { id, state, reason })
}

/// How a job that left `squeue` ended, from accounting; `None` where there is none.
pub fn accounting(id: &str) -> Option<String> {
    let out = Command::new("sacct")
        .args([
            "--noheader",
            "--parsable2",
            "--allocations",
            "--format=State",
        ])
        .arg(format!("--jobs={id}"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `CANCELLED by 0` → `CANCELLED`.
    let state = text.lines().next()?.split_whitespace().next()?.to_string();
    (out.status.success() && !state.is_empty()).then_some(state)
}

/// Cancel jobs (Slurm sends SIGTERM first: a worker checkpoints and leaves).
pub fn cancel(ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    if let Err(e) = Command::new("scancel").args(ids).status() {
        tracing::warn!("scancel failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines() {
        assert_eq!(
            parse_line("12|PENDING|JobHeldUser"),
            Some(JobState {
                id: "12".into(),
                state: "PENDING".into(),
                reason: Some("JobHeldUser".into())
            })
        );
        assert_eq!(parse_line("7|RUNNING|None").and_then(|j| j.reason), None);
        assert!(is_finished("CANCELLED") && is_finished("NODE_FAIL") && !is_finished("PENDING"));
        assert!(ended_by_cluster("TIMEOUT") && !ended_by_cluster("FAILED"));
        // A worker job that ended normally is no worker failure (issue 23 item 11).
        assert!(ended_by_cluster("COMPLETED"));
    }

    #[test]
    fn script_quotes_paths() {
        let s = script(
            Path::new("/opt/it's/hpflow"),
            &["__worker".into()],
            Path::new("/runs/x"),
        );
        assert!(s.contains(r"exec '/opt/it'\''s/hpflow' '__worker' --queue '/runs/x'"));
    }
}
