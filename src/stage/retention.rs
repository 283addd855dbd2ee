//! Which checkpoints a search keeps. A trial only ever continues from its newest checkpoint,
//! a PBT clone copies one named epoch, and early stopping keeps the best epoch's, so
//! everything else is deleted as results come in.
//! Under a disk limit, the newest checkpoints of the worst trials go too: if such a trial is
//! promoted after all, it trains again from scratch, which gives the same weights (resume is
//! exact), so the limit costs time, never results.

use std::path::Path;

use crate::train::{TrialDir, checkpoint};

/// Bytes under a folder.
pub fn size(path: &Path) -> u64 {
    let mut total = 0;
    let mut todo = vec![path.to_path_buf()];
    while let Some(p) = todo.pop() {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => todo.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Keep a trial's newest checkpoint and the epochs named in `keep`: those pending clones need,
/// and the best epoch of a trial under early stopping.
pub fn prune_trial(trial_dir: &Path, keep_epochs: &[u32]) {
    let root = TrialDir::of(&trial_dir).checkpoints();
    let mut keep: Vec<u32> = checkpoint::epochs(&root)
        .last()
        .copied()
        .into_iter()
        .collect();
    keep.extend_from_slice(keep_epochs);
    checkpoint::prune(&root, &keep);
}

/// Delete whole checkpoint folders of the worst trials until the job's trials fit in
/// `limit_bytes`. `ranking` lists (trial folder, objective; `None` = failed) of the trials
/// that may lose theirs (not running, not needed by a pending clone). Returns how many were
/// cleared.
pub fn enforce_limit(
    trials_dir: &Path,
    limit_bytes: u64,
    mut ranking: Vec<(std::path::PathBuf, Option<f64>)>,
) -> usize {
    let mut used = size(trials_dir);
    if used <= limit_bytes {
        return 0;
    }
    // Worst first: failed trials, then the largest objective (objectives are minimised).
    ranking.sort_by(|a, b| match (a.1, b.1) {
        (None, None) => a.0.cmp(&b.0),
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.0.cmp(&b.0)),
    });
    let mut cleared = 0;
    for (dir, _) in ranking {
        if used <= limit_bytes {
            break;
        }
        let root = TrialDir::of(&dir).checkpoints();
        let freed = size(&root);
        if freed > 0 && std::fs::remove_dir_all(&root).is_ok() {
            used = used.saturating_sub(freed);
            cleared += 1;
        }
    }
    cleared
}
