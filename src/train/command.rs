//! The `command` trainer: any program. It gets the hyperparameters as `{name}` substitutions
//! in its arguments and as `HPFLOW_PARAMS` (JSON), the target epoch count as `HPFLOW_EPOCHS`,
//! and a folder to save and resume from as `HPFLOW_CHECKPOINT_DIR`; its rows come as CSV files
//! (`command_data`). It prints one JSON line per
//! epoch (`{"epoch": 1, "val_loss": 0.3}`); its other output lines go to `stdout.log` in the
//! trial folder. It runs in the workflow's folder. A program that exits non-zero fails the
//! trial, with the last lines of its stderr as the reason.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::train::metric_line::non_finite;
use crate::train::protocol::{EpochMetrics, Mode};
use crate::train::sandbox::{self, Kind, Scope};
use crate::train::{TrainRequest, Trainer, TrainerSpec, TrialState, TrialStatus};

pub struct CommandTrainer;

/// Replace `{name}` in an argument by the parameter's value (strings without quotes).
pub fn substitute(arg: &str, config: &crate::search::Config) -> String {
    let mut out = arg.to_string();
    for (k, v) in config {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{k}}}"), &text);
    }
    out
}

impl Trainer for CommandTrainer {
    fn run(&mut self, req: &TrainRequest) -> Result<TrialStatus, String> {
        let TrainerSpec::Command { argv } = &req.trainer else {
            return Err("not a command trial".into());
        };
        let trial_dir = std::path::absolute(&req.trial_dir).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&trial_dir).map_err(|e| e.to_string())?;
        let dir = crate::train::TrialDir::of(&trial_dir);
        // Evaluate mode measures the retrained model (`HPFLOW_MODEL_DIR`, read-only in the
        // sandbox): whatever the program saves goes to a fresh scratch folder.
        let ckpt = match &req.mode {
            Mode::Evaluate { .. } => {
                let _ = std::fs::remove_dir_all(dir.scratch());
                dir.scratch()
            }
            _ => dir.command_checkpoint(),
        };
        std::fs::create_dir_all(&ckpt).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(dir.tmp()).map_err(|e| e.to_string())?;
        let data_env = match crate::train::command_data::env(req) {
            Ok(e) => e,
            Err(why) => return Ok(failed(req, format!("preparing the rows: {why}"))),
        };
        if let Some(from) = &req.clone_from {
            copy_dir(from, &ckpt).map_err(|e| format!("cloning {}: {e}", from.display()))?;
        }
        let args: Vec<String> = argv.iter().map(|a| substitute(a, &req.config)).collect();
        // The program's own layer: its trial folder, the rows files it is given, its program.
        let files: Vec<std::path::PathBuf> = data_env
            .iter()
            .filter(|(k, _)| ["TRAIN", "VAL", "TEST"].iter().any(|p| k.contains(p)))
            .map(|(_, v)| v.into())
            .collect();
        let sandbox = sandbox::for_program();
        let mut ruleset = match sandbox {
            Kind::Landlock => Some(Scope::program(req, &args[0], &files).ruleset()?),
            _ => None,
        };
        let workdir = req.workdir.as_deref().unwrap_or(&trial_dir);
        let argv = match sandbox {
            Kind::Bwrap => sandbox::bwrap::wrap(req, &files, workdir, &args)?,
            _ => args.clone(),
        };
        let stderr_path = crate::train::TrialDir::of(&req.trial_dir).stderr_log();
        let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(workdir)
            .env("HPFLOW_CHECKPOINT_DIR", &ckpt)
            .env("HPFLOW_TRIAL_DIR", &req.trial_dir)
            .env("HPFLOW_EPOCHS", req.epochs.to_string())
            .env("HPFLOW_SEED", req.seed.to_string())
            .env(
                "HPFLOW_PARAMS",
                serde_json::to_string(&req.config).unwrap_or_default(),
            )
            .env("HPFLOW_SANDBOX", sandbox.as_str())
            .env_remove(sandbox::HIDE_ENV)
            .env("TMPDIR", dir.tmp())
            .envs(data_env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        // The program must not outlive its worker (which dies with the coordinator): an
        // orphan would race the restarted trial on the same checkpoint folder.
        // SAFETY: prctl and Landlock's restrict_self (two syscalls on a ruleset made before
        // the fork; its error path is never taken where it would allocate) are all that run
        // between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if let Some(r) = ruleset.take()
                    && r.restrict_self().is_err()
                {
                    return Err(std::io::Error::from_raw_os_error(libc::EPERM));
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", args[0]))?;
        drop(command); // the parent's copy of the ruleset
        let ended = if matches!(req.mode, Mode::Evaluate { .. }) {
            let ended = evaluate(req, child, &stderr_path);
            // The test rows and whatever the program saved leave with it.
            let _ = std::fs::remove_dir_all(dir.test_rows());
            let _ = std::fs::remove_dir_all(dir.scratch());
            ended
        } else {
            train(req, child, &stderr_path)
        };
        let _ = std::fs::remove_dir_all(dir.tmp());
        ended.map(|s| explain_denial(s, sandbox, &stderr_path))
    }
}

/// A program the sandbox denied a file learns why, and what to read instead.
fn explain_denial(mut status: TrialStatus, sandbox: Kind, stderr: &std::path::Path) -> TrialStatus {
    let denied = sandbox != Kind::None
        && status.state == TrialState::Failed
        && sandbox::denied(sandbox, &tail(stderr, 20));
    if denied && let Some(reason) = &mut status.reason {
        reason.push_str("; ");
        reason.push_str(sandbox::DENIED_HINT);
    }
    status
}

/// Search and retrain: read the program's epoch lines until it ends.
fn train(
    req: &TrainRequest,
    mut child: std::process::Child,
    stderr_path: &std::path::Path,
) -> Result<TrialStatus, String> {
    // Epochs recorded before (by an earlier request of this trial) stay; the program
    // reports from where its own checkpoint resumes.
    let mut history = read_history(&req.trial_dir);
    let mut other_lines = 0usize;
    let mut stdout_log: Option<std::io::Result<std::io::BufWriter<std::fs::File>>> = None;
    let mut last_other = String::new();
    // A non-finite metric ends the trial as diverged, as in the built-in trainers.
    let mut diverged: Option<(u32, String)> = None;
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        match crate::train::metric_line::parse(&line) {
            Some(m) => {
                if let Some((name, v)) = non_finite(&m) {
                    diverged = Some((m.epoch, format!("{name} became {v} in epoch {}", m.epoch)));
                    // Nothing it trains from here on counts: stop it, as a built-in
                    // trainer stops.
                    let _ = child.kill();
                    break;
                }
                history.retain(|h| h.epoch < m.epoch);
                history.push(m);
                crate::train::reset_metrics(&req.trial_dir, &history).map_err(|e| e.to_string())?;
                crate::store::atomic::append_work(
                    &crate::train::TrialDir::of(&req.trial_dir).epochs_log(),
                    &line,
                )
                .map_err(|e| e.to_string())?;
            }
            _ => {
                // The program's own messages ("loading data..."): kept, not metrics.
                other_lines += 1;
                last_other = truncate(&line, 200);
                // A log, not a record: appended without a sync per line (a program may
                // print one per batch).
                let log = stdout_log.get_or_insert_with(|| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(crate::train::TrialDir::of(&req.trial_dir).stdout_log())
                        .map(std::io::BufWriter::new)
                });
                if let Ok(w) = log {
                    use std::io::Write;
                    let _ = writeln!(w, "{line}");
                }
            }
        }
    }
    drop(stdout_log); // flushed before anyone reads it
    let exit = child.wait().map_err(|e| e.to_string())?;
    if let Some((epoch, why)) = diverged {
        return Ok(TrialStatus {
            request: req.id,
            state: TrialState::Diverged,
            epoch,
            metrics: Default::default(),
            reason: Some(why),
            seconds: 0.0,
            early: None,
        });
    }
    let epoch = history.last().map_or(0, |h| h.epoch);
    let metrics = history.last().map(|h| h.values.clone()).unwrap_or_default();
    let (state, reason) = if crate::train::worker::stop_requested() && !exit.success() {
        // Ctrl-C reached the program too: it stopped, it did not fail.
        (TrialState::Running, Some("stopped by signal".to_string()))
    } else if !exit.success() {
        (
            TrialState::Failed,
            Some(format!("{exit}; stderr: {}", tail(stderr_path, 5))),
        )
    } else if epoch < req.epochs {
        (
            TrialState::Failed,
            Some(format!(
                "program stopped after epoch {epoch} of {}{}",
                req.epochs,
                if other_lines > 0 {
                    format!(
                        "; its other output ({}, in stdout.log) ends with {last_other:?}; \
                             a metrics line is {{\"epoch\": N, \"{}\": value}}",
                        crate::text::plural(other_lines as u64, "line"),
                        req.metric
                    )
                } else {
                    String::new()
                }
            )),
        )
    } else {
        (TrialState::Done, None)
    };
    let diverged = metrics.values().any(|v| !v.is_finite());
    Ok(TrialStatus {
        request: req.id,
        state: if diverged && state == TrialState::Done {
            TrialState::Diverged
        } else {
            state
        },
        epoch,
        metrics,
        reason: if diverged {
            Some("non-finite metric".into())
        } else {
            reason
        },
        seconds: 0.0,
        early: None,
    })
}

