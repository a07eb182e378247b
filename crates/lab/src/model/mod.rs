//! The validated lab: the file's structs resolved into names that exist, kinds that are known,
//! interface names filled in, values parsed, each with the place it came from. Errors found
//! here point at the offending value; errors that need the whole network (addresses, routes)
//! are found by the planner, with the same spans.

mod addr;
mod checks;
mod firewall;
mod link;
mod load;
pub(crate) use load::read_lab_file;
mod names;
mod node;
mod outside;
mod resolve;
mod software;

pub use names::{check_ifname, check_name, check_node_name, suggest, MAX_NODE_NAME};

use crate::cidr::Cidr;
use crate::error::Source;
use crate::firewall::Firewall;
use crate::impair::Impair;
use crate::values::{FileCopy, Kind, Routing, Sysctl};
use std::net::IpAddr;
use std::path::PathBuf;

/// A lab file, checked: every name known, every value parsed. What the planner starts from.
#[derive(Debug, Clone)]
pub struct Lab {
    /// 1-12 characters of [a-z0-9-]: `[lab] name`, the name given, or the file's stem.
    pub name: String,
    /// The lab file, absolute, when read from disk.
    pub file: Option<PathBuf>,
    /// Where segments without a subnet get their IPv4 one.
    /// None: `pool = "none"` (IPv4 only where a link gives it; an IPv6-only lab with pool6).
    pub pool: Option<Cidr>,
    /// Where segments get their IPv6 subnet; None: the lab is IPv4 only.
    pub pool6: Option<Cidr>,
    /// Whether nsnet computes routes.
    pub routing: Routing,
    /// Summarize routers' computed routes within the pools.
    pub summarize: bool,
    /// Start sshd in nodes (a node's own `ssh` wins).
    pub ssh: bool,
    /// Bytes a node's log may reach before it is rotated.
    pub log_size: u64,
    /// Sorted by name.
    pub nodes: Vec<Node>,
    /// In file order.
    pub links: Vec<Link>,
    /// Its checks and scenarios (`nsnet test`), its own and its checks file's.
    pub checks: crate::checks::Checks,
    pub(crate) src: Source,
    /// Where `pool` / `pool6` were written (or the [lab] table, or 0).
    pub(crate) pool_at: usize,
    pub(crate) pool6_at: usize,
    /// Where links to the host (uplinks, management) take their /30 from.
    pub host_pool: Cidr,
    /// Every host and router gets a management address (a link to the host).
    pub mgmt: bool,
    /// Where `host_pool` is written (or the [lab] table, or 0).
    pub(crate) host_pool_at: usize,
}

/// A node as the lab file gives it (the planner adds its interfaces, routes and sysctls).
#[derive(Debug, Clone)]
pub struct Node {
    /// 1-15 characters of [a-z0-9-].
    pub name: String,
    /// Host, router or switch.
    pub kind: Kind,
    /// Start sshd in it.
    pub ssh: bool,
    /// Commands to start once the network is up.
    pub exec: Vec<String>,
    /// The lab file's sysctls, in key order.
    pub sysctls: Vec<Sysctl>,
    /// Files copied into the node.
    pub files: Vec<FileCopy>,
    /// Directories the node gets its own empty copy of, normalized.
    pub private: Vec<crate::values::PrivateDir>,
    /// The lab file's `routes`.
    pub routes: Vec<StaticRoute>,
    /// A host's `gateway`, and where it is written.
    pub gateway: Option<(IpAddr, usize)>,
    /// Its firewall, checked (None: none, or it has errors).
    pub firewall: Option<Firewall>,
    /// The node's own tmpfs bound (its value, else the lab's, else the default).
    pub tmpfs_size: u64,
    /// Keep every capability (see `NodePlan::privileged`).
    pub privileged: bool,
    /// Switches only: the bridge runs the kernel's spanning tree.
    pub stp: bool,
    /// Its root filesystem (its value, else the lab's).
    pub root: crate::values::Root,
    /// A directory laid over its root (an overlay layer).
    pub tree: Option<std::path::PathBuf>,
    /// Services started the distribution's way once the network is up.
    pub services: Vec<String>,
    /// Its resource limits (its values, else the lab's).
    pub limits: crate::values::Limits,
    /// Addresses on its loopback, routed like subnets.
    pub loopback: Vec<Cidr>,
    /// IPv6 kept on (link-local addresses) even with no IPv6 address.
    pub ipv6: bool,
    /// Nodes whose startup finishes before this node's starts, with where each is written.
    pub after: Vec<(String, usize)>,
    /// Environment of its commands, by name.
    pub env: Vec<(String, String)>,
    /// Host paths mounted into it.
    pub binds: Vec<crate::values::Bind>,
    /// A link to the host with NAT (`uplink = true`).
    pub uplink: bool,
    /// Ports published on the host.
    pub ports: Vec<crate::outside::Port>,
    /// Host interfaces moved into it.
    pub host_ifaces: Vec<crate::outside::HostIface>,
    /// Where `uplink`, each port and each host interface are written.
    pub(crate) outside_at: OutsideAt,
    /// The host it is pinned to, when the lab is spread over several machines.
    pub host: Option<String>,
}

