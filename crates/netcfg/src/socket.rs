//! The rtnetlink socket: one per netns, synchronous, every request acknowledged, and a
//! [`Batch`] that pipelines thousands of requests through few system calls.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use nix::sys::socket::{getsockopt, setsockopt, sockopt};

use crate::raw::{self, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK};
use crate::{in_netns, parse, AddrInfo, LinkInfo, NetError, Netns, RouteInfo, RouteSpec, VethEnd};

/// Largest reply datagram: the kernel caps dump datagrams at 32 KiB.
const RECV_BUF: usize = 64 * 1024;
/// Socket buffers asked for (SO_*BUFFORCE as root; plain SO_*BUF capped by sysctls otherwise).
const SNDBUF: usize = 4 << 20;
const RCVBUF: usize = 8 << 20;
/// Most bytes of requests per sendmsg in a batch.
const MAX_CHUNK: usize = 256 * 1024;

/// How a request failed before it became a [`NetError`] with its description.
enum Failure {
    Io(io::Error),
    Errno(i32),
}

impl Failure {
    fn into_error(self, op: String) -> NetError {
        match self {
            Failure::Io(source) => NetError::Io { op, source },
            Failure::Errno(errno) => NetError::Kernel { op, errno },
        }
    }
}

/// One netlink message in a received datagram.
pub(crate) struct NlMsg<'a> {
    pub ty: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// The messages of one datagram; stops at the first malformed header.
pub(crate) fn messages(mut buf: &[u8]) -> impl Iterator<Item = NlMsg<'_>> {
    std::iter::from_fn(move || {
        if buf.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return None;
        }
        let msg = NlMsg {
            ty: u16::from_ne_bytes(buf[4..6].try_into().unwrap()),
            seq: u32::from_ne_bytes(buf[8..12].try_into().unwrap()),
            payload: &buf[NLMSG_HDRLEN..len],
        };
        buf = &buf[((len + 3) & !3).min(buf.len())..];
        Some(msg)
    })
}

/// The errno of an NLMSG_ERROR payload (0 for an ack).
pub(crate) fn error_code(payload: &[u8]) -> i32 {
    payload
        .get(0..4)
        .map_or(-libc::EBADMSG, |b| {
            i32::from_ne_bytes(b.try_into().unwrap())
        })
        .wrapping_neg()
}

fn decode_error(op: &str, e: impl std::fmt::Display) -> NetError {
    NetError::io(
        op,
        io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
    )
}

/// An rtnetlink socket. It stays bound to the netns it was opened in, whatever thread
/// later uses it; interface names are resolved to indexes once and cached.
pub struct RtSocket {
    sock: Socket,
    seq: u32,
    sbuf: Vec<u8>,
    rbuf: Vec<u8>,
    index: HashMap<String, u32>,
    hops: Vec<(Option<IpAddr>, u32)>,
    chunk: usize,
}

