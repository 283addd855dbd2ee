//! How the sequence models read a row: an image `[C, H, W]` as `H` steps of `C·W` features
//! (row by row) or as square patches; a table's `F` features as `F` steps of one value.

use tch::Tensor;

/// `(steps, features per step)` of a row of `shape`; `patch` > 0 cuts images into patches.
pub fn dims(shape: &[usize], patch: usize) -> (i64, i64) {
    match shape {
        [c, h, w] if patch > 0 => (
            ((h / patch) * (w / patch)) as i64,
            (c * patch * patch) as i64,
        ),
        [c, h, w] => (*h as i64, (c * w) as i64),
        _ => (shape.iter().product::<usize>() as i64, 1),
    }
}

/// `[B, ...shape]` → `[B, H, C·W]` (images) or `[B, F, 1]` (tables).
pub fn rows(xs: &Tensor, shape: &[usize]) -> Tensor {
    let b = xs.size()[0];
    match shape {
        [c, h, w] => xs
            .reshape([b, *c as i64, *h as i64, *w as i64])
            .permute([0, 2, 1, 3])
            .reshape([b, *h as i64, (*c * *w) as i64]),
        _ => xs.reshape([b, -1, 1]),
    }
}

/// `[B, C, H, W]` → `[B, (H/p)·(W/p), C·p·p]`, patches in row-major order (`p` divides H and W).
pub fn patches(xs: &Tensor, shape: &[usize], p: usize) -> Tensor {
    let [c, h, w] = [shape[0], shape[1], shape[2]].map(|v| v as i64);
    let p = p as i64;
    let b = xs.size()[0];
    xs.reshape([b, c, h / p, p, w / p, p])
        .permute([0, 2, 4, 1, 3, 5])
        .reshape([b, (h / p) * (w / p), c * p * p])
}
