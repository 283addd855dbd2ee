//! A bounded fuzz of the workflow parser and validator: structured YAML built from the real
//! keys with values of every type, a few unknown keys, and broken nesting. Whatever the input,
//! reading it never panics, and a refusal is an input error naming a field (exit 2), never an
//! internal one. Findings are kept below as regression cases.

use proptest::prelude::*;

const SEARCH: &[&str] = &[
    "needs",
    "model",
    "function",
    "command",
    "params",
    "space",
    "strategy",
    "metric",
    "budget",
    "workers",
    "threads",
    "retries",
    "max_failed",
    "promotion",
    "typo",
];
const STRATEGY: &[&str] = &[
    "kind",
    "eta",
    "min_epochs",
    "max_epochs",
    "population",
    "initial",
    "gamma",
    "steps",
    "batch",
    "quantile",
    "interval",
    "xi",
    "kappa",
];
const WORDS: &[&str] = &[
    "digits",
    "builtin",
    "csv",
    "idx",
    "mlp",
    "function",
    "branin",
    "random",
    "hyperband",
    "sha",
    "pbt",
    "tpe",
    "grid",
    "maximize",
    "val_loss",
    "objective",
    "train+val",
    "cpu",
    "cuda:x",
    "",
    "official",
    "best",
];

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(WORDS).prop_map(|w| format!("{w:?}")),
        any::<i64>().prop_map(|i| i.to_string()),
        (-1e6f64..1e6).prop_map(|x| format!("{x}")),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("[1, 2]".to_string()),
        Just("{uniform: [0, 1]}".to_string()),
        Just("{loguniform: [0, 1]}".to_string()),
        Just("{choice: []}".to_string()),
        Just("{int: [5, 1], log: true}".to_string()),
        Just(".nan".to_string()),
        Just("1e400".to_string()),
    ]
}

fn mapping(keys: &'static [&'static str], depth: usize) -> BoxedStrategy<String> {
    let value = if depth == 0 {
        scalar().boxed()
    } else {
        prop_oneof![3 => scalar(), 1 => mapping(keys, depth - 1)].boxed()
    };
    prop::collection::vec((prop::sample::select(keys), value), 0..6)
        .prop_map(|kv| {
            let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("{{{}}}", body.join(", "))
        })
        .boxed()
}

/// Valid workflows the mutations start from: most inputs then get past the top level and
/// reach the checks of stages, spaces, strategies and data.
const BASES: &[&str] = &[
    "name: f\nseed: 1\nstages:\n  search:\n    kind: search\n    model: function\n    function: branin\n    space:\n      x1: {uniform: [-5, 10]}\n      x2: {uniform: [0, 15]}\n    strategy: {kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}\n    budget: {trials: 20}\n  retrain: {kind: retrain, needs: [search]}\n  evaluate: {kind: evaluate, needs: [retrain]}\n",
    "name: d\nseed: 2\ndata: {source: builtin, name: digits}\nstages:\n  split: {kind: split, train: 0.6, val: 0.2, test: 0.2}\n  search:\n    kind: search\n    needs: [split]\n    model: mlp\n    params: {epochs: 3}\n    space:\n      lr: {loguniform: [1.0e-4, 0.1]}\n      units: {int: [16, 64]}\n      optimizer: {choice: [adam, sgd]}\n    strategy: {kind: tpe}\n    metric: {name: val_accuracy, goal: maximize}\n  retrain: {kind: retrain, needs: [search]}\n  evaluate: {kind: evaluate, needs: [retrain]}\n",
];

/// Places a mutation may set (a path of keys; `*` is any of `SEARCH` or `STRATEGY`).
const PATHS: &[&[&str]] = &[
    &["seed"],
    &["device"],
    &["name"],
    &["data"],
    &["data", "source"],
    &["data", "name"],
    &["data", "task"],
    &["stages", "split", "train"],
    &["stages", "split", "test"],
    &["stages", "split", "folds"],
    &["stages", "split", "group"],
    &["stages", "search"],
    &["stages", "search", "kind"],
    &["stages", "search", "model"],
    &["stages", "search", "needs"],
    &["stages", "search", "params"],
    &["stages", "search", "params", "epochs"],
    &["stages", "search", "params", "dropout"],
    &["stages", "search", "space"],
    &["stages", "search", "space", "lr"],
    &["stages", "search", "space", "x1"],
    &["stages", "search", "space", "units"],
    &["stages", "search", "metric"],
    &["stages", "search", "budget"],
    &["stages", "search", "budget", "time"],
    &["stages", "search", "budget", "epochs"],
    &["stages", "search", "strategy"],
    &["stages", "search", "strategy", "*"],
    &["stages", "search", "*"],
    &["stages", "retrain", "on"],
    &["stages", "retrain", "epochs"],
    &["stages", "retrain", "needs"],
    &["stages", "evaluate", "metrics"],
    &["stages", "evaluate", "needs"],
    &["stages", "extra"],
];

