//! The plain values callers pass in (veth ends, route specs) and get back (links,
//! addresses, routes as the kernel reports them). No behaviour: every module may use them.

use std::net::IpAddr;
use std::os::fd::BorrowedFd;

/// The protocol of the routes nsnet adds (RTPROT_STATIC, as `ip route add` marks them).
pub const RTPROT_STATIC: u8 = 4;

/// One end of a veth pair: its name, optional MAC and MTU, and the netns it is created in.
#[derive(Debug, Clone, Copy)]
pub struct VethEnd<'a> {
    /// The interface's name.
    pub name: &'a str,
    /// The ifindex to create it with (None: the kernel picks). Give the two ends different
    /// indexes: the kernel defers carrier-on by up to a second for a veth whose ifindex
    /// equals its peer's (linkwatch takes it for a non-stacked device).
    pub index: Option<u32>,
    /// Its MAC address (None: a random one).
    pub mac: Option<[u8; 6]>,
    /// Its MTU (None: the kernel's default).
    pub mtu: Option<u32>,
    /// The namespace it lands in.
    pub netns: BorrowedFd<'a>,
}

/// A VXLAN device to create: a point-to-point tunnel to one remote VTEP, learning off
/// (as `ip link add NAME [netns NS] type vxlan id VNI local L remote R dstport PORT
/// nolearning`); UDP checksums and TTL are the kernel's defaults.
#[derive(Debug, Clone, Copy)]
pub struct Vxlan<'a> {
    /// Its name where it lands.
    pub name: &'a str,
    /// The VXLAN network identifier, 24 bits (1..=16_777_215); the kernel refuses a
    /// larger one (ERANGE).
    pub vni: u32,
    /// The source address of the outer packets (VXLAN_LOCAL or VXLAN_LOCAL6); None: the
    /// kernel picks by route. Of the same family as `remote`.
    pub local: Option<IpAddr>,
    /// The remote VTEP, unicast (VXLAN_GROUP or VXLAN_GROUP6).
    pub remote: IpAddr,
    /// The UDP destination port (VXLAN_PORT; 4789 is IANA's).
    pub port: u16,
    /// Its MTU (None: the kernel's default).
    pub mtu: Option<u32>,
    /// Its MAC address (None: a random one).
    pub mac: Option<[u8; 6]>,
    /// The namespace it is created straight into (IFLA_NET_NS_FD); None: the socket's.
    /// Its UDP socket, `local` and the route to `remote` stay in the socket's own netns
    /// (the underlay) either way.
    pub netns: Option<BorrowedFd<'a>>,
    /// The ifindex to create it with (None: the kernel picks).
    pub index: Option<u32>,
}

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Its ifindex.
    pub index: u32,
    /// Its name.
    pub name: String,
    /// Its MAC address, when it has one.
    pub mac: Option<[u8; 6]>,
    /// Its MTU.
    pub mtu: u32,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Operationally up (carrier and IFF_UP; `lo` counts when IFF_UP).
    pub oper_up: bool,
    /// Index of the bridge (or other master) this link is enslaved to.
    pub master: Option<u32>,
    /// IFLA_INFO_KIND: "veth", "bridge" …; None for `lo` and physical devices.
    pub kind: Option<String>,
    /// Its counters (IFLA_STATS64), which dumps and announcements carry.
    pub stats: Option<LinkStats>,
}

/// A link's counters since it was created, as IFLA_STATS64 gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Received packets the kernel dropped.
    pub rx_dropped: u64,
    /// Packets to send that the kernel dropped.
    pub tx_dropped: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
}

/// An address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// The link's ifindex.
    pub ifindex: u32,
    /// The link's name.
    pub ifname: String,
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
}

/// A neighbour (ARP or NDP) entry as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighInfo {
    /// The link's ifindex.
    pub ifindex: u32,
    /// The link's name (empty when unknown).
    pub ifname: String,
    /// The neighbour's IP address.
    pub addr: IpAddr,
    /// Its link-layer address, once resolved.
    pub lladdr: Option<[u8; 6]>,
    /// The entry's state (NUD_*).
    pub state: NeighState,
}