impl RtSocket {
    /// Open a socket in the calling thread's current netns.
    pub fn open() -> Result<RtSocket, NetError> {
        let op = "opening rtnetlink socket";
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| NetError::io(op, e))?;
        sock.bind_auto().map_err(|e| NetError::io(op, e))?;
        // Errors then carry only the failed request's header, not its whole body.
        let _ = sock.set_cap_ack(true);
        if setsockopt(&sock, sockopt::SndBufForce, &SNDBUF).is_err() {
            let _ = setsockopt(&sock, sockopt::SndBuf, &SNDBUF);
        }
        if setsockopt(&sock, sockopt::RcvBufForce, &RCVBUF).is_err() {
            let _ = setsockopt(&sock, sockopt::RcvBuf, &RCVBUF);
        }
        // The kernel rejects a sendmsg larger than the send buffer, and drops replies
        // beyond the receive buffer: size the batch chunks to fit both. An error reply
        // costs about 1 KiB of receive buffer for a request of at least 32 bytes.
        let snd = getsockopt(&sock, sockopt::SndBuf).unwrap_or(212_992);
        let rcv = getsockopt(&sock, sockopt::RcvBuf).unwrap_or(212_992);
        let chunk = MAX_CHUNK
            .min(snd.saturating_sub(1024))
            .min(rcv / 48)
            .max(4096);
        let seq = (std::process::id() ^ sock.as_raw_fd() as u32).wrapping_mul(2_654_435_761);
        Ok(RtSocket {
            sock,
            seq,
            sbuf: Vec::with_capacity(4096),
            rbuf: Vec::with_capacity(RECV_BUF),
            index: HashMap::new(),
            hops: Vec::new(),
            chunk,
        })
    }

    /// Open a socket inside `ns` (the calling thread enters it and comes back).
    pub fn open_in(ns: &Netns) -> Result<RtSocket, NetError> {
        in_netns(ns, RtSocket::open)?
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Builds one request with a fresh sequence number into the reused send buffer and
    /// sends it; returns the sequence number to match replies with.
    fn send_request(&mut self, build: impl FnOnce(&mut Vec<u8>, u32)) -> (u32, io::Result<()>) {
        let seq = self.next_seq();
        let mut buf = std::mem::take(&mut self.sbuf);
        buf.clear();
        build(&mut buf, seq);
        let sent = self.send_buf(&buf);
        self.sbuf = buf;
        (seq, sent)
    }

    fn send_buf(&self, buf: &[u8]) -> io::Result<()> {
        loop {
            match self.sock.send(buf, 0) {
                Ok(n) if n == buf.len() => return Ok(()),
                Ok(_) => return Err(io::Error::other("short netlink send")),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receive one datagram into `rbuf`.
    fn recv(&mut self) -> io::Result<()> {
        loop {
            self.rbuf.clear();
            match self.sock.recv(&mut self.rbuf, libc::MSG_TRUNC) {
                Ok(n) if n > self.rbuf.len() => {
                    return Err(io::Error::other(format!(
                        "netlink reply truncated ({n} bytes)"
                    )))
                }
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Read until the ack (or error) of `seq`.
    fn wait_ack(&mut self, seq: u32) -> Result<(), Failure> {
        loop {
            self.recv().map_err(Failure::Io)?;
            for m in messages(&self.rbuf) {
                if m.ty == NLMSG_ERROR && m.seq == seq {
                    return match error_code(m.payload) {
                        0 => Ok(()),
                        errno => Err(Failure::Errno(errno)),
                    };
                }
            }
        }
    }

    /// Send the request that `build` appends and wait for its ack; `op` describes it
    /// and is only formatted on failure.
    pub(crate) fn execute(
        &mut self,
        build: impl FnOnce(&mut Vec<u8>, u32),
        op: impl FnOnce() -> String,
    ) -> Result<(), NetError> {
        let (seq, sent) = self.send_request(build);
        sent.map_err(Failure::Io)
            .and_then(|()| self.wait_ack(seq))
            .map_err(|f| f.into_error(op()))
    }

    /// Create a veth pair with one RTM_NEWLINK: each end lands directly in its own
    /// netns (whatever this socket's netns is), both DOWN.
    pub fn create_veth(&mut self, a: &VethEnd<'_>, b: &VethEnd<'_>) -> Result<(), NetError> {
        let ra = veth_raw(a);
        let rb = veth_raw(b);
        self.execute(
            |buf, seq| raw::new_veth(buf, seq, &ra, &rb),
            || {
                let mut op = format!("creating veth {}/{}", a.name, b.name);
                if let Some(mtu) = a.mtu.or(b.mtu) {
                    let _ = write!(op, " with mtu {mtu}");
                }
                op
            },
        )
    }

    /// Create a bridge in this socket's netns (STP off, the kernel's default), DOWN.
    pub fn create_bridge(
        &mut self,
        name: &str,
        mac: Option<[u8; 6]>,
        mtu: Option<u32>,
    ) -> Result<(), NetError> {
        self.execute(
            |buf, seq| raw::new_bridge(buf, seq, name, mac, mtu),
            || match mtu {
                Some(mtu) => format!("creating bridge {name} with mtu {mtu}"),
                None => format!("creating bridge {name}"),
            },
        )
    }

    /// Enslave `ifname` to `master` (a bridge port).
    pub fn set_master(&mut self, ifname: &str, master: &str) -> Result<(), NetError> {
        let op = || format!("attaching {ifname} to {master}");
        let index = self.link_index_for(ifname, op)?;
        let m = self.link_index_for(master, op)?;
        self.execute(
            |buf, seq| raw::set_link_u32(buf, seq, ack(), index, raw::IFLA_MASTER, m),
            op,
        )
    }

    /// Bring `ifname` administratively up.
    pub fn set_link_up(&mut self, ifname: &str) -> Result<(), NetError> {
        self.set_link_state(ifname, true)
    }

    /// Bring `ifname` administratively down.
    pub fn set_link_down(&mut self, ifname: &str) -> Result<(), NetError> {
        self.set_link_state(ifname, false)
    }

    fn set_link_state(&mut self, ifname: &str, up: bool) -> Result<(), NetError> {
        let op = || format!("bringing {ifname} {}", if up { "up" } else { "down" });
        let index = self.link_index_for(ifname, op)?;
        self.execute(
            |buf, seq| raw::set_link_state(buf, seq, ack(), index, up),
            op,
        )
    }

    /// Set the MTU of `ifname`.
    pub fn set_mtu(&mut self, ifname: &str, mtu: u32) -> Result<(), NetError> {
        let op = || format!("setting mtu {mtu} on {ifname}");
        let index = self.link_index_for(ifname, op)?;
        self.execute(
            |buf, seq| raw::set_link_u32(buf, seq, ack(), index, raw::IFLA_MTU, mtu),
            op,
        )
    }

    /// Delete `ifname` (a veth's peer goes with it); clears the index cache.
    pub fn del_link(&mut self, ifname: &str) -> Result<(), NetError> {
        let op = || format!("deleting link {ifname}");
        let index = self.link_index_for(ifname, op)?;
        // A veth's peer goes too, and names may be reused: forget every cached index.
        self.index.clear();
        self.execute(|buf, seq| raw::del_link(buf, seq, ack(), index), op)
    }

    /// Add `addr/prefix` to `ifname`; IPv6 addresses skip DAD so they work at once.
    pub fn add_addr(&mut self, ifname: &str, addr: IpAddr, prefix: u8) -> Result<(), NetError> {
        let op = || format!("adding {addr}/{prefix} to {ifname}");
        let index = self.link_index_for(ifname, op)?;
        self.execute(
            |buf, seq| raw::new_addr(buf, seq, raw::CREATE_FLAGS, index, addr, prefix),
            op,
        )
    }

    /// Add a static unicast route to the main table (ECMP when it has several next hops).
    pub fn add_route(&mut self, route: &RouteSpec) -> Result<(), NetError> {
        self.route_request(route, RouteVerb::Add)
    }

    /// Delete a route added with [`RtSocket::add_route`].
    pub fn del_route(&mut self, route: &RouteSpec) -> Result<(), NetError> {
        self.route_request(route, RouteVerb::Del)
    }

    /// Add a route, or replace the one with the same destination.
    pub fn replace_route(&mut self, route: &RouteSpec) -> Result<(), NetError> {
        self.route_request(route, RouteVerb::Replace)
    }

    fn route_request(&mut self, route: &RouteSpec, verb: RouteVerb) -> Result<(), NetError> {
        let op = || {
            let mut s = String::new();
            describe_route(&mut s, verb, route);
            s
        };
        let hops = self.resolve_hops(route, op)?;
        let (ty, flags) = verb.request(true);
        let res = self.execute(
            |buf, seq| raw::route(buf, seq, ty, flags, route.dst, route.prefix, &hops),
            op,
        );
        self.hops = hops;
        res
    }

    /// The next hops of `route` as (gateway, ifindex), in a reused vector.
    fn resolve_hops(
        &mut self,
        route: &RouteSpec,
        op: impl Fn() -> String,
    ) -> Result<Vec<(Option<IpAddr>, u32)>, NetError> {
        let mut hops = std::mem::take(&mut self.hops);
        hops.clear();
        if route.nexthops.is_empty() {
            return Err(NetError::Kernel {
                op: op() + " (no next hop)",
                errno: libc::EINVAL,
            });
        }
        for nh in &route.nexthops {
            let index = self.link_index_for(&nh.dev, &op)?;
            hops.push((nh.via, index));
        }
        Ok(hops)
    }

    /// The ifindex of `ifname` in this socket's netns, cached.
    pub fn link_index(&mut self, ifname: &str) -> Result<u32, NetError> {
        self.link_index_for(ifname, || format!("looking up interface {ifname}"))
    }

    /// Like [`RtSocket::link_index`], but a failure is reported as part of `op`.
    pub(crate) fn link_index_for(
        &mut self,
        ifname: &str,
        op: impl Fn() -> String,
    ) -> Result<u32, NetError> {
        if let Some(&i) = self.index.get(ifname) {
            return Ok(i);
        }
        let (seq, sent) = self.send_request(|buf, seq| raw::get_link(buf, seq, ifname));
        let found = sent.map_err(Failure::Io).and_then(|()| 'reply: loop {
            self.recv().map_err(Failure::Io)?;
            for m in messages(&self.rbuf) {
                if m.seq != seq {
                    continue;
                }
                if m.ty == NLMSG_ERROR {
                    break 'reply Err(Failure::Errno(match error_code(m.payload) {
                        0 => libc::ENODEV,
                        e => e,
                    }));
                }
                if m.ty == raw::RTM_NEWLINK && m.payload.len() >= 8 {
                    break 'reply Ok(u32::from_ne_bytes(m.payload[4..8].try_into().unwrap()));
                }
            }
        });
        let index = found.map_err(|f| {
            let what = format!("{}: interface {ifname} not found", op());
            f.into_error(what)
        })?;
        self.index.insert(ifname.to_owned(), index);
        Ok(index)
    }

    /// Send a dump request and hand each reply's (type, payload) to `f`.
    pub(crate) fn dump(
        &mut self,
        ty: u16,
        family: u8,
        op: &str,
        f: impl FnMut(&[u8]) -> Result<(), NetError>,
    ) -> Result<(), NetError> {
        self.dump_with(|buf, seq| raw::dump(buf, seq, ty, family), op, f)
    }

    /// Like [`RtSocket::dump`], with the request built by `build(buf, seq)`.
    pub(crate) fn dump_with(
        &mut self,
        build: impl FnOnce(&mut Vec<u8>, u32),
        op: &str,
        mut f: impl FnMut(&[u8]) -> Result<(), NetError>,
    ) -> Result<(), NetError> {
        let (seq, sent) = self.send_request(build);
        sent.map_err(|e| NetError::io(op, e))?;
        loop {
            self.recv().map_err(|e| NetError::io(op, e))?;
            for m in messages(&self.rbuf) {
                if m.seq != seq {
                    continue;
                }
                match m.ty {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => match error_code(m.payload) {
                        0 => return Ok(()),
                        errno => {
                            return Err(NetError::Kernel {
                                op: op.into(),
                                errno,
                            })
                        }
                    },
                    _ => f(m.payload)?,
                }
            }
        }
    }

    /// Every link of this socket's netns; also refreshes the name → index cache.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, NetError> {
        let op = "listing links";
        let mut links = Vec::new();
        self.dump(raw::RTM_GETLINK, raw::AF_UNSPEC, op, |p| {
            links.push(parse::link(p).map_err(|e| decode_error(op, e))?);
            Ok(())
        })?;
        self.index.clear();
        for l in &links {
            self.index.insert(l.name.clone(), l.index);
        }
        Ok(links)
    }

    pub(crate) fn names(&mut self) -> Result<HashMap<u32, String>, NetError> {
        Ok(self
            .links()?
            .into_iter()
            .map(|l| (l.index, l.name))
            .collect())
    }

    /// Every IPv4 and IPv6 address of this socket's netns.
    pub fn addrs(&mut self) -> Result<Vec<AddrInfo>, NetError> {
        let names = self.names()?;
        let op = "listing addresses";
        let mut addrs = Vec::new();
        self.dump(raw::RTM_GETADDR, raw::AF_UNSPEC, op, |p| {
            if let Some(mut a) = parse::addr(p).map_err(|e| decode_error(op, e))? {
                a.ifname = names.get(&a.ifindex).cloned().unwrap_or_default();
                addrs.push(a);
            }
            Ok(())
        })?;
        Ok(addrs)
    }

    /// The routes of the main table (IPv6 when `v6`), next hops named.
    pub fn routes(&mut self, v6: bool) -> Result<Vec<RouteInfo>, NetError> {
        let names = self.names()?;
        let op = if v6 {
            "listing IPv6 routes"
        } else {
            "listing IPv4 routes"
        };
        let family = if v6 { raw::AF_INET6 } else { raw::AF_INET };
        let mut routes = Vec::new();
        self.dump(raw::RTM_GETROUTE, family, op, |p| {
            let parsed = parse::route(p).map_err(|e| decode_error(op, e))?;
            if parsed.cloned || parsed.route.table != u32::from(raw::RT_TABLE_MAIN) {
                return Ok(());
            }
            let mut r = parsed.route;
            name_hops(&mut r, &names);
            routes.push(r);
            Ok(())
        })?;
        Ok(routes)
    }

    /// The route the kernel would use for `dst` (RTM_GETROUTE), next hops named.
    pub fn route_get(&mut self, dst: IpAddr) -> Result<RouteInfo, NetError> {
        self.route_lookup(dst, 0)
    }

    /// The FIB entry that matches `dst` with all of its next hops (`ip route get fibmatch`):
    /// for a multipath route every branch, where [`RtSocket::route_get`] gives the one taken.
    pub fn route_get_fib(&mut self, dst: IpAddr) -> Result<RouteInfo, NetError> {
        self.route_lookup(dst, raw::RTM_F_FIB_MATCH)
    }

    fn route_lookup(&mut self, dst: IpAddr, rtm_flags: u32) -> Result<RouteInfo, NetError> {
        let op = || format!("looking up the route to {dst}");
        let (seq, sent) =
            self.send_request(|buf, seq| raw::get_route_flags(buf, seq, dst, rtm_flags));
        sent.map_err(|e| NetError::io(op(), e))?;
        let mut route = loop {
            self.recv().map_err(|e| NetError::io(op(), e))?;
            let mut found = None;
            for m in messages(&self.rbuf) {
                if m.seq != seq {
                    continue;
                }
                if m.ty == NLMSG_ERROR {
                    let errno = error_code(m.payload);
                    return Err(NetError::Kernel { op: op(), errno });
                }
                if m.ty == raw::RTM_NEWROUTE {
                    found = Some(parse::route(m.payload).map_err(|e| decode_error(&op(), e))?);
                    break;
                }
            }
            if let Some(r) = found {
                break r.route;
            }
        };
        let names = self.names()?;
        name_hops(&mut route, &names);
        Ok(route)
    }

    /// Start a batch of requests on this socket; see [`Batch`].
    pub fn batch(&mut self) -> Batch<'_> {
        Batch {
            sock: self,
            buf: Vec::new(),
            reqs: Vec::new(),
            descs: String::new(),
            failed: Vec::new(),
        }
    }
}

