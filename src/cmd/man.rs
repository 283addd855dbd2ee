//! `hpflow man [--dir DIR]`: the manual page (roff), generated from the clap definitions: the
//! main page on stdout, or with `--dir` one file per command (`hpflow.1`, `hpflow-run.1`, ...).

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};

fn render(cmd: clap::Command) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(Error::internal)?;
    Ok(buf)
}

/// (file name, page) for the main command and every visible subcommand.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let main = Cli::command();
    let mut out = vec![("hpflow.1".to_string(), render(main.clone())?)];
    for sub in main.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("hpflow-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).bin_name(name.clone());
        out.push((format!("{name}.1"), render(page)?));
    }
    Ok(out)
}

pub fn run(dir: Option<&Path>) -> Result<()> {
    let Some(dir) = dir else {
        return super::emit(&String::from_utf8_lossy(&render(Cli::command())?));
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    for (name, page) in pages()? {
        let path = dir.join(&name);
        std::fs::write(&path, page)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}
