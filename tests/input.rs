//! What users see for their input: the bad-input corpus, `--help`, `plan --json`, and every
//! shipped workflow and template planned.

mod common;
use common::*;

#[test]
fn every_bad_workflow_gets_its_one_message_and_nothing_is_written() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input");
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut checked = 0;
    for line in expected.lines() {
        let (file, message) = line.split_once('\t').unwrap();
        let sb = Sandbox::new();
        std::fs::copy(dir.join(file), sb.path().join(file)).unwrap();
        // The data files and programs the workflows name.
        for companion in ["rows.csv", "labels.csv", "train.py"] {
            std::fs::copy(dir.join(companion), sb.path().join(companion)).unwrap();
        }
        // `plan` refuses what `run` refuses, with the same words, before anything is written.
        let mut said = Vec::new();
        for verb in ["plan", "run"] {
            let out = sb.output(&[verb, file]);
            assert_eq!(out.status.code(), Some(2), "{file}: {verb} exit code");
            assert_eq!(
                text(&out.stderr).trim_end(),
                format!("hpflow: {message}"),
                "{file} ({verb})"
            );
            assert!(
                !sb.runs().exists(),
                "{file}: {verb} wrote {}",
                sb.runs().display()
            );
            said.push(text(&out.stderr));
        }
        assert_eq!(
            said[0], said[1],
            "{file}: plan and run say different things"
        );
        checked += 1;
    }
    assert!(checked >= 15, "the corpus has {checked} cases");
}

#[test]
fn shipped_workflows_and_templates_plan() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for folder in ["workflows", "templates"] {
        for e in std::fs::read_dir(root.join(folder)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                let sb = Sandbox::new();
                let plan = sb.json(&["plan", "--json", p.to_str().unwrap()]);
                assert!(
                    !plan["jobs"].as_array().unwrap().is_empty(),
                    "{}",
                    p.display()
                );
                n += 1;
            }
        }
    }
    assert!(n >= 6);
}

#[test]
fn the_design_docs_examples_parse() {
    // Every fenced YAML block of the contract must parse (paths to data may be absent here).
    // The copy in the repository, which the README links: it is always there to check.
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/workflow.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let mut blocks = 0;
    for block in text.split("```yaml").skip(1) {
        blocks += 1;
        let yaml = block.split("```").next().unwrap();
        let sb = Sandbox::new();
        let f = sb.write("w.yaml", yaml);
        let out = sb.output(&["plan", f.to_str().unwrap()]);
        let err = common::text(&out.stderr);
        assert!(
            out.status.success() || err.contains("data.path: no such folder"),
            "{err}"
        );
    }
    assert!(blocks >= 1, "{} has no YAML example", doc.display());
    // The README links the copy inside the repository, not a path outside it.
    let readme = std::fs::read_to_string(doc.parent().unwrap().join("../README.md")).unwrap();
    assert!(
        readme.contains("](docs/workflow.md)"),
        "README.md links docs/workflow.md"
    );
    assert!(
        !readme.contains("](../"),
        "README.md links outside the repository"
    );
}

#[test]
fn init_creates_a_runnable_project() {
    let sb = Sandbox::new();
    sb.ok(&["init", "--template", "function", "proj"]);
    let plan = sb.json(&["plan", "--json", "proj/workflow.yaml"]);
    assert_eq!(plan["workflow"], "branin-bayes");
    let out = sb.output(&["init", "--template", "function", "proj"]);
    assert_eq!(out.status.code(), Some(2), "init refuses to overwrite");
}

#[test]
fn the_function_templates_retrain_says_it_has_no_data() {
    let sb = Sandbox::new();
    sb.ok(&["init", "--template", "function", "proj"]);
    let out = sb.output(&["run", "proj/workflow.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let line = said
        .lines()
        .find(|l| l.contains("retraining trial"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        line.contains("branin at its configuration (a function has no data)")
            && !line.contains("train+val"),
        "{line}"
    );
}

#[test]
fn plan_json_names_every_input_of_every_job() {
    let sb = Sandbox::new();
    let f = sb.write(
        "w.yaml",
        &function_workflow("snap", "{kind: random}", 5, ""),
    );
    let plan = sb.json(&["plan", "--json", f.to_str().unwrap()]);
    let jobs = plan["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3);
    // A search whose budget is outside its identity hands on its id with its budget.
    assert_ne!(jobs[0]["output"], jobs[0]["id"]);
    assert_eq!(jobs[1]["key"]["upstream"][0], jobs[0]["output"]);
    assert_eq!(jobs[2]["key"]["upstream"][0], jobs[1]["id"]);
    let mut filtered = plan.clone();
    for j in filtered["jobs"].as_array_mut().unwrap() {
        j["id"] = "[id]".into();
        if j.get("output").is_some() {
            j["output"] = "[output]".into();
        }
        j["key"]["upstream"] = serde_json::json!(["[upstream]"]);
    }
    insta::assert_json_snapshot!("plan_json_function", filtered);
}

#[test]
fn help_lists_every_command() {
    let sb = Sandbox::new();
    insta::assert_snapshot!("help", sb.ok(&["--help"]));
}

#[test]
fn every_command_help_explains_each_option() {
    let sb = Sandbox::new();
    for cmd in [
        "run",
        "plan",
        "status",
        "show",
        "audit",
        "export",
        "report",
        "importance",
        "watch",
        "init",
        "completions",
        "man",
        "gc",
    ] {
        let help = sb.ok(&[cmd, "--help"]);
        insta::assert_snapshot!(format!("help_{cmd}"), help);
        // Every option and argument line says what it is for.
        let lines: Vec<&str> = help.lines().collect();
        let mut in_list = false;
        for (i, line) in lines.iter().enumerate() {
            if line.ends_with(':') && !line.starts_with(' ') {
                in_list = matches!(*line, "Options:" | "Arguments:");
                continue;
            }
            let entry = line.trim_start();
            let indent = line.len() - entry.len();
            let option = entry.starts_with("--")
                || (entry.starts_with('-') && entry.chars().nth(2) == Some(','));
            if in_list
                && indent <= 6
                && (option || entry.starts_with('<') || entry.starts_with('['))
            {
                let (_, description) = entry.split_once("  ").unwrap_or((entry, ""));
                // Long help puts the explanation on the next line, indented deeper.
                let next = lines.get(i + 1).copied().unwrap_or("");
                let below =
                    next.len() - next.trim_start().len() > indent && !next.trim().is_empty();
                assert!(
                    !description.trim().is_empty() || below,
                    "`hpflow {cmd} --help`: {entry:?} has no explanation"
                );
            }
        }
    }
    let init = sb.ok(&["init", "--help"]);
    assert!(
        init.contains("fashion-mnist") && init.contains("command"),
        "{init}"
    );
    assert!(
        !init.contains("--runs-dir"),
        "init does not use a runs folder"
    );
}

#[test]
fn the_readme_lists_the_hyperparameter_schema_as_it_is() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table = hpflow::train::schema::markdown_table();
    let section = readme
        .split("<!-- schema -->\n")
        .nth(1)
        .and_then(|s| s.split("<!-- /schema -->").next())
        .unwrap_or("");
    assert_eq!(
        section, table,
        "README.md's table between <!-- schema --> and <!-- /schema --> should be:\n{table}"
    );
}
