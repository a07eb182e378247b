//! The `Plan`: everything about a lab that can be decided without the kernel. The kernel-facing
//! code executes it and decides nothing. It is plain data: printable, serialisable, comparable.

use crate::cidr::Cidr;
use crate::firewall::Firewall;
use crate::impair::Impair;
use crate::limits::{DEFAULT_LOG_SIZE, DEFAULT_TMPFS_SIZE};
use crate::values::{FileCopy, Kind, Routing, Sysctl};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// Everything about a lab that can be decided without the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The lab's name: 1-12 chars of [a-z0-9-].
    pub lab: String,
    /// The lab file this plan was made from (absolute), if any.
    pub source: Option<PathBuf>,
    /// Whether `routes` hold computed routes (see `routes`).
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
    /// Bytes a node's log may reach before it is rotated (one older file is kept).
    #[serde(default = "default_log_size")]
    pub log_size: u64,
    /// The lab's checks and scenarios (`nsnet test`).
    #[serde(default, skip_serializing_if = "crate::checks::Checks::is_empty")]
    pub checks: crate::checks::Checks,
    /// In one host's part of a lab spread over several machines: the links (indices into
    /// `links`) whose other end is on another host, each a VXLAN tunnel end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tunnels: Vec<Tunnel>,
    /// In one host's part of a spread lab: the whole lab's /etc/hosts (its nodes are not
    /// all in this plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etc_hosts: Option<String>,
}

/// A link end that is a VXLAN tunnel to another host (see `spread`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    /// The node whose interface it is.
    pub node: String,
    /// The interface: the VXLAN device takes its name, MAC and MTU.
    pub iface: String,
    /// Index into `Plan::links`.
    pub link: usize,
    /// Its VXLAN network identifier (unique on the two hosts).
    pub vni: u32,
    /// This host's underlay address.
    pub local: IpAddr,
    /// The other host's underlay address.
    pub remote: IpAddr,
    /// The UDP port.
    pub port: u16,
}

fn default_log_size() -> u64 {
    DEFAULT_LOG_SIZE
}

fn default_tmpfs_size() -> u64 {
    DEFAULT_TMPFS_SIZE
}

thread_local! {
    static HIDE_ROUTES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn routes_hidden(_: &[Route]) -> bool {
    HIDE_ROUTES.get()
}

/// Runs `f` (a serialization of a plan, on this thread) with every node's routes left
/// out: what `up` keeps of a plan, without a copy of the plan to strip them from (routes are
/// most of a big plan, and are computed again from the rest when they are needed).
pub fn without_routes<T>(f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            HIDE_ROUTES.set(false);
        }
    }
    HIDE_ROUTES.set(true);
    let _reset = Reset;
    f()
}

/// A node and everything it gets: interfaces, addresses, routes, sysctls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlan {
    /// 1-15 characters of [a-z0-9-].
    pub name: String,
    /// Host, router or switch.
    pub kind: Kind,
    /// Start sshd in this node.
    pub ssh: bool,
    /// Commands started with `/bin/sh -c` once the network is up, in order.
    pub exec: Vec<String>,
    /// Files copied into the node's private view.
    pub files: Vec<FileCopy>,
    /// Directories the node gets its own empty, writable copy of (a dir of its /run tmpfs).
    pub private: Vec<crate::values::PrivateDir>,
    /// Sysctls to write inside the node's netns, in order (nsnet's own first, then the lab
    /// file's, so the lab file wins). Keys are dotted: `net.ipv4.ip_forward`.
    pub sysctls: Vec<Sysctl>,
    /// For a switch: the name of the bridge inside its netns that all its ports join.
    pub bridge: Option<String>,
    /// In link order (eth0, eth1 … unless named).
    pub interfaces: Vec<Interface>,
    /// Routes to install, in a stable order (default routes last). Left out of what
    /// [`without_routes`] serializes.
    #[serde(default, skip_serializing_if = "routes_hidden")]
    pub routes: Vec<Route>,
    /// The lab file's own routes (its `routes` and `gateway`, and an uplink's default
    /// route), also in `routes`. They stay
    /// in the lab's stored state, which leaves out `routes`: the rest is recomputed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_routes: Vec<Route>,
    /// Firewall and NAT rules (an nftables table `inet nsnet`), if the lab file gives any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<Firewall>,
    /// Size limit of the node's own tmpfs (its /run, /tmp, /dev/shm, private dirs, files).
    #[serde(default = "default_tmpfs_size")]
    pub tmpfs_size: u64,
    /// Keep every capability in the node's bounding set (by default the ones labs never
    /// need are dropped: loading modules, raw I/O, reboot, the clock, ptrace …).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// For a switch: run the kernel's spanning tree on its bridge (allows L2 loops).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stp: bool,
    /// Its root filesystem.
    #[serde(default, skip_serializing_if = "crate::values::Root::is_host")]
    pub root: crate::values::Root,
    /// A directory laid over its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<PathBuf>,
    /// Services started the distribution's way (with `systemctl start`) before `exec`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Its resource limits.
    #[serde(default, skip_serializing_if = "crate::values::Limits::is_empty")]
    pub limits: crate::values::Limits,
    /// Addresses on its loopback (`lo`), routed like subnets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loopback: Vec<Cidr>,
    /// Nodes whose startup (their `exec` lines in the foreground) ends before this node's
    /// `exec` lines start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Environment of its `exec` lines, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// Host paths mounted into it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binds: Vec<crate::values::Bind>,
    /// Its link to the host: an uplink (NAT) or a management address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_link: Option<crate::outside::HostLink>,
    /// Ports published on the host, relayed to its loopback.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<crate::outside::Port>,
    /// Host interfaces moved into it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_ifaces: Vec<crate::outside::HostIface>,
    /// The host it is pinned to, when the lab is spread over several machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl NodePlan {
    /// The node's interface called `name`.
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

