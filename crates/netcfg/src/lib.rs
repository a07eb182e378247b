//! The kernel's network configuration over raw netlink, synchronous.
//!
//! nsnet never runs `ip`, `tc`, `nft` or `sysctl`: this crate speaks to the kernel directly
//! so that thousands of nodes can be configured with batched, acknowledged requests and
//! every failure names the object it was about. It knows nothing of labs: callers pass
//! plain values (names, addresses, prefixes, namespace handles).
//!
//! Where each kernel call lives:
//! - `netlink`: the socket engine for every family ([`Socket`], [`RtSocket`],
//!   [`NftSocket`]): open, sequence numbers, send/receive, acks, dumps and the [`Batch`]
//!   that pipelines many requests. A request is a typed value that encodes and describes
//!   itself; a single request is a batch of one.
//! - `rtnl`: what rtnetlink requests share (the family, the interface index cache, the
//!   serializer of netlink-packet-route messages).
//! - `link`: veth pairs, bridges, macvlans, VXLANs, link state, master, MTU, deletion, link dumps (RTM_*LINK).
//! - `addr`: addresses (RTM_NEWADDR, RTM_GETADDR).
//! - `route`: routes and route lookups (RTM_*ROUTE).
//! - `neigh`: the ARP and NDP caches (RTM_GETNEIGH).
//! - `monitor`: a socket joined to rtnetlink's multicast groups ([`Monitor`]), whose
//!   announcements are decoded into [`RtEvent`]s by the parsers the dumps use.
//! - `nsid`: namespace ids (RTM_NEWNSID) and their end announced (RTM_DELNSID): [`NsidWatch`]
//!   tells when the kernel dismantles namespaces.
//! - `qdisc`: tbf and netem (RTM_*QDISC) and the [`Impairment`] they read back as.
//! - [`nft`]: nftables tables, chains and rules (NETLINK_NETFILTER), in one atomic batch.
//! - `wire`: the one hand encoder, for what the netlink-packet crates lack (tc options,
//!   nftables); rtnetlink messages are netlink-packet-route's types.
//! - `sysctl`: `/proc/sys` of the calling thread's netns ([`write_sysctl`]).
//! - `netns`: namespace handles and [`in_netns`]; `sys`: the only `unsafe`-capable module,
//!   with the system calls made outside netlink (setns, unshare).
//! - `error`: [`NetError`] and the typed [`Op`] it names.
//! - `values`: the plain values passed in and read back ([`RouteSpec`], [`LinkInfo`] …).
//!
//! Modules depend downwards only: `values` on nothing; `error` on `values`; `sys`,
//! `netns`, `sysctl` on `error`; `netlink` on those; `rtnl` and `wire` beside it; the
//! families' modules (`link` … `nft`) on all of these, never on each other; `monitor`
//! on the families' parsers.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod addr;
mod error;
mod link;
mod monitor;
mod neigh;
mod netlink;
mod netns;
pub mod nft;
mod nsid;
mod qdisc;
mod route;
mod rtnl;
#[allow(unsafe_code)]
mod sys;
mod sysctl;
mod values;
mod wire;

pub use error::{NetError, Op};
pub use monitor::Monitor;
pub use netlink::{Batch, Family, Nftables, Rtnetlink, Socket};
pub use netns::{in_netns, Netns};
pub use nsid::NsidWatch;
pub use qdisc::{Impairment, Netem, Tbf};
pub use sysctl::{read_sysctl, write_sysctl, write_sysctl_under};
pub use values::{
    route_protocol_name, AddrInfo, Change, Group, LinkInfo, LinkStats, NeighInfo, NeighState,
    NextHopInfo, NextHopSpec, RouteInfo, RouteSpec, RtEvent, VethEnd, Vxlan, RTPROT_STATIC,
};

/// An rtnetlink socket: links, addresses, routes, qdiscs.
pub type RtSocket = Socket<Rtnetlink>;

/// A NETLINK_NETFILTER socket: nftables.
pub type NftSocket = Socket<Nftables>;