fn set(doc: &mut serde_yaml::Value, path: &[&str], pick: usize, value: serde_yaml::Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = doc;
    for key in parents {
        let Some(map) = at.as_mapping_mut() else {
            return;
        };
        at = map
            .entry(serde_yaml::Value::from(*key))
            .or_insert_with(|| serde_yaml::Value::Mapping(Default::default()));
    }
    let key = match *last {
        "*" if parents.last() == Some(&"strategy") => STRATEGY[pick % STRATEGY.len()],
        "*" => SEARCH[pick % SEARCH.len()],
        k => k,
    };
    if let Some(map) = at.as_mapping_mut() {
        if value.is_null() && pick % 3 == 0 {
            map.remove(key);
        } else {
            map.insert(key.into(), value);
        }
    }
}

fn workflow() -> impl Strategy<Value = String> {
    let mutation = (
        prop::sample::select(PATHS),
        any::<usize>(),
        prop_oneof![3 => scalar(), 1 => mapping(STRATEGY, 1), 1 => mapping(SEARCH, 0)],
    );
    (
        prop::sample::select(BASES),
        prop::collection::vec(mutation, 0..4),
    )
        .prop_map(|(base, mutations)| {
            let mut doc: serde_yaml::Value = serde_yaml::from_str(base).unwrap();
            for (path, pick, value) in mutations {
                let v = serde_yaml::from_str(&value).unwrap_or(serde_yaml::Value::Null);
                set(&mut doc, path, pick, v);
            }
            serde_yaml::to_string(&doc).unwrap()
        })
}

fn check(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.yaml");
    std::fs::write(&file, text).unwrap();
    match hpflow::workflow::load(&file) {
        Ok(wf) => {
            // What validates also plans.
            hpflow::plan::build(&wf).unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
        }
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{e}\n---\n{text}");
            assert!(
                e.to_string().starts_with(&file.display().to_string()),
                "{e}"
            );
        }
    }
}

proptest! {
    // 400 cases in the test run; scripts/chaos runs many more (FUZZ_CASES).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn reading_any_workflow_never_panics_and_refuses_with_a_field(text in workflow()) {
        check(&text);
    }
}

/// Cases the fuzz found, kept.
#[test]
fn fuzz_findings_stay_fixed() {
    for text in [
        // A stage that is a scalar, a list of stages, a document that is a list.
        "name: f\nstages:\n  a: 3\n",
        "name: f\nstages: [1, 2]\n",
        "- 1\n- 2\n",
        "",
        "name: f\nstages:\n  s: {kind: search, model: function, function: branin, strategy: {kind: random}, budget: {time: 1e400}}\n",
        "name: f\nstages:\n  s: {kind: search, model: function, function: branin, space: {x1: {int: [5, 1], log: true}}, strategy: {kind: random}}\n",
    ] {
        check(text);
    }
    // Found by the fuzz: messages that named serde's internals instead of what is accepted.
    for (text, want) in [
        (
            "name: f\ndata: {source: builtin, name: digits, task: {a: 1}}\nstages: {}\n",
            "data.task: invalid type: map, expected a single word",
        ),
        (
            "name: f\ndata: {source: builtin, name: digits}\nstages:\n  split: {kind: split, train: {a: 1}, val: 0.2, test: 0.2}\n",
            "stages.split.train: expected a fraction in (0, 1), a count of rows, or (test only) `official`",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.yaml");
        std::fs::write(&file, text).unwrap();
        let e = hpflow::workflow::load(&file).unwrap_err().to_string();
        assert!(e.ends_with(want), "{e}");
    }
}
