//! Topology generators: lab files for the shapes people test with (`nsnet gen line 10`), the
//! way Mininet users write `--topo linear,10`.

use crate::error::Invalid;
use crate::limits::{MAX_BRIDGE_PORTS, MAX_LAB_FILE};
use std::fmt::Write;

/// A topology `nsnet gen` makes, with its sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// N routers in a line, a host at each end.
    Line(usize),
    /// N routers in a ring, a host on each.
    Ring(usize),
    /// One switch, N hosts.
    Star(usize),
    /// N switches in a chain, a host on each (Mininet's `--topo linear`): one L2 segment.
    Linear(usize),
    /// A tree of switches DEPTH levels deep with FANOUT children each; hosts at the leaves.
    Tree(usize, usize),
    /// A k-ary fat-tree of routers (k even): (k/2)² core, k pods of k/2 aggregation and k/2
    /// edge routers, k/2 hosts per edge router.
    FatTree(usize),
    /// W×H routers in a grid, a host at two opposite corners.
    Grid(usize, usize),
}

impl Shape {
    /// The lab's name when none is given: `line10`, `grid3-4`.
    pub fn default_name(&self) -> String {
        match *self {
            Shape::Line(n) => format!("line{n}"),
            Shape::Ring(n) => format!("ring{n}"),
            Shape::Star(n) => format!("star{n}"),
            Shape::Linear(n) => format!("linear{n}"),
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
            Shape::Linear(_) => 1,
            Shape::Tree(..) => 1,
            Shape::FatTree(_) => 5,
            Shape::Grid(w, h) => w + h,
        }
    }

    /// The shape as `nsnet gen` takes it: `fat-tree 4`, `grid 3 4`.
    pub fn command(&self) -> String {
        match *self {
            Shape::Line(n) => format!("line {n}"),
            Shape::Ring(n) => format!("ring {n}"),
            Shape::Star(n) => format!("star {n}"),
            Shape::Linear(n) => format!("linear {n}"),
            Shape::Tree(d, f) => format!("tree {d} {f}"),
            Shape::FatTree(k) => format!("fat-tree {k}"),
            Shape::Grid(w, h) => format!("grid {w} {h}"),
        }
    }

    /// How many nodes the shape makes, computed without making them; None when the number
    /// does not even fit in a u128.
    pub fn node_count(&self) -> Option<u128> {
        let u = |x: usize| x as u128;
        match *self {
            Shape::Line(n) => u(n).checked_add(2),
            Shape::Ring(n) => u(n).checked_mul(2),
            Shape::Star(n) => u(n).checked_add(1),
            Shape::Linear(n) => u(n).checked_mul(2),
            // 1 + f + f² + … + f^d: switches on levels 0..d, then the hosts.
            Shape::Tree(_, 0) => Some(1),
            Shape::Tree(d, 1) => u(d).checked_add(1),
            Shape::Tree(d, f) => {
                let (mut total, mut level) = (0u128, 1u128);
                for i in 0..=d {
                    total = total.checked_add(level)?;
                    if i < d {
                        level = level.checked_mul(u(f))?;
                    }
                }
                Some(total)
            }
            // (k/2)² core, k pods of k/2 aggregation and k/2 edge routers, k/2 hosts per edge.
            Shape::FatTree(k) => {
                let (k, half) = (u(k), u(k / 2));
                let core = half.checked_mul(half)?;
                let pods = k.checked_mul(k)?;
                let hosts = k.checked_mul(half)?.checked_mul(half)?;
                core.checked_add(pods)?.checked_add(hosts)
            }
            Shape::Grid(w, h) => u(w).checked_mul(u(h))?.checked_add(2),
        }
    }

    /// Why the arguments make no lab, if they don't. Sizes are checked before anything is
    /// generated.
    pub fn check(&self) -> Result<(), Invalid> {
        match *self {
            Shape::Line(n) if n < 1 => return Err(Invalid::new("a line needs at least 1 router")),
            Shape::Ring(n) if n < 3 => return Err(Invalid::new("a ring needs at least 3 routers")),
            Shape::Star(n) if n < 1 => return Err(Invalid::new("a star needs at least 1 host")),
            Shape::Linear(n) if n < 1 => {
                return Err(Invalid::new("a linear chain needs at least 1 switch"))
            }
            Shape::Tree(d, f) if d < 1 || f < 1 => {
                return Err(Invalid::new("a tree needs depth ≥ 1 and fanout ≥ 1"))
            }
            Shape::FatTree(k) if k < 2 || k % 2 == 1 => {
                return Err(Invalid::new("a fat-tree needs an even k ≥ 2"))
            }
            Shape::Grid(w, h) if w < 1 || h < 1 || (w == 1 && h == 1) => {
                return Err(Invalid::new("a grid needs at least 2 routers"))
            }
            _ => {}
        }
        match self.node_count() {
            Some(n) if n <= MAX_GEN_NODES as u128 => {}
            Some(n) => {
                return Err(Invalid::new(format!(
                    "gen {} would make {} nodes; at most {MAX_GEN_NODES}",
                    self.command(),
                    thousands(n)
                )))
            }
            None => {
                return Err(Invalid::new(format!(
                    "gen {} would make more than {} nodes; at most {MAX_GEN_NODES}",
                    self.command(),
                    thousands(u128::MAX)
                )))
            }
        }
        // A switch's ports: a star's has n, a tree's root f and the others f + 1 (a parent).
        let ports = match *self {
            Shape::Star(n) => n,
            Shape::Tree(1, f) => f,
            Shape::Tree(_, f) => f + 1,
            _ => 0,
        };
        if ports > MAX_BRIDGE_PORTS {
            return Err(Invalid::new(format!(
                "gen {} would give a switch {ports} ports; a Linux bridge has at most {MAX_BRIDGE_PORTS} (use `gen tree` with a smaller fanout)",
                self.command()
            )));
        }
        Ok(())
    }
}

