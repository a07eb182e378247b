//! Errors in a lab file: each names the file, line and column, and says how to fix it.
//! Parsers and validators say what is wrong with a value (`Invalid`); the step that knows
//! where the value was written turns that into a `LabError`.

use std::fmt;

/// What is wrong with a value, and how to fix it, before it has a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// What is wrong: "`64T` is not a size".
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Invalid {
    /// An error without a hint.
    pub fn new(message: impl Into<String>) -> Invalid {
        Invalid {
            message: message.into(),
            hint: None,
        }
    }

    /// The same error, with how to fix it.
    pub fn hint(mut self, hint: impl Into<String>) -> Invalid {
        self.hint = Some(hint.into());
        self
    }
}

/// `message`, then `; hint` when there is one: one line, for a command-line argument.
impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// One mistake in a lab file, at its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError {
    /// The file as the user named it.
    pub file: String,
    /// 1-based; 0 when the error has no place in the file (e.g. the file is unreadable).
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl LabError {
    /// `e` in `file`, at no place in it (line 0): the file is unreadable, or the name given
    /// on the command line is wrong.
    pub fn in_file(file: impl Into<String>, e: Invalid) -> LabError {
        LabError {
            file: file.into(),
            line: 0,
            col: 0,
            message: e.message,
            hint: e.hint,
        }
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.col, self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file, self.message)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  fix: {h}")?;
        }
        Ok(())
    }
}

/// Every error found in a lab file, in file order, one per line (with its fix below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabErrors(pub Vec<LabError>);

impl fmt::Display for LabErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LabErrors {}

impl From<LabError> for LabErrors {
    fn from(e: LabError) -> Self {
        LabErrors(vec![e])
    }
}

/// Maps byte offsets of a source text to 1-based line and column (in characters).
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub file: String,
    text: String,
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(file: impl Into<String>, text: impl Into<String>) -> Source {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            file: file.into(),
            text,
            line_starts,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text[start..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// `e`, placed at byte offset `at`.
    pub fn error(&self, at: usize, e: Invalid) -> LabError {
        let (line, col) = self.line_col(at);
        LabError {
            file: self.file.clone(),
            line,
            col,
            message: e.message,
            hint: e.hint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col() {
        let s = Source::new("x.toml", "a = 1\nbb = 2\n\nc");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(4), (1, 5));
        assert_eq!(s.line_col(6), (2, 1));
        assert_eq!(s.line_col(9), (2, 4));
        assert_eq!(s.line_col(14), (4, 1));
    }

    #[test]
    fn display() {
        let e = Source::new("lab.toml", "x").error(0, Invalid::new("bad").hint("do this"));
        assert_eq!(e.to_string(), "lab.toml:1:1: bad\n  fix: do this");
    }
}
