//! A strict RFC 5424 / RFC 5425 reader: what a SIEM does with the stream, for the tests of this
//! crate and of crates that use it. Not for a deployed component.

use std::fmt;

/// One parsed RFC 5424 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// PRI: facility × 8 + severity.
    pub pri: u8,
    /// TIMESTAMP as written.
    pub timestamp: String,
    /// HOSTNAME.
    pub hostname: String,
    /// APP-NAME.
    pub app_name: String,
    /// PROCID.
    pub procid: String,
    /// MSGID.
    pub msgid: String,
    /// The SD-ELEMENTs, in order, with unescaped values.
    pub structured_data: Vec<Element>,
    /// MSG, without a leading byte order mark.
    pub msg: Option<String>,
}

/// One SD-ELEMENT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The SD-ID.
    pub id: String,
    /// The SD-PARAMs, in order, values unescaped.
    pub params: Vec<(String, String)>,
}

impl Message {
    /// The value of parameter `name` of the element `id`.
    pub fn param(&self, id: &str, name: &str) -> Option<&str> {
        self.structured_data
            .iter()
            .filter(|e| e.id == id)
            .flat_map(|e| e.params.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a message or stream is not RFC 5424 / RFC 5425.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.at, self.reason)
    }
}

impl std::error::Error for SyntaxError {}

fn error(at: usize, reason: impl Into<String>) -> SyntaxError {
    SyntaxError {
        at,
        reason: reason.into(),
    }
}

/// Splits an RFC 5425 stream (`MSG-LEN SP SYSLOG-MSG`, repeated) into messages.
///
/// # Errors
/// [`SyntaxError`] for a bad length, a missing space, or a truncated last frame.
pub fn split_frames(stream: &[u8]) -> Result<Vec<&[u8]>, SyntaxError> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let digits = stream[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || digits > 9 || stream[at] == b'0' {
            return Err(error(at, "MSG-LEN is not a number without leading zeros"));
        }
        let len: usize = std::str::from_utf8(&stream[at..at + digits])
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| error(at, "bad MSG-LEN"))?;
        at += digits;
        if stream.get(at) != Some(&b' ') {
            return Err(error(at, "no space after MSG-LEN"));
        }
        at += 1;
        let end = at
            .checked_add(len)
            .filter(|end| *end <= stream.len())
            .ok_or_else(|| error(at, format!("frame of {len} bytes is truncated")))?;
        frames.push(&stream[at..end]);
        at = end;
    }
    Ok(frames)
}

/// Parses one RFC 5424 SYSLOG-MSG strictly: header fields, SD-ELEMENTs with SD-PARAM escapes
/// (`\"`, `\\`, `\]`; an unescaped `]` or `"` inside a value is an error), optional MSG.
///
/// # Errors
/// [`SyntaxError`] naming the first problem.
pub fn parse_message(bytes: &[u8]) -> Result<Message, SyntaxError> {
    let text = std::str::from_utf8(bytes).map_err(|e| error(e.valid_up_to(), "not UTF-8"))?;
    let mut p = Parser { text, at: 0 };
    p.expect('<')?;
    let pri_text = p.take_while(|c| c.is_ascii_digit());
    let pri: u8 = pri_text
        .parse()
        .ok()
        .filter(|n| *n <= 191 && pri_text.len() <= 3)
        .ok_or_else(|| error(1, "PRI is not 0..=191"))?;
    p.expect('>')?;
    p.expect('1')?;
    p.expect(' ')?;
    let timestamp = p.field("TIMESTAMP", 64)?;
    if timestamp != "-" {
        check_timestamp(&timestamp).map_err(|reason| error(p.at, reason))?;
    }
    let hostname = p.field("HOSTNAME", 255)?;
    let app_name = p.field("APP-NAME", 48)?;
    let procid = p.field("PROCID", 128)?;
    let msgid = p.field("MSGID", 32)?;
    let mut structured_data = Vec::new();
    if p.peek() == Some('-') {
        p.at += 1;
    } else {
        while p.peek() == Some('[') {
            structured_data.push(p.element()?);
        }
        if structured_data.is_empty() {
            return Err(error(p.at, "no STRUCTURED-DATA"));
        }
    }
    let msg = match p.peek() {
        None => None,
        Some(' ') => {
            let rest = &text[p.at + 1..];
            Some(rest.strip_prefix('\u{FEFF}').unwrap_or(rest).to_owned())
        }
        Some(_) => return Err(error(p.at, "no space before MSG")),
    };
    Ok(Message {
        pri,
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        structured_data,
        msg,
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.1-6 digits](Z|±HH:MM)`.
fn check_timestamp(ts: &str) -> Result<(), String> {
    let bad =
        || format!("TIMESTAMP '{ts}' is not RFC 5424 (RFC 3339 with at most 6 fraction digits)");
    let b = ts.as_bytes();
    if b.len() < 20 {
        return Err(bad());
    }
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    if !(digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return Err(bad());
    }
    let mut rest = &ts[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 6 {
            return Err(bad());
        }
        rest = &frac[n..];
    }
    let offset_ok = rest == "Z"
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':'
            && rest[1..3].bytes().all(|c| c.is_ascii_digit())
            && rest[4..6].bytes().all(|c| c.is_ascii_digit()));
    if offset_ok { Ok(()) } else { Err(bad()) }
}

struct Parser<'t> {
    text: &'t str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), SyntaxError> {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            Ok(())
        } else {
            Err(error(self.at, format!("expected '{c}'")))
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &str {
        let start = self.at;
        while let Some(c) = self.peek().filter(|c| f(*c)) {
            self.at += c.len_utf8();
        }
        &self.text[start..self.at]
    }

    /// A header field: 1..=max PRINTUSASCII, then a space.
    fn field(&mut self, name: &str, max: usize) -> Result<String, SyntaxError> {
        let start = self.at;
        let value = self.take_while(|c| c.is_ascii_graphic()).to_owned();
        if value.is_empty() || value.len() > max {
            return Err(error(
                start,
                format!("{name} is not 1..={max} printable ASCII characters"),
            ));
        }
        self.expect(' ')?;
        Ok(value)
    }

    fn sd_name(&mut self, what: &str) -> Result<String, SyntaxError> {
        let start = self.at;
        let name = self
            .take_while(|c| c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"' | ' '))
            .to_owned();
        if name.is_empty() || name.len() > 32 {
            return Err(error(start, format!("{what} is not 1..=32 characters")));
        }
        Ok(name)
    }

    fn element(&mut self) -> Result<Element, SyntaxError> {
        self.expect('[')?;
        let id = self.sd_name("SD-ID")?;
        let mut params = Vec::new();
        while self.peek() == Some(' ') {
            self.at += 1;
            let name = self.sd_name("PARAM-NAME")?;
            self.expect('=')?;
            self.expect('"')?;
            let mut value = String::new();
            loop {
                let c = self
                    .peek()
                    .ok_or_else(|| error(self.at, "unterminated PARAM-VALUE"))?;
                self.at += c.len_utf8();
                match c {
                    '"' => break,
                    '\\' => match self.peek() {
                        Some(e @ ('"' | '\\' | ']')) => {
                            value.push(e);
                            self.at += 1;
                        }
                        _ => value.push('\\'),
                    },
                    ']' => return Err(error(self.at - 1, "unescaped ']' in PARAM-VALUE")),
                    c => value.push(c),
                }
            }
            params.push((name, value));
        }
        self.expect(']')?;
        Ok(Element { id, params })
    }
}
