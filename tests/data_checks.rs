//! The split's data checks, run as a user would: each planted case is found by its check (and
//! no other), its clean control by none; what is found is in the run's summary (with `-q`
//! too), in `status` and in the audit, and `accept:` turns it into an accepted choice.

mod common;
use common::*;

/// A deterministic stream of standard normal numbers (no seed crate needed).
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn next(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// 300 rows: four features, and a class (a, b, c) from the tertiles of a noisy sum of all
/// four, so that no feature alone predicts it.
fn base(seed: u64) -> (Vec<[f64; 4]>, Vec<&'static str>) {
    let mut g = Normal(seed);
    let x: Vec<[f64; 4]> = (0..300)
        .map(|_| [g.next(), g.next(), g.next(), g.next()])
        .collect();
    let score: Vec<f64> = x
        .iter()
        .map(|r| r[0] - 0.8 * r[1] + 0.6 * r[2] + 0.5 * r[3] + 0.8 * g.next())
        .collect();
    let mut sorted = score.clone();
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = (sorted[100], sorted[200]);
    let y = score
        .iter()
        .map(|&s| match s {
            s if s < lo => "a",
            s if s < hi => "b",
            _ => "c",
        })
        .collect();
    (x, y)
}

fn feature_cells(r: &[f64; 4]) -> String {
    format!("{:.6},{:.6},{:.6},{:.6}", r[0], r[1], r[2], r[3])
}

/// A CSV with the base rows and `extra` columns before them (`head`, `cell(i)`).
fn csv(head: &str, rows: &[(String, &str)]) -> String {
    let mut text = format!("{head}f1,f2,f3,f4,label\n");
    for (cells, label) in rows {
        text.push_str(&format!("{cells},{label}\n"));
    }
    text
}

fn plain(seed: u64) -> Vec<(String, &'static str)> {
    let (x, y) = base(seed);
    x.iter().map(feature_cells).zip(y).collect()
}

/// Each case: (name, the check it plants or "" for a control, CSV, `features:` or "", split
/// options).
fn cases() -> Vec<(
    &'static str,
    &'static str,
    String,
    &'static str,
    &'static str,
)> {
    let mut out = vec![("clean", "", csv("", &plain(1)), "", "")];
    let mut rows = plain(2);
    let copies: Vec<_> = (0..30).map(|i| rows[i * 7].clone()).collect();
    rows.extend(copies);
    out.push(("exact copies", "duplicates", csv("", &rows), "", ""));
    let (x, y) = base(3);
    let mut rows: Vec<(String, &str)> = x.iter().map(feature_cells).zip(y.clone()).collect();
    for i in 0..30 {
        let mut r = x[i * 7];
        // A millionth off: another row as written, the same one to any model.
        r[0] += 2e-6;
        rows.push((feature_cells(&r), y[i * 7]));
    }
    out.push(("near copies", "near_duplicates", csv("", &rows), "", ""));
    let mut rows = plain(4);
    let flipped: Vec<_> = (0..20)
        .map(|i| {
            let (cells, label) = rows[i * 11].clone();
            (cells, if label == "a" { "b" } else { "a" })
        })
        .collect();
    rows.extend(flipped);
    out.push((
        "flipped copies",
        "conflicting_labels",
        csv("", &rows),
        "",
        "",
    ));
    let rows: Vec<_> = plain(5)
        .into_iter()
        .map(|(c, l)| (format!("1,{c}"), l))
        .collect();
    out.push((
        "constant",
        "constant_columns",
        csv("version,", &rows),
        "",
        "",
    ));
    let mut g = Normal(99);
    let rows: Vec<_> = plain(6)
        .into_iter()
        .map(|(c, l)| {
            let k = ["a", "b", "c"].iter().position(|&n| n == l).unwrap() as f64;
            (format!("{:.6},{c}", k + 0.05 * g.next()), l)
        })
        .collect();
    out.push(("label leak", "single_feature", csv("leak,", &rows), "", ""));
    let mut rows = plain(7);
    rows.sort_by_key(|r| r.1);
    let rows: Vec<_> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (c, l))| (format!("{},{c}", i + 1), l))
        .collect();
    out.push(("row id", "identifier", csv("row_id,", &rows), "", ""));
    // 30 patients of 10 rows: a patient's rows are alike.
    let mut g = Normal(8);
    let centres: Vec<[f64; 4]> = (0..30)
        .map(|_| [g.next(), g.next(), g.next(), g.next()].map(|v| 2.0 * v))
        .collect();
    let rows: Vec<_> = (0..300)
        .map(|i| {
            let c = centres[i / 10];
            let r = c.map(|v| v + 0.3 * g.next());
            let label = if c[0] > 0.0 { "sick" } else { "well" };
            (format!("p{:02},{}", i / 10, feature_cells(&r)), label)
        })
        .collect();
    let features = "  features: [f1, f2, f3, f4]\n";
    out.push((
        "patients",
        "shared_entity",
        csv("patient,", &rows),
        features,
        "",
    ));
    let dated: Vec<_> = plain(9)
        .into_iter()
        .enumerate()
        .map(|(i, (c, l))| (format!("{},{c}", date(i)), l))
        .collect();
    out.push(("dates", "random_time", csv("date,", &dated), features, ""));
    out.push((
        "dates by_time",
        "",
        csv("date,", &dated),
        features,
        "    by_time: date\n",
    ));
    out
}

