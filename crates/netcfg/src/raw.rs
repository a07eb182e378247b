//! Hand-encoded rtnetlink requests: the one place where netlink bytes are written.
//!
//! Requests are appended to a caller-owned buffer with no allocation of their own, so
//! a batch of a million routes costs one growing `Vec<u8>`. The layout of every
//! request follows what iproute2 sends (attribute order included); the unit tests
//! compare against bytes captured from `ip` with strace. Replies are parsed with
//! netlink-packet-route (see `parse.rs`).

use std::net::IpAddr;

// Netlink header types and flags (linux/netlink.h).
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLMSG_HDRLEN: usize = 16;

// rtnetlink message types (linux/rtnetlink.h).
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;

// Link attributes (linux/if_link.h, linux/veth.h).
pub const IFLA_ADDRESS: u16 = 1;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MTU: u16 = 4;
pub const IFLA_MASTER: u16 = 10;
pub const IFLA_LINKINFO: u16 = 18;
pub const IFLA_NET_NS_FD: u16 = 28;
pub const IFLA_EXT_MASK: u16 = 29;
pub const IFLA_INFO_KIND: u16 = 1;
pub const IFLA_INFO_DATA: u16 = 2;
pub const VETH_INFO_PEER: u16 = 1;
pub const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
pub const IFF_UP: u32 = 0x1;

// Address attributes (linux/if_addr.h).
pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_F_NODAD: u8 = 0x02;

// Route attributes and header values (linux/rtnetlink.h).
pub const RTA_DST: u16 = 1;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_MULTIPATH: u16 = 9;
pub const RT_TABLE_MAIN: u8 = 254;
pub const RTPROT_STATIC: u8 = 4;
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_LINK: u8 = 253;
pub const RTN_UNICAST: u8 = 1;

pub const AF_UNSPEC: u8 = 0;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// Flags of a request that creates an object and fails if it exists, like `ip … add`.
pub const CREATE_FLAGS: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;

/// One netlink message being appended to a buffer; `finish` writes its length.
pub struct Msg<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Msg<'a> {
    /// Start a message: the 16-byte nlmsghdr (length patched later, pid 0 = kernel).
    pub fn begin(buf: &'a mut Vec<u8>, ty: u16, flags: u16, seq: u32) -> Msg<'a> {
        let start = buf.len();
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        Msg { buf, start }
    }

    /// struct ifinfomsg.
    pub fn ifinfomsg(&mut self, family: u8, index: u32, flags: u32, change: u32) {
        self.buf.extend_from_slice(&[family, 0, 0, 0]); // family, pad, ifi_type
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
    }

    /// struct ifaddrmsg.
    pub fn ifaddrmsg(&mut self, family: u8, prefix: u8, flags: u8, scope: u8, index: u32) {
        self.buf.extend_from_slice(&[family, prefix, flags, scope]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
    }

    /// struct rtmsg.
    pub fn rtmsg(&mut self, family: u8, dst_len: u8, table: u8, protocol: u8, scope: u8, kind: u8) {
        // family, dst_len, src_len, tos, table, protocol, scope, type, flags (u32)
        self.buf
            .extend_from_slice(&[family, dst_len, 0, 0, table, protocol, scope, kind]);
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
    }

    /// struct nfgenmsg (nfnetlink): family, version 0, res_id (big-endian).
    pub fn nfgenmsg(&mut self, family: u8, res_id: u16) {
        self.buf.extend_from_slice(&[family, 0]);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
    }

    /// struct tcmsg (qdiscs): AF_UNSPEC, ifindex, handle, parent, info 0.
    pub fn tcmsg(&mut self, ifindex: u32, handle: u32, parent: u32) {
        self.buf.extend_from_slice(&[AF_UNSPEC, 0, 0, 0]);
        for v in [ifindex, handle, parent, 0] {
            self.buf.extend_from_slice(&v.to_ne_bytes());
        }
    }

    /// An attribute with a raw payload, padded to 4 bytes.
    pub fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    pub fn attr_u32(&mut self, ty: u16, v: u32) {
        self.attr(ty, &v.to_ne_bytes());
    }

    /// A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND …).
    pub fn attr_str(&mut self, ty: u16, s: &str) {
        let len = 4 + s.len() + 1;
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.pad();
    }

    /// An address attribute: 4 bytes for IPv4, 16 for IPv6, network order.
    pub fn attr_ip(&mut self, ty: u16, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => self.attr(ty, &a.octets()),
            IpAddr::V6(a) => self.attr(ty, &a.octets()),
        }
    }

    /// Open a nested attribute; close it with [`Msg::nest_end`] and the returned offset.
    pub fn nest_begin(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        at
    }

    /// Close a nested attribute (or an rtnexthop, whose length is also a leading u16).
    pub fn nest_end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// Open a struct rtnexthop inside RTA_MULTIPATH; close with [`Msg::nest_end`].
    pub fn rtnexthop_begin(&mut self, ifindex: u32) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0, 0, 0]); // len (patched), flags, hops
        self.buf.extend_from_slice(&ifindex.to_ne_bytes());
        at
    }

    fn pad(&mut self) {
        let rem = (self.buf.len() - self.start) % 4;
        if rem != 0 {
            self.buf.resize(self.buf.len() + 4 - rem, 0);
        }
    }

    /// Write nlmsg_len; returns the message's length.
    pub fn finish(self) -> usize {
        let len = self.buf.len() - self.start;
        self.buf[self.start..self.start + 4].copy_from_slice(&(len as u32).to_ne_bytes());
        len
    }
}

