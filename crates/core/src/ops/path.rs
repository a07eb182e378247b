//! `nsnet path SRC DST`: the way a packet takes, read from each node's own kernel FIB
//! hop by hop (RTM_GETROUTE, as `ip route get`), every branch of a multipath route
//! followed, and where it breaks, why: no route, an interface or its peer down, a node
//! that does not forward.

use crate::ops::link::LinkError;
use crate::running::RunningLab;
use crate::running::Sockets;
use nsnet_lab::firewall::{Action, Chain, CtState, Field, Policy, Rule};
use nsnet_lab::{Kind, Plan};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Paths longer than this are reported as a loop.
const MAX_HOPS: usize = 64;
/// At most this many branches are followed.
const MAX_BRANCHES: usize = 64;

/// One branch of the way from SRC: its hops and how it ends.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Branch {
    /// (node, address it was reached at (None for SRC), interface it leaves by).
    pub hops: Vec<Hop>,
    /// None: it arrived (or goes on on another host). Some: where and why it broke.
    pub broken: Option<String>,
    /// In a host's part of a spread lab: it goes on at a node on another host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
    /// The source address the walk took for its firewall checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
}

/// Where a branch goes on, on another host: the node, the address and interface it is
/// reached at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Handoff {
    pub node: String,
    pub at: IpAddr,
    pub iif: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hop {
    pub node: String,
    pub reached_at: Option<IpAddr>,
    /// The interface it was reached by.
    pub iif: Option<String>,
    pub out: Option<String>,
}

impl std::fmt::Display for Branch {
    /// `h1 eth0 → r1 (10.0.0.1) eth1 → r2 (10.0.2.2) eth1 → h4 (10.0.1.3)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        for (i, h) in self.hops.iter().enumerate() {
            if i > 0 {
                s.push_str(" → ");
            }
            s.push_str(&h.node);
            if let Some(a) = h.reached_at {
                let _ = write!(s, " ({a})");
            }
            if let Some(o) = &h.out {
                let _ = write!(s, " {o}");
            }
        }
        if let Some(h) = &self.handoff {
            let _ = write!(s, " → {} ({}) on another host", h.node, h.at);
        }
        if let Some(why) = &self.broken {
            let _ = write!(s, " ✗ {why}");
        }
        f.write_str(&s)
    }
}

/// The destination a user named: a node (its first address) or an address.
/// `others`: the nodes of other hosts of a spread lab ([`elsewhere`]).
fn destination(
    plan: &Plan,
    dst: &str,
    others: &[(IpAddr, String, String)],
) -> Result<IpAddr, LinkError> {
    if let Ok(ip) = dst.parse::<IpAddr>() {
        return Ok(ip);
    }
    if plan.node(dst).is_none() {
        // A node on another host of a spread lab: by the name every node resolves.
        if let Some(a) = others.iter().find(|(_, n, _)| n == dst) {
            return Ok(a.0);
        }
    }
    let node = plan.node(dst).ok_or_else(|| {
        LinkError::Usage(format!(
            "`{dst}` is neither a node of lab '{}' nor an IP address",
            plan.lab
        ))
    })?;
    // Its loopback first (as its name resolves), then its interfaces', IPv4 before IPv6.
    let mut addrs: Vec<IpAddr> = node.addrs().map(|c| c.addr).collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    let mut lo: Vec<IpAddr> = node.loopback.iter().map(|c| c.addr).collect();
    lo.sort_by_key(|a| !a.is_ipv4());
    lo.append(&mut addrs);
    let addrs = lo;
    addrs
        .first()
        .copied()
        .ok_or_else(|| LinkError::Usage(format!("{dst} has no IP address")))
}

/// In a host's part of a spread lab, the other nodes' addresses, from the whole lab's
/// /etc/hosts (`addr\tnode node-iface`), in its order: (address, node, interface).
fn elsewhere(plan: &Plan) -> Vec<(IpAddr, String, String)> {
    let Some(hosts) = plan.etc_hosts.as_deref() else {
        return Vec::new();
    };
    hosts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr: IpAddr = f.next()?.parse().ok()?;
            let node = f.next()?.to_string();
            let iface = f.next()?.strip_prefix(&format!("{node}-"))?.to_string();
            (plan.node(&node).is_none()).then_some((addr, node, iface))
        })
        .collect()
}

