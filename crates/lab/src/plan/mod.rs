//! Planning: turns a validated `Lab` into a `Plan` — segments, subnets, every interface's
//! name, MAC and addresses, every node's routes and sysctls. Errors that need the whole
//! network (overlaps, exhausted pools, gateways off-segment) are found here, with spans.

mod l2;
mod routes;
mod types;
mod union;
pub use crate::limits::{DEFAULT_LOG_SIZE, DEFAULT_TMPFS_SIZE};
pub use routes::routes;
pub use types::*;

use crate::cidr::{from_bits, to_bits, Cidr};
use crate::error::{Invalid, LabError, LabErrors};
use crate::limits::MIN_MTU_IPV6;
use crate::model::{Family, Lab, Node};
use crate::outside::{self, HostLink};
use crate::values::{Kind, Sysctl, BRIDGE_NAME};
use routes::{fam, route_order, V4, V6};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use union::UnionFind;

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
    /// L3 ends: (link, end index 0/1); ends without addresses are not.
    members: Vec<(usize, usize)>,
    subnet: [Option<(Cidr, usize)>; 2],
    /// Links name it (`segment = "…"`): one L2 domain whatever its switches.
    stretched: bool,
    /// The families it carries.
    family: Family,
}

impl Planner<'_> {
    fn err(&mut self, at: usize, msg: impl Into<String>, hint: impl Into<Option<String>>) {
        self.report(
            at,
            Invalid {
                message: msg.into(),
                hint: hint.into(),
            },
        );
    }

    /// Record `e` at byte offset `at`.
    fn report(&mut self, at: usize, e: Invalid) {
        let e = self.lab.src.error(at, e);
        self.errors.push(e);
    }

    fn place(&self, at: usize) -> String {
        let (l, c) = self.lab.src.line_col(at);
        format!("line {l}:{c}")
    }

    fn run(&mut self) -> Plan {
        self.check_l2();
        let lab = self.lab;

        let (mut segs, link_seg) = self.segments();
        self.explicit_subnets(&mut segs);
        let addrs = self.addresses(&mut segs);
        self.ipv6_mtus(&segs, &link_seg);
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
                stretched: s.stretched,
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
            log_size: lab.log_size,
            checks: lab.checks.clone(),
            tunnels: Vec::new(),
            etc_hosts: None,
        }
    }

    /// The segments, and each link's. Switches joined by links form one segment, and so do
    /// links that name the same `segment` (a stretched L2 domain); other links are
    /// point-to-point.
    fn segments(&self) -> (Vec<Seg>, Vec<usize>) {
        let lab = self.lab;
        let kind = |n: usize| lab.nodes[n].kind;
        let n = lab.nodes.len();
        // One set over nodes and links: a link joins its switches' sets, and named segments
        // join all their links.
        let mut sets = UnionFind::new(n + lab.links.len());
        let mut named: HashMap<&str, usize> = HashMap::new();
        for (li, l) in lab.links.iter().enumerate() {
            for e in &l.ends {
                if kind(e.node) == Kind::Switch {
                    sets.join(n + li, e.node);
                }
            }
            if let Some(name) = &l.segment {
                let first = *named.entry(name.as_str()).or_insert(li);
                sets.join(n + li, n + first);
            }
        }
        let mut segs: Vec<Seg> = Vec::new();
        let mut seg_of_root: HashMap<usize, usize> = HashMap::new();
        let mut link_seg = Vec::with_capacity(lab.links.len());
        for (li, l) in lab.links.iter().enumerate() {
            let r = sets.root(n + li);
            let si = *seg_of_root.entry(r).or_insert_with(|| {
                segs.push(Seg::new());
                segs.len() - 1
            });
            let s = &mut segs[si];
            s.links.push(li);
            s.stretched |= l.segment.is_some();
            s.family = match (s.family, l.family) {
                (Family::Dual, f) => f,
                (f, _) => f,
            };
            for (ei, e) in l.ends.iter().enumerate() {
                if kind(e.node) == Kind::Switch {
                    s.switches.insert(e.node);
                } else if !e.no_address {
                    s.members.push((li, ei));
                }
            }
            link_seg.push(si);
        }
        (segs, link_seg)
    }

    /// IPv6 needs every link to carry 1280-byte packets (RFC 8200): a smaller MTU on a
    /// segment with IPv6 is refused where it is written (the kernel keeps IPv6 off an
    /// interface with a smaller MTU, and adding its addresses would fail at `up`).
    fn ipv6_mtus(&mut self, segs: &[Seg], link_seg: &[usize]) {
        for (li, l) in self.lab.links.iter().enumerate() {
            let Some(mtu) = l.mtu.filter(|&m| m < MIN_MTU_IPV6) else {
                continue;
            };
            if let Some((v6, _)) = segs[link_seg[li]].subnet[V6] {
                self.err(
                    l.mtu_at,
                    format!("IPv6 needs an MTU of at least {MIN_MTU_IPV6}, and this link's segment carries IPv6 ({v6}) with MTU {mtu}"),
                    format!("raise the MTU to {MIN_MTU_IPV6} or more, or keep IPv6 off this segment (no pool6, no IPv6 subnet or addresses)"),
                );
            }
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
            // The links' `subnet`s first: one per family and segment.
            for &li in &seg.links {
                let l = &lab.links[li];
                if let Some((c, at)) = l.subnet {
                    let f = fam(&c);
                    match seg.subnet[f] {
                        None => seg.subnet[f] = Some((c, at)),
                        Some((have, hat)) if have != c => {
                            let where_ = self.place(hat);
                            let hint = if seg.switches.is_empty() && !seg.stretched {
                                "give the link one subnet"
                            } else {
                                "all links of a segment (a switch, switches linked to it, or one `segment` name) share one subnet: give it once"
                            };
                            self.report(
                                at,
                                Invalid::new(format!(
                                    "one segment given two different subnets: {c} here, {have} at {where_}"
                                ))
                                .hint(hint),
                            );
                        }
                        Some(_) => {}
                    }
                }
            }
            // Then the addresses given: inside the subnet (any prefix length of their own);
            // with no subnet given, the widest network they imply is the segment's.
            for f in [V4, V6] {
                let given: Vec<(Cidr, usize)> = seg
                    .links
                    .iter()
                    .flat_map(|&li| lab.links[li].addresses.iter())
                    .filter(|(_, c, _)| fam(c) == f)
                    .map(|&(_, c, at)| (c, at))
                    .collect();
                if seg.subnet[f].is_none() {
                    seg.subnet[f] = given
                        .iter()
                        .min_by_key(|(c, _)| c.prefix)
                        .map(|&(c, at)| (c.network(), at));
                }
                let Some((have, hat)) = seg.subnet[f] else {
                    continue;
                };
                for (a, at) in given {
                    if !have.contains(&a.addr) {
                        let where_ = self.place(hat);
                        self.report(
                            at,
                            Invalid::new(format!(
                                "address {a} is outside its segment's subnet {have} (at {where_})"
                            ))
                            .hint(format!("use an address inside {have}")),
                        );
                    }
                }
            }
            let barred = match seg.family {
                Family::V4 => Some((V6, "IPv6", "ipv4")),
                Family::V6 => Some((V4, "IPv4", "ipv6")),
                Family::Dual => None,
            };
            if let Some((f, what, family)) = barred {
                if let Some((c, at)) = seg.subnet[f].take() {
                    self.err(
                        at,
                        format!("{what} {c} on a segment of family = \"{family}\""),
                        "remove it, or the link's `family`".to_string(),
                    );
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
            let Some(pool) = lab.pool else { return };
            (pool, lab.pool_at, "pool")
        } else {
            (lab.pool6.expect("pool6"), lab.pool6_at, "pool6")
        };
        // (order, segment, prefix): both families go in the order of the IPv4 block sizes,
        // so a segment's v4 and v6 subnets have the same rank.
        let mut want: Vec<(u8, usize, u8)> = Vec::new();
        for (si, s) in segs.iter().enumerate() {
            let barred = matches!((s.family, f), (Family::V4, V6) | (Family::V6, V4));
            if s.subnet[f].is_some() || s.members.is_empty() || barred {
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
        let start = to_bits(&pool.addr);
        // Inclusive last addresses throughout: a block at the top of the IPv6 space ends at
        // u128::MAX, one past it does not exist.
        let pool_last = start.saturating_add(pool.size() - 1);
        let mut ex: Vec<(u128, u128)> = explicit
            .iter()
            .map(|(c, _, _)| {
                let s = to_bits(&c.network().addr);
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
                        if fam(&c) != f || !subnet.contains(&c.addr) {
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
        // MACs given in the file first, so generated ones never take them.
        let mut given_at: HashMap<[u8; 6], usize> = HashMap::new();
        for l in &lab.links {
            for e in &l.ends {
                if let Some(m) = e.mac {
                    if let Some(&other) = given_at.get(&m) {
                        let where_ = self.place(other);
                        self.err(
                            e.at,
                            format!("MAC {} is used twice in the lab (also at {where_})", Mac(m)),
                            "give each interface its own MAC".to_string(),
                        );
                    }
                    given_at.insert(m, e.at);
                    macs.insert(m);
                }
            }
        }
        for (li, l) in lab.links.iter().enumerate() {
            for (ei, e) in l.ends.iter().enumerate() {
                let mac = match e.mac {
                    Some(m) => Mac(m),
                    None => unique_mac(&mut macs, &lab.name, &lab.nodes[e.node].name, &e.iface),
                };
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
            stretched: segs.iter().map(|s| s.stretched).collect(),
            loopbacks: lab.nodes.iter().map(|n| n.loopback.as_slice()).collect(),
            summarize: &summarize,
            uplinks: lab.nodes.iter().map(|n| n.uplink).collect(),
        };
        let mut routes = routes::computed(&view, &HashSet::new());
        // The lab file's own routes (gateways, then `routes`) replace computed ones.
        let mut own: Vec<HashMap<Cidr, Route>> = vec![HashMap::new(); lab.nodes.len()];
        self.gateways(&ifaces, &mut own);
        self.explicit_routes(&ifaces, &mut own);
        let host_links = self.host_links(segs);
        for (ni, hl) in host_links.iter().enumerate() {
            // An uplink's default route, unless the lab file gives one.
            let Some(hl) = hl.as_ref().filter(|h| h.nat) else {
                continue;
            };
            let to = Cidr::default_route(true);
            own[ni].entry(to).or_insert_with(|| Route {
                to,
                via: vec![NextHop {
                    via: hl.host_addr.addr,
                    dev: hl.iface.clone(),
                }],
            });
        }
        let mut host_links = host_links.into_iter();
        for (r, o) in routes.iter_mut().zip(&own) {
            r.extend(o.iter().map(|(k, v)| (*k, v.clone())));
        }

        let mut out = Vec::with_capacity(lab.nodes.len());
        for (ni, (n, ifs)) in lab.nodes.iter().zip(ifaces).enumerate() {
            let has_v6 = n.ipv6
                || n.loopback.iter().any(|a| !a.is_v4())
                || ifs.iter().any(|i| i.addrs.iter().any(|a| !a.is_v4()));
            let sysctls = node_sysctls(n, has_v6);
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
                tmpfs_size: n.tmpfs_size,
                privileged: n.privileged,
                stp: n.stp,
                root: n.root.clone(),
                tree: n.tree.clone(),
                services: n.services.clone(),
                limits: n.limits,
                loopback: n.loopback.clone(),
                after: n.after.iter().map(|(a, _)| a.clone()).collect(),
                env: n.env.clone(),
                binds: n.binds.clone(),
                host_link: host_links.next().flatten(),
                ports: n.ports.clone(),
                host_ifaces: n.host_ifaces.clone(),
                host: n.host.clone(),
            });
        }
        out
    }

    /// Each node's link to the host, if it has one (an uplink, or `[lab] mgmt`): a /30 from
    /// the lab's block of `host_pool`, which must not meet the lab's own subnets.
    fn host_links(&mut self, segs: &[Seg]) -> Vec<Option<HostLink>> {
        let lab = self.lab;
        let wants: Vec<bool> = lab
            .nodes
            .iter()
            .map(|n| n.uplink || (lab.mgmt && n.kind != Kind::Switch))
            .collect();
        let count = wants.iter().filter(|w| **w).count();
        if count == 0 {
            return vec![None; lab.nodes.len()];
        }
        let pool = lab.host_pool;
        let Some(block) = outside::host_block(&pool, &lab.name, count) else {
            self.err(
                lab.host_pool_at,
                format!("host_pool {pool} is too small for {count} links to the host (a /30 each)"),
                "give [lab] a larger host_pool".to_string(),
            );
            return vec![None; lab.nodes.len()];
        };
        let lab_nets = segs
            .iter()
            .filter_map(|s| s.subnet[V4].map(|x| x.0))
            .chain(lab.nodes.iter().flat_map(|n| n.loopback.iter().copied()));
        for c in lab_nets {
            if c.overlaps(&block) {
                self.err(
                    lab.host_pool_at,
                    format!("the links to the host would take {block} (from host_pool {pool}), which meets the lab's {c}"),
                    "give [lab] a host_pool apart from the lab's subnets".to_string(),
                );
                return vec![None; lab.nodes.len()];
            }
        }
        let mut k = 0u128;
        lab.nodes
            .iter()
            .zip(wants)
            .map(|(n, want)| {
                if !want {
                    return None;
                }
                let net = block.subnet(outside::HOST_LINK_PREFIX, k)?;
                k += 1;
                Some(HostLink {
                    iface: if n.uplink {
                        outside::UPLINK_IFACE
                    } else {
                        outside::MGMT_IFACE
                    }
                    .to_string(),
                    host_iface: outside::host_iface_name(&lab.name, &n.name, n.uplink),
                    host_addr: net.host(0)?,
                    addr: net.host(1)?,
                    nat: n.uplink,
                })
            })
            .collect()
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
    fn explicit_routes(&mut self, ifaces: &[Vec<Interface>], routes: &mut [HashMap<Cidr, Route>]) {
        for (ni, n) in self.lab.nodes.iter().enumerate() {
            for r in &n.routes {
                if let Some(dev) = &r.dev {
                    if ifaces[ni].iter().any(|i| &i.name == dev) {
                        routes[ni].insert(
                            r.to,
                            Route {
                                to: r.to,
                                via: vec![NextHop {
                                    via: r.via,
                                    dev: dev.clone(),
                                }],
                            },
                        );
                    } else {
                        self.err(
                            r.at,
                            format!("{} has no interface {dev}", n.name),
                            "name one of the node's interfaces".to_string(),
                        );
                    }
                    continue;
                }
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
            stretched: false,
            family: Family::Dual,
        }
    }
}

/// The pools routes are summarized within: both pools with `summarize = true`, else none.
fn summarize_pools(lab: &Lab) -> Vec<Cidr> {
    if lab.summarize {
        lab.pool.into_iter().chain(lab.pool6).collect()
    } else {
        Vec::new()
    }
}

/// A node's sysctls: nsnet's own for its kind and families, then the lab file's (which so
/// win).
fn node_sysctls(n: &Node, has_v6: bool) -> Vec<Sysctl> {
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
    sysctls
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

/// A deterministic, locally administered unicast MAC from (lab, node, interface).
fn unique_mac(seen: &mut HashSet<[u8; 6]>, lab: &str, node: &str, iface: &str) -> Mac {
    let mut salt = 0u32;
    loop {
        let h = crate::values::fnv1a(
            lab.bytes()
                .chain([0])
                .chain(node.bytes())
                .chain([0])
                .chain(iface.bytes())
                .chain(salt.to_le_bytes()),
        );
        let b = h.to_be_bytes();
        let mac = [(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], b[4], b[5]];
        if seen.insert(mac) {
            return Mac(mac);
        }
        salt += 1;
    }
}
