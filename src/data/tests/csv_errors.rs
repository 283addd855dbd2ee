//! Every kind of bad CSV, each with the exact message a user sees.

use std::path::Path;

use super::{csv_spec, write};
use crate::data::{Task, load};

struct Case {
    name: &'static str,
    text: &'static str,
    label: &'static str,
    task: Task,
    features: Option<&'static [&'static str]>,
    group: Option<&'static str>,
    /// The message after `FILE:`.
    want: &'static str,
}

const fn case(name: &'static str, text: &'static str, want: &'static str) -> Case {
    Case {
        name,
        text,
        label: "y",
        task: Task::Classification,
        features: None,
        group: None,
        want,
    }
}

#[test]
fn bad_csv_files_get_one_clear_message_each() {
    let cases = [
        case(
            "empty file",
            "",
            "1: data.path: the file is empty; expected a header row naming the columns",
        ),
        case(
            "blank lines only",
            "\n\n",
            "1: data.path: the file is empty; expected a header row naming the columns",
        ),
        case(
            "header only",
            "a,b,y\n",
            "1: data.path: only a header row; the file needs at least one data row",
        ),
        case(
            "missing value",
            "a,b,y\n1,2,x\n3,,x\n",
            "3: b: missing value (empty cell)",
        ),
        case(
            "missing label",
            "a,b,y\n1,2,x\n3,4, \n",
            "3: y: missing value (empty cell)",
        ),
        case(
            "non-numeric",
            "a,b,y\n1,2,x\n3,4.5.6,z\n",
            "3: b: `4.5.6` is not a number",
        ),
        case(
            "not finite",
            "a,b,y\n1,inf,x\n",
            "2: b: `inf` is not a finite number",
        ),
        case(
            "short row",
            "a,b,y\n1,2,x\n3,4\n",
            "3: y: this row has 2 fields, the header has 3",
        ),
        case(
            "long row",
            "a,b,y\n1,2,x,9\n",
            "2: column 4: this row has 4 fields, the header has 3",
        ),
        case(
            "no label column",
            "a,b,c\n1,2,3\n",
            "1: data.label: no label column `y`; the columns are: a, b, c",
        ),
        case(
            "unclosed quote",
            "a,b,y\n1,\"2,x\n3,4,z\n",
            "2: b: a quote opened here is never closed",
        ),
        case(
            "text after quote",
            "a,b,y\n1,\"2\"3,x\n",
            "2: b: `3` after a closing quote; inside quotes write a quote as \"\"",
        ),
        case(
            "duplicate header",
            "a,a,y\n1,2,x\n",
            "1: a: the header names `a` twice (columns 1 and 2)",
        ),
        case(
            "empty header cell",
            "a,,y\n1,2,x\n",
            "1: column 2: header cell 2 is empty; every column needs a name",
        ),
        Case {
            features: Some(&["a", "q"]),
            ..case(
                "no feature column",
                "a,b,y\n1,2,x\n",
                "1: data.features: no feature column `q`; the columns are: a, b, y",
            )
        },
        Case {
            features: Some(&["a", "y"]),
            ..case(
                "label as feature",
                "a,b,y\n1,2,x\n",
                "1: data.features: `y` is the label column",
            )
        },
        Case {
            group: Some("g"),
            ..case(
                "no group column",
                "a,b,y\n1,2,x\n",
                "1: group: no group column `g`; the columns are: a, b, y",
            )
        },
        Case {
            group: Some("b"),
            ..case(
                "missing group",
                "a,b,y\n1,k,x\n2,,x\n",
                "3: b: missing value (empty cell)",
            )
        },
        Case {
            task: Task::Regression,
            ..case(
                "text label in regression",
                "a,y\n1,2\n2,cheap\n",
                "3: y: `cheap` is not a number",
            )
        },
        case(
            "one class",
            "a,y\n1,x\n2,x\n",
            "y: every row has the label `x`; classification needs at least two classes",
        ),
    ];
    assert!(cases.len() >= 6);
    let dir = tempfile::tempdir().unwrap();
    for c in cases {
        let p = write(dir.path(), "bad.csv", c.text);
        let mut s = csv_spec(&p, c.label);
        s.task = c.task;
        s.features = c
            .features
            .map(|f| f.iter().map(|s| s.to_string()).collect());
        let e = load(&s, Path::new("/"), c.group).expect_err(c.name);
        let sep = if c.want.starts_with(|ch: char| ch.is_ascii_digit()) {
            ":"
        } else {
            ": "
        };
        assert_eq!(
            e.to_string(),
            format!("{}{sep}{}", p.display(), c.want),
            "case: {}",
            c.name
        );
        assert_eq!(
            e.exit_code(),
            crate::error::exit::BAD_INPUT,
            "case: {}",
            c.name
        );
    }
}

#[test]
fn a_csv_without_label_field_says_which_columns_exist() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "x.csv", "a,b\n1,2\n");
    let mut s = csv_spec(&p, "b");
    s.label = None;
    let e = load(&s, Path::new("/"), None).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:1: data.label: csv data needs `label:` naming the target column; the columns are: a, b",
            p.display()
        )
    );
    let gone = dir.path().join("gone.csv");
    let e = load(&csv_spec(&gone, "b"), Path::new("/"), None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("{}: ", gone.display())), "{e}");
}
