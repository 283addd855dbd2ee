//! `hpflow run --retry-failed`: after the cause of some trials' failures is fixed, a rerun
//! trains only the failed trials again (the others keep their rows), the decisions after
//! them follow the new results, and job ids stay the same.

mod common;
use common::{Sandbox, text};

/// Crashes (like a CUDA out-of-memory) for x in `broken`'s range while it exists; resumes
/// from its checkpoint; logs every epoch it trains to `trained.log` in its trial folder (the
/// sandbox lets it write nowhere else) as `mode,trial,epoch`.
const PROGRAM: &str = r#"import json, os, sys
p = json.loads(os.environ['HPFLOW_PARAMS'])
x = p['x']
trial = os.path.basename(os.environ['HPFLOW_TRIAL_DIR'])
mode = os.environ['HPFLOW_MODE']
lo, hi = map(float, open('broken').read().split()) if os.path.exists('broken') else (2, 2)
if lo < x < hi:
    sys.stderr.write('RuntimeError: CUDA out of memory (x=%s)\n' % x)
    sys.exit(1)
ck = os.environ['HPFLOW_CHECKPOINT_DIR']
sp = os.path.join(ck, 'state.json')
start = json.load(open(sp))['epoch'] if os.path.exists(sp) else 0
with open(os.path.join(os.environ['HPFLOW_TRIAL_DIR'], 'trained.log'), 'a') as log:
    for e in range(start + 1, int(os.environ['HPFLOW_EPOCHS']) + 1):
        log.write('%s,%s,%d\n' % (mode, trial, e))
        json.dump({'epoch': e}, open(sp, 'w'))
        print(json.dumps({'epoch': e, 'val_loss': (x - 0.3) ** 2 + 1.0 / e}))
"#;

fn workflow(strategy: &str, budget: &str) -> String {
    format!(
        "name: retry
seed: 5
stages:
  search:
    kind: search
    model: command
    command: [python3, p.py]
    space:
      x: {{uniform: [0, 1]}}
    strategy: {strategy}
    metric: {{name: val_loss, goal: minimize}}
    budget: {budget}
    workers: 2
    max_failed: 0.2
  retrain:
    kind: retrain
    needs: [search]
"
    )
}

fn setup(wf: &str, broken: Option<&str>) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("p.py", PROGRAM);
    sb.write("w.yaml", wf);
    if let Some(range) = broken {
        sb.write("broken", range);
    }
    sb
}

