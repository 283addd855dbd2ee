//! What a person sees while a run works: a bar on a terminal, plain lines in logs.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    terminal: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            bar: None,
            quiet,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// A line for the log (above the bar on a terminal).
    pub fn line(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    /// Start counting `total` units of work for a stage (a bar on a terminal only).
    pub fn start(&mut self, prefix: &str, total: u64) {
        if self.quiet || !self.terminal {
            return;
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(prefix.to_string());
        self.bar = Some(bar);
    }

    pub fn set(&self, pos: u64, total: u64, msg: &str) {
        if let Some(bar) = &self.bar {
            bar.set_length(total.max(pos));
            bar.set_position(pos);
            bar.set_message(msg.to_string());
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
