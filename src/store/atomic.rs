//! File writes that a reader never sees torn: temp file, rename. Two kinds:
//! - durable (`write`, `write_json`, `append_line`): fsync the file and the folder too, for
//!   what a job leaves behind (best.json, split rows, manifests, job keys);
//! - work files (`replace`, `replace_json`, `append_work`): no fsync, for what a trial writes
//!   as it goes (status, metrics, checkpoints, the request log). A SIGKILL never tears them;
//!   after a power loss they may be missing or stale, which costs retraining, never a wrong
//!   result: the durable record of a trial is its row in SQLite, and a checkpoint whose
//!   hashes do not match is discarded (`train::checkpoint`). An fsync costs more than a
//!   cheap trial's whole training, so per-trial files skip it.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    put(path, bytes, true)
}

/// A work file (see the module doc): atomic, not fsynced.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    put(path, bytes, false)
}

pub fn replace_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(Error::internal)?;
    bytes.push(b'\n');
    replace(path, &bytes)
}

fn put(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    put_with(path, durable, &mut |w| {
        w.write_all(bytes).map_err(|e| Error::io(path, e))
    })
}

/// A durable file written piece by piece (an export of many trials): `f` writes it under a
/// temp name, which is renamed into place once whole, or removed if `f` fails.
pub fn write_streamed(path: &Path, f: &mut dyn FnMut(&mut dyn Write) -> Result<()>) -> Result<()> {
    put_with(path, true, f)
}

fn put_with(
    path: &Path,
    durable: bool,
    f: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut w = std::io::BufWriter::new(file);
    let written = f(&mut w).and_then(|()| {
        let file = w
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        if durable {
            file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        }
        Ok(())
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    if durable { sync_dir(dir) } else { Ok(()) }
}

pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(Error::internal)?;
    bytes.push(b'\n');
    write(path, &bytes)
}

/// Rename a finished temp folder into place and make the rename durable.
pub fn rename_dir(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        fs::remove_dir_all(to).map_err(|e| Error::io(to, e))?;
    }
    fs::rename(from, to).map_err(|e| Error::io(to, e))?;
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}

/// Make a folder that a later item reads durable: every file in it (and in its subfolders),
/// then each folder, then its parent's entry. For the few work files a done row stands for
/// (a PBT donor's checkpoint, a retrained `command` program's model): a power loss must not
/// leave a row whose files are gone, since nothing would train them again.
pub fn sync_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else if path.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    sync_dir(dir)?;
    sync_dir(dir.parent().unwrap_or(Path::new(".")))
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Append one line and flush it to disk.
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    append(path, line, true)
}

/// Append one line to a work file (`metrics.jsonl`, `requests.jsonl`): one write, no fsync.
pub fn append_work(path: &Path, line: &str) -> Result<()> {
    append(path, line, false)
}

fn append(path: &Path, line: &str, durable: bool) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    // One write call, so that concurrent appenders never interleave within a line.
    f.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| Error::io(path, e))?;
    if durable {
        f.sync_data().map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(hex::encode(h.finalize()))
}
