//! Planning: turns a validated `Lab` into a `Plan` — segments, subnets, every interface's
//! name, MAC and addresses, every node's routes and sysctls. Errors that need the whole
//! network (overlaps, exhausted pools, gateways off-segment) are found here, with spans.

mod routes;
mod types;
pub use routes::routes;
pub use types::*;

use crate::cidr::Cidr;
use crate::error::{LabError, LabErrors};
use crate::model::{Lab, BRIDGE_NAME};
use routes::{fam, route_order, V4, V6};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

/// Plan a validated lab. The same lab always gives the same plan, byte for byte.
pub fn plan(lab: &Lab) -> Result<Plan, LabErrors> {
    let mut p = Planner {
        lab,
        errors: Vec::new(),
    };
    let plan = p.run();
    if p.errors.is_empty() {
        Ok(plan)
    } else {
        p.errors.sort_by_key(|e| (e.line, e.col));
        p.errors.dedup();
        Err(LabErrors(p.errors))
    }
}

struct Planner<'a> {
    lab: &'a Lab,
    errors: Vec<LabError>,
}

/// A segment while it is being planned.
struct Seg {
    switches: BTreeSet<usize>,
    links: Vec<usize>,
    /// L3 ends: (link, end index 0/1).
    members: Vec<(usize, usize)>,
    subnet: [Option<(Cidr, usize)>; 2],
}

