//! The `[[links]]`: endpoints checked and interfaces named, subnets, addresses, MTU, cost
//! and impairments parsed.

use super::addr::network_only;
use super::names::{check_ifname, suggest};
use super::resolve::Resolver;
use super::{End, Family, Link, Node};
use crate::cidr::Cidr;
use crate::error::Invalid;
use crate::impair::Impair;
use crate::limits::MAX_MTU;
use crate::spec::{EndpointSpec, LinkSpec, S};
use crate::values::Kind;
use std::collections::{BTreeSet, HashMap};

/// One end as written: node, explicit interface name, span, and its table's extras.
struct RawEnd {
    node: usize,
    iface: Option<String>,
    at: usize,
    mac: Option<[u8; 6]>,
    /// From the endpoint's table: `None` when not given; `Some(empty)` for "none".
    addresses: Option<Vec<(Cidr, usize)>>,
}

/// A link's two ends with its spec.
type ParsedLink = ([RawEnd; 2], S<LinkSpec>);

impl Resolver {
    /// The links, in file order; those whose endpoints are wrong are left out. `index` finds
    /// a node by name, `names` are all nodes' names (for hints).
    pub(super) fn links(
        &mut self,
        specs: Vec<S<LinkSpec>>,
        nodes: &[Node],
        index: &HashMap<&str, usize>,
        names: &[&str],
    ) -> Vec<Link> {
        // Explicit interface names first, so automatic ones can skip them.
        let mut taken: Vec<BTreeSet<String>> = vec![BTreeSet::new(); nodes.len()];
        let parsed: Vec<ParsedLink> = specs
            .into_iter()
            .filter_map(|ls| self.endpoints(ls, nodes, index, names, &mut taken))
            .collect();
        let mut next_eth = vec![0usize; nodes.len()];
        let mut links = Vec::with_capacity(parsed.len());
        for (raw, ls) in parsed {
            let l2 = ls.get_ref().l2.as_ref().is_some_and(|v| *v.get_ref());
            let mut given = Vec::new();
            let ends = raw.map(|r| {
                let no_address = l2 || r.addresses.as_ref().is_some_and(|a| a.is_empty());
                (r.node, r.iface, r.at, r.mac, no_address, r.addresses)
            });
            let ends = ends.map(|(ni, iface, at, mac, no_address, addrs)| {
                given.push(addrs.unwrap_or_default());
                End {
                    node: ni,
                    iface: iface.unwrap_or_else(|| free_eth(&taken[ni], &mut next_eth[ni])),
                    mac,
                    no_address,
                    at,
                }
            });
            links.push(self.link(ends, ls, nodes, given));
        }
        links
    }

    /// A link's two endpoints: known, different nodes; explicit interface names valid and
    /// not taken (they go into `taken`).
    fn endpoints(
        &mut self,
        ls: S<LinkSpec>,
        nodes: &[Node],
        index: &HashMap<&str, usize>,
        names: &[&str],
        taken: &mut [BTreeSet<String>],
    ) -> Option<ParsedLink> {
        let at = ls.span().start;
        let eps = ls.get_ref().endpoints.get_ref();
        if eps.len() != 2 {
            self.err(
                ls.get_ref().endpoints.span().start,
                format!("a link has exactly two endpoints, this one has {}", eps.len()),
                "write endpoints = [\"a\", \"b\"]; for more than two nodes on one segment use a switch".to_string(),
            );
            return None;
        }
        let mut ends = Vec::with_capacity(2);
        for ep in eps {
            let eat = ep.span().start;
            let (n, iface, mac, addresses) = match ep.get_ref() {
                EndpointSpec::Name(s) => match s.split_once(':') {
                    Some((n, i)) => (n.to_string(), Some(i.to_string()), None, None),
                    None => (s.clone(), None, None, None),
                },
                EndpointSpec::Table(t) => {
                    let mac = t.mac.as_ref().and_then(|m| self.check(eat, parse_mac(m)));
                    let list: Option<Vec<&String>> = match (&t.address, &t.addresses) {
                        (Some(_), Some(_)) => {
                            self.err(
                                eat,
                                "an endpoint has `address` or `addresses`, not both",
                                "list every address under `addresses`".to_string(),
                            );
                            None
                        }
                        (Some(a), None) if a == "none" => Some(Vec::new()),
                        (Some(a), None) => Some(vec![a]),
                        (None, Some(l)) => Some(l.iter().collect()),
                        (None, None) => None,
                    };
                    let addresses = list.map(|l| {
                        l.into_iter()
                            .filter_map(|a| {
                                let c = self.check(eat, super::addr::parse_cidr(a))?;
                                if self.unusable(&c, eat, "address") {
                                    return None;
                                }
                                Some((c, eat))
                            })
                            .collect()
                    });
                    (t.node.clone(), t.iface.clone(), mac, addresses)
                }
            };
            let Some(&ni) = index.get(n.as_str()) else {
                self.err(
                    eat,
                    format!("unknown node `{n}` in link"),
                    suggest(&n, names)
                        .or(Some(format!("declare it under [nodes], e.g. {n} = {{}}"))),
                );
                continue;
            };
            if let Some(i) = &iface {
                if let Err(why) = check_ifname(i, nodes[ni].kind) {
                    self.err(eat, format!("interface name `{i}` {}", why.message), None);
                } else if !taken[ni].insert(i.clone()) {
                    self.err(
                        eat,
                        format!("interface {n}:{i} is used by two links"),
                        "give each link its own interface name, or leave it out to get eth0, eth1 …".to_string(),
                    );
                }
            }
            if addresses
                .as_ref()
                .is_some_and(|a: &Vec<(Cidr, usize)>| !a.is_empty())
                && nodes[ni].kind == Kind::Switch
            {
                self.err(
                    eat,
                    format!("addresses on a switch's port: {n} is a switch and has no IP layer"),
                    "give addresses to the endpoint that is not a switch".to_string(),
                );
            }
            ends.push(RawEnd {
                node: ni,
                iface,
                at: eat,
                mac,
                addresses,
            });
        }
        if ends.len() != 2 {
            return None;
        }
        if ends[0].node == ends[1].node {
            self.err(
                at,
                format!("link from {} to itself", nodes[ends[0].node].name),
                "a link joins two different nodes".to_string(),
            );
            return None;
        }
        let b = ends.pop().unwrap();
        let a = ends.pop().unwrap();
        Some(([a, b], ls))
    }

