//! `hpflow export --format mlflow` against a real MLflow tracking server: PyPI's `mlflow` in a
//! venv cached under ~/.cache/hpflow/mlflow-venv (made on the first run), `mlflow server` on
//! 127.0.0.1 with a SQLite backend in a temporary folder, checked with `mlflow.search_runs`.

mod common;
use common::*;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn venv() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    let venv = cache.join("hpflow/mlflow-venv");
    let py = venv.join("bin/python");
    let ok = |py: &PathBuf| {
        Command::new(py)
            .args(["-c", "import mlflow"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ok(&py) {
        let _ = std::fs::remove_dir_all(&venv);
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv failed");
        let pip = Command::new(&py)
            .args(["-m", "pip", "install", "-q", "mlflow"])
            .status()
            .unwrap();
        assert!(pip.success(), "pip install mlflow failed (needs PyPI)");
    }
    venv
}

/// The server and its workers run in their own process group, ended as one on drop.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: signalling the process group this test started.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn start_server(venv: &std::path::Path, dir: &std::path::Path) -> (Server, String) {
    use std::os::unix::process::CommandExt;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(venv.join("bin/mlflow"))
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
        .arg("--default-artifact-root")
        .arg(dir.join("artifacts"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start mlflow server");
    let server = Server { child };
    let start = Instant::now();
    // Ready once it answers HTTP: the port accepts connections a while before the app
    // behind it answers them (on a busy machine, long enough to fail the first request).
    let answers = || -> bool {
        use std::io::{BufRead, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        if s.write_all(b"GET /health HTTP/1.0\r\n\r\n").is_err() {
            return false;
        }
        let mut line = String::new();
        std::io::BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("HTTP/")
    };
    while !answers() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "mlflow server did not start"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    (server, format!("http://127.0.0.1:{port}"))
}

const CHECK: &str = r#"
import json, sys
import mlflow
from mlflow import MlflowClient
uri, name, export = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
mlflow.set_tracking_uri(uri)
df = mlflow.search_runs(experiment_names=[name])
client = MlflowClient()
problems = []
trials = [t for t in export["trials"]]
if len(df) != len(trials) + 2:
    problems.append(f"{len(df)} runs for {len(trials)} trials + retrain + evaluate")
for t in trials:
    rows = df[df["tags.hpflow.trial"] == str(t["trial"])]
    if len(rows) != 1:
        problems.append(f"trial {t['trial']}: {len(rows)} runs"); continue
    r = rows.iloc[0]
    for k, v in t["params"].items():
        if r[f"params.{k}"] != (v if isinstance(v, str) else json.dumps(v)):
            problems.append(f"trial {t['trial']}: param {k} {r[f'params.{k}']} != {v}")
    if r["tags.hpflow.state"] != t["state"]:
        problems.append(f"trial {t['trial']}: state {r['tags.hpflow.state']}")
    hist = client.get_metric_history(r["run_id"], "objective")
    want = [(e["epoch"], e["metrics"]["objective"]) for e in t["epochs"]]
    got = sorted((m.step, m.value) for m in hist)
    if got != want:
        problems.append(f"trial {t['trial']}: objective history {got} != {want}")
test = df[df["tags.hpflow.kind"] == "evaluate"]
if len(test) != 1 or test.iloc[0]["metrics.objective"] != export["test"]["metrics"]["objective"]:
    problems.append("the evaluation run's metrics differ")
retrain = df[df["tags.hpflow.kind"] == "retrain"]
if len(retrain) != 1 or retrain.iloc[0]["params.hpflow.epochs"] != str(export["retrain"]["epochs"]):
    problems.append("the retrain run differs")
print(json.dumps(problems))
"#;

#[test]
fn export_to_mlflow_creates_then_updates_the_runs() {
    let venv = venv();
    let sb = Sandbox::new();
    let (_server, uri) = start_server(&venv, sb.path());
    sb.write(
        "w.yaml",
        &function_workflow(
            "to-mlflow",
            "{kind: random}",
            5,
            "    params: {epochs: 3}\n",
        ),
    );
    sb.ok(&["run", "-q", "w.yaml"]);
    let first = sb.ok(&["export", "to-mlflow", "--format", "mlflow", "--to", &uri]);
    assert!(
        first.contains("7 runs") && first.contains("7 new, 0 updated"),
        "{first}"
    );
    let second = sb.ok(&["export", "to-mlflow", "--format", "mlflow", "--to", &uri]);
    assert!(second.contains("0 new, 7 updated"), "{second}");
    sb.ok(&["export", "to-mlflow", "-o", "export.json"]);
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", CHECK, &uri, "to-mlflow"])
        .arg(sb.path().join("export.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let problems: Vec<String> = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn mlflow_export_errors_are_one_line_with_exit_2() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("offline", "{kind: random}", 2, ""),
    );
    sb.ok(&["run", "-q", "w.yaml"]);
    for (args, says) in [
        (vec!["--to", "https://example.org"], "only http://"),
        (vec!["--to", "http://127.0.0.1:1"], "cannot reach"),
    ] {
        let mut a = vec!["export", "offline", "--format", "mlflow"];
        a.extend(args);
        let out = sb.output(&a);
        assert_eq!(out.status.code(), Some(2), "{a:?}");
        let err = text(&out.stderr);
        assert!(err.contains(says) && err.lines().count() == 1, "{err}");
    }
    let out = sb.output(&["export", "offline", "--to", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
}
