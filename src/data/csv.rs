//! CSV data: a header row, a label column, numeric feature columns and an optional group
//! column. Every error names the file, the 1-based line and the column.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::csv_reader::{ReadError, Reader, Record};
use super::split::Cell;
use super::{DataSpec, Dataset, SourceTable, Target, Task};

pub fn load(path: &Path, spec: &DataSpec, group: Option<&str>) -> crate::Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        err(path, line, "data.path", "is not UTF-8 text")
    })?;
    let mut reader = Reader::new(text);
    let header = match reader.next_record() {
        None => {
            return Err(err(
                path,
                1,
                "data.path",
                "the file is empty; expected a header row naming the columns",
            ));
        }
        Some(r) => r.map_err(|e| syntax(path, &[], e))?,
    };
    let names = header_names(path, &header)?;
    let cols = Columns::resolve(path, header.line, &names, spec, group)?;

    let width = cols.features.len();
    // Every column, in name order, for row identity (`split::row_identity`).
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut cells = Vec::new();
    let mut x = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    let mut lines: Vec<usize> = Vec::new();
    // Every bad cell, so that one error lists them all rather than one per run.
    let mut bad = BadCells::default();
    while let Some(rec) = reader.next_record() {
        let rec = rec.map_err(|e| syntax(path, &names, e))?;
        if let Err(e) = check_width(path, &names, &rec) {
            bad.push(e);
            continue;
        }
        for &c in &cols.features {
            x.push(number(path, &names, &rec, c).unwrap_or_else(|e| {
                bad.push(e);
                0.0
            }));
        }
        let label = cell(path, &names, &rec, cols.label).unwrap_or_else(|e| {
            bad.push(e);
            ""
        });
        labels.push(label.to_string());
        if let Some(g) = cols.group {
            let v = cell(path, &names, &rec, g).unwrap_or_else(|e| {
                bad.push(e);
                ""
            });
            groups.push(v.to_string());
        }
        cells.extend(order.iter().map(|&c| Cell::parse(&rec.fields[c])));
        lines.push(rec.line);
    }
    if spec.task == Task::Regression {
        for (s, &line) in labels.iter().zip(&lines) {
            if !s.is_empty()
                && let Err(m) = parse_number(s)
            {
                bad.push(err(path, line, &names[cols.label], &m));
            }
        }
    }
    bad.into_result()?;
    if labels.is_empty() {
        return Err(err(
            path,
            header.line,
            "data.path",
            "only a header row; the file needs at least one data row",
        ));
    }
    let label_name = &names[cols.label];
    let (y, class_names) = match spec.task {
        Task::Classification => classes(path, label_name, &labels)?,
        Task::Regression => {
            let mut v = Vec::with_capacity(labels.len());
            for (s, &line) in labels.iter().zip(&lines) {
                v.push(parse_number(s).map_err(|m| err(path, line, label_name, &m))?);
            }
            (Target::Values(v), Vec::new())
        }
    };
    Ok(Dataset {
        x,
        n: labels.len(),
        shape: vec![width],
        y,
        classes: class_names.len(),
        class_names,
        task: spec.task,
        feature_names: cols.features.iter().map(|&c| names[c].clone()).collect(),
        groups: cols.group.map(|_| groups),
        official_test_from: None,
        source: Some(SourceTable {
            names: order.iter().map(|&c| names[c].clone()).collect(),
            cells,
        }),
    })
}

/// Which header positions hold the label, the features and the group.
struct Columns {
    label: usize,
    features: Vec<usize>,
    group: Option<usize>,
}

impl Columns {
    fn resolve(
        path: &Path,
        line: usize,
        names: &[String],
        spec: &DataSpec,
        group: Option<&str>,
    ) -> crate::Result<Columns> {
        let listing = || format!("the columns are: {}", names.join(", "));
        let find = |field: &str, what: &str, name: &str| {
            names.iter().position(|n| n == name).ok_or_else(|| {
                err(
                    path,
                    line,
                    field,
                    &format!("no {what} column `{name}`; {}", listing()),
                )
            })
        };
        let label_name = spec.label.as_deref().ok_or_else(|| {
            err(
                path,
                line,
                "data.label",
                &format!(
                    "csv data needs `label:` naming the target column; {}",
                    listing()
                ),
            )
        })?;
        let label = find("data.label", "label", label_name)?;
        let group = group.map(|g| find("group", "group", g)).transpose()?;
        if group == Some(label) {
            return Err(err(
                path,
                line,
                "group",
                "the group column cannot be the label column",
            ));
        }
        let features = match &spec.features {
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for name in list {
                    let c = find("data.features", "feature", name)?;
                    if c == label {
                        return Err(err(
                            path,
                            line,
                            "data.features",
                            &format!("`{name}` is the label column"),
                        ));
                    }
                    if out.contains(&c) {
                        return Err(err(
                            path,
                            line,
                            "data.features",
                            &format!("`{name}` is listed twice"),
                        ));
                    }
                    out.push(c);
                }
                out
            }
            None => (0..names.len())
                .filter(|&c| c != label && Some(c) != group)
                .collect(),
        };
        if features.is_empty() {
            return Err(err(
                path,
                line,
                "data.features",
                &format!("no feature columns left; {}", listing()),
            ));
        }
        Ok(Columns {
            label,
            features,
            group,
        })
    }
}

