//! `nsnet capture NODE:IFACE`: packets of one interface of a node, from an AF_PACKET socket
//! opened inside the node's netns (a socket stays in the netns it was made in, so this
//! process never moves), written as a classic pcap file that tcpdump and Wireshark read, or
//! as one line per packet. Stops after a count, on SIGINT/SIGTERM, or when the reader of
//! the output goes away (EPIPE), always leaving a complete file.

use crate::running::{NodeError, RunningLab};
use crate::state::StateError;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::socket::{self, sockopt, ControlMessageOwned, MsgFlags};
use nix::sys::time::TimeSpec;
use nsnet_netcfg::{in_netns, NetError, RtSocket};
use std::io::{self, IoSliceMut, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes kept of each packet (tcpdump's default): a veth hands over GSO packets of up to 64 KiB.
pub const SNAPLEN: u32 = 262_144;
/// LINKTYPE_ETHERNET.
const LINKTYPE_ETHERNET: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("{node}: {source}")]
    Net { node: String, source: NetError },
    #[error("{op}: {source}")]
    Io { op: String, source: io::Error },
    #[error("`{0}`: name the interface as NODE:IFACE, e.g. h1:eth0")]
    Usage(String),
}

fn io_err(op: impl Into<String>) -> impl FnOnce(io::Error) -> CaptureError {
    let op = op.into();
    move |source| CaptureError::Io { op, source }
}

fn errno_err(op: impl Into<String>) -> impl FnOnce(nix::errno::Errno) -> CaptureError {
    let op = op.into();
    move |e| CaptureError::Io {
        op,
        source: e.into(),
    }
}

/// Where packets go.
pub enum Sink {
    /// A pcap stream (file or stdout), flushed after every packet.
    Pcap(Box<dyn Write>),
    /// One line per packet.
    Text(Box<dyn Write>),
}

/// The 24-byte pcap global header: microsecond timestamps, version 2.4, Ethernet.
pub fn pcap_header(snaplen: u32) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_ne_bytes());
    h[4..6].copy_from_slice(&2u16.to_ne_bytes());
    h[6..8].copy_from_slice(&4u16.to_ne_bytes());
    // thiszone, sigfigs: 0
    h[16..20].copy_from_slice(&snaplen.to_ne_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
    h
}

/// One pcap record: its 16-byte header (time, captured and original length), then the data.
pub fn pcap_record(out: &mut Vec<u8>, sec: u32, usec: u32, orig_len: u32, data: &[u8]) {
    out.extend_from_slice(&sec.to_ne_bytes());
    out.extend_from_slice(&usec.to_ne_bytes());
    out.extend_from_slice(&(data.len() as u32).to_ne_bytes());
    out.extend_from_slice(&orig_len.to_ne_bytes());
    out.extend_from_slice(data);
}

/// `12:34:56.789012` (UTC).
fn clock(sec: u64, usec: u32) -> String {
    let d = sec % 86_400;
    format!("{:02}:{:02}:{:02}.{usec:06}", d / 3600, d / 60 % 60, d % 60)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ip4(b: &[u8], at: usize) -> Option<IpAddr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(o)))
}

fn ip6(b: &[u8], at: usize) -> Option<IpAddr> {
    let o: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(o)))
}

