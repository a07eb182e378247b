//! Places in the input files: errors (file:line:col and a fix) and notes (file:line: what is
//! not honoured), as nsnet's own lab-file errors give them.

use nsnet_lab::LabError;

/// 1-based line and column (in characters) of byte offset `at` in `text`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..at].chars().count() + 1)
}

/// A place in an input file: its name as shown, line and column (1-based; 0 when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct At {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl At {
    pub fn new(file: &str, line: usize, col: usize) -> At {
        At {
            file: file.to_string(),
            line,
            col,
        }
    }

    /// The whole file, no line.
    pub fn file(file: &str) -> At {
        At::new(file, 0, 0)
    }

    /// An error here, with its fix.
    pub fn error(&self, message: impl Into<String>, hint: impl Into<String>) -> LabError {
        let hint: String = hint.into();
        LabError {
            file: self.file.clone(),
            line: self.line,
            col: self.col,
            message: message.into(),
            hint: (!hint.is_empty()).then_some(hint),
        }
    }

    /// `file:line: text` (the file's name without its directory: notes sit beside it).
    pub fn note(&self, text: impl AsRef<str>) -> String {
        let name = std::path::Path::new(&self.file)
            .file_name()
            .map_or_else(|| self.file.clone(), |n| n.to_string_lossy().into_owned());
        if self.line > 0 {
            format!("{name}:{}: {}", self.line, text.as_ref())
        } else {
            format!("{name}: {}", text.as_ref())
        }
    }
}

/// Notes in reading order: those with a line by file and line, then the others.
pub(crate) fn sort_notes(notes: &mut [String]) {
    let key = |n: &String| {
        let mut parts = n.splitn(3, ':');
        let file = parts.next().unwrap_or("").to_string();
        match parts.next().and_then(|l| l.parse::<usize>().ok()) {
            Some(line) if !file.contains(char::is_whitespace) => (0, file, line),
            _ => (1, String::new(), 0),
        }
    };
    notes.sort_by_key(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 2), (1, 2));
        let at = At::new("labs/k/lab.conf", 3, 1);
        assert_eq!(at.note("x"), "lab.conf:3: x");
        assert_eq!(At::file("a/lab.dep").note("y"), "lab.dep: y");
        let e = at.error("bad", "fix it");
        assert_eq!(e.to_string(), "labs/k/lab.conf:3:1: bad\n  fix: fix it");
        let mut notes: Vec<String> = [
            "b",
            "lab.dep:2: y",
            "image a:3: v",
            "lab.conf:10: z",
            "a: w",
            "lab.conf:9: x",
        ]
        .map(String::from)
        .into();
        sort_notes(&mut notes);
        assert_eq!(
            notes,
            [
                "lab.conf:9: x",
                "lab.conf:10: z",
                "lab.dep:2: y",
                "b",
                "image a:3: v",
                "a: w"
            ]
        );
    }
}
