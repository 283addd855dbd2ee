//! The Python helper (python/): installed into a scratch venv, a 40-line PyTorch program
//! written with it (tests/programs/helper_mlp.py) runs the command template's search under
//! SHA with checkpoints, is SIGKILLed with hpflow mid-run and resumed, and gives the same
//! trials, best value and test accuracy as templates/train.py run without interruption.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A venv with torch (the project's .venv, through a .pth file) and `pip install ./python`.
fn scratch_venv(sb: &Sandbox) -> std::path::PathBuf {
    let venv = sb.path().join("venv");
    let py = root().join(".venv/bin/python3");
    let torch_site = Command::new(&py)
        .args([
            "-c",
            "import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))",
        ])
        .output()
        .unwrap();
    assert!(torch_site.status.success());
    assert!(
        Command::new(&py)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap()
            .success()
    );
    let vpy = venv.join("bin/python3");
    let site = Command::new(&vpy)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let site = text(&site.stdout).trim().to_string();
    std::fs::write(Path::new(&site).join("torch.pth"), &torch_site.stdout).unwrap();
    let pip = Command::new(&vpy)
        .args(["-m", "pip", "install", "-q", "--no-deps"])
        .arg(root().join("python"))
        .status()
        .unwrap();
    assert!(pip.success(), "pip install ./python");
    vpy
}

fn workflow(command: &str) -> String {
    std::fs::read_to_string(root().join("templates/command.yaml"))
        .unwrap()
        .replace(
            "command: [python3, train.py, --lr, \"{lr}\", --units, \"{units}\"]",
            command,
        )
        .replace("max_epochs: 8", "max_epochs: 4")
        .replace("budget: {trials: 8}", "budget: {trials: 4}")
        .replace("workers: 2", "workers: 1")
}

fn results(run: &serde_json::Value) -> Vec<String> {
    let job = |s: &str| {
        run["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["stage"] == s)
            .unwrap()
            .clone()
    };
    let search = job("search")["outputs"].clone();
    let test = job("evaluate")["outputs"]["metrics"]["test_accuracy"].clone();
    vec![
        search["trial"].to_string(),
        search["value"].to_string(),
        search["epochs"].to_string(),
        test.to_string(),
    ]
}

#[test]
fn a_helper_program_killed_and_resumed_matches_the_uninterrupted_template() {
    let plain = Sandbox::new();
    std::fs::copy(
        root().join("templates/train.py"),
        plain.path().join("train.py"),
    )
    .unwrap();
    let py = root().join(".venv/bin/python3");
    let cmd = format!(
        "command: [{}, train.py, --lr, \"{{lr}}\", --units, \"{{units}}\"]",
        py.display()
    );
    plain.write("w.yaml", &workflow(&cmd));
    // templates/train.py finds the helper in ../python only from the repository: here, beside it.
    std::fs::create_dir_all(plain.path().join("hpflow")).unwrap();
    for f in ["__init__.py", "_trial.py", "_rows.py"] {
        std::fs::copy(
            root().join("python/hpflow").join(f),
            plain.path().join("hpflow").join(f),
        )
        .unwrap();
    }
    let want = results(&plain.json(&["run", "--json", "w.yaml"]));

    let sb = Sandbox::new();
    let vpy = scratch_venv(&sb);
    std::fs::copy(
        root().join("tests/programs/helper_mlp.py"),
        sb.path().join("mlp.py"),
    )
    .unwrap();
    sb.write(
        "w.yaml",
        &workflow(&format!("command: [{}, mlp.py]", vpy.display())),
    );
    let mut kills = 0;
    for ms in [2500, 4000] {
        kills += usize::from(sb.kill_after(&["-q", "run", "w.yaml"], Duration::from_millis(ms)));
    }
    assert!(kills >= 1, "the run finished before it could be killed");
    let got = results(&sb.json(&["run", "--json", "w.yaml"]));
    assert_eq!(got, want);
}
