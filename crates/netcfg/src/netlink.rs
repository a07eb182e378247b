//! The netlink socket, written once for every family: open and bind, sequence numbers,
//! sending, receiving, acks, dumps, and the [`Batch`] engine that pipelines many requests
//! through few system calls. A request is a typed value that encodes and describes itself;
//! a single request is a batch of one.
//!
//! rtnetlink ([`RtSocket`](crate::RtSocket)) and nftables ([`NftSocket`](crate::NftSocket))
//! differ only in what [`Family`] says: nftables wraps a batch in BEGIN/END and applies it
//! as one transaction, sent whole; rtnetlink sends chunks that fit the socket buffers.

use std::io;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::os::fd::AsRawFd;

use netlink_packet_core::{ErrorBuffer, NetlinkBuffer, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK};
use nix::sys::socket::{getsockopt, setsockopt, sockopt};
use nix::sys::time::TimeVal;

use crate::{NetError, Op};

/// Largest reply datagram: the kernel caps dump datagrams at 32 KiB.
const RECV_BUF: usize = 64 * 1024;

/// A netlink family: [`Rtnetlink`] or [`Nftables`]. Sealed.
pub trait Family: sealed::Family {}

/// rtnetlink (NETLINK_ROUTE): links, addresses, routes, qdiscs.
#[derive(Debug)]
pub enum Rtnetlink {}

/// nftables over NETLINK_NETFILTER.
#[derive(Debug)]
pub enum Nftables {}

impl Family for Rtnetlink {}
impl Family for Nftables {}

pub(crate) mod sealed {
    use std::time::Duration;

    use crate::Op;

    /// What differs between the families the socket speaks.
    pub trait Family {
        /// The netlink protocol number.
        const PROTOCOL: isize;
        /// How errors name the socket ("rtnetlink").
        const NAME: &'static str;
        /// A batch is one transaction (BEGIN … END), sent whole.
        const ATOMIC: bool;
        /// Grow the socket buffers at open and cut batches to fit them.
        const CHUNKED: bool;
        /// Give up waiting for an answer after this long.
        const RECV_TIMEOUT: Option<Duration>;
        /// What a failure of the batch as a whole is reported as.
        const BATCH_OP: Op;
        /// What the socket keeps between requests (rtnetlink: interface indexes).
        type Cache: Default;
        /// Append the message that opens (`end`: closes) a transaction, if the family has one.
        fn frame(_buf: &mut Vec<u8>, _seq: u32, _end: bool) {}
    }
}

/// A request: encodes itself (header included, without NLM_F_ACK: the engine asks for the
/// acks it needs) and describes itself for errors.
pub(crate) trait Request {
    /// What the request does, in the user's terms.
    fn op(&self) -> Op;
    /// Append the whole message with sequence number `seq`.
    fn emit(&self, buf: &mut Vec<u8>, seq: u32);
}

/// A netlink socket of family `F`. It stays bound to the netns it was opened in, whatever
/// thread later uses it.
pub struct Socket<F: Family> {
    sock: netlink_sys::Socket,
    seq: u32,
    rbuf: Vec<u8>,
    sbuf: Vec<u8>,
    /// Most bytes of requests per sendmsg in a batch.
    chunk: usize,
    pub(crate) cache: F::Cache,
    family: PhantomData<F>,
}

/// Socket buffers asked for (SO_*BUFFORCE as root; plain SO_*BUF capped by sysctls otherwise).
const SNDBUF: usize = 4 << 20;
const RCVBUF: usize = 8 << 20;
/// Most bytes of requests per sendmsg in a chunked batch.
const MAX_CHUNK: usize = 256 * 1024;

impl<F: Family> Socket<F> {
    /// Open a socket in the calling thread's current netns.
    pub fn open() -> Result<Self, NetError> {
        let op = || Op::OpenSocket { family: F::NAME };
        let mut sock = netlink_sys::Socket::new(F::PROTOCOL).map_err(|e| NetError::io(op(), e))?;
        sock.bind_auto().map_err(|e| NetError::io(op(), e))?;
        // Errors then carry only the failed request's header, not its whole body.
        let _ = sock.set_cap_ack(true);
        if let Some(t) = F::RECV_TIMEOUT {
            let tv = TimeVal::new(t.as_secs() as _, 0);
            setsockopt(&sock, sockopt::ReceiveTimeout, &tv)
                .map_err(|e| NetError::io(op(), e.into()))?;
        }
        let mut chunk = usize::MAX;
        if F::CHUNKED {
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
            chunk = MAX_CHUNK
                .min(snd.saturating_sub(1024))
                .min(rcv / 48)
                .max(4096);
        }
        let seq = (std::process::id() ^ sock.as_raw_fd() as u32).wrapping_mul(2_654_435_761);
        Ok(Socket {
            sock,
            seq,
            rbuf: Vec::with_capacity(RECV_BUF),
            sbuf: Vec::with_capacity(4096),
            chunk,
            cache: F::Cache::default(),
            family: PhantomData,
        })
    }

