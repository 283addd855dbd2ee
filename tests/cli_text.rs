//! What the command line tells about itself: the man page's sections and the pages it refers
//! to, and the exit codes in `--help`.

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
