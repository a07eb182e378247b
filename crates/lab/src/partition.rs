//! Splitting a lab's graph over several hosts: a multilevel min-cut partitioner.
//!
//! The nodes of one lab may be placed on several machines; a link between nodes on
//! different hosts becomes a tunnel. [`partition`] places every vertex of a [`Graph`] on
//! one of `k` parts (hosts) so that pins are honoured, each part's load stays within
//! [`IMBALANCE`] of its share of the total (shares in proportion to the capacities), and
//! as few edges as possible (by weight) are cut.
//!
//! The method is that of METIS:
//! - k parts by recursive bisection, the capacities of the two halves deciding each split;
//! - each bisection is multilevel: the graph is coarsened by heavy-edge matching (with
//!   two-hop matching of the leaves of stars), the coarsest graph is split by greedy graph
//!   growing from several seeds, and the split is projected back level by level, refined
//!   by Fiduccia–Mattheyses passes at each level;
//! - last, on the whole graph, a k-way pass moves vertices out of parts that are over
//!   their limit and a greedy boundary refinement moves vertices where that cuts less.
//!
//! Vertices pinned to different parts are never merged. Everything is deterministic: the
//! only randomness is a fixed-seed xorshift.

use std::collections::BinaryHeap;

/// The tolerated imbalance (0.03 = 3 %).
pub const IMBALANCE: f64 = 0.03;

/// An undirected graph to split: a weight per vertex (load: e.g. 1 per node), weighted edges.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Load of each vertex (≥ 1 expected; 0 allowed).
    pub weights: Vec<u32>,
    /// Undirected edges (a, b, weight); parallel edges and self-loops may occur (self-loops
    /// never count as cut). Edges naming a vertex beyond `weights` are ignored.
    pub edges: Vec<(usize, usize, u32)>,
}

/// Why a graph cannot be split.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PartitionError {
    /// No part to place anything on.
    #[error("no host to place nodes on")]
    NoParts,
    /// A pin names a part that does not exist.
    #[error("vertex {vertex} is pinned to part {part}, but there are only {parts} parts")]
    BadPin {
        /// The pinned vertex.
        vertex: usize,
        /// The part it is pinned to.
        part: usize,
        /// How many parts there are.
        parts: usize,
    },
    /// A capacity is not a positive finite number.
    #[error("part {part} has capacity {capacity}: it must be a positive number")]
    BadCapacity {
        /// The part whose capacity is wrong.
        part: usize,
        /// The capacity given.
        capacity: f64,
    },
}

/// Splits `g` into `capacities.len()` parts. Returns the part of every vertex.
///
/// `pins[v] = Some(p)`: v goes to part p (pins.len() == weights.len(), or pins empty
/// meaning no pins; a missing entry counts as no pin).
///
/// Load of part p should stay ≤ (1 + [`IMBALANCE`]) × its share (capacity_p / Σcapacity ×
/// total weight), rounded up to allow integral weights — unless pins alone force more (or
/// a single vertex is heavier than the tolerance allows). Within that, the cut (total
/// weight of the edges between parts, see [`cut`]) is kept small.
pub fn partition(
    g: &Graph,
    capacities: &[f64],
    pins: &[Option<usize>],
) -> Result<Vec<usize>, PartitionError> {
    let k = capacities.len();
    if k == 0 {
        return Err(PartitionError::NoParts);
    }
    for (part, &capacity) in capacities.iter().enumerate() {
        if !(capacity.is_finite() && capacity > 0.0) {
            return Err(PartitionError::BadCapacity { part, capacity });
        }
    }
    let n = g.weights.len();
    for (vertex, pin) in pins.iter().enumerate().take(n) {
        if let Some(part) = *pin {
            if part >= k {
                return Err(PartitionError::BadPin {
                    vertex,
                    part,
                    parts: k,
                });
            }
        }
    }
    if k == 1 || n == 0 {
        return Ok(vec![0; n]);
    }
    let full = Csr::from_graph(g, pins);
    let mut parts = vec![0; n];
    let mut loc = vec![NONE; n];
    let mut rng = Rng::new(0x006e_736e_6574);
    let verts: Vec<usize> = (0..n).collect();
    recurse(
        &full, &verts, 0, k, capacities, &mut parts, &mut rng, &mut loc,
    );

    let mut pinned = vec![0u64; k];
    for v in 0..n {
        if full.pin[v] != NONE {
            pinned[full.pin[v]] += full.vw[v];
        }
    }
    let limits = part_limits(full.total(), capacities, &pinned);
    let mut load = vec![0u64; k];
    for v in 0..n {
        load[parts[v]] += full.vw[v];
    }
    let mut kw = KWay::new(&full, &mut parts, load, &limits);
    kw.balance();
    kw.refine(8);
    Ok(parts)
}

/// Total weight of the edges whose ends are in different parts.
///
/// Self-loops never count; edges naming a vertex beyond `parts` are ignored.
pub fn cut(g: &Graph, parts: &[usize]) -> u64 {
    g.edges
        .iter()
        .filter(|&&(a, b, _)| match (parts.get(a), parts.get(b)) {
            (Some(pa), Some(pb)) => pa != pb,
            _ => false,
        })
        .map(|&(_, _, w)| u64::from(w))
        .sum()
}

