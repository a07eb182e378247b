//! Links over rtnetlink: veth pairs, bridges, macvlans, VXLANs, state, master, MTU, deletion, lookups by name
//! and dumps. Every request is a netlink-packet-route `LinkMessage`, laid out as `ip` sends
//! it (the golden tests compare with its bytes).

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, RawFd};

use netlink_packet_core::{DefaultNla, Parseable, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::link::{
    self, BridgeStpState, InfoBridge, InfoData, InfoMacVlan, InfoVeth, InfoVxlan, LinkAttribute,
    LinkExtentMask, LinkFlags, LinkHeader, LinkMessage, MacVlanMode, State,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::netlink::{Batch, Request, Rtnetlink, Socket};
use crate::rtnl::{emit_rtnl, CREATE, RTM_NEWLINK};
use crate::{LinkInfo, LinkStats, NetError, Op, VethEnd, Vxlan};

/// The forward delay asked for with STP on (hundredths of a second): the shortest the
/// kernel takes (BR_MIN_FORWARD_DELAY, 2 s). A port of a spanning-tree bridge forwards twice
/// this long after it comes up.
const BR_FORWARD_DELAY_MIN: u32 = 200;

fn link_message(index: u32, attributes: Vec<LinkAttribute>) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header = LinkHeader {
        interface_family: AddressFamily::Unspec,
        index,
        ..LinkHeader::default()
    };
    m.attributes = attributes;
    m
}

/// IFLA_INFO_KIND as ip sends it: without the NUL that netlink-packet-route's `InfoKind`
/// adds (the kernel takes both).
fn kind(name: &str) -> link::LinkInfo {
    link::LinkInfo::Other(DefaultNla::new(1, name.as_bytes().to_vec()))
}

/// A veth end as the request carries it: the netns as the fd number the kernel reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VethWire<'a> {
    name: &'a str,
    index: u32,
    mac: Option<[u8; 6]>,
    mtu: Option<u32>,
    netns_fd: RawFd,
}

impl<'a> From<&VethEnd<'a>> for VethWire<'a> {
    fn from(end: &VethEnd<'a>) -> VethWire<'a> {
        VethWire {
            name: end.name,
            index: end.index.unwrap_or(0),
            mac: end.mac,
            mtu: end.mtu,
            netns_fd: end.netns.as_raw_fd(),
        }
    }
}

/// A veth end's own attributes, in ip's order.
fn end_attrs(end: &VethWire<'_>) -> Vec<LinkAttribute> {
    let mut attrs = Vec::with_capacity(6);
    if let Some(mac) = end.mac {
        attrs.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(mtu) = end.mtu {
        attrs.push(LinkAttribute::Mtu(mtu));
    }
    attrs.push(LinkAttribute::NetNsFd(end.netns_fd));
    attrs.push(LinkAttribute::IfName(end.name.to_owned()));
    // One queue each way, said at creation (`ip link add … numtxqueues 1 numrxqueues 1`): a
    // veth gets a queue per CPU, and the kernel then cuts the used ones down to one
    // (`veth_init_queues`), waiting for an expedited RCU grace period for each end — most of
    // a veth's creation time once there are thousands (10,000 links: 14 s of 15). Made with
    // one queue, it ends the same without the waits.
    attrs.push(LinkAttribute::NumTxQueues(1));
    attrs.push(LinkAttribute::NumRxQueues(1));
    attrs
}

/// A VXLAN device as the request carries it: the netns as the fd number the kernel reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VxlanWire<'a> {
    name: &'a str,
    vni: u32,
    local: Option<IpAddr>,
    remote: IpAddr,
    port: u16,
    mtu: Option<u32>,
    mac: Option<[u8; 6]>,
    netns_fd: Option<RawFd>,
    index: u32,
}

impl<'a> From<&Vxlan<'a>> for VxlanWire<'a> {
    fn from(v: &Vxlan<'a>) -> VxlanWire<'a> {
        VxlanWire {
            name: v.name,
            vni: v.vni,
            local: v.local,
            remote: v.remote,
            port: v.port,
            mtu: v.mtu,
            mac: v.mac,
            netns_fd: v.netns.map(|fd| fd.as_raw_fd()),
            index: v.index.unwrap_or(0),
        }
    }
}

/// A VXLAN's IFLA_INFO_DATA in ip's order: id, local, remote, learning off, port. ip sends
/// neither checksum nor TTL attributes, so the kernel's defaults hold (outer UDP checksums
/// computed, over IPv6 too: no zero checksums sent or taken; TTL from the route, `ttl auto`).
fn vxlan_data(v: &VxlanWire<'_>) -> Vec<InfoVxlan> {
    let mut data = Vec::with_capacity(5);
    data.push(InfoVxlan::Id(v.vni));
    match v.local {
        Some(IpAddr::V4(a)) => data.push(InfoVxlan::Local(a)),
        Some(IpAddr::V6(a)) => data.push(InfoVxlan::Local6(a)),
        None => {}
    }
    data.push(match v.remote {
        IpAddr::V4(a) => InfoVxlan::Group(a),
        IpAddr::V6(a) => InfoVxlan::Group6(a),
    });
    data.push(InfoVxlan::Learning(false));
    data.push(InfoVxlan::Port(v.port));
    data
}

