//! The kernel's network configuration over raw rtnetlink, synchronous.
//!
//! nsnet never runs `ip`, `tc` or `sysctl`: this crate speaks to the kernel directly so
//! that thousands of nodes can be configured with batched, acknowledged requests and
//! every failure names the object it was about. It knows nothing of labs: callers pass
//! plain values (names, addresses, prefixes, namespace handles).
//!
//! - [`Netns`] and [`in_netns`]: network namespace handles and a scoped switch.
//! - [`RtSocket`]: one rtnetlink socket bound to one netns; links, addresses, routes,
//!   dumps, and [`Batch`] for many requests in few system calls.
//! - [`write_sysctl`] / [`read_sysctl`]: `/proc/sys/net` of the calling thread's netns.
//! - [`NftSocket`] and [`nft`]: nftables tables, chains and rules in one atomic batch.

mod error;
mod netns;
pub mod nft;
mod parse;
pub mod qdisc;
pub mod raw;
mod socket;
#[allow(unsafe_code)]
pub mod sys;
mod sysctl;

pub use error::NetError;
pub use netns::{in_netns, Netns};
pub use nft::NftSocket;
pub use qdisc::{Netem, QdiscInfo, Tbf};
pub use socket::{Batch, RtSocket};
pub use sysctl::{read_sysctl, write_sysctl};

use std::net::IpAddr;
use std::os::fd::BorrowedFd;

/// One end of a veth pair: its name, optional MAC and MTU, and the netns it is created in.
#[derive(Debug, Clone, Copy)]
pub struct VethEnd<'a> {
    pub name: &'a str,
    /// The ifindex to create it with (None: the kernel picks). Give the two ends different
    /// indexes: the kernel defers carrier-on by up to a second for a veth whose ifindex
    /// equals its peer's (linkwatch takes it for a non-stacked device).
    pub index: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    pub netns: BorrowedFd<'a>,
}

/// A unicast route of the main table: `dst/prefix` through one or more next hops.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    pub dst: IpAddr,
    pub prefix: u8,
    pub nexthops: Vec<NextHopSpec>,
}

/// A next hop: a gateway (or none for a device route) and the outgoing interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextHopSpec {
    pub via: Option<IpAddr>,
    pub dev: String,
}

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Operationally up (carrier and IFF_UP; `lo` counts when IFF_UP).
    pub oper_up: bool,
    /// Index of the bridge (or other master) this link is enslaved to.
    pub master: Option<u32>,
    /// IFLA_INFO_KIND: "veth", "bridge" …; None for `lo` and physical devices.
    pub kind: Option<String>,
}

/// An address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    pub ifindex: u32,
    pub ifname: String,
    pub addr: IpAddr,
    pub prefix: u8,
}

/// A route as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub dst: IpAddr,
    pub prefix: u8,
    pub nexthops: Vec<NextHopInfo>,
    /// RTPROT_* (4 = static, 2 = kernel …).
    pub protocol: u8,
    pub table: u32,
}

/// One next hop of a reported route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHopInfo {
    pub via: Option<IpAddr>,
    pub ifindex: u32,
    /// The interface name, when it is known in the socket's netns.
    pub dev: Option<String>,
    /// ECMP weight as `ip route` shows it (rtnh_hops + 1); 1 for a single next hop.
    pub weight: u16,
}
