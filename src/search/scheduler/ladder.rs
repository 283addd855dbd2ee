//! Rung arithmetic for the multi-fidelity schedulers: the epochs of each rung, Hyperband's
//! brackets (Li et al. 2018) and the promotion rule "the top ⌊n/η⌋ by value".

use serde::Serialize;

/// One rung of a bracket: `n` trials trained to `epochs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rung {
    pub n: usize,
    pub epochs: u32,
}

/// A Successive Halving bracket; `s` is Hyperband's bracket index (rungs - 1 for SHA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bracket {
    pub s: u32,
    pub rungs: Vec<Rung>,
}

/// Rung epochs for SHA and ASHA: min·η^r, the last one capped at `max`.
pub(crate) fn ladder(min: u32, max: u32, eta: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut e = min.max(1);
    while e < max {
        out.push(e);
        e = e.saturating_mul(eta);
    }
    out.push(max);
    out
}

/// How many of `n` reached a rung go on: ⌊n/η⌋, but at least one in a synchronous bracket,
/// so that the best trial always reaches the top rung even when a budget cut the bracket.
pub(crate) fn survivors(n: usize, eta: u32, at_least_one: bool) -> usize {
    let k = n / eta.max(2) as usize;
    if at_least_one && n > 0 { k.max(1) } else { k }
}

/// A bracket of `n` trials over the given rung epochs, with its nominal rung sizes.
pub(crate) fn bracket(s: u32, n: usize, epochs: &[u32], eta: u32) -> Bracket {
    let mut rungs = Vec::new();
    let mut m = n;
    for &e in epochs {
        rungs.push(Rung { n: m, epochs: e });
        m = survivors(m, eta, true);
    }
    Bracket { s, rungs }
}

/// The brackets of one Hyperband iteration, most exploratory first:
/// s_max = ⌊log_η(R/r_min)⌋, bracket s starts n = ⌈(s_max+1)/(s+1)·η^s⌉ trials at R·η^-s.
pub(crate) fn hyperband(min: u32, max: u32, eta: u32) -> Vec<Bracket> {
    let (min, eta) = (u64::from(min.max(1)), u64::from(eta.max(2)));
    // Integer arithmetic: a floating log misjudges exact powers (log_3 81 = 3.9999…).
    let mut s_max = 0u32;
    while min.saturating_mul(eta.saturating_pow(s_max + 1)) <= u64::from(max) {
        s_max += 1;
    }
    (0..=s_max)
        .rev()
        .map(|s| {
            let pow = eta.pow(s);
            let n = (u64::from(s_max + 1) * pow).div_ceil(u64::from(s + 1)) as usize;
            let epochs: Vec<u32> = (0..=s)
                .map(|i| (f64::from(max) / eta.pow(s - i) as f64).round() as u32)
                .collect();
            bracket(s, n, &epochs, eta as u32)
        })
        .collect()
}

/// Hyperband under a trial budget: iterations repeat, and the bracket that meets the budget
/// is cut to what is left. Without a budget, one iteration.
pub(crate) fn hyperband_budgeted(
    min: u32,
    max: u32,
    eta: u32,
    trials: Option<usize>,
) -> Result<Vec<Bracket>, String> {
    let one = hyperband(min, max, eta);
    let Some(mut left) = trials else {
        return Ok(one);
    };
    let mut out = Vec::new();
    while left > 0 {
        for b in &one {
            if left == 0 {
                break;
            }
            let n = b.rungs[0].n.min(left);
            let epochs: Vec<u32> = b.rungs.iter().map(|r| r.epochs).collect();
            out.push(bracket(b.s, n, &epochs, eta));
            left -= n;
        }
        if out.len() > 10_000 {
            return Err(format!(
                "budget.trials = {} needs over 10000 hyperband brackets",
                trials.unwrap_or(0)
            ));
        }
    }
    Ok(out)
}

/// The trials that go on from a rung: among `(trial, value)` (value `None` = failed), the
/// best `survivors(n)` with a value, ties broken by trial number.
pub(crate) fn promote(
    rung: &[(usize, Option<f64>)],
    eta: u32,
    at_least_one: bool,
) -> Vec<(usize, f64)> {
    let mut ok: Vec<(usize, f64)> = rung.iter().filter_map(|&(t, v)| Some((t, v?))).collect();
    ok.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    ok.truncate(survivors(rung.len(), eta, at_least_one));
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperband_table_for_eta_3_and_r_81() {
        // Li et al. (2018), the algorithm's n = ⌈(s_max+1)/(s+1)·η^s⌉, r = R·η^-s.
        let table: Vec<Vec<(usize, u32)>> = hyperband(1, 81, 3)
            .iter()
            .map(|b| b.rungs.iter().map(|r| (r.n, r.epochs)).collect())
            .collect();
        assert_eq!(
            table,
            vec![
                vec![(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
                vec![(34, 3), (11, 9), (3, 27), (1, 81)],
                vec![(15, 9), (5, 27), (1, 81)],
                vec![(8, 27), (2, 81)],
                vec![(5, 81)],
            ]
        );
        assert_eq!(
            hyperband(1, 81, 3).iter().map(|b| b.s).collect::<Vec<_>>(),
            vec![4, 3, 2, 1, 0]
        );
    }

    #[test]
    fn ladders_cap_at_max() {
        assert_eq!(ladder(1, 27, 3), vec![1, 3, 9, 27]);
        assert_eq!(ladder(1, 20, 3), vec![1, 3, 9, 20]);
        assert_eq!(ladder(2, 2, 3), vec![2]);
        assert_eq!(ladder(1, 10, 2), vec![1, 2, 4, 8, 10]);
    }

    #[test]
    fn budget_cuts_and_repeats_brackets() {
        let b = hyperband_budgeted(1, 9, 3, Some(20)).unwrap();
        // One iteration for R = 9 is 9 + 5 + 3 = 17 trials; the second starts with 3 of 9.
        assert_eq!(
            b.iter().map(|b| b.rungs[0].n).collect::<Vec<_>>(),
            vec![9, 5, 3, 3]
        );
        assert_eq!(
            b[3].rungs,
            vec![
                Rung { n: 3, epochs: 1 },
                Rung { n: 1, epochs: 3 },
                Rung { n: 1, epochs: 9 }
            ]
        );
    }

    #[test]
    fn promotion_skips_failures_and_breaks_ties_by_trial() {
        let rung = [
            (4, Some(1.0)),
            (2, None),
            (3, Some(1.0)),
            (1, Some(0.5)),
            (0, Some(2.0)),
            (5, None),
        ];
        assert_eq!(promote(&rung, 3, true), vec![(1, 0.5), (3, 1.0)]);
        assert_eq!(promote(&[(0, None), (1, None)], 3, true), vec![]);
        assert_eq!(promote(&[(0, Some(1.0))], 3, false), vec![]);
    }
}