/// One veth end's identity, resolved to plain numbers.
#[derive(Debug, Clone, Copy)]
pub struct VethRaw<'a> {
    pub name: &'a str,
    pub index: u32,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    pub netns_fd: u32,
}

fn veth_end_attrs(m: &mut Msg<'_>, end: &VethRaw<'_>) {
    if let Some(mac) = end.mac {
        m.attr(IFLA_ADDRESS, &mac);
    }
    if let Some(mtu) = end.mtu {
        m.attr_u32(IFLA_MTU, mtu);
    }
    m.attr_u32(IFLA_NET_NS_FD, end.netns_fd);
    m.attr_str(IFLA_IFNAME, end.name);
}

/// RTM_NEWLINK of a veth pair: end `a` in the outer message, `b` as a full ifinfomsg
/// with its own attributes inside IFLA_LINKINFO/IFLA_INFO_DATA/VETH_INFO_PEER.
pub fn new_veth(buf: &mut Vec<u8>, seq: u32, a: &VethRaw<'_>, b: &VethRaw<'_>) {
    let mut m = Msg::begin(buf, RTM_NEWLINK, CREATE_FLAGS, seq);
    m.ifinfomsg(AF_UNSPEC, a.index, 0, 0);
    veth_end_attrs(&mut m, a);
    let info = m.nest_begin(IFLA_LINKINFO);
    m.attr(IFLA_INFO_KIND, b"veth"); // no NUL, as ip sends it
    let data = m.nest_begin(IFLA_INFO_DATA);
    let peer = m.nest_begin(VETH_INFO_PEER);
    // The kernel honours the peer's index only when the outer one is set too.
    m.ifinfomsg(AF_UNSPEC, b.index, 0, 0);
    veth_end_attrs(&mut m, b);
    m.nest_end(peer);
    m.nest_end(data);
    m.nest_end(info);
    m.finish();
}

/// RTM_NEWLINK of a bridge (STP stays off: the kernel's default).
pub fn new_bridge(buf: &mut Vec<u8>, seq: u32, name: &str, mac: Option<[u8; 6]>, mtu: Option<u32>) {
    let mut m = Msg::begin(buf, RTM_NEWLINK, CREATE_FLAGS, seq);
    m.ifinfomsg(AF_UNSPEC, 0, 0, 0);
    if let Some(mac) = mac {
        m.attr(IFLA_ADDRESS, &mac);
    }
    if let Some(mtu) = mtu {
        m.attr_u32(IFLA_MTU, mtu);
    }
    m.attr_str(IFLA_IFNAME, name);
    let info = m.nest_begin(IFLA_LINKINFO);
    m.attr(IFLA_INFO_KIND, b"bridge");
    m.nest_end(info);
    m.finish();
}

/// RTM_NEWLINK changing IFF_UP of an existing link.
pub fn set_link_state(buf: &mut Vec<u8>, seq: u32, flags: u16, index: u32, up: bool) {
    let mut m = Msg::begin(buf, RTM_NEWLINK, flags, seq);
    m.ifinfomsg(AF_UNSPEC, index, if up { IFF_UP } else { 0 }, IFF_UP);
    m.finish();
}

/// RTM_NEWLINK with one u32 attribute (IFLA_MASTER, IFLA_MTU) on an existing link.
pub fn set_link_u32(buf: &mut Vec<u8>, seq: u32, flags: u16, index: u32, attr: u16, v: u32) {
    let mut m = Msg::begin(buf, RTM_NEWLINK, flags, seq);
    m.ifinfomsg(AF_UNSPEC, index, 0, 0);
    m.attr_u32(attr, v);
    m.finish();
}

/// RTM_DELLINK by index.
pub fn del_link(buf: &mut Vec<u8>, seq: u32, flags: u16, index: u32) {
    let mut m = Msg::begin(buf, RTM_DELLINK, flags, seq);
    m.ifinfomsg(AF_UNSPEC, index, 0, 0);
    m.finish();
}

