//! Kernel tests: real rtnetlink requests, each inside throwaway network namespaces made
//! by a fresh thread's unshare(CLONE_NEWNET), so the host's network is never touched.

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;

use nsnet_netcfg::{
    in_netns, read_sysctl, write_sysctl, NetError, Netns, NextHopSpec, NsidWatch, RouteSpec,
    RtSocket, VethEnd, Vxlan,
};

/// Run `f` on a new thread that first moves into a fresh, empty netns.
fn in_throwaway_netns(f: impl FnOnce() + Send + 'static) {
    if !nix::unistd::geteuid().is_root() {
        // CI sets NSNET_REQUIRE_ROOT: there a skip is a failure.
        assert!(
            std::env::var_os("NSNET_REQUIRE_ROOT").is_none(),
            "this kernel test needs root"
        );
        eprintln!("skipped: needs root");
        return;
    }
    let host = netns_ino();
    let t = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        assert_ne!(netns_ino(), host, "still in the host netns");
        f();
    });
    if let Err(panic) = t.join() {
        std::panic::resume_unwind(panic);
    }
}

fn netns_ino() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn route(dst: &str, prefix: u8, hops: &[(Option<&str>, &str)]) -> RouteSpec {
    RouteSpec {
        dst: ip(dst),
        prefix,
        nexthops: hops
            .iter()
            .map(|(via, dev)| NextHopSpec {
                via: via.map(ip),
                dev: dev.to_string(),
            })
            .collect(),
    }
}

fn end<'a>(name: &'a str, ns: &'a Netns) -> VethEnd<'a> {
    VethEnd {
        index: None,
        name,
        mac: None,
        mtu: None,
        netns: ns.as_fd(),
    }
}

/// Two veth pairs a1/b1 and a2/b2 in the current netns, up, with 10.0.1.1/24 on a1,
/// 10.0.2.1/24 on a2 and 2001:db8:1::1/64 on a1.
fn two_links(sock: &mut RtSocket) {
    let here = Netns::current().unwrap();
    sock.create_veth(&end("a1", &here), &end("b1", &here))
        .unwrap();
    sock.create_veth(&end("a2", &here), &end("b2", &here))
        .unwrap();
    for l in ["a1", "b1", "a2", "b2"] {
        sock.set_link_up(l).unwrap();
    }
    sock.add_addr("a1", ip("10.0.1.1"), 24).unwrap();
    sock.add_addr("a2", ip("10.0.2.1"), 24).unwrap();
    sock.add_addr("a1", ip("2001:db8:1::1"), 64).unwrap();
}

#[test]
fn veth_pair_lands_in_two_netns() {
    in_throwaway_netns(|| {
        let a = Netns::current().unwrap();
        let b = Netns::create().unwrap();
        let mut sock = RtSocket::open().unwrap();
        let ea = VethEnd {
            index: Some(40),
            name: "eth0",
            mac: Some([2, 0, 0, 0, 0, 1]),
            mtu: Some(1400),
            netns: a.as_fd(),
        };
        let eb = VethEnd {
            index: Some(41),
            name: "eth1",
            mac: Some([2, 0, 0, 0, 0, 2]),
            mtu: Some(9000),
            netns: b.as_fd(),
        };
        sock.create_veth(&ea, &eb).unwrap();

        let la = sock.links().unwrap();
        let e0 = la
            .iter()
            .find(|l| l.name == "eth0")
            .expect("eth0 in netns a");
        assert_eq!(e0.mac, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(e0.mtu, 1400);
        assert_eq!(e0.index, 40, "the ifindex asked for");
        assert_eq!(e0.kind.as_deref(), Some("veth"));
        assert!(!e0.up, "created down");
        assert!(la.iter().all(|l| l.name != "eth1"));

        let lb = RtSocket::open_in(&b).unwrap().links().unwrap();
        let e1 = lb
            .iter()
            .find(|l| l.name == "eth1")
            .expect("eth1 in netns b");
        assert_eq!(e1.mac, Some([2, 0, 0, 0, 0, 2]));
        assert_eq!(e1.mtu, 9000);
        assert_eq!(e1.index, 41, "the peer's ifindex asked for");
        assert!(!e1.up);
        // open_in came back to netns a.
        assert_eq!(netns_ino(), a.as_fd_ino());
    });
}

trait Ino {
    fn as_fd_ino(&self) -> u64;
}

impl Ino for Netns {
    fn as_fd_ino(&self) -> u64 {
        let file = std::fs::File::from(self.as_fd().try_clone_to_owned().unwrap());
        file.metadata().unwrap().ino()
    }
}

/// A bridge setting as `ip -d link show` prints it (ip reads it over netlink, in the
/// calling thread's netns).
fn bridge_attr(dev: &str, key: &str) -> String {
    let o = std::process::Command::new("ip")
        .args(["-d", "-j", "link", "show", dev])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0]["linkinfo"]["info_data"][key].to_string()
}

