//! Our request bytes against bytes captured from iproute2 6.1 with
//! `unshare -n strace -e trace=sendmsg -e write=3 ip …` (no root needed to run these).
//! Every request is built with ip's sequence number (0x6b02d89b) so the comparison is
//! exact; the netns fds are the numbers ip happened to use (4 and 5) and the ifindexes
//! those of the capture (va = 3, vb = 2, br0 = 4). Values are host (little) endian.

use std::net::IpAddr;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::link::{InfoData, InfoVeth, LinkAttribute, LinkInfo};
use netlink_packet_route::route::{RouteAddress, RouteAttribute};
use netlink_packet_route::RouteNetlinkMessage;
use nsnet_netcfg::raw;

const SEQ: u32 = 0x6b02_d89b;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn build(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut buf = Vec::new();
    f(&mut buf);
    buf
}

fn parse(bytes: &[u8]) -> RouteNetlinkMessage {
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
        .unwrap()
        .payload
    {
        NetlinkPayload::InnerMessage(m) => m,
        other => panic!("{other:?}"),
    }
}

#[rustfmt::skip]
const VETH: [u8; 140] = [
    0x8c, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x06,  // len 140, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
    0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  // ifinfomsg: AF_UNSPEC, type 0, index 0
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //   flags 0, change 0
    0x0a, 0x00, 0x01, 0x00,  0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // IFLA_ADDRESS 02:00:00:00:00:01
    0x08, 0x00, 0x04, 0x00,  0x78, 0x05, 0x00, 0x00,  // IFLA_MTU 1400
    0x08, 0x00, 0x1c, 0x00,  0x04, 0x00, 0x00, 0x00,  // IFLA_NET_NS_FD 4
    0x07, 0x00, 0x03, 0x00,  0x76, 0x61, 0x00, 0x00,  // IFLA_IFNAME "va"
    0x48, 0x00, 0x12, 0x00,                           // IFLA_LINKINFO (72)
    0x08, 0x00, 0x01, 0x00,  0x76, 0x65, 0x74, 0x68,  //   IFLA_INFO_KIND "veth" (ip sends kinds without NUL)
    0x3c, 0x00, 0x02, 0x00,                           //   IFLA_INFO_DATA (60)
    0x38, 0x00, 0x01, 0x00,                           //     VETH_INFO_PEER (56)
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //       peer ifinfomsg
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    0x0a, 0x00, 0x01, 0x00,  0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, // IFLA_ADDRESS 02:00:00:00:00:02
    0x08, 0x00, 0x04, 0x00,  0x78, 0x05, 0x00, 0x00,  //       IFLA_MTU 1400
    0x08, 0x00, 0x1c, 0x00,  0x05, 0x00, 0x00, 0x00,  //       IFLA_NET_NS_FD 5
    0x07, 0x00, 0x03, 0x00,  0x76, 0x62, 0x00, 0x00,  //       IFLA_IFNAME "vb"
];