/// Load (sum of vertex weights) of each of `k` parts.
///
/// Vertices whose part is `k` or more are not counted.
pub fn loads(g: &Graph, parts: &[usize], k: usize) -> Vec<u64> {
    let mut out = vec![0u64; k];
    for (&w, &p) in g.weights.iter().zip(parts) {
        if let Some(l) = out.get_mut(p) {
            *l += u64::from(w);
        }
    }
    out
}

/// "No vertex", "no pin", "not in the subgraph".
const NONE: usize = usize::MAX;
/// The pin side of a vertex free to go either way in a bisection.
const FREE: u8 = 2;
/// Coarsening stops at about this many vertices.
const COARSEST: usize = 100;
/// Multilevel bisections tried per split (the best is kept).
const ML_TRIALS: usize = 4;
/// Initial bisections tried on the coarsest graph.
const INIT_TRIALS: usize = 8;
/// FM passes per level.
const FM_PASSES: usize = 8;

/// A tiny xorshift: deterministic, good enough to shuffle visiting orders.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// A graph in compressed adjacency form, without self-loops or parallel edges.
#[derive(Clone)]
struct Csr {
    xadj: Vec<usize>,
    adj: Vec<usize>,
    ew: Vec<u64>,
    vw: Vec<u64>,
    /// The part each vertex is pinned to, or `NONE`.
    pin: Vec<usize>,
}

impl Csr {
    fn n(&self) -> usize {
        self.vw.len()
    }

    fn total(&self) -> u64 {
        self.vw.iter().sum()
    }

    fn nbrs(&self, v: usize) -> impl Iterator<Item = (usize, u64)> + '_ {
        let r = self.xadj[v]..self.xadj[v + 1];
        self.adj[r.clone()]
            .iter()
            .copied()
            .zip(self.ew[r].iter().copied())
    }

    fn from_graph(g: &Graph, pins: &[Option<usize>]) -> Csr {
        let n = g.weights.len();
        let ok = |a: usize, b: usize| a != b && a < n && b < n;
        let mut start = vec![0usize; n + 1];
        for &(a, b, _) in &g.edges {
            if ok(a, b) {
                start[a + 1] += 1;
                start[b + 1] += 1;
            }
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill = start.clone();
        let mut adj = vec![0usize; start[n]];
        let mut ew = vec![0u64; start[n]];
        for &(a, b, w) in &g.edges {
            if ok(a, b) {
                adj[fill[a]] = b;
                ew[fill[a]] = u64::from(w);
                fill[a] += 1;
                adj[fill[b]] = a;
                ew[fill[b]] = u64::from(w);
                fill[b] += 1;
            }
        }
        // Merge parallel edges in place; `pos[u] >= first` means u is already in v's row.
        let mut pos = vec![NONE; n];
        let mut xadj = Vec::with_capacity(n + 1);
        xadj.push(0);
        let mut out = 0;
        for v in 0..n {
            let first = out;
            for i in start[v]..start[v + 1] {
                let (u, w) = (adj[i], ew[i]);
                if pos[u] != NONE && pos[u] >= first {
                    ew[pos[u]] += w;
                } else {
                    pos[u] = out;
                    adj[out] = u;
                    ew[out] = w;
                    out += 1;
                }
            }
            xadj.push(out);
        }
        adj.truncate(out);
        ew.truncate(out);
        Csr {
            xadj,
            adj,
            ew,
            vw: g.weights.iter().map(|&w| u64::from(w)).collect(),
            pin: (0..n)
                .map(|v| pins.get(v).copied().flatten().unwrap_or(NONE))
                .collect(),
        }
    }

    /// The subgraph induced by `verts` (renumbered in that order). `loc` is all `NONE`
    /// on entry and on return.
    fn induce(&self, verts: &[usize], loc: &mut [usize]) -> Csr {
        for (i, &v) in verts.iter().enumerate() {
            loc[v] = i;
        }
        let mut xadj = Vec::with_capacity(verts.len() + 1);
        xadj.push(0);
        let mut adj = Vec::new();
        let mut ew = Vec::new();
        for &v in verts {
            for (u, w) in self.nbrs(v) {
                if loc[u] != NONE {
                    adj.push(loc[u]);
                    ew.push(w);
                }
            }
            xadj.push(adj.len());
        }
        let sub = Csr {
            xadj,
            adj,
            ew,
            vw: verts.iter().map(|&v| self.vw[v]).collect(),
            pin: verts.iter().map(|&v| self.pin[v]).collect(),
        };
        for &v in verts {
            loc[v] = NONE;
        }
        sub
    }
}

/// The most each part may hold: its share plus the tolerance, rounded up, or what is
/// pinned to it if that is more.
fn part_limits(total: u64, caps: &[f64], pinned: &[u64]) -> Vec<u64> {
    let sum: f64 = caps.iter().sum();
    caps.iter()
        .zip(pinned)
        .map(|(&c, &p)| {
            let share = total as f64 * c / sum;
            let lim = ((1.0 + IMBALANCE) * share - 1e-9).ceil().max(0.0) as u64;
            lim.max(p)
        })
        .collect()
}