fn ack() -> u16 {
    raw::NLM_F_REQUEST | NLM_F_ACK
}

fn name_hops(route: &mut RouteInfo, names: &HashMap<u32, String>) {
    for nh in &mut route.nexthops {
        nh.dev = names.get(&nh.ifindex).cloned();
    }
}

fn veth_raw<'a>(end: &VethEnd<'a>) -> raw::VethRaw<'a> {
    raw::VethRaw {
        name: end.name,
        index: end.index.unwrap_or(0),
        mac: end.mac,
        mtu: end.mtu,
        netns_fd: end.netns.as_raw_fd() as u32,
    }
}

#[derive(Clone, Copy)]
enum RouteVerb {
    Add,
    Del,
    Replace,
}

impl RouteVerb {
    /// Message type and flags; `acked` is false for batched requests (see [`Batch`]).
    fn request(self, acked: bool) -> (u16, u16) {
        let a = if acked { NLM_F_ACK } else { 0 };
        match self {
            RouteVerb::Add => (raw::RTM_NEWROUTE, raw::CREATE_FLAGS & !NLM_F_ACK | a),
            RouteVerb::Del => (raw::RTM_DELROUTE, raw::NLM_F_REQUEST | a),
            RouteVerb::Replace => (
                raw::RTM_NEWROUTE,
                raw::NLM_F_REQUEST | raw::NLM_F_CREATE | raw::NLM_F_REPLACE | a,
            ),
        }
    }
}

