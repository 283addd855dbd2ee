//! `hpflow serve` against a real runs folder: headless Chromium (Debian's `chromium`,
//! installed by scripts/setup) opens a workflow's page while `hpflow run` goes and sees the
//! trial count rise with no reload and nothing on the console; requests for `../`, an unknown
//! job or with a bad method get 4xx and write nothing. Screenshots go where
//! HPFLOW_SERVE_SHOTS says (the temp folder otherwise).

mod common;
use common::*;

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

/// A running `hpflow serve`, stopped when dropped; `.1` is its address (`127.0.0.1:PORT`).
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(sb: &Sandbox, extra: &[&str]) -> Server {
    let mut args = vec!["serve", "--port", "0"];
    args.extend(extra);
    let mut child = sb
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hpflow serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Server(child, addr)
}

/// One raw HTTP request (so that `../` reaches the server as written): (status, body).
fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {out:?}"));
    (code, out.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

fn chromium(args: &[&str], url: &str) -> (String, String) {
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,1600",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium (scripts/setup installs Debian's `chromium`)");
    (text(&out.stdout), text(&out.stderr))
}

fn shots() -> PathBuf {
    let dir = std::env::var_os("HPFLOW_SERVE_SHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_running_sweep_updates_in_the_browser_without_a_reload() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("live", "{kind: random}", 8, "    params: {sleep: 0.3}\n"),
    );
    let server = serve(&sb, &[]);
    let addr = server.1.clone();
    assert_eq!(http(&addr, "GET", "/").0, 200, "serves before any run");
    let mut run = sb.cmd(&["run", "-q", "w.yaml"]).spawn().unwrap();
    // The page exists once the run has recorded the workflow.
    let mut tries = 0;
    while http(&addr, "GET", "/api/w/live").0 != 200 {
        tries += 1;
        assert!(tries < 3000, "the run never recorded its workflow");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let url = format!("http://{addr}/w/live");
    // Virtual time stands still while the page's long poll is pending, so the page lives
    // through the run; it stops polling fast once the run is over.
    let (dom, log) = chromium(&["--virtual-time-budget=120000", "--dump-dom"], &url);
    assert!(run.wait().unwrap().success());
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console: {console:#?}");
    assert!(
        dom.contains("<pre id=\"errors\"></pre>"),
        "page errors: {dom}"
    );
    let seen: Vec<u64> = dom
        .split("<p id=\"seen\">")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap_or_else(|| panic!("no #seen in {dom}"))
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        seen.len() >= 2 && seen.windows(2).all(|w| w[0] < w[1]) && seen.last() == Some(&8),
        "the count rose in one page, from the first look to all 8 trials: {seen:?}"
    );
    // What was swapped in is the report's content: verdict, charts, linked trials.
    assert!(dom.contains("id=\"verdict\""), "the audit verdict is shown");
    assert!(dom.contains("data-chart=\"history\"") && dom.contains("data-chart=\"curves\""));
    let trial = dom
        .split("href=\"/w/live/trial/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("trial rows link to their pages");
    let (code, page) = http(&addr, "GET", &format!("/w/live/trial/{trial}"));
    assert_eq!(code, 200);
    assert!(
        page.contains("data-chart=\"trial-curve\""),
        "per-epoch curves"
    );

    let dir = shots();
    for (name, path) in [
        ("serve-index.png", "/".to_string()),
        ("serve-workflow.png", "/w/live".into()),
        ("serve-trial.png", format!("/w/live/trial/{trial}")),
    ] {
        let shot = dir.join(name);
        let (_, log) = chromium(
            &[
                "--virtual-time-budget=2000",
                &format!("--screenshot={}", shot.display()),
            ],
            &format!("http://{addr}{path}"),
        );
        assert!(shot.is_file(), "no screenshot {name}: {log}");
    }
}

/// Every file under `dir` with its size and modification time.
fn files(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        if m.is_dir() {
            out.extend(files(&e.path()));
        } else {
            // SQLite's WAL index (`-shm`) is shared memory every reader maps, `hpflow status`
            // as much as this server: its mtime moves on a read, its content is no data.
            let shm = e.path().to_string_lossy().ends_with("-shm");
            let when = if shm {
                std::time::UNIX_EPOCH
            } else {
                m.modified().unwrap()
            };
            out.push((e.path(), m.len(), when));
        }
    }
    out.sort();
    out
}

#[test]
fn bad_requests_get_4xx_and_write_nothing() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("quiet", "{kind: random}", 3, ""),
    );
    sb.ok(&["run", "-q", "w.yaml"]);
    std::fs::write(sb.path().join("secret.txt"), "TOP-SECRET-CONTENT").unwrap();
    let server = serve(&sb, &[]);
    let addr = server.1.clone();
    assert_eq!(http(&addr, "GET", "/w/quiet").0, 200);
    let before = files(&sb.runs());
    for (method, path, want) in [
        ("GET", "/../secret.txt", 403),
        ("GET", "/w/../../secret.txt", 403),
        ("GET", "/w/%2e%2e/hpflow.db", 403),
        ("GET", "/api/w/..%2f..%2fsecret.txt", 403),
        ("GET", "/w/nope", 404),
        ("GET", "/api/w/nope", 404),
        ("GET", "/w/quiet/trial/0123456789abcdef/0", 404),
        ("GET", "/hpflow.db", 404),
        ("POST", "/", 405),
        ("POST", "/w/quiet", 405),
        ("DELETE", "/w/quiet", 405),
        ("PUT", "/api/w/quiet", 405),
    ] {
        let (code, body) = http(&addr, method, path);
        assert_eq!(code, want, "{method} {path}: {body}");
        assert!(!body.contains("TOP-SECRET") && !body.contains("SQLite format"));
    }
    assert_eq!(
        files(&sb.runs()),
        before,
        "nothing in the runs folder changed"
    );
    drop(server);

    // Another address: only when asked, and with a warning.
    let mut other = serve(&sb, &["--host", "0.0.0.0"]);
    let _ = other.0.kill();
    let mut err = String::new();
    other
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(other.1.starts_with("0.0.0.0:"), "{}", other.1);
    assert!(err.contains("warning: serving on 0.0.0.0"), "{err}");
}