/// A request about links.
pub(crate) enum LinkRequest<'a> {
    /// RTM_NEWLINK of a veth pair: end `a` in the outer message, `b` as a full ifinfomsg
    /// with its own attributes inside IFLA_LINKINFO/IFLA_INFO_DATA/VETH_INFO_PEER.
    Veth(VethWire<'a>, VethWire<'a>),
    /// RTM_NEWLINK of a bridge. With `stp`, the kernel's spanning tree is on with the
    /// shortest forward delay it allows (as `ip link add NAME type bridge forward_delay 200
    /// stp_state 1`); without, STP stays off (the kernel's default).
    Bridge {
        name: &'a str,
        mac: Option<[u8; 6]>,
        mtu: Option<u32>,
        stp: bool,
    },
    /// RTM_NEWLINK changing IFF_UP.
    State {
        ifname: &'a str,
        index: u32,
        up: bool,
    },
    /// RTM_NEWLINK with IFLA_MASTER.
    Master {
        ifname: &'a str,
        master: &'a str,
        index: u32,
        master_index: u32,
    },
    /// RTM_NEWLINK with IFLA_MTU.
    Mtu {
        ifname: &'a str,
        index: u32,
        mtu: u32,
    },
    /// RTM_DELLINK by index.
    Del { ifname: &'a str, index: u32 },
    /// RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_IFNAME: moved and named `to` there.
    Move {
        ifname: &'a str,
        index: u32,
        netns_fd: RawFd,
        to: &'a str,
    },
    /// RTM_NEWLINK of a macvlan (bridge mode) on link `parent` of the socket's netns, made
    /// straight in the netns `netns_fd`.
    Macvlan {
        name: &'a str,
        parent: &'a str,
        parent_index: u32,
        netns_fd: RawFd,
    },
    /// RTM_NEWLINK of a VXLAN device, optionally straight in another netns; its UDP
    /// socket stays in the socket's netns.
    Vxlan(VxlanWire<'a>),
    /// RTM_NEWLINK with IFLA_IFNAME.
    Rename {
        ifname: &'a str,
        index: u32,
        to: &'a str,
    },
}

impl Request for LinkRequest<'_> {
    fn op(&self) -> Op {
        match *self {
            LinkRequest::Veth(a, b) => Op::CreateVeth {
                a: a.name.into(),
                b: b.name.into(),
                mtu: a.mtu.or(b.mtu),
            },
            LinkRequest::Bridge { name, mtu, stp, .. } => Op::CreateBridge {
                name: name.into(),
                mtu,
                stp,
            },
            LinkRequest::State {
                ifname, up: true, ..
            } => Op::SetLinkUp {
                ifname: ifname.into(),
            },
            LinkRequest::State { ifname, .. } => Op::SetLinkDown {
                ifname: ifname.into(),
            },
            LinkRequest::Master { ifname, master, .. } => Op::SetMaster {
                ifname: ifname.into(),
                master: master.into(),
            },
            LinkRequest::Mtu { ifname, mtu, .. } => Op::SetMtu {
                ifname: ifname.into(),
                mtu,
            },
            LinkRequest::Del { ifname, .. } => Op::DelLink {
                ifname: ifname.into(),
            },
            LinkRequest::Move { ifname, to, .. } => Op::MoveLink {
                ifname: ifname.into(),
                to: to.into(),
            },
            LinkRequest::Macvlan { name, parent, .. } => Op::CreateMacvlan {
                name: name.into(),
                parent: parent.into(),
            },
            LinkRequest::Vxlan(v) => Op::CreateVxlan {
                name: v.name.into(),
                vni: v.vni,
                remote: v.remote,
                mtu: v.mtu,
            },
            LinkRequest::Rename { ifname, to, .. } => Op::RenameLink {
                ifname: ifname.into(),
                to: to.into(),
            },
        }
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let (flags, msg) = match *self {
            LinkRequest::Veth(a, b) => {
                let mut attrs = end_attrs(&a);
                // The kernel honours the peer's index only when the outer one is set too.
                let peer = link_message(b.index, end_attrs(&b));
                attrs.push(LinkAttribute::LinkInfo(vec![
                    kind("veth"),
                    link::LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
                ]));
                let m = link_message(a.index, attrs);
                (CREATE, RouteNetlinkMessage::NewLink(m))
            }
            LinkRequest::Bridge {
                name,
                mac,
                mtu,
                stp,
            } => {
                let mut attrs = Vec::with_capacity(4);
                if let Some(mac) = mac {
                    attrs.push(LinkAttribute::Address(mac.to_vec()));
                }
                if let Some(mtu) = mtu {
                    attrs.push(LinkAttribute::Mtu(mtu));
                }
                attrs.push(LinkAttribute::IfName(name.to_owned()));
                let mut info = vec![kind("bridge")];
                if stp {
                    info.push(link::LinkInfo::Data(InfoData::Bridge(vec![
                        InfoBridge::ForwardDelay(BR_FORWARD_DELAY_MIN),
                        InfoBridge::StpState(BridgeStpState::KernelStp),
                    ])));
                }
                attrs.push(LinkAttribute::LinkInfo(info));
                (CREATE, RouteNetlinkMessage::NewLink(link_message(0, attrs)))
            }
            LinkRequest::State { index, up, .. } => {
                let mut m = link_message(index, Vec::new());
                if up {
                    m.header.flags = LinkFlags::Up;
                }
                m.header.change_mask = LinkFlags::Up;
                (NLM_F_REQUEST, RouteNetlinkMessage::NewLink(m))
            }
            LinkRequest::Master {
                index,
                master_index,
                ..
            } => {
                let m = link_message(index, vec![LinkAttribute::Controller(master_index)]);
                (NLM_F_REQUEST, RouteNetlinkMessage::NewLink(m))
            }
            LinkRequest::Mtu { index, mtu, .. } => {
                let m = link_message(index, vec![LinkAttribute::Mtu(mtu)]);
                (NLM_F_REQUEST, RouteNetlinkMessage::NewLink(m))
            }
            LinkRequest::Del { index, .. } => {
                let m = link_message(index, Vec::new());
                (NLM_F_REQUEST, RouteNetlinkMessage::DelLink(m))
            }
            LinkRequest::Move {
                index,
                netns_fd,
                to,
                ..
            } => {
                let attrs = vec![
                    LinkAttribute::NetNsFd(netns_fd),
                    LinkAttribute::IfName(to.to_owned()),
                ];
                let m = link_message(index, attrs);
                (NLM_F_REQUEST, RouteNetlinkMessage::NewLink(m))
            }
            LinkRequest::Macvlan {
                name,
                parent_index,
                netns_fd,
                ..
            } => {
                let attrs = vec![
                    LinkAttribute::Link(parent_index),
                    LinkAttribute::IfName(name.to_owned()),
                    LinkAttribute::NetNsFd(netns_fd),
                    LinkAttribute::LinkInfo(vec![
                        kind("macvlan"),
                        link::LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                            MacVlanMode::Bridge,
                        )])),
                    ]),
                ];
                (CREATE, RouteNetlinkMessage::NewLink(link_message(0, attrs)))
            }
            LinkRequest::Vxlan(v) => {
                // ip's order: address, mtu, netns, name, then the link info.
                let mut attrs = Vec::with_capacity(5);
                if let Some(mac) = v.mac {
                    attrs.push(LinkAttribute::Address(mac.to_vec()));
                }
                if let Some(mtu) = v.mtu {
                    attrs.push(LinkAttribute::Mtu(mtu));
                }
                if let Some(fd) = v.netns_fd {
                    attrs.push(LinkAttribute::NetNsFd(fd));
                }
                attrs.push(LinkAttribute::IfName(v.name.to_owned()));
                attrs.push(LinkAttribute::LinkInfo(vec![
                    kind("vxlan"),
                    link::LinkInfo::Data(InfoData::Vxlan(vxlan_data(&v))),
                ]));
                let m = link_message(v.index, attrs);
                (CREATE, RouteNetlinkMessage::NewLink(m))
            }
            LinkRequest::Rename { index, to, .. } => {
                let m = link_message(index, vec![LinkAttribute::IfName(to.to_owned())]);
                (NLM_F_REQUEST, RouteNetlinkMessage::NewLink(m))
            }
        };
        emit_rtnl(buf, seq, flags, msg);
    }
}

