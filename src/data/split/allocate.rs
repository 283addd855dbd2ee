//! Proportional allocation of each class's rows to the parts of a split (controlled rounding).

/// An integer table `a[class][part]` whose rows sum to `sizes` and columns to `totals`
/// exactly, with every entry within one row of its share `sizes[c] * totals[p] / N`.
/// `sizes` and `totals` must have the same sum N.
///
/// Rounding each part on its own cannot hit both margins; this starts from the floors and
/// hands out the missing rows column by column to the classes short of the most rows
/// (Ryser's construction of a 0/1 matrix with given margins, which exists because the
/// fractional remainders form one). Integer arithmetic only, so it is deterministic.
pub fn allocate(sizes: &[usize], totals: &[usize]) -> crate::Result<Vec<Vec<usize>>> {
    let n: usize = sizes.iter().sum();
    if totals.iter().sum::<usize>() != n {
        return Err(crate::Error::internal(
            "allocate: class sizes and part totals differ in sum",
        ));
    }
    let mut table = vec![vec![0usize; totals.len()]; sizes.len()];
    if n == 0 {
        return Ok(table);
    }
    let mut rem = vec![vec![0u128; totals.len()]; sizes.len()];
    let mut row_short = sizes.to_vec();
    let mut col_short = totals.to_vec();
    for (c, &s) in sizes.iter().enumerate() {
        for (p, &t) in totals.iter().enumerate() {
            let share = s as u128 * t as u128;
            let floor = (share / n as u128) as usize;
            table[c][p] = floor;
            rem[c][p] = share % n as u128;
            row_short[c] -= floor;
            col_short[p] -= floor;
        }
    }
    let mut parts: Vec<usize> = (0..totals.len()).collect();
    parts.sort_by_key(|&p| std::cmp::Reverse(col_short[p]));
    for p in parts {
        let mut order: Vec<usize> = (0..sizes.len()).filter(|&c| row_short[c] > 0).collect();
        order.sort_by(|&a, &b| {
            row_short[b]
                .cmp(&row_short[a])
                .then(rem[b][p].cmp(&rem[a][p]))
                .then(a.cmp(&b))
        });
        if order.len() < col_short[p] {
            return Err(crate::Error::internal(
                "allocate: no rounding meets both margins",
            ));
        }
        for &c in order.iter().take(col_short[p]) {
            table[c][p] += 1;
            row_short[c] -= 1;
        }
        col_short[p] = 0;
    }
    if row_short.iter().any(|&r| r != 0) {
        return Err(crate::Error::internal(
            "allocate: rounding left rows unassigned",
        ));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::allocate;
    use rand::{Rng, SeedableRng};

    #[test]
    fn margins_exact_and_entries_within_one_row() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2000 {
            let classes = rng.random_range(1..12);
            let sizes: Vec<usize> = (0..classes).map(|_| rng.random_range(0..60)).collect();
            let n: usize = sizes.iter().sum();
            let parts = rng.random_range(1..6);
            let mut totals = vec![0usize; parts];
            for _ in 0..n {
                totals[rng.random_range(0..parts)] += 1;
            }
            let t = allocate(&sizes, &totals).expect("allocation exists");
            if n == 0 {
                assert!(t.iter().flatten().all(|&a| a == 0));
                continue;
            }
            for (c, row) in t.iter().enumerate() {
                assert_eq!(row.iter().sum::<usize>(), sizes[c]);
                for (p, &a) in row.iter().enumerate() {
                    let share = (sizes[c] * totals[p]) as f64 / n as f64;
                    assert!(
                        (a as f64 - share).abs() <= 1.0 + 1e-9,
                        "{sizes:?} {totals:?} {t:?}"
                    );
                }
            }
            for p in 0..parts {
                assert_eq!(t.iter().map(|r| r[p]).sum::<usize>(), totals[p]);
            }
        }
    }
}
