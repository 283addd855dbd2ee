//! `hpflow completions SHELL`: a completion script for bash, zsh, fish, elvish or PowerShell,
//! generated from the same clap definitions that parse the command line.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Result;

/// The command line as users see it: the hidden, internal commands (`__worker`, the
/// benchmark driver) are left out, since some generators would offer them.
fn visible() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new("hpflow");
    for a in full.get_arguments() {
        cmd = cmd.arg(a.clone());
    }
    for s in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        cmd = cmd.subcommand(s.clone());
    }
    cmd
}

pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut visible(), "hpflow", &mut buf);
    buf
}

pub fn run(shell: Shell) -> Result<()> {
    super::emit(&String::from_utf8_lossy(&script(shell)))
}