/// RTM_GETLINK of one name (answered by one RTM_NEWLINK or an error), or a dump of all.
/// RTEXT_FILTER_SKIP_STATS skips the per-VF counters only: IFLA_STATS64 always comes.
struct GetLinks<'a> {
    name: Option<&'a str>,
}

impl Request for GetLinks<'_> {
    fn op(&self) -> Op {
        match self.name {
            Some(name) => Op::LookupInterface {
                ifname: name.into(),
            },
            None => Op::ListLinks,
        }
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let mut attrs = vec![LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats])];
        let mut flags = NLM_F_REQUEST;
        match self.name {
            Some(name) => attrs.push(LinkAttribute::IfName(name.to_owned())),
            None => flags |= NLM_F_DUMP,
        }
        let m = link_message(0, attrs);
        emit_rtnl(buf, seq, flags, RouteNetlinkMessage::GetLink(m));
    }
}

/// One RTM_NEWLINK (or RTM_DELLINK) payload.
pub(crate) fn parse_link(payload: &[u8]) -> Result<LinkInfo, netlink_packet_core::DecodeError> {
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
        stats: None,
    };
    let mut state = State::Unknown;
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => info.name = name,
            LinkAttribute::Address(mac) => info.mac = mac.as_slice().try_into().ok(),
            LinkAttribute::Mtu(mtu) => info.mtu = mtu,
            LinkAttribute::Controller(m) => info.master = Some(m),
            LinkAttribute::OperState(s) => state = s,
            LinkAttribute::Stats64(s) => {
                info.stats = Some(LinkStats {
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_dropped: s.rx_dropped,
                    tx_dropped: s.tx_dropped,
                    rx_errors: s.rx_errors,
                    tx_errors: s.tx_errors,
                })
            }
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

