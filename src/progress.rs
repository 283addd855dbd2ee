//! What a person sees while a run works: a bar on a terminal, plain lines in logs. Every
//! message to stderr goes through `Stderr`, which never fails: `eprintln!` panics when the
//! reader is gone (`2>&1 | head`), and a panic must not end a sweep.

use std::io::{IsTerminal, Write};

/// Standard error that swallows write errors. A closed pipe is reported to `signals`, which
/// turns it into a clean stop in the coordinator; the message itself is dropped.
#[derive(Clone, Copy, Default)]
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let mut err = std::io::stderr().lock();
        if let Err(e) = err.write_all(buf).and_then(|()| err.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                crate::signals::output_closed();
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One line to standard error, as `eprintln!` writes it but never panicking.
pub fn say(msg: &str) {
    let _ = Stderr.write_all(format!("{msg}\n").as_bytes());
}

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
            None => say(msg),
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
