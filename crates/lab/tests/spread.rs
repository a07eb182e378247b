//! A lab over several hosts: the hosts file's errors at their place, placement on generated
//! labs (pins, balance, cut), and each host's part (every node once, tunnels in pairs, routes
//! and addresses as on one machine, MTUs lowered to what the tunnels carry).

mod common;
use common::ok;
use nsnet_lab::gen::{generate, Shape};
use nsnet_lab::spread::{self, Hosts, Placement};
use nsnet_lab::{Kind, Plan};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

fn hosts(text: &str) -> Result<Hosts, String> {
    Hosts::parse("h.toml", text, Path::new("/etc/lab")).map_err(|e| e.to_string())
}

fn n_hosts(n: usize) -> Hosts {
    let mut t = String::new();
    for i in 1..=n {
        t.push_str(&format!("[hosts.m{i}]\naddress = \"192.0.2.{i}\"\n"));
    }
    hosts(&t).unwrap()
}

fn gen(shape: Shape) -> Plan {
    let text = generate(shape, Some("g"), false).unwrap();
    let body = text.split_once("[nodes]").unwrap().1;
    ok(&format!("[nodes]{body}"))
}

fn addrs(h: &Hosts) -> Vec<IpAddr> {
    h.hosts.iter().map(|h| h.address.unwrap()).collect()
}

#[test]
fn the_hosts_file_is_read_with_defaults() {
    let h = hosts(
        "port = 8472\nssh_config = \"cfg\"\n[hosts.m2]\nssh = \"root@10.1.0.2\"\ncapacity = 3\n[hosts.m1]\naddress = \"10.1.0.1\"\nnsnet = \"/usr/local/bin/nsnet\"\n",
    )
    .unwrap();
    assert_eq!(h.port, 8472);
    assert_eq!(h.ssh_config.as_deref(), Some(Path::new("/etc/lab/cfg")));
    let names: Vec<&str> = h.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["m1", "m2"]);
    assert_eq!(h.hosts[0].ssh, "m1");
    assert_eq!(h.hosts[0].capacity, 1.0);
    assert_eq!(h.hosts[0].nsnet.as_deref(), Some("/usr/local/bin/nsnet"));
    assert_eq!(h.hosts[1].ssh, "root@10.1.0.2");
    assert_eq!(h.hosts[1].address, None);
    assert_eq!(h.hosts[1].capacity, 3.0);
    assert_eq!(hosts("[hosts.a]\n").unwrap().port, spread::DEFAULT_PORT);
}

#[test]
fn a_broken_hosts_file_names_the_place_and_the_fix() {
    let cases = [
        (
            "port = 70000\n[hosts.a]\n",
            "h.toml:1:8: port 70000 is not a UDP port",
        ),
        (
            "[hosts.a]\naddress = \"ten\"\n",
            "h.toml:2:11: \"ten\" is not an IP address",
        ),
        (
            "[hosts.a]\ncapacity = -1.0\n",
            "h.toml:2:12: capacity -1 is not a share",
        ),
        ("[hosts.A_1]\n", "h.toml:1:8: \"A_1\" is not a host name"),
        (
            "[hosts.a]\nssh = \"-oProxyCommand=x\"\n",
            "h.toml:2:7: ssh destination",
        ),
        (
            "[hosts.a]\nnsnet = \"bin/nsnet\"\n",
            "h.toml:2:9: \"bin/nsnet\" is not an absolute path",
        ),
        (
            "[hosts.a]\nsshh = \"x\"\n",
            "h.toml:2:1: unknown field `sshh`",
        ),
        (
            "vni = 0\n[hosts.a]\n",
            "h.toml:1:7: vni 0 is not a VXLAN network identifier",
        ),
        ("port = 1\n", "h.toml:1:1: the hosts file names no host"),
    ];
    for (text, want) in cases {
        let e = hosts(text).expect_err(text);
        assert!(e.starts_with(want), "{text:?}: want {want:?}, got:\n{e}");
        assert!(
            e.contains("\n  fix: ") || want.contains("unknown field"),
            "{e}"
        );
    }
}