impl Socket<Rtnetlink> {
    /// The ifindex of `ifname` in this socket's netns, cached; a failure is reported as
    /// part of `op`.
    pub(crate) fn resolve(
        &mut self,
        ifname: &str,
        op: impl FnOnce() -> Op,
    ) -> Result<u32, NetError> {
        if let Some(&i) = self.cache.0.get(ifname) {
            return Ok(i);
        }
        let req = GetLinks { name: Some(ifname) };
        let mut index = None;
        let found = self.query(&req, |ty, payload| {
            if ty == RTM_NEWLINK && payload.len() >= 8 {
                index = Some(u32::from_ne_bytes(
                    payload[4..8].try_into().unwrap_or_default(),
                ));
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        });
        let missing = |e: NetError| {
            let errno = e.errno().unwrap_or(libc::ENODEV);
            let op = Op::FindInterface {
                ifname: ifname.into(),
                during: Box::new(op()),
            };
            match e {
                NetError::Io { source, .. } => NetError::Io { op, source },
                NetError::Kernel { .. } => NetError::Kernel { op, errno },
            }
        };
        match (found, index) {
            (Ok(_), Some(i)) => {
                self.cache.0.insert(ifname.to_owned(), i);
                Ok(i)
            }
            (Ok(_), None) => Err(missing(NetError::Kernel {
                op: Op::ListLinks,
                errno: libc::ENODEV,
            })),
            (Err(e), _) => Err(missing(e)),
        }
    }

    /// The ifindex of `ifname` in this socket's netns, cached.
    pub fn link_index(&mut self, ifname: &str) -> Result<u32, NetError> {
        self.resolve(ifname, || Op::LookupInterface {
            ifname: ifname.into(),
        })
    }

    /// Every link of this socket's netns, with its counters; also refreshes the name →
    /// index cache.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, NetError> {
        let mut links = Vec::new();
        self.query(&GetLinks { name: None }, |_, p| {
            links.push(parse_link(p).map_err(|e| NetError::decode(Op::ListLinks, e))?);
            Ok(ControlFlow::Continue(()))
        })?;
        self.cache.0.clear();
        for l in &links {
            self.cache.0.insert(l.name.clone(), l.index);
        }
        Ok(links)
    }

    /// ifindex → name of every link.
    pub(crate) fn names(&mut self) -> Result<HashMap<u32, String>, NetError> {
        Ok(self
            .links()?
            .into_iter()
            .map(|l| (l.index, l.name))
            .collect())
    }

    /// Create a veth pair with one RTM_NEWLINK: each end lands directly in its own
    /// netns (whatever this socket's netns is), both DOWN.
    pub fn create_veth(&mut self, a: &VethEnd<'_>, b: &VethEnd<'_>) -> Result<(), NetError> {
        self.one(|q| {
            q.create_veth(a, b);
        })
    }

    /// Create a bridge in this socket's netns, DOWN; STP on when `stp` (else off, the
    /// kernel's default).
    pub fn create_bridge(
        &mut self,
        name: &str,
        mac: Option<[u8; 6]>,
        mtu: Option<u32>,
        stp: bool,
    ) -> Result<(), NetError> {
        self.one(|q| {
            q.create_bridge(name, mac, mtu, stp);
        })
    }

    /// Enslave `ifname` to `master` (a bridge port).
    pub fn set_master(&mut self, ifname: &str, master: &str) -> Result<(), NetError> {
        self.one(|q| {
            q.set_master(ifname, master);
        })
    }

    /// Bring `ifname` administratively up.
    pub fn set_link_up(&mut self, ifname: &str) -> Result<(), NetError> {
        self.one(|q| {
            q.set_link_up(ifname);
        })
    }

    /// Bring `ifname` administratively down.
    pub fn set_link_down(&mut self, ifname: &str) -> Result<(), NetError> {
        self.one(|q| {
            q.set_link_down(ifname);
        })
    }

    /// Set the MTU of `ifname`.
    pub fn set_mtu(&mut self, ifname: &str, mtu: u32) -> Result<(), NetError> {
        self.one(|q| {
            q.set_mtu(ifname, mtu);
        })
    }

    /// Delete `ifname` (a veth's peer goes with it); clears the index cache.
    pub fn del_link(&mut self, ifname: &str) -> Result<(), NetError> {
        self.one(|q| {
            q.del_link(ifname);
        })
    }

    /// Move the link with index `index` (named `ifname`, for errors) into the network
    /// namespace `netns`, named `to` there (as `ip link set IFNAME netns NS name TO`).
    pub fn move_link(
        &mut self,
        ifname: &str,
        index: u32,
        netns: std::os::fd::BorrowedFd<'_>,
        to: &str,
    ) -> Result<(), NetError> {
        self.cache.0.clear();
        let req = LinkRequest::Move {
            ifname,
            index,
            netns_fd: netns.as_raw_fd(),
            to,
        };
        self.one(|q| q.push(&req))
    }

    /// Create macvlan `name` (bridge mode) on this netns's link `parent` (index
    /// `parent_index`), straight in the netns `netns` (as `ip link add link PARENT name NAME
    /// netns NS type macvlan mode bridge`).
    pub fn create_macvlan(
        &mut self,
        name: &str,
        parent: &str,
        parent_index: u32,
        netns: std::os::fd::BorrowedFd<'_>,
    ) -> Result<(), NetError> {
        let req = LinkRequest::Macvlan {
            name,
            parent,
            parent_index,
            netns_fd: netns.as_raw_fd(),
        };
        self.one(|q| q.push(&req))
    }

    /// Create a VXLAN device, DOWN: a point-to-point tunnel to `v.remote` with learning off
    /// (as `ip link add NAME [netns NS] type vxlan id VNI local L remote R dstport PORT
    /// nolearning`). With `v.netns` it lands in that netns, while its UDP socket, source
    /// address and route to the remote stay in this socket's netns (the underlay).
    pub fn create_vxlan(&mut self, v: &Vxlan<'_>) -> Result<(), NetError> {
        self.one(|q| {
            q.create_vxlan(v);
        })
    }

    /// Rename the link with index `index` (named `ifname`) to `to`; it must be down.
    pub fn rename_link(&mut self, ifname: &str, index: u32, to: &str) -> Result<(), NetError> {
        self.cache.0.clear();
        let req = LinkRequest::Rename { ifname, index, to };
        self.one(|q| q.push(&req))
    }
}