#[test]
fn bridge_with_a_port() {
    in_throwaway_netns(|| {
        let here = Netns::current().unwrap();
        let mut sock = RtSocket::open().unwrap();
        sock.create_bridge("br0", Some([2, 0, 0, 0, 0, 0xb]), Some(1450), false)
            .unwrap();
        sock.create_bridge("br1", None, None, true).unwrap();
        // sysfs shows the netns of whoever mounted it: ask netlink's own view instead, via
        // the attributes the kernel reports back.
        assert_eq!(bridge_attr("br1", "stp_state"), "1");
        assert_eq!(bridge_attr("br1", "forward_delay"), "200");
        assert_eq!(bridge_attr("br0", "stp_state"), "0");
        sock.create_veth(&end("p0", &here), &end("p1", &here))
            .unwrap();
        sock.set_mtu("p0", 1450).unwrap();
        sock.set_master("p0", "br0").unwrap();
        sock.set_link_up("br0").unwrap();
        sock.set_link_up("p0").unwrap();
        let links = sock.links().unwrap();
        let br = links.iter().find(|l| l.name == "br0").unwrap();
        let p0 = links.iter().find(|l| l.name == "p0").unwrap();
        assert_eq!(br.kind.as_deref(), Some("bridge"));
        assert_eq!(br.mac, Some([2, 0, 0, 0, 0, 0xb]));
        assert_eq!(br.mtu, 1450);
        assert!(br.up && p0.up);
        assert_eq!(p0.master, Some(br.index));
        assert_eq!(p0.mtu, 1450);
        assert_eq!(read_sysctl("net.ipv6.conf.br0.mtu").unwrap(), "1450");

        sock.set_link_down("p0").unwrap();
        sock.del_link("p0").unwrap();
        let err = sock.link_index("p1").unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENODEV), "{err}");
    });
}

#[test]
fn addresses_read_back() {
    in_throwaway_netns(|| {
        let mut sock = RtSocket::open().unwrap();
        two_links(&mut sock);
        let addrs = sock.addrs().unwrap();
        let has = |name: &str, a: &str, p: u8| {
            addrs
                .iter()
                .any(|x| x.ifname == name && x.addr == ip(a) && x.prefix == p)
        };
        assert!(has("a1", "10.0.1.1", 24), "{addrs:?}");
        assert!(has("a2", "10.0.2.1", 24));
        assert!(has("a1", "2001:db8:1::1", 64));
        let idx = sock.link_index("a1").unwrap();
        assert!(addrs
            .iter()
            .filter(|x| x.ifname == "a1")
            .all(|x| x.ifindex == idx));
    });
}

#[test]
fn duplicate_address_is_eexist() {
    in_throwaway_netns(|| {
        let mut sock = RtSocket::open().unwrap();
        two_links(&mut sock);
        let err = sock.add_addr("a1", ip("10.0.1.1"), 24).unwrap_err();
        match &err {
            NetError::Kernel { op, errno } => {
                assert_eq!(*errno, libc::EEXIST);
                assert_eq!(op.to_string(), "adding 10.0.1.1/24 to a1");
            }
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.starts_with("adding 10.0.1.1/24 to a1: File exists (os error 17)"),
            "{text}"
        );
        assert!(text.contains("already exists"), "{text}");

        let err = sock.add_addr("nosuch", ip("10.9.9.9"), 24).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENODEV));
        assert!(
            err.to_string().contains("adding 10.9.9.9/24 to nosuch"),
            "{err}"
        );
    });
}

