//! A corpus of leaky runs: each plants one way the test set can leak, and `hpflow audit` must
//! flag it with the right check and no other. Clean runs, resumed runs and the shipped
//! workflows must pass.

mod common;
use common::*;

use std::path::Path;
use std::time::Duration;

/// 240 rows of a 3-class problem, no feature of which predicts the class alone (the split's
/// `single_feature` check would find that).
fn rows_csv(extra_copies: usize) -> String {
    let mut text = String::from("a,b,c,d,label\n");
    let mut rows = Vec::new();
    for i in 0..240 {
        let k = i % 3;
        // Distinct rows: the last term differs for every i.
        let x = |j: usize| ((i * 7 + j * 13) % 17) as f64 / 17.0 + 0.5 * k as f64 + i as f64 * 1e-3;
        rows.push(format!(
            "{:.4},{:.4},{:.4},{:.4},{}\n",
            x(0),
            x(1),
            -x(2),
            x(3) * 0.5,
            ["x", "y", "z"][k]
        ));
    }
    // Exact copies of some rows: duplicates a split can scatter over train, val and test.
    for i in 0..extra_copies {
        rows.push(rows[i * 7].clone());
    }
    for r in rows {
        text.push_str(&r);
    }
    text
}

fn csv_workflow(seed: u64, trials: usize, split_extra: &str) -> String {
    format!(
        "name: leak
seed: {seed}
data:
  source: csv
  path: rows.csv
  label: label
  task: classification
stages:
  split:
    kind: split
    train: 0.6
    val: 0.2
    test: 0.2
{split_extra}
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {{epochs: 2, units: 8, hidden_layers: 1, lr: 0.01}}
    space:
      batch_size: {{choice: [16, 32]}}
    strategy: {{kind: grid}}
    metric: {{name: val_accuracy, goal: maximize}}
    budget: {{trials: {trials}}}
  retrain:
    kind: retrain
    needs: [search]
  evaluate:
    kind: evaluate
    needs: [retrain]
"
    )
}

/// The names of the audit's failing checks.
fn failing(sb: &Sandbox) -> Vec<String> {
    let out = sb.output(&["audit", "--json"]);
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit json");
    let failed: Vec<String> = audit["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] != true)
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(out.status.success(), failed.is_empty(), "{audit}");
    failed
}

fn accepted(sb: &Sandbox) -> Vec<String> {
    let audit = sb.json(&["audit", "--json"]);
    audit["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["accepted"].as_array().cloned().unwrap_or_default())
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn only(sb: &Sandbox, check: &str) {
    // What the audit printed (shown with --nocapture).
    println!("{}", text(&sb.output(&["audit"]).stdout));
    let failed = failing(sb);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with(check), "{failed:?}");
}

fn csv_sandbox(copies: usize) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("rows.csv", &rows_csv(copies));
    sb
}

fn job_dir(sb: &Sandbox, kind: &str) -> std::path::PathBuf {
    let id: String = sb
        .db()
        .query_row(
            "SELECT id FROM jobs WHERE kind = ?1 ORDER BY started_at LIMIT 1",
            [kind],
            |r| r.get(0),
        )
        .unwrap();
    sb.runs().join(&id[..16])
}

#[test]
fn a_clean_run_and_a_resumed_one_pass() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    assert_eq!(failing(&sb), Vec::<String>::new());
    // Killed mid-run, then finished: still clean.
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.kill_after(&["-q", "run", "w.yaml"], Duration::from_millis(900));
    sb.ok(&["-q", "run", "w.yaml"]);
    assert_eq!(failing(&sb), Vec::<String>::new());
}

