//! A small L-BFGS minimiser with box bounds by projection, for the GP's hyperparameters (a
//! handful of log-parameters, a smooth objective, a few dozen iterations).

/// An objective: value and gradient at a point, or None where it cannot be evaluated (a
/// kernel matrix that is not positive definite); the line search then steps back.
pub type Objective<'a> = dyn Fn(&[f64]) -> Option<(f64, Vec<f64>)> + 'a;

/// Minimise `f` from `x0` within `[lower, upper]`; returns the best point and its value
/// (infinite when `f` could not be evaluated even at the start).
pub fn minimize(
    f: &Objective,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    max_iter: usize,
) -> (Vec<f64>, f64) {
    const MEMORY: usize = 8;
    let clamp = |x: &[f64]| -> Vec<f64> {
        x.iter()
            .zip(lower.iter().zip(upper))
            .map(|(v, (l, u))| v.clamp(*l, *u))
            .collect()
    };
    let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(p, q)| p * q).sum() };
    let mut x = clamp(x0);
    let Some((mut fx, mut g)) = f(&x) else {
        return (x, f64::INFINITY);
    };
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new(); // (s, y, 1/(y·s))
    for _ in 0..max_iter {
        // Coordinates on a bound whose gradient pushes outwards stay fixed this iteration; the
        // rest move along d = -H·g (two-loop recursion on the free part of the gradient).
        let fixed: Vec<bool> = (0..x.len())
            .map(|i| (x[i] <= lower[i] && g[i] > 0.0) || (x[i] >= upper[i] && g[i] < 0.0))
            .collect();
        let mut q: Vec<f64> = g
            .iter()
            .zip(&fixed)
            .map(|(v, f)| if *f { 0.0 } else { *v })
            .collect();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = history.last().map_or_else(
            || 1.0 / g.iter().fold(1.0f64, |m, v| m.max(v.abs())),
            |(s, y, _)| dot(s, y) / dot(y, y),
        );
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut d: Vec<f64> = q
            .iter()
            .zip(&fixed)
            .map(|(v, f)| if *f { 0.0 } else { -v })
            .collect();
        if dot(&d, &g) >= 0.0 {
            // Not a descent direction (curvature went wrong): restart from steepest descent.
            history.clear();
            let scale = 1.0 / g.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            d = g
                .iter()
                .zip(&fixed)
                .map(|(v, f)| if *f { 0.0 } else { -v * scale })
                .collect();
        }
        // Backtracking (Armijo) along the projected path.
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..30 {
            let xn = clamp(
                &x.iter()
                    .zip(&d)
                    .map(|(xi, di)| xi + step * di)
                    .collect::<Vec<_>>(),
            );
            let moved: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
            if moved.iter().all(|m| m.abs() < 1e-12) {
                break;
            }
            if let Some((fnew, gnew)) = f(&xn)
                && fnew.is_finite()
                && fnew <= fx + 1e-4 * dot(&g, &moved)
            {
                accepted = Some((xn, fnew, gnew, moved));
                break;
            }
            step *= 0.5;
        }
        let Some((xn, fnew, gnew, s)) = accepted else {
            break;
        };
        let y: Vec<f64> = gnew.iter().zip(&g).map(|(a, b)| a - b).collect();
        let ys = dot(&y, &s);
        if ys > 1e-10 {
            history.push((s, y, 1.0 / ys));
            if history.len() > MEMORY {
                history.remove(0);
            }
        }
        let converged = (fx - fnew).abs() <= 1e-9 * (1.0 + fx.abs());
        x = xn;
        fx = fnew;
        g = gnew;
        if converged {
            break;
        }
    }
    (x, fx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_rosenbrock_and_respects_bounds() {
        let f = |x: &[f64]| {
            let (a, b) = (x[0], x[1]);
            let v = 100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2);
            Some((
                v,
                vec![
                    -400.0 * a * (b - a * a) - 2.0 * (1.0 - a),
                    200.0 * (b - a * a),
                ],
            ))
        };
        let (x, v) = minimize(&f, &[-1.2, 1.0], &[-5.0, -5.0], &[5.0, 5.0], 500);
        assert!(v < 1e-8 && (x[0] - 1.0).abs() < 1e-3, "{x:?} {v}");
        let (x, _) = minimize(&f, &[-1.2, 1.0], &[-5.0, -5.0], &[0.5, 5.0], 500);
        assert!(
            (x[0] - 0.5).abs() < 1e-6 && (x[1] - 0.25).abs() < 1e-3,
            "{x:?}"
        );
    }
}
