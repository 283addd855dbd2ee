//! The report's charts of one search: optimisation history, one slice per parameter in its own
//! scale and parallel coordinates (importance is in `effects`, training time in `fidelity`).

use std::fmt::Write;

use super::Search;
use super::plot::{Axis, Frame, bounds, esc, num, ramp};
use crate::search::space::{Dist, Param, Value};

const W: f64 = 460.0;
const H: f64 = 280.0;

/// A parameter's axis, in the space's own scale.
pub fn param_axis(p: &Param) -> Axis {
    match &p.dist {
        Dist::Uniform { low, high } => Axis::Linear {
            lo: *low,
            hi: *high,
            integer: false,
        },
        Dist::LogUniform { low, high } => Axis::log(*low, *high),
        Dist::Int {
            low,
            high,
            log: true,
            ..
        } => Axis::log(*low as f64, *high as f64),
        Dist::Int { low, high, .. } => Axis::Linear {
            lo: *low as f64 - 0.5,
            hi: *high as f64 + 0.5,
            integer: true,
        },
        Dist::Choice(o) => Axis::Cats(o.iter().map(label).collect()),
    }
}

pub fn label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), num),
        other => other.to_string(),
    }
}

/// Where a value sits on its parameter's axis (a category's index), if it does.
pub fn coord(p: &Param, v: &Value) -> Option<f64> {
    match &p.dist {
        Dist::Choice(o) => o
            .iter()
            .position(|c| c == v || (c.is_number() && c.as_f64() == v.as_f64()))
            .map(|i| i as f64),
        _ => v.as_f64(),
    }
}

/// A small deterministic jitter for points in a category band.
fn jitter(i: usize) -> f64 {
    ((i as f64 * 0.618_034) % 1.0) - 0.5
}

pub fn dot(x: f64, y: f64, class: &str, tip: &str) -> String {
    format!(
        r#"<circle class="{class}" cx="{x:.1}" cy="{y:.1}" r="3.5"><title>{}</title></circle>"#,
        esc(tip)
    )
}

/// (x, the value reported there) in the order results came: by trial, each trial's last value;
/// by epochs spent, every work item's value (a rung of a multi-fidelity search; `reported`,
/// as the search recorded it) at the epochs all trials had trained by then. An item counts
/// the epochs its trial reached, not those it asked for: early stopping or a failure ends it
/// sooner.
pub fn history_points(
    trials: &[(usize, u32, Option<f64>)],
    items: &[(usize, u32)],
    reported: &[Option<f64>],
    by_epochs: bool,
) -> Vec<(f64, Option<f64>)> {
    if !by_epochs || items.is_empty() {
        let mut spent = 0.0;
        return trials
            .iter()
            .map(|t| {
                spent += f64::from(t.1);
                (if by_epochs { spent } else { t.0 as f64 }, t.2)
            })
            .collect();
    }
    let by_id: std::collections::HashMap<usize, u32> = trials.iter().map(|t| (t.0, t.1)).collect();
    let mut reached: std::collections::BTreeMap<usize, u32> = Default::default();
    let mut spent = 0u64;
    items
        .iter()
        .enumerate()
        .map(|(k, &(trial, asked))| {
            // The trial's last item is where it ended: never past the epochs it trained.
            let epochs = by_id.get(&trial).map_or(asked, |&e| asked.min(e));
            // A promotion continues the trial: only the new epochs are spent.
            let before = reached.insert(trial, epochs).unwrap_or(0);
            spent += u64::from(epochs.saturating_sub(before));
            (spent as f64, reported.get(k).copied().flatten())
        })
        .collect()
}

/// Best value so far, by trial and by epochs spent.
pub fn history(s: &Search) -> String {
    let series = s.history.clone();
    let ya = Axis::linear(series.iter().flatten().filter_map(|p| p.1), false);
    let better = |a: f64, b: f64| if s.maximize { a > b } else { a < b };
    let mut out = String::new();
    for (by_epochs, points) in [false, true].into_iter().zip(series) {
        let mut best: Option<f64> = None;
        let pts: Vec<(f64, Option<f64>, Option<f64>)> = points
            .into_iter()
            .map(|(x, v)| {
                if let Some(v) = v
                    && best.is_none_or(|b| better(v, b))
                {
                    best = Some(v);
                }
                (x, v, best)
            })
            .collect();
        let xa = Axis::linear(pts.iter().map(|p| p.0), true);
        let (title, xl) = if by_epochs {
            (
                "best so far by epochs spent (any rung)",
                "epochs trained, all trials",
            )
        } else {
            ("best so far by trial", "trial")
        };
        let mut f = Frame::new(
            "history",
            &format!("{}: {title}", s.metric),
            W,
            H,
            xa,
            ya.clone(),
        );
        // Past MAX_DRAWN points, an even spread of dots and every improvement.
        let step = pts.len().div_ceil(super::MAX_DRAWN).max(1);
        for (i, (x, v, b)) in pts.iter().enumerate() {
            if i % step != 0 && b != v {
                continue;
            }
            if let Some(v) = v {
                let m = dot(
                    f.x(*x),
                    f.y(*v),
                    "trial-point",
                    &format!("{} at {x}", num(*v)),
                );
                f.push(m);
            }
        }
        // The best-so-far steps: only the points around a change draw anything.
        let line: Vec<String> = pts
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                let changes = |j: usize| pts.get(j).is_some_and(|q| q.2 != p.2);
                *i == 0 || *i + 1 == pts.len() || changes(i + 1) || (*i > 0 && changes(i - 1))
            })
            .filter_map(|(_, (x, _, b))| b.map(|b| format!("{:.1},{:.1}", f.x(*x), f.y(b))))
            .collect();
        f.push(format!(
            r#"<polyline class="best" points="{}"/>"#,
            line.join(" ")
        ));
        out.push_str(&f.finish(xl, &s.metric));
    }
    out
}