/// Who has which address: node and interface, by address.
type Owners = HashMap<IpAddr, Vec<(String, String)>>;

struct Walk<'a> {
    plan: &'a Plan,
    dst: IpAddr,
    /// From the plan; addresses set by the nodes' own software are added from the
    /// kernels the first time an address is not found here.
    owners: Owners,
    live_owners: bool,
    socks: Sockets<'a>,
    /// Per node: interface → (admin up, oper up).
    links: HashMap<String, HashMap<String, (bool, bool)>>,
    down: Vec<usize>,
    out: Vec<Branch>,
    /// The walk goes on from a hop of another host: its first hop is not the source.
    continued: bool,
    /// The branch's source address, given by the host the walk began on.
    src: Option<IpAddr>,
    /// In a host's part of a spread lab: the other hosts' nodes by address (node, interface).
    others: HashMap<IpAddr, (String, String)>,
}

impl Walk<'_> {
    /// Every address each node's kernel has (what its own software set too), added to
    /// the planned ones.
    fn read_live_owners(&mut self) -> Result<(), LinkError> {
        self.live_owners = true;
        for n in &self.plan.nodes {
            let addrs = self
                .socks
                .get(&n.name)?
                .addrs()
                .map_err(|source| LinkError::Net {
                    node: n.name.clone(),
                    source,
                })?;
            for a in addrs {
                let v = self.owners.entry(a.addr).or_default();
                if !v.iter().any(|(node, i)| *node == n.name && *i == a.ifname) {
                    v.push((n.name.clone(), a.ifname));
                }
            }
        }
        Ok(())
    }

    /// The node and interface that `addr` is reached at from `here` by `dev`: among the
    /// nodes that have it, one on the same segment, else the only one.
    fn owner(
        &mut self,
        addr: IpAddr,
        here: &str,
        dev: &str,
    ) -> Result<Option<(String, String)>, LinkError> {
        if !self.owners.contains_key(&addr) && !self.live_owners {
            self.read_live_owners()?;
        }
        let Some(v) = self.owners.get(&addr) else {
            return Ok(None);
        };
        let seg = |node: &str, iface: &str| {
            self.plan
                .node(node)
                .and_then(|n| n.interface(iface))
                .map(|i| i.segment)
        };
        let mine = seg(here, dev);
        let on_segment = v.iter().find(|(n, i)| mine.is_some() && seg(n, i) == mine);
        Ok(on_segment.or(v.first()).cloned())
    }

    /// Whether `node` has `addr` (planned, or set by its software).
    fn has(&mut self, node: &str, addr: IpAddr) -> Result<bool, LinkError> {
        if !self.owners.contains_key(&addr) && !self.live_owners {
            self.read_live_owners()?;
        }
        Ok(self
            .owners
            .get(&addr)
            .is_some_and(|v| v.iter().any(|(n, _)| n == node)))
    }

    fn link_state(&mut self, node: &str, iface: &str) -> Result<(bool, bool), LinkError> {
        if !self.links.contains_key(node) {
            let ls = self
                .socks
                .get(node)?
                .links()
                .map_err(|source| LinkError::Net {
                    node: node.into(),
                    source,
                })?;
            let m = ls
                .into_iter()
                .map(|l| (l.name, (l.up, l.oper_up)))
                .collect();
            self.links.insert(node.to_string(), m);
        }
        Ok(self.links[node]
            .get(iface)
            .copied()
            .unwrap_or((false, false)))
    }

    fn forwards(&self, node: &str) -> bool {
        let n = self.plan.node(node).expect("planned node");
        let set = n
            .sysctls
            .iter()
            .rev()
            .find(|s| s.key == "net.ipv4.ip_forward")
            .map(|s| s.value.trim() == "1");
        set.unwrap_or(n.kind == Kind::Router)
    }

    /// Why the node may have no route: a planned route to dst that leaves by a down link.
    fn why_no_route(&self, node: &str) -> String {
        let n = self.plan.node(node).expect("planned node");
        for r in &n.routes {
            if !r.to.network().contains(&self.dst) {
                continue;
            }
            for h in &r.via {
                if let Some(i) = n.interface(&h.dev) {
                    if self.down.contains(&i.link) {
                        let l = &self.plan.links[i.link];
                        return format!(
                            " ({} is down: link {} — {} was taken down)",
                            h.dev, l.a, l.b
                        );
                    }
                }
            }
        }
        String::new()
    }

    /// The source address of a branch: its first interface's, of the destination's family.
    fn src_ip(&self, hops: &[Hop]) -> Option<IpAddr> {
        if self.continued {
            return self.src;
        }
        let n = self.plan.node(&hops.first()?.node)?;
        let i = n.interface(hops.first()?.out.as_deref()?)?;
        i.addrs
            .iter()
            .map(|c| c.addr)
            .find(|a| a.is_ipv4() == self.dst.is_ipv4())
    }

    /// Why `node`'s firewall drops the packet in `chain`, when its policy there is drop
    /// and no accept rule could let a new src → dst connection through. Rules with
    /// protocols or ports are taken as letting some traffic through.
    fn firewall_drop(
        &self,
        node: &str,
        chain: Chain,
        src: Option<IpAddr>,
        iif: Option<&str>,
        oif: Option<&str>,
    ) -> Option<String> {
        let fw = self.plan.node(node)?.firewall.as_ref()?;
        let policy = match chain {
            Chain::Input => fw.input,
            Chain::Forward => fw.forward,
            Chain::Output => fw.output,
            _ => return None,
        };
        if policy != Policy::Drop {
            return None;
        }
        let accepts = fw
            .rules
            .iter()
            .any(|r| accepts_new(r, chain, src, self.dst, iif, oif));
        (!accepts).then(|| {
            let src = src.map_or("this source".to_string(), |s| s.to_string());
            format!(
                "{node}'s firewall drops it: {chain} policy drop, no rule accepts {src} → {}",
                self.dst
            )
        })
    }

    fn step(&mut self, hops: Vec<Hop>) -> Result<(), LinkError> {
        if self.out.len() >= MAX_BRANCHES {
            return Ok(());
        }
        let here = hops.last().expect("a hop").node.clone();
        let src = self.src_ip(&hops);
        let broken = |hops: Vec<Hop>, why: String| Branch {
            hops,
            broken: Some(why),
            handoff: None,
            src,
        };
        // Past the first hop, or a walk that goes on from another host.
        let transit = hops.len() > 1 || self.continued;
        // The interface the packet came in by.
        let iif = hops.last().and_then(|h| h.iif.clone());
        let iif = iif.as_deref();
        if self.has(&here, self.dst)? {
            let src = self.src_ip(&hops);
            let drop = transit
                .then(|| self.firewall_drop(&here, Chain::Input, src, iif, None))
                .flatten();
            self.out.push(Branch {
                hops,
                broken: drop,
                handoff: None,
                src,
            });
            return Ok(());
        }
        if transit && !self.forwards(&here) {
            let why = format!("{here} does not forward packets (it is a host: ip_forward is off)");
            self.out.push(broken(hops, why));
            return Ok(());
        }
        if hops.len() > MAX_HOPS {
            self.out
                .push(broken(hops, "too many hops: a routing loop".into()));
            return Ok(());
        }
        let dst = self.dst;
        let sock = self.socks.get(&here)?;
        let route = match sock.route_get(dst) {
            Ok(_) => sock.route_get_fib(dst).or_else(|_| sock.route_get(dst)),
            Err(e) => Err(e),
        };
        let route = match route {
            Ok(r) => r,
            Err(e) => {
                let why = match e.errno() {
                    Some(libc::ENETUNREACH) => {
                        format!("{here} has no route to {dst}{}", self.why_no_route(&here))
                    }
                    Some(libc::EHOSTUNREACH) => format!("{here} has an unreachable route to {dst}"),
                    Some(libc::EINVAL) => format!("{here} has a blackhole route to {dst}"),
                    Some(libc::EACCES) => format!("{here} has a prohibit route to {dst}"),
                    _ => {
                        return Err(LinkError::Net {
                            node: here,
                            source: e,
                        })
                    }
                };
                self.out.push(broken(hops, why));
                return Ok(());
            }
        };
        if route.nexthops.is_empty() {
            let why = format!("{here} has a route to {dst} with no next hop");
            self.out.push(broken(hops, why));
            return Ok(());
        }
        for nh in &route.nexthops {
            let dev = nh
                .dev
                .clone()
                .unwrap_or_else(|| format!("if{}", nh.ifindex));
            let mut hops = hops.clone();
            hops.last_mut().expect("a hop").out = Some(dev.clone());
            if dev == "lo" {
                self.out.push(Branch {
                    hops,
                    broken: None,
                    handoff: None,
                    src,
                });
                continue;
            }
            let (up, carrier) = self.link_state(&here, &dev)?;
            let peer = self
                .plan
                .node(&here)
                .and_then(|n| n.interface(&dev))
                .map(|i| i.peer.clone());
            if !up {
                self.out.push(broken(hops, format!("{here}:{dev} is down")));
                continue;
            }
            if !carrier {
                let why = match &peer {
                    Some(p) => format!("{here}:{dev} has no carrier: its peer {p} is down"),
                    None => format!("{here}:{dev} has no carrier"),
                };
                self.out.push(broken(hops, why));
                continue;
            }
            let next = nh.via.unwrap_or(dst);
            let owner = self.owner(next, &here, &dev)?;
            if owner.is_none() {
                if let Some((node, iif)) = self.others.get(&next) {
                    let handoff = Handoff {
                        node: node.clone(),
                        at: next,
                        iif: iif.clone(),
                    };
                    self.out.push(Branch {
                        hops,
                        broken: None,
                        handoff: Some(handoff),
                        src,
                    });
                    continue;
                }
            }
            let Some((node, iface)) = owner else {
                let why = format!("leaves the lab: no node has {next}");
                self.out.push(broken(hops, why));
                continue;
            };
            let (up, _) = self.link_state(&node, &iface)?;
            if !up {
                self.out
                    .push(broken(hops, format!("{node}:{iface} is down")));
                continue;
            }
            let fw = if !transit {
                self.firewall_drop(&here, Chain::Output, src, None, Some(&dev))
            } else {
                self.firewall_drop(&here, Chain::Forward, src, iif, Some(&dev))
            };
            if let Some(why) = fw {
                self.out.push(broken(hops, why));
                continue;
            }
            if hops.iter().any(|h| h.node == node) {
                let why = format!("routing loop: back at {node}");
                self.out.push(broken(hops, why));
                continue;
            }
            hops.push(Hop {
                node,
                reached_at: Some(next),
                iif: Some(iface),
                out: None,
            });
            self.step(hops)?;
        }
        Ok(())
    }
}

