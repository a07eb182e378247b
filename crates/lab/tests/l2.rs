//! What labs written for other tools need: L2-only links and endpoints, MACs, stretched
//! segments, loopbacks, IPv6-only and link-local next hops. No root needed.

mod common;

use common::{addrs, err_at, ok, routes};

#[test]
fn l2_links_leave_both_ends_unaddressed() {
    let p = ok(r#"
[nodes]
a = {}
b = {}
[[links]]
endpoints = ["a", "b"]
l2 = true
"#);
    assert!(addrs(&p, "a", "eth0").is_empty());
    assert!(addrs(&p, "b", "eth0").is_empty());
    assert_eq!(p.segments[0].subnet4, None);
    assert!(routes(&p, "a").is_empty());
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nl2=true\nsubnet=\"10.0.0.0/24\"\n",
        5,
        11,
        "an `l2` link has no addresses and no subnet",
    );
}

#[test]
fn endpoint_tables_give_macs_addresses_or_none() {
    let p = ok(r#"
[nodes]
r = { kind = "router" }
h = {}
[[links]]
endpoints = [
  { node = "r", iface = "lan", mac = "02:aa:00:00:00:01", address = "none" },
  { node = "h", address = "192.168.7.9/24" },
]
"#);
    let r = p.node("r").unwrap();
    assert_eq!(
        r.interface("lan").unwrap().mac.to_string(),
        "02:aa:00:00:00:01"
    );
    assert!(addrs(&p, "r", "lan").is_empty());
    assert_eq!(addrs(&p, "h", "eth0"), ["192.168.7.9/24"]);
    // The unaddressed end is no member of its segment's L3.
    assert_eq!(p.segments[0].members.len(), 1);

    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[{node=\"a\",mac=\"01:00:00:00:00:01\"},\"b\"]\n",
        5,
        12,
        "multicast MAC",
    );
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[{node=\"a\",mac=\"02:00:00:00:00\"},\"b\"]\n",
        5,
        12,
        "is not a MAC address",
    );
    err_at(
        "[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[{node=\"a\",mac=\"02:00:00:00:00:01\"},\"b\"]\n[[links]]\nendpoints=[{node=\"c\",mac=\"02:00:00:00:00:01\"},\"b\"]\n",
        8,
        12,
        "MAC 02:00:00:00:00:01 is used twice in the lab (also at line 6:12)",
    );
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[{node=\"a\",address=\"10.0.0.1/24\",addresses=[]},\"b\"]\n",
        5,
        12,
        "`address` or `addresses`, not both",
    );
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[{node=\"a\",ifname=\"x\"},\"b\"]\n",
        5,
        22,
        "unknown field `ifname`",
    );
}

#[test]
fn a_named_segment_is_one_subnet_across_links() {
    // Two hosts on either side of a node that bridges them: one L2 domain, one subnet.
    let p = ok(r#"
[nodes]
h1 = {}
h2 = {}
br = { kind = "router" }
r = { kind = "router" }
[[links]]
endpoints = ["h1", { node = "br", address = "none" }]
segment = "lan"
[[links]]
endpoints = ["h2", { node = "br", address = "none" }]
segment = "lan"
[[links]]
endpoints = ["r", { node = "br", address = "none" }]
segment = "lan"
subnet = "10.9.0.0/24"
[[links]]
endpoints = ["r", "h3"]
[nodes.h3]
"#);
    let lan = &p.segments[p.node("h1").unwrap().interfaces[0].segment];
    assert!(lan.stretched);
    assert_eq!(lan.subnet4.unwrap().to_string(), "10.9.0.0/24");
    assert_eq!(lan.members.len(), 3);
    let h1 = addrs(&p, "h1", "eth0");
    let h2 = addrs(&p, "h2", "eth0");
    assert!(h1[0].starts_with("10.9.0.") && h2[0].starts_with("10.9.0."));
    assert_ne!(h1, h2);
    // Hosts on the stretched segment reach the rest through its router.
    let r = addrs(&p, "r", "eth0")[0]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(
        routes(&p, "h1")
            .iter()
            .any(|x| x.contains(&format!("via {r} "))),
        "{:?}",
        routes(&p, "h1")
    );
    // Two subnets for one segment name are refused, with both places.
    err_at(
        "[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nsegment=\"s\"\nsubnet=\"10.0.0.0/24\"\n[[links]]\nendpoints=[\"c\",\"b\"]\nsegment=\"s\"\nsubnet=\"10.0.1.0/24\"\n",
        12,
        8,
        "one segment given two different subnets: 10.0.1.0/24 here, 10.0.0.0/24 at line 8:8",
    );
}

#[test]
fn explicit_addresses_keep_their_own_prefix() {
    let p = ok(r#"
[nodes]
a = {}
b = {}
[[links]]
endpoints = [{ node = "a", address = "10.0.0.1/16" }, { node = "b", address = "10.0.3.2/24" }]
"#);
    assert_eq!(addrs(&p, "a", "eth0"), ["10.0.0.1/16"]);
    assert_eq!(addrs(&p, "b", "eth0"), ["10.0.3.2/24"]);
    assert_eq!(p.segments[0].subnet4.unwrap().to_string(), "10.0.0.0/16");
}

#[test]
fn loopbacks_are_routed_like_subnets() {
    let p = ok(r#"
[lab]
routing = "static"
[nodes]
r1 = { kind = "router", loopback = "10.255.0.1/32" }
r2 = { kind = "router", loopback = ["10.255.0.2/32", "fd00:ff::2/128"] }
h = {}
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "h"]
"#);
    assert_eq!(
        p.node("r1").unwrap().loopback[0].to_string(),
        "10.255.0.1/32"
    );
    let r1 = routes(&p, "r1");
    assert!(
        r1.iter().any(|r| r.starts_with("10.255.0.2/32 via ")),
        "{r1:?}"
    );
    let r2 = routes(&p, "r2");
    assert!(
        r2.iter().any(|r| r.starts_with("10.255.0.1/32 via ")),
        "{r2:?}"
    );
    // The host's default route covers the loopbacks; its name resolves to them first.
    let hosts = p.hosts_file();
    let first_r2 = hosts.lines().find(|l| l.contains("\tr2 ")).unwrap();
    assert!(first_r2.starts_with("10.255.0.2\t"), "{hosts}");
    assert!(hosts.contains("fd00:ff::2\tr2 r2-lo"), "{hosts}");
    // IPv6 is kept on where a loopback has an IPv6 address.
    let r2n = p.node("r2").unwrap();
    assert!(!r2n
        .sysctls
        .iter()
        .any(|s| s.key.ends_with("disable_ipv6") && s.value == "1"));
    err_at(
        "[nodes]\ns={kind=\"switch\",loopback=\"10.0.0.1/32\"}\n",
        2,
        27,
        "no loopback",
    );
    err_at("[nodes]\na={loopback=\"10.0.0.300/32\"}\n", 2, 13, "");
}

#[test]
fn ipv6_only_labs_and_segments() {
    let p = ok(r#"
[lab]
pool = "none"
pool6 = "fd00:6::/48"
[nodes]
r = { kind = "router" }
a = {}
b = {}
[[links]]
endpoints = ["a", "r"]
[[links]]
endpoints = ["r", "b"]
"#);
    for (n, i) in [("a", "eth0"), ("r", "eth0"), ("r", "eth1"), ("b", "eth0")] {
        let a = addrs(&p, n, i);
        assert_eq!(a.len(), 1, "{n} {i}: {a:?}");
        assert!(a[0].starts_with("fd00:6:"), "{n} {i}: {a:?}");
    }
    assert!(
        routes(&p, "a").iter().all(|r| r.contains(':')),
        "{:?}",
        routes(&p, "a")
    );
    assert!(!routes(&p, "a").is_empty());

    // A dual-stack lab with one IPv4-only and one IPv6-only link.
    let p = ok(r#"
[lab]
pool6 = "fd00:7::/48"
[nodes]
a = {}
b = {}
c = {}
[[links]]
endpoints = ["a", "b"]
family = "ipv4"
[[links]]
endpoints = ["b", "c"]
family = "ipv6"
"#);
    assert!(addrs(&p, "a", "eth0").iter().all(|a| !a.contains(':')));
    assert!(addrs(&p, "c", "eth0").iter().all(|a| a.contains(':')));
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nfamily=\"ip4\"\n",
        6,
        8,
        "unknown family `ip4`",
    );
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nfamily=\"ipv6\"\nsubnet=\"10.0.0.0/24\"\n",
        7,
        8,
        "on a segment of family = \"ipv6\"",
    );
}

#[test]
fn ipv6_kept_on_and_link_local_next_hops() {
    let p = ok(r#"
[nodes]
a = { kind = "router", ipv6 = true, routes = [{ to = "10.99.0.0/24", via = "fe80::1", dev = "eth0" }] }
b = {}
[[links]]
endpoints = ["a", "b"]
"#);
    let a = p.node("a").unwrap();
    assert!(!a
        .sysctls
        .iter()
        .any(|s| s.key.ends_with("disable_ipv6") && s.value == "1"));
    let b = p.node("b").unwrap();
    assert!(b
        .sysctls
        .iter()
        .any(|s| s.key.ends_with("disable_ipv6") && s.value == "1"));
    assert!(
        routes(&p, "a").contains(&"10.99.0.0/24 via fe80::1 dev eth0".to_string()),
        "{:?}",
        routes(&p, "a")
    );
    err_at(
        "[nodes]\na={routes=[{to=\"10.99.0.0/24\",via=\"fe80::1\"}]}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n",
        2,
        35,
        "a link-local gateway needs its interface",
    );
    err_at(
        "[nodes]\na={routes=[{to=\"10.99.0.0/24\",via=\"fe80::1\",dev=\"eth7\"}]}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n",
        2,
        35,
        "a has no interface eth7",
    );
}

#[test]
fn node_names_as_people_write_them() {
    let p = ok(r#"
[nodes]
PC1 = {}
leaf_1_0_1 = { kind = "router" }
[[links]]
endpoints = ["PC1", "leaf_1_0_1"]
"#);
    assert!(p.hosts_file().contains("\tPC1 PC1-eth0"));
    let long = "n".repeat(64);
    err_at(&format!("[nodes]\n{long} = {{}}\n"), 2, 1, "");
}
