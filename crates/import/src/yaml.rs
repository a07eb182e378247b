//! YAML as a tree whose every node knows its line and column, built from saphyr-parser's
//! events: anchors and aliases resolved, merge keys (`<<: *defaults`, which containerlab's
//! Go YAML reader honours) applied, duplicate keys refused as containerlab refuses them.

use crate::pos::At;
use nsnet_lab::LabError;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Deeper than this is no topology file.
const MAX_DEPTH: usize = 64;
/// Nodes in the tree, aliases counted each time they are used (no "billion laughs").
const MAX_NODES: usize = 1 << 20;

/// A YAML value and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub line: usize,
    pub col: usize,
    pub v: V,
}

/// The kinds of YAML values a topology file holds.
#[derive(Debug, Clone)]
pub(crate) enum V {
    /// `~`, `null`, or nothing.
    Null,
    /// A scalar's text (numbers and booleans too: the reader decides what it wants).
    Str(String),
    Seq(Vec<Node>),
    /// Keys are scalars, in file order (merged keys after them).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// Where this node is, in `file`.
    pub fn at(&self, file: &str) -> At {
        At::new(file, self.line, self.col)
    }

    /// The key's text of a map entry.
    pub fn key(&self) -> &str {
        match &self.v {
            V::Str(s) => s,
            _ => "",
        }
    }

    /// A short word for what the node is, for errors.
    pub fn what(&self) -> &'static str {
        match self.v {
            V::Null => "nothing",
            V::Str(_) => "a value",
            V::Seq(_) => "a list",
            V::Map(_) => "a map",
        }
    }
}

struct Builder<'a, 'i> {
    events: Parser<'i, saphyr_parser::StrInput<'i>>,
    file: &'a str,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

/// Parse `text` (the first document); `file` names it in errors.
pub(crate) fn parse(text: &str, file: &str) -> Result<Node, LabError> {
    let mut b = Builder {
        events: Parser::new_from_str(text),
        file,
        anchors: HashMap::new(),
        nodes: 0,
    };
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
            Event::StreamEnd | Event::DocumentEnd => {
                return Ok(Node {
                    line: span.start.line(),
                    col: span.start.col() + 1,
                    v: V::Null,
                })
            }
            ev => return b.node(ev, span, 0),
        }
    }
}

fn place(span: &Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
}

impl<'i> Builder<'_, 'i> {
    fn next(&mut self) -> Result<(Event<'i>, Span), LabError> {
        match self.events.next_event() {
            Some(Ok(e)) => Ok(e),
            Some(Err(e)) => {
                let m = e.marker();
                Err(At::new(self.file, m.line(), m.col() + 1).error(
                    format!("not YAML: {}", e.info()),
                    "check the indentation and quoting here",
                ))
            }
            None => Err(At::file(self.file).error("the YAML ends too early", "")),
        }
    }

    fn count(&mut self, line: usize, col: usize) -> Result<(), LabError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(At::new(self.file, line, col).error(
                "more than a million YAML values (aliases counted where used)",
                "is it the file you meant? A topology file is far smaller",
            ));
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'i>, span: Span, depth: usize) -> Result<Node, LabError> {
        let (line, col) = place(&span);
        self.count(line, col)?;
        if depth > MAX_DEPTH {
            return Err(At::new(self.file, line, col).error(
                format!("nested deeper than {MAX_DEPTH} levels"),
                "is it the file you meant?",
            ));
        }
        let (anchor, v) = match ev {
            Event::Scalar(s, style, anchor, _tag) => {
                let null = style == ScalarStyle::Plain
                    && matches!(s.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                (
                    anchor,
                    if null {
                        V::Null
                    } else {
                        V::Str(s.into_owned())
                    },
                )
            }
            Event::Alias(id) => {
                let Some(n) = self.anchors.get(&id).cloned() else {
                    return Err(At::new(self.file, line, col).error(
                        "an alias to an unknown anchor",
                        "define the anchor (&name) first",
                    ));
                };
                self.nodes += weight(&n);
                return Ok(n);
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, sp, depth + 1)?);
                }
                (anchor, V::Seq(items))
            }
            Event::MappingStart(anchor, _) => (anchor, V::Map(self.map(depth)?)),
            other => {
                return Err(At::new(self.file, line, col)
                    .error(format!("unexpected YAML event {other:?}"), ""))
            }
        };
        let n = Node { line, col, v };
        if anchor > 0 {
            self.anchors.insert(anchor, n.clone());
        }
        Ok(n)
    }

    /// A mapping's entries up to its end, merge keys applied, duplicates refused.
    fn map(&mut self, depth: usize) -> Result<Vec<(Node, Node)>, LabError> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut merged: Vec<Node> = Vec::new();
        loop {
            let (ev, sp) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let merge = matches!(&ev, Event::Scalar(s, ScalarStyle::Plain, _, _) if s == "<<");
            let key = self.node(ev, sp, depth + 1)?;
            let (ev, sp) = self.next()?;
            let value = self.node(ev, sp, depth + 1)?;
            if merge {
                match value.v {
                    V::Map(_) => merged.push(value),
                    V::Seq(items) => merged.extend(items),
                    _ => {
                        return Err(key.at(self.file).error(
                            "a merge key (<<) takes a map or a list of maps",
                            "write <<: *anchor, where &anchor is a map",
                        ))
                    }
                }
                continue;
            }
            if !matches!(key.v, V::Str(_)) {
                return Err(key.at(self.file).error(
                    format!("a key is {}, not a plain value", key.what()),
                    "write keys as plain words",
                ));
            }
            if let Some((first, _)) = entries.iter().find(|(k, _)| k.key() == key.key()) {
                return Err(key.at(self.file).error(
                    format!(
                        "key `{}` is given twice (also at line {})",
                        key.key(),
                        first.line
                    ),
                    "give each key once",
                ));
            }
            entries.push((key, value));
        }
        // Merged maps add the keys the map does not give itself; the first merged wins.
        for m in merged {
            let V::Map(items) = m.v else {
                return Err(m.at(self.file).error(
                    "a merge key (<<) takes a map or a list of maps",
                    "write <<: *anchor, where &anchor is a map",
                ));
            };
            for (k, v) in items {
                if !entries.iter().any(|(e, _)| e.key() == k.key()) {
                    entries.push((k, v));
                }
            }
        }
        Ok(entries)
    }
}

