//! The report's importance charts: fANOVA shares as bars, and a heat map of the metric over
//! the top interacting pair.

use super::Search;
use super::charts::param_axis;
use super::plot::{Axis, Frame, bounds, esc, num, ramp};
use crate::importance::Importance;
use crate::search::space::Param;

const W: f64 = 460.0;
const H: f64 = 280.0;

/// Horizontal bars: each parameter's main effect and the top pairs, with the spread.
pub fn importance_bars(imp: &Importance) -> String {
    let mut rows: Vec<(String, f64, f64)> = imp
        .params
        .iter()
        .map(|p| (p.name.clone(), p.share.fraction, p.share.std))
        .collect();
    rows.extend(imp.pairs.iter().take(3).map(|p| {
        (
            format!("{} × {}", p.params[0], p.params[1]),
            p.share.fraction,
            p.share.std,
        )
    }));
    let h = 60.0 + 22.0 * rows.len() as f64;
    let ya = Axis::Cats(rows.iter().rev().map(|r| r.0.clone()).collect());
    let top = rows.iter().map(|r| r.1 + r.2).fold(0.05, f64::max).min(1.0);
    let xa = Axis::Linear {
        lo: 0.0,
        hi: top,
        integer: false,
    };
    let n = rows.len();
    let mut f = Frame::new(
        "importance",
        "share of the metric's variance (fANOVA)",
        W + 120.0,
        h,
        xa,
        ya,
    );
    let band = f.yband();
    for (i, (name, frac, std)) in rows.iter().enumerate() {
        let y = f.y((n - 1 - i) as f64);
        let (x0, x1) = (f.x(0.0), f.x(*frac));
        f.push(format!(
            r#"<rect class="bar" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: {:.1}% ± {:.1}%</title></rect><line class="spread" x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/>"#,
            y - band * 0.35,
            (x1 - x0).max(0.5),
            band * 0.7,
            esc(name),
            frac * 100.0,
            std * 100.0,
            f.x((frac - std).max(0.0)),
            f.x((frac + std).min(top)),
        ));
    }
    f.finish(
        "share of variance (bar: mean over trees, line: ± spread)",
        "",
    )
}

/// The top interacting pair: mean metric of the trials in each cell of a grid over the two
/// parameters' axes.
pub fn heatmap(s: &Search, a: &Param, b: &Param) -> String {
    const N: usize = 8;
    let (xa, ya) = (param_axis(a), param_axis(b));
    let cells = |ax: &Axis| match ax {
        Axis::Cats(c) => c.len(),
        _ => N,
    };
    let (nx, ny) = (cells(&xa), cells(&ya));
    let mut sum = vec![(0.0, 0usize); nx * ny];
    let cell = |ax: &Axis, n: usize, v: f64| ((ax.pos(v) * n as f64).floor() as usize).min(n - 1);
    for t in &s.trials {
        let (Some(v), Some(x), Some(y)) = (
            t.value,
            t.params
                .get(&a.name)
                .and_then(|v| super::charts::coord(a, v)),
            t.params
                .get(&b.name)
                .and_then(|v| super::charts::coord(b, v)),
        ) else {
            continue;
        };
        let k = cell(&ya, ny, y) * nx + cell(&xa, nx, x);
        sum[k].0 += v;
        sum[k].1 += 1;
    }
    let means: Vec<Option<f64>> = sum
        .iter()
        .map(|(s, n)| (*n > 0).then(|| s / *n as f64))
        .collect();
    let (lo, hi) = bounds(means.iter().flatten().copied()).unwrap_or((0.0, 1.0));
    let title = format!(
        "mean {} by {} and {} (darker is better)",
        s.metric, a.name, b.name
    );
    let mut f = Frame::new("heatmap", &title, W, H + 20.0, xa, ya);
    let (x0, x1, y0, y1) = f.area();
    let (cw, ch) = ((x1 - x0) / nx as f64, (y0 - y1) / ny as f64);
    for (k, m) in means.iter().enumerate() {
        let Some(m) = m else { continue };
        let (i, j) = (k % nx, k / nx);
        let t = if hi > lo { (m - lo) / (hi - lo) } else { 0.5 };
        // Darker is better.
        let t = if s.maximize { t } else { 1.0 - t };
        f.push(format!(
            r#"<rect class="cell" x="{:.1}" y="{:.1}" width="{cw:.1}" height="{ch:.1}" fill="{}"><title>{}: {} trial(s)</title></rect>"#,
            x0 + i as f64 * cw,
            y0 - (j + 1) as f64 * ch,
            ramp(t),
            num(*m),
            sum[k].1
        ));
    }
    f.finish(&a.name, &b.name)
}
