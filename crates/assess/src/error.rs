//! Errors of reading the assessment's inputs: profile, waivers, live-check data, config report.

use std::ops::Range;

/// Input that cannot be used, with the place in the file so that a person can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct InputError {
    /// The file name, or a placeholder such as `<profile>` for text without a file.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, naming the key and the value.
    pub message: String,
}

impl InputError {
    /// An error at byte `offset` of `text`.
    pub(crate) fn at(origin: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        InputError {
            origin: origin.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error about the file as a whole (unreadable, too large, not UTF-8).
    pub(crate) fn file(origin: &str, message: impl Into<String>) -> Self {
        InputError {
            origin: origin.to_owned(),
            line: 1,
            column: 1,
            message: message.into(),
        }
    }

    /// A TOML syntax or shape error, placed where the parser stopped.
    pub(crate) fn toml(origin: &str, text: &str, error: &toml::de::Error) -> Self {
        let span: Range<usize> = error.span().unwrap_or(0..0);
        InputError::at(
            origin,
            text,
            span.start,
            error.message().trim_end().replace('\n', "; "),
        )
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Reads a text input file with a size cap (inputs are small; a huge file is a mistake).
pub(crate) fn read_text(path: &std::path::Path, limit: usize) -> Result<String, InputError> {
    rampart_vault::read_capped_text(path, limit as u64)
        .map_err(|e| InputError::file(&path.display().to_string(), e.to_string()))
}
