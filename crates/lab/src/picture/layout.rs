//! Where nodes and links go: Graphviz's layout (the input it is given, the `-Tplain` output
//! it answers with) or nsnet's own, a layered drawing along the lab's longest path that
//! takes linear time (a 1000-node lab in milliseconds).

use crate::plan::Plan;
use crate::values::Kind;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

/// Pixels per inch: Graphviz speaks inches.
const PPI: f64 = 72.0;
/// Space around the drawing.
const MARGIN: f64 = 40.0;
/// nsnet's layout: horizontal room between layers (for the interfaces' labels), and
/// vertical room between nodes of a layer.
const LAYER_GAP: f64 = 190.0;
const ROW_GAP: f64 = 26.0;
/// nsnet's layout: a layer holds at most this many nodes a column; more wrap into columns.
const COLUMN: usize = 24;

/// Positions of a lab's nodes and links, in pixels, y downwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The drawing's width.
    pub width: f64,
    /// The drawing's height.
    pub height: f64,
    /// Each node's centre, in `plan.nodes` order.
    pub nodes: Vec<(f64, f64)>,
    /// Each link's path as Bézier control points (`p0 (c1 c2 p)…`), in `plan.links` order;
    /// empty: a straight line between the two nodes' centres.
    pub edges: Vec<Vec<(f64, f64)>>,
    /// What made it: "dot", "sfdp", "neato", "builtin".
    pub engine: String,
}

/// A node's drawn size in pixels: hosts and routers fit their name; a switch is a bar (a
/// segment) as tall as its ports need.
pub fn node_size(plan: &Plan, i: usize) -> (f64, f64) {
    let n = &plan.nodes[i];
    let text = 7.5 * n.name.len() as f64;
    match n.kind {
        Kind::Host => ((text + 24.0).max(56.0), 30.0),
        Kind::Router => ((text + 36.0).max(64.0), 40.0),
        Kind::Switch => (
            16.0,
            (16.0 * n.interfaces.len() as f64 + 24.0).clamp(56.0, 400.0),
        ),
    }
}

/// Node indexes of each link's two ends.
fn ends(plan: &Plan) -> Vec<(usize, usize)> {
    let index: HashMap<&str, usize> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    plan.links
        .iter()
        .map(|l| (index[l.a.node.as_str()], index[l.b.node.as_str()]))
        .collect()
}

/// The Graphviz graph to lay out with `engine` ("dot", "sfdp", "neato"): nodes `n<i>` sized
/// as drawn, without labels (nsnet draws those). For `dot` each link is written from the
/// node nearer the start of the lab's longest path (its ranks are nsnet's layers), so a
/// chain of LANs and routers reads left to right.
pub fn graphviz_input(plan: &Plan, engine: &str) -> String {
    let mut o = String::from("graph lab {\n");
    let dot = engine == "dot";
    if dot {
        o.push_str("  graph [rankdir=LR, nodesep=0.35, ranksep=2.2, splines=true, pad=0.2];\n");
    } else {
        o.push_str("  graph [overlap=prism, splines=false, sep=\"+16\", pad=0.2];\n");
        o.push_str("  edge [len=2.4];\n");
    }
    o.push_str("  node [shape=box, fixedsize=true, label=\"\"];\n");
    for i in 0..plan.nodes.len() {
        let (w, h) = node_size(plan, i);
        let _ = writeln!(o, "  n{i} [width={:.3}, height={:.3}];", w / PPI, h / PPI);
    }
    let layer = if dot { all_layers(plan) } else { Vec::new() };
    for (a, b) in ends(plan) {
        if !dot {
            let _ = writeln!(o, "  n{a} -- n{b};");
        } else if layer[a] == layer[b] {
            let _ = writeln!(o, "  n{a} -- n{b} [constraint=false];");
        } else if layer[a] < layer[b] {
            let _ = writeln!(o, "  n{a} -- n{b};");
        } else {
            let _ = writeln!(o, "  n{b} -- n{a};");
        }
    }
    o.push_str("}\n");
    o
}

