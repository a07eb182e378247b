//! Decoding of the kernel's replies (dumps, RTM_GETROUTE answers) into our plain
//! types, with netlink-packet-route doing the attribute parsing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, Parseable};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{self, LinkAttribute, LinkFlags, LinkMessage, State};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteNextHop,
};
use netlink_packet_route::AddressFamily;

use crate::{AddrInfo, LinkInfo, NextHopInfo, RouteInfo};

/// One RTM_NEWLINK payload.
pub fn link(payload: &[u8]) -> Result<LinkInfo, DecodeError> {
    let msg = LinkMessage::parse(payload)?;
    let flags = msg.header.flags;
    let mut info = LinkInfo {
        index: msg.header.index,
        name: String::new(),
        mac: None,
        mtu: 0,
        up: flags.contains(LinkFlags::Up),
        oper_up: false,
        master: None,
        kind: None,
    };
    let mut state = State::Unknown;
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => info.name = name,
            LinkAttribute::Address(mac) => info.mac = mac.as_slice().try_into().ok(),
            LinkAttribute::Mtu(mtu) => info.mtu = mtu,
            LinkAttribute::Controller(m) => info.master = Some(m),
            LinkAttribute::OperState(s) => state = s,
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let link::LinkInfo::Kind(kind) = i {
                        info.kind = Some(kind.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    // `lo` and some virtual devices report UNKNOWN while carrying traffic.
    info.oper_up = state == State::Up
        || (state == State::Unknown && info.up && flags.contains(LinkFlags::LowerUp));
    Ok(info)
}

/// One RTM_NEWADDR payload; the name is filled by the caller.
pub fn addr(payload: &[u8]) -> Result<Option<AddrInfo>, DecodeError> {
    let msg = AddressMessage::parse(payload)?;
    let (mut local, mut address) = (None, None);
    for attr in msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(a),
            AddressAttribute::Address(a) => address = Some(a),
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS may be a peer's.
    Ok(local.or(address).map(|addr| AddrInfo {
        ifindex: msg.header.index,
        ifname: String::new(),
        addr,
        prefix: msg.header.prefix_len,
    }))
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn multipath_hop(nh: &RouteNextHop) -> NextHopInfo {
    let via = nh.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => route_ip(g),
        _ => None,
    });
    NextHopInfo {
        via,
        ifindex: nh.interface_index,
        dev: None,
        weight: u16::from(nh.hops) + 1,
    }
}

/// A decoded RTM_NEWROUTE, with whether it is a cached clone (not a FIB entry).
pub struct ParsedRoute {
    pub route: RouteInfo,
    pub cloned: bool,
}

/// One RTM_NEWROUTE payload; interface names are filled by the caller.
pub fn route(payload: &[u8]) -> Result<ParsedRoute, DecodeError> {
    let msg = RouteMessage::parse(payload)?;
    let h = &msg.header;
    let dst_default = if h.address_family == AddressFamily::Inet6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let mut route = RouteInfo {
        dst: dst_default,
        prefix: h.destination_prefix_length,
        nexthops: Vec::new(),
        protocol: u8::from(h.protocol),
        table: u32::from(h.table),
    };
    let (mut gateway, mut oif) = (None, None);
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(d) => route.dst = route_ip(d).unwrap_or(dst_default),
            RouteAttribute::Gateway(g) => gateway = route_ip(g),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Table(t) => route.table = *t,
            RouteAttribute::MultiPath(hops) => {
                route.nexthops.extend(hops.iter().map(multipath_hop));
            }
            _ => {}
        }
    }
    if route.nexthops.is_empty() && (gateway.is_some() || oif.is_some()) {
        route.nexthops.push(NextHopInfo {
            via: gateway,
            ifindex: oif.unwrap_or(0),
            dev: None,
            weight: 1,
        });
    }
    Ok(ParsedRoute {
        route,
        cloned: h.flags.contains(RouteFlags::Cloned),
    })
}