/// Day `i` from 2023-01-01, as `YYYY-MM-DD`.
fn date(i: usize) -> String {
    let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut m, mut d) = (0, i);
    while d >= days[m % 12] {
        d -= days[m % 12];
        m += 1;
    }
    format!("{}-{:02}-{:02}", 2023 + m / 12, m % 12 + 1, d + 1)
}

fn workflow(features: &str, split: &str) -> String {
    format!(
        "name: checks
seed: 1
data:
  source: csv
  path: rows.csv
  label: label
  task: classification
{features}stages:
  split:
    kind: split
    train: 0.6
    val: 0.2
    test: 0.2
{split}"
    )
}

/// The checks the split recorded, by name, and whether each was accepted.
fn found(sb: &Sandbox) -> Vec<(String, bool)> {
    let id: String = sb
        .db()
        .query_row("SELECT id FROM jobs WHERE kind = 'split'", [], |r| r.get(0))
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sb.runs().join(&id[..16]).join("split.json")).unwrap(),
    )
    .unwrap();
    record["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["accepted"] == true,
            )
        })
        .collect()
}

fn run_case(text: &str, features: &str, split: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("rows.csv", text);
    sb.write("w.yaml", &workflow(features, split));
    sb.ok(&["-q", "run", "w.yaml"]);
    sb
}

#[test]
fn each_check_finds_its_planted_case_and_the_controls_pass() {
    // Every case is tried before failing, so that one broken check shows as its case alone.
    let mut wrong = Vec::new();
    for (name, planted, text, features, split) in cases() {
        let sb = run_case(&text, features, split);
        let mut names: Vec<String> = found(&sb).into_iter().map(|(n, _)| n).collect();
        // A row id numbered after sorting by class predicts the class too.
        names.retain(|n| !(planted == "identifier" && n == "single_feature"));
        let want: Vec<String> = [planted]
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect();
        let audit = sb.output(&["audit", "--json"]).status.code();
        let want_audit = Some(if planted.is_empty() { 0 } else { 4 });
        if names != want || audit != want_audit {
            wrong.push(format!(
                "case {name}: found {names:?}, want {want:?}; audit exit {audit:?}, want {want_audit:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn an_accepted_finding_is_shown_as_accepted_and_the_audit_passes() {
    for (name, planted, text, features, split) in cases() {
        if planted.is_empty() {
            continue;
        }
        let accept = if planted == "duplicates" {
            "    dedupe: keep\n".to_string()
        } else if planted == "identifier" {
            "    accept: [identifier, single_feature]\n".to_string()
        } else {
            format!("    accept: [{planted}]\n")
        };
        let sb = run_case(&text, features, &format!("{split}{accept}"));
        assert!(found(&sb).iter().all(|(_, a)| *a), "case {name}");
        let audit = sb.json(&["audit", "--json"]);
        let accepted: Vec<String> = audit["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "accepted")
            .flat_map(|c| c["accepted"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert!(!accepted.is_empty(), "case {name}: {audit}");
        // Nothing to warn about in the summary either.
        let out = sb.output(&["-q", "run", "w.yaml"]);
        assert_eq!(text_of(&out.stderr), "", "case {name}");
    }
}

#[test]
fn the_builtin_digits_are_clean() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        "name: digits
seed: 3
data: {source: builtin, name: digits, task: classification}
stages:
  split: {kind: split}
",
    );
    sb.ok(&["-q", "run", "w.yaml"]);
    assert_eq!(found(&sb), Vec::new());
}

#[test]
fn findings_are_in_the_quiet_run_status_and_audit_with_one_count() {
    // 30 copies of rows: the split scatters some over test, val and train.
    let (_, _, text, _, _) = cases().remove(1);
    let sb = Sandbox::new();
    sb.write("rows.csv", &text);
    sb.write("w.yaml", &workflow("", ""));
    let out = sb.output(&["-q", "run", "w.yaml"]);
    assert!(out.status.success());
    let err = text_of(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("warning (split): "))
        .unwrap_or_else(|| panic!("no warning in a quiet run: {err:?}"));
    // "T test rows are identical in content to train or val rows, V val rows to train rows"
    let counts: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .take(2)
        .collect();
    assert!(
        line.contains("test rows are identical in content"),
        "{line}"
    );
    let status = sb.ok(&["status", "w.yaml"]);
    assert!(status.contains("1 data warning"), "{status}");
    assert!(
        status.contains(&line["warning (split): ".len()..]),
        "{status}"
    );
    let audit = text_of(&sb.output(&["audit"]).stdout);
    assert!(
        audit.contains(&format!(
            "{} test rows are identical in content to train or val rows, {} val rows to train rows",
            counts[0], counts[1]
        )),
        "run said {line:?}, the audit:\n{audit}"
    );
    assert!(
        counts[1] > 0,
        "the case has val copies of train rows: {line}"
    );
}

#[test]
fn by_time_tests_on_the_latest_rows() {
    let (_, _, text, features, split) = cases().pop().unwrap();
    let sb = run_case(&text, features, split);
    let id: String = sb
        .db()
        .query_row("SELECT id FROM jobs WHERE kind = 'split'", [], |r| r.get(0))
        .unwrap();
    let dir = sb.runs().join(&id[..16]);
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(p)).unwrap()).unwrap()
    };
    let rows = |v: &serde_json::Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().unwrap())
            .collect()
    };
    // Dates rise with the row: test the last 60 rows, val the 60 before, train the rest.
    let manifest = read("manifest.json");
    assert_eq!(
        rows(&read("sealed/test.json")["rows"]),
        (240..300).collect::<Vec<_>>()
    );
    assert_eq!(rows(&manifest["val"]), (180..240).collect::<Vec<_>>());
    assert_eq!(rows(&manifest["train"]), (0..180).collect::<Vec<_>>());
}

