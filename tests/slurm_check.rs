//! `executor: slurm` where Slurm's commands are installed but no controller answers (issue 23
//! item 11): the run stops before anything runs (no split, no job folder) with one plain line
//! naming the cause, instead of running the split and then printing squeue's raw errors.
//! Uses stand-in Slurm commands on PATH; no cluster is needed.

mod common;
use common::{Sandbox, text};

const SQUEUE: &str = "#!/bin/sh
for i in 1 2 3 4; do
  echo 'squeue: error: resolve_ctls_from_dns_srv: res_nsearch error: Unknown host' >&2
done
echo 'squeue: error: fetch_config: DNS SRV lookup failed' >&2
exit 1
";

#[test]
fn a_cluster_that_does_not_answer_stops_the_run_before_anything_runs() {
    let sb = Sandbox::new();
    let bin = sb.path().join("fake-slurm");
    std::fs::create_dir(&bin).unwrap();
    for (tool, body) in [
        ("squeue", SQUEUE),
        (
            "sbatch",
            "#!/bin/sh\necho 'sbatch must not be called' >&2\nexit 1\n",
        ),
        ("scancel", "#!/bin/sh\nexit 0\n"),
    ] {
        let p = bin.join(tool);
        std::fs::write(&p, body).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let rows: String = (0..60)
        .map(|i| format!("{},{}\n", i as f64 / 60.0, i % 2))
        .collect();
    sb.write("d.csv", &format!("a,y\n{rows}"));
    sb.write(
        "w.yaml",
        "name: nocluster
seed: 1
executor: {kind: slurm}
data: {source: csv, path: d.csv, label: y, task: classification}
stages:
  split: {kind: split, train: 0.6, val: 0.2, test: 0.2}
  search:
    kind: search
    needs: [split]
    model: function
    function: branin
    space:
      x1: {uniform: [-5.0, 10.0]}
      x2: {uniform: [0.0, 15.0]}
    strategy: {kind: random}
    metric: {name: objective, goal: minimize}
    budget: {trials: 2}
",
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sb
        .cmd(&["run", "w.yaml"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        lines[0].contains("the cluster does not answer")
            && lines[0].contains("resolve_ctls_from_dns_srv")
            && lines[0].contains("--executor local"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes in a pipe: {err:?}"
    );
    // Nothing ran: no job recorded, no job.json anywhere under runs/.
    fn job_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                job_files(&p, found);
            } else if p.file_name().is_some_and(|n| n == "job.json") {
                found.push(p);
            }
        }
    }
    let mut found = Vec::new();
    job_files(&sb.runs(), &mut found);
    assert!(found.is_empty(), "jobs were written: {found:?}");
    let status = sb.output(&["status", "--json", "w.yaml"]);
    assert!(
        !text(&status.stdout).contains("\"done\""),
        "{}",
        text(&status.stdout)
    );
}
