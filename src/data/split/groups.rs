//! Assigning whole groups to parts (splits or folds): no group is ever divided, sizes and
//! class proportions follow the targets as closely as whole groups allow.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// The rows of one group and how many of them fall in each class (one class when the split
/// is not stratified).
pub struct Group {
    pub rows: Vec<u32>,
    pub per_class: Vec<usize>,
}

/// Collect the groups among `rows` by `names[row]`, in order of first appearance.
pub fn collect(
    rows: &[u32],
    names: &[String],
    class_of: impl Fn(u32) -> usize,
    classes: usize,
) -> Vec<Group> {
    let mut index = std::collections::HashMap::new();
    let mut out: Vec<Group> = Vec::new();
    for &r in rows {
        let g = *index.entry(names[r as usize].as_str()).or_insert_with(|| {
            out.push(Group {
                rows: Vec::new(),
                per_class: vec![0; classes],
            });
            out.len() - 1
        });
        out[g].rows.push(r);
        out[g].per_class[class_of(r)] += 1;
    }
    out
}

/// The part of each group. `targets[p][c]` is how many rows of class `c` part `p` should
/// get (from `allocate`). Groups go in a seeded random order, each to the part that wants
/// most of its rows (its per-class shortfall), ties to the part furthest below its size
/// relative to its target, then the lower index. Random order keeps any one group equally
/// likely to land anywhere; the relative shortfall interleaves parts in proportion.
pub fn assign(groups: &[Group], targets: &[Vec<usize>], rng: &mut ChaCha8Rng) -> Vec<usize> {
    let parts = targets.len();
    let total: Vec<usize> = targets.iter().map(|t| t.iter().sum()).collect();
    let mut have: Vec<Vec<usize>> = targets.iter().map(|t| vec![0; t.len()]).collect();
    let mut size = vec![0usize; parts];
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.shuffle(rng);
    let mut out = vec![0usize; groups.len()];
    for g in order {
        let group = &groups[g];
        let wanted = |p: usize| -> usize {
            group
                .per_class
                .iter()
                .enumerate()
                .map(|(c, &k)| k.min(targets[p][c].saturating_sub(have[p][c])))
                .sum()
        };
        let short = |p: usize| total[p].saturating_sub(size[p]);
        let open: Vec<usize> = (0..parts).filter(|&p| short(p) > 0).collect();
        let candidates = if open.is_empty() {
            (0..parts).collect()
        } else {
            open
        };
        let best = candidates.into_iter().max_by(|&a, &b| {
            // short(a)/total(a) vs short(b)/total(b), cross-multiplied to stay exact.
            let rel = |p: usize, q: usize| short(p) as u128 * total[q].max(1) as u128;
            wanted(a)
                .cmp(&wanted(b))
                .then(rel(a, b).cmp(&rel(b, a)))
                .then(b.cmp(&a))
        });
        let p = best.unwrap_or(0);
        out[g] = p;
        size[p] += group.rows.len();
        for (c, &k) in group.per_class.iter().enumerate() {
            have[p][c] += k;
        }
    }
    out
}