fn header_names(path: &Path, header: &Record) -> crate::Result<Vec<String>> {
    let names: Vec<String> = header.fields.iter().map(|f| f.trim().to_string()).collect();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            let msg = format!("header cell {} is empty; every column needs a name", i + 1);
            return Err(err(path, header.line, &format!("column {}", i + 1), &msg));
        }
        if let Some(j) = names[..i].iter().position(|n| n == name) {
            let msg = format!(
                "the header names `{name}` twice (columns {} and {})",
                j + 1,
                i + 1
            );
            return Err(err(path, header.line, name, &msg));
        }
    }
    Ok(names)
}

fn check_width(path: &Path, names: &[String], rec: &Record) -> crate::Result<()> {
    let (got, want) = (rec.fields.len(), names.len());
    if got == want {
        return Ok(());
    }
    let msg = format!("this row has {got} fields, the header has {want}");
    Err(err(
        path,
        rec.line,
        &column_name(names, got.min(want)),
        &msg,
    ))
}

/// A trimmed, non-empty cell.
fn cell<'r>(path: &Path, names: &[String], rec: &'r Record, c: usize) -> crate::Result<&'r str> {
    let v = rec.fields[c].trim();
    if v.is_empty() {
        return Err(err(path, rec.line, &names[c], "missing value (empty cell)"));
    }
    Ok(v)
}

fn number(path: &Path, names: &[String], rec: &Record, c: usize) -> crate::Result<f32> {
    let v = cell(path, names, rec, c)?;
    parse_number(v).map_err(|m| err(path, rec.line, &names[c], &m))
}

fn parse_number(v: &str) -> Result<f32, String> {
    match v.parse::<f32>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(format!("`{v}` is not a finite number")),
        Err(_) => Err(format!("`{v}` is not a number")),
    }
}

/// Class indices for string labels: the distinct values sorted (numerically when every one
/// is a number, so `10` comes after `9`), then numbered `0..k`.
fn classes(path: &Path, label: &str, labels: &[String]) -> crate::Result<(Target, Vec<String>)> {
    let distinct: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
    let mut names: Vec<&str> = distinct.into_iter().collect();
    let numeric: Option<Vec<f64>> = names.iter().map(|s| s.parse::<f64>().ok()).collect();
    if let Some(values) = numeric {
        let mut pairs: Vec<(f64, &str)> = values.into_iter().zip(names).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
        names = pairs.into_iter().map(|(_, s)| s).collect();
    }
    if names.len() < 2 {
        let msg = format!(
            "every row has the label `{}`; classification needs at least two classes",
            names.first().copied().unwrap_or_default()
        );
        return Err(crate::Error::Input {
            file: path.to_path_buf(),
            line: None,
            field: label.to_string(),
            msg,
        });
    }
    let index: HashMap<&str, i64> = names
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as i64))
        .collect();
    let y = labels.iter().map(|s| index[s.as_str()]).collect();
    Ok((
        Target::Classes(y),
        names.into_iter().map(String::from).collect(),
    ))
}

/// At most this many bad cells are listed in the one error.
pub const MAX_BAD_CELLS: usize = 20;

/// The bad cells of a file: the error names the first as any input error does, then lists
/// the others, each with its line and column, up to `MAX_BAD_CELLS`.
#[derive(Default)]
struct BadCells {
    errors: Vec<crate::Error>,
    count: usize,
}

impl BadCells {
    fn push(&mut self, e: crate::Error) {
        self.count += 1;
        if self.errors.len() < MAX_BAD_CELLS {
            self.errors.push(e);
        }
    }

    fn into_result(mut self) -> crate::Result<()> {
        // In file order: the regression labels are checked after the other cells.
        self.errors.sort_by_key(|e| match e {
            crate::Error::Input { line, .. } => *line,
            _ => None,
        });
        let mut errors = self.errors.into_iter();
        let Some(first) = errors.next() else {
            return Ok(());
        };
        let crate::Error::Input {
            file,
            line,
            field,
            mut msg,
        } = first
        else {
            return Err(first);
        };
        for e in errors {
            msg.push_str(&format!("\n  {e}"));
        }
        if self.count > 1 {
            let listed = if self.count > MAX_BAD_CELLS {
                format!("; the first {MAX_BAD_CELLS} are listed")
            } else {
                String::new()
            };
            msg.push_str(&format!("\n  ({} bad cells in all{listed})", self.count));
        }
        Err(crate::Error::Input {
            file,
            line,
            field,
            msg,
        })
    }
}

fn column_name(names: &[String], c: usize) -> String {
    names
        .get(c)
        .cloned()
        .unwrap_or_else(|| format!("column {}", c + 1))
}

fn syntax(path: &Path, names: &[String], e: ReadError) -> crate::Error {
    err(path, e.line, &column_name(names, e.field), &e.msg)
}

fn err(path: &Path, line: usize, field: &str, msg: &str) -> crate::Error {
    crate::Error::Input {
        file: path.to_path_buf(),
        line: Some(line),
        field: field.to_string(),
        msg: msg.to_string(),
    }
}
