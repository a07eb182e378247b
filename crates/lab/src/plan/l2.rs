//! What would break a lab's L2 before anything is built: loops of switches without the
//! spanning tree (a broadcast storm that takes the host's CPUs with it), and switches with
//! more ports than a Linux bridge can number.

use super::union::UnionFind;
use super::Planner;
use crate::limits::MAX_BRIDGE_PORTS;
use crate::values::Kind;

impl Planner<'_> {
    pub(super) fn check_l2(&mut self) {
        self.bridge_ports();
        self.switch_loops();
    }

    /// A bridge's ports are numbered 1..=1023: the 1024th `ip link set … master` fails.
    fn bridge_ports(&mut self) {
        let lab = self.lab;
        let mut ports = vec![0usize; lab.nodes.len()];
        for l in &lab.links {
            for e in &l.ends {
                if lab.nodes[e.node].kind != Kind::Switch {
                    continue;
                }
                ports[e.node] += 1;
                if ports[e.node] == MAX_BRIDGE_PORTS + 1 {
                    self.err(
                        e.at,
                        format!(
                            "switch {} gets its port {} here: a Linux bridge has at most {MAX_BRIDGE_PORTS}",
                            lab.nodes[e.node].name,
                            MAX_BRIDGE_PORTS + 1
                        ),
                        "split it into several switches joined by links (e.g. a tree of switches: `nsnet gen tree`)".to_string(),
                    );
                }
            }
        }
    }

    /// Switches and the links between them must make a forest unless every switch of a loop
    /// runs STP. Union-find over the links in file order: the link that joins two switches
    /// already connected closes a loop, made of it and the forest's path between its ends.
    fn switch_loops(&mut self) {
        let lab = self.lab;
        let n = lab.nodes.len();
        let is_switch = |i: usize| lab.nodes[i].kind == Kind::Switch;
        let mut forest = UnionFind::new(n);
        // The forest: (neighbour, link) per switch; and the links that close loops.
        let mut tree: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        let mut closing = Vec::new();
        for (li, l) in lab.links.iter().enumerate() {
            let (a, b) = (l.ends[0].node, l.ends[1].node);
            if !(is_switch(a) && is_switch(b)) {
                continue;
            }
            if !forest.join(a, b) {
                closing.push(li);
            } else {
                tree[a].push((b, li));
                tree[b].push((a, li));
            }
        }
        if closing.is_empty() {
            return;
        }
        // Root every tree of the forest: each switch's parent, the link to it, and depth.
        let mut up: Vec<Option<(usize, usize)>> = vec![None; n];
        let mut depth = vec![0usize; n];
        let mut seen = vec![false; n];
        for start in 0..n {
            if seen[start] || tree[start].is_empty() {
                continue;
            }
            seen[start] = true;
            let mut stack = vec![start];
            while let Some(v) = stack.pop() {
                for &(w, li) in &tree[v] {
                    if !seen[w] {
                        seen[w] = true;
                        up[w] = Some((v, li));
                        depth[w] = depth[v] + 1;
                        stack.push(w);
                    }
                }
            }
        }
        for li in closing {
            let l = &lab.links[li];
            let (mut a, mut b) = (l.ends[0].node, l.ends[1].node);
            // Walk both ends up to their common ancestor: a's side in order, b's reversed.
            let (mut from_a, mut from_b) = (vec![a], vec![b]);
            let mut links = vec![li];
            while a != b {
                if depth[a] >= depth[b] {
                    let (p, pl) = up[a].expect("a non-root switch has a parent");
                    links.push(pl);
                    a = p;
                    from_a.push(a);
                } else {
                    let (p, pl) = up[b].expect("a non-root switch has a parent");
                    links.push(pl);
                    b = p;
                    from_b.push(b);
                }
            }
            from_b.pop(); // the common ancestor, already last of from_a
            from_a.extend(from_b.into_iter().rev());
            let names = |v: &[usize]| {
                v.iter()
                    .map(|&s| lab.nodes[s].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let no_stp: Vec<usize> = from_a
                .iter()
                .copied()
                .filter(|&s| !lab.nodes[s].stp)
                .collect();
            if no_stp.is_empty() {
                continue;
            }
            links.sort_unstable();
            let lines: Vec<String> = links
                .iter()
                .map(|&k| self.lab.src.line_col(self.lab.links[k].at).0.to_string())
                .collect();
            let s = if no_stp.len() == 1 {
                "switch"
            } else {
                "switches"
            };
            self.err(
                l.at,
                format!(
                    "this link closes a loop of switches {} (the links at lines {}): without the spanning tree, broadcasts circle it forever",
                    names(&from_a),
                    lines.join(", ")
                ),
                format!(
                    "set stp = true on {s} {} (the kernel's spanning tree then blocks one port), or remove one of these links",
                    names(&no_stp)
                ),
            );
        }
    }
}
