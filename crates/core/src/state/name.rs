//! Lab names as every command takes them. A name becomes a path under /run/nsnet and a
//! prefix of /run/netns entries, so it is checked once, here, and carried as a [`LabName`]
//! from then on: no other string reaches a path.

use super::StateError;
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// The longest lab name (the lab file's rule).
pub const MAX_LAB_NAME: usize = 12;
/// A lab file is read only up to this size when all that is wanted is its name.
const MAX_LAB_FILE: u64 = 4 << 20;

/// A valid lab name: 1-12 characters of `a-z 0-9 -`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LabName(String);

impl LabName {
    pub fn new(s: &str) -> Result<LabName, StateError> {
        nsnet_lab::model::check_name(s, MAX_LAB_NAME).map_err(|why| StateError::BadName {
            given: s.to_string(),
            why: why.message,
        })?;
        Ok(LabName(s.to_string()))
    }

    /// What the user typed for a lab: its name, or its lab file (whose name is then read
    /// from it). Anything else, a directory or a path that is not a file among them, is
    /// refused: nothing but a checked name ever reaches the state dir.
    pub fn from_arg(arg: &str) -> Result<LabName, StateError> {
        if let Ok(name) = LabName::new(arg) {
            return Ok(name);
        }
        let path = Path::new(arg);
        let is_file = std::fs::metadata(path).is_ok_and(|m| m.is_file());
        if !is_file {
            let why = if arg.ends_with(".toml") && !path.exists() {
                "no such lab file".to_string()
            } else {
                format!("it is not a lab name, {}", why_not_name(arg))
            };
            return Err(StateError::NotALab {
                given: arg.to_string(),
                why,
            });
        }
        LabName::new(&lab_file_name(path)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn why_not_name(arg: &str) -> String {
    let why = nsnet_lab::model::check_name(arg, MAX_LAB_NAME)
        .err()
        .map_or_else(String::new, |e| e.message);
    format!("which {why}, and not a lab file")
}

/// The name a lab file gives its lab (its `[lab] name`, else the file's stem), without
/// checking the rest: `down` of a lab whose `files` sources are gone must still work.
fn lab_file_name(path: &Path) -> Result<String, StateError> {
    use std::io::Read;
    let mut text = String::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_LAB_FILE).read_to_string(&mut text));
    if let Err(source) = read {
        return Err(StateError::Io {
            op: "reading the lab file",
            path: path.to_path_buf(),
            source,
        });
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let shown = path.display().to_string();
    let lab = nsnet_lab::Lab::from_toml(&text, &shown, stem.as_deref(), None)?;
    Ok(lab.name)
}

impl fmt::Display for LabName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for LabName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for LabName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A node name read back from state or from /proc: it names log files and netns entries, so
/// it must follow the lab file's rule (checked again: state may be damaged).
pub fn valid_node_name(s: &str) -> bool {
    nsnet_lab::model::check_node_name(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_the_state_dir_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "/",
            "/tmp/victim",
            "a/../b",
            "x/y",
            "A",
            "-a",
            "a b",
        ] {
            assert!(LabName::new(bad).is_err(), "{bad:?} accepted");
        }
        for ok in ["a", "lab-1", "abcdefghijkl"] {
            assert_eq!(LabName::new(ok).unwrap().as_str(), ok);
        }
        assert!(LabName::new("abcdefghijklm").is_err());
    }

    #[test]
    fn a_directory_is_neither_a_name_nor_a_file() {
        let dir = std::env::temp_dir();
        let e = LabName::from_arg(dir.to_str().unwrap()).unwrap_err();
        assert!(matches!(e, StateError::NotALab { .. }), "{e}");
        assert!(matches!(
            LabName::from_arg("").unwrap_err(),
            StateError::NotALab { .. }
        ));
    }

    #[test]
    fn node_names_from_state_are_checked() {
        assert!(valid_node_name("h1"));
        assert!(!valid_node_name("x/../victim"));
        assert!(!valid_node_name(""));
    }
}