#[test]
fn the_shipped_workflows_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // fashion-mlp.yaml trains on all of Fashion-MNIST: too long for a test (its audit runs
    // the same checks).
    for name in ["quickstart.yaml", "branin.yaml", "wide-narrow.yaml"] {
        let sb = Sandbox::new();
        let text = std::fs::read_to_string(root.join("workflows").join(name)).unwrap();
        sb.write(name, &text);
        sb.ok(&["-q", "run", name]);
        assert_eq!(failing(&sb), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn leak_1_duplicates_across_splits_unless_kept_on_purpose() {
    let sb = csv_sandbox(25);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    only(&sb, "no test row is identical in content");
    let sb = csv_sandbox(25);
    sb.write("w.yaml", &csv_workflow(1, 2, "    dedupe: keep\n"));
    sb.ok(&["-q", "run", "w.yaml"]);
    assert_eq!(failing(&sb), Vec::<String>::new());
    assert!(
        accepted(&sb).iter().any(|a| a.contains("(dedupe: keep)")),
        "{:?}",
        accepted(&sb)
    );
}

/// IDX files with an official test part: 8×8 images of 3 classes.
fn write_idx(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (part, n, id) in [("train", 240u32, 0u8), ("t10k", 60, 1)] {
        let mut images = vec![0, 0, 8, 3];
        images.extend(n.to_be_bytes());
        images.extend(8u32.to_be_bytes());
        images.extend(8u32.to_be_bytes());
        let mut labels = vec![0, 0, 8, 1];
        labels.extend(n.to_be_bytes());
        for i in 0..n {
            let k = (i % 3) as u8;
            labels.push(k);
            // Distinct images: the first two pixels name the row and the part.
            images.push(i as u8);
            images.push(id * 100);
            for p in 2..64u32 {
                images.push(((p * 7 + i * 3) % 50) as u8 + k * 60);
            }
        }
        std::fs::write(dir.join(format!("{part}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(dir.join(format!("{part}-labels-idx1-ubyte")), labels).unwrap();
    }
}

fn idx_workflow(seed: u64) -> String {
    csv_workflow(seed, 2, "")
        .replace(
            "  source: csv\n  path: rows.csv\n  label: label\n",
            "  source: idx\n  path: images\n",
        )
        .replace(
            "    val: 0.2\n    test: 0.2\n",
            "    val: 0.3\n    test: official\n",
        )
        .replace("    train: 0.6\n", "    train: 0.7\n")
}

#[test]
fn leak_2_the_official_test_rows_evaluated_again_under_another_seed() {
    let sb = Sandbox::new();
    write_idx(&sb.path().join("images"));
    sb.write("w.yaml", &idx_workflow(1));
    sb.ok(&["-q", "run", "w.yaml"]);
    // Same test rows, a new split id: refused before anything runs.
    sb.write("w.yaml", &idx_workflow(2));
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("60 of which evaluate job") && err.contains("seed 1 → 2"),
        "{err}"
    );
    // Allowed: the audit lists it as accepted.
    sb.ok(&["-q", "run", "w.yaml", "--allow-second-look"]);
    assert_eq!(failing(&sb), Vec::<String>::new());
    assert!(
        accepted(&sb)
            .iter()
            .any(|a| a.contains("looked at 60 test rows"))
    );
    // The same, without the record of the permission (as an older hpflow would leave it).
    sb.db().execute("DELETE FROM second_looks", []).unwrap();
    only(&sb, "each test row was looked at by one evaluation");
}

#[test]
fn leak_3_a_csv_re_split_puts_former_test_rows_into_train() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    sb.write("w.yaml", &csv_workflow(2, 2, ""));
    sb.ok(&["-q", "run", "w.yaml", "--allow-second-look"]);
    only(&sb, "no former test row is used for training or validation");
}

#[test]
fn leak_4_the_last_access_log_entry_deleted() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    sb.db()
        .execute(
            "DELETE FROM data_access WHERE seq = (SELECT max(seq) FROM data_access)",
            [],
        )
        .unwrap();
    only(
        &sb,
        "every finished evaluation has its entry in the access log",
    );
}

#[test]
fn leak_5_a_planted_request_for_the_test_rows() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    let split = job_dir(&sb, "split");
    let log = job_dir(&sb, "search").join("trials/0000/requests.jsonl");
    let first = std::fs::read_to_string(&log).unwrap();
    let line = first.lines().next().unwrap();
    let train = split.join("rows/train.safetensors");
    let sealed = split.join("sealed/test.safetensors");
    let planted = line.replace(&train.display().to_string(), &sealed.display().to_string());
    assert_ne!(planted, line);
    std::fs::write(&log, format!("{first}{planted}\n")).unwrap();
    only(&sb, "no search or retrain request reaches the test rows");
}

#[test]
fn leak_6_an_edited_manifest_trains_on_a_test_row() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    let split = job_dir(&sb, "split");
    let sealed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(split.join("sealed/test.json")).unwrap())
            .unwrap();
    let path = split.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["train"]
        .as_array_mut()
        .unwrap()
        .push(sealed["rows"][0].clone());
    std::fs::write(&path, manifest.to_string()).unwrap();
    only(&sb, "test rows are disjoint from train and val");
}

