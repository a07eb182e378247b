//! Addresses over rtnetlink: adding one (RTM_NEWADDR, as `ip addr add` sends it) and
//! dumping them all.

use std::net::IpAddr;
use std::ops::ControlFlow;

use netlink_packet_core::{Parseable, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::netlink::{Batch, Request, Rtnetlink, Socket};
use crate::rtnl::{emit_rtnl, family_of, CREATE};
use crate::{AddrInfo, NetError, Op};

/// RTM_NEWADDR: IFA_LOCAL and IFA_ADDRESS both set to `addr` (a local, non-peer address,
/// as `ip addr add` sends it); IPv6 with IFA_F_NODAD so it is usable at once.
pub(crate) struct AddAddr<'a> {
    ifname: &'a str,
    index: u32,
    addr: IpAddr,
    prefix: u8,
}

impl Request for AddAddr<'_> {
    fn op(&self) -> Op {
        Op::AddAddr {
            ifname: self.ifname.into(),
            addr: self.addr,
            prefix: self.prefix,
        }
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let mut m = AddressMessage::default();
        m.header.family = family_of(self.addr);
        m.header.prefix_len = self.prefix;
        if self.addr.is_ipv6() {
            m.header.flags = AddressHeaderFlags::Nodad;
        }
        m.header.scope = AddressScope::Universe;
        m.header.index = self.index;
        m.attributes = vec![
            AddressAttribute::Local(self.addr),
            AddressAttribute::Address(self.addr),
        ];
        emit_rtnl(buf, seq, CREATE, RouteNetlinkMessage::NewAddress(m));
    }
}

/// A dump of every address.
struct DumpAddrs;

impl Request for DumpAddrs {
    fn op(&self) -> Op {
        Op::ListAddrs
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let m = RouteNetlinkMessage::GetAddress(AddressMessage::default());
        emit_rtnl(buf, seq, NLM_F_REQUEST | NLM_F_DUMP, m);
    }
}

/// One RTM_NEWADDR (or RTM_DELADDR) payload; the name is filled by the caller.
pub(crate) fn parse_addr(
    payload: &[u8],
) -> Result<Option<AddrInfo>, netlink_packet_core::DecodeError> {
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

impl Socket<Rtnetlink> {
    /// Add `addr/prefix` to `ifname`; IPv6 addresses skip DAD so they work at once.
    pub fn add_addr(&mut self, ifname: &str, addr: IpAddr, prefix: u8) -> Result<(), NetError> {
        self.one(|q| {
            q.add_addr(ifname, addr, prefix);
        })
    }

    /// Every IPv4 and IPv6 address of this socket's netns.
    pub fn addrs(&mut self) -> Result<Vec<AddrInfo>, NetError> {
        let names = self.names()?;
        let mut addrs = Vec::new();
        self.query(&DumpAddrs, |_, p| {
            if let Some(mut a) = parse_addr(p).map_err(|e| NetError::decode(Op::ListAddrs, e))? {
                a.ifname = names.get(&a.ifindex).cloned().unwrap_or_default();
                addrs.push(a);
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(addrs)
    }
}

impl Batch<'_, Rtnetlink> {
    /// Queue [`Socket::add_addr`].
    pub fn add_addr(&mut self, ifname: &str, addr: IpAddr, prefix: u8) -> &mut Self {
        let req = |index| AddAddr {
            ifname,
            index,
            addr,
            prefix,
        };
        if let Some(index) = self.index(ifname, || req(0).op()) {
            self.push(&req(index));
        }
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Against `ip addr add` (see `link.rs` for how the bytes were captured).

    use super::AddAddr;
    use crate::link::tests::SEQ;
    use crate::netlink::testing::{queued, single};

    #[rustfmt::skip]
    pub(crate) const ADDR_V4: [u8; 40] = [
        0x28, 0x00, 0x00, 0x00,  0x14, 0x00,  0x05, 0x06,  // len 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x02, 0x1e, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  // ifaddrmsg: AF_INET, /30, flags 0, scope 0, index 3
        0x08, 0x00, 0x02, 0x00,  0x0a, 0x00, 0x0c, 0x01,  // IFA_LOCAL 10.0.12.1
        0x08, 0x00, 0x01, 0x00,  0x0a, 0x00, 0x0c, 0x01,  // IFA_ADDRESS 10.0.12.1
    ];

    pub(crate) fn v4() -> AddAddr<'static> {
        AddAddr {
            ifname: "va",
            index: 3,
            addr: "10.0.12.1".parse().unwrap(),
            prefix: 30,
        }
    }

    #[test]
    fn add_addr_v4_matches_ip() {
        assert_eq!(single(&v4(), SEQ), ADDR_V4);
    }

    #[rustfmt::skip]
    const ADDR_V6: [u8; 64] = [
        0x40, 0x00, 0x00, 0x00,  0x14, 0x00,  0x05, 0x06,  // len 64, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x0a, 0x40, 0x02, 0x00,  0x03, 0x00, 0x00, 0x00,  // ifaddrmsg: AF_INET6, /64, IFA_F_NODAD, scope 0, index 3
        0x14, 0x00, 0x02, 0x00,                           // IFA_LOCAL 2001:db8::1
        0x20, 0x01, 0x0d, 0xb8,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x01,
        0x14, 0x00, 0x01, 0x00,                           // IFA_ADDRESS 2001:db8::1
        0x20, 0x01, 0x0d, 0xb8,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x01,
    ];

    #[test]
    fn add_addr_v6_matches_ip_nodad() {
        let req = AddAddr {
            ifname: "va",
            index: 3,
            addr: "2001:db8::1".parse().unwrap(),
            prefix: 64,
        };
        assert_eq!(single(&req, SEQ), ADDR_V6);
        // Parsed back as the kernel's dump would be.
        let a = super::parse_addr(&ADDR_V6[16..]).unwrap().unwrap();
        assert_eq!((a.ifindex, a.addr, a.prefix), (3, req.addr, 64));
    }

    #[test]
    fn queued_requests_ask_for_no_ack() {
        let mut want = ADDR_V4;
        want[6] = 0x01; // REQUEST only …
        want[7] = 0x06; // … with EXCL|CREATE
        assert_eq!(queued(&v4(), SEQ), want);
    }
}
