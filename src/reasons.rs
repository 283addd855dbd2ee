//! Failure reasons as people read them in a table: one line, and grouped by what went wrong
//! rather than by the parameter values a program wrote into its message (four crashes that
//! differ only in `units` are one group of four).

/// One line: a multi-line reason (a program's stderr, a cluster's error lines) joined with
/// ` / `, blank lines and repeats dropped, at most `max` characters.
pub fn one_line(reason: &str, max: usize) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for l in reason.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !lines.contains(&l) {
            lines.push(l);
        }
    }
    let joined = lines.join(" / ");
    if joined.chars().count() <= max {
        return joined;
    }
    let cut: String = joined.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// The reason with the trial's own values taken out: each number that is one of the trial's
/// numeric parameter values becomes `{name}` (a small whole number such as 3 only stays: it
/// is as likely an exit status or an epoch), and any other number with a fraction or of four
/// or more digits becomes `#` (a measured size). Choices stay: a message naming a different
/// choice may well be a different failure.
pub fn pattern(reason: &str, config: &serde_json::Value) -> String {
    let params: Vec<(String, f64)> = config
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
        .collect();
    let chars: Vec<char> = reason.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if !starts_number {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || (matches!(chars[j], '.' | 'e' | 'E')
                    && chars
                        .get(j + 1)
                        .is_some_and(|c| c.is_ascii_digit() || *c == '-'))
                || (chars[j] == '-' && j > i && matches!(chars[j - 1], 'e' | 'E')))
        {
            j += 1;
        }
        let token: String = chars[i..j].iter().collect();
        let value: Option<f64> = token.parse().ok();
        let small = value.is_some_and(|v| v.fract() == 0.0 && v.abs() < 10.0);
        let named = value.filter(|_| !small).and_then(|v| {
            params
                .iter()
                .find(|(_, p)| *p == v || (p.abs() > 0.0 && ((p - v) / p).abs() < 1e-9))
        });
        match named {
            Some((k, _)) => out.push_str(&format!("{{{k}}}")),
            None if token.contains(['.', 'e', 'E']) || token.len() >= 4 => out.push('#'),
            None => out.push_str(&token),
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn parameter_values_are_taken_out() {
        let p = super::pattern(
            "exit status: 1; stderr: RuntimeError: out of memory with units=256 (tried 3.5 GiB)",
            &json!({"units": 256, "lr": 0.01}),
        );
        assert_eq!(
            p,
            "exit status: 1; stderr: RuntimeError: out of memory with units={units} (tried # GiB)"
        );
        assert_eq!(
            super::pattern("lr 1e-05 too small, epoch 3 of 4", &json!({"lr": 1e-5})),
            "lr {lr} too small, epoch 3 of 4"
        );
        assert_eq!(
            super::pattern("exit status: 3; bad x=3", &json!({"x": 3, "act": "bad"})),
            "exit status: 3; bad x=3"
        );
    }

    #[test]
    fn many_lines_read_as_one() {
        assert_eq!(
            super::one_line(
                "squeue: error: a\n\nsqueue: error: a\nsqueue: error: b\n",
                80
            ),
            "squeue: error: a / squeue: error: b"
        );
        assert_eq!(super::one_line("abcdef", 4), "abc…");
    }
}