impl Batch<'_, Rtnetlink> {
    /// The ifindex of `ifname`, or None with the failure recorded against `op`.
    pub(crate) fn index(&mut self, ifname: &str, op: impl FnOnce() -> Op) -> Option<u32> {
        match self.sock.resolve(ifname, op) {
            Ok(i) => Some(i),
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// Queue [`Socket::create_veth`].
    pub fn create_veth(&mut self, a: &VethEnd<'_>, b: &VethEnd<'_>) -> &mut Self {
        self.push(&LinkRequest::Veth(a.into(), b.into()));
        self
    }

    /// Queue [`Socket::create_bridge`].
    pub fn create_bridge(
        &mut self,
        name: &str,
        mac: Option<[u8; 6]>,
        mtu: Option<u32>,
        stp: bool,
    ) -> &mut Self {
        self.push(&LinkRequest::Bridge {
            name,
            mac,
            mtu,
            stp,
        });
        self
    }

    /// Queue [`Socket::create_vxlan`].
    pub fn create_vxlan(&mut self, v: &Vxlan<'_>) -> &mut Self {
        self.push(&LinkRequest::Vxlan(v.into()));
        self
    }

    /// Queue [`Socket::set_link_up`].
    pub fn set_link_up(&mut self, ifname: &str) -> &mut Self {
        self.link_state(ifname, true)
    }

    /// Queue [`Socket::set_link_down`].
    pub fn set_link_down(&mut self, ifname: &str) -> &mut Self {
        self.link_state(ifname, false)
    }

    fn link_state(&mut self, ifname: &str, up: bool) -> &mut Self {
        let req = |index| LinkRequest::State { ifname, index, up };
        if let Some(index) = self.index(ifname, || req(0).op()) {
            self.push(&req(index));
        }
        self
    }

    /// Queue [`Socket::set_master`].
    pub fn set_master(&mut self, ifname: &str, master: &str) -> &mut Self {
        let req = |index, master_index| LinkRequest::Master {
            ifname,
            master,
            index,
            master_index,
        };
        // Both names are looked up, so both can be reported missing.
        let index = self.index(ifname, || req(0, 0).op());
        let master_index = self.index(master, || req(0, 0).op());
        if let (Some(index), Some(m)) = (index, master_index) {
            self.push(&req(index, m));
        }
        self
    }

    /// Queue [`Socket::set_mtu`].
    pub fn set_mtu(&mut self, ifname: &str, mtu: u32) -> &mut Self {
        let req = |index| LinkRequest::Mtu { ifname, index, mtu };
        if let Some(index) = self.index(ifname, || req(0).op()) {
            self.push(&req(index));
        }
        self
    }

    /// Queue [`Socket::del_link`].
    pub fn del_link(&mut self, ifname: &str) -> &mut Self {
        let req = |index| LinkRequest::Del { ifname, index };
        if let Some(index) = self.index(ifname, || req(0).op()) {
            // A veth's peer goes too, and names may be reused: forget every cached index.
            self.sock.cache.0.clear();
            self.push(&req(index));
        }
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Our request bytes against bytes captured from iproute2 6.1 with
    //! `unshare -n strace -e trace=sendmsg -e write=3 ip …`. Every request is built with
    //! ip's sequence number (0x6b02d89b) so the comparison is exact; the netns fds are the
    //! numbers ip happened to use (4 and 5) and the ifindexes those of the capture (va = 3,
    //! vb = 2, br0 = 4). Values are host (little) endian.

    use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
    use netlink_packet_route::link::{InfoData, InfoVeth, LinkAttribute, LinkInfo};
    use netlink_packet_route::RouteNetlinkMessage;

    use super::{LinkRequest, VethWire, VxlanWire};
    use crate::netlink::testing::single;

    pub(crate) const SEQ: u32 = 0x6b02_d89b;

    pub(crate) fn parse(bytes: &[u8]) -> RouteNetlinkMessage {
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
            .unwrap()
            .payload
        {
            NetlinkPayload::InnerMessage(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[rustfmt::skip]
    const VETH: [u8; 172] = [
        0xac, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x06,  // len 172, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  // ifinfomsg: AF_UNSPEC, type 0, index 0
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //   flags 0, change 0
        0x0a, 0x00, 0x01, 0x00,  0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // IFLA_ADDRESS 02:00:00:00:00:01
        0x08, 0x00, 0x04, 0x00,  0x78, 0x05, 0x00, 0x00,  // IFLA_MTU 1400
        0x08, 0x00, 0x1c, 0x00,  0x04, 0x00, 0x00, 0x00,  // IFLA_NET_NS_FD 4
        0x07, 0x00, 0x03, 0x00,  0x76, 0x61, 0x00, 0x00,  // IFLA_IFNAME "va"
        0x08, 0x00, 0x1f, 0x00,  0x01, 0x00, 0x00, 0x00,  // IFLA_NUM_TX_QUEUES 1
        0x08, 0x00, 0x20, 0x00,  0x01, 0x00, 0x00, 0x00,  // IFLA_NUM_RX_QUEUES 1
        0x58, 0x00, 0x12, 0x00,                           // IFLA_LINKINFO (88)
        0x08, 0x00, 0x01, 0x00,  0x76, 0x65, 0x74, 0x68,  //   IFLA_INFO_KIND "veth" (ip sends kinds without NUL)
        0x4c, 0x00, 0x02, 0x00,                           //   IFLA_INFO_DATA (76)
        0x48, 0x00, 0x01, 0x00,                           //     VETH_INFO_PEER (72)
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //       peer ifinfomsg
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
        0x0a, 0x00, 0x01, 0x00,  0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, // IFLA_ADDRESS 02:00:00:00:00:02
        0x08, 0x00, 0x04, 0x00,  0x78, 0x05, 0x00, 0x00,  //       IFLA_MTU 1400
        0x08, 0x00, 0x1c, 0x00,  0x05, 0x00, 0x00, 0x00,  //       IFLA_NET_NS_FD 5
        0x07, 0x00, 0x03, 0x00,  0x76, 0x62, 0x00, 0x00,  //       IFLA_IFNAME "vb"
        0x08, 0x00, 0x1f, 0x00,  0x01, 0x00, 0x00, 0x00,  //       IFLA_NUM_TX_QUEUES 1
        0x08, 0x00, 0x20, 0x00,  0x01, 0x00, 0x00, 0x00,  //       IFLA_NUM_RX_QUEUES 1
    ];

    #[test]
    fn veth_pair_matches_ip() {
        let a = VethWire {
            index: 0,
            name: "va",
            mac: Some([2, 0, 0, 0, 0, 1]),
            mtu: Some(1400),
            netns_fd: 4,
        };
        let p = VethWire {
            index: 0,
            name: "vb",
            mac: Some([2, 0, 0, 0, 0, 2]),
            mtu: Some(1400),
            netns_fd: 5,
        };
        let ours = single(&LinkRequest::Veth(a, p), SEQ);
        assert_eq!(ours, VETH);

        let RouteNetlinkMessage::NewLink(link) = parse(&ours) else {
            panic!()
        };
        assert!(link
            .attributes
            .contains(&LinkAttribute::IfName("va".into())));
        assert!(link.attributes.contains(&LinkAttribute::NetNsFd(4)));
        let peer = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))) => Some(p.clone()),
                _ => None,
            }),
            _ => None,
        });
        let peer = peer.expect("VETH_INFO_PEER");
        assert!(peer
            .attributes
            .contains(&LinkAttribute::IfName("vb".into())));
        assert!(peer.attributes.contains(&LinkAttribute::NetNsFd(5)));
        assert!(peer.attributes.contains(&LinkAttribute::Mtu(1400)));
        assert!(peer
            .attributes
            .contains(&LinkAttribute::Address(vec![2, 0, 0, 0, 0, 2])));
    }

    #[rustfmt::skip]
    pub(crate) const BRIDGE: [u8; 56] = [
        0x38, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x06,  // len 56, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  // ifinfomsg
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x03, 0x00,  0x62, 0x72, 0x30, 0x00,  // IFLA_IFNAME "br0"
        0x10, 0x00, 0x12, 0x00,                           // IFLA_LINKINFO (16)
        0x0a, 0x00, 0x01, 0x00,  0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0x00, 0x00, // IFLA_INFO_KIND "bridge"
    ];

    pub(crate) fn bridge(stp: bool) -> LinkRequest<'static> {
        LinkRequest::Bridge {
            name: "br0",
            mac: None,
            mtu: None,
            stp,
        }
    }

    #[test]
    fn bridge_matches_ip() {
        assert_eq!(single(&bridge(false), SEQ), BRIDGE);
    }

    #[rustfmt::skip]
    const BRIDGE_STP: [u8; 76] = [
        0x4c, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x06,  // len 76, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  // ifinfomsg
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x03, 0x00,  0x62, 0x72, 0x30, 0x00,  // IFLA_IFNAME "br0"
        0x24, 0x00, 0x12, 0x00,                           // IFLA_LINKINFO (36)
        0x0a, 0x00, 0x01, 0x00,  0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0x00, 0x00, // IFLA_INFO_KIND "bridge"
        0x14, 0x00, 0x02, 0x00,                           // IFLA_INFO_DATA (20)
        0x08, 0x00, 0x01, 0x00,  0xc8, 0x00, 0x00, 0x00,  // IFLA_BR_FORWARD_DELAY 200 (2 s)
        0x08, 0x00, 0x05, 0x00,  0x01, 0x00, 0x00, 0x00,  // IFLA_BR_STP_STATE 1
    ];

    #[test]
    fn bridge_with_stp_matches_ip() {
        assert_eq!(single(&bridge(true), SEQ), BRIDGE_STP);
    }

    #[rustfmt::skip]
    const SET_MASTER: [u8; 40] = [
        0x28, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x00,  // len 40, RTM_NEWLINK, REQUEST|ACK
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  // ifinfomsg: index 3 (va)
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //   flags 0, change 0
        0x08, 0x00, 0x0a, 0x00,  0x04, 0x00, 0x00, 0x00,  // IFLA_MASTER 4 (br0)
    ];

    #[test]
    fn set_master_matches_ip() {
        let req = LinkRequest::Master {
            ifname: "va",
            master: "br0",
            index: 3,
            master_index: 4,
        };
        assert_eq!(single(&req, SEQ), SET_MASTER);
    }

    #[test]
    fn set_mtu_matches_ip() {
        // Decoded by strace from `ip link set va mtu 1300`: same shape as IFLA_MASTER.
        let mut expect = SET_MASTER;
        expect[34] = 0x04; // IFLA_MTU
        expect[36..40].copy_from_slice(&1300u32.to_ne_bytes());
        let req = LinkRequest::Mtu {
            ifname: "va",
            index: 3,
            mtu: 1300,
        };
        assert_eq!(single(&req, SEQ), expect);
    }

    #[rustfmt::skip]
    pub(crate) const LINK_UP: [u8; 32] = [
        0x20, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x00,  // len 32, RTM_NEWLINK, REQUEST|ACK
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  // ifinfomsg: index 3
        0x01, 0x00, 0x00, 0x00,  0x01, 0x00, 0x00, 0x00,  //   flags IFF_UP, change IFF_UP
    ];

    #[test]
    fn set_link_up_and_down_match_ip() {
        let state = |up| LinkRequest::State {
            ifname: "va",
            index: 3,
            up,
        };
        assert_eq!(single(&state(true), SEQ), LINK_UP);
        let mut down = LINK_UP;
        down[24] = 0; // flags 0, change still IFF_UP
        assert_eq!(single(&state(false), SEQ), down);
    }

    #[test]
    fn del_link_matches_ip() {
        // Decoded by strace from `ip link del va`: RTM_DELLINK, REQUEST|ACK, index 3.
        let mut expect = LINK_UP;
        expect[4] = 0x11;
        expect[24] = 0;
        expect[28] = 0;
        let req = LinkRequest::Del {
            ifname: "va",
            index: 3,
        };
        assert_eq!(single(&req, SEQ), expect);
    }

    #[rustfmt::skip]
    const RENAME: [u8; 40] = [
        0x28, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x00,  // len 40, RTM_NEWLINK, REQUEST|ACK
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  // ifinfomsg: index 3
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //   flags 0, change 0
        0x07, 0x00, 0x03, 0x00,  0x76, 0x62, 0x00, 0x00,  // IFLA_IFNAME "vb"
    ];

    #[test]
    fn rename_and_move_match_ip() {
        // `ip link set va name vb`, captured as above.
        let req = LinkRequest::Rename {
            ifname: "va",
            index: 3,
            to: "vb",
        };
        assert_eq!(single(&req, SEQ), RENAME);
        // Moved into a netns by fd and named there: IFLA_NET_NS_FD, then the name (the
        // order of ip's `ip link set va netns NAME name vb`).
        let req = LinkRequest::Move {
            ifname: "va",
            index: 3,
            netns_fd: 4,
            to: "vb",
        };
        let mut expect = RENAME[..32].to_vec();
        expect[0] = 48;
        expect.extend_from_slice(&[0x08, 0x00, 0x1c, 0x00, 0x04, 0x00, 0x00, 0x00]);
        expect.extend_from_slice(&RENAME[32..]);
        assert_eq!(single(&req, SEQ), expect);
    }

    #[test]
    fn macvlan_matches_ip() {
        // `ip link add link va name mv0 type macvlan mode bridge` (va: index 3), then the
        // netns fd (4) after the name, as ip puts `netns NS`.
        #[rustfmt::skip]
        let ip: [u8; 76] = [
            0x4c, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x06,  // len 76, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
            0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
            0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  // ifinfomsg
            0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
            0x08, 0x00, 0x05, 0x00,  0x03, 0x00, 0x00, 0x00,  // IFLA_LINK 3
            0x08, 0x00, 0x03, 0x00,  0x6d, 0x76, 0x30, 0x00,  // IFLA_IFNAME "mv0"
            0x1c, 0x00, 0x12, 0x00,                           // IFLA_LINKINFO (28)
            0x0b, 0x00, 0x01, 0x00,  0x6d, 0x61, 0x63, 0x76, 0x6c, 0x61, 0x6e, 0x00, // KIND "macvlan" (no NUL), padded
            0x0c, 0x00, 0x02, 0x00,                           //   IFLA_INFO_DATA (12)
            0x08, 0x00, 0x01, 0x00,  0x04, 0x00, 0x00, 0x00,  //     IFLA_MACVLAN_MODE bridge
        ];
        let mut expect = ip[..48].to_vec();
        expect.extend_from_slice(&[0x08, 0x00, 0x1c, 0x00, 0x04, 0x00, 0x00, 0x00]);
        expect.extend_from_slice(&ip[48..]);
        expect[0] = 84;
        let req = LinkRequest::Macvlan {
            name: "mv0",
            parent: "va",
            parent_index: 3,
            netns_fd: 4,
        };
        assert_eq!(single(&req, SEQ), expect);
    }

    fn vxlan(local: &str, remote: &str) -> VxlanWire<'static> {
        VxlanWire {
            name: "vx0",
            vni: 42,
            local: Some(local.parse().unwrap()),
            remote: remote.parse().unwrap(),
            port: 4789,
            mtu: None,
            mac: None,
            netns_fd: None,
            index: 0,
        }
    }

    // `ip link add vx0 type vxlan id 42 local 192.0.2.1 remote 192.0.2.2 dstport 4789
    // nolearning` (iproute2 6.1), captured as above but with ip's own sequence number
    // (0x6b11b8fa) replaced by SEQ; nothing else differs.
    #[rustfmt::skip]
    const VXLAN: [u8; 100] = [
        0x64, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x06,  // len 100, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
        0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  // ifinfomsg
        0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x03, 0x00,  0x76, 0x78, 0x30, 0x00,  // IFLA_IFNAME "vx0"
        0x3c, 0x00, 0x12, 0x00,                           // IFLA_LINKINFO (60)
        0x09, 0x00, 0x01, 0x00,  0x76, 0x78, 0x6c, 0x61, 0x6e, 0x00, 0x00, 0x00, // IFLA_INFO_KIND "vxlan" (no NUL), padded
        0x2c, 0x00, 0x02, 0x00,                           //   IFLA_INFO_DATA (44)
        0x08, 0x00, 0x01, 0x00,  0x2a, 0x00, 0x00, 0x00,  //     IFLA_VXLAN_ID 42
        0x08, 0x00, 0x04, 0x00,  0xc0, 0x00, 0x02, 0x01,  //     IFLA_VXLAN_LOCAL 192.0.2.1
        0x08, 0x00, 0x02, 0x00,  0xc0, 0x00, 0x02, 0x02,  //     IFLA_VXLAN_GROUP 192.0.2.2
        0x05, 0x00, 0x07, 0x00,  0x00, 0x00, 0x00, 0x00,  //     IFLA_VXLAN_LEARNING 0, padded
        0x06, 0x00, 0x0f, 0x00,  0x12, 0xb5, 0x00, 0x00,  //     IFLA_VXLAN_PORT 4789 (big endian), padded
    ];

    #[test]
    fn vxlan_matches_ip() {
        assert_eq!(
            single(&LinkRequest::Vxlan(vxlan("192.0.2.1", "192.0.2.2")), SEQ),
            VXLAN
        );
    }

    #[test]
    fn vxlan_over_ipv6_matches_ip() {
        // `ip link add vx6 type vxlan id 42 local 2001:db8::1 remote 2001:db8::2 dstport
        // 4789 nolearning`, captured likewise (seq replaced by SEQ).
        #[rustfmt::skip]
        let ip: [u8; 124] = [
            0x7c, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x06,  // len 124, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
            0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
            0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  // ifinfomsg
            0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
            0x08, 0x00, 0x03, 0x00,  0x76, 0x78, 0x36, 0x00,  // IFLA_IFNAME "vx6"
            0x54, 0x00, 0x12, 0x00,                           // IFLA_LINKINFO (84)
            0x09, 0x00, 0x01, 0x00,  0x76, 0x78, 0x6c, 0x61, 0x6e, 0x00, 0x00, 0x00, // IFLA_INFO_KIND "vxlan"
            0x44, 0x00, 0x02, 0x00,                           //   IFLA_INFO_DATA (68)
            0x08, 0x00, 0x01, 0x00,  0x2a, 0x00, 0x00, 0x00,  //     IFLA_VXLAN_ID 42
            0x14, 0x00, 0x11, 0x00,                           //     IFLA_VXLAN_LOCAL6 2001:db8::1
            0x20, 0x01, 0x0d, 0xb8,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x01,
            0x14, 0x00, 0x10, 0x00,                           //     IFLA_VXLAN_GROUP6 2001:db8::2
            0x20, 0x01, 0x0d, 0xb8,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x02,
            0x05, 0x00, 0x07, 0x00,  0x00, 0x00, 0x00, 0x00,  //     IFLA_VXLAN_LEARNING 0
            0x06, 0x00, 0x0f, 0x00,  0x12, 0xb5, 0x00, 0x00,  //     IFLA_VXLAN_PORT 4789
        ];
        let mut req = vxlan("2001:db8::1", "2001:db8::2");
        req.name = "vx6";
        assert_eq!(single(&LinkRequest::Vxlan(req), SEQ), ip);
    }

    #[test]
    fn vxlan_in_another_netns_matches_ip() {
        // `ip link add vx0 address 02:00:00:00:00:09 mtu 1400 netns n1 type vxlan id 42
        // local 192.0.2.1 remote 192.0.2.2 dstport 4789 nolearning` (n1 opened as fd 4):
        // address, mtu and netns fd ahead of the name, the rest as in VXLAN.
        #[rustfmt::skip]
        let head: [u8; 28] = [
            0x0a, 0x00, 0x01, 0x00,  0x02, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, // IFLA_ADDRESS 02:00:00:00:00:09
            0x08, 0x00, 0x04, 0x00,  0x78, 0x05, 0x00, 0x00,  // IFLA_MTU 1400
            0x08, 0x00, 0x1c, 0x00,  0x04, 0x00, 0x00, 0x00,  // IFLA_NET_NS_FD 4
        ];
        let mut expect = VXLAN[..32].to_vec();
        expect.extend_from_slice(&head);
        expect.extend_from_slice(&VXLAN[32..]);
        expect[0] = 128;
        let mut req = vxlan("192.0.2.1", "192.0.2.2");
        req.mac = Some([2, 0, 0, 0, 0, 9]);
        req.mtu = Some(1400);
        req.netns_fd = Some(4);
        let ours = single(&LinkRequest::Vxlan(req), SEQ);
        assert_eq!(ours, expect);

        // And it reads back as the VXLAN asked for.
        use crate::netlink::Request;
        use netlink_packet_route::link::InfoVxlan;
        let RouteNetlinkMessage::NewLink(link) = parse(&ours) else {
            panic!()
        };
        let data = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                LinkInfo::Data(InfoData::Vxlan(d)) => Some(d.clone()),
                _ => None,
            }),
            _ => None,
        });
        let data = data.expect("IFLA_INFO_DATA of a vxlan");
        assert_eq!(
            data,
            vec![
                InfoVxlan::Id(42),
                InfoVxlan::Local("192.0.2.1".parse().unwrap()),
                InfoVxlan::Group("192.0.2.2".parse().unwrap()),
                InfoVxlan::Learning(false),
                InfoVxlan::Port(4789),
            ]
        );
        assert_eq!(
            LinkRequest::Vxlan(req).op().to_string(),
            "creating vxlan vx0 (vni 42, remote 192.0.2.2) with mtu 1400"
        );
    }
}