/// "adding route 10.0.3.0/24 via 10.0.12.2 dev eth1", appended to `out`.
fn describe_route(out: &mut String, verb: RouteVerb, route: &RouteSpec) {
    let verb = match verb {
        RouteVerb::Add => "adding",
        RouteVerb::Del => "deleting",
        RouteVerb::Replace => "replacing",
    };
    let _ = write!(out, "{verb} route {}/{}", route.dst, route.prefix);
    let multi = route.nexthops.len() > 1;
    for nh in &route.nexthops {
        if multi {
            out.push_str(" nexthop");
        }
        if let Some(via) = nh.via {
            let _ = write!(out, " via {via}");
        }
        let _ = write!(out, " dev {}", nh.dev);
    }
}

/// A queued request: where its bytes end, its sequence number, where its description ends.
struct Queued {
    end: usize,
    seq: u32,
    desc_end: usize,
}

/// Many requests sent in as few `sendmsg` calls as fit the socket buffer.
///
/// Queueing resolves interface names at once (so links must exist before their
/// requests are queued; create links with the direct methods first) and records a
/// failed lookup as the request's failure. [`Batch::commit`] sends the requests in
/// order, in chunks of up to 256 KiB; within a chunk only the last request asks for an
/// ack, since the kernel reports every failure anyway, with the failed request's
/// sequence number, and processes a chunk in order. The kernel keeps going after a
/// failed request, so one commit reports every failure, in queue order. Dropping a
/// batch without committing it sends nothing.
pub struct Batch<'s> {
    sock: &'s mut RtSocket,
    buf: Vec<u8>,
    reqs: Vec<Queued>,
    descs: String,
    /// (request position, error), for failures found while queueing or committing.
    failed: Vec<(usize, NetError)>,
}

