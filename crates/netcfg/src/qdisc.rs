//! Queueing disciplines (what `tc qdisc` does): a token bucket (tbf) for rate limits and
//! netem for delay, jitter and loss, and the impairments they amount to read back per
//! interface. The messages are netlink-packet-route's `TcMessage`; the options of tbf and
//! netem, which it cannot encode, are written by the hand encoder in the layout iproute2
//! 6.1 sends (the tests compare against its bytes) and decoded here too.

use std::collections::HashMap;
use std::ops::ControlFlow;

use netlink_packet_core::{
    parse_string, parse_u32, parse_u64, DefaultNla, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE,
    NLM_F_REQUEST,
};
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcHeader, TcMessage};
use netlink_packet_route::RouteNetlinkMessage;

use crate::netlink::{Request, Rtnetlink, Socket};
use crate::rtnl::{emit_rtnl, RTM_NEWQDISC};
use crate::wire::{attrs, Writer};
use crate::{NetError, Op};

// linux/rtnetlink.h, linux/pkt_sched.h.
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TC_H_ROOT: u32 = 0xffff_ffff;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RTAB: u16 = 2;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_BURST: u16 = 6;
const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_NETEM_JITTER64: u16 = 11;
const TC_LINKLAYER_ETHERNET: u8 = 1;
/// struct tcmsg.
const TCMSG_LEN: usize = 20;
/// struct tc_netem_qopt: latency, limit, loss, gap, duplicate, jitter.
const NETEM_QOPT_LEN: usize = 24;

/// The handle of netem when a tbf hangs below it (1:), and the tbf's (10:).
const NETEM_HANDLE: u32 = 0x0001_0000;
const TBF_CHILD_HANDLE: u32 = 0x0010_0000;

/// Packet scheduler ticks per microsecond: the kernel's PSCHED_SHIFT is 6, a tick is 64 ns
/// (/proc/net/psched: 000003e8 00000040 → 1000/64).
const TICKS_PER_US: f64 = 15.625;
/// The MTU tc assumes for the rate table when none is given.
const RTAB_MTU: u32 = 2047;

/// A token bucket: `rate` bits/s, a bucket of `burst` bytes, and a queue that holds
/// `latency_us` worth of packets at that rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tbf {
    /// Bits per second.
    pub rate: u64,
    /// Bucket size, bytes.
    pub burst: u32,
    /// How long a packet may wait in the queue, microseconds.
    pub latency_us: u32,
}

/// netem: a delay (± jitter), microseconds, and a loss probability in millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Netem {
    /// One-way delay, microseconds.
    pub delay_us: u32,
    /// Random variation of the delay (±), microseconds.
    pub jitter_us: u32,
    /// Loss probability, millionths.
    pub loss_ppm: u32,
    /// Packets queued at most (tc's default: 1000).
    pub limit: u32,
}

/// What an interface's qdiscs do to its traffic, read back from the kernel: a root tbf (or
/// one below a root netem) gives the rate, a root netem the rest. Zero delays, jitters and
/// losses read as none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Impairment {
    /// Bits per second.
    pub rate: Option<u64>,
    /// One-way delay, microseconds.
    pub delay_us: Option<u32>,
    /// Random variation of the delay, microseconds.
    pub jitter_us: Option<u32>,
    /// Loss probability, millionths.
    pub loss_ppm: Option<u32>,
}

/// tc's `tc_calc_xmittime`: the time to send `size` bytes at `rate` bytes/s, in ticks. tc
/// goes through whole microseconds first, and so do we, to send the same numbers.
fn xmittime(rate: u64, size: u32) -> u32 {
    let us = (1_000_000.0 * (size as f64 / rate as f64)) as u32;
    (us as f64 * TICKS_PER_US) as u32
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    parse_u32(b.get(at..at + 4)?).ok()
}

