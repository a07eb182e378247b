//! Knowing when the kernel dismantles network namespaces: each is given an id in a private
//! netns of the watcher's own (RTM_NEWNSID, as `ip netns set` sends it), and when the
//! kernel's cleanup run takes one apart it drops that id and announces it (RTM_DELNSID on
//! RTNLGRP_NSID) in every netns that had one for it. Exact, where counting the
//! `net_namespace` slab is not (SLUB counts objects of per-CPU slabs as in use).

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::RouteNetlinkMessage;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{setsockopt, sockopt};

use crate::netlink::{messages, Request, Rtnetlink, Socket};
use crate::rtnl::emit_rtnl;
use crate::{NetError, Netns, Op};

/// RTM_DELNSID (linux/rtnetlink.h).
const RTM_DELNSID: u16 = 89;
/// RTNLGRP_NSID.
const GROUP_NSID: u32 = 28;
/// Room for ten thousand announcements of ~28 bytes (and the kernel's overhead per skb).
const RCVBUF: usize = 8 << 20;

/// RTM_NEWNSID: `id` for the netns `fd` names.
struct NewNsid {
    fd: i32,
    id: i32,
}

impl Request for NewNsid {
    fn op(&self) -> Op {
        Op::WatchNetns
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let mut m = NsidMessage::default();
        m.attributes = vec![
            NsidAttribute::Fd(self.fd as u32),
            NsidAttribute::Id(self.id),
        ];
        emit_rtnl(
            buf,
            seq,
            NLM_F_REQUEST | NLM_F_ACK,
            RouteNetlinkMessage::NewNsId(m),
        );
    }
}

/// Network namespaces being watched until the kernel dismantles them; see the module doc.
pub struct NsidWatch {
    /// The watcher's own netns, where the ids live; it goes when the watch is dropped.
    home: Netns,
    requests: Socket<Rtnetlink>,
    listener: netlink_sys::Socket,
    pending: HashSet<i32>,
    next: i32,
    buf: Vec<u8>,
}

impl NsidWatch {
    /// Starts watching `nets` (namespace fds; the caller may close them afterwards).
    pub fn new(nets: &[BorrowedFd<'_>]) -> Result<NsidWatch, NetError> {
        let home = Netns::create()?;
        let requests = Socket::<Rtnetlink>::open_in(&home)?;
        let listener = crate::in_netns(&home, || {
            let io = |e| NetError::io(Op::JoinGroups, e);
            let mut s =
                netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE).map_err(io)?;
            if setsockopt(&s, sockopt::RcvBufForce, &RCVBUF).is_err() {
                let _ = setsockopt(&s, sockopt::RcvBuf, &RCVBUF);
            }
            s.bind_auto().map_err(io)?;
            s.add_membership(GROUP_NSID).map_err(io)?;
            s.set_non_blocking(true).map_err(io)?;
            Ok::<_, NetError>(s)
        })??;
        let mut w = NsidWatch {
            home,
            requests,
            listener,
            pending: HashSet::new(),
            next: 0,
            buf: Vec::with_capacity(64 * 1024),
        };
        w.add(nets)?;
        Ok(w)
    }

    /// Watches `nets` too.
    pub fn add(&mut self, nets: &[BorrowedFd<'_>]) -> Result<(), NetError> {
        let mut batch = self.requests.batch();
        let mut ids = Vec::with_capacity(nets.len());
        for fd in nets {
            self.next += 1;
            batch.push(&NewNsid {
                fd: fd.as_raw_fd(),
                id: self.next,
            });
            ids.push(self.next);
        }
        batch.commit().map_err(|mut errors| errors.remove(0))?;
        self.pending.extend(ids);
        Ok(())
    }

    /// How many of the watched namespaces the kernel has not dismantled yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Waits until every watched netns is dismantled (true), or until `deadline` or a
    /// stretch of `idle` in which none was (false: something else holds the rest).
    /// Announcements the socket had no room for are an error: the caller cannot know which.
    pub fn wait(&mut self, idle: Duration, deadline: Instant) -> Result<bool, NetError> {
        let mut last_seen = Instant::now();
        while !self.pending.is_empty() {
            let now = Instant::now();
            if now >= deadline || now.duration_since(last_seen) >= idle {
                return Ok(false);
            }
            let before = self.pending.len();
            self.read()?;
            if self.pending.len() < before {
                last_seen = Instant::now();
                continue;
            }
            let mut fds = [PollFd::new(self.listener.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(50u8));
        }
        Ok(true)
    }

    /// Every announcement waiting on the socket.
    fn read(&mut self) -> Result<(), NetError> {
        loop {
            self.buf.clear();
            match self.listener.recv(&mut self.buf, libc::MSG_DONTWAIT) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(NetError::io(Op::ReadEvents, e)),
            }
            for m in messages(&self.buf) {
                if m.message_type() != RTM_DELNSID {
                    continue;
                }
                // struct rtgenmsg (padded to 4 bytes), then NETNSA_NSID (1), an i32.
                let Some(attrs) = m.payload().get(4..) else {
                    continue;
                };
                for (ty, data) in crate::wire::attrs(attrs) {
                    if let (1, Ok(id)) = (ty & 0x3fff, <[u8; 4]>::try_from(data)) {
                        self.pending.remove(&i32::from_ne_bytes(id));
                    }
                }
            }
        }
    }

    /// The watcher's own netns (its ids' home).
    pub fn home(&self) -> &Netns {
        &self.home
    }
}
