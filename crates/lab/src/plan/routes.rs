//! Shortest-path routes, computed from plan data alone so that they can be computed again
//! at run time without some links (`nsnet link down --reroute`): a lab then heals like a
//! routed network, with no routing daemon. The planner uses the same code with no link down.

use super::types::{Interface, LinkPlan, NextHop, Plan, Route};
use super::union::UnionFind;
use crate::cidr::Cidr;
use crate::values::{Kind, Routing};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{EdgeRef, Reversed};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

pub(crate) const V4: usize = 0;
pub(crate) const V6: usize = 1;

pub(crate) fn fam(c: &Cidr) -> usize {
    if c.is_v4() {
        V4
    } else {
        V6
    }
}

/// What route computation needs to know of a lab, whether it comes from the planner or
/// from a finished `Plan`. Nodes are sorted by name.
pub(crate) struct View<'a> {
    pub routing: Routing,
    pub kinds: Vec<Kind>,
    pub names: Vec<&'a str>,
    pub ifaces: Vec<&'a [Interface]>,
    pub links: &'a [LinkPlan],
    /// Per segment: its IPv4 and IPv6 subnets.
    pub subnets: Vec<[Option<Cidr>; 2]>,
    /// Per segment: named by links, one L2 domain whatever its switches.
    pub stretched: Vec<bool>,
    /// Per node: the addresses on its loopback.
    pub loopbacks: Vec<&'a [Cidr]>,
    /// Pools within which routers' routes are summarized (empty: no summarizing).
    pub summarize: &'a [Cidr],
    /// Per node: it has an uplink (a default route of its own to the host).
    pub uplinks: Vec<bool>,
}