impl Tbf {
    /// TCA_OPTIONS of a tbf (nested): parameters, burst, a 64-bit rate when it does not fit
    /// 32 bits, and the rate table.
    fn emit_options(&self, out: &mut Vec<u8>) {
        let rate64 = self.rate / 8;
        let rate32 = u32::try_from(rate64).unwrap_or(u32::MAX);
        // The rate table: one slot per 8 bytes (cell_log 3) up to the default MTU.
        let mut cell_log = 0u8;
        while (RTAB_MTU >> cell_log) > 255 {
            cell_log += 1;
        }
        let limit = (rate64 as f64 * self.latency_us as f64 / 1e6 + self.burst as f64)
            .min(u32::MAX as f64) as u32;
        let mut parms = Vec::with_capacity(36);
        // struct tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu, rate (bytes/s,
        // saturated at u32: the rest goes in RATE64).
        parms.extend_from_slice(&[cell_log, TC_LINKLAYER_ETHERNET]);
        parms.extend_from_slice(&0u16.to_ne_bytes());
        parms.extend_from_slice(&(-1i16).to_ne_bytes());
        parms.extend_from_slice(&0u16.to_ne_bytes());
        parms.extend_from_slice(&rate32.to_ne_bytes());
        parms.extend_from_slice(&[0; 12]); // peakrate: none
        parms.extend_from_slice(&limit.to_ne_bytes());
        parms.extend_from_slice(&xmittime(rate32 as u64, self.burst).to_ne_bytes()); // buffer, ticks
        parms.extend_from_slice(&0u32.to_ne_bytes()); // mtu
        let mut rtab = Vec::with_capacity(1024);
        for i in 0..256u32 {
            rtab.extend_from_slice(&xmittime(rate32 as u64, (i + 1) << cell_log).to_ne_bytes());
        }
        let mut w = Writer::new(out);
        w.attr(TCA_TBF_PARMS, &parms);
        w.attr_u32(TCA_TBF_BURST, self.burst);
        if rate64 > u32::MAX as u64 {
            w.attr(TCA_TBF_RATE64, &rate64.to_ne_bytes());
        }
        w.attr(TCA_TBF_RTAB, &rtab);
    }

    /// The rate (bits/s) of a tbf's TCA_OPTIONS.
    fn parse_rate(options: &[u8]) -> Option<u64> {
        let mut rate = None;
        for (ty, v) in attrs(options) {
            match ty {
                // tc_tbf_qopt.rate.rate, bytes/s.
                TCA_TBF_PARMS if rate.is_none() => rate = u32_at(v, 8).map(|r| r as u64 * 8),
                TCA_TBF_RATE64 => rate = parse_u64(v).ok().map(|r| r * 8),
                _ => {}
            }
        }
        rate
    }
}

impl Netem {
    /// TCA_OPTIONS of a netem: not nested, struct tc_netem_qopt first, attributes after.
    fn emit_options(&self, out: &mut Vec<u8>) {
        let ticks = |us: u32| (us as f64 * TICKS_PER_US) as u32;
        let loss = (self.loss_ppm as f64 / 1e6 * u32::MAX as f64).round() as u32;
        let mut w = Writer::new(out);
        for v in [
            ticks(self.delay_us),
            self.limit,
            loss,
            0,
            0,
            ticks(self.jitter_us),
        ] {
            w.bytes(&v.to_ne_bytes());
        }
        // Times past u32 nanoseconds also go as 64-bit nanoseconds, as tc does.
        for (ty, us) in [
            (TCA_NETEM_LATENCY64, self.delay_us),
            (TCA_NETEM_JITTER64, self.jitter_us),
        ] {
            let ns = us as u64 * 1000;
            if ns >= u32::MAX as u64 {
                w.attr(ty, &ns.to_ne_bytes());
            }
        }
    }

    /// A netem's TCA_OPTIONS (the limit is not read back).
    fn parse_options(options: &[u8]) -> Option<Netem> {
        let us = |ticks: u32| (ticks as f64 / TICKS_PER_US).round() as u32;
        let mut n = Netem {
            delay_us: us(u32_at(options, 0)?),
            limit: u32_at(options, 4)?,
            loss_ppm: (u32_at(options, 8)? as f64 / u32::MAX as f64 * 1e6).round() as u32,
            jitter_us: us(u32_at(options, 20)?),
        };
        for (ty, v) in attrs(options.get(NETEM_QOPT_LEN..)?) {
            let v = parse_u64(v)
                .ok()
                .map(|ns| (ns / 1000).min(u32::MAX as u64) as u32);
            match (ty, v) {
                (TCA_NETEM_LATENCY64, Some(v)) => n.delay_us = v,
                (TCA_NETEM_JITTER64, Some(v)) => n.jitter_us = v,
                _ => {}
            }
        }
        Some(n)
    }
}

