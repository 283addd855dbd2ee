//! A small RFC 4180 reader: comma-separated records, fields in double quotes may hold commas,
//! newlines and doubled quotes (`""`). It yields each record with the line it starts on.
//!
//! Hand-written rather than the `csv` crate: the loader needs exact 1-based line numbers for
//! errors (including records that span lines), and the format hpflow accepts is this small.

/// One record and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// A syntax error: the line, the 0-based index of the field it is in, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadError {
    pub line: usize,
    pub field: usize,
    pub msg: String,
}

pub struct Reader<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        // A UTF-8 byte order mark (Excel writes one) is not part of the first column's name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Reader {
            chars: text.chars().peekable(),
            line: 1,
        }
    }

    /// The next non-blank record, `None` at the end of the text. Blank lines are skipped.
    pub fn next_record(&mut self) -> Option<Result<Record, ReadError>> {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut start = self.line;
        // After a closing quote only a separator or the end of the record may follow.
        let mut after_quote = false;
        loop {
            let Some(c) = self.chars.next() else {
                if fields.is_empty() && field.is_empty() && !after_quote {
                    return None;
                }
                fields.push(field);
                return Some(Ok(Record {
                    line: start,
                    fields,
                }));
            };
            match c {
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    after_quote = false;
                }
                '\r' if self.chars.peek() == Some(&'\n') => {}
                '\n' => {
                    self.line += 1;
                    if fields.is_empty() && field.is_empty() && !after_quote {
                        start = self.line;
                        continue;
                    }
                    fields.push(field);
                    return Some(Ok(Record {
                        line: start,
                        fields,
                    }));
                }
                '"' if field.is_empty() && !after_quote => {
                    if let Err(e) = self.quoted(&mut field, fields.len()) {
                        return Some(Err(e));
                    }
                    after_quote = true;
                }
                c if after_quote && c.is_whitespace() => {}
                c if after_quote => {
                    return Some(Err(ReadError {
                        line: self.line,
                        field: fields.len(),
                        msg: format!(
                            "`{c}` after a closing quote; inside quotes write a quote as \"\""
                        ),
                    }));
                }
                c => field.push(c),
            }
        }
    }

    /// The rest of a quoted field, up to and including its closing quote.
    fn quoted(&mut self, field: &mut String, index: usize) -> Result<(), ReadError> {
        let opened = self.line;
        loop {
            match self.chars.next() {
                None => {
                    return Err(ReadError {
                        line: opened,
                        field: index,
                        msg: "a quote opened here is never closed".into(),
                    });
                }
                Some('"') if self.chars.peek() == Some(&'"') => {
                    self.chars.next();
                    field.push('"');
                }
                Some('"') => return Ok(()),
                Some(c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    field.push(c);
                }
            }
        }
    }
}
