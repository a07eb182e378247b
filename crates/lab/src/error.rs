//! Errors in a lab file: each names the file, line and column, and says how to fix it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError {
    pub file: String,
    /// 1-based; 0 when the error has no place in the file (e.g. the file is unreadable).
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
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

/// Every error found in a lab file, in file order.
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
pub struct Source {
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

    /// An error at byte offset `at`.
    pub fn error(&self, at: usize, message: impl Into<String>, hint: Option<String>) -> LabError {
        let (line, col) = self.line_col(at);
        LabError {
            file: self.file.clone(),
            line,
            col,
            message: message.into(),
            hint,
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
        let e = Source::new("lab.toml", "x").error(0, "bad", Some("do this".into()));
        assert_eq!(e.to_string(), "lab.toml:1:1: bad\n  fix: do this");
    }
}