/// A qdisc as the kernel dumps it, with the options nsnet sets decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct QdiscInfo {
    ifindex: u32,
    /// The interface's name, when known in the socket's netns.
    ifname: Option<String>,
    parent: u32,
    kind: String,
    /// tbf: bits per second.
    rate: Option<u64>,
    netem: Option<Netem>,
}

/// One RTM_NEWQDISC payload (tcmsg and attributes).
fn parse_qdisc(payload: &[u8]) -> Option<QdiscInfo> {
    let h = TcHeader::parse(payload).ok()?;
    let mut q = QdiscInfo {
        ifindex: u32::try_from(h.index).ok()?,
        parent: h.parent.into(),
        ..QdiscInfo::default()
    };
    let mut options: &[u8] = &[];
    for (ty, v) in attrs(payload.get(TCMSG_LEN..)?) {
        match ty {
            TCA_KIND => q.kind = parse_string(v).ok()?,
            TCA_OPTIONS => options = v,
            _ => {}
        }
    }
    match q.kind.as_str() {
        "tbf" => q.rate = Tbf::parse_rate(options),
        "netem" if options.len() >= NETEM_QOPT_LEN => q.netem = Netem::parse_options(options),
        _ => {}
    }
    Some(q)
}

/// What a set of qdiscs does, per interface: a root tbf or netem, and a tbf below netem.
fn impairments_of(qs: Vec<QdiscInfo>) -> HashMap<String, Impairment> {
    let mut out: HashMap<String, Impairment> = HashMap::new();
    for q in qs {
        let Some(name) = q.ifname else { continue };
        let imp = out.entry(name).or_default();
        match (q.kind.as_str(), q.netem) {
            ("tbf", _) if q.parent == TC_H_ROOT || q.parent == NETEM_HANDLE | 1 => {
                imp.rate = q.rate
            }
            ("netem", Some(n)) if q.parent == TC_H_ROOT => {
                imp.delay_us = Some(n.delay_us).filter(|&d| d > 0);
                imp.jitter_us = Some(n.jitter_us).filter(|&j| j > 0);
                imp.loss_ppm = Some(n.loss_ppm).filter(|&l| l > 0);
            }
            _ => {}
        }
    }
    out
}

/// The options of the qdisc a request sets.
#[derive(Clone, Copy)]
enum Options<'a> {
    Tbf(&'a Tbf),
    Netem(&'a Netem),
}

/// Flags of a request that adds a qdisc or replaces the one in its place (`tc qdisc replace`).
const REPLACE: u16 = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;

/// RTM_NEWQDISC of a tbf or netem, as `tc qdisc replace dev D (root|parent P) [handle H] …`.
struct SetQdisc<'a> {
    ifname: &'a str,
    index: u32,
    parent: u32,
    handle: u32,
    options: Options<'a>,
    flags: u16,
}

impl Request for SetQdisc<'_> {
    fn op(&self) -> Op {
        let ifname = self.ifname.into();
        match self.options {
            Options::Tbf(_) if self.parent != TC_H_ROOT => Op::SetTbfBelowNetem { ifname },
            Options::Tbf(t) => Op::SetTbf {
                ifname,
                rate: t.rate,
            },
            Options::Netem(_) => Op::SetNetem { ifname },
        }
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let mut opts = Vec::new();
        let kind = match self.options {
            Options::Tbf(t) => {
                t.emit_options(&mut opts);
                "tbf"
            }
            Options::Netem(n) => {
                n.emit_options(&mut opts);
                "netem"
            }
        };
        let mut m = TcMessage::default();
        m.header = tcmsg(self.index, self.handle, self.parent);
        m.attributes = vec![
            TcAttribute::Kind(kind.into()),
            TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, opts)),
        ];
        let msg = RouteNetlinkMessage::NewQueueDiscipline(m);
        emit_rtnl(buf, seq, self.flags, msg);
    }
}

