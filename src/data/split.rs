//! Splitting a dataset's rows into train / val / sealed test, and optional folds: seeded,
//! stratified by label, groups kept whole, duplicates across splits found (or removed).

mod allocate;
mod groups;
mod options;
mod record;
mod rows;

use std::collections::{HashMap, HashSet};

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Dataset, Manifest, Normalisation, Task};
pub use allocate::allocate;
pub use options::{Amount, Counts, DEFAULT_TEST, DEFAULT_VAL, Dedupe, SplitOptions};
pub(crate) use rows::record_of_features;
pub use rows::{Cell, Record, RowHash, row_hashes, row_identity};

/// Where a row went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Train,
    Val,
    Test,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateRow {
    pub row: u32,
    pub part: Part,
}

/// Rows with the same identity (every source column equal, `rows::row_identity`) that ended
/// up in more than one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicate {
    pub row_hash: String,
    pub rows: Vec<DuplicateRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SplitOutcome {
    pub manifest: Manifest,
    /// Ascending; for the sealed file only an evaluate job opens.
    pub test_rows: Vec<u32>,
    pub duplicates: Vec<Duplicate>,
    pub removed_duplicates: usize,
    /// What the split did, for the job's record: sizes, label counts, test source, seed.
    pub record: serde_json::Value,
    /// The identity of every row of the dataset (`rows::row_hashes`).
    pub hashes: Vec<RowHash>,
}

/// Split `ds` as `opts` says, reproducibly from `seed`. Train, val, test and each fold are
/// ascending row indices. `manifest.folds[i]` holds the validation rows of fold i; its
/// training rows are the rest of train+val.
pub fn split(ds: &Dataset, opts: &SplitOptions, seed: u64) -> crate::Result<SplitOutcome> {
    split_with(ds, opts, seed, None)
}

/// `split`, with the time of every row for `by_time:` (`checks::time::times`).
pub fn split_with(
    ds: &Dataset,
    opts: &SplitOptions,
    seed: u64,
    times: Option<&[i64]>,
) -> crate::Result<SplitOutcome> {
    opts.check("split")
        .map_err(|e| crate::Error::Usage(format!("{}: {}", e.field, e.msg)))?;
    let times = match (&opts.by_time, times) {
        (Some(_), Some(t)) if t.len() == ds.n => Some(t),
        (Some(c), _) => {
            return Err(usage(&format!(
                "split.by_time: no time of every row from column `{c}`"
            )));
        }
        (None, _) => None,
    };
    let stratify = match (opts.stratify, ds.task) {
        _ if times.is_some() => false,
        (Some(true), Task::Regression) => {
            return Err(usage(
                "split.stratify: regression labels have no classes to stratify by",
            ));
        }
        (Some(s), _) => s,
        (None, task) => task == Task::Classification,
    };
    let groups = match &opts.group {
        Some(g) => Some(ds.groups.as_deref().ok_or_else(|| {
            usage(&format!(
                "split.group: the data was loaded without the group column `{g}`"
            ))
        })?),
        None => None,
    };
    let official_from = if opts.official_test() {
        Some(ds.official_test_from.ok_or_else(|| {
            usage("split.test: `official` needs idx data with t10k-* files next to train-*")
        })?)
    } else {
        None
    };
    let is_official = |r: usize| official_from.is_some_and(|f| r >= f);

    let hashes = row_hashes(ds);
    let (keep, removed_duplicates) = if opts.dedupe == options::Dedupe::Remove {
        dedupe(&hashes, official_from)
    } else {
        (vec![true; ds.n], 0)
    };
    let pool: Vec<u32> = (0..ds.n)
        .filter(|&r| keep[r] && !is_official(r))
        .map(|r| r as u32)
        .collect();
    let counts = opts.counts(pool.len())?;

    let classes = if stratify { ds.classes.max(1) } else { 1 };
    let class_of = |r: u32| {
        if stratify {
            ds.class_of(r as usize).unwrap_or(0)
        } else {
            0
        }
    };
    let mut rng = crate::vocab::rng_for(seed, "split", 0);
    // Part order train, val, test, unused: when whole groups overflow every target, the
    // surplus goes to train.
    let totals = [counts.train, counts.val, counts.test, counts.unused];
    let mut parts = match (groups, times) {
        (_, Some(t)) => by_time(&pool, t, &totals),
        (Some(names), None) => by_groups(&pool, names, classes, &class_of, &totals, &mut rng)?,
        (None, None) => by_class(&pool, classes, &class_of, &totals, &mut rng)?,
    };
    for p in &mut parts {
        p.sort_unstable();
    }
    let [train, val, mut test, unused] = parts;
    if official_from.is_some() {
        test = (0..ds.n)
            .filter(|&r| keep[r] && is_official(r))
            .map(|r| r as u32)
            .collect();
    }
    for (name, rows) in [("train", &train), ("val", &val), ("test", &test)] {
        if rows.is_empty() && !(name == "val" && opts.folds.is_some()) {
            return Err(usage(&format!(
                "split: {name} got no rows (too few groups or rows to fill train, val and test)"
            )));
        }
    }

    let folds = match opts.folds {
        Some(k) => {
            let mut rows: Vec<u32> = train.iter().chain(&val).copied().collect();
            rows.sort_unstable();
            let mut frng = crate::vocab::rng_for(seed, "split", 1);
            make_folds(&rows, k, groups, classes, &class_of, &mut frng)?
        }
        None => Vec::new(),
    };
    let duplicates = find_duplicates(
        &hashes,
        [
            (Part::Train, &train),
            (Part::Val, &val),
            (Part::Test, &test),
        ],
    );
    let manifest = Manifest {
        normalisation: Normalisation::fit(ds, &train),
        test_hash: rows::test_hash(&test, &hashes),
        test_count: test.len(),
        files: Default::default(),
        train,
        val,
        folds,
    };
    let record = record::record(
        ds,
        opts,
        seed,
        stratify,
        &manifest,
        &test,
        unused.len(),
        &duplicates,
        removed_duplicates,
    );
    Ok(SplitOutcome {
        manifest,
        test_rows: test,
        duplicates,
        removed_duplicates,
        record,
        hashes,
    })
}