/// (trial, config, state, epochs, value, metrics) of every trial, by trial.
fn trial_rows(sb: &Sandbox) -> Vec<(i64, String, String, i64, Option<f64>, Option<String>)> {
    let db = sb.db();
    let mut st = db
        .prepare(
            "SELECT trial, config_json, state, epochs, value, metrics_json FROM trials
             JOIN jobs ON jobs.id = trials.job WHERE jobs.kind = 'search' ORDER BY trial",
        )
        .unwrap();
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Lines of every `trained.log` under `runs/` of search trials, per trial folder name.
fn trained(sb: &Sandbox) -> std::collections::BTreeMap<String, usize> {
    fn logs(dir: &std::path::Path, out: &mut String) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                logs(&p, out);
            } else if p.file_name().is_some_and(|n| n == "trained.log") {
                out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    let mut log = String::new();
    logs(&sb.path().join("runs"), &mut log);
    let mut out = std::collections::BTreeMap::new();
    for l in log.lines().filter(|l| l.starts_with("search,")) {
        *out.entry(l.split(',').nth(1).unwrap().to_string())
            .or_insert(0) += 1;
    }
    out
}

fn job_ids(sb: &Sandbox) -> Vec<String> {
    let db = sb.db();
    let mut st = db.prepare("SELECT id FROM jobs ORDER BY id").unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn retry_failed_trains_only_the_failed_trials_again() {
    let sb = setup(
        &workflow("{kind: random}", "{trials: 8}\n    params: {epochs: 2}"),
        Some("0.5 1"),
    );
    let out = sb.output(&["run", "w.yaml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("max_failed") && err.contains("--retry-failed"),
        "{err}"
    );
    let before = trial_rows(&sb);
    let failed: Vec<i64> = before
        .iter()
        .filter(|r| r.2 == "failed")
        .map(|r| r.0)
        .collect();
    assert!(failed.len() > 1 && failed.len() < 8, "{before:?}");
    let log_before = trained(&sb);
    let jobs_before = job_ids(&sb);

    // Without the flag the search stays as it is and the run still stops.
    std::fs::remove_file(sb.path().join("broken")).unwrap();
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(trained(&sb), log_before);

    let out = sb.output(&["run", "w.yaml", "--retry-failed"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let after = trial_rows(&sb);
    assert_eq!(after.len(), 8, "{after:?}");
    for (b, a) in before.iter().zip(&after) {
        if failed.contains(&b.0) {
            assert_eq!(a.2, "done", "retried trial {a:?}");
            assert_eq!(a.1, b.1, "same configuration: {a:?}");
        } else {
            assert_eq!(a, b, "a trial that succeeded is unchanged");
        }
    }
    let log_after = trained(&sb);
    for (trial, n) in &log_after {
        let t: i64 = trial.parse().unwrap();
        if failed.contains(&t) {
            assert_eq!(*n, 2, "trial {t} trained its 2 epochs once");
        } else {
            assert_eq!(
                Some(n),
                log_before.get(trial),
                "trial {t} was not trained again"
            );
        }
    }
    assert_eq!(log_after.len(), 8, "{log_after:?}");
    let jobs_after = job_ids(&sb);
    assert!(
        jobs_before.iter().all(|j| jobs_after.contains(j)) && jobs_after.len() == 2,
        "job ids stay: {jobs_before:?} {jobs_after:?}"
    );
    // Nothing failed is left: a second retry has nothing to do.
    let again = sb.output(&["run", "w.yaml", "--retry-failed"]);
    assert!(again.status.success());
    assert!(
        text(&again.stderr).contains("cached"),
        "{}",
        text(&again.stderr)
    );
}

/// The search's `best.json`.
fn best(s: &Sandbox) -> String {
    std::fs::read_to_string(
        std::fs::read_dir(s.runs())
            .unwrap()
            .flatten()
            .map(|e| e.path().join("best.json"))
            .find(|p| p.exists())
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn retried_successive_halving_decides_as_a_run_that_never_failed() {
    let wf = workflow(
        "{kind: sha, eta: 2, min_epochs: 1, max_epochs: 4}",
        "{trials: 8}",
    );
    let clean = setup(&wf, None);
    clean.ok(&["-q", "run", "w.yaml"]);
    // The trials near the optimum (0.3) crash: the first run promotes others.
    let sb = setup(&wf, Some("0.15 0.45"));
    let out = sb.output(&["-q", "run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_ne!(
        trial_rows(&sb)
            .iter()
            .filter(|r| r.2 == "done")
            .map(|r| r.3)
            .max(),
        None
    );
    let first_best = best(&sb);
    let rung0: std::collections::BTreeMap<String, usize> = trained(&sb);
    std::fs::remove_file(sb.path().join("broken")).unwrap();
    let out = sb.output(&["run", "w.yaml", "--retry-failed"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Same trials, values and promotions as a run that never failed.
    let strip = |rows: Vec<(i64, String, String, i64, Option<f64>, Option<String>)>| {
        rows.into_iter()
            .map(|r| (r.0, r.1, r.2, r.3, r.4.map(|v| format!("{v:.9}"))))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(trial_rows(&sb)), strip(trial_rows(&clean)));
    assert_eq!(best(&sb), best(&clean));
    assert_ne!(
        first_best,
        best(&clean),
        "the retried trials changed the selection"
    );
    // Every epoch trained once: what the first run trained stays, the retry adds only what
    // a run that never failed trained beyond it.
    let all = trained(&sb);
    for (trial, n) in trained(&clean) {
        let first = rung0.get(&trial).copied().unwrap_or(0);
        assert_eq!(
            all[&trial],
            n.max(first),
            "trial {trial}: {all:?} {rung0:?}"
        );
    }
}

#[test]
fn status_groups_failures_that_differ_only_in_parameter_values() {
    let sb = setup(
        &workflow("{kind: random}", "{trials: 8}\n    params: {epochs: 2}"),
        Some("0.5 1"),
    );
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "most often: exit status: 1; stderr: RuntimeError: CUDA out of memory (x={x})"
        ),
        "{err}"
    );
    let failed = trial_rows(&sb).iter().filter(|r| r.2 == "failed").count();
    assert!(failed > 1);
    let status = sb.ok(&["status", "retry"]);
    let lines: Vec<&str> = status.lines().filter(|l| l.contains(" failed (")).collect();
    assert_eq!(lines.len(), 1, "one group: {status}");
    assert!(
        lines[0].contains(&format!("search: {failed} failed (exit status: 1; stderr: RuntimeError: CUDA out of memory (x={{x}})), e.g. trial")),
        "{status}"
    );
    let json = sb.json(&["status", "--json", "retry"])[0].clone();
    let groups = json["jobs"][0]["failures"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{json}");
    assert_eq!(groups[0]["count"], failed);
    assert!(
        groups[0]["example"].as_str().unwrap().contains("(x=0."),
        "{json}"
    );
}