/// Splits the vertices `verts` of `full` over parts `lo..hi`, writing into `parts`.
#[allow(clippy::too_many_arguments)]
fn recurse(
    full: &Csr,
    verts: &[usize],
    lo: usize,
    hi: usize,
    caps: &[f64],
    parts: &mut [usize],
    rng: &mut Rng,
    loc: &mut [usize],
) {
    if verts.is_empty() {
        return;
    }
    if hi - lo == 1 {
        for &v in verts {
            parts[v] = lo;
        }
        return;
    }
    let mid = lo + (hi - lo) / 2;
    let sub = full.induce(verts, loc);
    let total = sub.total();
    let cl: f64 = caps[lo..mid].iter().sum();
    let cr: f64 = caps[mid..hi].iter().sum();
    let t0 = total as f64 * cl / (cl + cr);
    // Each level of bisection gets its share of the tolerance, so that their product
    // stays within it.
    let levels = (usize::BITS - (hi - lo - 1).leading_zeros()) as f64;
    let e = (1.0 + IMBALANCE).powf(1.0 / levels) - 1.0;
    let ps = pin_sides(&sub, mid);
    let mut pinned = [0u64; 2];
    for v in 0..sub.n() {
        if ps[v] != FREE {
            pinned[ps[v] as usize] += sub.vw[v];
        }
    }
    let maxw = [
        ((t0 * (1.0 + e) - 1e-9).ceil().max(0.0) as u64).max(pinned[0]),
        (((total as f64 - t0) * (1.0 + e) - 1e-9).ceil().max(0.0) as u64).max(pinned[1]),
    ];
    let target0 = (t0.round() as u64).min(total);
    let trials = if sub.n() > 20_000 { 2 } else { ML_TRIALS };
    let mut best: Option<((u64, u64), Vec<u8>)> = None;
    for _ in 0..trials {
        let side = multilevel_bisect(&sub, mid, target0, maxw, rng);
        let key = (overload(side_weights(&sub, &side), maxw), cut2(&sub, &side));
        if best.as_ref().is_none_or(|(b, _)| key < *b) {
            best = Some((key, side));
        }
    }
    let side = best.map(|(_, s)| s).unwrap_or_default();
    let mut left = Vec::new();
    let mut right = Vec::new();
    for (i, &v) in verts.iter().enumerate() {
        if side[i] == 0 {
            left.push(v);
        } else {
            right.push(v);
        }
    }
    drop(sub);
    recurse(full, &left, lo, mid, caps, parts, rng, loc);
    recurse(full, &right, mid, hi, caps, parts, rng, loc);
}

/// The side each vertex is pinned to in a bisection at `mid` (or `FREE`).
fn pin_sides(g: &Csr, mid: usize) -> Vec<u8> {
    g.pin
        .iter()
        .map(|&p| match p {
            NONE => FREE,
            p => u8::from(p >= mid),
        })
        .collect()
}

fn side_weights(g: &Csr, side: &[u8]) -> [u64; 2] {
    let mut w = [0u64; 2];
    for (&s, &x) in side.iter().zip(&g.vw) {
        w[s as usize] += x;
    }
    w
}

fn cut2(g: &Csr, side: &[u8]) -> u64 {
    let mut c = 0;
    for v in 0..g.n() {
        for (u, w) in g.nbrs(v) {
            if side[u] != side[v] {
                c += w;
            }
        }
    }
    c / 2
}

fn overload(w: [u64; 2], maxw: [u64; 2]) -> u64 {
    w[0].saturating_sub(maxw[0]) + w[1].saturating_sub(maxw[1])
}

/// One multilevel bisection: coarsen, split the coarsest graph, refine on the way back.
fn multilevel_bisect(g: &Csr, mid: usize, target0: u64, maxw: [u64; 2], rng: &mut Rng) -> Vec<u8> {
    let total = g.total();
    let maxv = ((total as f64 * 1.5 / COARSEST as f64).ceil() as u64).max(1);
    let mut graphs: Vec<Csr> = Vec::new();
    let mut maps: Vec<Vec<usize>> = Vec::new();
    loop {
        let cur = graphs.last().unwrap_or(g);
        let n = cur.n();
        if n <= COARSEST {
            break;
        }
        let (coarse, map) = coarsen(cur, maxv, rng);
        let cn = coarse.n();
        if cn < n {
            graphs.push(coarse);
            maps.push(map);
        }
        if cn as f64 > 0.95 * n as f64 {
            break;
        }
    }
    let coarsest = graphs.last().unwrap_or(g);
    let ps = pin_sides(coarsest, mid);
    let mut side = initial(coarsest, &ps, target0, maxw, rng);
    for lvl in (0..graphs.len()).rev() {
        let finer = if lvl == 0 { g } else { &graphs[lvl - 1] };
        side = maps[lvl].iter().map(|&c| side[c]).collect();
        let ps = pin_sides(finer, mid);
        fm(finer, &ps, &mut side, maxw, FM_PASSES);
    }
    side
}