#[test]
fn veth_pair_matches_ip() {
    let ours = build(|b| {
        let a = raw::VethRaw {
            index: 0,
            name: "va",
            mac: Some([2, 0, 0, 0, 0, 1]),
            mtu: Some(1400),
            netns_fd: 4,
        };
        let p = raw::VethRaw {
            index: 0,
            name: "vb",
            mac: Some([2, 0, 0, 0, 0, 2]),
            mtu: Some(1400),
            netns_fd: 5,
        };
        raw::new_veth(b, SEQ, &a, &p)
    });
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
const BRIDGE: [u8; 56] = [
    0x38, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x06,  // len 56, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
    0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  // ifinfomsg
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x03, 0x00,  0x62, 0x72, 0x30, 0x00,  // IFLA_IFNAME "br0"
    0x10, 0x00, 0x12, 0x00,                           // IFLA_LINKINFO (16)
    0x0a, 0x00, 0x01, 0x00,  0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0x00, 0x00, // IFLA_INFO_KIND "bridge"
];

#[test]
fn bridge_matches_ip() {
    let ours = build(|b| raw::new_bridge(b, SEQ, "br0", None, None));
    assert_eq!(ours, BRIDGE);
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
    let flags = raw::NLM_F_REQUEST | raw::NLM_F_ACK;
    let ours = build(|b| raw::set_link_u32(b, SEQ, flags, 3, raw::IFLA_MASTER, 4));
    assert_eq!(ours, SET_MASTER);
}

#[test]
fn set_mtu_matches_ip() {
    // Decoded by strace from `ip link set va mtu 1300`: same shape as IFLA_MASTER.
    let mut expect = SET_MASTER;
    expect[34] = 0x04; // IFLA_MTU
    expect[36..40].copy_from_slice(&1300u32.to_ne_bytes());
    let flags = raw::NLM_F_REQUEST | raw::NLM_F_ACK;
    assert_eq!(
        build(|b| raw::set_link_u32(b, SEQ, flags, 3, raw::IFLA_MTU, 1300)),
        expect
    );
}

#[rustfmt::skip]
const LINK_UP: [u8; 32] = [
    0x20, 0x00, 0x00, 0x00,  0x10, 0x00,  0x05, 0x00,  // len 32, RTM_NEWLINK, REQUEST|ACK
    0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
    0x00, 0x00, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  // ifinfomsg: index 3
    0x01, 0x00, 0x00, 0x00,  0x01, 0x00, 0x00, 0x00,  //   flags IFF_UP, change IFF_UP
];

#[test]
fn set_link_up_and_down_match_ip() {
    let flags = raw::NLM_F_REQUEST | raw::NLM_F_ACK;
    assert_eq!(
        build(|b| raw::set_link_state(b, SEQ, flags, 3, true)),
        LINK_UP
    );
    let mut down = LINK_UP;
    down[24] = 0; // flags 0, change still IFF_UP
    assert_eq!(
        build(|b| raw::set_link_state(b, SEQ, flags, 3, false)),
        down
    );
}

#[test]
fn del_link_matches_ip() {
    // Decoded by strace from `ip link del va`: RTM_DELLINK, REQUEST|ACK, index 3.
    let mut expect = LINK_UP;
    expect[4] = 0x11;
    expect[24] = 0;
    expect[28] = 0;
    let flags = raw::NLM_F_REQUEST | raw::NLM_F_ACK;
    assert_eq!(build(|b| raw::del_link(b, SEQ, flags, 3)), expect);
}

#[rustfmt::skip]
const ADDR_V4: [u8; 40] = [
    0x28, 0x00, 0x00, 0x00,  0x14, 0x00,  0x05, 0x06,  // len 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
    0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
    0x02, 0x1e, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  // ifaddrmsg: AF_INET, /30, flags 0, scope 0, index 3
    0x08, 0x00, 0x02, 0x00,  0x0a, 0x00, 0x0c, 0x01,  // IFA_LOCAL 10.0.12.1
    0x08, 0x00, 0x01, 0x00,  0x0a, 0x00, 0x0c, 0x01,  // IFA_ADDRESS 10.0.12.1
];

#[test]
fn add_addr_v4_matches_ip() {
    let ours = build(|b| raw::new_addr(b, SEQ, raw::CREATE_FLAGS, 3, ip("10.0.12.1"), 30));
    assert_eq!(ours, ADDR_V4);
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
    let ours = build(|b| raw::new_addr(b, SEQ, raw::CREATE_FLAGS, 3, ip("2001:db8::1"), 64));
    assert_eq!(ours, ADDR_V6);
}

#[rustfmt::skip]
const ROUTE: [u8; 52] = [
    0x34, 0x00, 0x00, 0x00,  0x18, 0x00,  0x05, 0x06,  // len 52, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE
    0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
    0x02, 0x18, 0x00, 0x00,                           // rtmsg: AF_INET, dst /24, src /0, tos 0
    0xfe, 0x04, 0x00, 0x01,                           //   table main, RTPROT_STATIC, scope universe, unicast
    0x00, 0x00, 0x00, 0x00,                           //   flags
    0x08, 0x00, 0x01, 0x00,  0x0a, 0x00, 0x03, 0x00,  // RTA_DST 10.0.3.0
    0x08, 0x00, 0x05, 0x00,  0x0a, 0x00, 0x0c, 0x02,  // RTA_GATEWAY 10.0.12.2
    0x08, 0x00, 0x04, 0x00,  0x03, 0x00, 0x00, 0x00,  // RTA_OIF 3
];

#[test]
fn add_route_matches_ip() {
    let hops = [(Some(ip("10.0.12.2")), 3)];
    let ours = build(|b| {
        raw::route(
            b,
            SEQ,
            raw::RTM_NEWROUTE,
            raw::CREATE_FLAGS,
            ip("10.0.3.0"),
            24,
            &hops,
        )
    });
    assert_eq!(ours, ROUTE);
}

#[rustfmt::skip]
const ROUTE_ECMP: [u8; 72] = [
    0x48, 0x00, 0x00, 0x00,  0x18, 0x00,  0x05, 0x06,  // len 72, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE
    0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
    0x02, 0x18, 0x00, 0x00,  0xfe, 0x04, 0x00, 0x01,  // rtmsg: AF_INET /24, main, static, universe, unicast
    0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x01, 0x00,  0x0a, 0x00, 0x04, 0x00,  // RTA_DST 10.0.4.0
    0x24, 0x00, 0x09, 0x00,                           // RTA_MULTIPATH (36)
    0x10, 0x00, 0x00, 0x00,  0x03, 0x00, 0x00, 0x00,  //   rtnexthop len 16, flags 0, hops 0, ifindex 3
    0x08, 0x00, 0x05, 0x00,  0x0a, 0x00, 0x0c, 0x02,  //     RTA_GATEWAY 10.0.12.2
    0x10, 0x00, 0x00, 0x00,  0x02, 0x00, 0x00, 0x00,  //   rtnexthop len 16, ifindex 2
    0x08, 0x00, 0x05, 0x00,  0x0a, 0x00, 0x0d, 0x02,  //     RTA_GATEWAY 10.0.13.2
];

#[test]
fn add_ecmp_route_matches_ip() {
    let hops = [(Some(ip("10.0.12.2")), 3), (Some(ip("10.0.13.2")), 2)];
    let ours = build(|b| {
        raw::route(
            b,
            SEQ,
            raw::RTM_NEWROUTE,
            raw::CREATE_FLAGS,
            ip("10.0.4.0"),
            24,
            &hops,
        )
    });
    assert_eq!(ours, ROUTE_ECMP);
    let RouteNetlinkMessage::NewRoute(r) = parse(&ours) else {
        panic!()
    };
    let hops = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::MultiPath(h) => Some(h.clone()),
        _ => None,
    });
    let hops = hops.expect("RTA_MULTIPATH");
    assert_eq!(hops.len(), 2);
    assert_eq!(hops[1].interface_index, 2);
    assert_eq!(
        hops[1].attributes,
        vec![RouteAttribute::Gateway(RouteAddress::Inet(
            "10.0.13.2".parse().unwrap()
        ))]
    );
}