/// Every node on exactly one host, switch copies aside; tunnels in pairs with one VNI, the
/// addresses crossed; routes and addresses as the one-machine plan has them.
#[track_caller]
fn check_parts(plan: &Plan, h: &Hosts, place: &Placement, mtu: u32) -> Vec<spread::Part> {
    let parts = spread::split(plan, h, place, &addrs(h), mtu).unwrap();
    for p in &parts {
        spread::check_part(&p.plan).unwrap();
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut ends: BTreeMap<u32, Vec<(usize, IpAddr, IpAddr)>> = BTreeMap::new();
    for p in &parts {
        for n in &p.plan.nodes {
            let whole = plan.node(&n.name).unwrap();
            let own = place.host_of[plan.node_index(&n.name).unwrap()] == p.host;
            if own {
                *seen.entry(n.name.clone()).or_default() += 1;
                assert_eq!(
                    n.routes, whole.routes,
                    "{}: routes as on one machine",
                    n.name
                );
            } else {
                assert_eq!(
                    n.kind,
                    Kind::Switch,
                    "only switches have copies: {}",
                    n.name
                );
            }
            for i in &n.interfaces {
                let l = &p.plan.links[i.link];
                assert!(
                    l.a.node == n.name || l.b.node == n.name,
                    "{}:{}",
                    n.name,
                    i.name
                );
                if let Some(w) = whole.interface(&i.name) {
                    assert_eq!(i.addrs, w.addrs);
                }
            }
        }
        for t in &p.plan.tunnels {
            assert_eq!(t.local, h.hosts[p.host].address.unwrap());
            assert!(p.plan.node(&t.node).unwrap().interface(&t.iface).is_some());
            ends.entry(t.vni)
                .or_default()
                .push((p.host, t.local, t.remote));
        }
        // A local link has both its ends in this part.
        let tunneled: BTreeSet<usize> = p.plan.tunnels.iter().map(|t| t.link).collect();
        for (li, l) in p.plan.links.iter().enumerate() {
            if !tunneled.contains(&li) {
                for e in [&l.a, &l.b] {
                    assert!(p.plan.node(&e.node).unwrap().interface(&e.iface).is_some());
                }
            }
        }
    }
    assert_eq!(seen.len(), plan.nodes.len());
    assert!(seen.values().all(|&c| c == 1));
    for (vni, e) in &ends {
        assert_eq!(e.len(), 2, "vni {vni}: two ends");
        assert_ne!(e[0].0, e[1].0, "vni {vni}: on two hosts");
        assert_eq!(
            (e[0].1, e[0].2),
            (e[1].2, e[1].1),
            "vni {vni}: addresses crossed"
        );
    }
    parts
}

#[test]
fn pins_place_nodes_and_crossing_links_become_tunnel_pairs() {
    let plan = ok(r#"
[nodes]
h1 = { host = "m1" }
h2 = { host = "m2" }
r1 = { kind = "router", host = "m1" }
r2 = { kind = "router", host = "m2" }
[[links]]
endpoints = ["h1", "r1"]
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "h2"]
"#);
    let h = n_hosts(2);
    let place = spread::place(&plan, &h).unwrap();
    let on = |n: &str| place.host_of[plan.node_index(n).unwrap()];
    assert_eq!((on("h1"), on("r1"), on("h2"), on("r2")), (0, 0, 1, 1));
    let cost = spread::cost(&plan, &h, &place);
    assert_eq!(cost.crossing.len(), 1);
    assert_eq!(cost.crossing[0].0.to_string(), "r1:eth1");
    let parts = check_parts(&plan, &h, &place, 1450);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].plan.tunnels.len(), 1);
    // The crossing link's segment carries 1450 at most; the others keep the default.
    let r1 = parts[0].plan.node("r1").unwrap();
    assert_eq!(r1.interface("eth1").unwrap().mtu, Some(1450));
    assert_eq!(r1.interface("eth0").unwrap().mtu, None);
    // Every part's /etc/hosts names every node of the lab.
    assert!(parts[1].plan.hosts_file().contains("\th1 h1-eth0"));
}