/// One level of coarsening: heavy-edge matching, then two-hop matching (vertices sharing
/// a neighbour, e.g. leaves of a star) if too many are left, then isolated vertices in
/// pairs. Returns the coarse graph and the coarse vertex of every vertex.
fn coarsen(g: &Csr, maxv: u64, rng: &mut Rng) -> (Csr, Vec<usize>) {
    let n = g.n();
    let mut mate = vec![NONE; n];
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let compat = |a: usize, b: usize| g.pin[a] == NONE || g.pin[b] == NONE || g.pin[a] == g.pin[b];
    for &v in &order {
        if mate[v] != NONE {
            continue;
        }
        let mut best = NONE;
        let mut bw = 0;
        for (u, w) in g.nbrs(v) {
            if mate[u] == NONE
                && compat(u, v)
                && g.vw[u] + g.vw[v] <= maxv
                && (best == NONE || w > bw || (w == bw && g.vw[u] < g.vw[best]))
            {
                best = u;
                bw = w;
            }
        }
        if best != NONE {
            mate[v] = best;
            mate[best] = v;
        }
    }
    let unmatched = mate.iter().filter(|&&m| m == NONE).count();
    if unmatched > n / 10 {
        let mut pair = Pairer::default();
        for &h in &order {
            pair.reset();
            for (u, _) in g.nbrs(h) {
                if mate[u] == NONE {
                    pair.offer(g, u, maxv, &mut mate);
                }
            }
        }
        pair.reset();
        for &v in &order {
            if mate[v] == NONE && g.xadj[v] == g.xadj[v + 1] {
                pair.offer(g, v, maxv, &mut mate);
            }
        }
    }
    for (v, m) in mate.iter_mut().enumerate() {
        if *m == NONE {
            *m = v;
        }
    }

    let mut cmap = vec![0usize; n];
    let mut cn = 0;
    for v in 0..n {
        let u = mate[v];
        if u >= v {
            cmap[v] = cn;
            cmap[u] = cn;
            cn += 1;
        }
    }
    let mut vw = vec![0u64; cn];
    let mut pin = vec![NONE; cn];
    for v in 0..n {
        vw[cmap[v]] += g.vw[v];
        if g.pin[v] != NONE {
            pin[cmap[v]] = g.pin[v];
        }
    }
    let mut pos = vec![NONE; cn];
    let mut xadj = Vec::with_capacity(cn + 1);
    xadj.push(0);
    let mut adj = Vec::with_capacity(g.adj.len() / 2);
    let mut ew: Vec<u64> = Vec::with_capacity(g.adj.len() / 2);
    for v in 0..n {
        let u = mate[v];
        if u < v {
            continue;
        }
        let c = cmap[v];
        let first = adj.len();
        let members = if u == v { [v, NONE] } else { [v, u] };
        for x in members.into_iter().filter(|&x| x != NONE) {
            for (y, w) in g.nbrs(x) {
                let cy = cmap[y];
                if cy == c {
                    continue;
                }
                if pos[cy] != NONE && pos[cy] >= first {
                    ew[pos[cy]] += w;
                } else {
                    pos[cy] = adj.len();
                    adj.push(cy);
                    ew.push(w);
                }
            }
        }
        xadj.push(adj.len());
    }
    (
        Csr {
            xadj,
            adj,
            ew,
            vw,
            pin,
        },
        cmap,
    )
}

/// Pairs up the vertices offered to it, as pins allow: one waiting free vertex and one
/// waiting pinned vertex at a time.
#[derive(Default)]
struct Pairer {
    free: Option<usize>,
    pinned: Option<usize>,
}

impl Pairer {
    fn reset(&mut self) {
        self.free = None;
        self.pinned = None;
    }

    fn offer(&mut self, g: &Csr, u: usize, maxv: u64, mate: &mut [usize]) {
        let fits = |c: usize| g.vw[c] + g.vw[u] <= maxv;
        let take = if g.pin[u] == NONE {
            match (self.free, self.pinned) {
                (Some(c), _) if fits(c) => self.free.take(),
                (_, Some(c)) if fits(c) => self.pinned.take(),
                _ => None,
            }
        } else {
            match (self.pinned, self.free) {
                (Some(c), _) if g.pin[c] == g.pin[u] && fits(c) => self.pinned.take(),
                (_, Some(c)) if fits(c) => self.free.take(),
                _ => None,
            }
        };
        match take {
            Some(c) => {
                mate[c] = u;
                mate[u] = c;
            }
            None if g.pin[u] == NONE => self.free = Some(u),
            None => self.pinned = Some(u),
        }
    }
}

/// The best of several greedy growings (each side grown in turn), each refined by FM.
fn initial(g: &Csr, ps: &[u8], target0: u64, maxw: [u64; 2], rng: &mut Rng) -> Vec<u8> {
    let total = g.total();
    let trials = if g.n() <= 4 * COARSEST {
        INIT_TRIALS
    } else {
        2
    };
    let mut best: Option<((u64, u64), Vec<u8>)> = None;
    for t in 0..trials {
        let s = (t % 2) as u8;
        let target = if s == 0 { target0 } else { total - target0 };
        let mut side = grow(g, ps, s, target, maxw[s as usize], rng);
        fm(g, ps, &mut side, maxw, FM_PASSES);
        let key = (overload(side_weights(g, &side), maxw), cut2(g, &side));
        if best.as_ref().is_none_or(|(b, _)| key < *b) {
            best = Some((key, side));
        }
    }
    best.map(|(_, s)| s).unwrap_or_default()
}

