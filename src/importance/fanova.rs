//! Functional ANOVA of one regression tree (Hutter, Hoos and Leyton-Brown, 2014): the share of
//! the tree's variance over a box-shaped domain (uniform measure) that each feature explains
//! alone (main effect) and each pair explains together beyond its two main effects.
//!
//! A tree is piecewise constant on boxes, so every marginal is exact: along a feature the
//! tree's thresholds cut the domain into cells, and the marginal prediction on a cell is the
//! sum over the leaves that reach it of value × the leaf's share of the other features' domain.

use super::forest::{Node, Tree};

/// One leaf as a box: its value and, per feature, [low, high].
struct Leaf {
    value: f64,
    low: Vec<f64>,
    high: Vec<f64>,
}

/// The decomposition of one tree.
#[derive(Debug, Clone)]
pub struct TreeVariance {
    pub total: f64,
    /// Variance of each feature's marginal.
    pub main: Vec<f64>,
    /// For pairs (i < j, in `pairs()` order): variance of the pair's joint marginal minus both
    /// main effects, clipped at 0.
    pub pairs: Vec<f64>,
}

/// The feature pairs (i < j) in the order `TreeVariance::pairs` lists them.
pub fn pairs(d: usize) -> Vec<(usize, usize)> {
    (0..d)
        .flat_map(|i| (i + 1..d).map(move |j| (i, j)))
        .collect()
}

fn leaves(tree: &Tree, domain: &[(f64, f64)]) -> Vec<Leaf> {
    let mut out = Vec::new();
    let mut todo = vec![(
        0usize,
        domain.iter().map(|d| d.0).collect::<Vec<_>>(),
        domain.iter().map(|d| d.1).collect::<Vec<_>>(),
    )];
    while let Some((at, low, high)) = todo.pop() {
        match tree.nodes[at] {
            Node::Leaf { value } => out.push(Leaf { value, low, high }),
            Node::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                let (mut lh, mut rl) = (high.clone(), low.clone());
                lh[feature] = threshold.min(high[feature]);
                rl[feature] = threshold.max(low[feature]);
                todo.push((left, low, lh));
                todo.push((right, rl, high));
            }
        }
    }
    out
}

/// The cell edges along each feature: the domain's ends and every threshold inside it.
fn edges(tree: &Tree, domain: &[(f64, f64)]) -> Vec<Vec<f64>> {
    let mut e: Vec<Vec<f64>> = domain.iter().map(|&(a, b)| vec![a, b]).collect();
    for n in &tree.nodes {
        if let Node::Split {
            feature, threshold, ..
        } = *n
        {
            let (a, b) = domain[feature];
            if threshold > a && threshold < b {
                e[feature].push(threshold);
            }
        }
    }
    for v in &mut e {
        v.sort_by(f64::total_cmp);
        v.dedup();
    }
    e
}

/// The cells [from, to) of `edges` that the interval [low, high] covers.
fn cell_range(edges: &[f64], low: f64, high: f64) -> (usize, usize) {
    let from = edges.partition_point(|&e| e < low).min(edges.len() - 1);
    let to = edges.partition_point(|&e| e < high).max(from + 1);
    (from, to.min(edges.len() - 1))
}