#[rustfmt::skip]
const ROUTE_V6: [u8; 76] = [
    0x4c, 0x00, 0x00, 0x00,  0x18, 0x00,  0x05, 0x06,  // len 76, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE
    0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
    0x0a, 0x30, 0x00, 0x00,  0xfe, 0x04, 0x00, 0x01,  // rtmsg: AF_INET6 /48, main, static, universe, unicast
    0x00, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x01, 0x00,                           // RTA_DST 2001:db8:5::
    0x20, 0x01, 0x0d, 0xb8,  0x00, 0x05, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x05, 0x00,                           // RTA_GATEWAY 2001:db8::2
    0x20, 0x01, 0x0d, 0xb8,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x02,
    0x08, 0x00, 0x04, 0x00,  0x03, 0x00, 0x00, 0x00,  // RTA_OIF 3
];

#[test]
fn add_v6_route_matches_ip() {
    let hops = [(Some(ip("2001:db8::2")), 3)];
    let ours = build(|b| {
        raw::route(
            b,
            SEQ,
            raw::RTM_NEWROUTE,
            raw::CREATE_FLAGS,
            ip("2001:db8:5::"),
            48,
            &hops,
        )
    });
    assert_eq!(ours, ROUTE_V6);
}

#[rustfmt::skip]
const ROUTE_DEV: [u8; 44] = [
    0x2c, 0x00, 0x00, 0x00,  0x18, 0x00,  0x05, 0x06,  // len 44, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE
    0x9b, 0xd8, 0x02, 0x6b,  0x00, 0x00, 0x00, 0x00,  // seq, pid
    0x02, 0x18, 0x00, 0x00,  0xfe, 0x04, 0xfd, 0x01,  // rtmsg: AF_INET /24, main, static, scope LINK, unicast
    0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x01, 0x00,  0x0a, 0x00, 0x05, 0x00,  // RTA_DST 10.0.5.0
    0x08, 0x00, 0x04, 0x00,  0x03, 0x00, 0x00, 0x00,  // RTA_OIF 3
];

#[test]
fn add_dev_route_matches_ip() {
    let hops = [(None, 3)];
    let ours = build(|b| {
        raw::route(
            b,
            SEQ,
            raw::RTM_NEWROUTE,
            raw::CREATE_FLAGS,
            ip("10.0.5.0"),
            24,
            &hops,
        )
    });
    assert_eq!(ours, ROUTE_DEV);
}

#[test]
fn messages_append_back_to_back() {
    // A batch is requests laid end to end, each 4-byte aligned.
    let ours = build(|b| {
        raw::new_addr(b, SEQ, raw::CREATE_FLAGS, 3, ip("10.0.12.1"), 30);
        raw::new_bridge(b, SEQ, "br0", None, None);
        raw::new_addr(b, SEQ, raw::CREATE_FLAGS, 3, ip("10.0.12.1"), 30);
    });
    assert_eq!(ours.len(), 40 + 56 + 40);
    assert_eq!(ours[..40], ADDR_V4);
    assert_eq!(ours[96..], ADDR_V4);
}
