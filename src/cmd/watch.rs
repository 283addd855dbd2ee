//! `hpflow watch WORKFLOW`: run, then run again whenever the workflow file or its data
//! changes (only the jobs whose inputs changed rerun, as always). Ctrl-C stops watching.

use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::time::Duration;

use notify::Watcher;

use crate::error::{Error, Result};
use crate::store::Layout;

/// The files a run depends on: the workflow and, when it names one, its data file or folder.
fn inputs(path: &Path) -> Vec<PathBuf> {
    let mut out = vec![path.to_path_buf()];
    if let Ok(wf) = crate::workflow::load(path) {
        if let Some(p) = wf.data.as_ref().and_then(|d| d.path.as_ref()) {
            out.push(if p.is_absolute() {
                p.clone()
            } else {
                wf.base_dir.join(p)
            });
        }
    }
    out
}

pub fn run(path: &Path, layout: &Layout, quiet: bool) -> Result<()> {
    crate::signals::install();
    loop {
        match super::run::run(path, layout, quiet, false, false, None, false, None) {
            Ok(()) => {}
            Err(Error::Interrupted) => return Ok(()),
            // Bad input or a failed job: say so and wait for the next edit.
            Err(e) => crate::progress::say(&format!("hpflow: {e}")),
        }
        if crate::signals::stop_requested() {
            return Ok(());
        }
        let (tx, rx) = channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if res.is_ok_and(|e| e.kind.is_modify() || e.kind.is_create() || e.kind.is_remove()) {
                let _ = tx.send(());
            }
        })
        .map_err(|e| Error::internal(format!("cannot watch files: {e}")))?;
        let watched = inputs(path);
        for p in &watched {
            let mode = if p.is_dir() {
                notify::RecursiveMode::Recursive
            } else {
                notify::RecursiveMode::NonRecursive
            };
            // Editors replace files by renaming: watch the folder of a file too.
            let target = if p.is_file() {
                p.parent().unwrap_or(p)
            } else {
                p.as_path()
            };
            watcher
                .watch(target, mode)
                .map_err(|e| Error::Usage(format!("cannot watch {}: {e}", p.display())))?;
        }
        crate::progress::say(&format!(
            "watching {} for changes (Ctrl-C to stop)",
            watched
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let before = fingerprint(&watched);
        loop {
            if crate::signals::stop_requested() {
                return Ok(());
            }
            if rx.recv_timeout(Duration::from_millis(300)).is_ok() {
                // Let a burst of writes settle, then rerun only if something really changed.
                std::thread::sleep(Duration::from_millis(300));
                while rx.try_recv().is_ok() {}
                if fingerprint(&watched) != before {
                    break;
                }
            }
        }
    }
}

/// Sizes and modification times: enough to tell an edit from a read.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(
                std::fs::read_dir(&p)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if let Ok(m) = std::fs::metadata(&p) {
            out.push((p, m.len(), m.modified().ok()));
        }
    }
    out.sort();
    out
}
