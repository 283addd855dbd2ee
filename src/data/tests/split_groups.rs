//! Group splits: a group's rows never end up in two splits or two folds.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{csv_spec, write};
use crate::data::{Dataset, SplitOptions, load, split};

/// 60 patients with 1 to 8 visits each, label by visit parity and patient.
fn patients(dir: &Path) -> Dataset {
    let mut text = String::from("patient_id,age,dose,outcome\n");
    for p in 0..60 {
        for v in 0..(1 + p * 7 % 8) {
            text.push_str(&format!(
                "P{p:02},{},{}.5,{}\n",
                20 + p,
                v,
                ["ok", "bad", "mixed"][(p + v) % 3]
            ));
        }
    }
    let p = write(dir, "patients.csv", &text);
    load(&csv_spec(&p, "outcome"), Path::new("/"), Some("patient_id")).unwrap()
}

fn group_of(ds: &Dataset, rows: &[u32]) -> HashSet<String> {
    let g = ds.groups.as_ref().unwrap();
    rows.iter().map(|&r| g[r as usize].clone()).collect()
}

#[test]
fn no_group_spans_two_splits() {
    let dir = tempfile::tempdir().unwrap();
    let ds = patients(dir.path());
    assert_eq!(
        ds.feature_names,
        ["age", "dose"],
        "the group column is not a feature"
    );
    let o: SplitOptions =
        serde_yaml::from_str("{train: 0.6, val: 0.2, test: 0.2, group: patient_id}").unwrap();
    for seed in 0..25 {
        let out = split(&ds, &o, seed).unwrap();
        let m = &out.manifest;
        let (tr, va, te) = (
            group_of(&ds, &m.train),
            group_of(&ds, &m.val),
            group_of(&ds, &out.test_rows),
        );
        assert!(
            tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te),
            "seed {seed}"
        );
        assert_eq!(m.train.len() + m.val.len() + out.test_rows.len(), ds.n);
        // Whole groups cannot hit the target exactly; they come close.
        let target = ds.n as f64 * 0.2;
        assert!(
            (out.test_rows.len() as f64 - target).abs() <= 8.0,
            "seed {seed}: {}",
            out.test_rows.len()
        );
        assert_eq!(out.record["groups"]["test"], te.len());
    }
}

#[test]
fn group_folds_keep_groups_whole() {
    let dir = tempfile::tempdir().unwrap();
    let ds = patients(dir.path());
    let o: SplitOptions = serde_yaml::from_str("{test: 0.2, group: patient_id, folds: 4}").unwrap();
    let out = split(&ds, &o, 2).unwrap();
    let mut owner: HashMap<String, usize> = HashMap::new();
    for (f, rows) in out.manifest.folds.iter().enumerate() {
        assert!(!rows.is_empty());
        for g in group_of(&ds, rows) {
            assert_eq!(*owner.entry(g).or_insert(f), f, "a group in two folds");
        }
    }
    assert!(
        group_of(&ds, &out.test_rows)
            .iter()
            .all(|g| !owner.contains_key(g))
    );
}

#[test]
fn group_needs_the_column_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..10)
        .map(|i| format!("7,{i},{}\n", ["p", "q"][i % 2]))
        .collect();
    let p = write(dir.path(), "x.csv", &format!("g,a,y\n{rows}"));
    let ds = load(&csv_spec(&p, "y"), Path::new("/"), None).unwrap();
    let o: SplitOptions = serde_yaml::from_str("{group: g}").unwrap();
    let e = split(&ds, &o, 1).unwrap_err().to_string();
    assert_eq!(
        e,
        "split.group: the data was loaded without the group column `g`"
    );
    let ds = load(&csv_spec(&p, "y"), Path::new("/"), Some("g")).unwrap();
    let e = split(&ds, &o, 1).unwrap_err().to_string();
    assert!(
        e.contains("got no rows"),
        "one group cannot fill three splits: {e}"
    );
}