/// Reads Graphviz's `-Tplain` answer to [`graphviz_input`].
pub fn parse_plain(plan: &Plan, text: &str, engine: &str) -> Result<Layout, String> {
    let mut height = 0.0;
    let mut width = 0.0;
    let mut nodes = vec![None; plan.nodes.len()];
    // (tail, head) → the links between them, in input order.
    let mut pending: HashMap<(usize, usize), VecDeque<usize>> = HashMap::new();
    for (li, (a, b)) in ends(plan).into_iter().enumerate() {
        pending.entry((a, b)).or_default().push_back(li);
    }
    let mut edges = vec![Vec::new(); plan.links.len()];
    let num = |s: Option<&str>| -> Result<f64, String> {
        s.and_then(|s| s.parse().ok())
            .ok_or_else(|| "a number is missing".to_string())
    };
    let id = |s: Option<&str>| -> Result<usize, String> {
        s.and_then(|s| s.strip_prefix('n'))
            .and_then(|s| s.parse().ok())
            .filter(|&i: &usize| i < plan.nodes.len())
            .ok_or_else(|| format!("unknown node {s:?}"))
    };
    for (at, line) in text.lines().enumerate() {
        let bad = |e: String| format!("{engine} -Tplain, line {}: {e}: {line}", at + 1);
        let mut f = line.split_whitespace();
        match f.next() {
            Some("graph") => {
                let _scale = num(f.next()).map_err(bad)?;
                width = num(f.next()).map_err(bad)? * PPI;
                height = num(f.next()).map_err(bad)? * PPI;
            }
            Some("node") => {
                let i = id(f.next()).map_err(bad)?;
                let x = num(f.next()).map_err(bad)? * PPI;
                let y = height - num(f.next()).map_err(bad)? * PPI;
                nodes[i] = Some((x + MARGIN, y + MARGIN));
            }
            Some("edge") => {
                let t = id(f.next()).map_err(bad)?;
                let h = id(f.next()).map_err(bad)?;
                let n = num(f.next()).map_err(bad)? as usize;
                let mut pts = Vec::with_capacity(n);
                for _ in 0..n {
                    let x = num(f.next()).map_err(bad)? * PPI;
                    let y = height - num(f.next()).map_err(bad)? * PPI;
                    pts.push((x + MARGIN, y + MARGIN));
                }
                let li = match pending.get_mut(&(t, h)).and_then(VecDeque::pop_front) {
                    Some(li) => li,
                    None => {
                        pts.reverse();
                        pending
                            .get_mut(&(h, t))
                            .and_then(VecDeque::pop_front)
                            .ok_or_else(|| bad("an edge the lab does not have".into()))?
                    }
                };
                // A path must be a start and whole Bézier segments; anything else is
                // drawn straight.
                if pts.len() >= 4 && (pts.len() - 1) % 3 == 0 {
                    edges[li] = pts;
                }
            }
            _ => {}
        }
    }
    let nodes: Vec<(f64, f64)> = nodes
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.ok_or_else(|| format!("{engine} -Tplain placed no node n{i}")))
        .collect::<Result<_, _>>()?;
    Ok(Layout {
        width: width + 2.0 * MARGIN,
        height: height + 2.0 * MARGIN,
        nodes,
        edges,
        engine: engine.to_string(),
    })
}

/// Breadth-first distances from `from` within its component (usize::MAX elsewhere).
fn bfs(adj: &[Vec<usize>], from: usize) -> Vec<usize> {
    let mut d = vec![usize::MAX; adj.len()];
    let mut q = VecDeque::from([from]);
    d[from] = 0;
    while let Some(u) = q.pop_front() {
        for &v in &adj[u] {
            if d[v] == usize::MAX {
                d[v] = d[u] + 1;
                q.push_back(v);
            }
        }
    }
    d
}

/// The farthest node of `d` (the first one, on ties).
fn farthest(d: &[usize], members: &[usize]) -> usize {
    *members
        .iter()
        .max_by_key(|&&i| (d[i], std::cmp::Reverse(i)))
        .expect("a component has a node")
}

/// nsnet's own layout: each connected component drawn in layers from left to right (see
/// `layers_of`), nodes in a layer ordered by their neighbours' places (a few barycentre
/// sweeps), big layers wrapped into columns, components stacked.
pub fn builtin(plan: &Plan) -> Layout {
    let n = plan.nodes.len();
    let adj = adjacency(plan);
    let mut component = vec![usize::MAX; n];
    let mut comps: Vec<Vec<usize>> = Vec::new();
    for s in 0..n {
        if component[s] != usize::MAX {
            continue;
        }
        let d = bfs(&adj, s);
        let members: Vec<usize> = (0..n).filter(|&i| d[i] != usize::MAX).collect();
        for &m in &members {
            component[m] = comps.len();
        }
        comps.push(members);
    }
    let mut pos = vec![(0.0, 0.0); n];
    let (mut width, mut top) = (0.0f64, MARGIN);
    for members in &comps {
        let (w, h) = layered(plan, &adj, members, &mut pos, top);
        width = width.max(w);
        top += h + LAYER_GAP / 2.0;
    }
    Layout {
        width: width + MARGIN,
        height: top - LAYER_GAP / 2.0 + MARGIN,
        nodes: pos,
        edges: vec![Vec::new(); plan.links.len()],
        engine: "builtin".into(),
    }
}