    /// A link with its ends named: its other values checked.
    fn link(
        &mut self,
        ends: [End; 2],
        ls: S<LinkSpec>,
        nodes: &[Node],
        given: Vec<Vec<(Cidr, usize)>>,
    ) -> Link {
        let at = ls.get_ref().endpoints.span().start;
        let ls = ls.into_inner();
        let mtu_at = ls.mtu.as_ref().map_or(at, |m| m.span().start);
        let subnet = ls.subnet.as_ref().and_then(|s| self.link_subnet(s));
        let mut addresses = ls
            .addresses
            .as_ref()
            .map_or_else(Vec::new, |a| self.link_addresses(a, &ends, nodes));
        for (ei, list) in given.into_iter().enumerate() {
            if !list.is_empty() && addresses.iter().any(|&(e, _, _)| e == ei) {
                self.err(
                    list[0].1,
                    "this endpoint's addresses are also in the link's `addresses`",
                    "give them in one place".to_string(),
                );
                continue;
            }
            addresses.extend(list.into_iter().map(|(c, a)| (ei, c, a)));
        }
        let l2 = ls.l2.as_ref().is_some_and(|v| *v.get_ref());
        if l2 && (!addresses.is_empty() || subnet.is_some()) {
            self.err(
                at,
                "an `l2` link has no addresses and no subnet",
                "remove `l2`, or the link's addresses and subnet".to_string(),
            );
            addresses.clear();
        }
        if let Some(&(ei, _, a)) = addresses.iter().find(|&&(ei, _, _)| ends[ei].no_address) {
            let _ = ei;
            self.err(
                a,
                "addresses on an endpoint given `address = \"none\"`",
                "give the endpoint its addresses, or none".to_string(),
            );
        }
        let segment = ls.segment.as_ref().map(|s| s.get_ref().clone());
        let family = match ls.family.as_ref() {
            None => Family::Dual,
            Some(f) => match f.get_ref().as_str() {
                "dual" => Family::Dual,
                "ipv4" => Family::V4,
                "ipv6" => Family::V6,
                other => {
                    self.err(
                        f.span().start,
                        format!("unknown family `{other}`"),
                        "use \"ipv4\", \"ipv6\" or \"dual\"".to_string(),
                    );
                    Family::Dual
                }
            },
        };
        let mtu = ls
            .mtu
            .as_ref()
            .and_then(|m| self.check(m.span().start, check_mtu(*m.get_ref())));
        let cost = ls.cost.as_ref().map_or(1, |c| {
            self.check(c.span().start, check_cost(*c.get_ref()))
                .unwrap_or(1)
        });
        let impair = self.impair(&ls);
        Link {
            ends,
            subnet,
            addresses,
            mtu,
            cost,
            impair,
            l2,
            segment,
            family,
            at,
            mtu_at,
        }
    }

    /// `subnet`: a network no interface is barred from, and where it is written.
    fn link_subnet(&mut self, s: &S<String>) -> Option<(Cidr, usize)> {
        let at = s.span().start;
        let c = self.cidr(s)?;
        let c = self.check(at, network_only(c, "subnet"))?;
        if self.unusable(&c, at, "subnet") {
            return None;
        }
        Some((c, at))
    }

