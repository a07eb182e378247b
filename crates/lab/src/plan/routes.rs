//! Shortest-path routes, computed from plan data alone so that they can be computed again
//! at run time without some links (`nsnet link down --reroute`): a lab then heals like a
//! routed network, with no routing daemon. The planner uses the same code with no link down.

use super::types::{Interface, Kind, LinkPlan, NextHop, Plan, Route, Routing};
use crate::cidr::Cidr;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{EdgeRef, Reversed};
use std::collections::{HashMap, HashSet};

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
    let mut dom_v: HashMap<usize, NodeIndex> = HashMap::new();
    let mut router_v: Vec<Option<NodeIndex>> = vec![None; n];
    // Per domain: (router, its iface index).
    let mut dom_routers: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
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
            let dv = *dom_v.entry(d).or_insert_with(|| g.add_node(()));
            let cost = v.links[i.link].cost as u64;
            g.add_edge(rv, dv, cost);
            g.add_edge(dv, rv, 0);
            dom_routers.entry(d).or_default().push((ni, ii));
        }
    }
    let none = Vec::new();
    if router_v.iter().any(Option::is_some) {
        let mut dist: Vec<u64> = vec![u64::MAX; g.node_count()];
        for (si, doms) in seg_doms.iter_mut().enumerate() {
            doms.sort_unstable();
            doms.dedup();
            let srcs: Vec<NodeIndex> = doms.iter().filter_map(|d| dom_v.get(d)).copied().collect();
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
                    let mut hops: Vec<NextHop> = Vec::new();
                    for (i, a) in v.ifaces[r].iter().zip(&att[r]) {
                        let Some(dm) = a else { continue };
                        let cost = v.links[i.link].cost as u64;
                        for &(r2, i2) in dom_routers.get(dm).unwrap_or(&none) {
                            let r2v = router_v[r2].expect("a router");
                            if r2 == r || dist[r2v.index()].saturating_add(cost) != d {
                                continue;
                            }
                            let ifc = &v.ifaces[r2][i2];
                            if let Some(a) = ifc.addrs.iter().find(|a| fam(a) == f) {
                                hops.push(NextHop {
                                    via: a.addr,
                                    dev: i.name.clone(),
                                });
                            }
                        }
                    }
                    hops.sort();
                    hops.dedup();
                    if !hops.is_empty() {
                        routes[r].insert(
                            subnet,
                            Route {
                                to: subnet,
                                via: hops,
                            },
                        );
                    }
                }
            }
        }
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
                .filter_map(|(i, a)| Some((i, dom_routers.get(a.as_ref()?)?)))
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
        let to_h2 = r[ni("r1")].iter().find(|x| x.to == h2_net).unwrap();
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
