//! Topology generators: lab files for the shapes people test with (`nsnet gen line 10`), the
//! way Mininet users write `--topo linear,10`.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// N routers in a line, a host at each end.
    Line(usize),
    /// N routers in a ring, a host on each.
    Ring(usize),
    /// One switch, N hosts.
    Star(usize),
    /// A tree of switches DEPTH levels deep with FANOUT children each; hosts at the leaves.
    Tree(usize, usize),
    /// A k-ary fat-tree of routers (k even): (k/2)² core, k pods of k/2 aggregation and k/2
    /// edge routers, k/2 hosts per edge router.
    FatTree(usize),
    /// W×H routers in a grid, a host at two opposite corners.
    Grid(usize, usize),
}

impl Shape {
    pub fn default_name(&self) -> String {
        match *self {
            Shape::Line(n) => format!("line{n}"),
            Shape::Ring(n) => format!("ring{n}"),
            Shape::Star(n) => format!("star{n}"),
            Shape::Tree(d, f) => format!("tree{d}-{f}"),
            Shape::FatTree(k) => format!("fattree{k}"),
            Shape::Grid(w, h) => format!("grid{w}x{h}").replace('x', "-"),
        }
    }

    /// The longest shortest path in router hops (roughly: for choosing TTLs).
    pub fn diameter(&self) -> usize {
        match *self {
            Shape::Line(n) => n + 1,
            Shape::Ring(n) => n / 2 + 1,
            Shape::Star(_) => 1,
            Shape::Tree(..) => 1,
            Shape::FatTree(_) => 5,
            Shape::Grid(w, h) => w + h,
        }
    }

    /// Why the arguments make no lab, if they don't.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Shape::Line(n) if n < 1 => Err("a line needs at least 1 router".into()),
            Shape::Ring(n) if n < 3 => Err("a ring needs at least 3 routers".into()),
            Shape::Star(n) if n < 1 => Err("a star needs at least 1 host".into()),
            Shape::Tree(d, f) if d < 1 || f < 1 => {
                Err("a tree needs depth ≥ 1 and fanout ≥ 1".into())
            }
            Shape::Tree(d, f) if (f as f64).powi(d as i32) > 100_000.0 => {
                Err("that tree has more than 100000 hosts".into())
            }
            Shape::FatTree(k) if k < 2 || k % 2 == 1 => {
                Err("a fat-tree needs an even k ≥ 2".into())
            }
            Shape::Grid(w, h) if w < 1 || h < 1 || w * h < 2 => {
                Err("a grid needs at least 2 routers".into())
            }
            Shape::Line(n) | Shape::Ring(n) | Shape::Star(n) if n > 100_000 => {
                Err("more than 100000 nodes".into())
            }
            _ => Ok(()),
        }
    }
}

struct Gen {
    nodes: String,
    links: String,
    count: usize,
    /// Paths longer than 64 hops: every node sends with TTL 255.
    long_paths: bool,
}

impl Gen {
    fn node(&mut self, name: &str, kind: &str) {
        self.count += 1;
        let mut attrs = Vec::new();
        if kind != "host" {
            attrs.push(format!("kind = \"{kind}\""));
        }
        if self.long_paths && kind != "switch" {
            // Replies start with the replier's default TTL (64): paths longer than that
            // need it raised to reach back at all.
            attrs.push("sysctl = { \"net.ipv4.ip_default_ttl\" = 255 }".into());
        }
        if attrs.is_empty() {
            let _ = writeln!(self.nodes, "{name} = {{}}");
        } else {
            let _ = writeln!(self.nodes, "{name} = {{ {} }}", attrs.join(", "));
        }
    }
    fn link(&mut self, a: &str, b: &str) {
        let _ = writeln!(self.links, "[[links]]\nendpoints = [\"{a}\", \"{b}\"]");
    }
}

