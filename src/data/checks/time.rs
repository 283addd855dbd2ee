//! Time columns: dates and timestamps as written in a CSV (`2024-03-01`, `2024/03/01`,
//! `2024-03-01 12:30`, `2024-03-01T12:30:00Z`, `…+02:00`). A random split of rows that
//! happen in time tests the model on the past it was trained around, not on the future it
//! will meet: the check finds such a column when the split is random, and
//! `split: {by_time: COLUMN}` splits by it instead (`times`).

use std::path::Path;

use super::{Finding, Input, Table};

/// Seconds since 1970-01-01 UTC, or `None` if `s` is not a date or timestamp.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || !(b[4] == b'-' || b[4] == b'/') || b[7] != b[4] {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let rb = rest.as_bytes();
    if rb.len() < 5 || rb[2] != b':' {
        return None;
    }
    let field = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = rest.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (hh, mm) = (field(0..2)?, field(3..5)?);
    let mut i = 5;
    let mut ss = 0;
    if rb.len() >= 8 && rb[5] == b':' {
        ss = field(6..8)?;
        i = 8;
        if rb.get(8) == Some(&b'.') {
            i = 9;
            while rb.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    secs += hh * 3600 + mm * 60 + ss;
    match &rest[i..] {
        "" | "Z" => Some(secs),
        zone if zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-')) => {
            let zb = zone.as_bytes();
            if zb[3] != b':' {
                return None;
            }
            let (zh, zm) = (
                zone[1..3].parse::<i64>().ok()?,
                zone[4..6].parse::<i64>().ok()?,
            );
            let off = zh * 3600 + zm * 60;
            Some(if zone.starts_with('+') {
                secs - off
            } else {
                secs + off
            })
        }
        _ => None,
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The times of column `name` for `split: {by_time: name}`: every cell must be a date or
/// timestamp; the error names the file, the line and the column of the first that is not.
pub fn times(path: &Path, name: &str) -> crate::Result<Vec<i64>> {
    let table = Table::read(path).ok_or_else(|| {
        crate::Error::Usage(format!(
            "split.by_time: {} could not be read as a table",
            path.display()
        ))
    })?;
    let Some(cells) = table.column(name) else {
        return Err(crate::Error::Input {
            file: path.to_path_buf(),
            line: Some(1),
            field: name.to_string(),
            msg: format!(
                "split.by_time: no column `{name}`; the columns are: {}",
                table.names.join(", ")
            ),
        });
    };
    let mut out = Vec::with_capacity(cells.len());
    for (cell, &line) in cells.iter().zip(&table.lines) {
        out.push(parse(cell).ok_or_else(|| crate::Error::Input {
            file: path.to_path_buf(),
            line: Some(line),
            field: name.to_string(),
            msg: format!(
                "`{cell}` is not a date or timestamp (split.by_time needs one in every row, e.g. 2024-03-01 or 2024-03-01T12:30:00Z)"
            ),
        })?);
    }
    Ok(out)
}

/// A column of dates in a split that is not by time: test rows earlier than the latest
/// training row are the finding.
pub fn check(input: &Input) -> Vec<Finding> {
    let Some(table) = input.table else {
        return Vec::new();
    };
    if input.opts.by_time.is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (c, name) in table.names.iter().enumerate() {
        if Some(name.as_str()) == input.label {
            continue;
        }
        let Some(t) = table.cells[c]
            .iter()
            .map(|s| parse(s))
            .collect::<Option<Vec<i64>>>()
        else {
            continue;
        };
        let latest_train = input.parts.train.iter().map(|&r| t[r as usize]).max();
        let Some(latest) = latest_train else { continue };
        let earlier: Vec<u32> = input
            .parts
            .test
            .iter()
            .copied()
            .filter(|&r| t[r as usize] < latest)
            .collect();
        if earlier.is_empty() {
            continue;
        }
        let message = format!(
            "column `{name}` holds dates and the split is random: {} of {} test rows are earlier \
             than the latest training row ({})",
            earlier.len(),
            input.parts.test.len(),
            table.cells[c][input
                .parts
                .train
                .iter()
                .copied()
                .find(|&r| t[r as usize] == latest)
                .unwrap_or(0) as usize]
        );
        out.push(input.finding(
            "random_time",
            message,
            vec![name.clone()],
            &earlier,
            earlier.len() as f64 / input.parts.test.len() as f64,
            Input::how(
                &format!("`by_time: {name}` tests on the latest rows"),
                "random_time",
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn dates_and_timestamps_parse_to_utc_seconds() {
        assert_eq!(parse("1970-01-01"), Some(0));
        assert_eq!(parse("1970/01/02"), Some(86_400));
        assert_eq!(parse("2000-03-01"), Some(951_868_800));
        assert_eq!(parse("2024-02-29 01:00"), Some(1_709_168_400));
        assert_eq!(parse("2024-02-29T01:00:00Z"), Some(1_709_168_400));
        assert_eq!(parse("2024-02-29T03:00:00.5+02:00"), Some(1_709_168_400));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "20240101",
            "12",
            "2024-01-01x",
            "2024-01-01T25:00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