/// Trains nothing; in evaluate mode prints a test accuracy computed from HPFLOW_TEST.
const PROGRAM: &str = r#"
import json, os
if os.environ["HPFLOW_MODE"] == "evaluate":
    rows = open(os.environ["HPFLOW_TEST"]).read().splitlines()[1:]
    print(json.dumps({"test_accuracy": sum(r.endswith(",0") for r in rows) / len(rows)}))
else:
    n = len(open(os.environ["HPFLOW_TRAIN"]).read().splitlines())
    for e in range(1, int(os.environ["HPFLOW_EPOCHS"]) + 1):
        print(json.dumps({"epoch": e, "val_accuracy": 0.3 + 0.01 * e + n * 0}), flush=True)
"#;

#[test]
fn leak_7_a_command_programs_evaluation_with_its_log_entry_rewritten() {
    let sb = csv_sandbox(0);
    sb.write("p.py", PROGRAM);
    let wf = csv_workflow(1, 2, "").replace(
        "    model: mlp\n    params: {epochs: 2, units: 8, hidden_layers: 1, lr: 0.01}\n",
        "    model: command\n    command: [python3, p.py, \"{batch_size}\"]\n    params: {epochs: 2}\n",
    );
    sb.write("w.yaml", &wf);
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let eval = run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == "evaluate")
        .unwrap();
    // The program's own number, measured on the test rows.
    assert!(
        eval["outputs"]["metrics"]["test_accuracy"].is_number(),
        "{eval}"
    );
    assert_eq!(failing(&sb), Vec::<String>::new());
    // Rewrite the entry (another split named) and re-chain the log so the chain holds.
    let mut rows = hpflow::store::Db::open(&sb.runs().join("hpflow.db"))
        .unwrap()
        .accesses()
        .unwrap();
    let db = sb.db();
    rows[0].split_hash = "0".repeat(64);
    let mut prev = "genesis".to_string();
    for r in &mut rows {
        r.prev = prev;
        r.hash = r.expected_hash();
        prev = r.hash.clone();
        db.execute(
            "UPDATE data_access SET split_hash = ?2, prev = ?3, hash = ?4 WHERE seq = ?1",
            rusqlite::params![r.seq, r.split_hash, r.prev, r.hash],
        )
        .unwrap();
    }
    only(
        &sb,
        "every finished evaluation has its entry in the access log",
    );
}

#[test]
fn leak_8_the_same_test_split_evaluated_for_a_second_model() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    // Another search on the same split: the same test rows would be opened again.
    sb.write(
        "w.yaml",
        &csv_workflow(1, 2, "").replace("lr: 0.01", "lr: 0.02"),
    );
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the split is the same"),
        "{}",
        text(&out.stderr)
    );
    sb.ok(&["-q", "run", "w.yaml", "--allow-second-look"]);
    assert_eq!(failing(&sb), Vec::<String>::new());
    sb.db().execute("DELETE FROM second_looks", []).unwrap();
    only(&sb, "each test split was looked at by one evaluation");
}

