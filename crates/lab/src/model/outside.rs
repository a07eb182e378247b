//! A node's keys about the outside (`uplink`, `ports`, `host_ifaces`) and the lab's
//! (`host_pool`, `mgmt`): parsed where they are written, then checked across the lab.

use super::addr::{check_usable, parse_cidr};
use super::names::check_ifname;
use super::resolve::Resolver;
use super::{Link, Node, OutsideAt};
use crate::outside::{HostIface, Port, MAX_PORTS, MGMT_IFACE, UPLINK_IFACE};
use crate::spec::{HostIfaceSpec, NodeSpec, S};
use crate::values::Kind;

/// A node's outside keys, parsed.
pub(super) struct Outside {
    pub uplink: bool,
    pub ports: Vec<Port>,
    pub host_ifaces: Vec<HostIface>,
    pub at: OutsideAt,
}

impl Resolver {
    /// `uplink`, `ports` and `host_ifaces` of node `name` (`at`: where the node is written).
    pub(super) fn outside(&mut self, ns: &NodeSpec, name: &str, kind: Kind, at: usize) -> Outside {
        let mut out = Outside {
            uplink: ns.uplink.as_ref().is_some_and(|u| *u.get_ref()),
            ports: Vec::new(),
            host_ifaces: Vec::new(),
            at: OutsideAt {
                uplink: ns.uplink.as_ref().map_or(at, |u| u.span().start),
                ..OutsideAt::default()
            },
        };
        if kind == Kind::Switch {
            let first = [
                ns.uplink
                    .as_ref()
                    .filter(|u| *u.get_ref())
                    .map(|u| u.span().start),
                ns.ports.first().map(|p| p.span().start),
                ns.host_ifaces.first().map(|h| h.span().start),
            ];
            if let Some(at) = first.into_iter().flatten().min() {
                self.err(
                    at,
                    format!("switch {name} has no IP layer: no uplink, ports or host interfaces"),
                    "give them to a host or a router on the switch".to_string(),
                );
            }
            out.uplink = false;
            return out;
        }
        for p in &ns.ports {
            if let Some(port) = self.check(p.span().start, Port::parse(p.get_ref())) {
                out.ports.push(port);
                out.at.ports.push(p.span().start);
            }
        }
        for h in &ns.host_ifaces {
            if let Some(hi) = self.host_iface(h, kind) {
                out.host_ifaces.push(hi);
                out.at.host_ifaces.push(h.span().start);
            }
        }
        out
    }

    fn host_iface(&mut self, h: &S<HostIfaceSpec>, kind: Kind) -> Option<HostIface> {
        let at = h.span().start;
        let (host, name, addresses, force, macvlan) = match h.get_ref() {
            HostIfaceSpec::Name(n) => (n.clone(), None, &[][..], false, false),
            HostIfaceSpec::Table(t) => (
                t.host.clone(),
                t.name.clone(),
                t.addresses.as_slice(),
                t.force,
                t.macvlan,
            ),
        };
        let ok_host = self.check(
            at,
            check_ifname(&host, Kind::Host)
                .map_err(|e| crate::Invalid::new(format!("host interface `{host}` {}", e.message))),
        );
        if host == "lo" {
            self.err(
                at,
                "the host's loopback `lo` cannot join a node",
                "name another host interface".to_string(),
            );
            return None;
        }
        let name = name.unwrap_or_else(|| host.clone());
        let ok_name = self.check(at, check_ifname(&name, kind));
        let mut addrs = Vec::new();
        for a in addresses {
            let Some(c) = self.check(at, parse_cidr(a)) else {
                continue;
            };
            if self.check(at, check_usable(&c, "address")).is_some() {
                addrs.push(c);
            }
        }
        (ok_host.is_some() && ok_name.is_some()).then_some(HostIface {
            host,
            name,
            addrs,
            force,
            macvlan,
        })
    }

    /// Across the lab: no two ports that cannot both listen, at most [`MAX_PORTS`]; no host
    /// interface taken twice; a node's names for host interfaces, its uplink or management
    /// interface clash with none of its own.
    pub(super) fn check_outside(&mut self, nodes: &[Node], links: &[Link], mgmt: bool) {
        let mut ports: Vec<(&Port, usize, &str)> = Vec::new();
        // Host interfaces given to nodes: moved, or with a macvlan on them (many macvlans
        // may share one, never one that is moved).
        let mut taken: Vec<(&str, usize, bool)> = Vec::new();
        for (ni, n) in nodes.iter().enumerate() {
            for (p, &at) in n.ports.iter().zip(&n.outside_at.ports) {
                if let Some((_, oat, other)) = ports.iter().find(|(o, _, _)| o.clashes(p)) {
                    let (l, c) = self.src.line_col(*oat);
                    self.err(
                        at,
                        format!("port {p} clashes with {other}'s at line {l}:{c}"),
                        "publish each host port once (per address and protocol)".to_string(),
                    );
                } else {
                    ports.push((p, at, &n.name));
                }
            }
            // The node's interface names: its links', then each new one in turn.
            let mut names: Vec<&str> = links
                .iter()
                .flat_map(|l| l.ends.iter())
                .filter(|e| e.node == ni)
                .map(|e| e.iface.as_str())
                .collect();
            let host_link = if n.uplink {
                Some(UPLINK_IFACE)
            } else if mgmt && n.kind != Kind::Switch {
                Some(MGMT_IFACE)
            } else {
                None
            };
            if let Some(h) = host_link {
                if names.contains(&h) {
                    let at = if n.uplink { n.outside_at.uplink } else { 0 };
                    self.err(
                        at,
                        format!(
                            "{} has an interface named `{h}`, the name of its link to the host",
                            n.name
                        ),
                        format!("name that interface otherwise (`{}:eth9`)", n.name),
                    );
                }
                names.push(h);
            }
            for (h, &at) in n.host_ifaces.iter().zip(&n.outside_at.host_ifaces) {
                if let Some((_, oat, _)) = taken
                    .iter()
                    .find(|(t, _, mv)| *t == h.host && !(h.macvlan && *mv))
                {
                    let (l, c) = self.src.line_col(*oat);
                    self.err(
                        at,
                        format!(
                            "host interface {} is taken twice (also at line {l}:{c})",
                            h.host
                        ),
                        "give each host interface to one node, or make every use of it a macvlan (macvlan = true)".to_string(),
                    );
                }
                taken.push((&h.host, at, h.macvlan));
                if names.contains(&h.name.as_str()) {
                    self.err(
                        at,
                        format!("{} already has an interface named `{}`", n.name, h.name),
                        "rename it in the node: { host = \"…\", name = \"ext0\" }".to_string(),
                    );
                }
                names.push(&h.name);
            }
        }
        if ports.len() > MAX_PORTS {
            self.err(
                ports[MAX_PORTS].1,
                format!("more than {MAX_PORTS} published ports"),
                "publish fewer".to_string(),
            );
        }
    }
}