/// Where a node's keys about the outside are written.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutsideAt {
    pub uplink: usize,
    pub ports: Vec<usize>,
    pub host_ifaces: Vec<usize>,
}

/// A route the lab file gives a node.
#[derive(Debug, Clone)]
pub struct StaticRoute {
    /// The destination network.
    pub to: Cidr,
    /// The gateway: of the same family, or an IPv6 link-local address with `dev`.
    pub via: IpAddr,
    /// The interface toward the gateway, when given.
    pub dev: Option<String>,
    pub(crate) at: usize,
}

/// A link as the lab file gives it, its interfaces named.
#[derive(Debug, Clone)]
pub struct Link {
    /// Its two ends, in the order written.
    pub ends: [End; 2],
    /// Its segment's subnet, when given, and where.
    pub subnet: Option<(Cidr, usize)>,
    /// One per non-switch endpoint, in endpoint order: (end index, address, span).
    pub addresses: Vec<(usize, Cidr, usize)>,
    /// None: the kernel's default (1500).
    pub mtu: Option<u32>,
    /// Its cost for shortest paths (1 unless given).
    pub cost: u32,
    /// Rate limit, delay, jitter, loss (each direction).
    pub impair: Impair,
    /// A pure L2 link (no addresses on either end).
    pub l2: bool,
    /// Its stretched segment's name: links with one name are one L2 domain and subnet.
    pub segment: Option<String>,
    /// Which families its segment carries.
    pub family: Family,
    /// Where its `endpoints` and its `mtu` are written.
    pub(crate) at: usize,
    pub(crate) mtu_at: usize,
}

/// Which IP families a segment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// IPv4, and IPv6 when the lab has `pool6` or the link an IPv6 subnet.
    #[default]
    Dual,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

/// One end of a link.
#[derive(Debug, Clone)]
pub struct End {
    /// Index into `Lab::nodes`.
    pub node: usize,
    /// Its interface's name: written (`r1:wan`) or the node's next free `ethN`.
    pub iface: String,
    /// Its MAC, when given.
    pub mac: Option<[u8; 6]>,
    /// No addresses on it (`address = "none"`, or an `l2` link).
    pub no_address: bool,
    /// Where the endpoint is written.
    pub(crate) at: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("r1", 15).is_ok());
        assert!(check_name("a-very-long-name", 15).is_err());
        assert!(check_name("1r", 15).is_err());
        assert!(check_name("R1", 15).is_err());
        for ok in ["PC1", "leaf_1_0_1", "r1", "1r", "ws-random"] {
            assert!(check_node_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_x", "a.b", "a/b", "a b", &"x".repeat(64)] {
            assert!(check_node_name(bad).is_err(), "{bad}");
        }
        assert!(check_ifname("eth0", Kind::Host).is_ok());
        assert!(check_ifname("br0", Kind::Switch).is_err());
        assert!(check_ifname("a/b", Kind::Host).is_err());
        assert!(check_ifname("abcdefghijklmnop", Kind::Host).is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("rooter", &["host", "router", "switch"]).as_deref(),
            Some("did you mean `router`?")
        );
        assert_eq!(suggest("xyz", &["host", "router", "switch"]), None);
    }
}