/// A row's content fingerprint as the audit records it: the first 8 bytes of its hash, hex.
pub fn fingerprint(h: &RowHash) -> String {
    hex::encode(&h[..8])
}

impl SplitOutcome {
    /// The content fingerprints of `rows`.
    pub fn fingerprints(&self, rows: &[u32]) -> Vec<String> {
        rows.iter()
            .map(|&r| fingerprint(&self.hashes[r as usize]))
            .collect()
    }
}

fn usage(msg: &str) -> crate::Error {
    crate::Error::Usage(msg.to_string())
}

/// Which rows to keep: the first of each set of identical rows. With an official test the
/// test rows count as first, so the official test stays whole and its copies leave train.
fn dedupe(hashes: &[RowHash], official_from: Option<usize>) -> (Vec<bool>, usize) {
    let n = hashes.len();
    let from = official_from.unwrap_or(n);
    let mut keep = vec![true; n];
    let mut seen = HashSet::with_capacity(n);
    let mut removed = 0;
    for r in (from..n).chain(0..from) {
        if !seen.insert(hashes[r]) {
            keep[r] = false;
            removed += 1;
        }
    }
    (keep, removed)
}

/// In order of time (ties in row order): the latest rows are test, the latest before them
/// val, train the `totals[0]` rows before those; any earlier rows go unused.
fn by_time(pool: &[u32], times: &[i64], totals: &[usize; 4]) -> [Vec<u32>; 4] {
    let mut order = pool.to_vec();
    order.sort_by_key(|&r| (times[r as usize], r));
    let [train, val, test, _] = *totals;
    let cut = order.len() - test;
    let test_rows = order.split_off(cut);
    let val_rows = order.split_off(order.len() - val);
    let train_rows = order.split_off(order.len() - train);
    [train_rows, val_rows, test_rows, order]
}

/// Shuffle each class's rows, then deal them to the parts by `allocate`'s table.
fn by_class(
    pool: &[u32],
    classes: usize,
    class_of: &dyn Fn(u32) -> usize,
    totals: &[usize; 4],
    rng: &mut ChaCha8Rng,
) -> crate::Result<[Vec<u32>; 4]> {
    let mut per_class = vec![Vec::new(); classes];
    for &r in pool {
        per_class[class_of(r)].push(r);
    }
    let sizes: Vec<usize> = per_class.iter().map(Vec::len).collect();
    let table = allocate(&sizes, totals)?;
    let mut parts: [Vec<u32>; 4] = Default::default();
    for (rows, want) in per_class.iter_mut().zip(&table) {
        rows.shuffle(rng);
        let mut rest = rows.as_slice();
        for (p, &k) in want.iter().enumerate() {
            parts[p].extend_from_slice(&rest[..k]);
            rest = &rest[k..];
        }
    }
    Ok(parts)
}