#[test]
fn bad_split_options_and_time_cells_name_file_line_and_field() {
    let (_, _, text, features, _) = cases().pop().unwrap();
    let sb = Sandbox::new();
    sb.write("rows.csv", &text);
    for (split, want) in [
        (
            "    accept: [constant_columns, leaks]\n",
            "w.yaml:15: stages.split.accept[1]: unknown check `leaks`",
        ),
        (
            "    by_time: date\n    group: date\n",
            "stages.split.by_time: does not combine with `group:`",
        ),
        (
            "    by_time: when\n",
            "stages.split.by_time: no column \"when\"",
        ),
    ] {
        sb.write("w.yaml", &workflow(features, split));
        let out = sb.output(&["run", "w.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{split}");
        assert!(
            text_of(&out.stderr).contains(want),
            "{split}: {}",
            text_of(&out.stderr)
        );
        assert!(!sb.runs().join("hpflow.db").exists() || found_none(&sb));
    }
    // A date that is not one: the split names its line and column.
    sb.write("rows.csv", &text.replacen("2023-01-05", "5 Jan 2023", 1));
    sb.write("w.yaml", &workflow(features, "    by_time: date\n"));
    let out = sb.output(&["run", "w.yaml"]);
    let err = text_of(&out.stderr);
    assert!(
        err.contains("rows.csv:6: date: `5 Jan 2023` is not a date or timestamp"),
        "{err}"
    );
}

/// No split job has finished.
fn found_none(sb: &Sandbox) -> bool {
    sb.db()
        .query_row(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'split' AND status = 'done'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        == 0
}

#[test]
fn a_file_with_many_bad_cells_gets_one_error_listing_them() {
    let sb = Sandbox::new();
    let mut text = String::from("f1,f2,label\n");
    for i in 0..30 {
        // Rows 3, 6, 9, …: a word in f1; row 4: an empty f2.
        let f1 = if i % 3 == 0 {
            "n/a".to_string()
        } else {
            i.to_string()
        };
        let f2 = if i == 4 { "" } else { "1.5" };
        text.push_str(&format!("{f1},{f2},{}\n", i % 2));
    }
    sb.write("rows.csv", &text);
    sb.write("w.yaml", &workflow("", ""));
    let out = sb.output(&["run", "w.yaml"]);
    assert_ne!(out.status.code(), Some(0));
    let err = text_of(&out.stderr);
    // Line 2 is the first data row (i = 0).
    assert!(
        err.contains("rows.csv:2: f1: `n/a` is not a number"),
        "{err}"
    );
    assert!(
        err.contains("rows.csv:6: f2: missing value (empty cell)"),
        "{err}"
    );
    assert!(
        err.contains("rows.csv:29: f1: `n/a` is not a number"),
        "{err}"
    );
    assert!(err.contains("(11 bad cells in all)"), "{err}");
    // The audit of that workflow: nothing was evaluated, not nine ok lines.
    let audit = sb.output(&["audit", "w.yaml"]);
    let said = text_of(&audit.stdout) + &text_of(&audit.stderr);
    assert_eq!(audit.status.code(), Some(1), "{said}");
    assert!(said.contains("nothing was evaluated: split job"), "{said}");
    assert!(!said.contains("ok "), "{said}");
}

#[test]
fn more_bad_cells_than_the_limit_are_counted_not_listed() {
    let sb = Sandbox::new();
    let mut text = String::from("f1,label\n");
    for i in 0..50 {
        text.push_str(&format!("x{i},{}\n", i % 2));
    }
    sb.write("rows.csv", &text);
    sb.write("w.yaml", &workflow("", ""));
    let err = text_of(&sb.output(&["run", "w.yaml"]).stderr);
    assert!(
        err.contains("rows.csv:21: f1: `x19` is not a number"),
        "{err}"
    );
    assert!(!err.contains("`x20`"), "{err}");
    assert!(
        err.contains("(50 bad cells in all; the first 20 are listed)"),
        "{err}"
    );
}
