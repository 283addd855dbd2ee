//! A random forest of regression trees (bootstrap samples, best variance-reducing split over
//! every feature, thresholds halfway between neighbouring values, grown until leaves are pure
//! or hold one distinct point): the surrogate whose variance fANOVA decomposes.

use rand::Rng;
use rand::seq::SliceRandom;

/// A node of a regression tree, stored in one vector; children are indices into it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        value: f64,
    },
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// Growth limits (the defaults match a common random forest set-up: deep, unpruned trees).
#[derive(Debug, Clone, Copy)]
pub struct TreeOptions {
    pub max_depth: usize,
    pub min_samples_split: usize,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            max_depth: 64,
            min_samples_split: 2,
        }
    }
}

impl Tree {
    /// Grow a tree on the rows `sample` (indices into `x`/`y`, repeats allowed: a bootstrap).
    pub fn fit(
        x: &[Vec<f64>],
        y: &[f64],
        sample: Vec<usize>,
        opts: TreeOptions,
        rng: &mut impl Rng,
    ) -> Tree {
        let mut tree = Tree { nodes: Vec::new() };
        tree.grow(x, y, sample, 0, opts, rng);
        tree
    }

    /// Grow the subtree for `rows` and return its node index.
    fn grow(
        &mut self,
        x: &[Vec<f64>],
        y: &[f64],
        rows: Vec<usize>,
        depth: usize,
        opts: TreeOptions,
        rng: &mut impl Rng,
    ) -> usize {
        let mean = rows.iter().map(|&r| y[r]).sum::<f64>() / rows.len().max(1) as f64;
        let at = self.nodes.len();
        self.nodes.push(Node::Leaf { value: mean });
        if depth >= opts.max_depth || rows.len() < opts.min_samples_split {
            return at;
        }
        let Some((feature, threshold)) = best_split(x, y, &rows, rng) else {
            return at;
        };
        let (l, r): (Vec<usize>, Vec<usize>) =
            rows.into_iter().partition(|&i| x[i][feature] <= threshold);
        let left = self.grow(x, y, l, depth + 1, opts, rng);
        let right = self.grow(x, y, r, depth + 1, opts, rng);
        self.nodes[at] = Node::Split {
            feature,
            threshold,
            left,
            right,
        };
        at
    }

    pub fn predict(&self, point: &[f64]) -> f64 {
        let mut at = 0;
        loop {
            match self.nodes[at] {
                Node::Leaf { value } => return value,
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    at = if point[feature] <= threshold {
                        left
                    } else {
                        right
                    }
                }
            }
        }
    }
}

/// The split with the largest reduction of the squared error, or `None` when the responses
/// are all equal or no feature separates the rows. Features are tried in a random order, so
/// ties between equally good features are broken at random (as the forest's seed decides).
fn best_split(
    x: &[Vec<f64>],
    y: &[f64],
    rows: &[usize],
    rng: &mut impl Rng,
) -> Option<(usize, f64)> {
    let n = rows.len() as f64;
    let total: f64 = rows.iter().map(|&r| y[r]).sum();
    let total_sq: f64 = rows.iter().map(|&r| y[r] * y[r]).sum();
    let sse = total_sq - total * total / n;
    if sse <= 1e-12 * total_sq.max(1e-300) {
        return None;
    }
    let mut features: Vec<usize> = (0..x[rows[0]].len()).collect();
    features.shuffle(rng);
    let mut best: Option<(f64, usize, f64)> = None;
    let mut order = rows.to_vec();
    for f in features {
        order.sort_by(|&a, &b| x[a][f].total_cmp(&x[b][f]));
        let (mut sum_l, mut sq_l) = (0.0, 0.0);
        for k in 0..order.len() - 1 {
            let v = y[order[k]];
            sum_l += v;
            sq_l += v * v;
            let (a, b) = (x[order[k]][f], x[order[k + 1]][f]);
            if a == b {
                continue;
            }
            let nl = (k + 1) as f64;
            let nr = n - nl;
            let sum_r = total - sum_l;
            let sq_r = total_sq - sq_l;
            let err = (sq_l - sum_l * sum_l / nl) + (sq_r - sum_r * sum_r / nr);
            if best.is_none_or(|(e, _, _)| err < e - 1e-12 * sse) {
                best = Some((err, f, a + (b - a) / 2.0));
            }
        }
    }
    best.map(|(_, f, t)| (f, t))
}

/// Grow `trees` trees, each on its own bootstrap sample, each from its own seeded stream.
pub fn fit_forest(
    x: &[Vec<f64>],
    y: &[f64],
    trees: usize,
    opts: TreeOptions,
    rng_for_tree: impl Fn(usize) -> rand_chacha::ChaCha8Rng,
) -> Vec<Tree> {
    (0..trees)
        .map(|t| {
            let mut rng = rng_for_tree(t);
            let sample: Vec<usize> = (0..y.len()).map(|_| rng.random_range(0..y.len())).collect();
            Tree::fit(x, y, sample, opts, &mut rng)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_full_tree_reproduces_its_training_points() {
        let x: Vec<Vec<f64>> = (0..20)
            .map(|i| vec![i as f64, (i * 7 % 5) as f64])
            .collect();
        let y: Vec<f64> = x.iter().map(|p| p[0] * 2.0 + p[1]).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let t = Tree::fit(&x, &y, (0..20).collect(), TreeOptions::default(), &mut rng);
        for (p, v) in x.iter().zip(&y) {
            assert_eq!(t.predict(p), *v);
        }
    }

    #[test]
    fn the_split_separates_a_step() {
        let x: Vec<Vec<f64>> = (0..10).map(|i| vec![(i % 3) as f64, i as f64]).collect();
        let y: Vec<f64> = (0..10).map(|i| if i < 4 { 0.0 } else { 1.0 }).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let rows: Vec<usize> = (0..10).collect();
        assert_eq!(best_split(&x, &y, &rows, &mut rng), Some((1, 3.5)));
    }
}
