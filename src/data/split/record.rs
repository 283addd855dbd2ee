//! The split's record: what it did, in JSON, for the job's record and `hpflow show`.

use std::collections::HashSet;

use serde_json::json;

use super::{Duplicate, SplitOptions};
use crate::data::{Dataset, Manifest, Task};

/// Sizes, per-split label counts (classification) and group counts (with `group:`), the
/// test source, the seed and the duplicate counts. Label counts of the test split are
/// counts only: no row of it is revealed.
#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    ds: &Dataset,
    opts: &SplitOptions,
    seed: u64,
    stratified: bool,
    m: &Manifest,
    test: &[u32],
    unused: usize,
    duplicates: &[Duplicate],
    removed: usize,
) -> serde_json::Value {
    let label_counts = |rows: &[u32]| -> Vec<usize> {
        let mut c = vec![0usize; ds.classes];
        for &r in rows {
            if let Some(k) = ds.class_of(r as usize) {
                c[k] += 1;
            }
        }
        c
    };
    let group_count = |rows: &[u32]| -> Option<usize> {
        let g = ds.groups.as_ref().filter(|_| opts.group.is_some())?;
        Some(
            rows.iter()
                .map(|&r| g[r as usize].as_str())
                .collect::<HashSet<_>>()
                .len(),
        )
    };
    let mut rec = json!({
        "seed": seed,
        "rows": ds.n,
        "test_source": if opts.official_test() { "official" } else { "pooled" },
        "stratified": stratified,
        "group": opts.group,
        "dedupe": opts.dedupe,
        "removed_duplicates": removed,
        "duplicates_across_splits": duplicates.len(),
        "sizes": { "train": m.train.len(), "val": m.val.len(), "test": test.len(), "unused": unused },
        "folds": m.folds.iter().map(Vec::len).collect::<Vec<_>>(),
        "test_hash": m.test_hash,
    });
    if ds.task == Task::Classification {
        rec["classes"] = json!(ds.class_names);
        rec["label_counts"] = json!({
            "train": label_counts(&m.train), "val": label_counts(&m.val), "test": label_counts(test),
        });
    }
    if let Some(t) = &opts.by_time {
        rec["by_time"] = json!(t);
    }
    if opts.group.is_some() {
        rec["groups"] = json!({
            "train": group_count(&m.train), "val": group_count(&m.val), "test": group_count(test),
        });
    }
    rec
}