impl Batch<'_> {
    /// Number of requests queued.
    pub fn len(&self) -> usize {
        self.reqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Record a queued message (already in `buf`) and its description (already in `descs`).
    fn push(&mut self, seq: u32) {
        self.reqs.push(Queued {
            end: self.buf.len(),
            seq,
            desc_end: self.descs.len(),
        });
    }

    fn index(&mut self, ifname: &str, op: impl Fn() -> String) -> Option<u32> {
        match self.sock.link_index_for(ifname, op) {
            Ok(i) => Some(i),
            Err(e) => {
                self.failed.push((self.reqs.len(), e));
                None
            }
        }
    }

    /// Queue [`RtSocket::add_addr`].
    pub fn add_addr(&mut self, ifname: &str, addr: IpAddr, prefix: u8) -> &mut Self {
        let op = || format!("adding {addr}/{prefix} to {ifname}");
        if let Some(index) = self.index(ifname, op) {
            let seq = self.sock.next_seq();
            let flags = raw::CREATE_FLAGS & !NLM_F_ACK;
            raw::new_addr(&mut self.buf, seq, flags, index, addr, prefix);
            let _ = write!(self.descs, "adding {addr}/{prefix} to {ifname}");
            self.push(seq);
        }
        self
    }

    /// Queue [`RtSocket::add_route`].
    pub fn add_route(&mut self, route: &RouteSpec) -> &mut Self {
        self.route(route, RouteVerb::Add)
    }

    /// Queue [`RtSocket::del_route`].
    pub fn del_route(&mut self, route: &RouteSpec) -> &mut Self {
        self.route(route, RouteVerb::Del)
    }

    /// Queue [`RtSocket::replace_route`].
    pub fn replace_route(&mut self, route: &RouteSpec) -> &mut Self {
        self.route(route, RouteVerb::Replace)
    }

    fn route(&mut self, route: &RouteSpec, verb: RouteVerb) -> &mut Self {
        let op = || {
            let mut s = String::new();
            describe_route(&mut s, verb, route);
            s
        };
        match self.sock.resolve_hops(route, op) {
            Ok(hops) => {
                let seq = self.sock.next_seq();
                let (ty, flags) = verb.request(false);
                raw::route(
                    &mut self.buf,
                    seq,
                    ty,
                    flags,
                    route.dst,
                    route.prefix,
                    &hops,
                );
                self.sock.hops = hops;
                describe_route(&mut self.descs, verb, route);
                self.push(seq);
            }
            Err(e) => self.failed.push((self.reqs.len(), e)),
        }
        self
    }

    /// Queue [`RtSocket::set_link_up`].
    pub fn set_link_up(&mut self, ifname: &str) -> &mut Self {
        self.link_state(ifname, true)
    }

    /// Queue [`RtSocket::set_link_down`].
    pub fn set_link_down(&mut self, ifname: &str) -> &mut Self {
        self.link_state(ifname, false)
    }

    fn link_state(&mut self, ifname: &str, up: bool) -> &mut Self {
        let word = if up { "up" } else { "down" };
        if let Some(index) = self.index(ifname, || format!("bringing {ifname} {word}")) {
            let seq = self.sock.next_seq();
            raw::set_link_state(&mut self.buf, seq, raw::NLM_F_REQUEST, index, up);
            let _ = write!(self.descs, "bringing {ifname} {word}");
            self.push(seq);
        }
        self
    }

    /// Queue [`RtSocket::set_master`].
    pub fn set_master(&mut self, ifname: &str, master: &str) -> &mut Self {
        let op = || format!("attaching {ifname} to {master}");
        if let (Some(index), Some(m)) = (self.index(ifname, op), self.index(master, op)) {
            let seq = self.sock.next_seq();
            raw::set_link_u32(
                &mut self.buf,
                seq,
                raw::NLM_F_REQUEST,
                index,
                raw::IFLA_MASTER,
                m,
            );
            self.descs.push_str(&op());
            self.push(seq);
        }
        self
    }

    /// Queue [`RtSocket::set_mtu`].
    pub fn set_mtu(&mut self, ifname: &str, mtu: u32) -> &mut Self {
        let op = || format!("setting mtu {mtu} on {ifname}");
        if let Some(index) = self.index(ifname, op) {
            let seq = self.sock.next_seq();
            raw::set_link_u32(
                &mut self.buf,
                seq,
                raw::NLM_F_REQUEST,
                index,
                raw::IFLA_MTU,
                mtu,
            );
            self.descs.push_str(&op());
            self.push(seq);
        }
        self
    }

    /// Queue [`RtSocket::del_link`].
    pub fn del_link(&mut self, ifname: &str) -> &mut Self {
        let op = || format!("deleting link {ifname}");
        if let Some(index) = self.index(ifname, op) {
            self.sock.index.clear();
            let seq = self.sock.next_seq();
            raw::del_link(&mut self.buf, seq, raw::NLM_F_REQUEST, index);
            self.descs.push_str(&op());
            self.push(seq);
        }
        self
    }

    /// The description of request `i`.
    fn desc(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.reqs[i - 1].desc_end };
        &self.descs[start..self.reqs[i].desc_end]
    }

    /// Send every queued request and collect the outcome: `Ok` when all succeeded,
    /// otherwise every failure (with its description) in queue order. A socket error
    /// stops the commit and is reported last.
    pub fn commit(mut self) -> Result<(), Vec<NetError>> {
        let mut first = 0;
        while first < self.reqs.len() {
            let start = if first == 0 {
                0
            } else {
                self.reqs[first - 1].end
            };
            let mut last = first;
            while last + 1 < self.reqs.len() && self.reqs[last + 1].end - start <= self.sock.chunk {
                last += 1;
            }
            // The chunk's last request asks for an ack: its answer ends the chunk.
            let last_start = if last == 0 {
                0
            } else {
                self.reqs[last - 1].end
            };
            self.buf[last_start + 6] |= NLM_F_ACK as u8;
            if let Err(e) = self.send_chunk(first, last, start) {
                self.failed
                    .push((usize::MAX, NetError::io("sending a netlink batch", e)));
                break;
            }
            first = last + 1;
        }
        if self.failed.is_empty() {
            return Ok(());
        }
        self.failed.sort_by_key(|(pos, _)| *pos);
        Err(self.failed.into_iter().map(|(_, e)| e).collect())
    }

    fn send_chunk(&mut self, first: usize, last: usize, start: usize) -> io::Result<()> {
        self.sock.send_buf(&self.buf[start..self.reqs[last].end])?;
        let base = self.reqs[first].seq;
        let want = self.reqs[last].seq;
        loop {
            self.sock.recv()?;
            let mut done = false;
            for m in messages(&self.sock.rbuf) {
                if m.ty != NLMSG_ERROR {
                    continue;
                }
                let errno = error_code(m.payload);
                if errno != 0 {
                    // Sequence numbers grow (with wrapping) in queue order.
                    let key = |q: &Queued| q.seq.wrapping_sub(base);
                    let off = m.seq.wrapping_sub(base);
                    if let Ok(i) = self.reqs[first..=last].binary_search_by_key(&off, key) {
                        let i = first + i;
                        let op = self.desc(i).to_owned();
                        self.failed.push((i, NetError::Kernel { op, errno }));
                    }
                }
                done |= m.seq == want;
            }
            if done {
                return Ok(());
            }
        }
    }
}