/// Greedy graph growing: side `s` starts with what is pinned to it and takes, one at a
/// time, the vertex that adds least to the cut, until it weighs `target`.
fn grow(g: &Csr, ps: &[u8], s: u8, target: u64, max: u64, rng: &mut Rng) -> Vec<u8> {
    let n = g.n();
    let o = 1 - s;
    let mut side: Vec<u8> = ps.iter().map(|&p| if p == FREE { o } else { p }).collect();
    let mut ws: u64 = (0..n).filter(|&v| side[v] == s).map(|v| g.vw[v]).sum();
    let mut conn = vec![0i64; n];
    let mut deg = vec![0i64; n];
    for v in 0..n {
        for (u, x) in g.nbrs(v) {
            deg[v] += x as i64;
            if side[u] == s {
                conn[v] += x as i64;
            }
        }
    }
    let mut heap = BinaryHeap::new();
    for v in 0..n {
        if ps[v] == FREE && conn[v] > 0 {
            heap.push((2 * conn[v] - deg[v], v));
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&v| ps[v] == FREE).collect();
    rng.shuffle(&mut order);
    let mut cursor = 0;
    while ws < target {
        let next = loop {
            if let Some((gain, v)) = heap.pop() {
                if side[v] != o || gain != 2 * conn[v] - deg[v] || ws + g.vw[v] > max {
                    continue;
                }
                break Some(v);
            }
            while cursor < order.len()
                && (side[order[cursor]] != o || ws + g.vw[order[cursor]] > max)
            {
                cursor += 1;
            }
            break order.get(cursor).copied();
        };
        let Some(v) = next else { break };
        side[v] = s;
        ws += g.vw[v];
        for (u, x) in g.nbrs(v) {
            conn[u] += x as i64;
            if side[u] == o && ps[u] == FREE {
                heap.push((2 * conn[u] - deg[u], u));
            }
        }
    }
    side
}

/// Moves `v` to the other side, keeping the internal/external degrees, weights and cut.
#[allow(clippy::too_many_arguments)]
fn flip(
    g: &Csr,
    v: usize,
    side: &mut [u8],
    id: &mut [i64],
    ed: &mut [i64],
    w: &mut [u64; 2],
    cut: &mut i64,
) {
    let s = side[v] as usize;
    let t = 1 - s;
    *cut += id[v] - ed[v];
    std::mem::swap(&mut id[v], &mut ed[v]);
    side[v] = t as u8;
    w[s] -= g.vw[v];
    w[t] += g.vw[v];
    for (u, x) in g.nbrs(v) {
        let x = x as i64;
        if side[u] as usize == t {
            id[u] += x;
            ed[u] -= x;
        } else {
            id[u] -= x;
            ed[u] += x;
        }
    }
}

/// Fiduccia–Mattheyses refinement of a bisection: passes of single moves (best gain
/// first, each vertex at most once a pass, within the weight limits or towards them),
/// each pass kept up to its best point. While a side is over its limit every vertex is a
/// candidate, otherwise only the boundary.
fn fm(g: &Csr, ps: &[u8], side: &mut [u8], maxw: [u64; 2], passes: usize) {
    let n = g.n();
    if n == 0 {
        return;
    }
    let mut id = vec![0i64; n];
    let mut ed = vec![0i64; n];
    let mut w = [0u64; 2];
    for v in 0..n {
        w[side[v] as usize] += g.vw[v];
        for (u, x) in g.nbrs(v) {
            if side[u] == side[v] {
                id[v] += x as i64;
            } else {
                ed[v] += x as i64;
            }
        }
    }
    let mut cut: i64 = ed.iter().sum::<i64>() / 2;
    let mut locked = vec![false; n];
    let mut heaps: [BinaryHeap<(i64, usize)>; 2] = [BinaryHeap::new(), BinaryHeap::new()];
    let mut moves: Vec<usize> = Vec::new();
    let limit = (n / 50).clamp(50, 400);
    for _ in 0..passes {
        let start_ov = overload(w, maxw);
        heaps[0].clear();
        heaps[1].clear();
        moves.clear();
        for v in 0..n {
            if ps[v] == FREE && (start_ov > 0 || ed[v] > 0) {
                heaps[side[v] as usize].push((ed[v] - id[v], v));
            }
        }
        let mut best = (start_ov, cut);
        let mut best_len = 0;
        let mut since = 0;
        loop {
            let ov = overload(w, maxw);
            let mut cand: [Option<(i64, usize)>; 2] = [None, None];
            for s in 0..2 {
                while let Some(&(gain, v)) = heaps[s].peek() {
                    if locked[v] || side[v] as usize != s || gain != ed[v] - id[v] {
                        heaps[s].pop();
                        continue;
                    }
                    let mut nw = w;
                    nw[s] -= g.vw[v];
                    nw[1 - s] += g.vw[v];
                    let nov = overload(nw, maxw);
                    if nov == 0 || nov < ov {
                        cand[s] = Some((gain, v));
                        break;
                    }
                    heaps[s].pop();
                }
            }
            let s = match cand {
                [None, None] => break,
                [Some(_), None] => 0,
                [None, Some(_)] => 1,
                [Some((g0, _)), Some((g1, _))] => {
                    if g0 != g1 {
                        usize::from(g1 > g0)
                    } else {
                        // Equal gains: move out of the fuller side.
                        let f0 = w[0] as u128 * maxw[1].max(1) as u128;
                        let f1 = w[1] as u128 * maxw[0].max(1) as u128;
                        usize::from(f1 > f0)
                    }
                }
            };
            let Some((_, v)) = cand[s] else { break };
            heaps[s].pop();
            flip(g, v, side, &mut id, &mut ed, &mut w, &mut cut);
            locked[v] = true;
            moves.push(v);
            for (u, _) in g.nbrs(v) {
                if !locked[u] && ps[u] == FREE {
                    heaps[side[u] as usize].push((ed[u] - id[u], u));
                }
            }
            let state = (overload(w, maxw), cut);
            if state < best {
                best = state;
                best_len = moves.len();
                since = 0;
            } else {
                since += 1;
                if since > limit {
                    break;
                }
            }
        }
        for &v in moves[best_len..].iter().rev() {
            flip(g, v, side, &mut id, &mut ed, &mut w, &mut cut);
        }
        for &v in &moves {
            locked[v] = false;
        }
        if best_len == 0 {
            break;
        }
    }
}

/// The k-way passes on the whole graph: balancing, then greedy boundary refinement.
struct KWay<'a> {
    g: &'a Csr,
    parts: &'a mut [usize],
    load: Vec<u64>,
    limits: &'a [u64],
    conn: Vec<u64>,
    seen: Vec<bool>,
    touched: Vec<usize>,
}

