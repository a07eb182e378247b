//! Shortest-path routes, computed from plan data alone so that they can be computed again
//! at run time without some links (`nsnet link down --reroute`): a lab then heals like a
//! routed network, with no routing daemon. The planner uses the same code with no link down.

use super::types::{Interface, Kind, LinkPlan, NextHop, Plan, Route, Routing};
use crate::cidr::Cidr;
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
    /// Pools within which routers' routes are summarized (empty: no summarizing).
    pub summarize: &'a [Cidr],
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
            summarize: &plan.summarize,
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
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let switch = |name: &str| v.index(name).filter(|&i| v.kinds[i] == Kind::Switch);
    for (li, l) in v.links.iter().enumerate() {
        if down.contains(&li) {
            continue;
        }
        if let (Some(a), Some(b)) = (switch(&l.a.node), switch(&l.b.node)) {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    (0..n)
        .map(|ni| {
            v.ifaces[ni]
                .iter()
                .map(|i| {
                    if down.contains(&i.link) {
                        return None;
                    }
                    Some(match switch(&i.peer.node) {
                        Some(s) => nsegs + root(&mut parent, s),
                        None => i.segment,
                    })
                })
                .collect()
        })
        .collect()
}

/// Shortest-path routes for every router to every subnet it is not on, and hosts' default
/// routes via the nearest router. One Dijkstra per segment over the reversed graph gives
/// every router's distance to it; the next hops of a router are the neighbours on a
/// shortest path (ties: all of them, ECMP).
pub(crate) fn computed(v: &View<'_>, down: &HashSet<usize>) -> Vec<HashMap<Cidr, Route>> {
    let n = v.kinds.len();
    let mut routes: Vec<HashMap<Cidr, Route>> = vec![HashMap::new(); n];
    if v.routing != Routing::Static {
        return routes;
    }
    let att = attachments(v, down);
    // Vertices: one per router, one per L2 domain. router→domain costs the link's cost,
    // domain→router costs nothing, so a path costs the sum of the links it leaves by.
    let mut g: DiGraph<(), u64> = DiGraph::new();
    // Domain ids are below segments + nodes (see `attachments`): plain vectors, no hashing
    // in the hot loop.
    let ndoms = v.subnets.len() + n;
    let mut dom_v: Vec<Option<NodeIndex>> = vec![None; ndoms];
    let mut router_v: Vec<Option<NodeIndex>> = vec![None; n];
    // Per domain: (router, its iface index).
    let mut dom_routers: Vec<Vec<(usize, usize)>> = vec![Vec::new(); ndoms];
    let mut seg_doms: Vec<Vec<usize>> = vec![Vec::new(); v.subnets.len()];
    for ni in 0..n {
        for (ii, i) in v.ifaces[ni].iter().enumerate() {
            if let Some(d) = att[ni][ii] {
                seg_doms[i.segment].push(d);
            }
        }
        if v.kinds[ni] != Kind::Router {
            continue;
        }
        let rv = g.add_node(());
        router_v[ni] = Some(rv);
        for (ii, i) in v.ifaces[ni].iter().enumerate() {
            let Some(d) = att[ni][ii] else { continue };
            let dv = *dom_v[d].get_or_insert_with(|| g.add_node(()));
            let cost = v.links[i.link].cost as u64;
            g.add_edge(rv, dv, cost);
            g.add_edge(dv, rv, 0);
            dom_routers[d].push((ni, ii));
        }
    }
    for doms in &mut seg_doms {
        doms.sort_unstable();
        doms.dedup();
    }
    // Per router: its distinct next-hop sets ((address, interface index), sorted), and
    // (subnet, set) pairs — a million routes of a long line are not a million allocations.
    // One Dijkstra per segment, the segments shared out over a few threads (each with its
    // own sets), merged afterwards.
    type Sets = Vec<Vec<Vec<(IpAddr, usize)>>>;
    type Raw = Vec<Vec<(Cidr, usize)>>;
    let work = |part: usize, parts: usize| -> (Sets, Raw) {
        let mut sets: Sets = vec![Vec::new(); n];
        let mut raw: Raw = vec![Vec::new(); n];
        let mut hops: Vec<(IpAddr, usize)> = Vec::new();
        let mut dist: Vec<u64> = vec![u64::MAX; g.node_count()];
        for si in (part..seg_doms.len()).step_by(parts) {
            let srcs: Vec<NodeIndex> = seg_doms[si].iter().filter_map(|&d| dom_v[d]).collect();
            if v.subnets[si].iter().all(Option::is_none) || srcs.is_empty() {
                continue;
            }
            dijkstra_into(&g, &srcs, &mut dist);
            for (r, rv) in router_v.iter().enumerate() {
                let Some(rv) = rv else { continue };
                let d = dist[rv.index()];
                let on_it = v.ifaces[r]
                    .iter()
                    .zip(&att[r])
                    .any(|(i, a)| i.segment == si && a.is_some());
                if d == u64::MAX || on_it {
                    continue;
                }
                for f in [V4, V6] {
                    let Some(subnet) = v.subnets[si][f] else {
                        continue;
                    };
                    hops.clear();
                    for (ii, (i, a)) in v.ifaces[r].iter().zip(&att[r]).enumerate() {
                        let Some(dm) = a else { continue };
                        let cost = v.links[i.link].cost as u64;
                        for &(r2, i2) in &dom_routers[*dm] {
                            let r2v = router_v[r2].expect("a router");
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
                    if !hops.is_empty() {
                        let id = sets[r].iter().position(|s| *s == hops).unwrap_or_else(|| {
                            sets[r].push(hops.clone());
                            sets[r].len() - 1
                        });
                        raw[r].push((subnet, id));
                    }
                }
            }
        }
        (sets, raw)
    };
    let mut sets: Sets = vec![Vec::new(); n];
    let mut raw: Raw = vec![Vec::new(); n];
    if router_v.iter().any(Option::is_some) {
        // Threads only where there is work enough to pay for them.
        let parts = if seg_doms.len() * n > 200_000 {
            std::thread::available_parallelism()
                .map_or(1, |p| p.get())
                .min(8)
        } else {
            1
        };
        let results: Vec<(Sets, Raw)> = if parts == 1 {
            vec![work(0, 1)]
        } else {
            std::thread::scope(|sc| {
                let hs: Vec<_> = (0..parts)
                    .map(|p| sc.spawn(move || work(p, parts)))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().expect("route worker"))
                    .collect()
            })
        };
        for (t_sets, t_raw) in results {
            for r in 0..n {
                // Renumber this thread's sets into the router's merged list.
                let ids: Vec<usize> = t_sets[r]
                    .iter()
                    .map(|set| {
                        sets[r].iter().position(|s| s == set).unwrap_or_else(|| {
                            sets[r].push(set.clone());
                            sets[r].len() - 1
                        })
                    })
                    .collect();
                raw[r].extend(t_raw[r].iter().map(|&(c, id)| (c, ids[id])));
            }
        }
        // Every thread's order is by segment; keep the result independent of the split.
        for list in &mut raw {
            list.sort_unstable();
        }
    }
    // Summarize (on set ids), then make the routes.
    // Per pool, the segments' subnets inside it, sorted: the same for every router.
    let pools: Vec<(Cidr, Vec<Cidr>)> = v
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
    for r in (0..n).filter(|&r| v.kinds[r] == Kind::Router) {
        let mut list = std::mem::take(&mut raw[r]);
        if !pools.is_empty() {
            let connected: Vec<Cidr> = v.ifaces[r]
                .iter()
                .flat_map(|i| i.addrs.iter().map(|a| a.network()))
                .collect();
            list = summarize(list, &connected, &pools);
        }
        routes[r] = list
            .into_iter()
            .map(|(to, id)| {
                let via = sets[r][id]
                    .iter()
                    .map(|&(via, ii)| NextHop {
                        via,
                        dev: v.ifaces[r][ii].name.clone(),
                    })
                    .collect();
                (to, Route { to, via })
            })
            .collect();
    }
    // Hosts: a default route via the nearest router on one of their domains (ties by name).
    for ni in 0..n {
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
    routes
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

/// Replaces a router's routes (subnet, next-hop set) to the subnets inside each pool by the
/// widest aligned prefixes whose subnets all share one next-hop set (connected subnets may
/// lie inside; subnets without a route may not). Where subnets are handed out in order
/// along paths, as the pool does, a line of N routers needs O(log N) routes per router
/// instead of N. Addresses of the pool that no segment uses are routed with their summary.
/// `pools` holds each pool with the sorted subnets inside it.
fn summarize(
    routes: Vec<(Cidr, usize)>,
    connected: &[Cidr],
    pools: &[(Cidr, Vec<Cidr>)],
) -> Vec<(Cidr, usize)> {
    let mut out: Vec<(Cidr, usize)> = Vec::new();
    for (pool, inside) in pools {
        // Label each subnet of the pool by binary search: no hashing per router.
        let mut labels = vec![Label::Hole; inside.len()];
        let mut place = |c: &Cidr, l: Label| {
            if let Ok(k) = inside.binary_search(c) {
                labels[k] = l;
            }
        };
        for (c, id) in routes.iter().filter(|(c, _)| in_pool(pool, c)) {
            place(c, Label::Via(*id));
        }
        for c in connected.iter().filter(|c| in_pool(pool, c)) {
            place(c, Label::Connected);
        }
        if let Some(Some(i)) = uniform(*pool, inside, &labels, &mut out) {
            out.push((*pool, i));
        }
    }
    out.extend(
        routes
            .into_iter()
            .filter(|(c, _)| !pools.iter().any(|(p, _)| in_pool(p, c))),
    );
    out
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