#[test]
fn single_and_ecmp_routes() {
    in_throwaway_netns(|| {
        let mut sock = RtSocket::open().unwrap();
        two_links(&mut sock);
        sock.add_route(&route("10.3.0.0", 16, &[(Some("10.0.1.2"), "a1")]))
            .unwrap();
        let ecmp = route(
            "10.9.0.0",
            16,
            &[(Some("10.0.1.2"), "a1"), (Some("10.0.2.2"), "a2")],
        );
        sock.add_route(&ecmp).unwrap();
        sock.add_route(&route("10.5.0.0", 24, &[(None, "a2")]))
            .unwrap();
        sock.add_route(&route("2001:db8:9::", 48, &[(Some("2001:db8:1::2"), "a1")]))
            .unwrap();

        let routes = sock.routes(false).unwrap();
        let single = routes
            .iter()
            .find(|r| r.dst == ip("10.3.0.0"))
            .expect("single route");
        assert_eq!(single.prefix, 16);
        assert_eq!(single.protocol, 4, "RTPROT_STATIC");
        assert_eq!(single.table, 254);
        assert_eq!(single.nexthops.len(), 1);
        assert_eq!(single.nexthops[0].via, Some(ip("10.0.1.2")));
        assert_eq!(single.nexthops[0].dev.as_deref(), Some("a1"));

        let multi = routes
            .iter()
            .find(|r| r.dst == ip("10.9.0.0"))
            .expect("ecmp route");
        let mut hops: Vec<_> = multi
            .nexthops
            .iter()
            .map(|h| (h.via.unwrap(), h.dev.clone().unwrap()))
            .collect();
        hops.sort();
        assert_eq!(
            hops,
            vec![(ip("10.0.1.2"), "a1".into()), (ip("10.0.2.2"), "a2".into())]
        );

        let dev = routes
            .iter()
            .find(|r| r.dst == ip("10.5.0.0"))
            .expect("dev route");
        assert_eq!(dev.nexthops[0].via, None);
        assert_eq!(dev.nexthops[0].dev.as_deref(), Some("a2"));

        let v6 = sock.routes(true).unwrap();
        let r6 = v6
            .iter()
            .find(|r| r.dst == ip("2001:db8:9::"))
            .expect("v6 route");
        assert_eq!(r6.prefix, 48);
        assert_eq!(r6.nexthops[0].via, Some(ip("2001:db8:1::2")));

        let got = sock.route_get(ip("10.3.4.5")).unwrap();
        assert_eq!(got.nexthops.len(), 1);
        assert_eq!(got.nexthops[0].via, Some(ip("10.0.1.2")));
        assert_eq!(got.nexthops[0].dev.as_deref(), Some("a1"));
        let got = sock.route_get(ip("10.9.1.1")).unwrap();
        let via = got.nexthops[0].via.unwrap();
        assert!(via == ip("10.0.1.2") || via == ip("10.0.2.2"), "{got:?}");
        let got = sock.route_get(ip("2001:db8:9::1")).unwrap();
        assert_eq!(got.nexthops[0].via, Some(ip("2001:db8:1::2")));

        // Replace moves the route; delete removes it; a second delete fails.
        sock.replace_route(&route("10.3.0.0", 16, &[(Some("10.0.2.2"), "a2")]))
            .unwrap();
        let got = sock.route_get(ip("10.3.4.5")).unwrap();
        assert_eq!(got.nexthops[0].dev.as_deref(), Some("a2"));
        let r = route("10.3.0.0", 16, &[(Some("10.0.2.2"), "a2")]);
        sock.del_route(&r).unwrap();
        let err = sock.del_route(&r).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ESRCH), "{err}");
        assert!(err
            .to_string()
            .starts_with("deleting route 10.3.0.0/16 via 10.0.2.2 dev a2: "));

        let err = sock
            .add_route(&route("10.4.0.0", 16, &[(Some("10.7.7.7"), "a1")]))
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("adding route 10.4.0.0/16 via 10.7.7.7 dev a1: "));
    });
}

#[test]
fn batch_of_2000_routes() {
    in_throwaway_netns(|| {
        let mut sock = RtSocket::open().unwrap();
        two_links(&mut sock);
        let routes: Vec<RouteSpec> = (0..2000u32)
            .map(|i| {
                let dst = format!("10.{}.{}.0", 100 + i / 256, i % 256);
                route(&dst, 24, &[(Some("10.0.1.2"), "a1")])
            })
            .collect();
        let mut batch = sock.batch();
        for r in &routes {
            batch.add_route(r);
        }
        assert_eq!(batch.len(), 2000);
        batch.commit().unwrap();
        let got = sock.routes(false).unwrap();
        let statics = got.iter().filter(|r| r.protocol == 4).count();
        assert_eq!(statics, 2000);
        for r in routes.iter().step_by(97) {
            assert!(got.iter().any(|g| g.dst == r.dst && g.prefix == 24));
        }
    });
}