/// One end of a veth, in a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// `eth0`, or the name the lab file gives.
    pub name: String,
    /// Derived from (lab, node, interface): the same in every run.
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

/// An interface by name: `node:iface`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// The node's name.
    pub node: String,
    /// The interface's name in that node.
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
    /// The first endpoint written.
    pub a: Endpoint,
    /// The second endpoint written.
    pub b: Endpoint,
    /// Both ends' MTU; None: the kernel's default (1500).
    pub mtu: Option<u32>,
    /// Its cost for shortest paths.
    pub cost: u32,
    /// Index into `Plan::segments`.
    pub segment: usize,
    /// Rate limit, delay, jitter and loss, applied at both ends (so in each direction).
    #[serde(default, skip_serializing_if = "Impair::is_empty")]
    pub impair: Impair,
}

/// One L2 broadcast domain, with one subnet per family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// The switches that make this segment (empty for a point-to-point link).
    pub switches: Vec<String>,
    /// Its IPv4 subnet (None when no interface is on it).
    pub subnet4: Option<Cidr>,
    /// Its IPv6 subnet, in a dual-stack lab or when given.
    pub subnet6: Option<Cidr>,
    /// The L3 interfaces on this segment (switch ports and interfaces without addresses
    /// excluded).
    pub members: Vec<Endpoint>,
    /// Named by links (`segment = "…"`): one L2 domain, whatever joins it (a bridge in a
    /// node, a tunnel …), routed as such.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stretched: bool,
}

/// A route of a node; printed as `ip route` would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination network (`0.0.0.0/0` / `::/0` for a default route).
    pub to: Cidr,
    /// One next hop, or several for a multipath (ECMP) route.
    pub via: Vec<NextHop>,
}

/// A gateway, and the interface that reaches it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NextHop {
    /// The gateway's address, on the interface's subnet.
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
    /// The index in [`Plan::nodes`] of the node named `name` (O(log n)).
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
    }

    /// What checks are validated against: the nodes, their interfaces and firewall rules,
    /// the links.
    pub fn topology(&self) -> crate::checks::Topology {
        let mut t = crate::checks::Topology::default();
        for n in &self.nodes {
            let ifaces = n.interfaces.iter().map(|i| i.name.clone()).collect();
            let rules = n.firewall.as_ref().map_or(0, |f| f.rules.len());
            t.add_node(&n.name, n.kind, ifaces, rules);
        }
        for l in &self.links {
            t.add_link((&l.a.node, &l.a.iface), (&l.b.node, &l.b.iface));
        }
        t
    }

    /// Puts back every node's routes, computed from the rest, when none has any (a plan as
    /// [`without_routes`] stored it).
    pub fn restore_routes(&mut self) {
        if self.nodes.iter().all(|n| n.routes.is_empty()) {
            let routes = crate::plan::routes(self, &std::collections::HashSet::new());
            for (n, r) in self.nodes.iter_mut().zip(routes) {
                n.routes = r;
            }
        }
    }

    /// The node named `name` (O(log n)).
    pub fn node(&self, name: &str) -> Option<&NodePlan> {
        self.node_index(name).map(|i| &self.nodes[i])
    }

    /// The /etc/hosts every node of the lab gets: each node's addresses under its name (its
    /// loopback addresses first, as a router's name resolves to its loopback in a real
    /// network, then the first interface's), `node-lo` for loopback addresses and
    /// `node-ifname` for each interface.
    pub fn hosts_file(&self) -> String {
        if let Some(h) = &self.etc_hosts {
            return h.clone();
        }
        let mut out =
            String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        for n in &self.nodes {
            for a in &n.loopback {
                out.push_str(&format!("{}\t{} {}-lo\n", a.addr, n.name, n.name));
            }
            for i in &n.interfaces {
                for a in &i.addrs {
                    out.push_str(&format!("{}\t{} {}-{}\n", a.addr, n.name, n.name, i.name));
                }
            }
        }
        out
    }
}
