//! Axes and a plotting frame for the report's inline SVG: linear, integer, log and categorical
//! axes with readable ticks, and a `Frame` that maps data to pixels and draws its own axes.

use std::fmt::Write;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number for people: at most 4 significant digits, exponent form for tiny or huge ones.
pub fn num(v: f64) -> String {
    if v == 0.0 {
        return "0".into(); // not "-0"
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() >= 1e5 || v.abs() < 1e-3 {
        // 1.00e-4 → 1e-4, 2.50e-5 → 2.5e-5
        let s = format!("{v:.2e}");
        return match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        };
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[derive(Debug, Clone)]
pub enum Axis {
    /// `integer`: ticks only at whole numbers (epochs, trials).
    Linear {
        lo: f64,
        hi: f64,
        integer: bool,
    },
    Log {
        lo: f64,
        hi: f64,
    },
    /// Equal bands, one per value, in this order.
    Cats(Vec<String>),
}

impl Axis {
    /// An axis spanning `values` (with a little room), or the given range.
    pub fn linear(values: impl IntoIterator<Item = f64>, integer: bool) -> Axis {
        let (mut lo, mut hi) = bounds(values).unwrap_or((0.0, 1.0));
        if hi - lo < 1e-12 * lo.abs().max(1.0) {
            lo -= 0.5;
            hi += 0.5;
        } else if !integer {
            let pad = (hi - lo) * 0.04;
            lo -= pad;
            hi += pad;
        }
        Axis::Linear { lo, hi, integer }
    }

    pub fn log(lo: f64, hi: f64) -> Axis {
        Axis::Log { lo, hi }
    }

    /// 0 at the start of the axis, 1 at its end; `None` for a value off a log or category axis.
    pub fn pos(&self, v: f64) -> f64 {
        match self {
            Axis::Linear { lo, hi, .. } => (v - lo) / (hi - lo),
            Axis::Log { lo, hi } => (v.max(1e-300).ln() - lo.ln()) / (hi.ln() - lo.ln()),
            Axis::Cats(c) => (v + 0.5) / c.len().max(1) as f64,
        }
    }

    /// The band width of one category (0 for numeric axes).
    pub fn band(&self) -> f64 {
        match self {
            Axis::Cats(c) => 1.0 / c.len().max(1) as f64,
            _ => 0.0,
        }
    }

    /// (position 0..1, label) of each tick.
    pub fn ticks(&self) -> Vec<(f64, String)> {
        match self {
            Axis::Linear { lo, hi, integer } => {
                let span = hi - lo;
                let mag = 10f64.powf((span / 5.0).log10().floor());
                let mut step = [1.0, 2.0, 5.0, 10.0]
                    .iter()
                    .map(|m| m * mag)
                    .find(|s| span / s <= 6.0)
                    .unwrap_or(mag * 10.0);
                if *integer {
                    step = step.max(1.0).round();
                }
                let mut t = (lo / step).ceil() * step;
                let mut out = Vec::new();
                while t <= hi + step * 1e-9 && out.len() < 20 {
                    out.push((self.pos(t), num(t)));
                    t += step;
                }
                out
            }
            Axis::Log { lo, hi } => {
                let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
                let every = ((b - a) / 6 + 1).max(1);
                // Less than two decades: 1, 2 and 5 times each power of ten.
                let mults: &[f64] = if b - a <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
                (a..=b)
                    .filter(|e| (e - a) % every == 0)
                    .flat_map(|e| mults.iter().map(move |m| m * 10f64.powi(e)))
                    .filter(|t| *t >= lo * 0.999 && *t <= hi * 1.001)
                    .map(|t| (self.pos(t), num(t)))
                    .collect()
            }
            Axis::Cats(c) => c
                .iter()
                .enumerate()
                .map(|(i, s)| (self.pos(i as f64), s.clone()))
                .collect(),
        }
    }
}

pub fn bounds(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

/// A chart: a titled SVG with x and y axes; marks are appended in pixel space via `x`/`y`.
pub struct Frame {
    pub w: f64,
    pub h: f64,
    pub xa: Axis,
    pub ya: Axis,
    pad: (f64, f64, f64, f64),
    pub svg: String,
    /// Off where the y axis has no single scale (parallel coordinates).
    pub y_ticks: bool,
}

impl Frame {
    pub fn new(kind: &str, title: &str, w: f64, h: f64, xa: Axis, ya: Axis) -> Frame {
        let left = match &ya {
            // The label column fits the longest label (`dropout × weight_decay`); the chart
            // grows by what it needs beyond the usual column, so the plot keeps its width.
            Axis::Cats(c) => c
                .iter()
                .map(|l| label_width(l) + 30.0)
                .fold(110.0, f64::max),
            _ => 56.0,
        };
        let w = w + (left - 110.0).max(0.0);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="chart {kind}" data-chart="{kind}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text class="title" x="{}" y="16" text-anchor="middle">{t}</text>"#,
            w / 2.0,
            t = esc(title)
        );
        Frame {
            w,
            h,
            xa,
            ya,
            pad: (left, 16.0, 28.0, 42.0),
            svg,
            y_ticks: true,
        }
    }

    pub fn x(&self, v: f64) -> f64 {
        self.pad.0 + self.xa.pos(v) * (self.w - self.pad.0 - self.pad.1)
    }

    pub fn y(&self, v: f64) -> f64 {
        self.h - self.pad.3 - self.ya.pos(v) * (self.h - self.pad.2 - self.pad.3)
    }

    /// Pixel width of one x category band, or of the whole plot area.
    pub fn xband(&self) -> f64 {
        self.xa.band() * (self.w - self.pad.0 - self.pad.1)
    }

    pub fn yband(&self) -> f64 {
        self.ya.band() * (self.h - self.pad.2 - self.pad.3)
    }

    /// The plot area in pixels: (left, right, bottom, top).
    pub fn area(&self) -> (f64, f64, f64, f64) {
        (
            self.pad.0,
            self.w - self.pad.1,
            self.h - self.pad.3,
            self.pad.2,
        )
    }

    pub fn push(&mut self, mark: impl AsRef<str>) {
        self.svg.push_str(mark.as_ref());
    }

    /// Close the chart with its grid, ticks and axis labels.
    pub fn finish(mut self, x_label: &str, y_label: &str) -> String {
        let (l, r, t, b) = self.pad;
        let (x0, x1, y0, y1) = (l, self.w - r, t, self.h - b);
        let mut axes = String::new();
        for (p, label) in self.xa.ticks() {
            let x = x0 + p * (x1 - x0);
            let _ = write!(
                axes,
                r##"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{y0}" y2="{y1}"/><text class="tick" x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                y1 + 13.0,
                esc(&label)
            );
        }
        let y_ticks = if self.y_ticks {
            self.ya.ticks()
        } else {
            Vec::new()
        };
        for (p, label) in y_ticks {
            let y = y1 - p * (y1 - y0);
            let _ = write!(
                axes,
                r##"<line class="grid" x1="{x0}" x2="{x1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{y:.1}" dy="4" text-anchor="end">{}</text>"##,
                x0 - 4.0,
                esc(&label)
            );
        }
        let _ = write!(
            axes,
            r#"<rect class="frame" x="{x0}" y="{y0}" width="{}" height="{}"/><text class="label" x="{}" y="{}" text-anchor="middle">{}</text><text class="label" x="12" y="{}" text-anchor="middle" transform="rotate(-90 12 {})">{}</text>"#,
            x1 - x0,
            y1 - y0,
            (x0 + x1) / 2.0,
            self.h - 6.0,
            esc(x_label),
            (y0 + y1) / 2.0,
            (y0 + y1) / 2.0,
            esc(y_label)
        );
        // The grid goes under the marks: insert it after the title.
        let at = self.svg.find("</text>").map_or(0, |i| i + "</text>".len());
        self.svg.insert_str(at, &axes);
        self.svg.push_str("</svg>");
        self.svg
    }
}

/// About how wide `text` is in pixels at the charts' 11px sans-serif (a wide glyph's width
/// per character, so that a label is never cut).
pub fn label_width(text: &str) -> f64 {
    7.0 * text.chars().count() as f64
}

/// A colour from a value in 0..1 (light yellow to dark blue), for heat maps and lines.
pub fn ramp(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let (a, b) = ((255.0, 237.0, 160.0), (37.0, 52.0, 148.0));
    format!(
        "rgb({:.0},{:.0},{:.0})",
        a.0 + (b.0 - a.0) * t,
        a.1 + (b.1 - a.1) * t,
        a.2 + (b.2 - a.2) * t
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(0.976_880_2), "0.9769");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(0.000_123_4), "1.23e-4");
        assert_eq!(num(1e-4), "1e-4");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(123.456), "123.5");
    }

    #[test]
    fn log_axes_tick_at_powers_of_ten_and_integer_axes_at_whole_numbers() {
        let a = Axis::log(1e-4, 1e-1);
        let labels: Vec<String> = a.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["1e-4", "0.001", "0.01", "0.1"]);
        let units: Vec<String> = Axis::log(16.0, 256.0)
            .ticks()
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(units, ["20", "50", "100", "200"]);
        assert!((a.pos(1e-2) - 2.0 / 3.0).abs() < 1e-12);
        let e = Axis::linear([1.0, 3.0], true);
        for (_, l) in e.ticks() {
            assert!(!l.contains('.'), "{l}");
        }
    }
}
