//! `hpflow man [--dir DIR]`: the manual page (roff), generated from the clap definitions: the
//! main page on stdout, or with `--dir` one file per command (`hpflow.1`, `hpflow-run.1`, ...).

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};

fn render(cmd: clap::Command) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    // clap's `help` subcommand has no page of its own: listing it would point to a missing
    // `hpflow-help(1)`.
    clap_mangen::Man::new(cmd.disable_help_subcommand(true))
        .render(&mut buf)
        .map_err(Error::internal)?;
    Ok(buf)
}

/// The main page: clap's sections, with the runs folder, the environment and the exit codes
/// in sections of their own (clap would put the `--help` epilogue under `EXTRA`).
fn main_page() -> Result<Vec<u8>> {
    let page = render(
        Cli::command()
            .after_help(None::<&str>)
            .after_long_help(None::<&str>),
    )?;
    let page = String::from_utf8(page).map_err(Error::internal)?;
    let mut sections = String::new();
    sections.push_str(".SH EXIT STATUS\n");
    for (code, what) in crate::error::exit::CODES {
        sections.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff(what)));
    }
    sections.push_str(".SH ENVIRONMENT\n");
    for (name, what) in ENVIRONMENT {
        sections.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(name), roff(what)));
    }
    sections.push_str(&format!(".SH FILES\n{}\n", roff(crate::cli::RUNS_FOLDER)));
    // Before VERSION, where man pages keep them; at the end if clap wrote none.
    Ok(match page.find(".SH VERSION") {
        Some(at) => format!("{}{sections}{}", &page[..at], &page[at..]),
        None => format!("{page}{sections}"),
    }
    .into_bytes())
}

/// The variables hpflow reads (those it sets for a `command` program are in the README).
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "HPFLOW_RUNS_DIR",
        "the runs folder, as --runs-dir gives it (the option wins)",
    ),
    (
        "HPFLOW_LOG",
        "log filter in tracing's EnvFilter syntax, e.g. hpflow=debug; replaces the log level -v and -q set",
    ),
    (
        "MLFLOW_TRACKING_TOKEN",
        "bearer token for `export --format mlflow`",
    ),
    (
        "MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD",
        "basic authentication for `export --format mlflow`",
    ),
];

/// Plain text as roff: a line starting with `.` or `'` would be a request, a `\` an escape.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    match t.chars().next() {
        Some('.' | '\'') => format!("\\&{t}"),
        _ => t,
    }
}

/// (file name, page) for the main command and every visible subcommand.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let main = Cli::command();
    let mut out = vec![("hpflow.1".to_string(), main_page()?)];
    for sub in main.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("hpflow-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).bin_name(name.clone());
        out.push((format!("{name}.1"), render(page)?));
    }
    Ok(out)
}

pub fn run(dir: Option<&Path>) -> Result<()> {
    let Some(dir) = dir else {
        return super::emit(&String::from_utf8_lossy(&main_page()?));
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    for (name, page) in pages()? {
        let path = dir.join(&name);
        std::fs::write(&path, page)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}
