//! What the command line tells: the man page's sections and the pages it refers to, the exit
//! codes in `--help`, a resumed run's times, and the one shape of `status --json`.

mod common;
use common::*;

const CODES: [&str; 9] = ["0", "1", "2", "3", "4", "5", "70", "130", "141"];

#[test]
fn the_man_page_has_exit_status_and_environment_and_names_only_pages_that_exist() {
    let sb = Sandbox::new();
    let page = sb.ok(&["man"]);
    for section in [".SH EXIT STATUS", ".SH ENVIRONMENT", ".SH FILES"] {
        assert!(page.contains(section), "{section} missing:\n{page}");
    }
    let exit = page
        .split(".SH EXIT STATUS")
        .nth(1)
        .and_then(|s| s.split(".SH ").next())
        .unwrap();
    for code in CODES {
        assert!(exit.contains(&format!("\\fB{code}\\fR")), "{code}: {exit}");
    }
    assert!(page.contains("HPFLOW_RUNS_DIR") && page.contains("HPFLOW_LOG"));
    // Every `hpflow-X(1)` it refers to is a page `man --dir` writes.
    sb.ok(&["man", "--dir", "pages"]);
    let mut refs = 0;
    for (i, _) in page.match_indices("(1)") {
        let start = page[..i]
            .rfind(|c: char| c.is_whitespace())
            .map_or(0, |s| s + 1);
        let name = page[start..i].replace("\\-", "-");
        refs += 1;
        assert!(
            sb.path().join("pages").join(format!("{name}.1")).exists(),
            "the page refers to {name}(1), which is not written"
        );
    }
    assert!(refs > 10, "{page}");
    assert!(!page.contains("hpflow\\-help"), "{page}");
}

#[test]
fn help_lists_the_exit_codes() {
    let sb = Sandbox::new();
    let help = sb.ok(&["--help"]);
    let codes = help
        .split("Exit codes:")
        .nth(1)
        .expect("an exit codes list");
    for code in CODES {
        assert!(
            codes
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "{code} missing: {codes}"
        );
    }
}

/// The search time the run has recorded so far (it saves it every second).
fn recorded_seconds(sb: &Sandbox) -> f64 {
    rusqlite::Connection::open(sb.runs().join("hpflow.db"))
        .and_then(|db| {
            db.query_row(
                "SELECT COALESCE(MAX(search_seconds), 0) FROM jobs",
                [],
                |r| r.get(0),
            )
        })
        .unwrap_or(0.0)
}

#[test]
fn a_resumed_search_says_its_time_covers_the_earlier_run() {
    let wf = function_workflow(
        "resumed",
        "{kind: random}",
        16,
        "    params: {epochs: 3, sleep: 0.1}\n    workers: 2\n",
    );
    let sb = Sandbox::new();
    sb.write("w.yaml", &wf);
    let mut child = sb.cmd(&["-q", "run", "w.yaml"]).spawn().unwrap();
    while recorded_seconds(&sb) == 0.0 && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        child.wait().unwrap().code(),
        Some(130),
        "stopped mid-search"
    );

    let out = sb.output(&["run", "w.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("search") && l.contains("done in"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("with the earlier runs"), "{line}");
    let table = text(&out.stdout);
    assert!(table.contains("with the earlier runs"), "{table}");

    // A search done in one run says just its time.
    let fresh = Sandbox::new();
    fresh.write("w.yaml", &wf);
    let out = fresh.output(&["run", "w.yaml"]);
    let err = text(&out.stderr);
    assert!(err.contains("done in") && !err.contains("earlier"), "{err}");
}

#[test]
fn status_json_is_a_list_of_workflows_with_or_without_a_name() {
    let sb = Sandbox::new();
    for name in ["a", "b"] {
        let file = format!("{name}.yaml");
        sb.write(&file, &function_workflow(name, "{kind: random}", 3, ""));
        sb.ok(&["-q", "run", &file]);
    }
    let all = sb.json(&["status", "--json"]);
    let all = all.as_array().expect("a list without a name");
    assert_eq!(all.len(), 2);
    for (arg, want) in [("b", "b"), ("a.yaml", "a")] {
        let one = sb.json(&["status", "--json", arg]);
        let one = one.as_array().expect("a list with a name too");
        assert_eq!(one.len(), 1, "{arg}");
        assert_eq!(one[0]["workflow"], want);
        let same = all.iter().find(|w| w["workflow"] == want).unwrap();
        assert_eq!(&one[0], same, "{arg}: the same entry as in the whole list");
    }
}