impl<'a> KWay<'a> {
    fn new(g: &'a Csr, parts: &'a mut [usize], load: Vec<u64>, limits: &'a [u64]) -> Self {
        let k = limits.len();
        KWay {
            g,
            parts,
            load,
            limits,
            conn: vec![0; k],
            seen: vec![false; k],
            touched: Vec::new(),
        }
    }

    fn fits(&self, q: usize, w: u64) -> bool {
        self.load[q] + w <= self.limits[q]
    }

    /// (load + w) / limit of part q, for comparisons.
    fn fill(&self, q: usize, w: u64) -> f64 {
        (self.load[q] + w) as f64 / self.limits[q].max(1) as f64
    }

    /// The best part to move `v` to among those it has edges to and that have room for it,
    /// with the gain (cut saved); if there is none and `anywhere`, the emptiest part that
    /// has room.
    fn best_move(&mut self, v: usize, anywhere: bool) -> Option<(i64, usize)> {
        let own = self.parts[v];
        let vw = self.g.vw[v];
        for (u, x) in self.g.nbrs(v) {
            let p = self.parts[u];
            if !self.seen[p] {
                self.seen[p] = true;
                self.touched.push(p);
            }
            self.conn[p] += x;
        }
        let internal = self.conn[own] as i64;
        let mut best: Option<(u64, usize)> = None;
        for &q in &self.touched {
            if q == own || !self.fits(q, vw) {
                continue;
            }
            let better = match best {
                None => true,
                Some((c, b)) => {
                    self.conn[q] > c || (self.conn[q] == c && self.fill(q, vw) < self.fill(b, vw))
                }
            };
            if better {
                best = Some((self.conn[q], q));
            }
        }
        for &q in &self.touched {
            self.conn[q] = 0;
            self.seen[q] = false;
        }
        self.touched.clear();
        match best {
            Some((c, q)) => Some((c as i64 - internal, q)),
            None if anywhere => (0..self.limits.len())
                .filter(|&q| q != own && self.fits(q, vw))
                .min_by(|&a, &b| self.fill(a, vw).total_cmp(&self.fill(b, vw)))
                .map(|q| (-internal, q)),
            None => None,
        }
    }

    fn shift(&mut self, v: usize, q: usize) {
        let w = self.g.vw[v];
        self.load[self.parts[v]] -= w;
        self.load[q] += w;
        self.parts[v] = q;
    }

    /// Moves vertices out of every part over its limit, those that cost least first.
    fn balance(&mut self) {
        let k = self.limits.len();
        for p in 0..k {
            if self.load[p] <= self.limits[p] {
                continue;
            }
            let mut heap = BinaryHeap::new();
            for v in 0..self.g.n() {
                if self.parts[v] == p && self.g.pin[v] == NONE {
                    if let Some((gain, _)) = self.best_move(v, true) {
                        heap.push((gain, v));
                    }
                }
            }
            while self.load[p] > self.limits[p] {
                let Some((gain, v)) = heap.pop() else { break };
                if self.parts[v] != p {
                    continue;
                }
                match self.best_move(v, true) {
                    Some((g2, q)) if g2 == gain => self.shift(v, q),
                    Some((g2, _)) => heap.push((g2, v)),
                    None => {}
                }
            }
        }
    }

    /// Greedy boundary refinement: moves a vertex to a neighbouring part with room if that
    /// cuts less, or cuts as much and evens the loads.
    fn refine(&mut self, passes: usize) {
        for _ in 0..passes {
            let mut moved = 0;
            for v in 0..self.g.n() {
                if self.g.pin[v] != NONE {
                    continue;
                }
                let own = self.parts[v];
                let vw = self.g.vw[v];
                if let Some((gain, q)) = self.best_move(v, false) {
                    if gain > 0 || (gain == 0 && vw > 0 && self.fill(q, vw) < self.fill(own, 0)) {
                        self.shift(v, q);
                        moved += 1;
                    }
                }
            }
            if moved == 0 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn unit(n: usize, edges: Vec<(usize, usize)>) -> Graph {
        Graph {
            weights: vec![1; n],
            edges: edges.into_iter().map(|(a, b)| (a, b, 1)).collect(),
        }
    }

    fn cliques(size: usize) -> Graph {
        let mut e = Vec::new();
        for base in [0, size] {
            for a in 0..size {
                for b in a + 1..size {
                    e.push((base + a, base + b));
                }
            }
        }
        e.push((size - 1, size));
        unit(2 * size, e)
    }

    fn grid(rows: usize, cols: usize) -> Graph {
        let mut e = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let v = r * cols + c;
                if c + 1 < cols {
                    e.push((v, v + 1));
                }
                if r + 1 < rows {
                    e.push((v, v + cols));
                }
            }
        }
        unit(rows * cols, e)
    }