fn tcp_flags(f: u8) -> String {
    let names = [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x10, '.'),
    ];
    names
        .iter()
        .filter(|(bit, _)| f & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// What a packet is, tcpdump-style but short: `10.0.0.2 → 10.0.1.3 ICMP echo request`.
pub fn describe(frame: &[u8]) -> String {
    describe_inner(frame).unwrap_or_else(|| "truncated frame".into())
}

fn describe_inner(frame: &[u8]) -> Option<String> {
    let mut off = 12;
    let mut ty = be16(frame, off)?;
    while ty == 0x8100 || ty == 0x88a8 {
        off += 4;
        ty = be16(frame, off)?;
    }
    let p = frame.get(off + 2..)?;
    let transport = |proto: u8, t: &[u8], src: IpAddr, dst: IpAddr| -> Option<String> {
        Some(match proto {
            1 | 58 => {
                let kind = match (proto, *t.first()?) {
                    (1, 8) | (58, 128) => "echo request",
                    (1, 0) | (58, 129) => "echo reply",
                    (1, 3) | (58, 1) => "destination unreachable",
                    (1, 11) | (58, 3) => "time exceeded",
                    (58, 135) => "neighbor solicitation",
                    (58, 136) => "neighbor advertisement",
                    (58, 133) => "router solicitation",
                    (58, 143) => "multicast listener report",
                    _ => "other",
                };
                let name = if proto == 1 { "ICMP" } else { "ICMP6" };
                format!("{src} → {dst} {name} {kind}")
            }
            6 => {
                let (sp, dp) = (be16(t, 0)?, be16(t, 2)?);
                let flags = tcp_flags(*t.get(13)?);
                format!("{src}:{sp} → {dst}:{dp} TCP [{flags}]")
            }
            17 => format!("{src}:{} → {dst}:{} UDP", be16(t, 0)?, be16(t, 2)?),
            n => format!("{src} → {dst} IP proto {n}"),
        })
    };
    Some(match ty {
        0x0800 => {
            let ihl = (*p.first()? & 0x0f) as usize * 4;
            transport(*p.get(9)?, p.get(ihl..)?, ip4(p, 12)?, ip4(p, 16)?)?
        }
        0x86dd => transport(*p.get(6)?, p.get(40..)?, ip6(p, 8)?, ip6(p, 24)?)?,
        0x0806 => {
            let (sender, target) = (ip4(p, 14)?, ip4(p, 24)?);
            match be16(p, 6)? {
                1 => format!("ARP who-has {target} tell {sender}"),
                2 => {
                    let m = p.get(8..14)?;
                    format!(
                        "ARP {sender} is-at {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                        m[0], m[1], m[2], m[3], m[4], m[5]
                    )
                }
                op => format!("ARP op {op}"),
            }
        }
        other => format!("ethertype 0x{other:04x}"),
    })
}

/// Capture on `node:iface` of `lab` into `sink` until `count` packets, a signal, or EPIPE.
/// `ready` is called once the socket listens. Returns the number of packets captured.
pub fn capture(
    lab: Option<&str>,
    node: &str,
    iface: &str,
    mut sink: Sink,
    count: Option<u64>,
    ready: impl FnOnce(),
) -> Result<u64, CaptureError> {
    let lab = RunningLab::open(lab)?;
    let ns = lab.node(node)?.netns()?;
    let net = |source| CaptureError::Net {
        node: node.to_string(),
        source,
    };
    // Signals become readable events, so a blocked recv never hides a ^C.
    let mut mask = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        mask.add(s);
    }
    mask.thread_block().map_err(errno_err("blocking signals"))?;
    let sigfd = SignalFd::new(&mask).map_err(errno_err("creating a signalfd"))?;
    let sock = in_netns(&ns, || -> Result<OwnedFd, CaptureError> {
        let index = RtSocket::open()
            .and_then(|mut s| s.link_index(iface))
            .map_err(net)?;
        crate::sys::packet_socket(index)
            .map_err(io_err(format!("opening a packet socket on {iface}")))
    })
    .map_err(net)??;
    // Kernel receive timestamps, as tcpdump's.
    let _ = socket::setsockopt(&sock, sockopt::ReceiveTimestampns, &true);
    if let Sink::Pcap(w) = &mut sink {
        w.write_all(&pcap_header(SNAPLEN))
            .and_then(|()| w.flush())
            .map_err(io_err("writing the pcap header"))?;
    }
    ready();
    let mut buf = vec![0u8; SNAPLEN as usize];
    let mut rec = Vec::with_capacity(SNAPLEN as usize + 16);
    let mut cmsg = nix::cmsg_space!(TimeSpec);
    let mut n = 0u64;
    while count.is_none_or(|c| n < c) {
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(sigfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(errno_err("waiting for packets")(e)),
            Ok(_) => {}
        }
        if fds[1].any().unwrap_or(false) {
            break;
        }
        let (len, ts) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = match socket::recvmsg::<()>(
                sock.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(m) => m,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(errno_err("receiving a packet")(e)),
            };
            let mut ts = None;
            if let Ok(cms) = msg.cmsgs() {
                for c in cms {
                    if let ControlMessageOwned::ScmTimestampns(t) = c {
                        ts = Some((t.tv_sec() as u64, (t.tv_nsec() / 1000) as u32));
                    }
                }
            }
            (msg.bytes, ts)
        };
        let (sec, usec) = ts.unwrap_or_else(|| {
            let d = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            (d.as_secs(), d.subsec_micros())
        });
        let kept = &buf[..len.min(buf.len())];
        let res = match &mut sink {
            Sink::Pcap(w) => {
                rec.clear();
                pcap_record(&mut rec, sec as u32, usec, len as u32, kept);
                w.write_all(&rec).and_then(|()| w.flush())
            }
            Sink::Text(w) => writeln!(w, "{} {}, length {len}", clock(sec, usec), describe(kept))
                .and_then(|()| w.flush()),
        };
        match res {
            Ok(()) => n += 1,
            // The reader is gone (tcpdump -r - exited, head …): a clean end.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(io_err("writing a packet")(e)),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_header_is_classic_libpcap() {
        let h = pcap_header(262_144);
        // Little-endian host: magic a1b2c3d4 reads back as d4 c3 b2 a1.
        assert_eq!(
            h,
            [
                0xd4, 0xc3, 0xb2, 0xa1, // magic: microsecond timestamps
                0x02, 0x00, 0x04, 0x00, // version 2.4
                0x00, 0x00, 0x00, 0x00, // thiszone
                0x00, 0x00, 0x00, 0x00, // sigfigs
                0x00, 0x00, 0x04, 0x00, // snaplen 262144
                0x01, 0x00, 0x00, 0x00, // LINKTYPE_ETHERNET
            ]
        );
    }

    #[test]
    fn pcap_record_layout() {
        let mut out = Vec::new();
        pcap_record(&mut out, 1_700_000_000, 123_456, 98, &[0xaa; 4]);
        assert_eq!(
            out,
            [
                0x00, 0xf1, 0x53, 0x65, // ts_sec 1700000000
                0x40, 0xe2, 0x01, 0x00, // ts_usec 123456
                0x04, 0x00, 0x00, 0x00, // incl_len 4
                0x62, 0x00, 0x00, 0x00, // orig_len 98
                0xaa, 0xaa, 0xaa, 0xaa,
            ]
        );
    }

    #[test]
    fn describes_packets() {
        // Ethernet + IPv4 + ICMP echo request 10.0.0.2 → 10.0.1.3.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 2, 10, 0, 1, 3]);
        f.extend_from_slice(&[8, 0, 0, 0]);
        assert_eq!(describe(&f), "10.0.0.2 → 10.0.1.3 ICMP echo request");
        // ARP request.
        let mut a = vec![0u8; 12];
        a.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
        a.extend_from_slice(&[2, 0, 0, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        assert_eq!(describe(&a), "ARP who-has 10.0.0.1 tell 10.0.0.2");
        assert_eq!(describe(&[0u8; 5]), "truncated frame");
        assert_eq!(clock(1_700_000_000, 5), "22:13:20.000005");
    }
}