#[test]
fn batch_reports_every_failure_in_order() {
    in_throwaway_netns(|| {
        let mut sock = RtSocket::open().unwrap();
        two_links(&mut sock);
        let mut batch = sock.batch();
        batch
            .add_addr("a1", ip("10.0.1.1"), 24) // exists
            .add_addr("a1", ip("10.0.11.1"), 24)
            .add_route(&route("10.20.0.0", 16, &[(Some("10.0.11.2"), "a1")]))
            .add_route(&route("10.21.0.0", 16, &[(Some("10.0.1.2"), "nosuch")]))
            .add_addr("a2", ip("10.0.2.1"), 24) // exists
            .set_link_down("b2")
            .set_mtu("a2", 70000); // too big
        let errs = batch.commit().unwrap_err();
        let texts: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 4, "{texts:#?}");
        assert_eq!(errs[0].op().to_string(), "adding 10.0.1.1/24 to a1");
        assert_eq!(errs[0].errno(), Some(libc::EEXIST));
        assert!(
            errs[1]
                .op()
                .to_string()
                .starts_with("adding route 10.21.0.0/16"),
            "{texts:#?}"
        );
        assert_eq!(errs[2].op().to_string(), "adding 10.0.2.1/24 to a2");
        assert_eq!(errs[3].errno(), Some(libc::EINVAL));
        assert!(texts[3].contains("allowed range"), "{texts:#?}");
        // The good requests in between went through.
        assert!(sock.route_get(ip("10.20.1.1")).is_ok());
        assert!(
            !sock
                .links()
                .unwrap()
                .iter()
                .find(|l| l.name == "b2")
                .unwrap()
                .up
        );
    });
}

#[test]
fn sysctl_in_throwaway_netns() {
    if !nix::unistd::geteuid().is_root() {
        // CI sets NSNET_REQUIRE_ROOT: there a skip is a failure.
        assert!(
            std::env::var_os("NSNET_REQUIRE_ROOT").is_none(),
            "this kernel test needs root"
        );
        eprintln!("skipped: needs root");
        return;
    }
    let host = read_sysctl("net.ipv4.ip_forward").unwrap();
    in_throwaway_netns(|| {
        write_sysctl("net.ipv4.ip_forward", "1").unwrap();
        assert_eq!(read_sysctl("net.ipv4.ip_forward").unwrap(), "1");
        write_sysctl("net.ipv4.ip_forward", "0").unwrap();
        assert_eq!(read_sysctl("net.ipv4.ip_forward").unwrap(), "0");
        write_sysctl("net/ipv4/ip_forward", "1").unwrap();
        assert_eq!(read_sysctl("net.ipv4.ip_forward").unwrap(), "1");
        let err = write_sysctl("net.ipv4.no_such_thing", "1").unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENOENT));
        let text = err.to_string();
        assert!(
            text.starts_with("writing sysctl net.ipv4.no_such_thing=1: "),
            "{text}"
        );
        assert!(text.contains("no such sysctl"), "{text}");
    });
    assert_eq!(read_sysctl("net.ipv4.ip_forward").unwrap(), host);
}

#[test]
fn mtu_above_veth_maximum_is_a_clear_error() {
    in_throwaway_netns(|| {
        let here = Netns::current().unwrap();
        let mut sock = RtSocket::open().unwrap();
        let a = VethEnd {
            index: None,
            name: "v0",
            mac: None,
            mtu: Some(70000),
            netns: here.as_fd(),
        };
        let err = sock.create_veth(&a, &end("v1", &here)).unwrap_err();
        assert_eq!(err.errno(), Some(libc::EINVAL));
        let text = err.to_string();
        assert!(
            text.starts_with("creating veth v0/v1 with mtu 70000: "),
            "{text}"
        );
        assert!(
            text.contains("outside the device's allowed range"),
            "{text}"
        );

        sock.create_veth(&end("v0", &here), &end("v1", &here))
            .unwrap();
        let err = sock.set_mtu("v0", 70000).unwrap_err();
        assert_eq!(err.errno(), Some(libc::EINVAL));
        assert!(
            err.to_string().starts_with("setting mtu 70000 on v0: "),
            "{err}"
        );
        let err = sock
            .create_veth(&end("v0", &here), &end("v2", &here))
            .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
    });
}