fn tcmsg(index: u32, handle: u32, parent: u32) -> TcHeader {
    TcHeader {
        index: index as i32,
        handle: TcHandle::from(handle),
        parent: TcHandle::from(parent),
        ..TcHeader::default()
    }
}

/// RTM_DELQDISC of the root qdisc (`tc qdisc del dev D root`).
struct DelRoot<'a> {
    ifname: &'a str,
    index: u32,
}

impl Request for DelRoot<'_> {
    fn op(&self) -> Op {
        Op::DelRootQdisc {
            ifname: self.ifname.into(),
        }
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let mut m = TcMessage::default();
        m.header = tcmsg(self.index, 0, TC_H_ROOT);
        emit_rtnl(
            buf,
            seq,
            NLM_F_REQUEST,
            RouteNetlinkMessage::DelQueueDiscipline(m),
        );
    }
}

/// A dump of every qdisc of the netns.
struct DumpQdiscs;

impl Request for DumpQdiscs {
    fn op(&self) -> Op {
        Op::ListQdiscs
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let m = RouteNetlinkMessage::GetQueueDiscipline(TcMessage::default());
        emit_rtnl(buf, seq, NLM_F_REQUEST | NLM_F_DUMP, m);
    }
}

impl Socket<Rtnetlink> {
    fn set_qdisc(&mut self, mut req: SetQdisc<'_>) -> Result<(), NetError> {
        req.index = self.resolve(req.ifname, || req.op())?;
        self.one(|q| q.push(&req))
    }

    /// Make a tbf the root qdisc of `ifname` (replacing whatever was there).
    pub fn set_qdisc_tbf(&mut self, ifname: &str, t: &Tbf) -> Result<(), NetError> {
        self.set_qdisc(SetQdisc {
            ifname,
            index: 0,
            parent: TC_H_ROOT,
            handle: 0,
            options: Options::Tbf(t),
            flags: REPLACE,
        })
    }

    /// Make a netem the root qdisc of `ifname`, with a tbf below it when `rate` is given.
    /// A kernel without netem answers ENOENT (it finds no such qdisc kind, nor a module).
    pub fn set_qdisc_netem(
        &mut self,
        ifname: &str,
        n: &Netem,
        rate: Option<&Tbf>,
    ) -> Result<(), NetError> {
        self.set_qdisc(SetQdisc {
            ifname,
            index: 0,
            parent: TC_H_ROOT,
            handle: if rate.is_some() { NETEM_HANDLE } else { 0 },
            options: Options::Netem(n),
            flags: REPLACE,
        })?;
        if let Some(t) = rate {
            self.set_qdisc(SetQdisc {
                ifname,
                index: 0,
                parent: NETEM_HANDLE | 1,
                handle: TBF_CHILD_HANDLE,
                options: Options::Tbf(t),
                flags: REPLACE,
            })?;
        }
        Ok(())
    }

