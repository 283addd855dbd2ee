//! `hpflow report` checked in a real headless Chromium (Debian's `chromium`, installed by
//! scripts/setup): the page loads with nothing on the console, every chart lays out with
//! visible marks and no NaN, and a screenshot is taken (kept where HPFLOW_REPORT_SHOT says).

mod common;
use common::*;

/// Hyperband on Branin with a log, a choice, an integer and a conditional parameter (the
/// function trainer reads only x1 and x2; the others let every kind of axis appear, and a long
/// name tests that labels fit).
const WORKFLOW: &str = "name: page
seed: 5
stages:
  search:
    kind: search
    model: function
    function: branin
    space:
      x1: {uniform: [-5.0, 10.0]}
      x2: {loguniform: [0.01, 15.0]}
      opt: {choice: [adam, sgd]}
      dropout_weight_decay: {int: [1, 4]}
      m: {uniform: [0.0, 1.0], when: {opt: [sgd]}}
    strategy: {kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}
    metric: {name: objective, goal: minimize}
  retrain:
    kind: retrain
    needs: [search]
  evaluate:
    kind: evaluate
    needs: [retrain]
";

/// Runs in the page after it loaded: what each chart drew, and any error.
const CHECKER: &str = r#"<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
window.addEventListener('load', () => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const marks = [...svg.querySelectorAll('circle, polyline, rect.bar, rect.cell')];
    const visible = marks.filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length;
    const bad = [...svg.querySelectorAll('*')]
      .filter(el => [...el.attributes].some(a => /NaN|Infinity/.test(a.value))).length;
    const box = svg.getBoundingClientRect();
    // Text drawn past the chart's edge is cut off (a label column too narrow for its labels);
    // on screen, so that a rotated axis label counts as drawn.
    const cut = [...svg.querySelectorAll('text')]
      .filter(t => t.textContent && (b => b.left < box.left - 0.5 || b.right > box.right + 0.5)(t.getBoundingClientRect()))
      .map(t => t.textContent);
    return { kind: svg.dataset.chart, marks: marks.length, visible, bad, cut, width: box.width, height: box.height,
             ticks: svg.querySelectorAll('text.tick').length };
  });
  const pre = document.createElement('pre');
  pre.id = 'hpflow-check';
  pre.textContent = JSON.stringify({ charts, errors: window.__errors });
  document.body.appendChild(pre);
});
</script>"#;

fn chromium() -> &'static str {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok()
        {
            return c;
        }
    }
    panic!("no chromium on PATH: scripts/setup installs Debian's `chromium`");
}

fn browse(args: &[&str], page: &std::path::Path) -> (String, String) {
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    (text(&out.stdout), text(&out.stderr))
}

#[test]
fn the_report_renders_every_chart_in_a_real_browser() {
    let sb = Sandbox::new();
    sb.write("w.yaml", WORKFLOW);
    sb.ok(&["run", "-q", "w.yaml"]);
    sb.ok(&["report", "page", "-o", "page.html"]);
    let html = std::fs::read_to_string(sb.path().join("page.html")).unwrap();

    // What the page says, before the browser.
    assert!(
        !html.contains("<script"),
        "the report itself runs no script"
    );
    assert!(html.contains("Audit: clean"), "the audit verdict is shown");
    assert!(html.contains("x2 (log scale)") && html.contains("opt (choice)"));
    for col in [
        "<th>x1</th>",
        "<th>x2</th>",
        "<th>opt</th>",
        "<th>dropout_weight_decay</th>",
        "<th>m</th>",
    ] {
        assert!(html.contains(col), "a column per parameter: {col}");
    }
    let long = html
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| w.split('.').nth(1).is_some_and(|f| f.len() > 6));
    assert_eq!(long, None, "numbers are rounded for reading");
    let retrain_row = html.split("<td>retrain</td>").nth(1).unwrap();
    let epochs = retrain_row.split("</tr>").next().unwrap();
    assert!(epochs.contains(">9</td>"), "retrain epochs: {epochs}");

    // In the browser: no console message, every chart drawn.
    let checked = sb.path().join("checked.html");
    std::fs::write(
        &checked,
        html.replace("</body>", &format!("{CHECKER}</body>")),
    )
    .unwrap();
    let (dom, log) = browse(&["--dump-dom"], &checked);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console: {console:#?}");
    let json = dom
        .split("<pre id=\"hpflow-check\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("the checker did not run:\n{log}"))
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["errors"], serde_json::json!([]));
    let charts = report["charts"].as_array().unwrap();
    let count = |k: &str| charts.iter().filter(|c| c["kind"] == k).count();
    assert_eq!(count("history"), 2);
    assert_eq!(count("slice"), 5);
    for k in ["importance", "heatmap", "parallel", "curves"] {
        assert_eq!(count(k), 1, "{k}: {charts:#?}");
    }
    assert!(count("bracket") >= 2, "{charts:#?}");
    for c in charts {
        assert!(c["visible"].as_u64().unwrap() > 0, "nothing drawn: {c}");
        assert_eq!(c["bad"], 0, "NaN in {c}");
        assert_eq!(c["cut"], serde_json::json!([]), "labels cut off: {c}");
        assert!(c["width"].as_f64().unwrap() > 100.0, "{c}");
        if c["kind"] != "parallel" {
            assert!(c["ticks"].as_u64().unwrap() >= 2, "axes without ticks: {c}");
        }
    }

    // A screenshot of the whole page.
    let shot = sb.path().join("page.png");
    let (_, log) = browse(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,7000",
        ],
        &sb.path().join("page.html"),
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}):\n{log}"));
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "{}",
        png.len()
    );
    if let Some(keep) = std::env::var_os("HPFLOW_REPORT_SHOT") {
        std::fs::write(keep, &png).unwrap();
    }
}