fn by_groups(
    pool: &[u32],
    names: &[String],
    classes: usize,
    class_of: &dyn Fn(u32) -> usize,
    totals: &[usize; 4],
    rng: &mut ChaCha8Rng,
) -> crate::Result<[Vec<u32>; 4]> {
    let groups = groups::collect(pool, names, class_of, classes);
    let chosen = groups::assign(
        &groups,
        &class_targets(pool, classes, class_of, totals)?,
        rng,
    );
    let mut parts: [Vec<u32>; 4] = Default::default();
    for (g, &p) in groups.iter().zip(&chosen) {
        parts[p].extend_from_slice(&g.rows);
    }
    Ok(parts)
}

/// `targets[part][class]`: the rows of each class each part should get.
fn class_targets(
    rows: &[u32],
    classes: usize,
    class_of: &dyn Fn(u32) -> usize,
    totals: &[usize],
) -> crate::Result<Vec<Vec<usize>>> {
    let mut sizes = vec![0usize; classes];
    for &r in rows {
        sizes[class_of(r)] += 1;
    }
    let table = allocate(&sizes, totals)?;
    Ok((0..totals.len())
        .map(|p| table.iter().map(|row| row[p]).collect())
        .collect())
}

/// k validation folds over `rows` (train+val): stratified by dealing each shuffled class in
/// turn round the folds (sizes differ by at most one), or whole groups balanced as in the split.
fn make_folds(
    rows: &[u32],
    k: usize,
    names: Option<&[String]>,
    classes: usize,
    class_of: &dyn Fn(u32) -> usize,
    rng: &mut ChaCha8Rng,
) -> crate::Result<Vec<Vec<u32>>> {
    let mut folds = vec![Vec::new(); k];
    if let Some(names) = names {
        let groups = groups::collect(rows, names, class_of, classes);
        if groups.len() < k {
            return Err(usage(&format!(
                "split.folds: {k} folds need at least {k} groups in train+val, found {}",
                groups.len()
            )));
        }
        let totals: Vec<usize> = (0..k)
            .map(|i| rows.len() / k + usize::from(i < rows.len() % k))
            .collect();
        let chosen = groups::assign(
            &groups,
            &class_targets(rows, classes, class_of, &totals)?,
            rng,
        );
        for (g, &f) in groups.iter().zip(&chosen) {
            folds[f].extend_from_slice(&g.rows);
        }
    } else {
        if rows.len() < k {
            return Err(usage(&format!(
                "split.folds: {k} folds need at least {k} rows in train+val, found {}",
                rows.len()
            )));
        }
        let mut per_class = vec![Vec::new(); classes];
        for &r in rows {
            per_class[class_of(r)].push(r);
        }
        let mut i = 0;
        for mut list in per_class {
            list.shuffle(rng);
            for r in list {
                folds[i % k].push(r);
                i += 1;
            }
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    Ok(folds)
}

/// Identical rows (same row hash) present in more than one split, ordered by first row.
fn find_duplicates(hashes: &[RowHash], parts: [(Part, &Vec<u32>); 3]) -> Vec<Duplicate> {
    let mut by_hash: HashMap<RowHash, Vec<DuplicateRow>> = HashMap::new();
    for (part, rows) in parts {
        for &row in rows {
            by_hash
                .entry(hashes[row as usize])
                .or_default()
                .push(DuplicateRow { row, part });
        }
    }
    let mut out: Vec<Duplicate> = by_hash
        .into_iter()
        .filter(|(_, rows)| rows.iter().any(|r| r.part != rows[0].part))
        .map(|(h, mut rows)| {
            rows.sort_by_key(|r| r.row);
            Duplicate {
                row_hash: hex::encode(h),
                rows,
            }
        })
        .collect();
    out.sort_by_key(|d| d.rows[0].row);
    out
}