/// The state of a neighbour entry (NUD_*), as `ip neigh` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighState {
    /// Being resolved.
    Incomplete,
    /// Confirmed reachable.
    Reachable,
    /// Valid but not confirmed lately.
    Stale,
    /// Waiting before probing.
    Delay,
    /// Being probed.
    Probe,
    /// Resolution failed.
    Failed,
    /// No resolution needed (point-to-point, multicast).
    Noarp,
    /// Set by hand, never expires.
    Permanent,
    /// Any other (NUD_NONE, unknown bits).
    Other,
}

impl NeighState {
    /// The word `ip neigh` prints.
    pub fn word(self) -> &'static str {
        match self {
            NeighState::Incomplete => "incomplete",
            NeighState::Reachable => "reachable",
            NeighState::Stale => "stale",
            NeighState::Delay => "delay",
            NeighState::Probe => "probe",
            NeighState::Failed => "failed",
            NeighState::Noarp => "noarp",
            NeighState::Permanent => "permanent",
            NeighState::Other => "none",
        }
    }
}

/// Whether an event reports an object that appeared (or changed) or one that went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// RTM_NEW*: added, or changed.
    New,
    /// RTM_DEL*: removed.
    Del,
}

/// The rtnetlink multicast groups a [`crate::Monitor`] can join (RTNLGRP_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Links appearing, changing (flags, carrier, MTU, master) and going away.
    Link,
    /// IPv4 addresses.
    Ipv4Addr,
    /// IPv6 addresses.
    Ipv6Addr,
    /// IPv4 routes.
    Ipv4Route,
    /// IPv6 routes.
    Ipv6Route,
    /// Neighbour (ARP and NDP) entries.
    Neigh,
}

impl Group {
    /// Every group.
    pub const ALL: [Group; 6] = [
        Group::Link,
        Group::Ipv4Addr,
        Group::Ipv6Addr,
        Group::Ipv4Route,
        Group::Ipv6Route,
        Group::Neigh,
    ];

    /// Its number (linux/rtnetlink.h's enum rtnetlink_groups).
    pub fn number(self) -> u32 {
        match self {
            Group::Link => 1,
            Group::Neigh => 3,
            Group::Ipv4Addr => 5,
            Group::Ipv4Route => 7,
            Group::Ipv6Addr => 9,
            Group::Ipv6Route => 11,
        }
    }
}

/// One change the kernel announced on a [`crate::Monitor`]'s groups, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtEvent {
    /// A link appeared or changed ([`Change::New`]: its whole new state) or went away.
    Link(Change, LinkInfo),
    /// An address was added or removed.
    Addr(Change, AddrInfo),
    /// A unicast route (of any table but `local`) was added, replaced or removed.
    Route(Change, RouteInfo),
    /// A neighbour entry appeared, changed state, or went away.
    Neigh(Change, NeighInfo),
    /// The socket's buffer overflowed and the kernel dropped events (ENOBUFS): what is
    /// known may be stale; dump again.
    Lost,
}

/// The name `ip route` gives a route's protocol (RTPROT_*), for those it knows by name.
pub fn route_protocol_name(protocol: u8) -> Option<&'static str> {
    Some(match protocol {
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        17 => "mrouted",
        18 => "keepalived",
        42 => "babel",
        99 => "openr",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        _ => return None,
    })
}

/// A unicast route of the main table: `dst/prefix` through one or more next hops.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    /// The destination network.
    pub dst: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// One next hop, or several for ECMP.
    pub nexthops: Vec<NextHopSpec>,
}

/// A next hop: a gateway (or none for a device route) and the outgoing interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextHopSpec {
    /// The gateway; None for a device route.
    pub via: Option<IpAddr>,
    /// The outgoing interface.
    pub dev: String,
}

/// A route as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The destination network.
    pub dst: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// Its next hops.
    pub nexthops: Vec<NextHopInfo>,
    /// RTPROT_* ([`RTPROT_STATIC`], 2 = kernel …).
    pub protocol: u8,
    /// The routing table.
    pub table: u32,
}

/// One next hop of a reported route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHopInfo {
    /// The gateway, if any.
    pub via: Option<IpAddr>,
    /// The outgoing interface's index.
    pub ifindex: u32,
    /// The interface name, when it is known in the socket's netns.
    pub dev: Option<String>,
    /// ECMP weight as `ip route` shows it (rtnh_hops + 1); 1 for a single next hop.
    pub weight: u16,
}
