//! Small helpers for text people read.

/// `1 epoch`, `3 epochs`: a count with its noun in the right number.
pub fn plural(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_epoch_many_epochs() {
        assert_eq!(super::plural(1u32, "epoch"), "1 epoch");
        assert_eq!(super::plural(0u32, "epoch"), "0 epochs");
        assert_eq!(super::plural(3u64, "trial"), "3 trials");
    }
}

/// `s` for one segment of a URL: unreserved characters kept, every other byte `%XX`.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