    /// Remove the root qdisc of `ifname`, back to the device's default. False when there
    /// was none of ours to remove.
    pub fn del_qdisc_root(&mut self, ifname: &str) -> Result<bool, NetError> {
        let mut req = DelRoot { ifname, index: 0 };
        req.index = self.resolve(ifname, || req.op())?;
        match self.one(|q| q.push(&req)) {
            Ok(()) => Ok(true),
            // The default qdisc has handle 0 and cannot be deleted: nothing to do.
            Err(e) if matches!(e.errno(), Some(libc::ENOENT) | Some(libc::EINVAL)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every qdisc of this socket's netns, interfaces named.
    pub(crate) fn qdiscs(&mut self) -> Result<Vec<QdiscInfo>, NetError> {
        let names = self.names()?;
        let mut out = Vec::new();
        self.query(&DumpQdiscs, |ty, p| {
            if ty == RTM_NEWQDISC {
                if let Some(mut q) = parse_qdisc(p) {
                    q.ifname = names.get(&q.ifindex).cloned();
                    out.push(q);
                }
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    /// The impairments of every interface that has a qdisc, by name.
    pub fn impairments(&mut self) -> Result<HashMap<String, Impairment>, NetError> {
        Ok(impairments_of(self.qdiscs()?))
    }
}

#[cfg(test)]
mod tests {
    //! Our requests against bytes captured from iproute2 6.1 in `unshare -n` with
    //! `strace -e trace=sendmsg -e write=3 tc qdisc …` on a veth with ifindex 3 (`vb`: 2),
    //! tc's sequence number 0x6b02dc69. The netem ones the kernel here refused (no netem),
    //! but strace shows what was sent. Values are host (little) endian.
    use super::*;
    use crate::netlink::testing::{hex, single};

    const SEQ: u32 = 0x6b02_dc69;

    /// The flags `tc qdisc add` sends (REQUEST|EXCL|CREATE, and ACK).
    const ADD: u16 = crate::rtnl::CREATE;

    fn set(index: u32, options: Options<'_>) -> Vec<u8> {
        let req = SetQdisc {
            ifname: "va",
            index,
            parent: TC_H_ROOT,
            handle: 0,
            options,
            flags: ADD,
        };
        single(&req, SEQ)
    }

    #[rustfmt::skip]
    const TBF_HEAD: [u8; 100] = [
        0x64, 0x04, 0x00, 0x00,  0x24, 0x00,  0x05, 0x06,  // len 1124, RTM_NEWQDISC, REQUEST|ACK|EXCL|CREATE
        0x69, 0xdc, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  // tcmsg: AF_UNSPEC, ifindex 3
        0x00, 0x00, 0x00, 0x00,  0xff, 0xff, 0xff, 0xff,  //   handle 0, parent TC_H_ROOT
        0x00, 0x00, 0x00, 0x00,                           //   info 0
        0x08, 0x00, 0x01, 0x00,  0x74, 0x62, 0x66, 0x00,  // TCA_KIND "tbf"
        0x38, 0x04, 0x02, 0x00,                           // TCA_OPTIONS (1080)
        0x28, 0x00, 0x01, 0x00,                           //   TCA_TBF_PARMS (36)
        0x03, 0x01, 0x00, 0x00,  0xff, 0xff, 0x00, 0x00,  //     rate: cell_log 3, ethernet, overhead 0, cell_align -1, mpu 0
        0x48, 0xe8, 0x01, 0x00,                           //     rate 125000 bytes/s
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //     peakrate: none
        0x00, 0x00, 0x00, 0x00,
        0x50, 0xd3, 0x00, 0x00,                           //     limit 54096 bytes (400ms at the rate + burst)
        0x00, 0xd0, 0x07, 0x00,                           //     buffer 512000 ticks (4096 bytes at the rate)
        0x00, 0x00, 0x00, 0x00,                           //     mtu 0
        0x08, 0x00, 0x06, 0x00,  0x00, 0x10, 0x00, 0x00,  //   TCA_TBF_BURST 4096
        0x04, 0x04, 0x02, 0x00,                           //   TCA_TBF_RTAB (1024): 256 × u32 ticks
    ];

    /// `tc qdisc add dev va root tbf rate 1mbit burst 32kbit latency 400ms`, whole.
    const TBF_1MBIT: &[&str] = &[
    "640400002400050669dc026b00000000000000000300000000000000ffffffff00000000080001007462660038040200",
    "2800010003010000ffff000048e8010000000000000000000000000050d3000000d00700000000000800060000100000",
    "04040200e8030000d0070000b80b0000a00f00008813000070170000581b0000401f00002823000010270000f82a0000",
    "e02e0000c8320000b0360000983a0000803e00006842000050460000384a0000204e000008520000f0550000d8590000",
    "c05d0000a86100009065000078690000606d0000487100003075000018790000007d0000e8800000d0840000b8880000",
    "a08c0000889000007094000058980000409c000028a0000010a40000f8a70000e0ab0000c8af0000b0b3000098b70000",
    "80bb000068bf000050c3000038c7000020cb000008cf0000f0d20000d8d60000c0da0000a8de000090e2000078e60000",
    "60ea000048ee000030f2000018f6000000fa0000e8fd0000d0010100b8050100a0090100880d01007011010058150100",
    "40190100281d010010210100f8240100e0280100c82c0100b03001009834010080380100683c01005040010038440100",
    "20480100084c0100f04f0100d8530100c0570100a85b0100905f01007863010060670100486b0100306f010018730100",
    "00770100e87a0100d07e0100b8820100a0860100888a0100708e01005892010040960100289a0100109e0100f8a10100",
    "e0a50100c8a90100b0ad010098b1010080b5010068b9010050bd010038c1010020c5010008c90100f0cc0100d8d00100",
    "c0d40100a8d8010090dc010078e0010060e4010048e8010030ec010018f0010000f40100e8f70100d0fb0100b8ff0100",
    "a003020088070200700b0200580f02004013020028170200101b0200f81e0200e0220200c8260200b02a0200982e0200",
    "8032020068360200503a0200383e02002042020008460200f0490200d84d0200c0510200a855020090590200785d0200",
    "606102004865020030690200186d020000710200e8740200d0780200b87c0200a08002008884020070880200588c0200",
    "409002002894020010980200f89b0200e09f0200c8a30200b0a7020098ab020080af020068b3020050b7020038bb0200",
    "20bf020008c30200f0c60200d8ca0200c0ce0200a8d2020090d6020078da020060de020048e2020030e6020018ea0200",
    "00ee0200e8f10200d0f50200b8f90200a0fd0200880103007005030058090300400d03002811030010150300f8180300",
    "e01c0300c8200300b024030098280300802c0300683003005034030038380300203c030008400300f0430300d8470300",
    "c04b0300a84f03009053030078570300605b0300485f03003063030018670300006b0300e86e0300d0720300b8760300",
    "a07a0300887e03007082030058860300408a0300288e030010920300f8950300e0990300c89d0300b0a1030098a50300",
    "80a9030068ad030050b1030038b5030020b9030008bd0300f0c00300d8c40300c0c8030098cc030090d0030068d40300",
    "60d8030048dc030030e0030018e4030000e80300",
    ];

    /// `tc qdisc add dev vb root tbf rate 40gbit burst 100000 latency 50ms`: the rate
    /// does not fit 32 bits, so TCA_TBF_RATE64 follows TCA_TBF_BURST.
    const TBF_40GBIT: &[&str] = &[
    "700400002400050669dc026b00000000000000000200000000000000ffffffff00000000080001007462660044040200",
    "2800010003010000ffff0000ffffffff0000000000000000000000002039e80e670100000000000008000600a0860100",
    "0c00040000f2052a01000000040402000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    ];

    #[rustfmt::skip]
    const NETEM: [u8; 76] = [
        0x4c, 0x00, 0x00, 0x00,  0x24, 0x00,  0x05, 0x06,  // len 76, RTM_NEWQDISC, REQUEST|ACK|EXCL|CREATE
        0x69, 0xdc, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  // tcmsg: AF_UNSPEC, ifindex 3
        0x00, 0x00, 0x00, 0x00,  0xff, 0xff, 0xff, 0xff,  //   handle 0, parent TC_H_ROOT
        0x00, 0x00, 0x00, 0x00,                           //   info 0
        0x0a, 0x00, 0x01, 0x00,  0x6e, 0x65, 0x74, 0x65,  // TCA_KIND "netem"
        0x6d, 0x00, 0x00, 0x00,
        0x1c, 0x00, 0x02, 0x00,                           // TCA_OPTIONS (24): struct tc_netem_qopt, not nested
        0xb4, 0xc4, 0x04, 0x00,                           //   latency 312500 ticks (20ms)
        0xe8, 0x03, 0x00, 0x00,                           //   limit 1000 packets
        0x29, 0x5c, 0x8f, 0x02,                           //   loss 42949673 (1% of 2^32-1)
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //   gap 0, duplicate 0
        0x2d, 0x31, 0x01, 0x00,                           //   jitter 78125 ticks (5ms)
    ];

    /// `tc qdisc add dev va root netem delay 100ms loss 0.5%`.
    const NETEM_2: &[&str] = &["4c0000002400050669dc026b00000000000000000300000000000000ffffffff000000000a0001006e6574656d0000001c00020084d71700e803000014ae4701000000000000000000000000"];

    /// `tc qdisc del dev va root`.
    const DEL_ROOT: &[&str] =
        &["240000002500050069dc026b00000000000000000300000000000000ffffffff00000000"];

    #[test]
    fn tbf_matches_tc() {
        let t = Tbf {
            rate: 1_000_000,
            burst: 4096,
            latency_us: 400_000,
        };
        let ours = set(3, Options::Tbf(&t));
        assert_eq!(ours[..100], TBF_HEAD);
        assert_eq!(ours, hex(TBF_1MBIT));
        let t = Tbf {
            rate: 40_000_000_000,
            burst: 100_000,
            latency_us: 50_000,
        };
        assert_eq!(set(2, Options::Tbf(&t)), hex(TBF_40GBIT));
    }

    #[test]
    fn netem_matches_tc() {
        let n = Netem {
            delay_us: 20_000,
            jitter_us: 5_000,
            loss_ppm: 10_000,
            limit: 1000,
        };
        assert_eq!(set(3, Options::Netem(&n)), NETEM);
        let n = Netem {
            delay_us: 100_000,
            jitter_us: 0,
            loss_ppm: 5_000,
            limit: 1000,
        };
        assert_eq!(set(3, Options::Netem(&n)), hex(NETEM_2));
    }

    #[test]
    fn del_root_matches_tc() {
        let req = DelRoot {
            ifname: "va",
            index: 3,
        };
        assert_eq!(single(&req, SEQ), hex(DEL_ROOT));
    }

    #[test]
    fn parses_what_it_sends() {
        // The kernel's dump has the request's layout (tcmsg, TCA_KIND, TCA_OPTIONS).
        let q = parse_qdisc(&hex(TBF_1MBIT)[16..]).unwrap();
        assert_eq!(
            (q.kind.as_str(), q.ifindex, q.parent),
            ("tbf", 3, TC_H_ROOT)
        );
        assert_eq!(q.rate, Some(1_000_000));
        let q = parse_qdisc(&hex(TBF_40GBIT)[16..]).unwrap();
        assert_eq!(q.rate, Some(40_000_000_000));
        let q = parse_qdisc(&NETEM[16..]).unwrap();
        assert_eq!(q.kind, "netem");
        let n = q.netem.unwrap();
        assert_eq!(
            (n.delay_us, n.jitter_us, n.loss_ppm, n.limit),
            (20_000, 5_000, 10_000, 1000)
        );
        // Long delays also travel as 64-bit nanoseconds, and are read back from there.
        let n = Netem {
            delay_us: 30_000_000,
            jitter_us: 10,
            loss_ppm: 0,
            limit: 1000,
        };
        let b = set(3, Options::Netem(&n));
        assert_eq!(b.len(), 76 + 12);
        assert_eq!(parse_qdisc(&b[16..]).unwrap().netem, Some(n));
    }

    #[test]
    fn impairments_come_from_root_qdiscs_and_a_tbf_below_netem() {
        let q = |ifname: &str, parent: u32, kind: &str, rate, netem| QdiscInfo {
            ifindex: 3,
            ifname: Some(ifname.into()),
            parent,
            kind: kind.into(),
            rate,
            netem,
        };
        let netem = Netem {
            delay_us: 20_000,
            jitter_us: 0,
            loss_ppm: 10_000,
            limit: 1000,
        };
        let imps = impairments_of(vec![
            q("eth0", TC_H_ROOT, "netem", None, Some(netem)),
            q("eth0", NETEM_HANDLE | 1, "tbf", Some(1_000_000), None),
            q("eth1", TC_H_ROOT, "tbf", Some(8_000), None),
            q("eth2", TC_H_ROOT, "noqueue", None, None),
            q("eth3", 0x0002_0001, "tbf", Some(5), None),
        ]);
        let eth0 = Impairment {
            rate: Some(1_000_000),
            delay_us: Some(20_000),
            jitter_us: None,
            loss_ppm: Some(10_000),
        };
        assert_eq!(imps["eth0"], eth0);
        assert_eq!(imps["eth1"].rate, Some(8_000));
        assert_eq!(imps["eth2"], Impairment::default());
        assert_eq!(imps["eth3"], Impairment::default());
    }
}