#[test]
fn in_netns_always_switches_back() {
    in_throwaway_netns(|| {
        let home = netns_ino();
        let other = Netns::create().unwrap();
        let inside = in_netns(&other, netns_ino).unwrap();
        assert_ne!(inside, home);
        assert_eq!(inside, other.as_fd_ino());
        assert_eq!(netns_ino(), home);
        let caught = std::panic::catch_unwind(|| in_netns(&other, || panic!("boom")));
        assert!(caught.is_err());
        assert_eq!(netns_ino(), home);
        // A sysctl written from inside lands in that netns only.
        in_netns(&other, || write_sysctl("net.ipv4.ip_forward", "1").unwrap()).unwrap();
        write_sysctl("net.ipv4.ip_forward", "0").unwrap();
        let there = in_netns(&other, || read_sysctl("net.ipv4.ip_forward").unwrap()).unwrap();
        assert_eq!(there, "1");
    });
}

#[test]
fn a_port_and_bridge_both_missing_are_both_named() {
    in_throwaway_netns(|| {
        let mut sock = RtSocket::open().unwrap();
        let mut batch = sock.batch();
        batch.set_master("nop0", "nobr0");
        let errs = batch.commit().unwrap_err();
        let texts: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 2, "{texts:#?}");
        assert!(texts[0].starts_with("attaching nop0 to nobr0: interface nop0 not found: "));
        assert!(texts[1].starts_with("attaching nop0 to nobr0: interface nobr0 not found: "));
        assert!(errs.iter().all(|e| e.errno() == Some(libc::ENODEV)));
    });
}

#[test]
fn monitor_hears_links_addresses_routes_and_neighbours() {
    use nsnet_netcfg::{Change, Group, Monitor, RtEvent};
    in_throwaway_netns(|| {
        let here = Netns::current().unwrap();
        let mut sock = RtSocket::open().unwrap();
        sock.create_veth(&end("a1", &here), &end("b1", &here))
            .unwrap();
        let mut mon = Monitor::open(&Group::ALL).unwrap();
        assert!(mon.read().unwrap().is_empty(), "nothing happened yet");
        sock.set_link_up("a1").unwrap();
        sock.set_link_up("b1").unwrap();
        sock.add_addr("a1", ip("10.0.1.1"), 24).unwrap();
        sock.add_addr("b1", ip("10.0.1.2"), 24).unwrap();
        sock.add_route(&route("10.9.0.0", 16, &[(Some("10.0.1.2"), "a1")]))
            .unwrap();
        // A ping's ARP request makes a neighbour entry.
        let _ = std::process::Command::new("ping")
            .args(["-c1", "-W1", "-I", "a1", "10.0.1.2"])
            .output();
        sock.set_link_down("a1").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let evs = mon.read().unwrap();
        let has = |f: &dyn Fn(&RtEvent) -> bool| evs.iter().any(f);
        assert!(
            has(&|e| matches!(e, RtEvent::Link(Change::New, l) if l.name == "a1" && l.up)),
            "{evs:#?}"
        );
        assert!(
            has(&|e| matches!(e, RtEvent::Link(Change::New, l) if l.name == "a1" && !l.up)),
            "{evs:#?}"
        );
        assert!(
            has(
                &|e| matches!(e, RtEvent::Addr(Change::New, a) if a.ifname == "a1" && a.addr == ip("10.0.1.1"))
            ),
            "{evs:#?}"
        );
        assert!(
            has(
                &|e| matches!(e, RtEvent::Route(Change::New, r) if r.dst == ip("10.9.0.0") && r.protocol == 4 && r.nexthops[0].dev.as_deref() == Some("a1"))
            ),
            "{evs:#?}"
        );
        // The kernel's connected route comes with the address, as protocol kernel.
        assert!(
            has(
                &|e| matches!(e, RtEvent::Route(Change::New, r) if r.dst == ip("10.0.1.0") && r.protocol == 2)
            ),
            "{evs:#?}"
        );
        assert!(
            has(
                &|e| matches!(e, RtEvent::Neigh(_, n) if n.ifname == "a1" && n.addr == ip("10.0.1.2"))
            ),
            "{evs:#?}"
        );
        // Nothing of the local table (the kernel's routes to its own addresses).
        assert!(!has(
            &|e| matches!(e, RtEvent::Route(_, r) if r.table == 255)
        ));
    });
}