/// The most nodes any generated shape may have.
pub const MAX_GEN_NODES: u64 = 100_000;

/// `2050000` → `2,050,000`.
fn thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
pub fn generate(shape: Shape, name: Option<&str>, ssh: bool) -> Result<String, Invalid> {
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
        Shape::Linear(n) => {
            // One segment: an address per host.
            pool = if n < 60_000 {
                "10.0.0.0/16"
            } else {
                "10.0.0.0/8"
            }
            .to_string();
            for i in 1..=n {
                g.node(&format!("s{i}"), "switch");
                g.node(&format!("h{i}"), "host");
            }
            for i in 1..=n {
                g.link(&format!("h{i}"), &format!("s{i}"));
                if i < n {
                    g.link(&format!("s{i}"), &format!("s{}", i + 1));
                }
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
    let routed = !matches!(shape, Shape::Star(_) | Shape::Linear(_) | Shape::Tree(..));
    let summarize = if routed { "summarize = true\n" } else { "" };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `nsnet gen`: {shape:?}, {} nodes.\n[lab]\nname = \"{name}\"\npool = \"{pool}\"\n{summarize}ssh = {ssh}\n\n[nodes]\n{}\n{}",
        g.count, g.nodes, g.links
    );
    // The node cap keeps this bounded; the file must still be one `up` reads.
    if out.len() as u64 > MAX_LAB_FILE {
        return Err(Invalid::new(format!(
            "gen {} would make a lab file of {} bytes; a lab file is at most 4 MiB (try a smaller {})",
            shape.command(),
            thousands(out.len() as u128),
            shape.command().split(' ').next().unwrap_or("shape"),
        )));
    }
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
        // Mininet's linear: switches in a chain, one segment over all of them.
        let p = planned(Shape::Linear(5));
        assert_eq!((p.nodes.len(), p.links.len(), p.segments.len()), (10, 9, 1));
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
        assert!(generate(Shape::Grid(1, 1), None, false).is_err());
    }

    #[test]
    fn node_counts_match_what_is_generated() {
        for shape in [
            Shape::Line(7),
            Shape::Ring(5),
            Shape::Star(9),
            Shape::Linear(4),
            Shape::Tree(1, 4),
            Shape::Tree(3, 2),
            Shape::Tree(4, 1),
            Shape::FatTree(6),
            Shape::Grid(3, 5),
        ] {
            let p = planned(shape);
            assert_eq!(
                p.nodes.len() as u128,
                shape.node_count().unwrap(),
                "{shape:?}"
            );
        }
    }

    #[test]
    fn too_many_nodes_fail_fast_with_the_count() {
        let e = |s: Shape| generate(s, None, false).unwrap_err().to_string();
        assert_eq!(
            e(Shape::FatTree(200)),
            "gen fat-tree 200 would make 2,050,000 nodes; at most 100000"
        );
        // 10¹⁰ routers: refused before any is made (this would abort on allocation).
        assert_eq!(
            e(Shape::Grid(100_000, 100_000)),
            "gen grid 100000 100000 would make 10,000,000,002 nodes; at most 100000"
        );
        assert_eq!(
            e(Shape::Line(99_999)),
            "gen line 99999 would make 100,001 nodes; at most 100000"
        );
        // Within the node cap, but too large a file for `up` to read.
        let big = e(Shape::Line(99_998));
        assert!(
            big.starts_with("gen line 99998 would make a lab file of 11,"),
            "{big}"
        );
        assert!(big.ends_with("bytes; a lab file is at most 4 MiB (try a smaller line)"));
        assert!(generate(Shape::Line(20_000), None, false).is_ok());
        assert_eq!(
            e(Shape::Ring(50_001)),
            "gen ring 50001 would make 100,002 nodes; at most 100000"
        );
        assert_eq!(
            e(Shape::Tree(17, 2)),
            "gen tree 17 2 would make 262,143 nodes; at most 100000"
        );
        // Counts that overflow, and that would loop for long, are refused at once too.
        assert!(e(Shape::Tree(usize::MAX, usize::MAX)).starts_with(
            "gen tree 18446744073709551615 18446744073709551615 would make more than 340,282,"
        ));
        assert!(
            e(Shape::Tree(usize::MAX, 1)).contains("would make 18,446,744,073,709,551,616 nodes")
        );
        assert!(e(Shape::Line(usize::MAX)).contains("would make 18,446,744,073,709,551,617 nodes"));
        assert!(e(Shape::Grid(usize::MAX, usize::MAX)).contains("would make"));
        assert!(e(Shape::FatTree(usize::MAX - 1)).contains("would make"));
    }

    #[test]
    fn switches_stay_within_a_bridges_ports() {
        assert!(generate(Shape::Star(1023), None, false).is_ok());
        let e = generate(Shape::Star(1024), None, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a switch 1024 ports; a Linux bridge has at most 1023"),
            "{e}"
        );
        assert!(generate(Shape::Tree(1, 1023), None, false).is_ok());
        let e = generate(Shape::Tree(1, 1024), None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a switch 1024 ports"), "{e}");
        assert!(generate(Shape::Tree(2, 100), None, false).is_ok());
    }

    #[test]
    fn thousand_node_line_plans() {
        let p = planned(Shape::Line(1000));
        assert_eq!(p.nodes.len(), 1002);
    }
}
