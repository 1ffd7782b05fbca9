//! A small, bounded scanner of the HTML a management plane shows before a login: its forms
//! (action, method, inputs with their names, types and values — the CSRF tokens among them),
//! the text of elements marked as a notice (class or id containing `banner`, `notice`,
//! `notification`, `warning`, `disclaimer` or `legal`) and the visible text.
//!
//! The page comes from the target, so it is untrusted: the scanner reads at most
//! [`MAX_PAGE_BYTES`], keeps at most [`MAX_FORMS`] forms of [`MAX_INPUTS`] inputs, clips
//! every name and value to [`MAX_VALUE_CHARS`] and every text to [`MAX_TEXT_CHARS`], never
//! recurses, and never fails: what it cannot read it skips. It is not an HTML parser — it
//! does not build a tree or run scripts — it reads what a login page says plainly.

/// The most of a page that is scanned.
pub(crate) const MAX_PAGE_BYTES: usize = 256 * 1024;
/// The most forms kept.
pub(crate) const MAX_FORMS: usize = 16;
/// The most inputs kept per form.
pub(crate) const MAX_INPUTS: usize = 64;
/// The most characters kept of a name, type, action or value.
pub(crate) const MAX_VALUE_CHARS: usize = 2048;
/// The most characters kept of the visible text and of the notices' text.
pub(crate) const MAX_TEXT_CHARS: usize = 64 * 1024;
/// The most attributes read of one tag.
const MAX_ATTRIBUTES: usize = 64;
/// The deepest nesting of elements tracked.
const MAX_DEPTH: usize = 256;

/// What a page says: its forms, its notices and its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) forms: Vec<Form>,
    /// The text of the elements marked as a notice, each whitespace-collapsed.
    pub(crate) notices: Vec<String>,
    /// The visible text (outside scripts, styles and tags), whitespace-collapsed.
    pub(crate) text: String,
}

/// A form: where it posts and its inputs, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Form {
    /// The `action` attribute as written (entities decoded), `None` when absent.
    pub(crate) action: Option<String>,
    /// The `method`, lower case; `get` when absent.
    pub(crate) method: String,
    pub(crate) inputs: Vec<Input>,
}

/// An input of a form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Input {
    pub(crate) name: String,
    /// The `type`, lower case; `text` when absent.
    pub(crate) kind: String,
    pub(crate) value: String,
    /// The `autocomplete` hint, lower case (`username`, `current-password`, …).
    pub(crate) autocomplete: String,
}

/// Markers of a notice in a class or id.
const NOTICE_MARKERS: &[&str] = &[
    "banner",
    "notice",
    "notification",
    "warning",
    "disclaimer",
    "legal",
];

/// Elements that have no end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

impl Form {
    /// The password input: the first of `type=password`.
    pub(crate) fn password(&self) -> Option<&Input> {
        self.inputs.iter().find(|i| i.kind == "password")
    }

    /// An input that takes a password in clear: named like one, of a visible text type.
    pub(crate) fn clear_password(&self) -> Option<&Input> {
        self.inputs.iter().find(|i| {
            let name = i.name.to_ascii_lowercase();
            matches!(i.kind.as_str(), "text" | "email" | "search" | "tel" | "url")
                && (name.contains("pass") || name.contains("pwd") || name == "pin")
        })
    }

    /// The user name input: one marked `autocomplete=username`, else one named like a user
    /// name, else the first visible text input before the password.
    pub(crate) fn user(&self) -> Option<&Input> {
        let texts = || {
            self.inputs.iter().filter(|i| {
                matches!(i.kind.as_str(), "text" | "email" | "tel") && !i.name.is_empty()
            })
        };
        texts()
            .find(|i| i.autocomplete == "username")
            .or_else(|| {
                texts().find(|i| {
                    let name = i.name.to_ascii_lowercase();
                    ["user", "login", "email", "account", "name"]
                        .iter()
                        .any(|m| name.contains(m))
                })
            })
            .or_else(|| {
                let password = self.inputs.iter().position(|i| i.kind == "password")?;
                self.inputs
                    .iter()
                    .take(password)
                    .filter(|i| matches!(i.kind.as_str(), "text" | "email" | "tel"))
                    .find(|i| !i.name.is_empty())
            })
    }
}

impl Page {
    /// The first form with a password input.
    pub(crate) fn login_form(&self) -> Option<&Form> {
        self.forms.iter().find(|f| f.password().is_some())
    }