    fn ring(n: usize) -> Graph {
        unit(n, (0..n).map(|v| (v, (v + 1) % n)).collect())
    }

    fn line(n: usize) -> Graph {
        unit(n, (1..n).map(|v| (v - 1, v)).collect())
    }

    /// A tree numbered breadth-first: the root, then its children, and so on.
    fn tree(branching: usize, depth: usize) -> Graph {
        let mut e = Vec::new();
        let mut level = vec![0usize];
        let mut n = 1;
        for _ in 0..depth {
            let mut next = Vec::new();
            for &p in &level {
                for _ in 0..branching {
                    e.push((p, n));
                    next.push(n);
                    n += 1;
                }
            }
            level = next;
        }
        unit(n, e)
    }

    /// A k-ary fat-tree: (k/2)² core switches, k pods of k/2 aggregation and k/2 edge
    /// switches, k/2 hosts under each edge switch.
    fn fat_tree(k: usize) -> Graph {
        let h = k / 2;
        let cores = h * h;
        let agg = |pod: usize, i: usize| cores + pod * h + i;
        let edge = |pod: usize, i: usize| cores + k * h + pod * h + i;
        let host = |pod: usize, i: usize, j: usize| cores + 2 * k * h + (pod * h + i) * h + j;
        let mut e = Vec::new();
        for pod in 0..k {
            for i in 0..h {
                for j in 0..h {
                    e.push((agg(pod, i), i * h + j));
                    e.push((edge(pod, i), agg(pod, j)));
                    e.push((edge(pod, i), host(pod, i, j)));
                }
            }
        }
        unit(cores + 2 * k * h + k * h * h, e)
    }

    /// The same graph with its vertices renumbered by a deterministic shuffle.
    fn shuffled(g: &Graph, seed: u64) -> Graph {
        let n = g.weights.len();
        let mut perm: Vec<usize> = (0..n).collect();
        Rng::new(seed).shuffle(&mut perm);
        let mut weights = vec![0; n];
        for (i, &p) in perm.iter().enumerate() {
            weights[p] = g.weights[i];
        }
        Graph {
            weights,
            edges: g
                .edges
                .iter()
                .map(|&(a, b, w)| (perm[a], perm[b], w))
                .collect(),
        }
    }

    /// The cut of the contiguous-index split `v * k / n`.
    fn naive_cut(g: &Graph, k: usize) -> u64 {
        let n = g.weights.len();
        let parts: Vec<usize> = (0..n).map(|v| v * k / n).collect();
        cut(g, &parts)
    }

    /// Runs the partitioner and checks pins and the balance limit; returns parts, cut.
    fn check(g: &Graph, caps: &[f64], pins: &[Option<usize>]) -> (Vec<usize>, u64) {
        let parts = partition(g, caps, pins).unwrap();
        assert_eq!(parts.len(), g.weights.len());
        let k = caps.len();
        assert!(parts.iter().all(|&p| p < k));
        for (v, pin) in pins.iter().enumerate() {
            if let Some(p) = pin {
                assert_eq!(parts[v], *p, "pin of vertex {v}");
            }
        }
        let l = loads(g, &parts, k);
        let total: u64 = l.iter().sum();
        let sum: f64 = caps.iter().sum();
        for (p, &c) in caps.iter().enumerate() {
            let lim = ((1.0 + IMBALANCE) * total as f64 * c / sum - 1e-9).ceil() as u64;
            assert!(l[p] <= lim, "part {p} holds {} > {lim}: {l:?}", l[p]);
        }
        let c = cut(g, &parts);
        println!("n={} k={k}: cut {c}, loads {l:?}", g.weights.len());
        (parts, c)
    }

    #[test]
    fn two_cliques() {
        let g = cliques(50);
        let (parts, c) = check(&g, &[1.0, 1.0], &[]);
        assert_eq!(c, 1);
        assert_eq!(loads(&g, &parts, 2), vec![50, 50]);
    }

    #[test]
    fn grid_bisection_and_quarters() {
        let g = grid(20, 20);
        let (_, c2) = check(&g, &[1.0, 1.0], &[]);
        assert!(c2 <= 24, "cut {c2}");
        let (_, c4) = check(&g, &[1.0; 4], &[]);
        assert!(c4 <= 48, "cut {c4}");
    }

    #[test]
    fn ring_in_four() {
        let (_, c) = check(&ring(1000), &[1.0; 4], &[]);
        assert!(c <= 8, "cut {c}");
    }

    #[test]
    fn tree_beats_naive() {
        let g = shuffled(&tree(10, 3), 7);
        assert_eq!(g.weights.len(), 1111);
        for k in [2, 4] {
            let naive = naive_cut(&g, k);
            let (_, c) = check(&g, &vec![1.0; k], &[]);
            println!("naive {naive}");
            assert!(c * 10 <= naive, "k={k}: cut {c}, naive {naive}");
        }
    }

    #[test]
    fn fat_tree_beats_naive() {
        let g = shuffled(&fat_tree(8), 11);
        assert_eq!(g.weights.len(), 208);
        for k in [2, 4, 8] {
            let naive = naive_cut(&g, k);
            let (_, c) = check(&g, &vec![1.0; k], &[]);
            println!("naive {naive}");
            assert!(c * 2 <= naive, "k={k}: cut {c}, naive {naive}");
        }
    }