#[test]
fn a_switch_over_two_hosts_is_a_bridge_on_each_joined_by_one_trunk() {
    let plan = ok(r#"
[nodes]
a1 = { host = "m1" }
a2 = { host = "m1" }
b1 = { host = "m2" }
b2 = { host = "m2" }
b3 = { host = "m2" }
s1 = { kind = "switch", host = "m1" }
[[links]]
endpoints = ["a1", "s1"]
[[links]]
endpoints = ["a2", "s1"]
[[links]]
endpoints = ["b1", "s1"]
[[links]]
endpoints = ["b2", "s1"]
[[links]]
endpoints = ["b3", "s1"]
"#);
    let h = n_hosts(2);
    let place = spread::place(&plan, &h).unwrap();
    let cost = spread::cost(&plan, &h, &place);
    assert!(cost.crossing.is_empty(), "{:?}", cost.crossing);
    assert_eq!(cost.copies, [("s1".to_string(), "m2".to_string())]);
    let parts = check_parts(&plan, &h, &place, 1450);
    let s1_m1 = parts[0].plan.node("s1").unwrap();
    let s1_m2 = parts[1].plan.node("s1").unwrap();
    let names = |n: &nsnet_lab::NodePlan| -> Vec<String> {
        n.interfaces.iter().map(|i| i.name.clone()).collect()
    };
    assert_eq!(names(s1_m1), ["eth0", "eth1", "vxh1"]);
    assert_eq!(names(s1_m2), ["eth2", "eth3", "eth4", "vxh0"]);
    assert_eq!(parts[0].plan.tunnels.len(), 1);
    assert_eq!(parts[1].plan.tunnels.len(), 1);
    // One subnet, and every interface on it lowered to what the trunk carries.
    for p in &parts {
        for n in &p.plan.nodes {
            for i in &n.interfaces {
                assert_eq!(i.mtu, Some(1450), "{}:{}", n.name, i.name);
            }
        }
    }
}

#[test]
fn a_link_mtu_larger_than_the_tunnels_carry_is_refused() {
    let plan = ok(r#"
[nodes]
r1 = { kind = "router", host = "m1" }
r2 = { kind = "router", host = "m2" }
[[links]]
endpoints = ["r1", "r2"]
mtu = 9000
"#);
    let h = n_hosts(2);
    let place = spread::place(&plan, &h).unwrap();
    let e = spread::split(&plan, &h, &place, &addrs(&h), 1450).unwrap_err();
    assert!(e.to_string().contains("MTU 9000"), "{e}");
    assert!(e.hint.unwrap().contains("mtu = 1450"));
}

#[test]
fn a_pin_to_a_host_the_file_does_not_name_is_an_error() {
    let plan = ok("[nodes]\nh1 = { host = \"m9\" }\n");
    let e = spread::place(&plan, &n_hosts(2)).unwrap_err();
    assert!(e.message.contains("pinned to host m9"), "{e}");
    assert!(e.hint.unwrap().contains("m1, m2"));
    let bad = common::lab("[nodes]\nh1 = { host = \"M 9\" }\n").unwrap_err();
    assert!(
        bad.starts_with("t.toml:2:15: host \"M 9\" is not a host name"),
        "{bad}"
    );
}

#[test]
fn generated_labs_split_balanced_with_few_crossing_links() {
    // (shape, hosts, the most tunnels it may take): a line over 4 needs 3, a 10x10 grid over
    // 4 needs 20, a star 1 trunk; a fat-tree's cores reach every pod, so a half of it cuts
    // a quarter of its core links at least (k=8: 64 of 256).
    for (shape, k, most) in [
        (Shape::FatTree(8), 2, 64),
        (Shape::FatTree(8), 4, 112),
        (Shape::Tree(3, 5), 3, 10),
        (Shape::Line(60), 4, 3),
        (Shape::Grid(10, 10), 4, 24),
        (Shape::Star(40), 2, 1),
    ] {
        let plan = gen(shape);
        let h = n_hosts(k);
        let place = spread::place(&plan, &h).unwrap();
        let cost = spread::cost(&plan, &h, &place);
        let n = plan.nodes.len();
        let max = cost.nodes.iter().max().unwrap();
        assert!(
            *max as f64 <= (n as f64 / k as f64) * 1.03 + 1.0,
            "{shape:?} over {k}: loads {:?}",
            cost.nodes
        );
        // Fewer links cross than a split by name would cut, and no more than `most`.
        let naive = Placement {
            host_of: (0..n).map(|i| i * k / n).collect(),
        };
        let tunnels = |c: &spread::Cost| c.crossing.len() + c.copies.len();
        let naive_cut = tunnels(&spread::cost(&plan, &h, &naive));
        eprintln!(
            "{shape:?} over {k}: {} tunnels, by name {naive_cut}",
            tunnels(&cost)
        );
        assert!(
            tunnels(&cost) <= most && tunnels(&cost) <= naive_cut,
            "{shape:?} over {k}: {} tunnels (at most {most}), a split by name {naive_cut}",
            tunnels(&cost)
        );
        check_parts(&plan, &h, &place, 1450);
    }
}

#[test]
fn a_part_nsnet_did_not_make_is_refused() {
    let plan = ok(r#"
[nodes]
r1 = { kind = "router", host = "m1" }
r2 = { kind = "router", host = "m2" }
[[links]]
endpoints = ["r1", "r2"]
"#);
    let h = n_hosts(2);
    let place = spread::place(&plan, &h).unwrap();
    let good = spread::split(&plan, &h, &place, &addrs(&h), 1450).unwrap()[0]
        .plan
        .clone();
    let refused = |what: &str, f: &dyn Fn(&mut Plan)| {
        let mut p = good.clone();
        f(&mut p);
        let e = spread::check_part(&p).expect_err(what);
        assert!(
            e.message.contains("not one nsnet made") || e.message.contains("lab name"),
            "{what}: {e}"
        );
    };
    refused("a node name that is a path", &|p| {
        p.nodes[0].name = "../r1".into()
    });
    refused("an interface name with a slash", &|p| {
        p.nodes[0].interfaces[0].name = "a/b".into()
    });
    refused("a link index out of range", &|p| {
        p.nodes[0].interfaces[0].link = 99
    });
    refused("a tunnel to no interface", &|p| {
        p.tunnels[0].iface = "eth9".into()
    });
    refused("a VNI past 24 bits", &|p| p.tunnels[0].vni = 1 << 24);
    refused("a lab name that is a path", &|p| p.lab = "../x".into());
    refused("nodes out of order", &|p| {
        let mut n = p.nodes[0].clone();
        n.name = "a0".into();
        n.interfaces.clear();
        p.nodes.push(n);
    });
}

#[test]
fn a_link_that_stays_on_one_host_keeps_its_mtu() {
    let plan = ok(r#"
[nodes]
h1 = { host = "m1" }
r1 = { kind = "router", host = "m1" }
r2 = { kind = "router", host = "m2" }
[[links]]
endpoints = ["h1", "r1"]
mtu = 9000
[[links]]
endpoints = ["r1", "r2"]
"#);
    let h = n_hosts(2);
    let place = spread::place(&plan, &h).unwrap();
    let parts = spread::split(&plan, &h, &place, &addrs(&h), 1450).unwrap();
    let m1 = &parts[0].plan;
    assert_eq!(
        m1.links[0].mtu,
        Some(9000),
        "the link and its interfaces agree"
    );
    assert_eq!(
        m1.node("r1").unwrap().interface("eth0").unwrap().mtu,
        Some(9000)
    );
    assert_eq!(m1.links[1].mtu, Some(1450));
    assert_eq!(
        m1.node("r1").unwrap().interface("eth1").unwrap().mtu,
        Some(1450)
    );
}