    /// The notice text, all notices joined; empty when there is none.
    pub(crate) fn notice_text(&self) -> String {
        self.notices
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// Scans `body` (at most [`MAX_PAGE_BYTES`] of it).
pub(crate) fn scan(body: &[u8]) -> Page {
    let body = body.get(..MAX_PAGE_BYTES).unwrap_or(body);
    let html = String::from_utf8_lossy(body);
    Scanner::default().run(&html)
}

#[derive(Default)]
struct Scanner {
    page: Page,
    /// Open elements (names, lower case).
    stack: Vec<String>,
    /// The depth at which each open notice began, and its text so far.
    capturing: Option<(usize, String)>,
    /// Whether a form is open (its inputs go to the last form).
    in_form: bool,
    text: String,
    notices_len: usize,
}

impl Scanner {
    fn run(mut self, html: &str) -> Page {
        let mut rest = html;
        while !rest.is_empty() {
            let Some(lt) = rest.find('<') else {
                self.add_text(rest);
                break;
            };
            let (before, after) = rest.split_at(lt);
            self.add_text(before);
            rest = after;
            if let Some(comment) = rest.strip_prefix("<!--") {
                rest = comment
                    .find("-->")
                    .map_or("", |end| comment.get(end + 3..).unwrap_or(""));
                continue;
            }
            if rest.starts_with("<!") || rest.starts_with("<?") {
                rest = rest
                    .find('>')
                    .map_or("", |end| rest.get(end + 1..).unwrap_or(""));
                continue;
            }
            let Some((tag, after_tag)) = read_tag(rest) else {
                // A lone '<': text.
                self.add_text("<");
                rest = rest.get(1..).unwrap_or("");
                continue;
            };
            rest = after_tag;
            if tag.closing {
                self.close(&tag.name);
                continue;
            }
            // Scripts, styles and the like: their content is not text; skip to the end tag.
            if matches!(
                tag.name.as_str(),
                "script" | "style" | "template" | "textarea" | "title"
            ) {
                let end = format!("</{}", tag.name);
                rest = find_ascii_ci(rest, &end).map_or("", |at| {
                    let tail = rest.get(at..).unwrap_or("");
                    tail.find('>')
                        .map_or("", |gt| tail.get(gt + 1..).unwrap_or(""))
                });
                continue;
            }
            self.open(&tag);
        }
        if let Some((_, text)) = self.capturing.take() {
            self.push_notice(&text);
        }
        self.page.text = collapse(&self.text);
        self.page
    }

    fn add_text(&mut self, raw: &str) {
        if raw.is_empty() {
            return;
        }
        let text = decode_entities(raw);
        if self.text.len() < MAX_TEXT_CHARS {
            push_clipped(&mut self.text, &text, MAX_TEXT_CHARS);
            self.text.push(' ');
        }
        if let Some((_, notice)) = &mut self.capturing {
            push_clipped(notice, &text, MAX_TEXT_CHARS);
            notice.push(' ');
        }
    }

    fn open(&mut self, tag: &Tag) {
        let attribute = |name: &str| {
            tag.attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        match tag.name.as_str() {
            "form" => {
                if self.page.forms.len() < MAX_FORMS {
                    self.page.forms.push(Form {
                        action: attribute("action"),
                        method: attribute("method")
                            .map_or_else(|| "get".to_owned(), |m| m.to_ascii_lowercase()),
                        inputs: Vec::new(),
                    });
                    self.in_form = true;
                } else {
                    self.in_form = false;
                }
            }
            "input" | "button" if self.in_form => {
                let default_kind = if tag.name == "button" {
                    "submit"
                } else {
                    "text"
                };
                let input = Input {
                    name: attribute("name").unwrap_or_default(),
                    kind: attribute("type")
                        .map_or_else(|| default_kind.to_owned(), |t| t.to_ascii_lowercase()),
                    value: attribute("value").unwrap_or_default(),
                    autocomplete: attribute("autocomplete")
                        .unwrap_or_default()
                        .to_ascii_lowercase(),
                };
                if let Some(form) = self.page.forms.last_mut()
                    && form.inputs.len() < MAX_INPUTS
                {
                    form.inputs.push(input);
                }
            }
            _ => {}
        }
        if VOID.contains(&tag.name.as_str()) || tag.self_closing {
            return;
        }
        if self.stack.len() >= MAX_DEPTH {
            return;
        }
        self.stack.push(tag.name.clone());
        let marked = ["class", "id"].iter().any(|a| {
            attribute(a).is_some_and(|v| {
                let v = v.to_ascii_lowercase();
                NOTICE_MARKERS.iter().any(|m| v.contains(m))
            })
        }) || attribute("role").is_some_and(|r| r.eq_ignore_ascii_case("note"));
        if marked && self.capturing.is_none() {
            self.capturing = Some((self.stack.len(), String::new()));
        }
    }

    fn close(&mut self, name: &str) {
        // An end tag closes the innermost open element of its name and those inside it; an
        // end tag of nothing open is ignored.
        let Some(at) = self.stack.iter().rposition(|n| n == name) else {
            return;
        };
        self.stack.truncate(at);
        if name == "form" {
            self.in_form = false;
        }
        if let Some((depth, _)) = &self.capturing
            && self.stack.len() < *depth
            && let Some((_, text)) = self.capturing.take()
        {
            self.push_notice(&text);
        }
    }

    fn push_notice(&mut self, text: &str) {
        let text = collapse(text);
        if text.is_empty() || self.notices_len >= MAX_TEXT_CHARS {
            return;
        }
        self.notices_len += text.len();
        self.page.notices.push(text);
    }
}

/// A tag as read.
struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    attributes: Vec<(String, String)>,
}

/// Reads the tag at the start of `s` (which begins with `<`): the tag and what follows it.
/// `None` when `<` does not begin a tag.
fn read_tag(s: &str) -> Option<(Tag, &str)> {
    let mut rest = s.get(1..)?;
    let closing = rest.starts_with('/');
    if closing {
        rest = rest.get(1..)?;
    }
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
        .unwrap_or(rest.len());
    if name_len == 0 || !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name = rest.get(..name_len)?.to_ascii_lowercase();
    rest = rest.get(name_len..)?;
    let mut attributes = Vec::new();
    let mut self_closing = false;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            // Unterminated: the rest of the page is this tag.
            break;
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        if let Some(after) = rest.strip_prefix("/>") {
            self_closing = true;
            rest = after;
            break;
        }
        if let Some(after) = rest.strip_prefix('/') {
            rest = after;
            continue;
        }
        let attr_len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(rest.len())
            .max(1);
        let attr_name = rest.get(..attr_len).unwrap_or("").to_ascii_lowercase();
        rest = rest.get(attr_len..).unwrap_or("").trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            rest = after.trim_start();
            let (raw, after_value) = if let Some(q @ ('"' | '\'')) = rest.chars().next() {
                let inner = rest.get(1..).unwrap_or("");
                if let Some(end) = inner.find(q) {
                    (
                        inner.get(..end).unwrap_or(""),
                        inner.get(end + 1..).unwrap_or(""),
                    )
                } else {
                    (inner, "")
                }
            } else {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(rest.len());
                (rest.get(..end).unwrap_or(""), rest.get(end..).unwrap_or(""))
            };
            value = clip(&decode_entities(raw), MAX_VALUE_CHARS);
            rest = after_value;
        }
        if attributes.len() < MAX_ATTRIBUTES {
            attributes.push((clip(&attr_name, MAX_VALUE_CHARS), value));
        }
    }
    Some((
        Tag {
            name: clip(&name, MAX_VALUE_CHARS),
            closing,
            self_closing,
            attributes,
        },
        rest,
    ))
}