    #[test]
    fn pins_are_honoured() {
        let g = line(100);
        let mut pins = vec![None; 100];
        for p in pins.iter_mut().take(10) {
            *p = Some(1);
        }
        for p in pins.iter_mut().skip(90) {
            *p = Some(0);
        }
        pins[50] = Some(1);
        let (_, c) = check(&g, &[1.0, 1.0], &pins);
        assert!(c <= 2, "cut {c}");

        // Four parts, the corners of a grid pinned crosswise, plus a pinned middle.
        let g = grid(20, 20);
        let mut pins = vec![None; 400];
        pins[0] = Some(3);
        pins[19] = Some(2);
        pins[380] = Some(1);
        pins[399] = Some(0);
        pins[210] = Some(0);
        let (_, c) = check(&g, &[1.0; 4], &pins);
        assert!(c <= 60, "cut {c}");
    }

    #[test]
    fn pins_forcing_imbalance() {
        let g = grid(10, 10);
        let pins = vec![Some(0); 100];
        let parts = partition(&g, &[1.0, 1.0, 1.0], &pins).unwrap();
        assert!(parts.iter().all(|&p| p == 0));
        assert_eq!(cut(&g, &parts), 0);
    }

    #[test]
    fn capacities_three_to_one() {
        let g = grid(20, 20);
        let (parts, c) = check(&g, &[3.0, 1.0], &[]);
        let l = loads(&g, &parts, 2);
        assert!(l[1] >= 97 && l[0] >= 297, "loads {l:?}");
        assert!(c <= 30, "cut {c}");
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(partition(&Graph::default(), &[1.0, 1.0], &[]), Ok(vec![]));
        let g = grid(5, 5);
        assert_eq!(partition(&g, &[1.0], &[]), Ok(vec![0; 25]));
        // More parts than vertices.
        let (parts, _) = check(&line(3), &[1.0; 8], &[]);
        let mut seen = parts.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 3);
        // No edges at all.
        let g = Graph {
            weights: vec![1; 40],
            edges: vec![],
        };
        check(&g, &[1.0; 4], &[]);
        // Disconnected pieces, self-loops, parallel edges.
        let mut g = ring(30);
        g.edges.extend((30..60).map(|v| (v, v, 1)));
        g.edges.extend((31..60).map(|v| (v - 1, v, 1)));
        g.edges.push((0, 1, 5));
        g.weights.extend([1; 30]);
        let (_, c) = check(&g, &[1.0; 2], &[]);
        assert!(c <= 2, "cut {c}");
        // A heavy vertex: best effort, no panic.
        let mut g = line(10);
        g.weights[3] = 100;
        let parts = partition(&g, &[1.0, 1.0], &[]).unwrap();
        assert_eq!(parts.len(), 10);
        // Zero weights.
        let g = Graph {
            weights: vec![0; 10],
            edges: vec![(0, 1, 1)],
        };
        assert_eq!(partition(&g, &[1.0, 1.0], &[]).unwrap().len(), 10);
    }

    #[test]
    fn errors() {
        let g = line(4);
        assert_eq!(partition(&g, &[], &[]), Err(PartitionError::NoParts));
        let pins = vec![None, Some(5), None, None];
        assert_eq!(
            partition(&g, &[1.0, 1.0], &pins),
            Err(PartitionError::BadPin {
                vertex: 1,
                part: 5,
                parts: 2
            })
        );
        for bad in [0.0, -1.0, f64::INFINITY] {
            assert_eq!(
                partition(&g, &[1.0, bad], &[]),
                Err(PartitionError::BadCapacity {
                    part: 1,
                    capacity: bad
                })
            );
        }
        assert!(matches!(
            partition(&g, &[f64::NAN, 1.0], &[]),
            Err(PartitionError::BadCapacity { part: 0, capacity }) if capacity.is_nan()
        ));
    }

    #[test]
    fn deterministic() {
        let g = shuffled(&fat_tree(8), 3);
        let a = partition(&g, &[1.0; 4], &[]).unwrap();
        let b = partition(&g, &[1.0; 4], &[]).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    #[ignore = "timing; run in release with --nocapture"]
    fn timing() {
        let cases = [
            ("tree b=100 d=2", shuffled(&tree(100, 2), 5)),
            ("fat-tree k=32", shuffled(&fat_tree(32), 5)),
            ("grid 100x100", grid(100, 100)),
            ("grid 316x316", grid(316, 316)),
            ("tree b=10 d=5", shuffled(&tree(10, 5), 5)),
            ("fat-tree k=72", shuffled(&fat_tree(72), 5)),
        ];
        for (name, g) in &cases {
            for k in [2, 4, 8] {
                let t = Instant::now();
                let parts = partition(g, &vec![1.0; k], &[]).unwrap();
                let dt = t.elapsed();
                let l = loads(g, &parts, k);
                let max = *l.iter().max().unwrap() as f64;
                let avg = g.weights.len() as f64 / k as f64;
                println!(
                    "{name:>14} n={:>6} m={:>6} k={k}: {:>7.1} ms, cut {:>6} (naive {:>6}), \
                     max load {:.3} × avg",
                    g.weights.len(),
                    g.edges.len(),
                    dt.as_secs_f64() * 1e3,
                    cut(g, &parts),
                    naive_cut(g, k),
                    max / avg
                );
            }
        }
    }
}
