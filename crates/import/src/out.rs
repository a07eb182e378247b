//! The lab an importer makes, as plain data, and its text: an nsnet lab file with comments
//! (where it came from, what could not be honoured), written key by key so that it reads
//! like a hand-written one.

use std::fmt::Write;

/// A lab as nsnet will write it.
#[derive(Debug, Default)]
pub(crate) struct LabOut {
    /// Comment lines above everything (without `# `).
    pub header: Vec<String>,
    /// `[lab] name`.
    pub name: String,
    /// `[lab]` keys after the name, each with a comment: (key, value as TOML, comment).
    pub lab_keys: Vec<(&'static str, String, &'static str)>,
    pub nodes: Vec<NodeOut>,
    pub links: Vec<LinkOut>,
}

/// What a node is, in the lab file's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Kind {
    #[default]
    Router,
    Switch,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Router => "router",
            Kind::Switch => "switch",
        }
    }
}

/// One `[nodes.NAME]` table.
#[derive(Debug, Default)]
pub(crate) struct NodeOut {
    pub name: String,
    /// Comment lines above the table.
    pub comment: Vec<String>,
    pub kind: Kind,
    pub root: Option<String>,
    pub tree: Option<String>,
    pub privileged: bool,
    /// Switches only: the bridge runs the spanning tree.
    pub stp: bool,
    pub ipv6: Option<bool>,
    pub cpu: Option<f64>,
    pub memory: Option<String>,
    /// (key, value): values that are integers are written as such.
    pub sysctl: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
    pub binds: Vec<String>,
    pub services: Vec<String>,
    pub exec: Vec<Line>,
    pub after: Vec<String>,
}

/// An `exec` line, with a comment above it.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub cmd: String,
    pub comment: Option<String>,
}

impl Line {
    pub fn new(cmd: impl Into<String>, comment: Option<String>) -> Line {
        Line {
            cmd: cmd.into(),
            comment,
        }
    }
}

/// One `[[links]]` table.
#[derive(Debug)]
pub(crate) struct LinkOut {
    pub comment: Option<String>,
    pub ends: [EndOut; 2],
    pub mtu: Option<u32>,
}

/// One endpoint.
#[derive(Debug, Clone)]
pub(crate) struct EndOut {
    pub node: String,
    pub iface: Option<String>,
    pub mac: Option<String>,
    /// Its addresses (empty: none); None for a switch's port, which has no IP layer.
    pub addrs: Option<Vec<String>>,
    /// Where each address is written in the input (none for nsnet's own).
    pub at: Vec<crate::pos::At>,
}

impl EndOut {
    /// An interface of a host or router, without addresses.
    pub fn bare(node: &str, iface: &str, mac: Option<String>) -> EndOut {
        EndOut {
            node: node.to_string(),
            iface: Some(iface.to_string()),
            mac,
            addrs: Some(Vec::new()),
            at: Vec::new(),
        }
    }

    /// A port of a switch, named or not.
    pub fn port(node: &str, iface: Option<&str>) -> EndOut {
        EndOut {
            node: node.to_string(),
            iface: iface.map(str::to_string),
            mac: None,
            addrs: None,
            at: Vec::new(),
        }
    }
}

/// A TOML basic string: `"…"` with `"`, `\` and control characters escaped.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key: bare when TOML allows it, else quoted.
pub(crate) fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        quote(s)
    }
}

fn list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", q.join(", "))
}

/// A comment line, or lines: each line of `text` prefixed with `# ` (`#` alone when empty).
fn comment(out: &mut String, indent: &str, text: &str) {
    if text.is_empty() {
        let _ = writeln!(out, "{indent}#");
    }
    for l in text.lines() {
        if l.is_empty() {
            let _ = writeln!(out, "{indent}#");
        } else {
            let _ = writeln!(out, "{indent}# {l}");
        }
    }
}

/// A sysctl's value: an integer as an integer, anything else as a string.
fn sysctl_value(v: &str) -> String {
    if !v.is_empty()
        && v.len() < 19
        && v.trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit())
        && v != "-"
    {
        v.to_string()
    } else {
        quote(v)
    }
}

impl LabOut {
    /// The lab file's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for h in &self.header {
            comment(&mut out, "", h);
        }
        if !self.header.is_empty() {
            out.push('\n');
        }
        out.push_str("[lab]\n");
        let _ = writeln!(out, "name = {}", quote(&self.name));
        for (k, v, c) in &self.lab_keys {
            let line = format!("{k} = {v}");
            if c.is_empty() {
                let _ = writeln!(out, "{line}");
            } else {
                let _ = writeln!(out, "{line:<22}# {c}");
            }
        }
        for n in &self.nodes {
            out.push('\n');
            n.render(&mut out);
        }
        for l in &self.links {
            out.push('\n');
            l.render(&mut out);
        }
        out
    }
}