#[test]
fn a_second_look_after_a_data_edit_is_said_by_plan_and_names_the_file() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    let before = sb.json(&["plan", "--json", "w.yaml"]);
    let first_eval = before["jobs"][3]["id"].as_str().unwrap().to_string();
    assert_eq!(before["jobs"][3]["kind"], "evaluate");
    sb.ok(&["-q", "run", "w.yaml"]);
    // A row added to the data file: a new split, whose test rows the first evaluation saw
    // in part.
    sb.write("rows.csv", &format!("{}9.0,9.0,9.0,9.0,x\n", rows_csv(0)));
    // plan says it before anything runs, and names the file rather than its hash.
    let plan = sb.ok(&["plan", "w.yaml"]);
    assert!(
        plan.contains(&format!(
            "evaluate: would be refused: a second look at the test rows of evaluate {}",
            &first_eval[..16]
        )),
        "{plan}"
    );
    assert!(plan.contains("the content of rows.csv changed"), "{plan}");
    let json = sb.json(&["plan", "--json", "w.yaml"]);
    assert_eq!(
        json["jobs"][3]["second_look"]["earlier"],
        first_eval.as_str()
    );
    // run refuses it with the same words.
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("the content of rows.csv changed"), "{err}");
    assert!(!err.contains("inputs"), "{err}");
    // Once allowed and done, plan has nothing more to say about it.
    sb.ok(&["-q", "run", "w.yaml", "--allow-second-look"]);
    let plan = sb.ok(&["plan", "w.yaml"]);
    assert!(!plan.contains("would be refused"), "{plan}");
}

// The leaks of issue 21, each tried as a user would fall into it.

/// `rows_csv` re-saved by another tool: columns in another order, whole numbers as `1.0`.
fn resaved_twin(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let num = |s: &str| match s.parse::<f64>() {
            Ok(x) if x.fract() == 0.0 => format!("{x:.1}"),
            Ok(x) => format!("{x}"),
            Err(_) => s.to_string(),
        };
        let order = [4, 2, 0, 3, 1];
        let cells: Vec<String> = order.iter().map(|&i| num(f[i])).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[test]
fn issue21_leak_1_fewer_features_or_a_resaved_file_is_still_a_second_look() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    // The same rows with one feature fewer: the same 48 test rows.
    sb.write(
        "w.yaml",
        &csv_workflow(1, 2, "").replace(
            "  label: label\n",
            "  label: label\n  features: [a, b, c]\n",
        ),
    );
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("48 of which evaluate job"),
        "{}",
        text(&out.stderr)
    );
    // The file re-saved with its columns in another order and `1.0` for `1`.
    sb.write("rows.csv", &resaved_twin(&rows_csv(0)));
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("48 of which evaluate job"), "{err}");
    assert!(err.contains("the content of rows.csv changed"), "{err}");
    // Evaluated anyway, without the record of the permission: the audit names both jobs.
    sb.ok(&["-q", "run", "w.yaml", "--allow-second-look"]);
    sb.db().execute("DELETE FROM second_looks", []).unwrap();
    only(&sb, "each test row was looked at by one evaluation");
    let audit = text(&sb.output(&["audit"]).stdout);
    assert!(
        audit.contains("looked at 48 test rows that evaluate job"),
        "{audit}"
    );
}

