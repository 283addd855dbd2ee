//! The split stage's YAML fields: parsing, defaults and checks.

use crate::data::split::{Amount, Counts, SplitOptions};

fn parse(yaml: &str) -> Result<SplitOptions, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn fields_parse_as_fractions_counts_or_official() {
    let o = parse("train: 0.7\nval: 500\ntest: official\nstratify: false\ngroup: site\nfolds: 5\ndedupe: true\n").unwrap();
    assert_eq!(o.train, Some(Amount::Fraction(0.7)));
    assert_eq!(o.val, Some(Amount::Count(500)));
    assert_eq!(o.test, Some(Amount::Official));
    assert_eq!(
        (
            o.stratify,
            o.group.as_deref(),
            o.folds,
            o.dedupe == crate::data::split::Dedupe::Remove
        ),
        (Some(false), Some("site"), Some(5), true)
    );
    assert_eq!(parse("{}").unwrap(), SplitOptions::default());
    assert!(
        parse("trian: 0.7")
            .unwrap_err()
            .contains("unknown field `trian`")
    );
    assert!(parse("test: everything").unwrap_err().contains(
        "`everything`: expected a fraction in (0, 1), a count of rows, or (test only) `official`"
    ));
    assert!(parse("val: -3").unwrap_err().contains("-3 is negative"));
}

#[test]
fn checks_name_the_field() {
    let cases = [
        (
            "train: 0.8\nval: 0.15\ntest: 0.15",
            "stages.split",
            "the fractions of train, val and test add up to 1.1000, more than 1 (an omitted val or test counts as 0.15)",
        ),
        (
            "train: 0.9",
            "stages.split",
            "the fractions of train, val and test add up to 1.2000, more than 1 (an omitted val or test counts as 0.15)",
        ),
        (
            "train: 1.0",
            "stages.split.train",
            "a fraction must be in (0, 1), got 1; a whole number is a count of rows",
        ),
        (
            "val: 0",
            "stages.split.val",
            "a count of rows must be at least 1",
        ),
        (
            "train: official",
            "stages.split.train",
            "`official` applies to test only",
        ),
        (
            "folds: 1",
            "stages.split.folds",
            "needs at least 2 folds, got 1",
        ),
        (
            "folds: 3\nval: 0.2",
            "stages.split.folds",
            "does not combine with `val:`: each of the k folds takes its turn as the validation rows of all the non-test rows; give train and test only",
        ),
        ("group: ''", "stages.split.group", "names no column"),
        (
            "group: g\ntest: official",
            "stages.split.group",
            "does not combine with `test: official` (groups come from csv data, official tests from idx)",
        ),
    ];
    for (yaml, field, msg) in cases {
        let e = parse(yaml).unwrap().check("stages.split").expect_err(yaml);
        assert_eq!((e.field.as_str(), e.msg.as_str()), (field, msg), "{yaml}");
    }
    for ok in [
        "{}",
        "train: 0.7\nval: 0.15\ntest: 0.15",
        "train: 100\ntest: official",
        "folds: 2\ntest: 0.5",
    ] {
        parse(ok).unwrap().check("s").expect(ok);
    }
}

#[test]
fn counts_round_and_give_train_the_rest() {
    let c = |yaml: &str, n| parse(yaml).unwrap().counts(n);
    assert_eq!(
        c("{}", 1000).unwrap(),
        Counts {
            train: 700,
            val: 150,
            test: 150,
            unused: 0
        }
    );
    assert_eq!(
        c("{train: 0.7, val: 0.15, test: 0.15}", 1797).unwrap(),
        Counts {
            train: 1257,
            val: 270,
            test: 270,
            unused: 0
        }
    );
    assert_eq!(
        c("{train: 0.5}", 100).unwrap(),
        Counts {
            train: 50,
            val: 15,
            test: 15,
            unused: 20
        }
    );
    assert_eq!(
        c("{test: official, val: 0.1}", 60000).unwrap(),
        Counts {
            train: 54000,
            val: 6000,
            test: 0,
            unused: 0
        }
    );
    assert_eq!(
        c("{folds: 3, test: 10}", 40).unwrap(),
        Counts {
            train: 30,
            val: 0,
            test: 10,
            unused: 0
        }
    );
    assert_eq!(
        c("{}", 3).unwrap_err().to_string(),
        "split: val would get 0 of the 3 rows; give it a larger share"
    );
}
