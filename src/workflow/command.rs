//! A `command` model's program line, checked when the workflow is read: the program exists,
//! the script an interpreter is given exists, and every `{placeholder}` names a parameter.
//! Each would otherwise fail every trial of the sweep, one after another.

use std::path::{Path, PathBuf};

use crate::error::FieldError;

/// Programs whose first positional argument is a script file.
const INTERPRETERS: &[&str] = &[
    "python", "python3", "bash", "sh", "zsh", "Rscript", "julia", "node", "perl", "ruby",
];

/// Resolve the program line against the workflow's folder: an argument naming a file there
/// becomes its absolute path (its content enters the job key). Errors name the argument.
pub fn resolve(argv: &[String], base_dir: &Path, field: &str) -> Result<Vec<String>, FieldError> {
    let at = |i: usize| format!("{field}[{i}]");
    let mut argv = argv.to_vec();
    for a in argv.iter_mut() {
        let p = base_dir.join(&*a);
        if !Path::new(a).is_absolute() && !a.contains('{') && p.is_file() {
            *a = p.canonicalize().unwrap_or(p).to_string_lossy().into_owned();
        }
    }
    let program = &argv[0];
    if !program.contains('{') && find_program(program, base_dir).is_none() {
        return Err(FieldError::new(
            at(0),
            format!("program {program:?} is not a file beside the workflow nor on PATH"),
        ));
    }
    if is_interpreter(program) {
        for (i, a) in argv.iter().enumerate().skip(1) {
            if matches!(a.as_str(), "-m" | "-c" | "-e" | "-") {
                break; // a module or inline code: no script file
            }
            // A script is an argument that names a file (an extension or a folder), not an
            // option or an option's value (`-W ignore`, `-t 4`).
            let looks_like_script = !a.starts_with('-')
                && !a.contains('{')
                && (a.contains('/') || Path::new(a).extension().is_some());
            if looks_like_script && !Path::new(a).is_file() {
                return Err(FieldError::new(
                    at(i),
                    format!("no file {a:?} beside the workflow (programs run in its folder)"),
                ));
            }
        }
    }
    Ok(argv)
}

/// Every `{name}` in the program line must be a parameter (fixed or searched). Only a brace
/// around an identifier is a placeholder: `${HOME}`, `{'epoch': 1}` and `{print $1}` are the
/// program's own text.
pub fn check_placeholders(argv: &[String], names: &[&str], field: &str) -> Result<(), FieldError> {
    let identifier = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    for (i, a) in argv.iter().enumerate() {
        let mut rest = a.as_str();
        while let Some(open) = rest.find('{') {
            let Some(len) = rest[open..].find('}') else {
                break;
            };
            let name = &rest[open + 1..open + len];
            let shell = rest[..open].ends_with('$');
            if identifier(name) && !shell && !names.contains(&name) {
                return Err(FieldError::new(
                    format!("{field}[{i}]"),
                    format!(
                        "{{{name}}} names no parameter (params and space have: {})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            }
            rest = &rest[open + len + 1..];
        }
    }
    Ok(())
}

fn is_interpreter(program: &str) -> bool {
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    // python3.12 and the like count as python3.
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    INTERPRETERS.contains(&name) || INTERPRETERS.contains(&base)
}

/// The program as the trial will start it: a path (relative to the workflow's folder, where
/// programs run) or a name on PATH.
fn find_program(program: &str, base_dir: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        let p = base_dir.join(program);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn misspelled_program_script_and_placeholder_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("train.py"), "print()").unwrap();
        let ok = resolve(
            &argv(&["python3", "-u", "train.py", "{lr}"]),
            dir.path(),
            "c",
        )
        .unwrap();
        assert!(ok[2].ends_with("/train.py") && Path::new(&ok[2]).is_absolute());
        let e = resolve(&argv(&["pyhton3", "train.py"]), dir.path(), "c").unwrap_err();
        assert_eq!(e.field, "c[0]");
        let e = resolve(&argv(&["python3", "trian.py"]), dir.path(), "c").unwrap_err();
        assert_eq!(e.field, "c[1]");
        assert!(e.msg.contains("no file \"trian.py\""), "{}", e.msg);
        // A module is not a file, nor is an option's value.
        resolve(&argv(&["python3", "-m", "mypkg.train"]), dir.path(), "c").unwrap();
        resolve(
            &argv(&["python3", "-W", "ignore", "train.py"]),
            dir.path(),
            "c",
        )
        .unwrap();
        // The program's own braces are not placeholders.
        check_placeholders(&argv(&["bash", "-c", "echo ${HOME} {lr}"]), &["lr"], "c").unwrap();
        check_placeholders(&argv(&["awk", "{print $1}", "{'epoch': 1}"]), &[], "c").unwrap();
        check_placeholders(&argv(&["x", "--lr={lr}"]), &["lr"], "c").unwrap();
        let e = check_placeholders(&argv(&["x", "--lr", "{lrr}"]), &["lr"], "c").unwrap_err();
        assert_eq!(e.field, "c[2]");
        assert!(e.msg.starts_with("{lrr} names no parameter"), "{}", e.msg);
    }
}
