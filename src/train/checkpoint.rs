//! Checkpoint folders of a trial: `checkpoints/epoch-NNNN/` holding the trainer's files and a
//! `meta.json` with the epoch, the metric history and a sha256 of every file. A folder is
//! written under a temp name and renamed into place, so one that exists is complete; one whose
//! hashes do not match is discarded with a warning and the one before it is used.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::atomic;
use crate::train::protocol::EpochMetrics;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub epoch: u32,
    /// Every epoch's metrics up to `epoch`: the history travels with the weights.
    pub history: Vec<EpochMetrics>,
    /// File name → sha256.
    pub files: Vec<(String, String)>,
    /// Trainer-specific state (e.g. the hyperparameters the weights were trained with).
    pub extra: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub dir: PathBuf,
    pub meta: Meta,
}

pub fn folder_name(epoch: u32) -> String {
    crate::store::layout::checkpoint_folder(epoch)
}

/// Write a checkpoint: `write_files` fills a temp folder, then hashes are taken, `meta.json`
/// written and the folder renamed into place.
pub fn save(
    root: &Path,
    epoch: u32,
    history: &[EpochMetrics],
    extra: serde_json::Value,
    write_files: impl FnOnce(&Path) -> Result<()>,
) -> Result<Checkpoint> {
    let tmp = root.join(format!(
        ".tmp-{}-{}",
        folder_name(epoch),
        std::process::id()
    ));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    write_files(&tmp)?;
    let mut files = Vec::new();
    let mut names: Vec<_> = fs::read_dir(&tmp)
        .map_err(|e| Error::io(&tmp, e))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    // No fsync: a checkpoint is a work file (see `store::atomic`). The rename below makes it
    // whole against a killed writer, and the hashes catch what a power loss leaves torn.
    for name in names {
        files.push((name.clone(), atomic::sha256_file(&tmp.join(&name))?));
    }
    let meta = Meta {
        epoch,
        history: history.to_vec(),
        files,
        extra,
    };
    let text = serde_json::to_vec(&meta).map_err(Error::internal)?;
    let path = tmp.join("meta.json");
    fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    let dir = root.join(folder_name(epoch));
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))?;
    Ok(Checkpoint { dir, meta })
}

/// Read and verify one checkpoint folder.
pub fn load(dir: &Path) -> Result<Checkpoint, String> {
    let text = fs::read_to_string(dir.join("meta.json")).map_err(|e| format!("meta.json: {e}"))?;
    let meta: Meta = serde_json::from_str(&text).map_err(|e| format!("meta.json: {e}"))?;
    for (name, want) in &meta.files {
        let got = atomic::sha256_file(&dir.join(name)).map_err(|e| e.to_string())?;
        if &got != want {
            return Err(format!("{name} fails its hash check"));
        }
    }
    Ok(Checkpoint {
        dir: dir.to_path_buf(),
        meta,
    })
}

/// The epochs that have a checkpoint folder under `root`, ascending.
pub fn epochs(root: &Path) -> Vec<u32> {
    let mut out: Vec<u32> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("epoch-"))
                .and_then(|n| n.parse().ok())
        })
        .collect();
    out.sort_unstable();
    out
}

/// The newest valid checkpoint at or before `up_to` epochs. Corrupt ones are removed with a
/// warning, so the trial resumes from the one before (or from scratch).
pub fn latest(root: &Path, up_to: u32) -> Option<Checkpoint> {
    for epoch in epochs(root).into_iter().rev().filter(|e| *e <= up_to) {
        let dir = root.join(folder_name(epoch));
        match load(&dir) {
            Ok(c) => return Some(c),
            Err(why) => {
                tracing::warn!("discarding checkpoint {}: {why}", dir.display());
                let _ = fs::remove_dir_all(&dir);
            }
        }
    }
    None
}

/// Delete every checkpoint of `root` except the listed epochs.
pub fn prune(root: &Path, keep: &[u32]) -> usize {
    let mut removed = 0;
    for epoch in epochs(root) {
        if !keep.contains(&epoch) && fs::remove_dir_all(root.join(folder_name(epoch))).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_checkpoint_falls_back_to_the_one_before() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for epoch in 1..=3 {
            save(root, epoch, &[], serde_json::json!({}), |d| {
                atomic::write(&d.join("w.bin"), &[epoch as u8; 16])
            })
            .unwrap();
        }
        assert_eq!(latest(root, 3).unwrap().meta.epoch, 3);
        assert_eq!(latest(root, 2).unwrap().meta.epoch, 2);
        fs::write(root.join("epoch-0003/w.bin"), b"garbage").unwrap();
        assert_eq!(latest(root, 3).unwrap().meta.epoch, 2);
        assert_eq!(epochs(root), vec![1, 2]);
    }
}