/// One chart per parameter: the metric against its values, on its own axis.
pub fn slices(s: &Search) -> String {
    let ya = Axis::linear(s.trials.iter().filter_map(|t| t.value), false);
    let mut out = String::new();
    for p in &s.space.params {
        let xa = param_axis(p);
        let cats = matches!(xa, Axis::Cats(_));
        let mut f = Frame::new(
            "slice",
            &format!("{} by {}", s.metric, p.name),
            W,
            H,
            xa,
            ya.clone(),
        );
        for (i, t) in s.trials.iter().enumerate() {
            let (Some(v), Some(x)) = (t.value, t.params.get(&p.name).and_then(|x| coord(p, x)))
            else {
                continue;
            };
            let px = f.x(x)
                + if cats {
                    jitter(i) * (f.xband() * 0.5).min(36.0)
                } else {
                    0.0
                };
            let tip = format!("trial {}: {} = {}", t.id, p.name, label(&t.params[&p.name]));
            let m = dot(px, f.y(v), "trial-point", &tip);
            f.push(m);
        }
        let scale = match &p.dist {
            Dist::Choice(_) => " (choice)",
            d if d.is_log() => " (log scale)",
            _ => "",
        };
        out.push_str(&f.finish(&format!("{}{scale}", p.name), &s.metric));
    }
    out
}

/// Parallel coordinates: one axis per parameter and one for the metric, a line per trial
/// coloured by its value (darker is better).
pub fn parallel(s: &Search) -> String {
    let axes: Vec<(&Param, Axis)> = s.space.params.iter().map(|p| (p, param_axis(p))).collect();
    let (lo, hi) = bounds(s.trials.iter().filter_map(|t| t.value)).unwrap_or((0.0, 1.0));
    let n = axes.len() + 1;
    let w = (110.0 * n as f64).max(W);
    let xa = Axis::Cats(
        axes.iter()
            .map(|(p, _)| p.name.clone())
            .chain([s.metric.clone()])
            .collect(),
    );
    let ya = Axis::Linear {
        lo: 0.0,
        hi: 1.0,
        integer: false,
    };
    let mut f = Frame::new(
        "parallel",
        "parallel coordinates (each axis in its own scale)",
        w,
        H + 40.0,
        xa,
        ya,
    );
    f.y_ticks = false;
    let mut lines = String::new();
    for t in &s.trials {
        let Some(v) = t.value else { continue };
        let shade = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        let shade = if s.maximize { shade } else { 1.0 - shade };
        let mut pts: Vec<String> = axes
            .iter()
            .enumerate()
            .filter_map(|(i, (p, ax))| {
                let c = coord(p, t.params.get(&p.name)?)?;
                Some(format!("{:.1},{:.1}", f.x(i as f64), f.y(ax.pos(c))))
            })
            .collect();
        pts.push(format!(
            "{:.1},{:.1}",
            f.x((n - 1) as f64),
            f.y(shade_pos(v, lo, hi))
        ));
        let _ = write!(
            lines,
            r#"<polyline class="pc" points="{}" stroke="{}"><title>trial {}: {}</title></polyline>"#,
            pts.join(" "),
            ramp(0.15 + 0.85 * shade),
            t.id,
            num(v)
        );
    }
    f.push(lines);
    // Each axis as a line, with its own end labels.
    for i in 0..n {
        f.push(format!(
            r#"<line class="axis" x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}"/>"#,
            f.x(i as f64),
            f.y(0.0),
            f.y(1.0)
        ));
    }
    for (i, (_, ax)) in axes.iter().enumerate() {
        let ticks = ax.ticks();
        for (p, l) in [ticks.first(), ticks.last()].into_iter().flatten() {
            f.push(format!(
                r#"<text class="tick" x="{:.1}" y="{:.1}" dx="3">{}</text>"#,
                f.x(i as f64),
                f.y(*p) + 4.0,
                esc(l)
            ));
        }
    }
    for (v, p) in [(lo, 0.0), (hi, 1.0)] {
        f.push(format!(
            r#"<text class="tick" x="{:.1}" y="{:.1}" dx="3">{}</text>"#,
            f.x((n - 1) as f64),
            f.y(p) + 4.0,
            num(v)
        ));
    }
    f.finish("", "")
}

fn shade_pos(v: f64, lo: f64, hi: f64) -> f64 {
    if hi > lo { (v - lo) / (hi - lo) } else { 0.5 }
}
