//! Names the other tools allow and nsnet does not, made valid: lab names, and nodes that
//! nsnet adds (a switch per collision domain).

use nsnet_lab::model::{check_name, check_node_name};
use std::collections::HashSet;

/// The longest lab name.
const MAX_LAB_NAME: usize = 12;

/// A valid lab name (1-12 of `a-z 0-9 -`, starting with a letter) made from `s`: lowercased,
/// other characters turned into `-`, cut at 12; `fallback` when nothing is left.
pub(crate) fn lab_name(s: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        if out.is_empty() && c.is_ascii_digit() {
            continue;
        }
        out.push(c);
    }
    out.truncate(MAX_LAB_NAME);
    let out = out.trim_end_matches('-').to_string();
    if check_name(&out, MAX_LAB_NAME).is_ok() {
        out
    } else {
        fallback.to_string()
    }
}

/// Node names in use, compared as hostnames are (without case).
#[derive(Debug, Default)]
pub(crate) struct Taken(HashSet<String>);

impl Taken {
    pub fn insert(&mut self, name: &str) -> bool {
        self.0.insert(name.to_ascii_lowercase())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(&name.to_ascii_lowercase())
    }

    /// A new node name for `wanted`: itself when valid and free, else `prefix-wanted` (cut
    /// to length), with `-2`, `-3` … until free. The name is taken.
    pub fn fresh(&mut self, wanted: &str, prefix: &str) -> String {
        let base = if check_node_name(wanted).is_ok() && !self.contains(wanted) {
            wanted.to_string()
        } else {
            let mut b = format!("{prefix}-{wanted}");
            b.retain(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            b.truncate(nsnet_lab::model::MAX_NODE_NAME - 4);
            b
        };
        let mut name = base.clone();
        let mut n = 2;
        while self.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        self.insert(&name);
        name
    }
}

/// A MAC as nsnet takes it: six hex bytes with colons, unicast, not all zero. The error is
/// (what is wrong, how to fix it).
pub(crate) fn check_mac(m: &str) -> Result<(), (String, &'static str)> {
    let parts: Vec<&str> = m.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err((
            format!("`{m}` is not a MAC address"),
            "write six hex bytes with colons, e.g. 02:42:ac:11:00:02",
        ));
    }
    if u8::from_str_radix(parts[0], 16).unwrap_or(0) & 1 == 1 {
        return Err((
            format!("`{m}` is a multicast MAC address"),
            "an interface's MAC is unicast: its first byte is even, e.g. 02:…",
        ));
    }
    if parts.iter().all(|p| *p == "00") {
        return Err((
            "the all-zero MAC cannot be an interface's".to_string(),
            "give another MAC, e.g. 02:00:00:00:00:01",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names() {
        assert_eq!(lab_name("ospf", "x"), "ospf");
        assert_eq!(lab_name("My Lab_01", "x"), "my-lab-01");
        assert_eq!(lab_name("0-frr-lab", "x"), "frr-lab");
        assert_eq!(lab_name("a-very-long-lab-name", "x"), "a-very-long");
        assert_eq!(lab_name("___", "kathara"), "kathara");
        assert_eq!(lab_name("été", "x"), "t");
    }

    #[test]
    fn fresh_names() {
        let mut t = Taken::default();
        t.insert("r1");
        assert_eq!(t.fresh("A", "cd"), "A");
        assert_eq!(t.fresh("a", "cd"), "cd-a");
        assert_eq!(t.fresh("R1", "cd"), "cd-R1");
        assert_eq!(t.fresh("_lan", "cd"), "cd-_lan");
        t.insert("cd-x");
        t.insert("x");
        assert_eq!(t.fresh("x", "cd"), "cd-x-2");
        let long = "L".repeat(80);
        let n = t.fresh(&long, "cd");
        assert!(check_node_name(&n).is_ok() && n.starts_with("cd-L"), "{n}");
    }
}
