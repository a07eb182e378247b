//! `nsnet path SRC DST`: the way a packet takes, read from each node's own kernel FIB
//! hop by hop (RTM_GETROUTE, as `ip route get`), every branch of a multipath route
//! followed, and where it breaks, why: no route, an interface or its peer down, a node
//! that does not forward.

use crate::link::{LinkError, LinkState, Sockets};
use crate::state::{self, LabState};
use nsnet_lab::firewall::{Action, Chain, CtState, Policy};
use nsnet_lab::{Kind, Plan};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Paths longer than this are reported as a loop.
const MAX_HOPS: usize = 64;
/// At most this many branches are followed.
const MAX_BRANCHES: usize = 64;

/// One branch of the way from SRC: its hops and how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// (node, address it was reached at (None for SRC), interface it leaves by).
    pub hops: Vec<Hop>,
    /// None: it arrived. Some: where and why it broke.
    pub broken: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub node: String,
    pub reached_at: Option<IpAddr>,
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
        if let Some(why) = &self.broken {
            let _ = write!(s, " ✗ {why}");
        }
        f.write_str(&s)
    }
}

/// The destination a user named: a node (its first address) or an address.
fn destination(plan: &Plan, dst: &str) -> Result<IpAddr, LinkError> {
    if let Ok(ip) = dst.parse::<IpAddr>() {
        return Ok(ip);
    }
    let node = plan.node(dst).ok_or_else(|| {
        LinkError::Usage(format!(
            "`{dst}` is neither a node of lab '{}' nor an IP address",
            plan.lab
        ))
    })?;
    let mut addrs: Vec<IpAddr> = node.addrs().map(|c| c.addr).collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs
        .first()
        .copied()
        .ok_or_else(|| LinkError::Usage(format!("{dst} has no IP address")))
}

struct Walk<'a> {
    plan: &'a Plan,
    dst: IpAddr,
    owners: HashMap<IpAddr, (&'a str, &'a str)>,
    socks: Sockets,
    /// Per node: interface → (admin up, oper up).
    links: HashMap<String, HashMap<String, (bool, bool)>>,
    down: Vec<usize>,
    out: Vec<Branch>,
}

impl Walk<'_> {
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
        let accepts = fw.rules.iter().any(|r| {
            r.chain == chain
                && r.action == Action::Accept
                && r.src.is_none_or(|c| src.is_some_and(|s| c.contains(&s)))
                && r.dst.is_none_or(|c| c.contains(&self.dst))
                && r.iif.as_deref().is_none_or(|i| Some(i) == iif)
                && r.oif.as_deref().is_none_or(|o| Some(o) == oif)
                && (r.state.is_empty() || r.state.contains(&CtState::New))
        });
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
        let broken = |hops: Vec<Hop>, why: String| Branch {
            hops,
            broken: Some(why),
        };
        // The interface the packet came in by.
        let iif = hops
            .last()
            .and_then(|h| h.reached_at)
            .and_then(|a| self.owners.get(&a))
            .map(|o| o.1);
        if self.owners.get(&self.dst).is_some_and(|o| o.0 == here) {
            let src = self.src_ip(&hops);
            let drop = (hops.len() > 1)
                .then(|| self.firewall_drop(&here, Chain::Input, src, iif, None))
                .flatten();
            self.out.push(Branch { hops, broken: drop });
            return Ok(());
        }
        if hops.len() > 1 && !self.forwards(&here) {
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
                self.out.push(Branch { hops, broken: None });
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
            let Some(&(node, iface)) = self.owners.get(&next) else {
                let why = format!("leaves the lab: no node has {next}");
                self.out.push(broken(hops, why));
                continue;
            };
            let (up, _) = self.link_state(node, iface)?;
            if !up {
                self.out
                    .push(broken(hops, format!("{node}:{iface} is down")));
                continue;
            }
            let src = self.src_ip(&hops);
            let fw = if hops.len() == 1 {
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
                node: node.to_string(),
                reached_at: Some(next),
                out: None,
            });
            self.step(hops)?;
        }
        Ok(())
    }
}

/// Every branch of the way from node `src` to `dst` (a node or an address).
pub fn path(lab: Option<&str>, src: &str, dst: &str) -> Result<Vec<Branch>, LinkError> {
    let lab = state::resolve_lab(lab)?;
    let st = LabState::load(&lab)?;
    let plan = &crate::link::planned(&st);
    if plan.node(src).is_none() {
        st.node(src)?;
    }
    let dst = destination(plan, dst)?;
    let mut owners = HashMap::new();
    for n in &plan.nodes {
        for i in &n.interfaces {
            for a in &i.addrs {
                owners.insert(a.addr, (n.name.as_str(), i.name.as_str()));
            }
        }
    }
    let down = LinkState::load(&lab)?.down.into_iter().collect();
    let mut w = Walk {
        plan,
        dst,
        owners,
        socks: Sockets::new(&lab),
        links: HashMap::new(),
        down,
        out: Vec::new(),
    };
    w.step(vec![Hop {
        node: src.to_string(),
        reached_at: None,
        out: None,
    }])?;
    Ok(w.out)
}
