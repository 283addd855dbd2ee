//! Small inline SVG charts for `hpflow report`: lines and points on linear axes, no
//! dependencies, so the page stays one self-contained file.

pub struct Series {
    pub points: Vec<(f64, f64)>,
    pub color: &'static str,
    pub width: f64,
    /// Draw dots instead of a line.
    pub dots: bool,
}

const W: f64 = 520.0;
const H: f64 = 300.0;
const PAD: f64 = 48.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Tick positions; `whole`: the values are whole numbers (epochs, units), so are the ticks.
fn ticks(lo: f64, hi: f64, whole: bool) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(mag * 10.0);
    if whole {
        step = step.max(1.0).round();
    }
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(t);
        t += step;
    }
    out
}

/// A chart with a title and axis labels; empty series are skipped.
pub fn chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if all.is_empty() {
        return format!("<p><em>{}: no data yet</em></p>", esc(title));
    }
    let (mut x0, mut x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (mut y0, mut y1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if x1 - x0 < 1e-12 {
        x0 -= 1.0;
        x1 += 1.0;
    }
    if y1 - y0 < 1e-12 {
        y0 -= 0.5;
        y1 += 0.5;
    }
    let sx = |x: f64| PAD + (x - x0) / (x1 - x0) * (W - 2.0 * PAD);
    let sy = |y: f64| H - PAD + -(y - y0) / (y1 - y0) * (H - 2.0 * PAD);
    let mut svg = format!(
        r#"<figure><svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11"><text x="{}" y="16" text-anchor="middle" font-size="13">{}</text>"#,
        W / 2.0,
        esc(title)
    );
    let whole = |v: &[f64]| v.iter().all(|x| x.fract() == 0.0);
    let xs: Vec<f64> = all.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = all.iter().map(|p| p.1).collect();
    for t in ticks(x0, x1, whole(&xs)) {
        svg.push_str(&format!(r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}" stroke="#eee"/><text x="{0:.1}" y="{3}" text-anchor="middle">{4}</text>"##, sx(t), PAD, H - PAD, H - PAD + 14.0, fmt(t)));
    }
    for t in ticks(y0, y1, whole(&ys)) {
        svg.push_str(&format!(r##"<line x1="{1}" x2="{2}" y1="{0:.1}" y2="{0:.1}" stroke="#eee"/><text x="{3}" y="{0:.1}" text-anchor="end" dy="4">{4}</text>"##, sy(t), PAD, W - PAD, PAD - 4.0, fmt(t)));
    }
    svg.push_str(&format!(
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        W / 2.0,
        H - 8.0,
        esc(x_label)
    ));
    svg.push_str(&format!(
        r#"<text x="12" y="{}" text-anchor="middle" transform="rotate(-90 12 {})">{}</text>"#,
        H / 2.0,
        H / 2.0,
        esc(y_label)
    ));
    for s in series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        if s.dots {
            for (x, y) in pts {
                svg.push_str(&format!(
                    r#"<circle cx="{:.1}" cy="{:.1}" r="{}" fill="{}" fill-opacity="0.7"/>"#,
                    sx(x),
                    sy(y),
                    s.width,
                    s.color
                ));
            }
        } else if pts.len() > 1 {
            let path: Vec<String> = pts
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
                .collect();
            svg.push_str(&format!(r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{}" stroke-opacity="0.8"/>"#, path.join(" "), s.color, s.width));
        }
    }
    svg.push_str("</svg></figure>");
    svg
}

fn fmt(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-3) {
        format!("{v:.1e}")
    } else {
        format!("{}", (v * 1e4).round() / 1e4)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn whole_numbers_get_whole_ticks() {
        // Two integer values, 3 and 5: no tick at 3.5 or 4.5.
        assert_eq!(super::ticks(3.0, 5.0, true), vec![3.0, 4.0, 5.0]);
        assert!(super::ticks(3.0, 5.0, false).contains(&3.5));
    }
}
