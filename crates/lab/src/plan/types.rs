//! The `Plan`: everything about a lab that can be decided without the kernel. The kernel-facing
//! code executes it and decides nothing. It is plain data: printable, serialisable, comparable.

use crate::cidr::Cidr;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The lab's name: 1-12 chars of [a-z0-9-].
    pub lab: String,
    /// The lab file this plan was made from (absolute), if any.
    pub source: Option<PathBuf>,
    pub routing: Routing,
    /// True when `pool6` is set: every segment carries IPv6 too. When false, IPv6 is turned
    /// off in every node (no DAD, MLD or router solicitations when links come up).
    pub dual_stack: bool,
    /// With `[lab] summarize = true`: the pools within which routers' routes are summarized.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summarize: Vec<Cidr>,
    /// Sorted by name (binary search with `Plan::node`).
    pub nodes: Vec<NodePlan>,
    /// One veth pair each, in lab-file order.
    pub links: Vec<LinkPlan>,
    /// L2 segments: a point-to-point link, or switches with all of their links.
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Host,
    Router,
    Switch,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad, not write_str: tables format kinds in columns of a width.
        f.pad(match self {
            Kind::Host => "host",
            Kind::Router => "router",
            Kind::Switch => "switch",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// nsnet installs shortest-path routes.
    Static,
    /// No computed routes: routing daemons do it (explicit `routes`/`gateway` still apply).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlan {
    pub name: String,
    pub kind: Kind,
    /// Start sshd in this node.
    pub ssh: bool,
    /// Commands started with `/bin/sh -c` once the network is up, in order.
    pub exec: Vec<String>,
    /// Files copied into the node's private view.
    pub files: Vec<FileCopy>,
    /// Directories the node gets its own empty, writable copy of (a dir of its /run tmpfs).
    pub private: Vec<String>,
    /// Sysctls to write inside the node's netns, in order (nsnet's own first, then the lab
    /// file's, so the lab file wins). Keys are dotted: `net.ipv4.ip_forward`.
    pub sysctls: Vec<Sysctl>,
    /// For a switch: the name of the bridge inside its netns that all its ports join.
    pub bridge: Option<String>,
    /// In link order (eth0, eth1 … unless named).
    pub interfaces: Vec<Interface>,
    /// Routes to install, in a stable order (default routes last).
    pub routes: Vec<Route>,
    /// The lab file's own routes (its `routes` and `gateway`), also in `routes`. They stay
    /// in the lab's stored state, which leaves out `routes`: the rest is recomputed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_routes: Vec<Route>,
    /// Firewall and NAT rules (an nftables table `inet nsnet`), if the lab file gives any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<crate::firewall::Firewall>,
}

impl NodePlan {
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// The route the node uses toward `addr`: the longest matching prefix, as the kernel
    /// picks it (connected subnets aside).
    pub fn route_for(&self, addr: &IpAddr) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|r| r.to.contains(addr))
            .max_by_key(|r| r.to.prefix)
    }

    /// Every address of the node, in interface order.
    pub fn addrs(&self) -> impl Iterator<Item = &Cidr> {
        self.interfaces.iter().flat_map(|i| i.addrs.iter())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCopy {
    /// Absolute path inside the node.
    pub path: String,
    /// Absolute path of the source on the host.
    pub source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
}

impl Sysctl {
    /// The interface this sysctl is about (`net.ipv4.conf.eth0.rp_filter` → eth0), if any:
    /// such sysctls can only be written once the interface exists; the others are written
    /// before any link is made, so that `default` values apply to every new interface.
    pub fn interface(&self) -> Option<&str> {
        let mut parts = self.key.splitn(5, '.');
        let (net, _family, table, dev) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        (net == "net" && matches!(table, "conf" | "neigh") && !matches!(dev, "all" | "default"))
            .then_some(dev)
    }

    /// The file under /proc/sys that holds this sysctl.
    pub fn proc_path(&self) -> String {
        format!("/proc/sys/{}", self.key.replace('.', "/"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub mac: Mac,
    /// None: the kernel's default (1500).
    pub mtu: Option<u32>,
    /// Index into `Plan::links`.
    pub link: usize,
    /// Index into `Plan::segments`.
    pub segment: usize,
    /// Interface addresses (address with the segment's prefix length). Empty on switch ports.
    pub addrs: Vec<Cidr>,
    /// The other end of this interface's veth.
    pub peer: Endpoint,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    pub node: String,
    pub iface: String,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.iface)
    }
}

/// One cable: a veth pair whose ends live in two nodes' netns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPlan {
    pub a: Endpoint,
    pub b: Endpoint,
    pub mtu: Option<u32>,
    pub cost: u32,
    pub segment: usize,
    /// Rate limit, delay, jitter and loss, applied at both ends (so in each direction).
    #[serde(default, skip_serializing_if = "crate::impair::Impair::is_empty")]
    pub impair: crate::impair::Impair,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// The switches that make this segment (empty for a point-to-point link).
    pub switches: Vec<String>,
    pub subnet4: Option<Cidr>,
    pub subnet6: Option<Cidr>,
    /// The L3 interfaces on this segment (switch ports excluded).
    pub members: Vec<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination network (`0.0.0.0/0` / `::/0` for a default route).
    pub to: Cidr,
    /// One next hop, or several for a multipath (ECMP) route.
    pub via: Vec<NextHop>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NextHop {
    pub via: IpAddr,
    /// The node's interface toward `via`.
    pub dev: String,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.to.prefix == 0 {
            f.write_str("default")?;
        } else {
            write!(f, "{}", self.to)?;
        }
        for (i, h) in self.via.iter().enumerate() {
            let sep = if i == 0 { " via " } else { ", " };
            write!(f, "{sep}{} dev {}", h.via, h.dev)?;
        }
        Ok(())
    }
}

/// A locally administered unicast MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Mac, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 6];
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(serde::de::Error::custom(format!("bad MAC {s}")));
        }
        for (o, p) in out.iter_mut().zip(parts) {
            *o = u8::from_str_radix(p, 16)
                .map_err(|_| serde::de::Error::custom(format!("bad MAC {s}")))?;
        }
        Ok(Mac(out))
    }
}

impl Plan {
    /// The node named `name` (O(log n)).
    pub fn node(&self, name: &str) -> Option<&NodePlan> {
        self.nodes
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// The /etc/hosts every node of the lab gets: each node's addresses under its name (the
    /// first interface's first), and `node-ifname` for each interface.
    pub fn hosts_file(&self) -> String {
        let mut out =
            String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        for n in &self.nodes {
            for i in &n.interfaces {
                for a in &i.addrs {
                    out.push_str(&format!("{}\t{} {}-{}\n", a.addr, n.name, n.name, i.name));
                }
            }
        }
        out
    }
}