pub fn decompose(tree: &Tree, domain: &[(f64, f64)]) -> TreeVariance {
    let d = domain.len();
    let width: Vec<f64> = domain.iter().map(|&(a, b)| b - a).collect();
    let leaves = leaves(tree, domain);
    let share = |l: &Leaf, k: usize| (l.high[k] - l.low[k]) / width[k];
    let volume: Vec<f64> = leaves
        .iter()
        .map(|l| (0..d).map(|k| share(l, k)).product())
        .collect();
    let mean: f64 = leaves.iter().zip(&volume).map(|(l, v)| l.value * v).sum();
    let total: f64 = leaves
        .iter()
        .zip(&volume)
        .map(|(l, v)| v * (l.value - mean).powi(2))
        .sum();
    let edges = edges(tree, domain);
    // The leaf's share of every feature but those given.
    let rest = |li: usize, skip: &[usize]| -> f64 {
        (0..d)
            .filter(|k| !skip.contains(k))
            .map(|k| share(&leaves[li], k))
            .product()
    };
    let ranges: Vec<Vec<(usize, usize)>> = leaves
        .iter()
        .map(|l| {
            (0..d)
                .map(|k| cell_range(&edges[k], l.low[k], l.high[k]))
                .collect()
        })
        .collect();
    let main: Vec<f64> = (0..d)
        .map(|i| {
            let e = &edges[i];
            let cells = e.len() - 1;
            // A difference array: each leaf adds its weighted value to a run of cells.
            let mut diff = vec![0.0; cells + 1];
            for li in 0..leaves.len() {
                let (a, b) = ranges[li][i];
                let add = leaves[li].value * rest(li, &[i]);
                diff[a] += add;
                diff[b] -= add;
            }
            let mut acc = 0.0;
            (0..cells)
                .map(|c| {
                    acc += diff[c];
                    (e[c + 1] - e[c]) / width[i] * (acc - mean).powi(2)
                })
                .sum()
        })
        .collect();
    let pairs = pairs(d)
        .into_iter()
        .map(|(i, j)| {
            let (ei, ej) = (&edges[i], &edges[j]);
            let (ci, cj) = (ei.len() - 1, ej.len() - 1);
            let mut diff = vec![0.0; (ci + 1) * (cj + 1)];
            for li in 0..leaves.len() {
                let ((a, b), (c, e)) = (ranges[li][i], ranges[li][j]);
                let add = leaves[li].value * rest(li, &[i, j]);
                diff[a * (cj + 1) + c] += add;
                diff[a * (cj + 1) + e] -= add;
                diff[b * (cj + 1) + c] -= add;
                diff[b * (cj + 1) + e] += add;
            }
            // 2-D prefix sums turn the differences into the marginal on each cell.
            for r in 0..=ci {
                for c in 1..=cj {
                    diff[r * (cj + 1) + c] += diff[r * (cj + 1) + c - 1];
                }
            }
            for r in 1..=ci {
                for c in 0..=cj {
                    diff[r * (cj + 1) + c] += diff[(r - 1) * (cj + 1) + c];
                }
            }
            let mut joint = 0.0;
            for r in 0..ci {
                for c in 0..cj {
                    let w = (ei[r + 1] - ei[r]) / width[i] * (ej[c + 1] - ej[c]) / width[j];
                    joint += w * (diff[r * (cj + 1) + c] - mean).powi(2);
                }
            }
            (joint - main[i] - main[j]).max(0.0)
        })
        .collect();
    TreeVariance { total, main, pairs }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(x0, x1) = [x0 > 0.5] + 2·[x1 > 0.5] + 4·[x0 > 0.5]·[x1 > 0.5] on [0,1]², as a tree.
    fn table_tree() -> Tree {
        let leaf = |value| Node::Leaf { value };
        let split = |feature, left, right| Node::Split {
            feature,
            threshold: 0.5,
            left,
            right,
        };
        Tree {
            nodes: vec![
                split(0, 1, 4),
                split(1, 2, 3),
                leaf(0.0),
                leaf(2.0),
                split(1, 5, 6),
                leaf(1.0),
                leaf(7.0),
            ],
        }
    }

    #[test]
    fn a_two_by_two_table_decomposes_exactly() {
        let v = decompose(&table_tree(), &[(0.0, 1.0), (0.0, 1.0)]);
        // Cell means 0, 2, 1, 7: mean 2.5, variance (6.25 + 0.25 + 2.25 + 20.25) / 4.
        assert!((v.total - 7.25).abs() < 1e-12);
        // Marginal of x0: 1 and 4 → variance 2.25; of x1: 0.5 and 4.5 → 4.
        assert!((v.main[0] - 2.25).abs() < 1e-12, "{:?}", v.main);
        assert!((v.main[1] - 4.0).abs() < 1e-12);
        assert!((v.pairs[0] - 1.0).abs() < 1e-12, "{:?}", v.pairs);
    }

    #[test]
    fn a_third_feature_the_tree_ignores_explains_nothing() {
        let v = decompose(&table_tree(), &[(0.0, 1.0), (0.0, 1.0), (-3.0, 3.0)]);
        assert!((v.total - 7.25).abs() < 1e-12);
        assert_eq!(v.main[2], 0.0);
        assert_eq!(pairs(3), vec![(0, 1), (0, 2), (1, 2)]);
        assert!((v.pairs[0] - 1.0).abs() < 1e-12);
        assert!(v.pairs[1].abs() < 1e-12 && v.pairs[2].abs() < 1e-12);
    }

    #[test]
    fn unequal_cells_weigh_by_their_width() {
        // f = [x > 0.25] on [0, 1]: p = 3/4, variance p(1-p).
        let t = Tree {
            nodes: vec![
                Node::Split {
                    feature: 0,
                    threshold: 0.25,
                    left: 1,
                    right: 2,
                },
                Node::Leaf { value: 0.0 },
                Node::Leaf { value: 1.0 },
            ],
        };
        let v = decompose(&t, &[(0.0, 1.0)]);
        assert!((v.total - 0.1875).abs() < 1e-12);
        assert!((v.main[0] - 0.1875).abs() < 1e-12);
    }
}