/// The layer of each node of a component: its distance along the component's longest
/// path (found with two breadth-first searches); a leaf sits beside its neighbour on the
/// side away from the path's middle.
fn layers_of(adj: &[Vec<usize>], members: &[usize]) -> (HashMap<usize, i64>, Vec<usize>) {
    // Three searches rather than two: the path then starts at the end nearer the
    // component's first node (the lab file's first, by name), so the drawing reads from it.
    let d0 = bfs(adj, members[0]);
    let w = farthest(&d0, members);
    let u = farthest(&bfs(adj, w), members);
    let du = bfs(adj, u);
    let v = farthest(&du, members);
    let dv = bfs(adj, v);
    let mut layer: HashMap<usize, i64> = HashMap::with_capacity(members.len());
    for &m in members {
        let l = if adj[m].len() == 1 {
            let p = adj[m][0];
            let toward_u = du[p] < dv[p];
            du[p] as i64 + if toward_u { -1 } else { 1 }
        } else {
            du[m] as i64
        };
        layer.insert(m, l);
    }
    (layer, du)
}

/// Every node's layer (see `layers_of`), for Graphviz's ranks.
fn all_layers(plan: &Plan) -> Vec<i64> {
    let n = plan.nodes.len();
    let adj = adjacency(plan);
    let mut out = vec![i64::MIN; n];
    for s in 0..n {
        if out[s] != i64::MIN {
            continue;
        }
        let d = bfs(&adj, s);
        let members: Vec<usize> = (0..n).filter(|&i| d[i] != usize::MAX).collect();
        let (layer, _) = layers_of(&adj, &members);
        for (m, l) in layer {
            out[m] = l;
        }
    }
    out
}

fn adjacency(plan: &Plan) -> Vec<Vec<usize>> {
    let mut adj = vec![Vec::new(); plan.nodes.len()];
    for (a, b) in ends(plan) {
        if a != b {
            adj[a].push(b);
            adj[b].push(a);
        }
    }
    adj
}

