//! containerlab's `links`: brief (`endpoints: ["a:eth1", "b:eth1"]`) and extended (`type:
//! veth` with endpoint maps), as nsnet links. Links that leave the lab (to the host, the
//! management network, a VXLAN remote) are notes.

use super::Conv;
use crate::out::{EndOut, Kind, LinkOut, NodeOut};
use crate::yaml::{Node, V};
use std::collections::BTreeSet;

/// containerlab's MTU for a link that gives none.
const DEFAULT_MTU: u32 = 9500;

/// Link types whose other end is outside the lab.
const OUTSIDE: &[&str] = &[
    "mgmt-net",
    "macvlan",
    "host",
    "vxlan",
    "vxlan-stitch",
    "dummy",
];

/// One end as written, before it is checked.
struct RawEnd<'t> {
    node: String,
    iface: String,
    mac: Option<(String, &'t Node)>,
    addrs: Vec<(String, &'t Node)>,
    at: &'t Node,
}

impl Conv<'_> {
    /// The links, in file order; `nodes` are the converted nodes.
    pub(super) fn links(&mut self, l: &Node, nodes: &mut [NodeOut]) -> Vec<LinkOut> {
        let V::Seq(items) = &l.v else {
            if !matches!(l.v, V::Null) {
                self.err(
                    l,
                    format!("links is {}, not a list", l.what()),
                    "write - endpoints: [\"a:eth1\", \"b:eth1\"]",
                );
            }
            return Vec::new();
        };
        let mut used: BTreeSet<(String, String)> = BTreeSet::new();
        let mut out = Vec::new();
        for item in items {
            let fields = self.map(item, "a link");
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(key, _)| key.key() == k)
                    .map(|(_, v)| v)
            };
            let ty = match get("type") {
                Some(t) => self.string(t, "type").unwrap_or_default(),
                None => "brief".to_string(),
            };
            let raw = match ty.as_str() {
                "brief" => {
                    self.known_keys(
                        fields,
                        &["endpoints", "mtu", "labels", "vars", "ipv4", "ipv6"],
                        "a link",
                    );
                    self.brief(item, fields)
                }
                "veth" | "veth-stitch" => {
                    self.known_keys(
                        fields,
                        &["type", "endpoints", "mtu", "labels", "vars", "ipv4", "ipv6"],
                        "a veth link",
                    );
                    self.extended(item, fields)
                }
                t if OUTSIDE.contains(&t) => {
                    self.note(
                        item,
                        format!("a {t} link reaches outside the lab: not built"),
                    );
                    continue;
                }
                other => {
                    self.err(
                        get("type").unwrap_or(item),
                        format!("unknown link type `{other}`"),
                        "containerlab's link types are veth, veth-stitch, mgmt-net, macvlan, host, vxlan, vxlan-stitch and dummy",
                    );
                    continue;
                }
            };
            let Some(mut raw) = raw else { continue };
            // Link-level ipv4/ipv6 lists give the ends' addresses in order ("" for none).
            for fam in ["ipv4", "ipv6"] {
                if let Some(list) = get(fam) {
                    let list = self.strings(list, fam);
                    if list.len() > 2 {
                        self.err(
                            list[2].1,
                            format!("{fam} has more entries than the link has ends"),
                            "give at most two, in endpoint order",
                        );
                    }
                    for (i, (a, at)) in list.into_iter().take(2).enumerate() {
                        if !a.is_empty() {
                            raw[i].addrs.push((a, at));
                        }
                    }
                }
            }
            let mtu = match get("mtu") {
                Some(m) => match self.string(m, "mtu").and_then(|v| v.parse::<u32>().ok()) {
                    Some(v) => v,
                    None => {
                        self.err(m, "mtu is not a whole number", "e.g. mtu: 1500");
                        continue;
                    }
                },
                None => DEFAULT_MTU,
            };
            let [a, b] = raw;
            let (Some(a), Some(b)) = (self.end(a, nodes, &mut used), self.end(b, nodes, &mut used))
            else {
                continue;
            };
            out.push(LinkOut {
                comment: None,
                ends: [a, b],
                mtu: Some(mtu),
            });
        }
        self.loops(&out, nodes);
        let moved = crate::addrs::place(&mut out, nodes);
        self.notes.extend(moved);
        let macs = crate::addrs::unique_macs(&mut out, nodes);
        self.notes.extend(macs);
        out
    }

    /// Bridges linked into a loop: containerlab builds it and broadcasts circle it for ever;
    /// nsnet builds it only with the spanning tree on, which blocks a port instead.
    fn loops(&mut self, links: &[LinkOut], nodes: &mut [NodeOut]) {
        let index = |name: &str| nodes.iter().position(|n| n.name == name);
        let mut parent: Vec<usize> = (0..nodes.len()).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let mut looped = BTreeSet::new();
        for l in links {
            let (Some(a), Some(b)) = (index(&l.ends[0].node), index(&l.ends[1].node)) else {
                continue;
            };
            if nodes[a].kind != Kind::Switch || nodes[b].kind != Kind::Switch {
                continue;
            }
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra == rb {
                looped.insert(ra);
            } else {
                parent[ra] = rb;
            }
        }
        let looped: BTreeSet<usize> = looped.into_iter().map(|r| find(&mut parent, r)).collect();
        for root in looped {
            let mut names = Vec::new();
            for (i, n) in nodes.iter_mut().enumerate() {
                if n.kind == Kind::Switch && find(&mut parent, i) == root {
                    n.stp = true;
                    names.push(n.name.clone());
                }
            }
            self.notes.push(format!(
                "bridges {} are linked in a loop: they run the spanning tree (stp = true), which blocks a port; containerlab's bridges would pass broadcasts round it for ever",
                names.join(", ")
            ));
        }
    }

    /// `endpoints: ["a:eth1", "b:eth1"]`.
    fn brief<'t>(&mut self, item: &'t Node, fields: &'t [(Node, Node)]) -> Option<[RawEnd<'t>; 2]> {
        let Some((_, eps)) = fields.iter().find(|(k, _)| k.key() == "endpoints") else {
            self.err(
                item,
                "a link without endpoints",
                "write endpoints: [\"a:eth1\", \"b:eth1\"]",
            );
            return None;
        };
        let list = self.strings(eps, "endpoints");
        if list.len() != 2 {
            self.err(
                eps,
                format!("a link has two endpoints, this one {}", list.len()),
                "write endpoints: [\"a:eth1\", \"b:eth1\"]",
            );
            return None;
        }
        let mut ends = Vec::new();
        for (s, at) in list {
            let Some((node, iface)) = s.split_once(':') else {
                self.err(
                    at,
                    format!("endpoint `{s}` names no interface"),
                    "write NODE:INTERFACE, e.g. r1:eth1",
                );
                return None;
            };
            if super::OUTSIDE_NODES.contains(&node) {
                self.note(
                    at,
                    format!("a link to {node} reaches outside the lab: not built"),
                );
                return None;
            }
            ends.push(RawEnd {
                node: node.to_string(),
                iface: iface.to_string(),
                mac: None,
                addrs: Vec::new(),
                at,
            });
        }
        let b = ends.pop()?;
        let a = ends.pop()?;
        Some([a, b])
    }

    /// `type: veth` with `endpoints: [{ node, interface, mac, ipv4, ipv6 }, …]`.
    fn extended<'t>(
        &mut self,
        item: &'t Node,
        fields: &'t [(Node, Node)],
    ) -> Option<[RawEnd<'t>; 2]> {
        let Some((_, eps)) = fields.iter().find(|(k, _)| k.key() == "endpoints") else {
            self.err(
                item,
                "a veth link without endpoints",
                "write endpoints: [{ node: a, interface: eth1 }, { node: b, interface: eth1 }]",
            );
            return None;
        };
        let V::Seq(list) = &eps.v else {
            self.err(eps, "endpoints is not a list", "");
            return None;
        };
        if list.len() != 2 {
            self.err(
                eps,
                format!("a link has two endpoints, this one {}", list.len()),
                "",
            );
            return None;
        }
        let mut ends = Vec::new();
        for e in list {
            let f = self.map(e, "an endpoint");
            self.known_keys(
                f,
                &["node", "interface", "mac", "ipv4", "ipv6", "vars"],
                "an endpoint",
            );
            let get = |k: &str| f.iter().find(|(key, _)| key.key() == k).map(|(_, v)| v);
            let node = get("node").and_then(|n| self.string(n, "node"));
            let iface = get("interface").and_then(|n| self.string(n, "interface"));
            let (Some(node), Some(iface)) = (node, iface) else {
                self.err(
                    e,
                    "an endpoint needs node and interface",
                    "write { node: r1, interface: eth1 }",
                );
                return None;
            };
            let mac = get("mac").and_then(|m| self.string(m, "mac").map(|s| (s, m)));
            let mut addrs = Vec::new();
            for fam in ["ipv4", "ipv6"] {
                if let Some(a) = get(fam) {
                    if let Some(s) = self.string(a, fam) {
                        if !s.is_empty() {
                            addrs.push((s, a));
                        }
                    }
                }
            }
            ends.push(RawEnd {
                node,
                iface,
                mac,
                addrs,
                at: e,
            });
        }
        let b = ends.pop()?;
        let a = ends.pop()?;
        Some([a, b])
    }

    /// One end, checked: a converted node, a valid interface used once, a MAC, addresses.
    fn end(
        &mut self,
        r: RawEnd,
        nodes: &[NodeOut],
        used: &mut BTreeSet<(String, String)>,
    ) -> Option<EndOut> {
        let Some(n) = nodes.iter().find(|n| n.name == r.node) else {
            if !self.refused.contains(&r.node) {
                let all: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
                let hint = nsnet_lab::model::suggest(&r.node, &all)
                    .unwrap_or_else(|| "declare it under topology.nodes".into());
                self.err(
                    r.at,
                    format!(
                        "a link to node {}, which the topology does not have",
                        r.node
                    ),
                    hint,
                );
            }
            return None;
        };
        let kind = if n.kind == Kind::Switch {
            nsnet_lab::Kind::Switch
        } else {
            nsnet_lab::Kind::Router
        };
        if let Err(why) = nsnet_lab::model::check_ifname(&r.iface, kind) {
            self.err(r.at, format!("interface `{}` of {} {}", r.iface, r.node, why.message), "use a Linux interface name: eth1, eth2 … (containerlab's aliases are for vendor kinds)");
            return None;
        }
        if !used.insert((r.node.clone(), r.iface.clone())) {
            self.err(
                r.at,
                format!("interface {}:{} is in two links", r.node, r.iface),
                "give each link its own interface",
            );
            return None;
        }
        let mac = match r.mac {
            Some((m, at)) => match crate::names::check_mac(&m) {
                Ok(()) => Some(m),
                Err((message, hint)) => {
                    self.err(at, message, hint);
                    return None;
                }
            },
            None => None,
        };
        let mut addrs = Vec::new();
        let mut places = Vec::new();
        for (a, at) in r.addrs {
            match a.parse::<nsnet_lab::Cidr>() {
                Ok(_) => {
                    addrs.push(a);
                    places.push(self.at(at));
                }
                Err(e) => self.err(
                    at,
                    format!("`{a}` is not an address with a prefix length: {e}"),
                    "e.g. 192.168.0.1/24 or 2001:db8::1/64",
                ),
            }
        }
        if n.kind == Kind::Switch {
            if !addrs.is_empty() {
                self.note(
                    r.at,
                    format!(
                        "{}:{}: a bridge's port has no IP layer: its addresses are not set",
                        r.node, r.iface
                    ),
                );
            }
            if mac.is_some() {
                self.note(
                    r.at,
                    format!("{}:{}: a bridge's port keeps nsnet's MAC", r.node, r.iface),
                );
            }
            return Some(EndOut::port(&r.node, Some(&r.iface)));
        }
        Some(EndOut {
            node: r.node,
            iface: Some(r.iface),
            mac,
            addrs: Some(addrs),
            at: places,
        })
    }
}