impl<'a> View<'a> {
    pub fn of(plan: &'a Plan) -> View<'a> {
        View {
            routing: plan.routing,
            kinds: plan.nodes.iter().map(|n| n.kind).collect(),
            names: plan.nodes.iter().map(|n| n.name.as_str()).collect(),
            ifaces: plan.nodes.iter().map(|n| n.interfaces.as_slice()).collect(),
            links: &plan.links,
            subnets: plan
                .segments
                .iter()
                .map(|s| [s.subnet4, s.subnet6])
                .collect(),
            stretched: plan.segments.iter().map(|s| s.stretched).collect(),
            loopbacks: plan.nodes.iter().map(|n| n.loopback.as_slice()).collect(),
            summarize: &plan.summarize,
            uplinks: plan
                .nodes
                .iter()
                .map(|n| n.host_link.as_ref().is_some_and(|h| h.nat))
                .collect(),
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.binary_search(&name).ok()
    }
}

/// Every route each node should have (in `plan.nodes` order, each list in the plan's order)
/// when the links with the indexes in `down` are down: shortest paths around them, plus
/// the lab file's own routes and gateways (`NodePlan::own_routes`). Next hops through a
/// down link are left out. With nothing down this is exactly the plan's routes; it needs
/// nothing of `NodePlan::routes`, so it works on a stored plan, which leaves them out.
pub fn routes(plan: &Plan, down: &HashSet<usize>) -> Vec<Vec<Route>> {
    let view = View::of(plan);
    let mut now = computed(&view, down);
    let mut out = Vec::with_capacity(plan.nodes.len());
    for (ni, n) in plan.nodes.iter().enumerate() {
        let m = &mut now[ni];
        for r in &n.own_routes {
            m.insert(r.to, r.clone());
        }
        let mut rs: Vec<Route> = std::mem::take(m).into_values().collect();
        for r in &mut rs {
            r.via
                .retain(|h| n.interface(&h.dev).is_none_or(|i| !down.contains(&i.link)));
        }
        rs.retain(|r| !r.via.is_empty());
        rs.sort_by_key(route_order);
        out.push(rs);
    }
    out
}

pub(crate) fn route_order(r: &Route) -> (bool, bool, Cidr) {
    (r.to.prefix == 0, !r.to.is_v4(), r.to)
}

/// The L2 domain each interface is attached to (None when its link is down). A domain is a
/// point-to-point segment, or the switches of a segment still joined by links that are up.
fn attachments(v: &View<'_>, down: &HashSet<usize>) -> Vec<Vec<Option<usize>>> {
    let n = v.kinds.len();
    let nsegs = v.subnets.len();
    let mut domains = UnionFind::new(n);
    let switch = |name: &str| v.index(name).filter(|&i| v.kinds[i] == Kind::Switch);
    for (li, l) in v.links.iter().enumerate() {
        if down.contains(&li) {
            continue;
        }
        if let (Some(a), Some(b)) = (switch(&l.a.node), switch(&l.b.node)) {
            domains.join(a, b);
        }
    }
    (0..n)
        .map(|ni| {
            v.ifaces[ni]
                .iter()
                .map(|i| {
                    // Down, or without addresses (L2 only: what runs behind it, a bridge or a
                    // tunnel, nsnet cannot know).
                    if down.contains(&i.link) || (i.addrs.is_empty() && v.kinds[ni] != Kind::Switch)
                    {
                        return None;
                    }
                    Some(match switch(&i.peer.node) {
                        Some(s) if !v.stretched[i.segment] => nsegs + domains.root(s),
                        _ => i.segment,
                    })
                })
                .collect()
        })
        .collect()
}

/// Shortest-path routes for every router to every subnet it is not on, and hosts' default
/// routes via the nearest router. One Dijkstra from each router gives its distance to every
/// segment and, carried along the shortest paths, the neighbours each path starts with: its
/// next hops (ties: all of them, ECMP). A router's routes are summarized as soon as they are
/// known, so a line of 10,000 routers never holds its 100 million unsummarized routes.
pub(crate) fn computed(v: &View<'_>, down: &HashSet<usize>) -> Vec<HashMap<Cidr, Route>> {
    let n = v.kinds.len();
    let mut routes: Vec<HashMap<Cidr, Route>> = vec![HashMap::new(); n];
    if v.routing != Routing::Static {
        return routes;
    }
    let att = attachments(v, down);
    let graph = Graph::build(v, &att);
    graph.router_routes(v, &att, &mut routes);
    host_default_routes(v, &att, &graph.dom_routers, &mut routes);
    graph.loopback_routes(v, &att, &mut routes);
    graph.uplink_routes(v, &att, &mut routes);
    routes
}

/// A first hop of router `r` on a shortest path: (`r`'s interface index, the neighbouring
/// router, that router's interface index on the domain they share).
type FirstHop = (u32, u32, u32);

/// What Dijkstra runs on. Vertices: one per router, one per L2 domain. router→domain costs
/// the link's cost, domain→router costs nothing, so a path costs the sum of the links it
/// leaves by. Domain ids are below segments + nodes (see `attachments`): plain vectors, no
/// hashing in the hot loop.
struct Graph {
    g: DiGraph<(), u64>,
    /// Per domain: its vertex, when a router is on it.
    dom_v: Vec<Option<NodeIndex>>,
    /// Per node: its vertex, when it is a router.
    router_v: Vec<Option<NodeIndex>>,
    /// Per domain: the routers on it, (router, its interface index).
    dom_routers: Vec<Vec<(usize, usize)>>,
    /// Per segment: the domains its interfaces are in, sorted.
    seg_doms: Vec<Vec<usize>>,
    /// Per vertex: whether it is a router's (else a domain's).
    is_router: Vec<bool>,
}

impl Graph {
    fn build(v: &View<'_>, att: &[Vec<Option<usize>>]) -> Graph {
        let n = v.kinds.len();
        let ndoms = v.subnets.len() + n;
        let mut gr = Graph {
            g: DiGraph::new(),
            dom_v: vec![None; ndoms],
            router_v: vec![None; n],
            dom_routers: vec![Vec::new(); ndoms],
            seg_doms: vec![Vec::new(); v.subnets.len()],
            is_router: Vec::new(),
        };
        for (ni, doms) in att.iter().enumerate() {
            for (i, d) in v.ifaces[ni].iter().zip(doms) {
                if let Some(d) = *d {
                    gr.seg_doms[i.segment].push(d);
                }
            }
            if v.kinds[ni] != Kind::Router {
                continue;
            }
            let rv = gr.g.add_node(());
            gr.router_v[ni] = Some(rv);
            for (ii, (i, d)) in v.ifaces[ni].iter().zip(doms).enumerate() {
                let Some(d) = *d else { continue };
                let dv = *gr.dom_v[d].get_or_insert_with(|| gr.g.add_node(()));
                let cost = v.links[i.link].cost as u64;
                gr.g.add_edge(rv, dv, cost);
                gr.g.add_edge(dv, rv, 0);
                gr.dom_routers[d].push((ni, ii));
            }
        }
        for doms in &mut gr.seg_doms {
            doms.sort_unstable();
            doms.dedup();
        }
        gr.is_router = vec![false; gr.g.node_count()];
        for rv in gr.router_v.iter().flatten() {
            gr.is_router[rv.index()] = true;
        }
        gr
    }

    /// Every router's routes to every segment it is not on (see `computed`), summarized
    /// within the pools; the routers shared out over a few threads.
    fn router_routes(
        &self,
        v: &View<'_>,
        att: &[Vec<Option<usize>>],
        routes: &mut [HashMap<Cidr, Route>],
    ) {
        let routers: Vec<usize> = (0..v.kinds.len())
            .filter(|&r| self.router_v[r].is_some())
            .collect();
        if routers.is_empty() {
            return;
        }
        let pools = Pools::of(v);
        // Threads only where there is work enough to pay for them.
        let parts = if routers.len() * self.g.node_count() > 200_000 {
            std::thread::available_parallelism()
                .map_or(1, |p| p.get())
                .min(8)
        } else {
            1
        };
        let part = |p: usize| {
            let mut walk = Walk::new(self.g.node_count());
            routers
                .iter()
                .skip(p)
                .step_by(parts)
                .map(|&r| (r, walk.routes_of(self, v, att, &pools, r)))
                .collect::<Vec<_>>()
        };
        let results: Vec<Vec<(usize, HashMap<Cidr, Route>)>> = if parts == 1 {
            vec![part(0)]
        } else {
            std::thread::scope(|sc| {
                let hs: Vec<_> = (0..parts).map(|p| sc.spawn(move || part(p))).collect();
                hs.into_iter()
                    .map(|h| h.join().expect("route worker"))
                    .collect()
            })
        };
        for (r, m) in results.into_iter().flatten() {
            routes[r] = m;
        }
    }

    /// Into `hops`: router `r`'s next hops of family `f` on a shortest path, by `dist` (each
    /// vertex's distance to the segment), as (neighbour's address, `r`'s interface index).
    fn hops_of(
        &self,
        v: &View<'_>,
        att: &[Vec<Option<usize>>],
        dist: &[u64],
        r: usize,
        f: usize,
        hops: &mut Vec<(IpAddr, usize)>,
    ) {
        let d = dist[self.router_v[r].expect("a router").index()];
        hops.clear();
        for (ii, (i, a)) in v.ifaces[r].iter().zip(&att[r]).enumerate() {
            let Some(dm) = a else { continue };
            let cost = v.links[i.link].cost as u64;
            for &(r2, i2) in &self.dom_routers[*dm] {
                let r2v = self.router_v[r2].expect("a router");
                if r2 == r || dist[r2v.index()].saturating_add(cost) != d {
                    continue;
                }
                let ifc = &v.ifaces[r2][i2];
                if let Some(a) = ifc.addrs.iter().find(|a| fam(a) == f) {
                    hops.push((a.addr, ii));
                }
            }
        }
        hops.sort();
        hops.dedup();
    }

    /// Routes to every node's loopback addresses, like a subnet that only that node is on:
    /// for a router, shortest paths to it; for a host, to the domains it is on, the last hop
    /// being the host itself.
    fn loopback_routes(
        &self,
        v: &View<'_>,
        att: &[Vec<Option<usize>>],
        routes: &mut [HashMap<Cidr, Route>],
    ) {
        let mut dist: Vec<u64> = vec![u64::MAX; self.g.node_count()];
        let mut hops: Vec<(IpAddr, usize)> = Vec::new();
        for (owner, prefixes) in v.loopbacks.iter().enumerate() {
            if prefixes.is_empty() || !self.distances_to(att, owner, &mut dist) {
                continue;
            }
            for (r, rv) in self.router_v.iter().enumerate() {
                let Some(rv) = rv else { continue };
                if r == owner || dist[rv.index()] == u64::MAX {
                    continue;
                }
                for f in [V4, V6] {
                    self.hops_toward(v, att, &dist, owner, r, f, &mut hops);
                    if hops.is_empty() {
                        continue;
                    }
                    for to in prefixes.iter().filter(|p| fam(p) == f) {
                        let to = to.network();
                        routes[r].insert(
                            to,
                            Route {
                                to,
                                via: named(v, r, &hops),
                            },
                        );
                    }
                }
            }
        }
    }

    /// Every router without an uplink of its own: an IPv4 default route toward the nearest
    /// node with one (ties: the first by name), as toward a loopback of that node.
    fn uplink_routes(
        &self,
        v: &View<'_>,
        att: &[Vec<Option<usize>>],
        routes: &mut [HashMap<Cidr, Route>],
    ) {
        let owners: Vec<usize> = (0..v.kinds.len()).filter(|&n| v.uplinks[n]).collect();
        if owners.is_empty() {
            return;
        }
        let mut dists: Vec<Vec<u64>> = Vec::with_capacity(owners.len());
        for &o in &owners {
            let mut dist = vec![u64::MAX; self.g.node_count()];
            if !self.distances_to(att, o, &mut dist) {
                dist.fill(u64::MAX);
            }
            dists.push(dist);
        }
        let mut hops: Vec<(IpAddr, usize)> = Vec::new();
        let to = Cidr::default_route(true);
        for (r, rv) in self.router_v.iter().enumerate() {
            let Some(rv) = rv else { continue };
            if v.uplinks[r] {
                continue;
            }
            let best = (0..owners.len())
                .filter(|&k| dists[k][rv.index()] != u64::MAX)
                .min_by_key(|&k| (dists[k][rv.index()], v.names[owners[k]]));
            let Some(k) = best else { continue };
            self.hops_toward(v, att, &dists[k], owners[k], r, V4, &mut hops);
            if !hops.is_empty() {
                routes[r].insert(
                    to,
                    Route {
                        to,
                        via: named(v, r, &hops),
                    },
                );
            }
        }
    }

    /// Into `dist`: every vertex's distance to node `owner` (a router's own vertex, or the
    /// domains a host is on). False when it has none.
    fn distances_to(&self, att: &[Vec<Option<usize>>], owner: usize, dist: &mut [u64]) -> bool {
        let srcs: Vec<NodeIndex> = match self.router_v[owner] {
            Some(rv) => vec![rv],
            None => att[owner]
                .iter()
                .flatten()
                .filter_map(|&d| self.dom_v[d])
                .collect(),
        };
        if srcs.is_empty() {
            return false;
        }
        dijkstra_into(&self.g, &srcs, dist);
        true
    }

    /// Into `hops`: router `r`'s next hops of family `f` toward node `owner` (by `dist`, see
    /// `distances_to`): the host itself when it is on one of `r`'s domains.
    #[allow(clippy::too_many_arguments)]
    fn hops_toward(
        &self,
        v: &View<'_>,
        att: &[Vec<Option<usize>>],
        dist: &[u64],
        owner: usize,
        r: usize,
        f: usize,
        hops: &mut Vec<(IpAddr, usize)>,
    ) {
        hops.clear();
        if self.router_v[owner].is_none() {
            // On one of the host's domains: the host itself is the next hop.
            let owner_doms: Vec<usize> = att[owner].iter().flatten().copied().collect();
            for (ii, (i, a)) in v.ifaces[r].iter().zip(&att[r]).enumerate() {
                let Some(d) = a else { continue };
                if !owner_doms.contains(d) {
                    continue;
                }
                let own = v.ifaces[owner]
                    .iter()
                    .zip(&att[owner])
                    .filter(|(_, oa)| *oa == a)
                    .find_map(|(oi, _)| oi.addrs.iter().find(|x| fam(x) == f));
                if let (Some(own), true) = (own, i.addrs.iter().any(|x| fam(x) == f)) {
                    hops.push((own.addr, ii));
                }
            }
        }
        if hops.is_empty() {
            self.hops_of(v, att, dist, r, f, hops);
        }
    }
}

/// Next hops (address, interface index of router `r`) as a route's.
fn named(v: &View<'_>, r: usize, hops: &[(IpAddr, usize)]) -> Vec<NextHop> {
    hops.iter()
        .map(|&(via, ii)| NextHop {
            via,
            dev: v.ifaces[r][ii].name.clone(),
        })
        .collect()
}

/// The pools within which routers' routes are summarized: the same for every router.
struct Pools {
    /// Each pool with the segments' subnets inside it, sorted.
    list: Vec<(Cidr, Vec<Cidr>)>,
    /// Per segment and family: where its subnet is in `list` (pool, index), for each pool that
    /// holds it; empty when none does.
    slots: Vec<[Vec<(u32, u32)>; 2]>,
}

impl Pools {
    fn of(v: &View<'_>) -> Pools {
        let list: Vec<(Cidr, Vec<Cidr>)> = v
            .summarize
            .iter()
            .map(|pool| {
                let mut inside: Vec<Cidr> = v
                    .subnets
                    .iter()
                    .flatten()
                    .flatten()
                    .filter(|c| in_pool(pool, c))
                    .copied()
                    .collect();
                inside.sort_unstable();
                inside.dedup();
                (*pool, inside)
            })
            .collect();
        let slots = v
            .subnets
            .iter()
            .map(|fams| {
                fams.map(|c| {
                    let Some(c) = c else { return Vec::new() };
                    list.iter()
                        .enumerate()
                        .filter(|(_, (pool, _))| in_pool(pool, &c))
                        .filter_map(|(k, (_, inside))| {
                            let i = inside.binary_search(&c).ok()?;
                            Some((k as u32, i as u32))
                        })
                        .collect()
                })
            })
            .collect();
        Pools { list, slots }
    }
}

/// One router's Dijkstra and what it carries along, with buffers kept from router to router.
struct Walk {
    /// Per vertex: its distance from the router.
    dist: Vec<u64>,
    /// Per vertex: the id (in `sets`) of the first hops of the shortest paths to it.
    first: Vec<u32>,
    /// Vertices in an order where every shortest path's vertices come in its order.
    order: Vec<u32>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(u64, bool, u32)>>,
    /// Distinct sets of first hops, each sorted, and their ids.
    sets: Vec<Vec<FirstHop>>,
    ids: HashMap<Vec<FirstHop>, u32>,
    /// Unions of two sets already made.
    unions: HashMap<(u32, u32), u32>,
}

const NO_SET: u32 = u32::MAX;

impl Walk {
    fn new(vertices: usize) -> Walk {
        Walk {
            dist: vec![u64::MAX; vertices],
            first: vec![NO_SET; vertices],
            order: Vec::with_capacity(vertices),
            heap: Default::default(),
            sets: Vec::new(),
            ids: HashMap::new(),
            unions: HashMap::new(),
        }
    }

    fn intern(&mut self, set: Vec<FirstHop>) -> u32 {
        if let Some(&id) = self.ids.get(&set) {
            return id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        id
    }

    /// The union of the sets `a` and `b` (either may be `NO_SET`, the empty set).
    fn union(&mut self, a: u32, b: u32) -> u32 {
        if a == b || b == NO_SET {
            return a;
        }
        if a == NO_SET {
            return b;
        }
        let key = (a.min(b), a.max(b));
        if let Some(&u) = self.unions.get(&key) {
            return u;
        }
        let mut set = self.sets[a as usize].clone();
        set.extend_from_slice(&self.sets[b as usize]);
        set.sort_unstable();
        set.dedup();
        let u = self.intern(set);
        self.unions.insert(key, u);
        u
    }

    /// Adds the set `id` to vertex `x`'s first hops.
    fn add(&mut self, x: usize, id: u32) {
        self.first[x] = self.union(self.first[x], id);
    }

    /// Distances from router `r`'s vertex, and `order`. Keys are (distance, is a router), so a
    /// domain comes before the routers it reaches at no cost: a topological order of the
    /// shortest paths (a link costs at least 1).
    fn dijkstra(&mut self, gr: &Graph, r: usize) {
        use std::cmp::Reverse;
        self.dist.fill(u64::MAX);
        self.first.fill(NO_SET);
        self.order.clear();
        self.heap.clear();
        self.sets.clear();
        self.ids.clear();
        self.unions.clear();
        let rv = gr.router_v[r].expect("a router").index();
        self.dist[rv] = 0;
        self.heap.push(Reverse((0, true, rv as u32)));
        while let Some(Reverse((d, _, x))) = self.heap.pop() {
            let x = x as usize;
            if d > self.dist[x] {
                continue;
            }
            self.order.push(x as u32);
            for e in gr.g.edges(NodeIndex::new(x)) {
                let t = e.target().index();
                let nd = d + *e.weight();
                if nd < self.dist[t] {
                    self.dist[t] = nd;
                    self.heap.push(Reverse((nd, gr.is_router[t], t as u32)));
                }
            }
        }
    }

    /// Router `r`'s routes: every segment it is not on, via the first hops of the shortest
    /// paths to it, summarized within the pools.
    fn routes_of(
        &mut self,
        gr: &Graph,
        v: &View<'_>,
        att: &[Vec<Option<usize>>],
        pools: &Pools,
        r: usize,
    ) -> HashMap<Cidr, Route> {
        self.dijkstra(gr, r);
        let rv = gr.router_v[r].expect("a router").index();
        // r's interfaces by domain vertex: where paths leave r.
        let mut own: Vec<(usize, u32)> = att[r]
            .iter()
            .enumerate()
            .filter_map(|(ii, a)| Some((gr.dom_v[(*a)?]?.index(), ii as u32)))
            .collect();
        own.sort_unstable();
        // Carry the first hops along the shortest paths, in order.
        for k in 0..self.order.len() {
            let x = self.order[k] as usize;
            let d = self.dist[x];
            if x == rv {
                continue;
            }
            if !gr.is_router[x] {
                // A domain of r's reached over r's own link: the routers beyond it are
                // first hops.
                let from = own.partition_point(|&(dv, _)| dv < x);
                for &(_, ii) in own[from..].iter().take_while(|&&(dv, _)| dv == x) {
                    let i = &v.ifaces[r][ii as usize];
                    if v.links[i.link].cost as u64 != d {
                        continue;
                    }
                    let dom = att[r][ii as usize].expect("attached");
                    for &(r2, i2) in &gr.dom_routers[dom] {
                        let r2v = gr.router_v[r2].expect("a router").index();
                        if r2 != r && self.dist[r2v] == d {
                            let id = self.intern(vec![(ii, r2 as u32, i2 as u32)]);
                            self.add(r2v, id);
                        }
                    }
                }
            }
            let set = self.first[x];
            if set == NO_SET {
                continue;
            }
            for e in gr.g.edges(NodeIndex::new(x)) {
                let t = e.target().index();
                if d + *e.weight() == self.dist[t] {
                    self.add(t, set);
                }
            }
        }
        // Per segment and family: the first hops toward its nearest domains.
        let mut on: Vec<usize> = v.ifaces[r]
            .iter()
            .zip(&att[r])
            .filter(|(_, a)| a.is_some())
            .map(|(i, _)| i.segment)
            .collect();
        on.sort_unstable();
        let mut hop_sets: Vec<Vec<(IpAddr, usize)>> = Vec::new();
        // Per first-hop set and family: its next-hop set in `hop_sets`, once made (None: none).
        let mut hop_ids: Vec<[Option<Option<usize>>; 2]> = Vec::new();
        // Routes to subnets in no pool, and per pool its subnets labelled (see `summarize`).
        let mut list: Vec<(Cidr, usize)> = Vec::new();
        let mut labels: Vec<Vec<Label>> = pools
            .list
            .iter()
            .map(|(_, inside)| vec![Label::Hole; inside.len()])
            .collect();
        for (si, doms) in gr.seg_doms.iter().enumerate() {
            if v.subnets[si].iter().all(Option::is_none) || on.binary_search(&si).is_ok() {
                continue;
            }
            let mut near = u64::MAX;
            for &d in doms {
                if let Some(x) = gr.dom_v[d] {
                    near = near.min(self.dist[x.index()]);
                }
            }
            if near == u64::MAX {
                continue;
            }
            let mut set = NO_SET;
            for &d in doms {
                let Some(x) = gr.dom_v[d] else { continue };
                if self.dist[x.index()] == near {
                    let f = self.first[x.index()];
                    set = self.union(set, f);
                }
            }
            if set == NO_SET {
                continue;
            }
            for f in [V4, V6] {
                let Some(subnet) = v.subnets[si][f] else {
                    continue;
                };
                if hop_ids.len() <= set as usize {
                    hop_ids.resize(set as usize + 1, [None, None]);
                }
                let id = *hop_ids[set as usize][f].get_or_insert_with(|| {
                    let mut hops: Vec<(IpAddr, usize)> = self.sets[set as usize]
                        .iter()
                        .filter_map(|&(ii, r2, i2)| {
                            let ifc = &v.ifaces[r2 as usize][i2 as usize];
                            let a = ifc.addrs.iter().find(|a| fam(a) == f)?;
                            Some((a.addr, ii as usize))
                        })
                        .collect();
                    hops.sort();
                    hops.dedup();
                    if hops.is_empty() {
                        return None;
                    }
                    Some(hop_sets.iter().position(|h| *h == hops).unwrap_or_else(|| {
                        hop_sets.push(hops);
                        hop_sets.len() - 1
                    }))
                });
                let Some(id) = id else { continue };
                let slots = &pools.slots[si][f];
                if slots.is_empty() {
                    list.push((subnet, id));
                }
                for &(k, i) in slots {
                    labels[k as usize][i as usize] = Label::Via(id);
                }
            }
        }
        if !pools.list.is_empty() {
            let connected = v.ifaces[r]
                .iter()
                .flat_map(|i| i.addrs.iter().map(|a| a.network()));
            summarize(&pools.list, labels, connected, &mut list);
        }
        list.into_iter()
            .map(|(to, id)| {
                (
                    to,
                    Route {
                        to,
                        via: named(v, r, &hop_sets[id]),
                    },
                )
            })
            .collect()
    }
}

/// Hosts: a default route via the nearest router on one of their domains (ties by name).
fn host_default_routes(
    v: &View<'_>,
    att: &[Vec<Option<usize>>],
    dom_routers: &[Vec<(usize, usize)>],
    routes: &mut [HashMap<Cidr, Route>],
) {
    for ni in 0..v.kinds.len() {
        if v.kinds[ni] != Kind::Host {
            continue;
        }
        for f in [V4, V6] {
            if !v.ifaces[ni]
                .iter()
                .any(|i| i.addrs.iter().any(|a| fam(a) == f))
            {
                continue;
            }
            let best = v.ifaces[ni]
                .iter()
                .zip(&att[ni])
                .filter_map(|(i, a)| Some((i, &dom_routers[(*a)?])))
                .flat_map(|(i, rs)| {
                    let cost = v.links[i.link].cost;
                    rs.iter().filter_map(move |&(r, ri)| {
                        let a = v.ifaces[r][ri].addrs.iter().find(|a| fam(a) == f)?;
                        Some((cost, v.names[r], i.name.as_str(), a.addr))
                    })
                })
                .min();
            if let Some((_, _, dev, via)) = best {
                if f == V4 && v.uplinks[ni] {
                    // Its default route goes to the host: the lab's subnets via the router.
                    let hop = NextHop {
                        via,
                        dev: dev.to_string(),
                    };
                    lab_routes(v, ni, &hop, routes);
                    continue;
                }
                let to = Cidr::default_route(f == V4);
                routes[ni].insert(
                    to,
                    Route {
                        to,
                        via: vec![NextHop {
                            via,
                            dev: dev.to_string(),
                        }],
                    },
                );
            }
        }
    }
}

/// Routes from host `ni` to every IPv4 subnet and loopback of the lab it is not on, via `hop`.
fn lab_routes(v: &View<'_>, ni: usize, hop: &NextHop, routes: &mut [HashMap<Cidr, Route>]) {
    let own: Vec<Cidr> = v.ifaces[ni]
        .iter()
        .flat_map(|i| i.addrs.iter().map(|a| a.network()))
        .collect();
    let subnets = v.subnets.iter().filter_map(|s| s[V4]);
    let loopbacks = v
        .loopbacks
        .iter()
        .enumerate()
        .filter(|&(o, _)| o != ni)
        .flat_map(|(_, l)| l.iter().filter(|c| c.is_v4()).map(|c| c.network()));
    for to in subnets.chain(loopbacks) {
        if !own.contains(&to) {
            routes[ni].insert(
                to,
                Route {
                    to,
                    via: vec![hop.clone()],
                },
            );
        }
    }
}

/// Distances from the `srcs` to every vertex over the reversed graph (so: every vertex's
/// distance *to* the nearest of them), written into `dist`.
fn dijkstra_into(g: &DiGraph<(), u64>, srcs: &[NodeIndex], dist: &mut [u64]) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    dist.fill(u64::MAX);
    let mut heap = BinaryHeap::new();
    for s in srcs {
        dist[s.index()] = 0;
        heap.push(Reverse((0u64, s.index())));
    }
    let rev = Reversed(g);
    while let Some(Reverse((d, v))) = heap.pop() {
        if d > dist[v] {
            continue;
        }
        for e in petgraph::visit::IntoEdges::edges(rev, NodeIndex::new(v)) {
            let u = e.target().index();
            let nd = d + *e.weight();
            if nd < dist[u] {
                dist[u] = nd;
                heap.push(Reverse((nd, u)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{generate, Shape};
    use crate::{plan, Lab};

    fn load(text: &str) -> Plan {
        let lab = Lab::from_toml(text, "t.toml", Some("t"), None).unwrap();
        plan(&lab).unwrap()
    }

    fn link(p: &Plan, a: &str, b: &str) -> usize {
        p.links
            .iter()
            .position(|l| l.a.node == a && l.b.node == b)
            .unwrap()
    }

    #[test]
    fn nothing_down_gives_the_plan() {
        for shape in [
            Shape::Ring(6),
            Shape::Line(4),
            Shape::Tree(2, 3),
            Shape::Grid(3, 3),
        ] {
            let p = load(&generate(shape, Some("t"), false).unwrap());
            let r = routes(&p, &HashSet::new());
            for (n, rs) in p.nodes.iter().zip(&r) {
                assert_eq!(&n.routes, rs, "{shape:?} {}", n.name);
            }
        }
        let text = include_str!("../../../../labs/two-routers.toml")
            .replace("h1 = {}", "h1 = { gateway = \"10.0.0.1\", routes = [{ to = \"192.0.2.0/24\", via = \"10.0.0.1\" }] }");
        let p = load(&text);
        assert_eq!(
            routes(&p, &HashSet::new())
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>(),
            p.nodes.iter().map(|n| n.routes.len()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_ring_heals_around_a_failed_link() {
        let p = load(&generate(Shape::Ring(6), Some("t"), false).unwrap());
        let r1r2 = link(&p, "r1", "r2");
        let down = HashSet::from([r1r2]);
        let r = routes(&p, &down);
        let ni = |n: &str| p.nodes.iter().position(|x| x.name == n).unwrap();
        let h2_net = p.node("h2").unwrap().interfaces[0].addrs[0].network();
        let r1_eth_to_r6 = p
            .node("r1")
            .unwrap()
            .interfaces
            .iter()
            .find(|i| i.peer.node == "r6")
            .unwrap()
            .name
            .clone();
        let to_h2 = r[ni("r1")]
            .iter()
            .filter(|x| x.to.contains(&h2_net.addr))
            .max_by_key(|x| x.to.prefix)
            .unwrap();
        assert_eq!(to_h2.via.len(), 1);
        assert_eq!(to_h2.via[0].dev, r1_eth_to_r6);
        // No route of any node leaves through the failed link.
        for (n, rs) in p.nodes.iter().zip(&r) {
            for x in rs {
                for h in &x.via {
                    assert_ne!(n.interface(&h.dev).unwrap().link, r1r2, "{}: {x}", n.name);
                }
            }
        }
        // The failed link's own subnet has no interface up: nobody routes to it.
        let r1 = p.node("r1").unwrap();
        let link_net = r1.interfaces.iter().find(|i| i.link == r1r2).unwrap().addrs[0].network();
        assert!(r.iter().flatten().all(|x| x.to != link_net));
    }

    /// The routes of the segment-by-segment computation this replaced: one Dijkstra per
    /// segment over the reversed graph, each router's next hops read off the distances.
    fn reference(v: &View<'_>, down: &HashSet<usize>) -> Vec<Vec<(Cidr, Vec<NextHop>)>> {
        let n = v.kinds.len();
        let att = attachments(v, down);
        let gr = Graph::build(v, &att);
        let mut dist = vec![u64::MAX; gr.g.node_count()];
        let mut hops = Vec::new();
        let mut out = vec![Vec::new(); n];
        for si in 0..gr.seg_doms.len() {
            let srcs: Vec<NodeIndex> = gr.seg_doms[si]
                .iter()
                .filter_map(|&d| gr.dom_v[d])
                .collect();
            if v.subnets[si].iter().all(Option::is_none) || srcs.is_empty() {
                continue;
            }
            dijkstra_into(&gr.g, &srcs, &mut dist);
            for (r, rv) in gr.router_v.iter().enumerate() {
                let Some(rv) = rv else { continue };
                let on_it = v.ifaces[r]
                    .iter()
                    .zip(&att[r])
                    .any(|(i, a)| i.segment == si && a.is_some());
                if dist[rv.index()] == u64::MAX || on_it {
                    continue;
                }
                for f in [V4, V6] {
                    let Some(subnet) = v.subnets[si][f] else {
                        continue;
                    };
                    gr.hops_of(v, &att, &dist, r, f, &mut hops);
                    if !hops.is_empty() {
                        out[r].push((subnet, named(v, r, &hops)));
                    }
                }
            }
        }
        for list in &mut out {
            list.sort_by_key(|a| a.0);
        }
        out
    }

    #[test]
    fn routers_routes_are_those_of_a_dijkstra_per_segment() {
        let weighted = r#"
[lab]
name = "w"
[nodes]
r1 = { kind = "router" }
r2 = { kind = "router" }
r3 = { kind = "router" }
r4 = { kind = "router" }
r5 = { kind = "router" }
s1 = { kind = "switch" }
s2 = { kind = "switch" }
h1 = {}
h2 = {}
[[links]]
endpoints = ["r1", "s1"]
[[links]]
endpoints = ["r2", "s1"]
cost = 3
[[links]]
endpoints = ["r3", "s1"]
[[links]]
endpoints = ["s1", "s2"]
[[links]]
endpoints = ["r4", "s2"]
cost = 2
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "r5"]
[[links]]
endpoints = ["r3", "r5"]
cost = 2
[[links]]
endpoints = ["r4", "r5"]
[[links]]
endpoints = ["r3", "r4"]
cost = 4
[[links]]
endpoints = ["h1", "r1"]
[[links]]
endpoints = ["h2", "r5"]
"#;
        let mut labs: Vec<Plan> = [
            Shape::Ring(7),
            Shape::Line(6),
            Shape::Grid(4, 3),
            Shape::FatTree(4),
        ]
        .into_iter()
        .map(|s| load(&generate(s, Some("t"), false).unwrap()))
        .collect();
        labs.push(load(weighted));
        for (k, p) in labs.iter().enumerate() {
            let mut view = View::of(p);
            view.summarize = &[];
            // Nothing down, each link down, and each pair of neighbouring links down.
            let mut downs = vec![HashSet::new()];
            downs.extend((0..p.links.len()).map(|k| HashSet::from([k])));
            downs.extend((1..p.links.len()).map(|k| HashSet::from([k - 1, k])));
            for down in &downs {
                let want = reference(&view, down);
                let got = computed(&view, down);
                let mut routers = 0;
                for (r, name) in view.names.iter().enumerate() {
                    if view.kinds[r] != Kind::Router {
                        continue;
                    }
                    routers += 1;
                    let mut have: Vec<(Cidr, Vec<NextHop>)> =
                        got[r].values().map(|x| (x.to, x.via.clone())).collect();
                    have.sort_by_key(|a| a.0);
                    assert_eq!(have, want[r], "lab {k}: {name} with {down:?} down");
                }
                assert!(routers > 1, "lab {k}");
            }
        }
    }

    #[test]
    fn a_host_cut_off_loses_its_default_route() {
        let p = load(&generate(Shape::Ring(3), Some("t"), false).unwrap());
        let down = HashSet::from([link(&p, "h1", "r1")]);
        let r = routes(&p, &down);
        let h1 = p.nodes.iter().position(|x| x.name == "h1").unwrap();
        assert!(r[h1].is_empty());
    }
}

/// What a router does with one subnet, for summarizing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    /// On one of its own interfaces: the connected route is more specific than any summary.
    Connected,
    /// Routed, with the next-hop set of this index.
    Via(usize),
    /// No route: no summary may cover it.
    Hole,
}

fn in_pool(pool: &Cidr, c: &Cidr) -> bool {
    c.is_v4() == pool.is_v4() && c.prefix >= pool.prefix && pool.contains(&c.addr)
}

/// Adds to `out` a router's routes to the subnets inside each pool: the widest aligned
/// prefixes whose subnets all share one next-hop set (connected subnets may lie inside;
/// subnets without a route may not). `labels` holds, per pool, what the router does with
/// each subnet inside it (`Via` its routed ones); `connected` are its own subnets. Where
/// subnets are handed out in order along paths, as the pool does, a line of N routers needs
/// O(log N) routes per router instead of N. Addresses of the pool that no segment uses are
/// routed with their summary.
fn summarize(
    pools: &[(Cidr, Vec<Cidr>)],
    mut labels: Vec<Vec<Label>>,
    connected: impl Iterator<Item = Cidr>,
    out: &mut Vec<(Cidr, usize)>,
) {
    for c in connected {
        for ((pool, inside), labels) in pools.iter().zip(&mut labels) {
            if in_pool(pool, &c) {
                if let Ok(k) = inside.binary_search(&c) {
                    labels[k] = Label::Connected;
                }
            }
        }
    }
    for ((pool, inside), labels) in pools.iter().zip(&labels) {
        if let Some(Some(i)) = uniform(*pool, inside, labels, out) {
            out.push((*pool, i));
        }
    }
}

/// Within prefix `p` holding the sorted, disjoint `subs` (labelled): Some(Some(i)) when all
/// routed subnets go via set i and none is a hole, Some(None) when only connected ones are
/// there, None when mixed — in which case the uniform halves were pushed to `out`.
fn uniform(
    p: Cidr,
    subs: &[Cidr],
    labels: &[Label],
    out: &mut Vec<(Cidr, usize)>,
) -> Option<Option<usize>> {
    if subs.is_empty() {
        return Some(None);
    }
    if subs.len() == 1 && subs[0] == p {
        return match labels[0] {
            Label::Connected => Some(None),
            Label::Via(i) => Some(Some(i)),
            Label::Hole => None,
        };
    }
    let (Some(lo), Some(hi)) = (p.subnet(p.prefix + 1, 0), p.subnet(p.prefix + 1, 1)) else {
        return None;
    };
    let split = subs.partition_point(|c| c.addr < hi.addr);
    let a = uniform(lo, &subs[..split], &labels[..split], out);
    let b = uniform(hi, &subs[split..], &labels[split..], out);
    match (a, b) {
        (Some(x), Some(y)) if x.is_none() || y.is_none() || x == y => Some(x.or(y)),
        _ => {
            for (half, u) in [(lo, a), (hi, b)] {
                if let Some(Some(i)) = u {
                    out.push((half, i));
                }
            }
            None
        }
    }
}
