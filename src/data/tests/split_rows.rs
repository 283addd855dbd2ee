//! Splitting rows: sizes, stratification, seeds, folds, duplicates, normalisation, official test.

use std::collections::HashSet;
use std::path::Path;

use super::{csv_spec, digits, idx_folder, spec, write};
use crate::data::split::Part;
use crate::data::{Dataset, Normalisation, Source, SplitOptions, load, split};

fn opts(yaml: &str) -> SplitOptions {
    serde_yaml::from_str(yaml).expect("split options")
}

fn class_counts(ds: &Dataset, rows: &[u32]) -> Vec<usize> {
    let mut c = vec![0; ds.classes];
    rows.iter()
        .for_each(|&r| c[ds.class_of(r as usize).unwrap()] += 1);
    c
}

#[test]
fn sizes_and_per_class_proportions_within_one_row() {
    let ds = digits();
    let out = split(&ds, &opts("{train: 0.7, val: 0.15, test: 0.15}"), 42).unwrap();
    let m = &out.manifest;
    // 0.15 × 1797 = 269.55 → 270 each; train takes the exact rest.
    assert_eq!(
        (m.train.len(), m.val.len(), out.test_rows.len()),
        (1257, 270, 270)
    );
    assert_eq!(m.test_count, 270);
    let all: HashSet<u32> = m
        .train
        .iter()
        .chain(&m.val)
        .chain(&out.test_rows)
        .copied()
        .collect();
    assert_eq!(all.len(), 1797, "a partition of every row");
    let total = class_counts(&ds, &(0..1797).collect::<Vec<_>>());
    for rows in [&m.train, &m.val, &out.test_rows] {
        for (c, &k) in class_counts(&ds, rows).iter().enumerate() {
            let share = total[c] as f64 * rows.len() as f64 / 1797.0;
            assert!(
                (k as f64 - share).abs() <= 1.0,
                "class {c}: {k} vs {share:.2}"
            );
        }
    }
    assert!(m.train.windows(2).all(|w| w[0] < w[1]), "ascending");
    assert_eq!(out.record["sizes"]["unused"], 0);
    assert_eq!(out.record["test_source"], "pooled");
    assert_eq!(
        out.record["label_counts"]["test"].as_array().unwrap().len(),
        10
    );
}

#[test]
fn counts_and_unused_rows() {
    let ds = digits();
    let out = split(&ds, &opts("{train: 500, val: 100, test: 0.1}"), 1).unwrap();
    assert_eq!(
        (
            out.manifest.train.len(),
            out.manifest.val.len(),
            out.test_rows.len()
        ),
        (500, 100, 180)
    );
    assert_eq!(out.record["sizes"]["unused"], 1797 - 780);
    let e = split(&ds, &opts("{train: 1700, val: 100}"), 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "split: train 1700 + val 100 + test 270 rows = 2070, but only 1797 rows are there to split"
    );
}

#[test]
fn same_seed_same_split_other_seed_other_split() {
    let ds = digits();
    let o = opts("{test: 0.2, folds: 3}");
    let a = split(&ds, &o, 7).unwrap();
    assert_eq!(a, split(&ds, &o, 7).unwrap());
    let b = split(&ds, &o, 8).unwrap();
    assert_ne!(a.test_rows, b.test_rows);
    assert_ne!(a.manifest.train, b.manifest.train);
    assert_ne!(a.manifest.test_hash, b.manifest.test_hash);
}

#[test]
fn folds_partition_train_and_val_stratified() {
    let ds = digits();
    let out = split(&ds, &opts("{test: 0.2, folds: 5}"), 3).unwrap();
    let m = &out.manifest;
    assert!(m.val.is_empty(), "with folds val defaults to 0");
    assert_eq!(m.folds.len(), 5);
    let mut all: Vec<u32> = m.folds.concat();
    all.sort_unstable();
    assert_eq!(all, m.train, "the folds partition train+val");
    let sizes: Vec<usize> = m.folds.iter().map(Vec::len).collect();
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
    let train_counts = class_counts(&ds, &m.train);
    for f in &m.folds {
        for (c, &k) in class_counts(&ds, f).iter().enumerate() {
            assert!((k as f64 - train_counts[c] as f64 / 5.0).abs() <= 1.0);
        }
    }
}

#[test]
fn unstratified_when_asked() {
    let ds = digits();
    let out = split(&ds, &opts("{stratify: false}"), 5).unwrap();
    assert_eq!(out.record["stratified"], false);
    assert_eq!(out.test_rows.len(), 270);
}

