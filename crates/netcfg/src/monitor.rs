//! Listening to the kernel: a NETLINK_ROUTE socket joined to rtnetlink's multicast groups
//! inside one netns, whose messages are decoded into typed [`RtEvent`]s with the parsers the
//! dumps use. It is apart from [`crate::Socket`], which sends requests and waits for their
//! answers: announcements come unasked, and a socket that listens must never mistake them
//! for answers (nor the other way round).
//!
//! The socket is non-blocking and exposes its fd, so one thread can `poll` the monitors of
//! a thousand namespaces at once.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::sys::socket::{setsockopt, sockopt};

use crate::addr::parse_addr;
use crate::link::parse_link;
use crate::neigh::parse_neigh;
use crate::netlink::messages;
use crate::route::{name_hops, parse_route};
use crate::{Change, Group, NetError, Netns, Op, RtEvent, RtSocket};

/// RTM_* message types of announcements (linux/rtnetlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_NEWNEIGH: u16 = 28;
const RTM_DELNEIGH: u16 = 29;

/// The `local` routing table (RT_TABLE_LOCAL): the kernel's own routes to its addresses.
const RT_TABLE_LOCAL: u32 = 255;

/// Receive buffer asked for: room for a burst (a routing daemon installing a thousand
/// routes) before the kernel drops announcements.
const RCVBUF: usize = 1 << 20;

/// A socket listening to rtnetlink announcements in one netns; see the module's doc.
pub struct Monitor {
    sock: netlink_sys::Socket,
    buf: Vec<u8>,
    /// ifindex → name in the monitor's netns, kept up to date from link announcements.
    names: HashMap<u32, String>,
}

impl Monitor {
    /// Join `groups` in the calling thread's netns, and learn its interfaces' names.
    pub fn open(groups: &[Group]) -> Result<Monitor, NetError> {
        let op = || Op::JoinGroups;
        let sock = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE)
            .map_err(|e| NetError::io(op(), e))?;
        if setsockopt(&sock, sockopt::RcvBufForce, &RCVBUF).is_err() {
            let _ = setsockopt(&sock, sockopt::RcvBuf, &RCVBUF);
        }
        let mut sock = sock;
        sock.bind_auto().map_err(|e| NetError::io(op(), e))?;
        for g in groups {
            sock.add_membership(g.number())
                .map_err(|e| NetError::io(op(), e))?;
        }
        sock.set_non_blocking(true)
            .map_err(|e| NetError::io(op(), e))?;
        // Joined first, named second: a link made in between is announced, so known.
        let names = RtSocket::open()?
            .links()?
            .into_iter()
            .map(|l| (l.index, l.name))
            .collect();
        Ok(Monitor {
            sock,
            buf: Vec::with_capacity(64 * 1024),
            names,
        })
    }

    /// Join `groups` inside `ns` (the calling thread enters it and comes back).
    pub fn open_in(ns: &Netns, groups: &[Group]) -> Result<Monitor, NetError> {
        crate::in_netns(ns, || Monitor::open(groups))?
    }

    /// Every announcement queued on the socket, decoded, in the kernel's order; empty when
    /// none is waiting (it never blocks). Announcements of other kinds (and of the local
    /// table, cached clones, non-unicast routes, bridge forwarding entries) are skipped.
    pub fn read(&mut self) -> Result<Vec<RtEvent>, NetError> {
        let mut out = Vec::new();
        loop {
            self.buf.clear();
            match self.sock.recv(&mut self.buf, libc::MSG_DONTWAIT) {
                Ok(0) => return Ok(out),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    out.push(RtEvent::Lost);
                    continue;
                }
                Err(e) => return Err(NetError::io(Op::ReadEvents, e)),
            }
            let buf = std::mem::take(&mut self.buf);
            for m in messages(&buf) {
                let ev = self
                    .decode(m.message_type(), m.payload())
                    .map_err(|e| NetError::decode(Op::ReadEvents, e))?;
                out.extend(ev);
            }
            self.buf = buf;
        }
    }

    /// One announcement, named with (and updating) the interface names.
    fn decode(
        &mut self,
        ty: u16,
        payload: &[u8],
    ) -> Result<Option<RtEvent>, netlink_packet_core::DecodeError> {
        let change = match ty {
            RTM_NEWLINK | RTM_NEWADDR | RTM_NEWROUTE | RTM_NEWNEIGH => Change::New,
            RTM_DELLINK | RTM_DELADDR | RTM_DELROUTE | RTM_DELNEIGH => Change::Del,
            _ => return Ok(None),
        };
        let name =
            |names: &HashMap<u32, String>, i: u32| names.get(&i).cloned().unwrap_or_default();
        Ok(match ty {
            RTM_NEWLINK | RTM_DELLINK => {
                let l = parse_link(payload)?;
                if change == Change::New {
                    self.names.insert(l.index, l.name.clone());
                } else {
                    self.names.remove(&l.index);
                }
                Some(RtEvent::Link(change, l))
            }
            RTM_NEWADDR | RTM_DELADDR => parse_addr(payload)?.map(|mut a| {
                a.ifname = name(&self.names, a.ifindex);
                RtEvent::Addr(change, a)
            }),
            RTM_NEWROUTE | RTM_DELROUTE => {
                let p = parse_route(payload)?;
                if p.cloned || !p.unicast || p.route.table == RT_TABLE_LOCAL {
                    return Ok(None);
                }
                let mut r = p.route;
                name_hops(&mut r, &self.names);
                Some(RtEvent::Route(change, r))
            }
            _ => parse_neigh(payload)?.map(|mut n| {
                n.ifname = name(&self.names, n.ifindex);
                RtEvent::Neigh(change, n)
            }),
        })
    }
}