    /// `addresses`: one per end that is not a switch, in endpoint order, as (end index,
    /// address, span).
    fn link_addresses(
        &mut self,
        addrs: &S<Vec<S<String>>>,
        ends: &[End; 2],
        nodes: &[Node],
    ) -> Vec<(usize, Cidr, usize)> {
        let mut addresses = Vec::new();
        let l3: Vec<usize> = (0..2)
            .filter(|&i| nodes[ends[i].node].kind != Kind::Switch)
            .collect();
        let list = addrs.get_ref();
        if list.len() == 2 && l3.len() < 2 {
            let sw = ends
                .iter()
                .find(|e| nodes[e.node].kind == Kind::Switch)
                .map_or("", |e| nodes[e.node].name.as_str());
            self.err(
                addrs.span().start,
                format!("addresses on a switch's port: {sw} is a switch and has no IP layer"),
                "give one address, for the endpoint that is not a switch".to_string(),
            );
        } else if list.len() != l3.len() {
            let want = l3.len();
            self.err(
                addrs.span().start,
                format!("`addresses` has {} entries, the link needs {want}", list.len()),
                Some(format!("give one address per endpoint that is not a switch ({want}), in endpoint order")),
            );
        } else {
            for (k, a) in list.iter().enumerate() {
                let Some(c) = self.cidr(a) else { continue };
                if self.unusable(&c, a.span().start, "address") {
                    continue;
                }
                if c.is_network() && c.prefix < c.max_prefix() - 1 {
                    self.err(
                        a.span().start,
                        format!("`{c}` is a network address, not an interface address"),
                        format!(
                            "e.g. {}",
                            c.host(0).map(|h| h.to_string()).unwrap_or_default()
                        ),
                    );
                }
                addresses.push((l3[k], c, a.span().start));
            }
        }
        addresses
    }

    /// A link's impairments, each value checked where it is written.
    fn impair(&mut self, ls: &LinkSpec) -> Impair {
        fn value(v: &Option<S<String>>) -> Option<&str> {
            v.as_ref().map(|v| v.get_ref().as_str())
        }
        let (imp, errors) = Impair::parse_all(
            value(&ls.rate),
            value(&ls.delay),
            value(&ls.jitter),
            value(&ls.loss),
        );
        for e in errors {
            let at = match e.field {
                "rate" => &ls.rate,
                "delay" => &ls.delay,
                "jitter" => &ls.jitter,
                _ => &ls.loss,
            }
            .as_ref()
            .map_or(0, |v| v.span().start);
            self.report(
                at,
                Invalid {
                    message: format!("{}: {}", e.field, e.error.message),
                    hint: e.error.hint,
                },
            );
        }
        imp
    }
}

/// The first `ethN` from `*next` on that is not `taken`; `*next` moves past it.
fn free_eth(taken: &BTreeSet<String>, next: &mut usize) -> String {
    loop {
        let cand = format!("eth{next}");
        *next += 1;
        if !taken.contains(&cand) {
            return cand;
        }
    }
}

/// A MAC written `02:00:00:00:00:01`: six hex bytes, unicast.
fn parse_mac(s: &str) -> Result<[u8; 6], Invalid> {
    let bad = || {
        Invalid::new(format!("`{s}` is not a MAC address"))
            .hint("write six hex bytes, e.g. 02:00:00:00:00:01")
    };
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        return Err(Invalid::new(format!("`{s}` is a multicast MAC address"))
            .hint("an interface's MAC is unicast: the first byte is even, e.g. 02:…"));
    }
    if mac == [0; 6] {
        return Err(Invalid::new("the all-zero MAC cannot be an interface's"));
    }
    Ok(mac)
}

/// `mtu`: from IPv4's least to the most a veth takes.
fn check_mtu(v: i64) -> Result<u32, Invalid> {
    if v < 68 {
        return Err(Invalid::new(format!("MTU {v} is out of range"))
            .hint("an MTU is at least 68 (IPv4's minimum); 1500 is Ethernet's"));
    }
    if v > MAX_MTU as i64 {
        return Err(Invalid::new(format!(
            "MTU {v} is above {MAX_MTU}, the most a veth (or any Ethernet device) takes"
        ))
        .hint(format!("use at most {MAX_MTU}; jumbo frames are 9000")));
    }
    Ok(v as u32)
}

/// `cost`: 1 to 1000000.
fn check_cost(v: i64) -> Result<u32, Invalid> {
    if !(1..=1_000_000).contains(&v) {
        return Err(Invalid::new(format!("cost {v} is out of range"))
            .hint("a cost is a whole number from 1 to 1000000"));
    }
    Ok(v as u32)
}