/// fe80::/64 with the interface id made from `mac` (modified EUI-64, RFC 4291 appendix A).
pub fn eui64_link_local(mac: [u8; 6]) -> std::net::Ipv6Addr {
    let m = mac;
    std::net::Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

/// Every branch of the way from node `src` to `dst` (a node or an address).
pub fn path(lab: Option<&str>, src: &str, dst: &str) -> Result<Vec<Branch>, LinkError> {
    path_from(lab, src, dst, None)
}

/// Where a walk that began on another host of a spread lab goes on: the hop it reached
/// (its address and interface) and the branch's source address.
#[derive(Debug, Clone)]
pub struct GoOn {
    pub at: IpAddr,
    pub iif: String,
    pub src: Option<IpAddr>,
}

/// [`path`] from `src`, or, with `go_on`, from a hop a walk on another host handed over.
pub fn path_from(
    lab: Option<&str>,
    src: &str,
    dst: &str,
    go_on: Option<GoOn>,
) -> Result<Vec<Branch>, LinkError> {
    let lab = RunningLab::open(lab)?;
    let plan = &lab.planned();
    if plan.node(src).is_none() {
        lab.state.node(src)?;
    }
    let others = elsewhere(plan);
    let dst = destination(plan, dst, &others)?;
    let mut owners = Owners::new();
    for n in &plan.nodes {
        let mut own = |a: IpAddr, i: &str| {
            owners
                .entry(a)
                .or_default()
                .push((n.name.clone(), i.to_string()))
        };
        for a in &n.loopback {
            own(a.addr, "lo");
        }
        for i in &n.interfaces {
            for a in &i.addrs {
                own(a.addr, &i.name);
            }
            // The link-local address the kernel gives it (EUI-64 of its MAC): next hops of
            // routes learnt over IPv6 link-locals (RFC 5549, BGP unnumbered) are these.
            own(IpAddr::V6(eui64_link_local(i.mac.0)), &i.name);
        }
    }
    let down = lab.links()?.down.into_iter().collect();
    let mut w = Walk {
        plan,
        dst,
        owners,
        live_owners: false,
        socks: Sockets::new(&lab),
        links: HashMap::new(),
        down,
        out: Vec::new(),
        others: others
            .into_iter()
            .rev()
            .map(|(a, n, i)| (a, (n, i)))
            .collect(),
        continued: go_on.is_some(),
        src: go_on.as_ref().and_then(|g| g.src),
    };
    w.step(vec![Hop {
        node: src.to_string(),
        reached_at: go_on.as_ref().map(|g| g.at),
        iif: go_on.map(|g| g.iif),
        out: None,
    }])?;
    Ok(w.out)
}

/// Whether rule `r` may accept a new src → dst connection in `chain` (src None: unknown,
/// taken as not matching a source network).
fn accepts_new(
    r: &Rule,
    chain: Chain,
    src: Option<IpAddr>,
    dst: IpAddr,
    iif: Option<&str>,
    oif: Option<&str>,
) -> bool {
    // A field's match as written: negated, it holds where the plain one does not.
    let holds = |f, plain: bool| plain != r.negated(f);
    r.chain == chain
        && r.action == Action::Accept
        && r.src
            .is_none_or(|c| src.is_some_and(|s| holds(Field::Src, c.contains(&s))))
        && r.dst.is_none_or(|c| holds(Field::Dst, c.contains(&dst)))
        && r.iif
            .as_deref()
            .is_none_or(|i| holds(Field::Iif, Some(i) == iif))
        && r.oif
            .as_deref()
            .is_none_or(|o| holds(Field::Oif, Some(o) == oif))
        && (r.state.is_empty() || r.state.contains(&CtState::New))
}

#[cfg(test)]
mod tests {
    use nsnet_lab::firewall::{Action, Chain, Field, Rule};

    #[test]
    fn negated_matches_accept_what_the_plain_ones_do_not() {
        let r = Rule {
            chain: Chain::Forward,
            src: None,
            dst: Some("10.0.3.0/24".parse().unwrap()),
            proto: None,
            sport: None,
            dport: None,
            iif: Some("eth0".into()),
            oif: None,
            state: Vec::new(),
            action: Action::Accept,
            to: None,
            not: vec![Field::Dst, Field::Iif],
            nth: None,
            random: None,
            limit: None,
            log: None,
        };
        let ok = |dst: &str, iif| {
            super::accepts_new(&r, Chain::Forward, None, dst.parse().unwrap(), iif, None)
        };
        assert!(ok("10.0.4.1", Some("eth1")));
        assert!(!ok("10.0.3.1", Some("eth1")));
        assert!(!ok("10.0.4.1", Some("eth0")));
        let plain = Rule {
            not: Vec::new(),
            ..r.clone()
        };
        let dst = "10.0.3.1".parse().unwrap();
        assert!(super::accepts_new(
            &plain,
            Chain::Forward,
            None,
            dst,
            Some("eth0"),
            None
        ));
    }

    #[test]
    fn link_local_from_mac() {
        let a = super::eui64_link_local([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
        assert_eq!(a.to_string(), "fe80::42:acff:fe11:2");
    }
}
