//! The report's charts over training time: learning curves of every trial, and for
//! multi-fidelity searches (Successive Halving, Hyperband, ...) the rungs each trial reached,
//! grouped by the budget it started with (its bracket).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Search;
use super::charts::dot;
use super::plot::{Axis, Frame, esc};

/// The metric by epoch, one line per trial; the selected trial in front, thicker.
pub fn curves(s: &Search) -> String {
    let all = s.trials.iter().flat_map(|t| t.curve.iter());
    let xa = Axis::linear(all.clone().map(|p| f64::from(p.0)), true);
    let ya = Axis::linear(all.map(|p| p.1), false);
    let title = format!("{} by epoch, every trial (selected in blue)", s.metric);
    let mut f = Frame::new("curves", &title, 940.0, 300.0, xa, ya);
    let mut front = String::new();
    for t in &s.trials {
        let pts: Vec<String> = t
            .curve
            .iter()
            .map(|(e, v)| format!("{:.1},{:.1}", f.x(f64::from(*e)), f.y(*v)))
            .collect();
        let selected = Some(t.id) == s.selected;
        let mark = if pts.len() == 1 {
            let (e, v) = t.curve[0];
            dot(
                f.x(f64::from(e)),
                f.y(v),
                if selected { "selected" } else { "curve-point" },
                &format!("trial {}", t.id),
            )
        } else {
            format!(
                r#"<polyline class="{}" points="{}"><title>trial {}</title></polyline>"#,
                if selected { "selected" } else { "curve" },
                pts.join(" "),
                t.id
            )
        };
        if selected {
            front = mark;
        } else {
            f.push(mark);
        }
    }
    f.push(front);
    f.finish("epoch", &s.metric)
}

/// One chart per starting budget: each trial's value at every rung it reached, joined, so
/// promotions read left to right. `None` when every item had the same budget.
pub fn brackets(s: &Search) -> Option<String> {
    let mut start: BTreeMap<usize, u32> = BTreeMap::new();
    let mut rungs: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for &(trial, epochs) in &s.items {
        start.entry(trial).or_insert(epochs);
        rungs.entry(trial).or_default().push(epochs);
    }
    let budgets: std::collections::BTreeSet<u32> = s.items.iter().map(|i| i.1).collect();
    if budgets.len() < 2 {
        return None;
    }
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (t, b) in &start {
        groups.entry(*b).or_default().push(*t);
    }
    let ya = Axis::linear(s.trials.iter().filter_map(|t| t.value), false);
    let mut out = String::new();
    for (b, trials) in groups {
        let steps: Vec<u32> = budgets.iter().copied().filter(|x| *x >= b).collect();
        let xa = Axis::Cats(steps.iter().map(|x| x.to_string()).collect());
        let counts: Vec<String> = steps
            .iter()
            .map(|x| {
                trials
                    .iter()
                    .filter(|t| rungs.get(t).is_some_and(|r| r.contains(x)))
                    .count()
                    .to_string()
            })
            .collect();
        let title = format!(
            "trials starting at {b} epoch{}: {}",
            if b == 1 { "" } else { "s" },
            counts.join(" → ")
        );
        let mut f = Frame::new("bracket", &title, 300.0, 260.0, xa, ya.clone());
        for t in &trials {
            let Some(trial) = s.trials.iter().find(|x| x.id == *t) else {
                continue;
            };
            let pts: Vec<(f64, f64)> = steps
                .iter()
                .enumerate()
                .filter(|(_, x)| rungs.get(t).is_some_and(|r| r.contains(x)))
                .filter_map(|(i, x)| {
                    let v = trial.curve.iter().find(|c| c.0 == *x)?.1;
                    Some((f.x(i as f64), f.y(v)))
                })
                .collect();
            let line: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let mut m = format!(r#"<polyline class="rung" points="{}"/>"#, line.join(" "));
            for (x, y) in &pts {
                m.push_str(&dot(*x, *y, "trial-point", &format!("trial {t}")));
            }
            f.push(m);
        }
        out.push_str(&f.finish("epochs (rung)", &s.metric));
    }
    let mut html = String::new();
    let _ = write!(
        html,
        "<p class=\"note\">{}</p><div class=\"charts\">{out}</div>",
        esc(
            "Each chart holds the trials that started at one budget; a line joins a trial's values at the rungs it was promoted to."
        )
    );
    Some(html)
}