/// The byte offset of `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let hay = haystack.as_bytes();
    let needle = needle.as_bytes();
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| {
        hay.get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// The common character references and numeric ones; others are left as written.
pub(crate) fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        rest = rest.get(amp..).unwrap_or("");
        let end = rest.get(..rest.len().min(12)).and_then(|w| w.find(';'));
        let decoded = end.and_then(|end| {
            let entity = rest.get(1..end)?;
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let number = entity.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end + 1))
        });
        if let Some((c, len)) = decoded {
            out.push(c);
            rest = rest.get(len..).unwrap_or("");
        } else {
            out.push('&');
            rest = rest.get(1..).unwrap_or("");
        }
    }
    out.push_str(rest);
    out
}

/// Runs of whitespace made one space, trimmed.
pub(crate) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters of `text`.
pub(crate) fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Appends `text` to `out` while `out` stays within `max` bytes (at a character boundary).
fn push_clipped(out: &mut String, text: &str, max: usize) {
    for c in text.chars() {
        if out.len() + c.len_utf8() > max {
            return;
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAMPART_LIKE: &str = r#"<!DOCTYPE html><html><head><title>Log in</title>
<style nonce="abc">.banner { color: red }</style><script>var x = "<form>";</script></head>
<body><main><section class="banner" aria-labelledby="banner-title">
<h2 id="banner-title">System use notification</h2>
<div id="banner"><p>Authorized use only. Activity is monitored &amp; recorded.</p></div>
</section>
<form class="card" method="post" action="/login">
<p><label for="username">User name</label><input id="username" name="username" autocomplete="username" required autofocus></p>
<p><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<input type=hidden name=csrf value='tok&#x3D;en'>
<p><button type="submit">Log in</button></p></form>
<ul class="hint"><li>After 5 failed logins the account is locked.</li></ul></main></body></html>"#;

    #[test]
    fn a_login_page_yields_its_form_notice_and_text() {
        let page = scan(RAMPART_LIKE.as_bytes());
        assert_eq!(page.forms.len(), 1);
        let form = page.login_form().unwrap();
        assert_eq!(form.action.as_deref(), Some("/login"));
        assert_eq!(form.method, "post");
        assert_eq!(form.user().unwrap().name, "username");
        assert_eq!(form.password().unwrap().name, "password");
        let csrf = form.inputs.iter().find(|i| i.kind == "hidden").unwrap();
        assert_eq!(
            (csrf.name.as_str(), csrf.value.as_str()),
            ("csrf", "tok=en")
        );
        assert_eq!(
            page.notice_text(),
            "System use notification Authorized use only. Activity is monitored & recorded."
        );
        assert!(page.text.contains("After 5 failed logins"), "{}", page.text);
        // Script and style content is not text, and the form inside the script is no form.
        assert!(!page.text.contains("color") && !page.text.contains("var x"));
    }

    #[test]
    fn forms_without_password_inputs_and_clear_passwords_are_told_apart() {
        let page = scan(b"<form action=/s><input name=q></form><form method=POST><input name=user><input name=passwd type=text></form>");
        assert!(page.login_form().is_none());
        let form = &page.forms[1];
        assert_eq!(form.method, "post");
        assert_eq!(form.action, None);
        assert_eq!(form.clear_password().unwrap().name, "passwd");
        assert_eq!(page.forms[0].clear_password(), None);
    }

    #[test]
    fn the_user_input_falls_back_to_the_text_input_before_the_password() {
        let page = scan(b"<form method=post><input name=q1><input type=password name=p><input name=after></form>");
        assert_eq!(page.login_form().unwrap().user().unwrap().name, "q1");
    }

    #[test]
    fn hostile_pages_are_bounded_and_never_fail() {
        for page in [
            "<",
            "<<<>>>",
            "<a",
            "<a b='",
            "<a b=\"x",
            "</",
            "</>",
            "<!--",
            "<!-- x",
            "<script>",
            "<script>alert(1)",
            "&",
            "&#xFFFFFFFF;",
            "&#0;",
            "&#55296;",
            "<form><input",
            "<div class=banner>",
            "<div class=banner><div></div>",
            "é<ö>ü",
            "<a\u{0}>",
        ] {
            let _ = scan(page.as_bytes());
        }
        let deep = "<div>".repeat(10_000) + "text";
        assert_eq!(scan(deep.as_bytes()).text, "text");
        let many = "<form><input name=a>".repeat(1000);
        let page = scan(many.as_bytes());
        assert_eq!(page.forms.len(), MAX_FORMS);
        let wide = format!("<form><input name=\"{}\"></form>", "x".repeat(100_000));
        assert_eq!(
            scan(wide.as_bytes()).forms[0].inputs[0].name.len(),
            MAX_VALUE_CHARS
        );
        let inputs = format!("<form>{}</form>", "<input name=a>".repeat(1000));
        assert_eq!(scan(inputs.as_bytes()).forms[0].inputs.len(), MAX_INPUTS);
        let big = "x ".repeat(MAX_PAGE_BYTES);
        assert!(scan(big.as_bytes()).text.len() <= MAX_TEXT_CHARS);
    }

    #[test]
    fn a_notice_ends_with_its_element_even_when_the_html_is_sloppy() {
        let page = scan(
            b"<div id=legal-notice><p>Only authorised users.<div>more</div></div><p>outside</p>",
        );
        assert_eq!(page.notices, ["Only authorised users. more"]);
        let page = scan(b"<p class=\"Warning\">Monitored</p><p class=x>not</p>");
        assert_eq!(page.notices, ["Monitored"]);
    }

    #[test]
    fn entities_decode_and_unknown_ones_stay() {
        assert_eq!(
            decode_entities("a &lt;b&gt; &amp;c &copy; &#65;&#x42; &"),
            "a <b> &c &copy; AB &"
        );
    }
}
