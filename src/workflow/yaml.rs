//! YAML in one place (serde_yaml is deprecated upstream; keeping it here lets us swap it for a
//! maintained fork): parsing with line numbers, ordered mappings, and finding the line of a
//! dotted field path for errors found after parsing.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// A mapping that keeps the order it was written in (stages, search spaces).
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(serde::de::Error::custom(format!("`{key}` is given twice")));
                    }
                    let value = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A serde_yaml error split into the field path, the line and the message.
pub struct ParseError {
    pub field: String,
    pub line: Option<usize>,
    pub msg: String,
}

pub fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, ParseError> {
    serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let full = e.to_string();
        // serde_yaml writes "path.to.field: message at line L column C".
        let without_loc = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full.clone(),
        };
        let (field, msg) = match without_loc.split_once(": ") {
            Some((f, m)) if !f.contains(' ') => (f.to_string(), m.to_string()),
            _ => ("(file)".to_string(), without_loc),
        };
        let msg = words(&msg);
        // A key written twice: serde names the mapping it is in (or no place, at the top),
        // at the mapping's first line; point at the second key instead.
        if let Some(key) = duplicated(&msg)
            && let Some((path, second, first)) = duplicate_key(text)
            && path.rsplit('.').next() == Some(key.as_str())
        {
            return ParseError {
                field: path,
                line: Some(second),
                msg: format!("`{key}` is given twice (first on line {first})"),
            };
        }
        // For an unknown key, point at the key's own line rather than its parent's.
        let mut field = field;
        let mut line = line;
        if let Some(key) = msg
            .strip_prefix("unknown key `")
            .and_then(|r| r.split('`').next())
        {
            let path = if field == "(file)" {
                key.to_string()
            } else {
                format!("{field}.{key}")
            };
            if let Some(l) = locate(text, &path) {
                line = Some(l);
            }
            field = path;
        }
        ParseError { field, line, msg }
    })
}

/// Deserialize a part of the document that was kept as a `serde_yaml::Value` (a stage), with
/// errors naming the field below `prefix`. The line is found afterwards with `locate`.
pub fn from_value<T: for<'de> Deserialize<'de>>(
    v: serde_yaml::Value,
    prefix: &str,
) -> Result<T, crate::error::FieldError> {
    serde_path_to_error::deserialize(v).map_err(
        |e: serde_path_to_error::Error<serde_yaml::Error>| {
            // The path inside the value (`metric.goal`), which serde_yaml's own errors lose here.
            let path = e.path().to_string();
            let full = e.inner().to_string();
            let text = full.split(" at line ").next().unwrap_or(&full).to_string();
            let mut field = if path == "." || path.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}.{path}")
            };
            let msg = text;
            // An unknown key is reported at its parent: name the key itself.
            if msg.starts_with("unknown field")
                && field.ends_with(&format!(".{}", msg.split('`').nth(1).unwrap_or("")))
            {
                field = field
                    .rsplit_once('.')
                    .map(|(p, _)| p.to_string())
                    .unwrap_or(field);
            }
            let msg = words(&msg);
            if let Some(key) = msg
                .strip_prefix("unknown key `")
                .and_then(|r| r.split('`').next())
            {
                field = format!("{field}.{key}");
            }
            if let Some(key) = msg
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                return crate::error::FieldError::new(field, format!("`{key}` is required"));
            }
            crate::error::FieldError::new(field, msg)
        },
    )
}

/// The key a "written twice" message of serde's (or of `Ordered`) names.
fn duplicated(msg: &str) -> Option<String> {
    let rest = msg
        .strip_prefix("duplicate field `")
        .map(|r| r.split('`').next())
        .or_else(|| {
            msg.strip_prefix("duplicate entry with key \"")
                .map(|r| r.split('"').next())
        })
        .or_else(|| {
            msg.strip_prefix('`')
                .map(|r| r.split("` is given twice").next())
        })?;
    rest.map(str::to_string)
}

/// The first key written twice in one block mapping: its dotted path, its line and the line of
/// its first writing (1-based). Block-style YAML only, like `locate`; list items open mappings
/// of their own.
pub fn duplicate_key(text: &str) -> Option<(String, usize, usize)> {
    // The keys (with their indents) above the current line; a list item is an unnamed level.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut seen: std::collections::HashMap<(Vec<String>, String), usize> =
        std::collections::HashMap::new();
    let mut items = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let mut indent = line.len() - trimmed.len();
        stack.retain(|(d, _)| *d < indent);
        let mut rest = trimmed;
        while let Some(r) = rest.strip_prefix("- ") {
            items += 1;
            stack.push((indent, format!("-{items}")));
            indent += 2;
            rest = r.trim_start();
        }
        let Some((key, _)) = rest.split_once(':') else {
            continue;
        };
        if key.starts_with(['{', '[', '"', '\'', '|', '>']) || key.contains(' ') {
            continue;
        }
        let parents: Vec<String> = stack.iter().map(|(_, k)| k.clone()).collect();
        if let Some(&first) = seen.get(&(parents.clone(), key.to_string())) {
            let mut path: Vec<&str> = parents
                .iter()
                .filter(|k| !k.starts_with('-'))
                .map(String::as_str)
                .collect();
            path.push(key);
            return Some((path.join("."), i + 1, first));
        }
        seen.insert((parents, key.to_string()), i + 1);
        stack.push((indent, key.to_string()));
    }
    None
}

