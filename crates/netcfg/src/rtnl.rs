//! What every rtnetlink request shares: the family as the socket engine sees it (with its
//! interface index cache), message flags and types, and the serializer that turns
//! netlink-packet-route's messages into bytes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::netlink::{sealed, Rtnetlink};
use crate::Op;

/// Interface name → ifindex, as resolved in the socket's netns.
#[derive(Debug, Default)]
pub struct IndexCache(pub(crate) HashMap<String, u32>);

/// Append `msg` with `flags` and `seq`, through netlink-packet-core's serializer.
pub(crate) fn emit_rtnl(buf: &mut Vec<u8>, seq: u32, flags: u16, msg: RouteNetlinkMessage) {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut m = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    m.finalize();
    let start = buf.len();
    buf.resize(start + m.buffer_len(), 0);
    m.serialize(&mut buf[start..]);
}

/// rtnetlink message types of the answers read here (linux/rtnetlink.h; netlink-packet-route
/// keeps its own private).
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_NEWROUTE: u16 = 24;
pub(crate) const RTM_NEWQDISC: u16 = 36;

/// Flags of a request that creates an object and fails if it exists, like `ip … add`.
pub(crate) const CREATE: u16 = NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE;

/// The address family of `ip`.
pub(crate) fn family_of(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

impl sealed::Family for Rtnetlink {
    const PROTOCOL: isize = netlink_sys::protocols::NETLINK_ROUTE;
    const NAME: &'static str = "rtnetlink";
    const ATOMIC: bool = false;
    const CHUNKED: bool = true;
    const RECV_TIMEOUT: Option<Duration> = None;
    const BATCH_OP: Op = Op::SendBatch;
    type Cache = IndexCache;
}