    /// Open a socket inside `ns` (the calling thread enters it and comes back).
    pub fn open_in(ns: &crate::Netns) -> Result<Self, NetError> {
        crate::in_netns(ns, Self::open)?
    }

    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn send(&self, buf: &[u8]) -> io::Result<()> {
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

    /// Throw away whatever answers are still queued.
    fn drain(&mut self) {
        loop {
            self.rbuf.clear();
            match self.sock.recv(&mut self.rbuf, libc::MSG_DONTWAIT) {
                Ok(n) if n > 0 => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => return,
            }
        }
    }

    /// Start a batch of requests on this socket; see [`Batch`].
    pub fn batch(&mut self) -> Batch<'_, F> {
        let mut buf = Vec::new();
        if F::ATOMIC {
            let seq = self.next_seq();
            F::frame(&mut buf, seq, false);
        }
        Batch {
            sock: self,
            head: buf.len(),
            buf,
            reqs: Vec::new(),
            failed: Vec::new(),
        }
    }

    /// Run what `f` queues as one batch and return its first failure.
    pub(crate) fn one(&mut self, f: impl FnOnce(&mut Batch<'_, F>)) -> Result<(), NetError> {
        let mut b = self.batch();
        f(&mut b);
        b.commit().map_err(|mut errs| errs.swap_remove(0))
    }

    /// Send a request that the kernel answers with messages (a dump, a get), hand each
    /// answer's (type, payload) to `f` until the dump ends, an ack comes, or `f` breaks.
    /// Returns whether `f` broke.
    pub(crate) fn query(
        &mut self,
        req: &impl Request,
        mut f: impl FnMut(u16, &[u8]) -> Result<ControlFlow<()>, NetError>,
    ) -> Result<bool, NetError> {
        let seq = self.next_seq();
        let mut buf = std::mem::take(&mut self.sbuf);
        buf.clear();
        req.emit(&mut buf, seq);
        let sent = self.send(&buf);
        self.sbuf = buf;
        sent.map_err(|e| NetError::io(req.op(), e))?;
        loop {
            self.recv().map_err(|e| NetError::io(req.op(), e))?;
            for m in messages(&self.rbuf) {
                if m.sequence_number() != seq {
                    continue;
                }
                match m.message_type() {
                    NLMSG_DONE => return Ok(false),
                    NLMSG_ERROR => match error_code(m.payload()) {
                        0 => return Ok(false),
                        errno => {
                            return Err(NetError::Kernel {
                                op: req.op(),
                                errno,
                            })
                        }
                    },
                    ty => {
                        if f(ty, m.payload())?.is_break() {
                            return Ok(true);
                        }
                    }
                }
            }
        }
    }
}

impl<F: Family> std::fmt::Debug for Socket<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("family", &F::NAME)
            .field("fd", &self.sock.as_raw_fd())
            .finish()
    }
}

/// The messages of one datagram, through netlink-packet-core's header buffer; stops at the
/// first malformed header.
pub(crate) fn messages(buf: &[u8]) -> impl Iterator<Item = NetlinkBuffer<&[u8]>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let m = NetlinkBuffer::new_checked(buf.get(at..)?).ok()?;
        at += (m.length() as usize).next_multiple_of(4).max(16);
        Some(m)
    })
}

/// The errno of an NLMSG_ERROR payload (0 for an ack).
pub(crate) fn error_code(payload: &[u8]) -> i32 {
    match ErrorBuffer::new_checked(payload) {
        Ok(e) => e.code().map_or(0, |c| c.get().wrapping_neg()),
        Err(_) => libc::EBADMSG,
    }
}

/// A queued request: where its bytes end, its sequence number, what it does.
struct Queued {
    end: usize,
    seq: u32,
    op: Op,
}

/// Many requests sent in as few `sendmsg` calls as fit the socket buffer.
///
/// rtnetlink: queueing resolves interface names at once (so links must exist before their
/// requests are queued; create links with the direct methods first) and records a failed
/// lookup as the request's failure. [`Batch::commit`] sends the requests in order, in
/// chunks of up to 256 KiB; within a chunk only the last request asks for an ack, since
/// the kernel reports every failure anyway, with the failed request's sequence number, and
/// processes a chunk in order. The kernel keeps going after a failed request, so one commit
/// reports every failure, in queue order.
///
/// nftables: the batch is one transaction, sent whole, applied all or nothing.
///
/// Dropping a batch without committing it sends nothing.
pub struct Batch<'s, F: Family> {
    pub(crate) sock: &'s mut Socket<F>,
    /// Where the requests start (after a transaction's BEGIN).
    head: usize,
    buf: Vec<u8>,
    reqs: Vec<Queued>,
    /// (request position, error), for failures found while queueing or committing.
    failed: Vec<(usize, NetError)>,
}

