//! Names as the lab file writes them: of labs, nodes and interfaces; and "did you mean"
//! for words that are almost right.

use crate::error::Invalid;
use crate::values::{Kind, BRIDGE_NAME};

/// Lab and node names: `max` chars of [a-z0-9-], starting with a letter.
/// The error says what is wrong after the name: "must start with a lowercase letter".
pub fn check_name(s: &str, max: usize) -> Result<(), Invalid> {
    if s.is_empty() || s.len() > max {
        return Err(Invalid::new(format!("must be 1-{max} characters long")));
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(Invalid::new("must start with a lowercase letter"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(Invalid::new(format!(
            "contains `{c}`: only a-z, 0-9 and - are allowed"
        )));
    }
    Ok(())
}

/// The longest node name: a hostname's limit is 64 bytes.
pub const MAX_NODE_NAME: usize = 63;

/// Node names as people write them (`PC1`, `leaf_1_0_1`, `r1`): 1-63 characters of
/// `A-Z a-z 0-9 _ -`, starting with a letter or a digit. Never a `.` or a `/`: node names name
/// netns entries (`<lab>.<node>`), log files and hostnames.
pub fn check_node_name(s: &str) -> Result<(), Invalid> {
    if s.is_empty() || s.len() > MAX_NODE_NAME {
        return Err(Invalid::new(format!(
            "must be 1-{MAX_NODE_NAME} characters long"
        )));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(Invalid::new("must start with a letter or a digit"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(Invalid::new(format!(
            "contains `{c}`: only letters, digits, _ and - are allowed"
        )));
    }
    Ok(())
}

/// A Linux interface name: 1-15 bytes, no '/', ':' or whitespace, not `.`/`..`; `lo` is the
/// loopback and `br0` is a switch's bridge.
pub fn check_ifname(s: &str, kind: Kind) -> Result<(), Invalid> {
    if s.is_empty() || s.len() > 15 {
        return Err(Invalid::new("must be 1-15 characters long"));
    }
    if s == "."
        || s == ".."
        || s.chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(Invalid::new(
            "is not a valid Linux interface name (no /, :, spaces)",
        ));
    }
    if s == "lo" {
        return Err(Invalid::new("is the loopback's name"));
    }
    if kind == Kind::Switch && s == BRIDGE_NAME {
        return Err(Invalid::new(format!(
            "is the name of the switch's bridge ({BRIDGE_NAME})"
        )));
    }
    Ok(())
}

/// A "did you mean" for `word` among `candidates`, when one is close.
pub fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    let best = candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .min()?;
    let limit = (word.len().max(best.1.len()) / 3).max(1);
    (best.0 <= limit).then(|| format!("did you mean `{}`?", best.1))
}

/// Edit distance counting a swap of two neighbours as one edit (kidn → kind).
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, v) in d[0].iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let sub = (a[i - 1] != b[j - 1]) as usize;
            let mut v = (d[i - 1][j - 1] + sub)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}