#[test]
fn normalisation_is_fitted_on_train_rows_only() {
    let mut ds = digits();
    let o = opts("{}");
    let before = split(&ds, &o, 11).unwrap();
    let m = &before.manifest;
    assert_eq!(m.normalisation, Normalisation::fit(&ds, &m.train));
    // Change a test row and a val row: the statistics must not move, the test hash must.
    for r in [before.test_rows[0], m.val[0]] {
        let d = ds.features();
        ds.x[r as usize * d..(r as usize + 1) * d].fill(16.0);
    }
    let after = split(&ds, &o, 11).unwrap();
    assert_eq!(after.manifest.normalisation, m.normalisation);
    assert_eq!(after.test_rows, before.test_rows);
    assert_ne!(after.manifest.test_hash, m.test_hash);
    // And a train row moves them.
    let r = m.train[0] as usize;
    ds.x[r * 64] += 5.0;
    assert_ne!(
        split(&ds, &o, 11).unwrap().manifest.normalisation,
        m.normalisation
    );
}

/// A CSV where rows 0..10 are copies of rows 10..20 (same features and label).
fn csv_with_duplicates(dir: &Path) -> Dataset {
    let mut text = String::from("a,b,y\n");
    for i in 0..200 {
        let j = if i < 10 { i + 10 } else { i };
        text.push_str(&format!("{j},{},{}\n", j * 7 % 13, ["p", "q"][j % 2]));
    }
    let p = write(dir, "dups.csv", &text);
    load(&csv_spec(&p, "y"), Path::new("/"), None).unwrap()
}

#[test]
fn duplicates_across_splits_are_reported_and_dedupe_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let ds = csv_with_duplicates(dir.path());
    let mut seen_across = 0;
    for seed in 0..20 {
        let out = split(&ds, &opts("{val: 0.25, test: 0.25}"), seed).unwrap();
        for d in &out.duplicates {
            assert_eq!(d.rows.len(), 2);
            assert_eq!(d.rows[0].row + 10, d.rows[1].row, "planted pair");
            assert_ne!(d.rows[0].part, d.rows[1].part);
            assert!(
                d.rows
                    .iter()
                    .all(|r| matches!(r.part, Part::Train | Part::Val | Part::Test))
            );
        }
        seen_across += out.duplicates.len();
        assert_eq!(out.record["duplicates_across_splits"], out.duplicates.len());
    }
    assert!(seen_across > 0, "some planted pair lands in two splits");

    let out = split(&ds, &opts("{val: 0.25, test: 0.25, dedupe: true}"), 0).unwrap();
    assert_eq!((out.removed_duplicates, out.duplicates.len()), (10, 0));
    let kept: Vec<u32> = [&out.manifest.train[..], &out.manifest.val, &out.test_rows].concat();
    assert_eq!(kept.len(), 190);
    assert!(
        kept.iter().all(|&r| !(10..20).contains(&r)),
        "the first copy (rows 0..10) is kept"
    );
}

#[test]
fn official_test_uses_the_t10k_rows() {
    let dir = tempfile::tempdir().unwrap();
    idx_folder(dir.path(), 90, 30, true);
    let ds = load(&spec(Source::Idx, Some(dir.path())), Path::new("/"), None).unwrap();
    let out = split(&ds, &opts("{test: official, val: 0.2}"), 9).unwrap();
    assert_eq!(out.test_rows, (90..120).collect::<Vec<u32>>());
    assert_eq!((out.manifest.train.len(), out.manifest.val.len()), (72, 18));
    assert!(
        out.manifest
            .train
            .iter()
            .chain(&out.manifest.val)
            .all(|&r| r < 90)
    );
    assert_eq!(out.record["test_source"], "official");

    // Rows 0..90 repeat pixel values of rows 251 apart only, so make a real copy: dedupe
    // must keep the official test row and drop its train twin.
    let mut ds = ds;
    let twin = ds.row(100).to_vec();
    let d = ds.features();
    ds.x[5 * d..6 * d].copy_from_slice(&twin);
    let yy = match &mut ds.y {
        crate::data::Target::Classes(y) => y,
        _ => unreachable!(),
    };
    yy[5] = yy[100];
    let out = split(&ds, &opts("{test: official, val: 0.2, dedupe: true}"), 9).unwrap();
    assert_eq!(out.removed_duplicates, 1);
    assert!(out.test_rows.contains(&100));
    assert!(!out.manifest.train.contains(&5) && !out.manifest.val.contains(&5));

    let digits = digits();
    let e = split(&digits, &opts("{test: official}"), 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "split.test: `official` needs idx data with t10k-* files next to train-*"
    );
}