#[test]
fn link_counters_count_what_crossed() {
    in_throwaway_netns(|| {
        let mut sock = RtSocket::open().unwrap();
        two_links(&mut sock);
        let before = sock.links().unwrap();
        let a1 = before.iter().find(|l| l.name == "a1").unwrap();
        let s0 = a1.stats.expect("IFLA_STATS64 asked for");
        let _ = std::process::Command::new("ping")
            .args(["-c3", "-i0.01", "-W1", "-I", "a1", "10.0.1.9"])
            .output();
        let after = sock.links().unwrap();
        let s1 = after
            .iter()
            .find(|l| l.name == "a1")
            .unwrap()
            .stats
            .unwrap();
        assert!(s1.tx_packets > s0.tx_packets, "{s0:?} → {s1:?}");
        assert!(s1.tx_bytes > s0.tx_bytes);
    });
}

#[test]
fn an_nsid_watch_sees_namespaces_dismantled_and_not_one_still_held() {
    in_throwaway_netns(|| {
        use std::time::{Duration, Instant};
        let (a, b, kept) = (
            Netns::create().unwrap(),
            Netns::create().unwrap(),
            Netns::create().unwrap(),
        );
        let mut w = NsidWatch::new(&[a.as_fd(), b.as_fd()]).unwrap();
        w.add(&[kept.as_fd()]).unwrap();
        assert_eq!(w.pending(), 3);
        // Nothing let go of yet: nothing announced, the wait ends idle.
        let soon = Instant::now() + Duration::from_secs(5);
        assert!(!w.wait(Duration::from_millis(300), soon).unwrap());
        assert_eq!(w.pending(), 3);
        drop((a, b));
        let later = Instant::now() + Duration::from_secs(20);
        // Two of three go; the third is still held, so the wait ends without it.
        assert!(!w.wait(Duration::from_secs(3), later).unwrap());
        assert_eq!(w.pending(), 1);
        drop(kept);
        assert!(w.wait(Duration::from_secs(10), later).unwrap());
        assert_eq!(w.pending(), 0);
    });
}

/// VXLAN `name` of VNI 42 from `local` to `remote` (port 4789, mtu 1450), created in `node`.
fn vxlan<'a>(name: &'a str, local: &str, remote: &str, node: &'a Netns) -> Vxlan<'a> {
    Vxlan {
        name,
        vni: 42,
        local: Some(ip(local)),
        remote: ip(remote),
        port: 4789,
        mtu: Some(1450),
        mac: None,
        netns: Some(node.as_fd()),
        index: None,
    }
}