impl Planner<'_> {
    fn err(&mut self, at: usize, msg: impl Into<String>, hint: impl Into<Option<String>>) {
        let e = self.lab.src.error(at, msg, hint.into());
        self.errors.push(e);
    }

    fn place(&self, at: usize) -> String {
        let (l, c) = self.lab.src.line_col(at);
        format!("line {l}:{c}")
    }

    fn run(&mut self) -> Plan {
        let lab = self.lab;
        let kind = |n: usize| lab.nodes[n].kind;

        // Segments: switches joined by links form one segment; other links are point-to-point.
        let mut parent: Vec<usize> = (0..lab.nodes.len()).collect();
        fn root(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        for l in &lab.links {
            let (a, b) = (l.ends[0].node, l.ends[1].node);
            if kind(a) == Kind::Switch && kind(b) == Kind::Switch {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
        let mut segs: Vec<Seg> = Vec::new();
        let mut seg_of_switch: HashMap<usize, usize> = HashMap::new();
        let mut link_seg = Vec::with_capacity(lab.links.len());
        for (li, l) in lab.links.iter().enumerate() {
            let sw = l.ends.iter().find(|e| kind(e.node) == Kind::Switch);
            let si = match sw {
                Some(e) => {
                    let r = root(&mut parent, e.node);
                    *seg_of_switch.entry(r).or_insert_with(|| {
                        segs.push(Seg::new());
                        segs.len() - 1
                    })
                }
                None => {
                    segs.push(Seg::new());
                    segs.len() - 1
                }
            };
            let s = &mut segs[si];
            s.links.push(li);
            for (ei, e) in l.ends.iter().enumerate() {
                if kind(e.node) == Kind::Switch {
                    s.switches.insert(e.node);
                } else {
                    s.members.push((li, ei));
                }
            }
            link_seg.push(si);
        }

        self.explicit_subnets(&mut segs);
        let addrs = self.addresses(&mut segs);
        let links: Vec<LinkPlan> = lab
            .links
            .iter()
            .enumerate()
            .map(|(li, l)| LinkPlan {
                a: self.endpoint(li, 0),
                b: self.endpoint(li, 1),
                mtu: l.mtu,
                cost: l.cost,
                segment: link_seg[li],
                impair: l.impair,
            })
            .collect();
        let plan_nodes = self.nodes(&segs, &link_seg, &addrs, &links);
        let segments = segs
            .iter()
            .map(|s| Segment {
                switches: s
                    .switches
                    .iter()
                    .map(|&n| lab.nodes[n].name.clone())
                    .collect(),
                subnet4: s.subnet[V4].map(|x| x.0),
                subnet6: s.subnet[V6].map(|x| x.0),
                members: s
                    .members
                    .iter()
                    .map(|&(li, ei)| self.endpoint(li, ei))
                    .collect(),
            })
            .collect();
        Plan {
            lab: lab.name.clone(),
            source: lab.file.clone(),
            routing: lab.routing,
            dual_stack: lab.pool6.is_some(),
            summarize: summarize_pools(lab),
            nodes: plan_nodes,
            links,
            segments,
        }
    }

    fn endpoint(&self, li: usize, ei: usize) -> Endpoint {
        let e = &self.lab.links[li].ends[ei];
        Endpoint {
            node: self.lab.nodes[e.node].name.clone(),
            iface: e.iface.clone(),
        }
    }

    /// Subnets given in the file (`subnet`, or implied by `addresses`), checked for agreement
    /// within a segment, for overlap across segments, and for size; then the pool fills in
    /// the rest.
    fn explicit_subnets(&mut self, segs: &mut [Seg]) {
        let lab = self.lab;
        let mut explicit: [Vec<(Cidr, usize, usize)>; 2] = [Vec::new(), Vec::new()];
        for (si, seg) in segs.iter_mut().enumerate() {
            for &li in &seg.links {
                let l = &lab.links[li];
                let given = l.subnet.iter().map(|&(c, at)| (c, at, true));
                let implied = l
                    .addresses
                    .iter()
                    .map(|&(_, c, at)| (c.network(), at, false));
                for (c, at, is_subnet) in given.chain(implied) {
                    let f = fam(&c);
                    match seg.subnet[f] {
                        None => seg.subnet[f] = Some((c, at)),
                        Some((have, hat)) if have != c => {
                            let where_ = self.place(hat);
                            if is_subnet {
                                let e = lab.src.error(
                                    at,
                                    format!("one segment given two different subnets: {c} here, {have} at {where_}"),
                                    Some(if seg.switches.is_empty() {
                                        "give the link one subnet".to_string()
                                    } else {
                                        "all links of a switch (and of switches linked to it) share one subnet: give it once".to_string()
                                    }),
                                );
                                self.errors.push(e);
                            } else {
                                let e = lab.src.error(
                                    at,
                                    format!("address {} is outside its link's subnet {have} (from {where_})", c.network()),
                                    Some(format!("use an address inside {have}, with prefix length /{}", have.prefix)),
                                );
                                self.errors.push(e);
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
            for f in [V4, V6] {
                if let Some((c, at)) = seg.subnet[f] {
                    explicit[f].push((c, at, si));
                    let n = seg.members.len() as u128;
                    if n > c.host_capacity() {
                        self.err(
                            at,
                            format!(
                                "subnet {c} is too small for its segment: {n} interfaces, room for {}",
                                c.host_capacity()
                            ),
                            "use a shorter prefix length".to_string(),
                        );
                    }
                }
            }
        }
        // Overlaps among explicit subnets: CIDRs nest or are disjoint, so a sorted sweep that
        // keeps the widest block seen finds every overlap.
        for list in &mut explicit {
            list.sort_by_key(|&(c, at, _)| (c.addr, c.prefix, at));
            let mut cover: Option<(Cidr, usize)> = None;
            let mut errs = Vec::new();
            for &(c, at, _) in list.iter() {
                match cover {
                    Some((prev, pat)) if prev.overlaps(&c) => {
                        // Report at the later place in the file, naming the earlier one.
                        if at > pat {
                            errs.push((at, c, prev, pat));
                        } else {
                            errs.push((pat, prev, c, at));
                        }
                    }
                    _ => cover = Some((c, at)),
                }
            }
            for (at, c, other, oat) in errs {
                let where_ = self.place(oat);
                self.err(
                    at,
                    format!(
                        "subnet {c} overlaps {other} (at {where_}), which is another segment's"
                    ),
                    "give each segment its own, non-overlapping subnet".to_string(),
                );
            }
        }
        self.pool_fill(segs, V4, &explicit[V4]);
        if lab.pool6.is_some() {
            self.pool_fill(segs, V6, &explicit[V6]);
        }
    }

    /// Give every segment without a subnet of family `f` one from the pool: largest blocks
    /// first (so alignment wastes nothing), skipping explicit subnets.
    fn pool_fill(&mut self, segs: &mut [Seg], f: usize, explicit: &[(Cidr, usize, usize)]) {
        let lab = self.lab;
        let (pool, pool_at, name) = if f == V4 {
            (lab.pool, lab.pool_at, "pool")
        } else {
            (lab.pool6.expect("pool6"), lab.pool6_at, "pool6")
        };
        // (order, segment, prefix): both families go in the order of the IPv4 block sizes,
        // so a segment's v4 and v6 subnets have the same rank.
        let mut want: Vec<(u8, usize, u8)> = Vec::new();
        for (si, s) in segs.iter().enumerate() {
            if s.subnet[f].is_some() || s.members.is_empty() {
                continue;
            }
            let v4 = if s.switches.is_empty() {
                30
            } else {
                // A /24, or wider when the segment has more interfaces than a /24 holds.
                let n = s.members.len() as u128;
                (8..=24u8)
                    .rev()
                    .find(|&p| (1u128 << (32 - p)) - 2 >= n)
                    .unwrap_or(8)
            };
            want.push((v4, si, if f == V6 { 64 } else { v4 }));
        }
        if want.is_empty() {
            return;
        }
        want.sort();
        let widest = want.iter().map(|w| w.2).min().unwrap_or(64);
        if widest < pool.prefix {
            self.err(
                pool_at,
                format!("the {name} {pool} is smaller than the /{widest} a segment needs"),
                format!("use a {name} of /{widest} or shorter"),
            );
            return;
        }
        let width = pool.max_prefix() as u32;
        let start = bits(&pool.addr);
        // Inclusive last addresses throughout: a block at the top of the IPv6 space ends at
        // u128::MAX, one past it does not exist.
        let pool_last = start.saturating_add(pool.size() - 1);
        let mut ex: Vec<(u128, u128)> = explicit
            .iter()
            .map(|(c, _, _)| {
                let s = bits(&c.network().addr);
                (s, s.saturating_add(c.size() - 1))
            })
            .collect();
        ex.sort();
        let mut cursor = Some(start);
        for (done, &(_, si, prefix)) in want.iter().enumerate() {
            let size = 1u128 << (width - prefix as u32);
            let got = loop {
                let Some(cand) = cursor.and_then(|c| c.checked_next_multiple_of(size)) else {
                    break None;
                };
                match cand.checked_add(size - 1) {
                    Some(last) if last <= pool_last => {
                        // The first explicit block that ends at or after cand.
                        let k = ex.partition_point(|&(_, e)| e < cand);
                        match ex.get(k) {
                            Some(&(s, e)) if s <= last => cursor = e.checked_add(1),
                            _ => break Some((cand, last)),
                        }
                    }
                    _ => break None,
                }
            };
            let Some((cand, last)) = got else {
                let left = want.len() - done;
                self.err(
                    pool_at,
                    format!("the {name} {pool} is exhausted: {left} more segments need a subnet"),
                    format!("give [lab] a larger {name}, or subnets on some links"),
                );
                return;
            };
            cursor = last.checked_add(1);
            let c = Cidr::new(from_bits(&pool.addr, cand), prefix).expect("prefix in range");
            segs[si].subnet[f] = Some((c, pool_at));
        }
    }

    /// Addresses of every L3 interface: explicit ones, then the lowest free host addresses,
    /// routers first. Returns them per (link, end).
    fn addresses(&mut self, segs: &mut [Seg]) -> HashMap<(usize, usize), Vec<Cidr>> {
        let lab = self.lab;
        let mut out: HashMap<(usize, usize), Vec<Cidr>> = HashMap::new();
        let mut seen: HashMap<IpAddr, usize> = HashMap::new();
        for seg in segs.iter() {
            for f in [V4, V6] {
                let Some((subnet, sat)) = seg.subnet[f] else {
                    continue;
                };
                let mut used: HashSet<u128> = HashSet::new();
                let mut has: HashSet<(usize, usize)> = HashSet::new();
                for &li in &seg.links {
                    for &(ei, c, at) in &lab.links[li].addresses {
                        if fam(&c) != f || c.network() != subnet {
                            continue; // reported by explicit_subnets
                        }
                        let Some(ix) = subnet.host_index(&c.addr) else {
                            self.err(
                                at,
                                format!("{} is not a usable host address of {subnet}", c.addr),
                                "the network and broadcast addresses cannot be given to an interface".to_string(),
                            );
                            continue;
                        };
                        if let Some(&other) = seen.get(&c.addr) {
                            let where_ = self.place(other);
                            self.err(
                                at,
                                format!(
                                    "address {} is used twice in the lab (also at {where_})",
                                    c.addr
                                ),
                                "give each interface its own address".to_string(),
                            );
                            continue;
                        }
                        seen.insert(c.addr, at);
                        used.insert(ix);
                        has.insert((li, ei));
                        out.entry((li, ei)).or_default().push(c);
                    }
                }
                let mut rest: Vec<(usize, usize)> = seg
                    .members
                    .iter()
                    .copied()
                    .filter(|m| !has.contains(m))
                    .collect();
                // Routers take the lowest addresses (by name), the others follow in link order.
                let node_of = |&(li, ei): &(usize, usize)| lab.links[li].ends[ei].node;
                rest.sort_by_key(|m| {
                    let n = &lab.nodes[node_of(m)];
                    let r = n.kind == Kind::Router;
                    (
                        !r,
                        if r { n.name.as_str() } else { "" },
                        if r { m.0 } else { 0 },
                        m.0,
                        m.1,
                    )
                });
                let mut next = 0u128;
                for m in rest {
                    while used.contains(&next) {
                        next += 1;
                    }
                    match subnet.host(next) {
                        Some(c) => {
                            used.insert(next);
                            out.entry(m).or_default().push(c);
                        }
                        None => {
                            self.err(
                                sat,
                                format!(
                                    "subnet {subnet} is too small for its segment: {} interfaces, room for {}",
                                    seg.members.len(),
                                    subnet.host_capacity()
                                ),
                                "use a shorter prefix length".to_string(),
                            );
                            break;
                        }
                    }
                }
            }
        }
        for v in out.values_mut() {
            v.sort_by_key(|c| !c.is_v4());
        }
        out
    }

    fn nodes(
        &mut self,
        segs: &[Seg],
        link_seg: &[usize],
        addrs: &HashMap<(usize, usize), Vec<Cidr>>,
        links: &[LinkPlan],
    ) -> Vec<NodePlan> {
        let lab = self.lab;
        let summarize = summarize_pools(lab);
        let mut macs: HashSet<[u8; 6]> = HashSet::new();
        // Interfaces per node, in link order.
        let mut ifaces: Vec<Vec<Interface>> = vec![Vec::new(); lab.nodes.len()];
        for (li, l) in lab.links.iter().enumerate() {
            for (ei, e) in l.ends.iter().enumerate() {
                let mac = unique_mac(&mut macs, &lab.name, &lab.nodes[e.node].name, &e.iface);
                ifaces[e.node].push(Interface {
                    name: e.iface.clone(),
                    mac,
                    mtu: l.mtu,
                    link: li,
                    segment: link_seg[li],
                    addrs: addrs.get(&(li, ei)).cloned().unwrap_or_default(),
                    peer: self.endpoint(li, 1 - ei),
                });
            }
        }
        let view = routes::View {
            routing: lab.routing,
            kinds: lab.nodes.iter().map(|n| n.kind).collect(),
            names: lab.nodes.iter().map(|n| n.name.as_str()).collect(),
            ifaces: ifaces.iter().map(Vec::as_slice).collect(),
            links,
            subnets: segs
                .iter()
                .map(|s| [s.subnet[V4].map(|x| x.0), s.subnet[V6].map(|x| x.0)])
                .collect(),
            summarize: &summarize,
        };
        let mut routes = routes::computed(&view, &HashSet::new());
        // The lab file's own routes (gateways, then `routes`) replace computed ones.
        let mut own: Vec<HashMap<Cidr, Route>> = vec![HashMap::new(); lab.nodes.len()];
        self.gateways(&ifaces, &mut own);
        self.explicit_routes(segs, &ifaces, &mut own);
        for (r, o) in routes.iter_mut().zip(&own) {
            r.extend(o.iter().map(|(k, v)| (*k, v.clone())));
        }

        let mut out = Vec::with_capacity(lab.nodes.len());
        for (ni, (n, ifs)) in lab.nodes.iter().zip(ifaces).enumerate() {
            let has_v6 = ifs.iter().any(|i| i.addrs.iter().any(|a| !a.is_v4()));
            let mut sysctls = Vec::new();
            let mut set = |k: &str, v: &str| {
                sysctls.push(Sysctl {
                    key: k.into(),
                    value: v.into(),
                })
            };
            if !has_v6 {
                // No IPv6 where none is used: no DAD, MLD or router solicitations flooding
                // the lab when links come up.
                set("net.ipv6.conf.all.disable_ipv6", "1");
                set("net.ipv6.conf.default.disable_ipv6", "1");
            }
            if has_v6 {
                // Addresses are added with NODAD; link-locals skip DAD too. And the kernel
                // joins an address's solicited-node group only after a random delay of up to
                // router_solicitation_delay (1 s): until then neighbour solicitations are dropped,
                // holding up the first packets after `up` by a second per hop.
                set("net.ipv6.conf.all.accept_dad", "0");
                set("net.ipv6.conf.default.accept_dad", "0");
                set("net.ipv6.conf.default.router_solicitation_delay", "0");
            }
            if n.kind == Kind::Router {
                set("net.ipv4.ip_forward", "1");
                if has_v6 {
                    set("net.ipv6.conf.all.forwarding", "1");
                }
            }
            sysctls.extend(n.sysctls.iter().cloned());
            let mut rs: Vec<Route> = std::mem::take(&mut routes[ni]).into_values().collect();
            rs.sort_by_key(route_order);
            let mut own_routes: Vec<Route> = std::mem::take(&mut own[ni]).into_values().collect();
            own_routes.sort_by_key(route_order);
            out.push(NodePlan {
                name: n.name.clone(),
                kind: n.kind,
                ssh: n.ssh && n.kind != Kind::Switch,
                exec: n.exec.clone(),
                files: n.files.clone(),
                private: n.private.clone(),
                sysctls,
                bridge: (n.kind == Kind::Switch).then(|| BRIDGE_NAME.to_string()),
                interfaces: ifs,
                routes: rs,
                own_routes,
                firewall: n.firewall.clone(),
            });
        }
        out
    }

    /// Hosts' `gateway`: a default route that replaces the computed one (goes into `own`).
    fn gateways(&mut self, ifaces: &[Vec<Interface>], routes: &mut [HashMap<Cidr, Route>]) {
        for (ni, n) in self.lab.nodes.iter().enumerate() {
            if n.kind != Kind::Host {
                continue;
            }
            if let Some((gw, at)) = n.gateway {
                match on_link(&ifaces[ni], &gw) {
                    Some(dev) => {
                        let to = Cidr::default_route(gw.is_ipv4());
                        routes[ni].insert(
                            to,
                            Route {
                                to,
                                via: vec![NextHop { via: gw, dev }],
                            },
                        );
                    }
                    None => self.off_segment(at, &n.name, "gateway", &gw, &ifaces[ni]),
                }
            }
        }
    }

    /// The lab file's own `routes` (into `own`): they replace computed routes to the same
    /// destination.
    fn explicit_routes(
        &mut self,
        _segs: &[Seg],
        ifaces: &[Vec<Interface>],
        routes: &mut [HashMap<Cidr, Route>],
    ) {
        for (ni, n) in self.lab.nodes.iter().enumerate() {
            for r in &n.routes {
                match on_link(&ifaces[ni], &r.via) {
                    Some(dev) => {
                        routes[ni].insert(
                            r.to,
                            Route {
                                to: r.to,
                                via: vec![NextHop { via: r.via, dev }],
                            },
                        );
                    }
                    None => self.off_segment(r.at, &n.name, "route via", &r.via, &ifaces[ni]),
                }
            }
        }
    }

    fn off_segment(&mut self, at: usize, node: &str, what: &str, gw: &IpAddr, ifs: &[Interface]) {
        let subnets: Vec<String> = ifs
            .iter()
            .flat_map(|i| {
                i.addrs
                    .iter()
                    .map(move |a| format!("{} ({})", a.network(), i.name))
            })
            .collect();
        let hint = if subnets.is_empty() {
            format!("{node} has no addresses: link it to a segment first")
        } else {
            format!(
                "use an address on one of {node}'s segments: {}",
                subnets.join(", ")
            )
        };
        self.err(
            at,
            format!("{what} {gw} is not on a segment of {node}"),
            hint,
        );
    }
}

impl Seg {
    fn new() -> Seg {
        Seg {
            switches: BTreeSet::new(),
            links: Vec::new(),
            members: Vec::new(),
            subnet: [None, None],
        }
    }
}

/// The pools routes are summarized within: both pools with `summarize = true`, else none.
fn summarize_pools(lab: &Lab) -> Vec<Cidr> {
    if lab.summarize {
        std::iter::once(lab.pool).chain(lab.pool6).collect()
    } else {
        Vec::new()
    }
}

/// The node's interface whose subnet holds `gw` (and is not the node's own address).
fn on_link(ifs: &[Interface], gw: &IpAddr) -> Option<String> {
    ifs.iter()
        .find(|i| {
            i.addrs
                .iter()
                .any(|a| a.network().contains(gw) && a.addr != *gw)
        })
        .map(|i| i.name.clone())
}

fn bits(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

fn from_bits(like: &IpAddr, b: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4((b as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(b.into()),
    }
}

/// A deterministic, locally administered unicast MAC from (lab, node, interface).
fn unique_mac(seen: &mut HashSet<[u8; 6]>, lab: &str, node: &str, iface: &str) -> Mac {
    let mut salt = 0u32;
    loop {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
        for b in lab
            .bytes()
            .chain([0])
            .chain(node.bytes())
            .chain([0])
            .chain(iface.bytes())
            .chain(salt.to_le_bytes())
        {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let b = h.to_be_bytes();
        let mac = [(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], b[4], b[5]];
        if seen.insert(mac) {
            return Mac(mac);
        }
        salt += 1;
    }
}