impl AsFd for Monitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("fd", &self.sock.as_raw_fd())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    //! Announcements decoded from bytes laid out as the kernel sends them.

    use super::*;
    use crate::netlink::testing::hex;
    use crate::NeighState;

    fn monitor() -> Monitor {
        Monitor {
            sock: netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE).unwrap(),
            buf: Vec::new(),
            names: HashMap::from([(3, "eth1".to_string())]),
        }
    }

    /// An RTM_NEWROUTE payload: 10.0.2.0/24 via 10.0.12.2 dev 3, main table, `proto`.
    fn route(proto: &str, kind: &str) -> Vec<u8> {
        hex(&[
            "02180000", // rtmsg: AF_INET, dst /24, src /0, tos 0
            "fe", proto, "00", kind,       // table main, protocol, scope universe, type
            "00000000", // flags
            "08000f00", "fe000000", // RTA_TABLE 254
            "08000100", "0a000200", // RTA_DST 10.0.2.0
            "08000500", "0a000c02", // RTA_GATEWAY 10.0.12.2
            "08000400", "03000000", // RTA_OIF 3
        ])
    }

    #[test]
    fn an_ospf_route_announcement_is_a_named_route_event() {
        let mut m = monitor();
        let ev = m.decode(RTM_NEWROUTE, &route("bc", "01")).unwrap().unwrap();
        let RtEvent::Route(Change::New, r) = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(r.protocol, 188);
        assert_eq!(crate::route_protocol_name(r.protocol), Some("ospf"));
        assert_eq!((r.dst.to_string(), r.prefix), ("10.0.2.0".into(), 24));
        assert_eq!(r.nexthops[0].dev.as_deref(), Some("eth1"));
        let del = m.decode(RTM_DELROUTE, &route("bc", "01")).unwrap();
        assert!(matches!(del, Some(RtEvent::Route(Change::Del, _))));
    }

    #[test]
    fn local_and_broadcast_routes_are_not_announced() {
        let mut m = monitor();
        // RTN_BROADCAST (3)
        assert_eq!(m.decode(RTM_NEWROUTE, &route("02", "03")).unwrap(), None);
    }

    #[test]
    fn link_announcements_keep_names_current() {
        let mut m = monitor();
        // ifinfomsg: AF_UNSPEC, ARPHRD_ETHER, index 7, flags IFF_UP|IFF_LOWER_UP, change 0;
        // IFLA_IFNAME "eth9", IFLA_OPERSTATE UP (6).
        let link = hex(&[
            "00000100", "07000000", "01000100", "00000000", "09000300", "65746839", "00000000",
            "05001000", "06000000",
        ]);
        let ev = m.decode(RTM_NEWLINK, &link).unwrap().unwrap();
        let RtEvent::Link(Change::New, l) = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(
            (l.index, l.name.as_str(), l.up, l.oper_up),
            (7, "eth9", true, true)
        );
        assert_eq!(m.names.get(&7).map(String::as_str), Some("eth9"));
        m.decode(RTM_DELLINK, &link).unwrap();
        assert!(!m.names.contains_key(&7));
    }

    #[test]
    fn address_and_neighbour_announcements_are_named() {
        let mut m = monitor();
        // ifaddrmsg: AF_INET, /30, flags 0, scope universe, index 3; IFA_LOCAL 10.0.12.1.
        let addr = hex(&["021e0000", "03000000", "08000200", "0a000c01"]);
        let ev = m.decode(RTM_DELADDR, &addr).unwrap().unwrap();
        let RtEvent::Addr(Change::Del, a) = ev else {
            panic!("{ev:?}")
        };
        assert_eq!((a.ifname.as_str(), a.prefix), ("eth1", 30));
        // ndmsg: AF_INET, index 3, NUD_FAILED; NDA_DST 10.0.12.2.
        let neigh = hex(&[
            "02000000", "03000000", "2000", "00", "01", "08000100", "0a000c02",
        ]);
        let ev = m.decode(RTM_NEWNEIGH, &neigh).unwrap().unwrap();
        let RtEvent::Neigh(Change::New, n) = ev else {
            panic!("{ev:?}")
        };
        assert_eq!((n.ifname.as_str(), n.state), ("eth1", NeighState::Failed));
    }
}
