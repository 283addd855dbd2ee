//! Each layer of `src/` only looks down: a module may use its own layer and the ones below,
//! never one above. Read from the `crate::` paths of every file (its `use` lines and inline
//! paths), so a new upward import fails here with the file that made it.
//!
//! The order, top first, is written here once and in the README's source map. `src/torch/` is
//! the `hpflow-worker` binary, a crate of its own on top of the library, and not read here.

use std::collections::BTreeSet;
use std::path::Path;

/// Top first. Modules in one entry may use each other: the commands (`serve` is the `serve`
/// command's pages, which reuse `status`, `export` and `audit`).
const LAYERS: &[&[&str]] = &[
    &["cli", "cmd", "serve"],
    &["report"],
    &["mlflow"],
    &["importance"],
    &["exec"],
    &["stage"],
    &["plan"],
    &["workers"],
    &["workflow"],
    &["train"],
    &["data"],
    &["search"],
    &["store"],
    &["reasons"],
    &["progress"],
    &["signals"],
    &["text"],
    &["error"],
    &["vocab"],
];

fn layer(module: &str) -> Option<usize> {
    // `crate::Error` and `crate::Result` are `error`'s, re-exported at the root.
    let module = match module {
        "Error" | "Result" => "error",
        m => m,
    };
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level modules a file's text names after `crate::` (`crate::a::b`, `crate::{a, b::c}`).
fn named_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The entries of the group at its own depth: `a::{x, y}, b` names a and b.
            let (mut depth, mut start) = (0usize, 0usize);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_only_looks_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut wrong = Vec::new();
    for path in &all {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "torch" || module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer(&module) else {
            wrong.push(format!(
                "src/{module} is in no layer: add it to LAYERS (and the README)"
            ));
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap();
        for used in named_modules(&text) {
            match layer(&used) {
                None => wrong.push(format!("{}: crate::{used} is in no layer", rel.display())),
                Some(l) if l < own => wrong.push(format!(
                    "{}: {module} uses crate::{used}, a layer above it",
                    rel.display()
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that look up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_readme_gives_the_same_order() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let order: Vec<String> = LAYERS
        .iter()
        .map(|l| {
            l.iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let line = format!("Layers, top first: {}.", order.join(" > "));
    assert!(
        readme.replace('\n', " ").contains(&line),
        "the README's source map should say:\n{line}"
    );
}

#[test]
fn groups_and_nested_paths_are_read() {
    let got = named_modules(
        "use crate::{search::{Config, Space}, store::Db};\nlet x = crate::vocab::Goal::Minimize; // crate::cli\n",
    );
    let want: BTreeSet<String> = ["search", "store", "vocab"].map(String::from).into();
    assert_eq!(got, want);
}