#[test]
fn issue21_leak_3_a_sealed_file_overwritten_by_training_rows_is_refused_and_found() {
    let sb = csv_sandbox(0);
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    let out = sb.output(&["run", "w.yaml"]);
    // The count evaluate prints is of the rows in the sealed file.
    assert!(
        text(&out.stderr).contains("on 48 sealed test rows")
            || text(&out.stdout).contains("on 48 sealed test rows"),
        "{}",
        text(&out.stderr)
    );
    let split = job_dir(&sb, "split");
    std::fs::copy(
        split.join("rows/train.safetensors"),
        split.join("sealed/test.safetensors"),
    )
    .unwrap();
    only(&sb, "test rows are disjoint from train and val");
    let audit = text(&sb.output(&["audit"]).stdout);
    assert!(
        audit.contains("sealed/test.safetensors changed after the split wrote it"),
        "{audit}"
    );
    // Evaluated again: refused before a row is read.
    std::fs::remove_file(job_dir(&sb, "evaluate").join("results.json")).unwrap();
    let out = sb.output(&["run", "w.yaml"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("sealed/test.safetensors changed after the split wrote it")
            && err.contains("refusing to read it"),
        "{err}"
    );
}

#[test]
fn issue21_leak_4_a_planted_fold_request_is_read_and_judged_by_its_paths() {
    let sb = csv_sandbox(0);
    let folds = csv_workflow(1, 2, "    folds: 3\n")
        .replace("    train: 0.6\n    val: 0.2\n", "    train: 0.8\n");
    sb.write("w.yaml", &folds);
    sb.ok(&["-q", "run", "w.yaml"]);
    // Every fold's requests are read: 2 trials × 3 folds, and the retrain's.
    let audit = text(&sb.output(&["audit"]).stdout);
    assert!(audit.contains("(7 requests read)"), "{audit}");
    assert_eq!(failing(&sb), Vec::<String>::new());
    // The sealed folder reached through a link named `peek`: no "/sealed/" in the request.
    let split = job_dir(&sb, "split");
    std::os::unix::fs::symlink(split.join("sealed"), split.join("peek")).unwrap();
    let log = job_dir(&sb, "search").join("trials/0000/fold-0/requests.jsonl");
    let first = std::fs::read_to_string(&log).unwrap();
    let line = first.lines().next().unwrap();
    let train = split.join("rows/fold-0-train.safetensors");
    let peek = split.join("peek/test.safetensors");
    let planted = line.replace(&train.display().to_string(), &peek.display().to_string());
    assert_ne!(planted, line);
    assert!(!planted.contains("/sealed/"));
    std::fs::write(&log, format!("{first}{planted}\n")).unwrap();
    only(&sb, "no search or retrain request reaches the test rows");
    let audit = text(&sb.output(&["audit"]).stdout);
    assert!(
        audit.contains("fold-0/requests.jsonl (request 2) of a search job names")
            && audit.contains("(the sealed folder of split"),
        "{audit}"
    );
}

/// Trains whatever HPFLOW_MODE says, then prints a number without a `test_` name.
const IGNORES_MODE: &str = r#"
import json, os
for e in range(1, int(os.environ.get("HPFLOW_EPOCHS", "1")) + 1):
    print(json.dumps({"epoch": e, "val_accuracy": 0.5}), flush=True)
print(json.dumps({"accuracy": 0.99}))
"#;

fn command_workflow(evaluate_metrics: &str) -> String {
    csv_workflow(1, 2, "")
        .replace(
            "    model: mlp\n    params: {epochs: 2, units: 8, hidden_layers: 1, lr: 0.01}\n",
            "    model: command\n    command: [python3, p.py, \"{batch_size}\"]\n    params: {epochs: 2}\n",
        )
        .replace("    needs: [retrain]\n", &format!("    needs: [retrain]\n{evaluate_metrics}"))
}

#[test]
fn issue21_leak_5_a_command_programs_evaluation_records_test_metrics_only() {
    // A program that ignores HPFLOW_MODE: `accuracy` is no test metric.
    let sb = csv_sandbox(0);
    sb.write("p.py", IGNORES_MODE);
    sb.write("w.yaml", &command_workflow(""));
    let out = sb.output(&["run", "w.yaml"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("printed no test metrics in evaluate mode")
            && err.contains("ignored: accuracy"),
        "{err}"
    );
    // A listed metric the program does not print fails the stage and is named.
    let sb = csv_sandbox(0);
    sb.write("p.py", PROGRAM);
    sb.write("w.yaml", &command_workflow("    metrics: [f1_macro]\n"));
    let out = sb.output(&["run", "w.yaml"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("the program did not print test_f1_macro, which evaluate.metrics lists"),
        "{err}"
    );
}

#[test]
fn issue21_leak_6_a_split_made_before_an_evaluation_and_trained_on_after_it() {
    let sb = csv_sandbox(0);
    let other = csv_workflow(2, 2, "").replace("name: leak", "name: other");
    let upto = |stage: &str| other[..other.find(&format!("  {stage}:\n")).unwrap()].to_string();
    // Another workflow's split (seed 2) is made first; nothing trains on it yet.
    sb.write("other.yaml", &upto("search"));
    sb.ok(&["-q", "run", "other.yaml"]);
    // This workflow evaluates its test rows.
    sb.write("w.yaml", &csv_workflow(1, 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    assert_eq!(failing(&sb), Vec::<String>::new());
    // Then the other workflow's search trains on its split, made before the evaluation.
    sb.write("other.yaml", &upto("retrain"));
    sb.ok(&["-q", "run", "other.yaml"]);
    only(&sb, "no former test row is used for training or validation");
    let audit = text(&sb.output(&["audit"]).stdout);
    assert!(
        audit.contains("trained or validated on")
            && audit.contains("had looked at as test rows before: first in"),
        "{audit}"
    );
}

#[test]
fn issue21_leak_7_another_project_on_the_same_rows_is_a_second_look() {
    let first = csv_sandbox(0);
    first.write("w.yaml", &csv_workflow(1, 2, ""));
    first.ok(&["-q", "run", "w.yaml"]);
    let eval: String = first
        .db()
        .query_row("SELECT id FROM jobs WHERE kind = 'evaluate'", [], |r| {
            r.get(0)
        })
        .unwrap();
    // Another folder, its own runs/, the same CSV and workflow, the same user.
    let second = csv_sandbox(0);
    second.write("w.yaml", &csv_workflow(1, 2, ""));
    let as_same_user = |args: &[&str]| {
        second
            .cmd(args)
            .env("XDG_DATA_HOME", first.xdg.path())
            .output()
            .unwrap()
    };
    let out = as_same_user(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let folder = std::fs::canonicalize(first.runs()).unwrap();
    assert!(
        err.contains(&format!(
            "48 of which evaluate job {} of another project",
            &eval[..16]
        )) && err.contains(&folder.display().to_string()),
        "{err}"
    );
    // Accepted when asked for, and listed by the audit as an accepted second look.
    let out = as_same_user(&["-q", "run", "w.yaml", "--allow-second-look"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let audit = as_same_user(&["audit"]);
    let said = text(&audit.stdout);
    assert!(audit.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "48 test rows that evaluate job {} of another project",
            &eval[..16]
        )) && said.contains("(allowed with --allow-second-look)"),
        "{said}"
    );
    // With the store turned off, nothing is recorded or checked; an audit with it on later
    // finds the look.
    let third = csv_sandbox(0);
    third.write("w.yaml", &csv_workflow(1, 2, ""));
    let out = third
        .cmd(&["-q", "run", "w.yaml"])
        .env("XDG_DATA_HOME", first.xdg.path())
        .env("HPFLOW_NO_USER_LOOKS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let audit = third
        .cmd(&["audit"])
        .env("XDG_DATA_HOME", first.xdg.path())
        .output()
        .unwrap();
    assert_eq!(audit.status.code(), Some(4), "{}", text(&audit.stdout));
    assert!(
        text(&audit.stdout).contains(&format!(
            "that evaluate job {} of another project (runs folder {}) had looked at before",
            &eval[..16],
            folder.display()
        )),
        "{}",
        text(&audit.stdout)
    );
}