/// serde's message in the workflow author's words: YAML's terms, not Rust's type names.
fn words(msg: &str) -> String {
    let mut out = msg
        .replace("unknown variant", "unknown value")
        // serde_yaml's words for a list or mapping where one word (an enum) belongs.
        .replace(
            "expected a YAML tag starting with '!'",
            "expected a single word",
        )
        .replace("unknown field", "unknown key");
    const TYPES: &[(&str, &str)] = &[
        ("u8", "a whole number >= 0"),
        ("u16", "a whole number >= 0"),
        ("u32", "a whole number >= 0"),
        ("u64", "a whole number >= 0"),
        ("usize", "a whole number >= 0"),
        ("i8", "a whole number"),
        ("i16", "a whole number"),
        ("i32", "a whole number"),
        ("i64", "a whole number"),
        ("isize", "a whole number"),
        ("f32", "a number"),
        ("f64", "a number"),
    ];
    for (rust, word) in TYPES {
        let from = format!("expected {rust}");
        let mut at = 0;
        while let Some(i) = out[at..].find(&from).map(|i| i + at) {
            let end = i + from.len();
            // Whole words only (`expected u8` is not the start of `expected u80`).
            if out[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                at = end;
                continue;
            }
            out.replace_range(i..end, &format!("expected {word}"));
            at = i;
        }
    }
    out
}

/// The 1-based line where a dotted path (`stages.search.space.lr`) is written, for block-style
/// YAML (flow mappings such as `{loguniform: [..]}` sit on their key's line). `a[2]` indexes
/// into a flow or block sequence only as far as its key's line.
pub fn locate(text: &str, path: &str) -> Option<usize> {
    let parts: Vec<&str> = path
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .collect();
    let mut depth_indent: Option<usize> = None; // indent of the key matched at the previous level
    let mut found = 0;
    let mut last_line = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if let Some(d) = depth_indent {
            if indent <= d {
                // Left the block of the key matched last without finding the next part.
                return last_line;
            }
        }
        let key = trimmed
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(['"', '\'']);
        if trimmed.contains(':') && key == parts[found] {
            found += 1;
            last_line = Some(i + 1);
            if found == parts.len() {
                return last_line;
            }
            // A flow mapping on the same line holds the rest of the path.
            if trimmed
                .split_once(':')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('{'))
            {
                return last_line;
            }
            depth_indent = Some(indent);
        }
    }
    last_line
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name: x\nstages:\n  split:\n    kind: split\n  search:\n    kind: search\n    space:\n      lr: {loguniform: [0, 1]}\n      units: {int: [1, 2]}\n";

    #[test]
    fn a_key_given_twice_is_found_at_its_second_line() {
        let doc = "name: x\nseed: 1\nseed: 2\n";
        assert_eq!(duplicate_key(doc), Some(("seed".into(), 3, 2)));
        let doc =
            "stages:\n  a:\n    workers: 1\n  b:\n    workers: 2\n    kind: x\n    workers: 3\n";
        assert_eq!(duplicate_key(doc), Some(("stages.b.workers".into(), 7, 5)));
        let doc = "l:\n  - a: 1\n    b: 2\n  - a: 3\n";
        assert_eq!(duplicate_key(doc), None);
    }

    #[test]
    fn rust_type_names_become_words() {
        assert_eq!(
            words("invalid type: string \"many\", expected u64"),
            "invalid type: string \"many\", expected a whole number >= 0"
        );
        assert_eq!(
            words("invalid value: integer `-1`, expected usize"),
            "invalid value: integer `-1`, expected a whole number >= 0"
        );
        assert_eq!(
            words("invalid type: map, expected f64"),
            "invalid type: map, expected a number"
        );
    }

    #[test]
    fn locates_nested_fields() {
        assert_eq!(locate(DOC, "name"), Some(1));
        assert_eq!(locate(DOC, "stages.search.kind"), Some(6));
        assert_eq!(locate(DOC, "stages.search.space.units"), Some(9));
        assert_eq!(locate(DOC, "stages.search.space.lr.loguniform"), Some(8));
        // Missing leaf: the closest parent that exists.
        assert_eq!(locate(DOC, "stages.split.train"), Some(3));
    }
}