/// Lays out one component below `top`; returns its width and height.
fn layered(
    plan: &Plan,
    adj: &[Vec<usize>],
    members: &[usize],
    pos: &mut [(f64, f64)],
    top: f64,
) -> (f64, f64) {
    let (layer, du) = layers_of(adj, members);
    let low = layer.values().copied().min().unwrap_or(0);
    let count = (layer.values().copied().max().unwrap_or(0) - low + 1) as usize;
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); count];
    // Breadth-first order from u as the first order within each layer.
    let mut order: Vec<usize> = members.to_vec();
    order.sort_by_key(|&m| (du[m], m));
    for m in order {
        layers[(layer[&m] - low) as usize].push(m);
    }
    // Barycentre sweeps: left to right, then right to left.
    let mut rank = vec![0.0f64; adj.len()];
    let set_ranks = |layers: &[Vec<usize>], rank: &mut [f64]| {
        for l in layers {
            for (i, &m) in l.iter().enumerate() {
                rank[m] = i as f64 / l.len().max(1) as f64;
            }
        }
    };
    set_ranks(&layers, &mut rank);
    for sweep in 0..4 {
        let idx: Vec<usize> = if sweep % 2 == 0 {
            (1..count).collect()
        } else {
            (0..count.saturating_sub(1)).rev().collect()
        };
        for li in idx {
            let next = if sweep % 2 == 0 { li - 1 } else { li + 1 };
            let lay = &layers[li];
            let mut keyed: Vec<(f64, usize)> = lay
                .iter()
                .map(|&m| {
                    let near: Vec<f64> = adj[m]
                        .iter()
                        .filter(|&&o| layer.get(&o) == Some(&(next as i64 + low)))
                        .map(|&o| rank[o])
                        .collect();
                    let key = if near.is_empty() {
                        rank[m]
                    } else {
                        near.iter().sum::<f64>() / near.len() as f64
                    };
                    (key, m)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            layers[li] = keyed.into_iter().map(|(_, m)| m).collect();
            set_ranks(&layers[li..=li], &mut rank);
        }
    }
    // Columns: each layer as wide as its widest node, wrapped every COLUMN nodes.
    let mut x = MARGIN;
    let mut heights = Vec::with_capacity(count);
    let mut placed: Vec<(Vec<Vec<usize>>, f64)> = Vec::with_capacity(count);
    for l in &layers {
        let cols: Vec<Vec<usize>> = l.chunks(COLUMN).map(<[usize]>::to_vec).collect();
        let wide = l.iter().map(|&m| node_size(plan, m).0).fold(0.0, f64::max);
        for c in &cols {
            let h: f64 = c.iter().map(|&m| node_size(plan, m).1 + ROW_GAP).sum();
            heights.push(h);
        }
        placed.push((cols, wide));
    }
    let height = heights.iter().copied().fold(0.0, f64::max);
    for (cols, wide) in placed {
        for c in cols {
            let h: f64 = c.iter().map(|&m| node_size(plan, m).1 + ROW_GAP).sum();
            let mut y = top + (height - h) / 2.0;
            for m in c {
                let nh = node_size(plan, m).1 + ROW_GAP;
                pos[m] = (x + wide / 2.0, y + nh / 2.0);
                y += nh;
            }
            x += wide + LAYER_GAP / 2.0;
        }
        x += LAYER_GAP / 2.0;
    }
    (x - LAYER_GAP, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_routers() -> Plan {
        let text = include_str!("../../../../labs/two-routers.toml");
        let lab = crate::Lab::from_toml(text, "two-routers.toml", None, None).unwrap();
        crate::plan(&lab).unwrap()
    }

    fn x_of(plan: &Plan, l: &Layout, name: &str) -> f64 {
        l.nodes[plan.node_index(name).unwrap()].0
    }

    #[test]
    fn builtin_draws_two_routers_left_to_right() {
        let plan = two_routers();
        let l = builtin(&plan);
        // h1, h2 | s1 | r1 | r2 | s2 | h3, h4 (or its mirror image)
        let flip = if x_of(&plan, &l, "r1") < x_of(&plan, &l, "r2") {
            1.0
        } else {
            -1.0
        };
        let x = |n| flip * x_of(&plan, &l, n);
        assert_eq!(x("h1"), x("h2"));
        assert!(x("h1") < x("s1") && x("s1") < x("r1") && x("r1") < x("r2"));
        assert!(x("r2") < x("s2") && x("s2") < x("h3"));
        assert_eq!(x("h3"), x("h4"));
        for &(px, py) in &l.nodes {
            assert!(px > 0.0 && px < l.width && py > 0.0 && py < l.height);
        }
    }

    #[test]
    fn plain_output_is_read_back() {
        let plan = two_routers();
        let input = graphviz_input(&plan, "dot");
        assert!(input.contains("rankdir=LR"));
        assert_eq!(input.matches(" -- ").count(), plan.links.len());
        // r1 comes before r2 in dot's ranks, whichever way the lab file writes the link.
        let (r1, r2) = (
            plan.node_index("r1").unwrap(),
            plan.node_index("r2").unwrap(),
        );
        assert!(
            input.contains(&format!("n{r1} -- n{r2};"))
                || input.contains(&format!("n{r2} -- n{r1};")),
            "{input}"
        );
        // What `dot -Tplain` answers, shortened: every node, one edge with a spline (given
        // head first: it is turned around), the others without.
        let mut plain = String::from("graph 1 10 2\n");
        for i in 0..plan.nodes.len() {
            plain.push_str(&format!(
                "node n{i} {}.5 1 0.5 0.5 \"\" solid box black lightgrey\n",
                i
            ));
        }
        let (a, b) = ends(&plan)[0];
        plain.push_str(&format!("edge n{b} n{a} 4 1 1 2 1 3 1 4 1 solid black\n"));
        plain.push_str("stop\n");
        let l = parse_plain(&plan, &plain, "dot").unwrap();
        assert_eq!(l.nodes[1], (1.5 * 72.0 + MARGIN, 72.0 + MARGIN));
        assert_eq!(l.edges[0].len(), 4);
        assert_eq!(
            l.edges[0][0].0,
            4.0 * 72.0 + MARGIN,
            "reversed to run a → b"
        );
        assert!(l.edges[1].is_empty());
        assert!(parse_plain(&plan, "graph 1 1 1\nnode n0 0 0\n", "dot").is_err());
    }

    #[test]
    fn a_thousand_nodes_lay_out_at_once() {
        let text = crate::gen::generate(crate::gen::Shape::Star(999), None, false).unwrap();
        let lab = crate::Lab::from_toml(&text, "star.toml", None, None).unwrap();
        let plan = crate::plan(&lab).unwrap();
        let t = std::time::Instant::now();
        let l = builtin(&plan);
        assert!(t.elapsed().as_secs_f64() < 1.0, "{:?}", t.elapsed());
        assert_eq!(l.nodes.len(), plan.nodes.len());
    }
}