/// RTM_GETLINK for one name (the reply is one RTM_NEWLINK or an error).
pub fn get_link(buf: &mut Vec<u8>, seq: u32, name: &str) {
    let mut m = Msg::begin(buf, RTM_GETLINK, NLM_F_REQUEST, seq);
    m.ifinfomsg(AF_UNSPEC, 0, 0, 0);
    m.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    m.attr_str(IFLA_IFNAME, name);
    m.finish();
}

/// RTM_NEWADDR: IFA_LOCAL and IFA_ADDRESS both set to `addr` (a local, non-peer
/// address, as `ip addr add` sends it); IPv6 with IFA_F_NODAD so it is usable at once.
pub fn new_addr(buf: &mut Vec<u8>, seq: u32, flags: u16, index: u32, addr: IpAddr, prefix: u8) {
    let mut m = Msg::begin(buf, RTM_NEWADDR, flags, seq);
    let (family, ifa_flags) = match addr {
        IpAddr::V4(_) => (AF_INET, 0),
        IpAddr::V6(_) => (AF_INET6, IFA_F_NODAD),
    };
    m.ifaddrmsg(family, prefix, ifa_flags, RT_SCOPE_UNIVERSE, index);
    m.attr_ip(IFA_LOCAL, addr);
    m.attr_ip(IFA_ADDRESS, addr);
    m.finish();
}

/// RTM_NEWROUTE / RTM_DELROUTE of a unicast, static route in the main table.
/// One next hop: RTA_GATEWAY + RTA_OIF; several: RTA_MULTIPATH of rtnexthops.
pub fn route(
    buf: &mut Vec<u8>,
    seq: u32,
    ty: u16,
    flags: u16,
    dst: IpAddr,
    prefix: u8,
    nexthops: &[(Option<IpAddr>, u32)],
) {
    let mut m = Msg::begin(buf, ty, flags, seq);
    let family = if dst.is_ipv4() { AF_INET } else { AF_INET6 };
    // A v4 route with no gateway at all is on-link (scope link), as `ip route` does.
    let scope = if family == AF_INET && nexthops.iter().all(|nh| nh.0.is_none()) {
        RT_SCOPE_LINK
    } else {
        RT_SCOPE_UNIVERSE
    };
    m.rtmsg(
        family,
        prefix,
        RT_TABLE_MAIN,
        RTPROT_STATIC,
        scope,
        RTN_UNICAST,
    );
    m.attr_ip(RTA_DST, dst);
    match nexthops {
        [(via, oif)] => {
            if let Some(via) = via {
                m.attr_ip(RTA_GATEWAY, *via);
            }
            m.attr_u32(RTA_OIF, *oif);
        }
        _ => {
            let mp = m.nest_begin(RTA_MULTIPATH);
            for (via, oif) in nexthops {
                let nh = m.rtnexthop_begin(*oif);
                if let Some(via) = via {
                    m.attr_ip(RTA_GATEWAY, *via);
                }
                m.nest_end(nh);
            }
            m.nest_end(mp);
        }
    }
    m.finish();
}

/// RTM_GETROUTE for one destination: the kernel answers with the route it would use.
pub fn get_route(buf: &mut Vec<u8>, seq: u32, dst: IpAddr) {
    get_route_flags(buf, seq, dst, 0)
}

/// rtm_flags of a lookup: answer with the matching FIB entry, not the resolved route.
pub const RTM_F_FIB_MATCH: u32 = 0x2000;

/// RTM_GETROUTE with rtm_flags (e.g. [`RTM_F_FIB_MATCH`]).
pub fn get_route_flags(buf: &mut Vec<u8>, seq: u32, dst: IpAddr, rtm_flags: u32) {
    let mut m = Msg::begin(buf, RTM_GETROUTE, NLM_F_REQUEST, seq);
    let (family, len) = if dst.is_ipv4() {
        (AF_INET, 32)
    } else {
        (AF_INET6, 128)
    };
    m.rtmsg(family, len, 0, 0, 0, 0);
    let at = m.buf.len() - 4;
    m.buf[at..].copy_from_slice(&rtm_flags.to_ne_bytes());
    m.attr_ip(RTA_DST, dst);
    m.finish();
}

/// A dump request (RTM_GETLINK, RTM_GETADDR or RTM_GETROUTE) for one family.
pub fn dump(buf: &mut Vec<u8>, seq: u32, ty: u16, family: u8) {
    let mut m = Msg::begin(buf, ty, NLM_F_REQUEST | NLM_F_DUMP, seq);
    match ty {
        RTM_GETLINK => {
            m.ifinfomsg(family, 0, 0, 0);
            m.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        }
        RTM_GETADDR => m.ifaddrmsg(family, 0, 0, 0, 0),
        _ => m.rtmsg(family, 0, 0, 0, 0, 0),
    }
    m.finish();
}
