//! Output for people and machines: aligned tables, colour only on a terminal, and the
//! `--format` choices shared by the commands.

use std::io::{self, IsTerminal, Write};

/// Whether to colour output written to stdout: only on a terminal, and never when `NO_COLOR`
/// is set (<https://no-color.org>).
pub(crate) fn colour_stdout() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Text styles used in tables; all empty when colour is off.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    pub(crate) bold: &'static str,
    pub(crate) dim: &'static str,
    pub(crate) reset: &'static str,
}

impl Style {
    pub(crate) fn new(colour: bool) -> Style {
        if colour {
            Style {
                bold: "\x1b[1m",
                dim: "\x1b[2m",
                reset: "\x1b[0m",
            }
        } else {
            Style {
                bold: "",
                dim: "",
                reset: "",
            }
        }
    }
}

/// A table of left-aligned text columns; the last column is not padded.
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new<const N: usize>(header: [&str; N]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    /// Renders the table; `style` makes the header bold.
    pub(crate) fn render(&self, style: Style) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[String], before: &str, after: &str| {
            out.push_str(before);
            for (i, cell) in cells.iter().enumerate() {
                out.push_str(cell);
                if i + 1 < columns {
                    let pad = widths[i] - cell.chars().count() + 2;
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(after);
            out.push('\n');
        };
        line(&self.header, style.bold, style.reset);
        for row in &self.rows {
            line(row, "", "");
        }
        out
    }
}

/// Writes all of `text` to stdout.
///
/// # Errors
/// The I/O error; a closed pipe (`rampart catalog | head`) is recognised by [`is_broken_pipe`].
pub(crate) fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Whether the error is a write to a closed pipe, which is how a reader says it has enough.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Wraps `text` to lines of at most `width` characters, each starting with `indent`.
pub(crate) fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        }
        if line_len == 0 {
            out.push_str(indent);
        } else {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out.push('\n');
    out
}

/// Formats microseconds since the Unix epoch as RFC 3339 UTC with microseconds.
pub(crate) fn timestamp(time_us: u64) -> String {
    i64::try_from(time_us)
        .ok()
        .and_then(|us| jiff::Timestamp::from_microsecond(us).ok())
        .map_or_else(|| format!("@{time_us}us"), |t| format!("{t:.6}"))
}

/// A progress bar on stderr for reading one file; hidden unless stderr is a terminal and the
/// file is large enough to wait for.
pub(crate) struct Progress(indicatif::ProgressBar);

impl Progress {
    pub(crate) fn for_file(path: &std::path::Path) -> Progress {
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        if len < 8 << 20 || !io::stderr().is_terminal() {
            return Progress(indicatif::ProgressBar::hidden());
        }
        let bar = indicatif::ProgressBar::new(len);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        Progress(bar)
    }

    pub(crate) fn set(&self, done: u64) {
        self.0.set_position(done);
    }

    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_leave_the_last_unpadded() {
        let mut table = Table::new(["ID", "TITLE"]);
        table.row(vec!["CR 1.1".into(), "Human".into()]);
        table.row(vec!["CR 1.1 RE 1".into(), "Unique".into()]);
        let text = table.render(Style::new(false));
        assert_eq!(
            text,
            "ID           TITLE\nCR 1.1       Human\nCR 1.1 RE 1  Unique\n"
        );
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5, "  "), "  aa bb\n  cc\n");
        assert_eq!(wrap("", 5, "  "), "\n");
    }
}