/// A lab file for `shape`. `ssh` turns sshd on in every node (off by default: at scale, a
/// daemon per node costs more than the node).
pub fn generate(shape: Shape, name: Option<&str>, ssh: bool) -> Result<String, String> {
    shape.check()?;
    let mut g = Gen {
        nodes: String::new(),
        links: String::new(),
        count: 0,
        long_paths: shape.diameter() > 60,
    };
    let pool;
    match shape {
        Shape::Line(n) => {
            pool = pool_for(n + 1, 30);
            for i in 1..=n {
                g.node(&format!("r{i}"), "router");
            }
            g.node("h1", "host");
            g.node("h2", "host");
            g.link("h1", "r1");
            for i in 1..n {
                g.link(&format!("r{i}"), &format!("r{}", i + 1));
            }
            g.link(&format!("r{n}"), "h2");
        }
        Shape::Ring(n) => {
            pool = pool_for(2 * n, 30);
            for i in 1..=n {
                g.node(&format!("r{i}"), "router");
                g.node(&format!("h{i}"), "host");
            }
            for i in 1..=n {
                g.link(&format!("h{i}"), &format!("r{i}"));
                g.link(&format!("r{i}"), &format!("r{}", i % n + 1));
            }
        }
        Shape::Star(n) => {
            pool = "10.0.0.0/16".to_string();
            g.node("s1", "switch");
            for i in 1..=n {
                g.node(&format!("h{i}"), "host");
                g.link(&format!("h{i}"), "s1");
            }
        }
        Shape::Tree(depth, fanout) => {
            pool = "10.0.0.0/8".to_string();
            // Switches s1.. level by level (breadth first), hosts h1.. under the last level.
            let mut level = vec!["s1".to_string()];
            let mut next_s = 2;
            g.node("s1", "switch");
            for _ in 1..depth {
                let mut children = Vec::new();
                for parent in &level {
                    for _ in 0..fanout {
                        let s = format!("s{next_s}");
                        next_s += 1;
                        g.node(&s, "switch");
                        g.link(parent, &s);
                        children.push(s);
                    }
                }
                level = children;
            }
            let mut h = 1;
            for parent in &level {
                for _ in 0..fanout {
                    let name = format!("h{h}");
                    h += 1;
                    g.node(&name, "host");
                    g.link(&name, parent);
                }
            }
        }
        Shape::FatTree(k) => {
            let half = k / 2;
            pool = pool_for(k * k * k, 30);
            for c in 1..=half * half {
                g.node(&format!("c{c}"), "router");
            }
            for p in 1..=k {
                for i in 1..=half {
                    g.node(&format!("a{p}-{i}"), "router");
                    g.node(&format!("e{p}-{i}"), "router");
                }
            }
            for p in 1..=k {
                for i in 1..=half {
                    // Aggregation router i of each pod reaches core routers (i-1)*half+1 ..= i*half.
                    for j in 1..=half {
                        g.link(&format!("a{p}-{i}"), &format!("c{}", (i - 1) * half + j));
                    }
                    for j in 1..=half {
                        g.link(&format!("e{p}-{i}"), &format!("a{p}-{j}"));
                    }
                    for j in 1..=half {
                        let h = format!("h{p}-{i}-{j}");
                        g.node(&h, "host");
                        g.link(&h, &format!("e{p}-{i}"));
                    }
                }
            }
        }
        Shape::Grid(w, h) => {
            pool = pool_for(2 * w * h + 2, 30);
            for y in 1..=h {
                for x in 1..=w {
                    g.node(&format!("r{x}-{y}"), "router");
                }
            }
            g.node("h1", "host");
            g.node("h2", "host");
            g.link("h1", "r1-1");
            for y in 1..=h {
                for x in 1..=w {
                    if x < w {
                        g.link(&format!("r{x}-{y}"), &format!("r{}-{y}", x + 1));
                    }
                    if y < h {
                        g.link(&format!("r{x}-{y}"), &format!("r{x}-{}", y + 1));
                    }
                }
            }
            g.link(&format!("r{w}-{h}"), "h2");
        }
    }
    let name = name.map_or_else(|| shape.default_name(), str::to_string);
    // Routed shapes summarize: a line of 1000 routers then needs a few thousand routes,
    // not a million.
    let routed = !matches!(shape, Shape::Star(_) | Shape::Tree(..));
    let summarize = if routed { "summarize = true\n" } else { "" };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `nsnet gen`: {shape:?}, {} nodes.\n[lab]\nname = \"{name}\"\npool = \"{pool}\"\n{summarize}ssh = {ssh}\n\n[nodes]\n{}\n{}",
        g.count, g.nodes, g.links
    );
    Ok(out)
}

/// A pool that holds `segments` blocks of /`prefix`.
fn pool_for(segments: usize, prefix: u32) -> String {
    let needed = (segments.max(1) as u64) << (32 - prefix);
    if needed <= 1 << 16 {
        "10.0.0.0/16".into()
    } else if needed <= 1 << 20 {
        "10.0.0.0/12".into()
    } else {
        "10.0.0.0/8".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{plan, Lab};

    fn planned(shape: Shape) -> crate::Plan {
        let text = generate(shape, None, false).unwrap();
        let lab =
            Lab::from_toml(&text, "gen.toml", None, None).unwrap_or_else(|e| panic!("{e}\n{text}"));
        plan(&lab).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn shapes_plan() {
        let p = planned(Shape::Line(10));
        assert_eq!((p.nodes.len(), p.links.len()), (12, 11));
        let p = planned(Shape::Ring(6));
        assert_eq!((p.nodes.len(), p.links.len()), (12, 12));
        let p = planned(Shape::Star(300));
        assert_eq!((p.nodes.len(), p.segments.len()), (301, 1));
        let p = planned(Shape::Tree(2, 3));
        assert_eq!(p.nodes.len(), 1 + 3 + 9);
        let p = planned(Shape::FatTree(4));
        assert_eq!(p.nodes.len(), 20 + 16);
        // Every edge router reaches another pod's hosts over 2 aggregation routers (ECMP).
        let e = p.node("e1-1").unwrap();
        let far = p.node("h4-2-2").unwrap().interfaces[0].addrs[0].network();
        assert_eq!(e.route_for(&far.addr).unwrap().via.len(), 2);
        let p = planned(Shape::Grid(3, 4));
        assert_eq!(p.nodes.len(), 14);
    }

    #[test]
    fn bad_arguments() {
        assert!(generate(Shape::Ring(2), None, false).is_err());
        assert!(generate(Shape::FatTree(3), None, false).is_err());
    }

    #[test]
    fn thousand_node_line_plans() {
        let p = planned(Shape::Line(1000));
        assert_eq!(p.nodes.len(), 1002);
    }
}