/// A trial that failed before its program ran.
fn failed(req: &TrainRequest, reason: String) -> TrialStatus {
    TrialStatus {
        request: req.id,
        state: TrialState::Failed,
        epoch: 0,
        metrics: Default::default(),
        reason: Some(reason),
        seconds: 0.0,
        early: None,
    }
}

/// Evaluate mode: the program measures its retrained model on `HPFLOW_TEST` and prints the
/// metrics as JSON (`{"test_accuracy": 0.91}`). Recorded are the numbers named `test_*` and
/// those the workflow lists in `evaluate.metrics` (`f1_macro` or `test_f1_macro`, recorded
/// as `test_f1_macro`); a later line's value of a name replaces an earlier one. Nothing else
/// is ever a test result: a line with an epoch or `val_`/`train_` numbers is a program that
/// trained, and any other name is ignored and said. No metrics, a listed metric missing, or a
/// failed exit fails the evaluation.
fn evaluate(
    req: &TrainRequest,
    mut child: std::process::Child,
    stderr_path: &std::path::Path,
) -> Result<TrialStatus, String> {
    let listed: Vec<String> = match &req.mode {
        Mode::Evaluate { metrics, .. } => metrics
            .iter()
            .map(|m| m.strip_prefix("test_").unwrap_or(m).to_string())
            .collect(),
        _ => Vec::new(),
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let (metrics, ignored) = test_metrics(
        BufReader::new(stdout).lines().map_while(|l| l.ok()),
        &listed,
    );
    let exit = child.wait().map_err(|e| e.to_string())?;
    let missing: Vec<String> = listed
        .iter()
        .map(|m| format!("test_{m}"))
        .filter(|m| !metrics.contains_key(m))
        .collect();
    let ignored = if ignored.is_empty() {
        String::new()
    } else {
        format!(
            "; ignored: {} (a test metric is named test_*, or listed in evaluate.metrics)",
            ignored.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    let reason = if !exit.success() {
        Some(format!("{exit}; stderr: {}", tail(stderr_path, 5)))
    } else if metrics.is_empty() {
        Some(format!(
            "the program printed no test metrics in evaluate mode (HPFLOW_MODE=evaluate: \
             measure the model in HPFLOW_MODEL_DIR on the rows in HPFLOW_TEST and print one \
             JSON line such as {{\"test_accuracy\": 0.91}}){ignored}"
        ))
    } else if !missing.is_empty() {
        Some(format!(
            "the program did not print {}, which evaluate.metrics lists{ignored}",
            missing.join(", ")
        ))
    } else {
        None
    };
    Ok(TrialStatus {
        request: req.id,
        state: if reason.is_some() {
            TrialState::Failed
        } else {
            TrialState::Done
        },
        epoch: 0,
        metrics: if reason.is_some() {
            Default::default()
        } else {
            metrics
        },
        reason,
        seconds: 0.0,
        early: None,
    })
}

/// The test metrics in a program's evaluate-mode output lines, and the names it printed that
/// are not test metrics (see `evaluate`). `listed`: the metrics named in the workflow, bare.
fn test_metrics(
    lines: impl Iterator<Item = String>,
    listed: &[String],
) -> (
    std::collections::BTreeMap<String, f64>,
    std::collections::BTreeSet<String>,
) {
    let mut metrics = std::collections::BTreeMap::new();
    let mut ignored = std::collections::BTreeSet::new();
    for line in lines {
        let Ok(serde_json::Value::Object(o)) = serde_json::from_str(&line) else {
            continue;
        };
        // An epoch's line, or validation and training numbers, are a program that ignored
        // HPFLOW_MODE and trained: never test results.
        if o.contains_key("epoch")
            || o.keys()
                .any(|k| k.starts_with("val_") || k.starts_with("train_"))
        {
            ignored.extend(o.keys().cloned());
            continue;
        }
        for (k, v) in &o {
            let bare = k.strip_prefix("test_").unwrap_or(k);
            match v.as_f64() {
                Some(x) if k.starts_with("test_") || listed.iter().any(|m| m == bare) => {
                    metrics.insert(format!("test_{bare}"), x);
                }
                _ => {
                    ignored.insert(k.clone());
                }
            }
        }
    }
    (metrics, ignored)
}

fn read_history(trial_dir: &std::path::Path) -> Vec<EpochMetrics> {
    std::fs::read_to_string(crate::train::TrialDir::of(&trial_dir).metrics())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut last: VecDeque<&str> = VecDeque::new();
    for l in text.lines() {
        if last.len() == n {
            last.pop_front();
        }
        last.push_back(l);
    }
    last.into_iter().collect::<Vec<_>>().join(" | ")
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_file() {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::test_metrics;

    fn run(lines: &[&str], listed: &[&str]) -> (Vec<String>, Vec<String>) {
        let listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
        let (m, i) = test_metrics(lines.iter().map(|s| s.to_string()), &listed);
        (m.into_keys().collect(), i.into_iter().collect())
    }

    #[test]
    fn only_test_metrics_and_listed_ones_are_recorded() {
        // A program that ignored HPFLOW_MODE: its numbers are no test results.
        assert_eq!(
            run(&[r#"{"accuracy": 0.99}"#], &[]),
            (vec![], vec!["accuracy".into()])
        );
        assert_eq!(
            run(&[r#"{"epoch": 1, "test_accuracy": 0.5}"#], &[]).0,
            Vec::<String>::new()
        );
        assert_eq!(
            run(
                &[r#"{"test_accuracy": 0.9, "f1_macro": 0.8, "note": 1}"#],
                &["f1_macro"]
            ),
            (
                vec!["test_accuracy".into(), "test_f1_macro".into()],
                vec!["note".into()]
            )
        );
    }
}