impl<F: Family> Batch<'_, F> {
    /// Number of requests queued.
    pub fn len(&self) -> usize {
        self.reqs.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Queue a request.
    pub(crate) fn push(&mut self, req: &impl Request) {
        let seq = self.sock.next_seq();
        req.emit(&mut self.buf, seq);
        self.reqs.push(Queued {
            end: self.buf.len(),
            seq,
            op: req.op(),
        });
    }

    /// Record a failure found while queueing, in the place of the next request.
    pub(crate) fn fail(&mut self, e: NetError) {
        self.failed.push((self.reqs.len(), e));
    }

    fn start_of(&self, i: usize) -> usize {
        if i == 0 {
            self.head
        } else {
            self.reqs[i - 1].end
        }
    }

    /// Send every queued request and collect the outcome: `Ok` when all succeeded,
    /// otherwise every failure (with its operation) in queue order. A socket error stops
    /// the commit and is reported last.
    pub fn commit(mut self) -> Result<(), Vec<NetError>> {
        if !self.reqs.is_empty() && F::ATOMIC {
            let seq = self.sock.next_seq();
            F::frame(&mut self.buf, seq, true);
            self.size_socket_buffers()?;
        }
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
            let at = self.start_of(last);
            let mut h = NetlinkBuffer::new(&mut self.buf[at..]);
            h.set_flags(h.flags() | NLM_F_ACK);
            let end = if last + 1 == self.reqs.len() {
                self.buf.len()
            } else {
                self.reqs[last].end
            };
            if let Err(e) = self.send_chunk(first, last, start..end) {
                self.failed.push((usize::MAX, NetError::io(F::BATCH_OP, e)));
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

    /// A transaction is one message and must fit the send buffer (EMSGSIZE from ~800
    /// nftables rules with the default). Privileged, as every caller is: grow it to the
    /// batch, doubled by the kernel to leave room for its overhead. One refused rule can make
    /// every later rule of its chain fail too, and each report costs about 1 KiB of receive
    /// buffer: room for all of them (only reports that come take memory).
    fn size_socket_buffers(&self) -> Result<(), Vec<NetError>> {
        let sock = &self.sock.sock;
        let need = self.buf.len() + 4096;
        if getsockopt(sock, sockopt::SndBuf).unwrap_or(0) < need + 64 {
            setsockopt(sock, sockopt::SndBufForce, &need)
                .map_err(|e| vec![NetError::io(F::BATCH_OP, e.into())])?;
        }
        let answers = (self.reqs.len() + 2) * 1024;
        if getsockopt(sock, sockopt::RcvBuf).unwrap_or(0) < answers {
            let _ = setsockopt(sock, sockopt::RcvBufForce, &answers);
        }
        Ok(())
    }

    fn send_chunk(
        &mut self,
        first: usize,
        last: usize,
        bytes: std::ops::Range<usize>,
    ) -> io::Result<()> {
        self.sock.send(&self.buf[bytes])?;
        let base = self.reqs[first].seq;
        let want = self.reqs[last].seq;
        let failed_before = self.failed.len();
        loop {
            if let Err(e) = self.sock.recv() {
                // Reports beyond the receive buffer were dropped (ENOBUFS): the first ones,
                // which came, say what went wrong; a transaction was not applied.
                if F::ATOMIC && self.failed.len() > failed_before {
                    self.sock.drain();
                    return Ok(());
                }
                return Err(e);
            }
            let mut done = false;
            for m in messages(&self.sock.rbuf) {
                if m.message_type() != NLMSG_ERROR {
                    continue;
                }
                let errno = error_code(m.payload());
                let seq = m.sequence_number();
                done |= seq == want;
                // Sequence numbers grow (with wrapping) in queue order.
                let key = |q: &Queued| q.seq.wrapping_sub(base);
                let off = seq.wrapping_sub(base);
                match self.reqs[first..=last].binary_search_by_key(&off, key) {
                    Ok(i) if errno != 0 => {
                        let i = first + i;
                        let op = self.reqs[i].op.clone();
                        self.failed.push((i, NetError::Kernel { op, errno }));
                    }
                    Ok(_) => {}
                    // The transaction as a whole failed (e.g. its commit): nothing else comes.
                    Err(_) if F::ATOMIC && errno != 0 => {
                        let op = F::BATCH_OP;
                        self.failed
                            .push((usize::MAX, NetError::Kernel { op, errno }));
                        done = true;
                    }
                    Err(_) => {}
                }
            }
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Golden tests build requests as the engine sends a batch of one.

    use super::Request;
    use netlink_packet_core::{NetlinkBuffer, NLM_F_ACK};

    /// The bytes of `req` sent alone with sequence number `seq` (so acked).
    pub(crate) fn single(req: &impl Request, seq: u32) -> Vec<u8> {
        let mut buf = Vec::new();
        req.emit(&mut buf, seq);
        let mut h = NetlinkBuffer::new(&mut buf[..]);
        h.set_flags(h.flags() | NLM_F_ACK);
        buf
    }

    /// The bytes of `req` as queued in a batch (no ack asked).
    pub(crate) fn queued(req: &impl Request, seq: u32) -> Vec<u8> {
        let mut buf = Vec::new();
        req.emit(&mut buf, seq);
        buf
    }

    /// Bytes from hex strings (captures pasted from strace).
    pub(crate) fn hex(parts: &[&str]) -> Vec<u8> {
        let s: String = parts.concat();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
