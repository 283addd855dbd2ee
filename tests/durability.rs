//! Power loss (issue 23 item 18): work files are not fsynced, since a resumed run trains again
//! what it lost. Two files are read after their row says done and are never trained again:
//! a PBT donor's checkpoint (a clone copies it) and a retrained `command` program's model
//! (evaluate reads it). The run must fsync them before it records the row. Seen by tracing
//! the run's fsync calls with strace.

mod common;
use common::{Sandbox, function_workflow};

/// Run hpflow under `strace -f` and return the paths it fsynced; `None` when strace cannot
/// run here (it must under CI, where `scripts/setup` installs it).
fn fsynced(sb: &Sandbox, args: &[&str]) -> Option<Vec<String>> {
    let log = sb.path().join("fsync.trace");
    let probe = std::process::Command::new("strace")
        .args(["-f", "-o", "/dev/null", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "strace is missing or cannot trace here (CI=true: it is required)"
        );
        eprintln!("skipped: strace cannot run here");
        return None;
    }
    let mut cmd = std::process::Command::new("strace");
    cmd.current_dir(sb.path())
        .env_remove("HPFLOW_RUNS_DIR")
        .args(["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&log)
        .arg(common::BIN)
        .arg("--runs-dir")
        .arg(sb.runs())
        .args(args);
    let out = cmd.output().expect("spawn strace");
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let trace = std::fs::read_to_string(&log).expect("trace");
    Some(
        trace
            .lines()
            .filter_map(|l| Some(l.split_once('<')?.1.split_once('>')?.0.to_string()))
            .collect(),
    )
}

#[test]
fn a_pbt_donor_checkpoint_is_fsynced_before_its_row() {
    let sb = Sandbox::new();
    let wf = function_workflow(
        "pbt",
        "{kind: pbt, population: 4, interval: 2, max_epochs: 6}",
        4,
        "",
    );
    sb.write("w.yaml", &wf);
    let Some(synced) = fsynced(&sb, &["-q", "run", "w.yaml"]) else {
        return;
    };
    let db = sb.db();
    let donors: Vec<(i64, i64)> = db
        .prepare(
            "SELECT DISTINCT clone_trial, clone_epoch FROM items WHERE clone_trial IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!donors.is_empty(), "the PBT run cloned no member");
    for (trial, epoch) in donors {
        let meta = format!("/trials/{trial:04}/checkpoints/epoch-{epoch:04}/meta.json");
        assert!(
            synced.iter().any(|p| p.ends_with(&meta)),
            "donor checkpoint {meta} was never fsynced; fsynced: {:?}",
            synced
                .iter()
                .filter(|p| p.contains("/trials/"))
                .collect::<Vec<_>>()
        );
    }
}

const PROGRAM: &str = r#"import json, os
p = json.loads(os.environ['HPFLOW_PARAMS'])
ck = os.environ['HPFLOW_CHECKPOINT_DIR']
sp = os.path.join(ck, 'state.pt')
if os.environ['HPFLOW_MODE'] == 'evaluate':
    print(json.dumps({'loss': json.load(open(os.path.join(os.environ['HPFLOW_MODEL_DIR'], 'state.pt')))['w']}))
else:
    start = json.load(open(sp))['epoch'] if os.path.exists(sp) else 0
    for e in range(start + 1, int(os.environ['HPFLOW_EPOCHS']) + 1):
        json.dump({'epoch': e, 'w': p['x']}, open(sp, 'w'))
        print(json.dumps({'epoch': e, 'val_loss': (p['x'] - 0.3) ** 2 + 1.0 / e}))
"#;

#[test]
fn a_retrained_command_model_is_fsynced_before_its_row() {
    let sb = Sandbox::new();
    sb.write("p.py", PROGRAM);
    sb.write(
        "w.yaml",
        "name: dur
seed: 2
stages:
  search:
    kind: search
    model: command
    command: [python3, p.py]
    space:
      x: {uniform: [0, 1]}
    strategy: {kind: random}
    metric: {name: val_loss, goal: minimize}
    budget: {trials: 2}
    params: {epochs: 2}
  retrain:
    kind: retrain
    needs: [search]
",
    );
    let Some(synced) = fsynced(&sb, &["-q", "run", "w.yaml"]) else {
        return;
    };
    let model = "/trials/0000/checkpoints/command/state.pt";
    let retrain: Vec<&String> = synced.iter().filter(|p| p.ends_with(model)).collect();
    assert!(
        !retrain.is_empty(),
        "the retrained program's {model} was never fsynced; fsynced: {:?}",
        synced
            .iter()
            .filter(|p| p.contains("/trials/"))
            .collect::<Vec<_>>()
    );
}