impl NodeOut {
    fn render(&self, out: &mut String) {
        for c in &self.comment {
            comment(out, "", c);
        }
        let _ = writeln!(out, "[nodes.{}]", key(&self.name));
        let _ = writeln!(out, "kind = {}", quote(self.kind.word()));
        if let Some(r) = &self.root {
            let _ = writeln!(out, "root = {}", quote(r));
        }
        if let Some(t) = &self.tree {
            let _ = writeln!(out, "tree = {}", quote(t));
        }
        if self.privileged {
            out.push_str("privileged = true\n");
        }
        if self.stp {
            out.push_str("stp = true\n");
        }
        if let Some(v) = self.ipv6 {
            let _ = writeln!(out, "ipv6 = {v}");
        }
        if let Some(c) = self.cpu {
            let _ = writeln!(out, "cpu = {c:?}");
        }
        if let Some(m) = &self.memory {
            let _ = writeln!(out, "memory = {}", quote(m));
        }
        if !self.sysctl.is_empty() {
            let kv: Vec<String> = self
                .sysctl
                .iter()
                .map(|(k, v)| format!("{} = {}", quote(k), sysctl_value(v)))
                .collect();
            let _ = writeln!(out, "sysctl = {{ {} }}", kv.join(", "));
        }
        if !self.env.is_empty() {
            let kv: Vec<String> = self
                .env
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), quote(v)))
                .collect();
            let _ = writeln!(out, "env = {{ {} }}", kv.join(", "));
        }
        if !self.binds.is_empty() {
            let _ = writeln!(out, "binds = {}", list(&self.binds));
        }
        if !self.services.is_empty() {
            let _ = writeln!(out, "services = {}", list(&self.services));
        }
        if !self.after.is_empty() {
            let _ = writeln!(out, "after = {}", list(&self.after));
        }
        if !self.exec.is_empty() {
            out.push_str("exec = [\n");
            for l in &self.exec {
                if let Some(c) = &l.comment {
                    comment(out, "  ", c);
                }
                let _ = writeln!(out, "  {},", quote(&l.cmd));
            }
            out.push_str("]\n");
        }
    }
}

impl LinkOut {
    fn render(&self, out: &mut String) {
        if let Some(c) = &self.comment {
            comment(out, "", c);
        }
        out.push_str("[[links]]\n");
        // No addresses anywhere: a pure L2 link, its ends written briefly.
        let l2 = self
            .ends
            .iter()
            .all(|e| e.addrs.as_ref().is_none_or(|a| a.is_empty()));
        let ends: Vec<String> = self.ends.iter().map(|e| e.render(l2)).collect();
        let _ = writeln!(out, "endpoints = [{}]", ends.join(", "));
        if l2 {
            out.push_str("l2 = true\n");
        }
        if let Some(m) = self.mtu {
            let _ = writeln!(out, "mtu = {m}");
        }
    }
}

impl EndOut {
    fn render(&self, l2: bool) -> String {
        let brief = self.mac.is_none() && (l2 || self.addrs.is_none());
        if brief {
            return quote(&match &self.iface {
                Some(i) => format!("{}:{i}", self.node),
                None => self.node.clone(),
            });
        }
        let mut parts = vec![format!("node = {}", quote(&self.node))];
        if let Some(i) = &self.iface {
            parts.push(format!("iface = {}", quote(i)));
        }
        if let Some(m) = &self.mac {
            parts.push(format!("mac = {}", quote(m)));
        }
        if !l2 {
            match self.addrs.as_deref() {
                None => {}
                Some([]) => parts.push("address = \"none\"".to_string()),
                Some([one]) => parts.push(format!("address = {}", quote(one))),
                Some(many) => parts.push(format!("addresses = {}", list(many))),
            }
        }
        format!("{{ {} }}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_keys() {
        assert_eq!(quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(quote("\u{1}"), r#""\u0001""#);
        assert_eq!(key("r1"), "r1");
        assert_eq!(key("net.ipv4.ip_forward"), "\"net.ipv4.ip_forward\"");
        assert_eq!(sysctl_value("0"), "0");
        assert_eq!(sysctl_value("-1"), "-1");
        assert_eq!(sysctl_value("1 2"), "\"1 2\"");
        assert_eq!(sysctl_value("-"), "\"-\"");
    }

    #[test]
    fn endpoints() {
        let bare = EndOut::bare("r1", "eth0", None);
        assert_eq!(bare.render(true), "\"r1:eth0\"");
        assert_eq!(
            bare.render(false),
            "{ node = \"r1\", iface = \"eth0\", address = \"none\" }"
        );
        let mac = EndOut::bare("r1", "eth0", Some("02:00:00:00:00:01".into()));
        assert_eq!(
            mac.render(true),
            "{ node = \"r1\", iface = \"eth0\", mac = \"02:00:00:00:00:01\" }"
        );
        assert_eq!(EndOut::port("sw", None).render(false), "\"sw\"");
        let two = EndOut {
            addrs: Some(vec!["10.0.0.1/24".into(), "fd00::1/64".into()]),
            at: Vec::new(),
            ..EndOut::bare("a", "eth1", None)
        };
        assert_eq!(
            two.render(false),
            "{ node = \"a\", iface = \"eth1\", addresses = [\"10.0.0.1/24\", \"fd00::1/64\"] }"
        );
    }

    #[test]
    fn a_lab() {
        let lab = LabOut {
            header: vec!["from somewhere".into(), String::new()],
            name: "x".into(),
            lab_keys: vec![("routing", quote("none"), "daemons route")],
            nodes: vec![NodeOut {
                name: "r1".into(),
                exec: vec![Line::new("echo \"hi\"", Some("say hi".into()))],
                sysctl: vec![("net.ipv4.ip_forward".into(), "1".into())],
                ..Default::default()
            }],
            links: vec![],
        };
        let text = lab.render();
        assert!(text.starts_with("# from somewhere\n#\n\n[lab]\nname = \"x\"\n"));
        assert!(text.contains("routing = \"none\"      # daemons route\n"));
        assert!(text.contains("[nodes.r1]\nkind = \"router\"\nsysctl = { \"net.ipv4.ip_forward\" = 1 }\nexec = [\n  # say hi\n  \"echo \\\"hi\\\"\",\n]\n"));
        let _: toml::Table = toml::from_str(&text).unwrap();
    }
}
