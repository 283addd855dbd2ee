//! Class numbers from the training rows: the classes that occur in train keep their order
//! and come first; a class that occurs only in val or test moves after them, and the split
//! reports its rows (no model trained on these rows can predict it). When every class occurs
//! in train, nothing changes.

use super::{Dataset, Target};

/// A class no training row has: its name and how many val and test rows carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unseen {
    pub class: String,
    pub val: usize,
    pub test: usize,
}

/// Renumber `ds`'s classes so that those in `train` come first; returns the others.
pub fn train_first(ds: &mut Dataset, train: &[u32], val: &[u32], test: &[u32]) -> Vec<Unseen> {
    let Target::Classes(labels) = &mut ds.y else {
        return Vec::new();
    };
    let mut in_train = vec![false; ds.classes];
    for &r in train {
        in_train[labels[r as usize] as usize] = true;
    }
    if in_train.iter().all(|&t| t) {
        return Vec::new();
    }
    let order: Vec<usize> = (0..ds.classes)
        .filter(|&c| in_train[c])
        .chain((0..ds.classes).filter(|&c| !in_train[c]))
        .collect();
    let mut new_of = vec![0i64; ds.classes];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = new as i64;
    }
    let count = |rows: &[u32], c: usize| {
        rows.iter()
            .filter(|&&r| labels[r as usize] as usize == c)
            .count()
    };
    let name = |c: usize| ds.class_names.get(c).cloned().unwrap_or(c.to_string());
    let unseen: Vec<Unseen> = (0..ds.classes)
        .filter(|&c| !in_train[c])
        .map(|c| Unseen {
            class: name(c),
            val: count(val, c),
            test: count(test, c),
        })
        .filter(|u| u.val + u.test > 0)
        .collect();
    for l in labels.iter_mut() {
        *l = new_of[*l as usize];
    }
    if ds.class_names.len() == ds.classes {
        ds.class_names = order.iter().map(|&c| ds.class_names[c].clone()).collect();
    }
    unseen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Task;

    fn ds(labels: Vec<i64>, names: &[&str]) -> Dataset {
        Dataset {
            x: vec![0.0; labels.len()],
            n: labels.len(),
            shape: vec![1],
            y: Target::Classes(labels),
            classes: names.len(),
            class_names: names.iter().map(|s| s.to_string()).collect(),
            task: Task::Classification,
            feature_names: vec!["a".into()],
            groups: None,
            official_test_from: None,
            source: None,
        }
    }

    #[test]
    fn a_class_only_in_test_moves_last_and_is_reported() {
        // "bird" (1) occurs only in the test row 3.
        let mut d = ds(vec![0, 2, 0, 1, 2], &["ant", "bird", "cat"]);
        let unseen = train_first(&mut d, &[0, 1], &[2, 4], &[3]);
        assert_eq!(
            unseen,
            vec![Unseen {
                class: "bird".into(),
                val: 0,
                test: 1
            }]
        );
        assert_eq!(d.class_names, vec!["ant", "cat", "bird"]);
        assert_eq!(d.y, Target::Classes(vec![0, 1, 0, 2, 1]));
        // Every class in train: nothing changes.
        let mut d = ds(vec![0, 1, 2], &["a", "b", "c"]);
        assert!(train_first(&mut d, &[0, 1, 2], &[], &[]).is_empty());
        assert_eq!(d.y, Target::Classes(vec![0, 1, 2]));
    }
}