/// Two underlay netns joined by a veth (192.0.2.1/24, 192.0.2.2/24); in each, a VXLAN of
/// VNI 42 to the other created straight into a node netns, 10.9.0.1/24 and 10.9.0.2/24
/// there. UDP crosses both ways between the nodes, the devices are in the nodes and not in
/// the underlays, and the underlay veth carried the encapsulated packets.
#[test]
fn vxlan_tunnels_between_two_node_netns() {
    use std::net::UdpSocket;
    use std::time::Duration;
    in_throwaway_netns(|| {
        let (ua, ub) = (Netns::create().unwrap(), Netns::create().unwrap());
        let (na, nb) = (Netns::create().unwrap(), Netns::create().unwrap());
        RtSocket::open()
            .unwrap()
            .create_veth(&end("u0", &ua), &end("u1", &ub))
            .unwrap();

        let mut sa = RtSocket::open_in(&ua).unwrap();
        let mut sb = RtSocket::open_in(&ub).unwrap();
        sa.set_link_up("u0").unwrap();
        sa.add_addr("u0", ip("192.0.2.1"), 24).unwrap();
        sa.create_vxlan(&vxlan("vx0", "192.0.2.1", "192.0.2.2", &na))
            .unwrap();
        // The batch form, as a lab would queue it.
        let mut batch = sb.batch();
        batch
            .set_link_up("u1")
            .create_vxlan(&vxlan("vx0", "192.0.2.2", "192.0.2.1", &nb));
        batch.commit().unwrap();
        sb.add_addr("u1", ip("192.0.2.2"), 24).unwrap();

        let mut sna = RtSocket::open_in(&na).unwrap();
        let mut snb = RtSocket::open_in(&nb).unwrap();
        for (s, a) in [(&mut sna, "10.9.0.1"), (&mut snb, "10.9.0.2")] {
            s.set_link_up("vx0").unwrap();
            s.add_addr("vx0", ip(a), 24).unwrap();
        }

        // In the nodes, not in the underlays.
        for s in [&mut sna, &mut snb] {
            let links = s.links().unwrap();
            let vx = links
                .iter()
                .find(|l| l.name == "vx0")
                .expect("vx0 in the node");
            assert_eq!(vx.kind.as_deref(), Some("vxlan"));
            assert_eq!(vx.mtu, 1450);
        }
        for s in [&mut sa, &mut sb] {
            let links = s.links().unwrap();
            assert!(links.iter().all(|l| l.name != "vx0"), "{links:#?}");
        }

        // The same VNI and port twice in one underlay: refused, named.
        let err = sa
            .create_vxlan(&vxlan("vx1", "192.0.2.1", "192.0.2.2", &na))
            .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
        assert!(
            err.to_string()
                .starts_with("creating vxlan vx1 (vni 42, remote 192.0.2.2)"),
            "{err}"
        );
        // A VNI wider than 24 bits.
        let mut wide = vxlan("vx2", "192.0.2.1", "192.0.2.2", &na);
        wide.vni = 1 << 24;
        let err = sa.create_vxlan(&wide).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ERANGE), "{err}");

        // Counters: u0, then vx0 before; vx0, then u0 after, so that whatever vx0 sent in
        // between (IPv6's own chatter too) went out on u0 in between as well.
        let stats = |s: &mut RtSocket, name: &str| {
            let links = s.links().unwrap();
            let l = links.into_iter().find(|l| l.name == name).unwrap();
            l.stats.expect("IFLA_STATS64")
        };
        let u0_before = stats(&mut sa, "u0");
        let vx_before = stats(&mut sna, "vx0");

        // UDP from node a to node b and back, through the tunnel.
        let rx_b = in_netns(&nb, || UdpSocket::bind("10.9.0.2:5000").unwrap()).unwrap();
        let tx_a = in_netns(&na, || UdpSocket::bind("10.9.0.1:5001").unwrap()).unwrap();
        for s in [&rx_b, &tx_a] {
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
        }
        let exchange = |from: &UdpSocket, to: &UdpSocket, dst: &str, msg: &[u8]| {
            let mut buf = [0u8; 64];
            // The first datagrams may wait on ARP across the tunnel: retry for a while.
            for _ in 0..25 {
                from.send_to(msg, dst).unwrap();
                if let Ok((n, peer)) = to.recv_from(&mut buf) {
                    return (buf[..n].to_vec(), peer);
                }
            }
            panic!("nothing crossed the tunnel to {dst}");
        };
        let (got, peer) = exchange(&tx_a, &rx_b, "10.9.0.2:5000", b"ping");
        assert_eq!(got, b"ping");
        assert_eq!(peer, "10.9.0.1:5001".parse().unwrap());
        let (got, peer) = exchange(&rx_b, &tx_a, "10.9.0.1:5001", b"pong");
        assert_eq!(got, b"pong");
        assert_eq!(peer, "10.9.0.2:5000".parse().unwrap());

        // Counted on the tunnels in the nodes, and encapsulated on the underlay's veth.
        let vx_after = stats(&mut sna, "vx0");
        let u0_after = stats(&mut sa, "u0");
        let vx_b = stats(&mut snb, "vx0");
        assert!(vx_b.tx_packets >= 1 && vx_b.rx_packets >= 1, "{vx_b:?}");
        let vx_tx = vx_after.tx_packets - vx_before.tx_packets;
        let vx_bytes = vx_after.tx_bytes - vx_before.tx_bytes;
        assert!(vx_tx >= 1, "{vx_before:?} → {vx_after:?}");
        assert!(vx_after.rx_packets > vx_before.rx_packets);
        let u0_tx = u0_after.tx_packets - u0_before.tx_packets;
        assert!(u0_tx >= vx_tx, "{u0_before:?} → {u0_after:?}");
        // Each frame on the wire carries 50 bytes of outer headers (Ethernet, IPv4, UDP,
        // VXLAN) more than the tunnel's frame.
        let u0_bytes = u0_after.tx_bytes - u0_before.tx_bytes;
        assert!(
            u0_bytes >= vx_bytes + 50 * vx_tx,
            "{u0_bytes} < {vx_bytes} + 50 × {vx_tx}"
        );
    });
}