/// How many nodes a subtree holds.
fn weight(n: &Node) -> usize {
    1 + match &n.v {
        V::Seq(items) => items.iter().map(weight).sum(),
        V::Map(items) => items.iter().map(|(k, v)| weight(k) + weight(v)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(n: &'a Node, k: &str) -> &'a Node {
        match &n.v {
            V::Map(items) => &items.iter().find(|(key, _)| key.key() == k).unwrap().1,
            _ => panic!("not a map"),
        }
    }

    fn s(n: &Node) -> &str {
        match &n.v {
            V::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn places_and_values() {
        let t = "name: lab\ntopology:\n  nodes:\n    r1:\n      kind: linux\n    r2:\n  links:\n    - endpoints: [\"r1:eth1\", 'r2:eth1']\n";
        let root = parse(t, "x.clab.yml").unwrap();
        assert_eq!(s(get(&root, "name")), "lab");
        let nodes = get(get(&root, "topology"), "nodes");
        let r1 = get(nodes, "r1");
        assert_eq!((r1.line, r1.col), (5, 7));
        assert!(matches!(get(nodes, "r2").v, V::Null));
        let links = get(get(&root, "topology"), "links");
        let V::Seq(l) = &links.v else { panic!() };
        let V::Seq(eps) = &get(&l[0], "endpoints").v else {
            panic!()
        };
        assert_eq!((s(&eps[1]), eps[1].line, eps[1].col), ("r2:eth1", 8, 30));
    }

    #[test]
    fn anchors_and_merges() {
        let t =
            "base: &b\n  kind: linux\n  image: alpine\nn1:\n  <<: *b\n  image: debian\nn2: *b\n";
        let root = parse(t, "x").unwrap();
        let n1 = get(&root, "n1");
        assert_eq!(s(get(n1, "kind")), "linux");
        assert_eq!(s(get(n1, "image")), "debian");
        assert_eq!(s(get(get(&root, "n2"), "image")), "alpine");
    }

    #[test]
    fn mistakes() {
        let e = parse("a: 1\nb: 2\na: 3\n", "x.yml").unwrap_err();
        assert_eq!((e.line, e.col), (3, 1));
        assert!(e.message.contains("twice"), "{e}");
        let e = parse("a: [1, 2\n", "x.yml").unwrap_err();
        assert!(e.message.starts_with("not YAML"), "{e}");
        assert!(e.line >= 1);
        let e = parse("a: *nope\n", "x.yml").unwrap_err();
        assert!(e.to_string().contains("x.yml:1"), "{e}");
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep, "x").unwrap_err().message.contains("deeper"));
        // A billion laughs stops early.
        let mut lol = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9u8 {
            let (p, q) = ((b'a' + i) as char, (b'b' + i) as char);
            lol.push_str(&format!(
                "{q}: &{q} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            ));
        }
        assert!(parse(&lol, "x").unwrap_err().message.contains("million"));
        assert!(matches!(parse("", "x").unwrap().v, V::Null));
    }
}
