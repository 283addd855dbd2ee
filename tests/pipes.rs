//! `hpflow run` whose output's reader goes away: stdout or stderr closed early (`| head`), a
//! reader killed mid-run, and `| tee` with Ctrl-C where tee dies first. The run never panics
//! (exit 101): it finishes its work, dropping the output, or stops as Ctrl-C does (141 for a
//! closed output, 130 when a signal came), and a rerun ends with the uninterrupted records.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};

/// Each trial prints a line, and lasts long enough for a reader to go away mid-run.
fn workflow() -> String {
    function_workflow(
        "pipes",
        "{kind: random}",
        24,
        "    params: {epochs: 3, sleep: 0.05}\n    workers: 2\n",
    )
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("w.yaml", &workflow());
    sb
}

/// The records of the same workflow run once with nobody closing anything.
fn uninterrupted() -> Records {
    let clean = sandbox();
    clean.ok(&["-q", "run", "w.yaml"]);
    records(&clean)
}

/// A run whose output was cut: it exited as a clean stop or a finished run, never a panic;
/// every trial it recorded as done is kept, and a rerun ends where an uninterrupted run ends.
fn check_resumes(sb: &Sandbox, code: Option<i32>, allowed: &[i32], what: &str) {
    assert_ne!(code, Some(101), "{what}: panicked");
    assert!(
        code.is_some_and(|c| allowed.contains(&c)),
        "{what}: exit {code:?}, want one of {allowed:?}"
    );
    let (before, _) = records(sb);
    let out = sb.output(&["run", "w.yaml"]);
    assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    let after = records(sb);
    for t in before.iter().filter(|t| t.2 == "done") {
        assert!(after.0.contains(t), "{what}: recorded trial lost: {t:?}");
    }
    assert_eq!(after, uninterrupted(), "{what}");
    let again = sb.json(&["run", "--json", "w.yaml"]);
    for job in again["jobs"].as_array().unwrap() {
        assert_eq!(job["status"], "cached", "{what}: {again}");
    }
}

/// Read `n` lines (fewer if the output ends first).
fn read_lines(reader: impl Read, n: usize) -> Vec<String> {
    BufReader::new(reader)
        .lines()
        .take(n)
        .map_while(Result::ok)
        .collect()
}

#[test]
fn both_outputs_into_head_stop_cleanly_and_resume() {
    // `hpflow run w.yaml 2>&1 | head -3`
    let sb = sandbox();
    let (reader, writer) = std::io::pipe().unwrap();
    let mut cmd = sb.cmd(&["run", "w.yaml"]);
    cmd.stdout(writer.try_clone().unwrap()).stderr(writer);
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // our copies of the write end: the reader must see the only ones hpflow holds
    assert_eq!(read_lines(reader, 3).len(), 3);
    let code = child.wait().unwrap().code();
    check_resumes(&sb, code, &[0, 141], "2>&1 | head -3");
}

#[test]
fn stderr_closed_after_one_line_stops_cleanly_and_resume() {
    let sb = sandbox();
    let mut child = sb
        .cmd(&["run", "w.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    assert_eq!(read_lines(stderr, 1).len(), 1);
    let out = child.wait_with_output().unwrap();
    check_resumes(&sb, out.status.code(), &[0, 141], "stderr closed");
}

#[test]
fn stdout_closed_at_once_finishes_the_run() {
    // `hpflow run w.yaml | head -0`: only the summary goes to stdout, at the end.
    let sb = sandbox();
    let mut child = sb
        .cmd(&["run", "w.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    check_resumes(&sb, Some(0), &[0], "stdout closed");
}

/// `hpflow run w.yaml 2>&1 | cat > out.log`, with `cat` started and fed some lines.
fn run_into_reader(sb: &Sandbox) -> (Child, Child) {
    let (reader, writer) = std::io::pipe().unwrap();
    let log = sb.path().join("out.log");
    // `cat` itself, not `sh -c 'cat > …'`: a shell's child would outlive the kill.
    let cat = std::process::Command::new("cat")
        .stdin(reader)
        .stdout(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut cmd = sb.cmd(&["run", "w.yaml"]);
    cmd.stdout(writer.try_clone().unwrap()).stderr(writer);
    let mut run = cmd.spawn().unwrap();
    drop(cmd);
    let mut cat = cat;
    // Until the reader has passed on a few lines (or the run ended and closed the pipe).
    loop {
        let lines = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count();
        if lines >= 3 || cat.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        run.try_wait().unwrap().is_none(),
        "the run ended before its reader could be killed"
    );
    (run, cat)
}

#[test]
fn a_reader_killed_mid_run_stops_it_cleanly_and_it_resumes() {
    let sb = sandbox();
    let (mut run, mut cat) = run_into_reader(&sb);
    cat.kill().unwrap();
    cat.wait().unwrap();
    let code = run.wait().unwrap().code();
    check_resumes(&sb, code, &[0, 141], "reader killed");
}

#[test]
fn ctrl_c_under_tee_that_died_first_is_an_interrupt() {
    // `hpflow run w.yaml 2>&1 | tee out.log`, then Ctrl-C: tee dies before hpflow has stopped.
    let sb = sandbox();
    let (mut run, mut cat) = run_into_reader(&sb);
    cat.kill().unwrap();
    cat.wait().unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(run.id() as i32, libc::SIGINT) };
    let code = run.wait().unwrap().code();
    check_resumes(&sb, code, &[130], "tee died, then Ctrl-C");
}

#[test]
fn status_follow_into_a_pipe_writes_plain_lines() {
    let sb = sandbox();
    // A run that lasts: `--follow` refreshes until it ends.
    sb.write("w.yaml", &workflow().replace("sleep: 0.05", "sleep: 0.2"));
    let mut run = sb
        .cmd(&["-q", "run", "w.yaml"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until the run has recorded its workflow.
    while !sb.output(&["status", "pipes"]).status.success() && run.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let live = sb.output(&["status", "--follow", "pipes"]);
    assert!(run.wait().unwrap().success());
    // Once more with no run working: one plain table and the closing line.
    let done = sb.output(&["status", "--follow", "pipes"]);
    for out in [&live, &done] {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        assert!(!s.contains('\x1b'), "screen codes in a pipe: {s:?}");
        assert!(s.contains("workflow pipes"), "{s}");
        assert!(s.contains("(no hpflow run is working in"), "{s}");
    }
    // A refresh that shows nothing new is not written again.
    let s = text(&live.stdout);
    let tables: Vec<&str> = s.split("workflow pipes").collect();
    for pair in tables.windows(2) {
        assert_ne!(pair[0], pair[1], "an unchanged refresh was repeated: {s}");
    }
}
