//! Lab files in, plans or precise errors out. No root needed.

mod common;

use common::{addrs, err_at, lab, ok, routes};
use nsnet_lab::{Cidr, Kind, Lab, Limits, Plan, Root};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

const TWO_ROUTERS: &str = include_str!("../../../labs/two-routers.toml");

#[test]
fn two_routers_plan() {
    let p = ok(TWO_ROUTERS);
    assert_eq!(p.lab, "two-routers");
    assert_eq!(p.nodes.len(), 8);
    assert_eq!(p.segments.len(), 3);
    // LANs get /24s first, then the router link a /30; routers take the lowest addresses.
    assert_eq!(addrs(&p, "r1", "eth0"), ["10.0.0.1/24"]);
    assert_eq!(addrs(&p, "h1", "eth0"), ["10.0.0.2/24"]);
    assert_eq!(addrs(&p, "h2", "eth0"), ["10.0.0.3/24"]);
    assert_eq!(addrs(&p, "r2", "eth1"), ["10.0.1.1/24"]);
    assert_eq!(addrs(&p, "r1", "eth1"), ["10.0.2.1/30"]);
    assert_eq!(addrs(&p, "r2", "eth0"), ["10.0.2.2/30"]);
    assert!(p
        .node("s1")
        .unwrap()
        .interfaces
        .iter()
        .all(|i| i.addrs.is_empty()));
    assert_eq!(p.node("s1").unwrap().bridge.as_deref(), Some("br0"));
    assert_eq!(routes(&p, "h1"), ["default via 10.0.0.1 dev eth0"]);
    assert_eq!(routes(&p, "h4"), ["default via 10.0.1.1 dev eth0"]);
    assert_eq!(routes(&p, "r1"), ["10.0.1.0/24 via 10.0.2.2 dev eth1"]);
    assert_eq!(routes(&p, "r2"), ["10.0.0.0/24 via 10.0.2.1 dev eth0"]);
    let r1 = p.node("r1").unwrap();
    assert!(r1
        .sysctls
        .iter()
        .any(|s| s.key == "net.ipv4.ip_forward" && s.value == "1"));
    assert!(r1
        .sysctls
        .iter()
        .any(|s| s.key == "net.ipv6.conf.all.disable_ipv6"));
    let hosts = p.hosts_file();
    assert!(hosts.contains("10.0.1.3\th4 h4-eth0\n"), "{hosts}");
}

#[test]
fn determinism() {
    let a = ok(TWO_ROUTERS);
    let b = ok(TWO_ROUTERS);
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    // MACs: locally administered unicast, all distinct, and different in another lab.
    let macs: HashSet<_> = a
        .nodes
        .iter()
        .flat_map(|n| n.interfaces.iter().map(|i| i.mac))
        .collect();
    assert_eq!(macs.len(), a.links.len() * 2);
    assert!(macs.iter().all(|m| m.0[0] & 0x03 == 0x02));
    let other = ok(&TWO_ROUTERS.replace("name = \"two-routers\"", "name = \"other\""));
    assert_ne!(
        a.node("h1").unwrap().interfaces[0].mac,
        other.node("h1").unwrap().interfaces[0].mac
    );
}

#[test]
fn json_round_trip() {
    let p = ok(TWO_ROUTERS);
    let back: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(p, back);
}

#[test]
fn parsing_defaults_and_names() {
    let p = ok("[nodes]\na = {}\nb = {}\n[[links]]\nendpoints = [\"a\", \"b:uplink\"]\n");
    assert_eq!(p.lab, "t");
    assert!(!p.dual_stack);
    assert_eq!(p.node("a").unwrap().kind, Kind::Host);
    assert!(p.node("a").unwrap().ssh);
    assert_eq!(p.node("b").unwrap().interfaces[0].name, "uplink");
    assert_eq!(addrs(&p, "a", "eth0"), ["10.0.0.1/30"]);
    // Hosts only: no routes at all.
    assert!(p.nodes.iter().all(|n| n.routes.is_empty()));
    // Explicit interface names are skipped by automatic naming.
    let p = ok("[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n[[links]]\nendpoints=[\"a:eth0\",\"c\"]\n");
    assert_eq!(p.node("a").unwrap().interfaces[0].name, "eth1");
    assert_eq!(p.node("a").unwrap().interfaces[1].name, "eth0");
}

#[test]
fn explicit_values_are_honoured() {
    let p = ok(r#"
[lab]
name = "x"
ssh = false
[nodes]
h1 = { gateway = "192.168.5.254", sysctl = { "net.ipv4.tcp_syncookies" = 0 } }
r1 = { kind = "router", routes = [{ to = "192.0.2.0/24", via = "192.168.5.10" }] }
[[links]]
endpoints = ["h1", "r1"]
addresses = ["192.168.5.10/24", "192.168.5.254/24"]
mtu = 9000
cost = 7
"#);
    assert_eq!(addrs(&p, "h1", "eth0"), ["192.168.5.10/24"]);
    assert_eq!(addrs(&p, "r1", "eth0"), ["192.168.5.254/24"]);
    assert_eq!(p.node("h1").unwrap().interfaces[0].mtu, Some(9000));
    assert_eq!(p.links[0].cost, 7);
    assert!(!p.node("h1").unwrap().ssh);
    assert_eq!(routes(&p, "h1"), ["default via 192.168.5.254 dev eth0"]);
    assert_eq!(routes(&p, "r1"), ["192.0.2.0/24 via 192.168.5.10 dev eth0"]);
    let s = &p.node("h1").unwrap().sysctls;
    assert_eq!(s.last().unwrap().key, "net.ipv4.tcp_syncookies");
    assert_eq!(s.last().unwrap().value, "0");
}

#[test]
fn routing_none_installs_no_computed_routes() {
    let text = TWO_ROUTERS.replace(
        "name = \"two-routers\"",
        "name = \"tr\"\nrouting = \"none\"",
    );
    let p = ok(&text);
    assert!(p.nodes.iter().all(|n| n.routes.is_empty()));
    assert!(p
        .node("r1")
        .unwrap()
        .sysctls
        .iter()
        .any(|s| s.key == "net.ipv4.ip_forward"));
}

#[test]
fn dual_stack() {
    let text = TWO_ROUTERS.replace(
        "name = \"two-routers\"",
        "name = \"tr\"\npool6 = \"fd00:1::/48\"",
    );
    let p = ok(&text);
    assert!(p.dual_stack);
    assert_eq!(addrs(&p, "r1", "eth0"), ["10.0.0.1/24", "fd00:1::1/64"]);
    assert_eq!(addrs(&p, "r1", "eth1"), ["10.0.2.1/30", "fd00:1:0:2::1/64"]);
    assert_eq!(
        routes(&p, "h1"),
        [
            "default via 10.0.0.1 dev eth0",
            "default via fd00:1::1 dev eth0"
        ]
    );
    assert_eq!(
        routes(&p, "r1"),
        [
            "10.0.1.0/24 via 10.0.2.2 dev eth1",
            "fd00:1:0:1::/64 via fd00:1:0:2::2 dev eth1"
        ]
    );
    let r1 = p.node("r1").unwrap();
    assert!(r1
        .sysctls
        .iter()
        .any(|s| s.key == "net.ipv6.conf.all.forwarding"));
    assert!(!r1
        .sysctls
        .iter()
        .any(|s| s.key == "net.ipv6.conf.all.disable_ipv6"));
    let s1 = p.node("s1").unwrap();
    assert!(s1
        .sysctls
        .iter()
        .any(|s| s.key == "net.ipv6.conf.all.disable_ipv6"));
}

#[test]
fn large_star_gets_a_wider_subnet() {
    let mut t = String::from("[nodes]\ns = { kind = \"switch\" }\n");
    for i in 0..600 {
        t.push_str(&format!("h{i} = {{}}\n"));
    }
    for i in 0..600 {
        t.push_str(&format!("[[links]]\nendpoints = [\"h{i}\", \"s\"]\n"));
    }
    let p = ok(&t);
    assert_eq!(p.segments[0].subnet4.unwrap().to_string(), "10.0.0.0/22");
    assert_eq!(addrs(&p, "h599", "eth0"), ["10.0.2.88/22"]);
}

// ---------------------------------------------------------------------------------------
// Validation: each error names the line and column and says how to fix it.

#[test]
fn err_unknown_key_with_hint() {
    let e = err_at(
        "[nodes]\nr1 = { kidn = \"router\" }\n",
        2,
        8,
        "unknown field `kidn`",
    );
    assert!(e.contains("did you mean `kind`?"), "{e}");
    let e = err_at(
        "[lab]\nnmae = \"x\"\n[nodes]\na={}\n",
        2,
        1,
        "unknown field `nmae`",
    );
    assert!(e.contains("did you mean `name`?"), "{e}");
    err_at(
        "[nodes]\na={}\n[[links]]\nendpoints=[\"a\",\"a\"]\nsubnett=\"10.0.0.0/24\"\n",
        5,
        1,
        "unknown field",
    );
}

#[test]
fn err_unknown_node_in_link() {
    let e = err_at(
        "[nodes]\nr1 = {}\nr2 = {}\n[[links]]\nendpoints = [\"r1\", \"r3\"]\n",
        5,
        20,
        "unknown node `r3`",
    );
    assert!(
        e.contains("did you mean `r1`?") || e.contains("did you mean `r2`?"),
        "{e}"
    );
}

#[test]
fn err_self_link() {
    err_at(
        "[nodes]\nr1 = {}\n[[links]]\nendpoints = [\"r1\", \"r1:eth5\"]\n",
        3,
        1,
        "link from r1 to itself",
    );
}

#[test]
fn err_interface_twice_and_bad_name() {
    err_at(
        "[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a:x\",\"b\"]\n[[links]]\nendpoints=[\"a:x\",\"c\"]\n",
        8,
        12,
        "interface a:x is used by two links",
    );
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a:bad/name\",\"b\"]\n",
        5,
        12,
        "not a valid Linux interface name",
    );
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a:waytoolonginterface\",\"b\"]\n",
        5,
        12,
        "1-15 characters",
    );
}

#[test]
fn err_address_used_twice() {
    err_at(
        "[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a\",\"b\"]\naddresses=[\"10.1.0.1/24\",\"10.1.0.1/24\"]\n",
        7,
        26,
        "address 10.1.0.1 is used twice",
    );
}

#[test]
fn err_address_outside_subnet() {
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nsubnet=\"10.1.0.0/24\"\naddresses=[\"10.1.0.1/24\",\"10.2.0.2/24\"]\n",
        7,
        26,
        "outside its segment's subnet 10.1.0.0/24",
    );
}

#[test]
fn err_segment_two_subnets() {
    err_at(
        "[nodes]\ns={kind=\"switch\"}\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"s\"]\nsubnet=\"10.1.0.0/24\"\n[[links]]\nendpoints=[\"b\",\"s\"]\nsubnet=\"10.2.0.0/24\"\n",
        10,
        8,
        "one segment given two different subnets",
    );
}

#[test]
fn err_addresses_on_switch_port() {
    err_at(
        "[nodes]\ns={kind=\"switch\"}\na={}\n[[links]]\nendpoints=[\"a\",\"s\"]\naddresses=[\"10.1.0.1/24\",\"10.1.0.2/24\"]\n",
        6,
        11,
        "addresses on a switch's port",
    );
    // One address, for the non-switch end, is fine.
    let p = ok("[nodes]\ns={kind=\"switch\"}\na={}\n[[links]]\nendpoints=[\"s\",\"a\"]\naddresses=[\"10.1.0.9/24\"]\n");
    assert_eq!(addrs(&p, "a", "eth0"), ["10.1.0.9/24"]);
}

#[test]
fn err_subnet_too_small() {
    err_at(
        "[nodes]\ns={kind=\"switch\"}\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a\",\"s\"]\nsubnet=\"10.1.0.0/30\"\n[[links]]\nendpoints=[\"b\",\"s\"]\n[[links]]\nendpoints=[\"c\",\"s\"]\n",
        8,
        8,
        "too small for its segment: 3 interfaces, room for 2",
    );
}

#[test]
fn err_pool_exhausted() {
    let e = err_at(
        "[lab]\npool = \"10.0.0.0/29\"\n[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n[[links]]\nendpoints=[\"a\",\"c\"]\n[[links]]\nendpoints=[\"b\",\"c\"]\n",
        2,
        8,
        "is exhausted",
    );
    assert!(e.contains("larger pool"), "{e}");
}

#[test]
fn err_explicit_subnets_overlap() {
    err_at(
        "[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nsubnet=\"10.1.0.0/16\"\n[[links]]\nendpoints=[\"a\",\"c\"]\nsubnet=\"10.1.2.0/24\"\n",
        10,
        8,
        "overlaps 10.1.0.0/16",
    );
}

#[test]
fn err_malformed_cidr_and_ip() {
    err_at(
        "[lab]\npool = \"10.0.0/16\"\n[nodes]\na={}\n",
        2,
        8,
        "malformed CIDR",
    );
    err_at(
        "[lab]\npool = \"10.0.0.0\"\n[nodes]\na={}\n",
        2,
        8,
        "no prefix length",
    );
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nsubnet=\"10.0.0.300/24\"\n",
        6,
        8,
        "is not an IPv4 or IPv6 address",
    );
    err_at(
        "[nodes]\na={gateway=\"10.0.0\"}\n",
        2,
        12,
        "gateway `10.0.0` is not an IP address",
    );
    err_at(
        "[lab]\npool = \"10.0.0.1/16\"\n[nodes]\na={}\n",
        2,
        8,
        "host bits set",
    );
}

#[test]
fn err_unknown_kind() {
    let e = err_at(
        "[nodes]\nr1 = { kind = \"rooter\" }\n",
        2,
        15,
        "unknown kind `rooter`",
    );
    assert!(e.contains("did you mean `router`?"), "{e}");
}

#[test]
fn err_files_source_missing() {
    let e = err_at(
        "[nodes]\nr1 = { files = { \"/etc/x.conf\" = \"no/such/file.conf\" } }\n",
        2,
        34,
        "does not exist",
    );
    assert!(e.contains("relative to the lab file"), "{e}");
    assert!(e.contains("tests/no/such/file.conf)"), "{e}");
    err_at(
        "[nodes]\nr1 = { files = { \"/etc/x.conf\" = \"lab.rs/x\" } }\n",
        2,
        34,
        "does not exist",
    );
    // An existing source (this test file itself) is fine, and stored canonical.
    let p = ok("[nodes]\nr1 = { files = { \"/etc/x.conf\" = \"../tests/lab.rs\" } }\n");
    let want =
        std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab.rs")).unwrap();
    assert_eq!(p.node("r1").unwrap().files[0].source, want);
}

/// A scratch directory for one test, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("nsnet-lab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn err_files_sources_that_are_not_regular_files_or_dirs() {
    let file =
        |src: &str| format!("[nodes]\nr1 = {{ files = {{ \"/etc/x.conf\" = \"{src}\" }} }}\n");
    // A directory is a tree to copy whole: taken, and stored canonical.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let p = ok(&file(src.to_str().unwrap()));
    assert_eq!(
        p.node("r1").unwrap().files[0].source,
        std::fs::canonicalize(&src).unwrap()
    );
    // A device.
    let e = err_at(
        &file("/dev/null"),
        2,
        34,
        "`files` source `/dev/null` is not a regular file (/dev/null is a device)",
    );
    assert!(e.contains("fix: name a regular file"), "{e}");
    // A socket; a symlink to a file (resolved and stored canonical), to a directory, to
    // nothing.
    let s = Scratch::new("files");
    let sock = s.0.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    err_at(&file(sock.to_str().unwrap()), 2, 34, "is a socket");
    let real =
        std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab.rs")).unwrap();
    let link = s.0.join("link.conf");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let p = ok(&file(link.to_str().unwrap()));
    assert_eq!(p.node("r1").unwrap().files[0].source, real);
    let dlink = s.0.join("dir-link");
    std::os::unix::fs::symlink(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &dlink).unwrap();
    let p = ok(&file(dlink.to_str().unwrap()));
    assert_eq!(
        p.node("r1").unwrap().files[0].source,
        std::fs::canonicalize(&src).unwrap()
    );
    let dangling = s.0.join("dangling");
    std::os::unix::fs::symlink(s.0.join("nothing"), &dangling).unwrap();
    let e = err_at(
        &file(dangling.to_str().unwrap()),
        2,
        34,
        "is a symbolic link to",
    );
    assert!(e.contains("which does not exist"), "{e}");
}

#[test]
fn err_gateway_and_via_off_segment() {
    let e = err_at(
        "[nodes]\nh={gateway=\"10.9.9.9\"}\nr={kind=\"router\"}\n[[links]]\nendpoints=[\"h\",\"r\"]\n",
        2,
        12,
        "gateway 10.9.9.9 is not on a segment of h",
    );
    assert!(e.contains("10.0.0.0/30 (eth0)"), "{e}");
    err_at(
        "[nodes]\nh={}\nr={kind=\"router\", routes=[{to=\"192.0.2.0/24\", via=\"10.9.9.9\"}]}\n[[links]]\nendpoints=[\"h\",\"r\"]\n",
        3,
        51,
        "route via 10.9.9.9 is not on a segment of r",
    );
}

#[test]
fn err_gateway_on_non_host() {
    let e = err_at(
        "[nodes]\nr={kind=\"router\", gateway=\"10.0.0.1\"}\n",
        2,
        27,
        "`gateway` is for hosts only",
    );
    assert!(e.contains("routes"), "{e}");
}

#[test]
fn err_names() {
    err_at(
        "[lab]\nname = \"Bad_Name\"\n[nodes]\na={}\n",
        2,
        8,
        "lab name `Bad_Name`",
    );
    err_at(
        "[lab]\nname = \"waytoolonglabname\"\n[nodes]\na={}\n",
        2,
        8,
        "1-12 characters",
    );
    err_at("[nodes]\n\"a.b\" = {}\n", 2, 1, "node name `a.b`");
    err_at("[nodes]\n_a = {}\n", 2, 1, "node name `_a`");
    // As people write them: upper case and `_`, and a leading digit.
    let p = ok("[nodes]\nPC1 = {}\nleaf_1_0_1 = {}\n1a = {}\n[[links]]\nendpoints = [\"PC1\", \"leaf_1_0_1\"]\n");
    assert!(p.node("PC1").is_some() && p.node("leaf_1_0_1").is_some());
    err_at("[nodes]\n", 1, 1, "the lab has no nodes");
}

#[test]
fn err_host_sysctl_refused() {
    err_at(
        "[nodes]\na = { sysctl = { \"kernel.pid_max\" = \"5\" } }\n",
        2,
        18,
        "would change the host",
    );
}

#[test]
fn errors_are_all_reported() {
    let e = lab("[nodes]\na = { kind = \"hots\" }\nb = { kind = \"rutr\" }\n").unwrap_err();
    assert_eq!(e.matches("unknown kind").count(), 2, "{e}");
}

// ---------------------------------------------------------------------------------------
// Routes against shortest paths.

fn line_of_routers(n: usize) -> String {
    let mut t = String::from("[nodes]\n");
    for i in 1..=n {
        t.push_str(&format!("r{i} = {{ kind = \"router\" }}\n"));
    }
    t.push_str("ha = {}\nhb = {}\n[[links]]\nendpoints = [\"ha\", \"r1\"]\n");
    for i in 1..n {
        t.push_str(&format!(
            "[[links]]\nendpoints = [\"r{i}\", \"r{}\"]\n",
            i + 1
        ));
    }
    t.push_str(&format!("[[links]]\nendpoints = [\"r{n}\", \"hb\"]\n"));
    t
}

#[test]
fn line_of_five_routers() {
    let p = ok(&line_of_routers(5));
    // 6 segments (ha-r1, 4 router links, r5-hb); each router routes to the 6 - (its own) ones.
    assert_eq!(p.segments.len(), 6);
    for i in 1..=5 {
        let r = p.node(&format!("r{i}")).unwrap();
        assert_eq!(
            r.routes.len(),
            6 - r.interfaces.len(),
            "r{i}: {:?}",
            r.routes
        );
        for route in &r.routes {
            assert_eq!(route.via.len(), 1);
        }
    }
    // r3 reaches hb's segment through r4, and ha's through r2.
    let hb_net = p.node("hb").unwrap().interfaces[0].addrs[0].network();
    let r3 = p.node("r3").unwrap();
    let to_hb = r3.routes.iter().find(|r| r.to == hb_net).unwrap();
    let r4_addr = p.node("r4").unwrap().interfaces[0].addrs[0].addr;
    assert_eq!(to_hb.via[0].via, r4_addr);
    assert_eq!(to_hb.via[0].dev, "eth1");
    check_reachability(&p);
}

fn ring(n: usize) -> String {
    let mut t = String::from("[nodes]\n");
    for i in 0..n {
        t.push_str(&format!("r{i} = {{ kind = \"router\" }}\n"));
    }
    for i in 0..n {
        t.push_str(&format!(
            "[[links]]\nendpoints = [\"r{i}\", \"r{}\"]\n",
            (i + 1) % n
        ));
    }
    t
}

#[test]
fn ring_of_six_has_ecmp_to_the_opposite_side() {
    // A host on r3: from r0, r3's network is 3 hops away both ways round the ring.
    let t = ring(6).replace("[nodes]\n", "[nodes]\nh3 = {}\n")
        + "[[links]]\nendpoints = [\"r3\", \"h3\"]\n";
    let p = ok(&t);
    let h3_net = p.node("h3").unwrap().interfaces[0].addrs[0].network();
    let route = p
        .node("r0")
        .unwrap()
        .routes
        .iter()
        .find(|r| r.to == h3_net)
        .expect("route to h3");
    assert_eq!(route.via.len(), 2, "{route}");
    let devs: HashSet<&str> = route.via.iter().map(|h| h.dev.as_str()).collect();
    assert_eq!(devs, HashSet::from(["eth0", "eth1"]));
    // Its neighbours have one way only.
    let r1 = p
        .node("r1")
        .unwrap()
        .routes
        .iter()
        .find(|r| r.to == h3_net)
        .unwrap();
    assert_eq!(r1.via.len(), 1);
    // In an even ring, link subnets are never tied (each has an end nearer one way).
    assert!(
        p.node("r0")
            .unwrap()
            .routes
            .iter()
            .filter(|r| r.via.len() == 2)
            .count()
            == 1
    );
    check_reachability(&p);
}

#[test]
fn costs_steer_paths() {
    // A triangle where the direct link is expensive: r1 reaches r3's host via r2.
    let p = ok(r#"
[nodes]
r1 = { kind = "router" }
r2 = { kind = "router" }
r3 = { kind = "router" }
h = {}
[[links]]
endpoints = ["r1", "r3"]
cost = 10
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "r3"]
[[links]]
endpoints = ["r3", "h"]
"#);
    let h_net = p.node("h").unwrap().interfaces[0].addrs[0].network();
    let r = p
        .node("r1")
        .unwrap()
        .routes
        .iter()
        .find(|r| r.to == h_net)
        .unwrap()
        .clone();
    assert_eq!(r.via.len(), 1);
    assert_eq!(r.via[0].dev, "eth1", "{r}");
    check_reachability(&p);
}

#[test]
fn two_tier_tree_with_lans() {
    // core router c; two distribution routers d1, d2; each with two LAN switches of 2 hosts.
    let mut t = String::from("[nodes]\nc = { kind = \"router\" }\n");
    let mut links = String::new();
    for d in 1..=2 {
        t.push_str(&format!("d{d} = {{ kind = \"router\" }}\n"));
        links.push_str(&format!("[[links]]\nendpoints = [\"c\", \"d{d}\"]\n"));
        for s in 1..=2 {
            t.push_str(&format!("s{d}{s} = {{ kind = \"switch\" }}\n"));
            links.push_str(&format!("[[links]]\nendpoints = [\"d{d}\", \"s{d}{s}\"]\n"));
            for h in 1..=2 {
                t.push_str(&format!("h{d}{s}{h} = {{}}\n"));
                links.push_str(&format!(
                    "[[links]]\nendpoints = [\"h{d}{s}{h}\", \"s{d}{s}\"]\n"
                ));
            }
        }
    }
    let p = ok(&(t + &links));
    // c routes to all 4 LANs; d1 routes to d2's 2 LANs and the c-d2 link.
    assert_eq!(p.node("c").unwrap().routes.len(), 4);
    assert_eq!(p.node("d1").unwrap().routes.len(), 3);
    let h = p.node("h111").unwrap();
    assert_eq!(h.routes.len(), 1);
    assert_eq!(
        h.routes[0].via[0].via,
        p.node("d1").unwrap().interfaces[1].addrs[0].addr
    );
    check_reachability(&p);
}

#[test]
fn switches_linked_together_form_one_segment() {
    let p = ok("[nodes]\ns1={kind=\"switch\"}\ns2={kind=\"switch\"}\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"s1\"]\n[[links]]\nendpoints=[\"s1\",\"s2\"]\n[[links]]\nendpoints=[\"s2\",\"b\"]\n");
    assert_eq!(p.segments.len(), 1);
    assert_eq!(p.segments[0].switches, ["s1", "s2"]);
    assert_eq!(addrs(&p, "a", "eth0"), ["10.0.0.1/24"]);
    assert_eq!(addrs(&p, "b", "eth0"), ["10.0.0.2/24"]);
}

#[test]
fn two_routers_reachability() {
    check_reachability(&ok(TWO_ROUTERS));
}

// ---------------------------------------------------------------------------------------
// Randomized: hundreds of connected topologies; following the planned next hops from any
// router reaches every subnet, with no loop.

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn random_lab(rng: &mut Rng) -> String {
    let routers = 2 + rng.below(14);
    let mut nodes = String::new();
    let mut links = String::new();
    for i in 0..routers {
        nodes.push_str(&format!("r{i} = {{ kind = \"router\" }}\n"));
    }
    let mut link = |a: String, b: String, cost: usize| {
        links.push_str(&format!(
            "[[links]]\nendpoints = [\"{a}\", \"{b}\"]\ncost = {cost}\n"
        ));
    };
    // A random spanning tree, then extra edges (parallel links allowed).
    for i in 1..routers {
        let j = rng.below(i);
        link(format!("r{i}"), format!("r{j}"), 1 + rng.below(4));
    }
    for _ in 0..rng.below(routers + 1) {
        let (a, b) = (rng.below(routers), rng.below(routers));
        if a != b {
            link(format!("r{a}"), format!("r{b}"), 1 + rng.below(4));
        }
    }
    // LANs: switches with hosts and one or two routers; sometimes two switches chained.
    for s in 0..rng.below(4) {
        nodes.push_str(&format!("s{s} = {{ kind = \"switch\" }}\n"));
        let r = rng.below(routers);
        link(format!("r{r}"), format!("s{s}"), 1 + rng.below(3));
        if rng.below(2) == 0 {
            let r2 = rng.below(routers);
            if r2 != r {
                link(format!("r{r2}"), format!("s{s}"), 1 + rng.below(3));
            }
        }
        for h in 0..1 + rng.below(3) {
            nodes.push_str(&format!("h{s}x{h} = {{}}\n"));
            link(format!("h{s}x{h}"), format!("s{s}"), 1);
        }
        if rng.below(3) == 0 {
            nodes.push_str(&format!("t{s} = {{ kind = \"switch\" }}\nu{s} = {{}}\n"));
            link(format!("s{s}"), format!("t{s}"), 1);
            link(format!("u{s}"), format!("t{s}"), 1);
        }
    }
    // Stub hosts on routers.
    for h in 0..rng.below(4) {
        let r = rng.below(routers);
        nodes.push_str(&format!("p{h} = {{}}\n"));
        link(format!("p{h}"), format!("r{r}"), 1);
    }
    let dual = if rng.below(2) == 0 {
        "pool6 = \"fd00:9::/48\"\n"
    } else {
        ""
    };
    let summarize = if rng.below(2) == 0 {
        "summarize = true\n"
    } else {
        ""
    };
    format!("[lab]\nname = \"rnd\"\n{dual}{summarize}[nodes]\n{nodes}{links}")
}

#[test]
fn randomized_topologies_reach_everything_without_loops() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let text = random_lab(&mut rng);
        let p = lab(&text).unwrap_or_else(|e| panic!("{e}\n--- lab:\n{text}"));
        check_reachability(&p);
    }
}

/// From every router, following every next hop toward every subnet reaches a router on that
/// subnet, never visiting a router twice on a path; hosts' default routes lead to a router.
fn check_reachability(p: &Plan) {
    let owner: HashMap<IpAddr, &str> = p
        .nodes
        .iter()
        .flat_map(|n| n.addrs().map(move |a| (a.addr, n.name.as_str())))
        .collect();
    let subnets: Vec<Cidr> = p
        .segments
        .iter()
        .filter(|s| {
            s.members
                .iter()
                .any(|m| p.node(&m.node).unwrap().kind == Kind::Router)
        })
        .flat_map(|s| [s.subnet4, s.subnet6])
        .flatten()
        .collect();
    let on = |node: &str, net: &Cidr| p.node(node).unwrap().addrs().any(|a| a.network() == *net);
    for r in p.nodes.iter().filter(|n| n.kind == Kind::Router) {
        for net in &subnets {
            // Depth-first over all ECMP branches.
            let mut stack = vec![(r.name.as_str(), vec![r.name.as_str()])];
            while let Some((at, path)) = stack.pop() {
                if on(at, net) {
                    continue;
                }
                let node = p.node(at).unwrap();
                // Longest-prefix match, as the kernel does (summarized labs route subnets
                // by wider prefixes).
                let route = node
                    .route_for(&net.addr)
                    .filter(|rt| rt.to.prefix <= net.prefix)
                    .unwrap_or_else(|| panic!("{at} has no route to {net} (path {path:?})"));
                for hop in &route.via {
                    let next = owner[&hop.via];
                    assert_eq!(p.node(next).unwrap().kind, Kind::Router, "{at} → {next}");
                    // The next hop is on the interface named.
                    let ifc = node.interface(&hop.dev).unwrap();
                    assert!(ifc.addrs.iter().any(|a| a.network().contains(&hop.via)));
                    assert!(
                        !path.contains(&next),
                        "loop toward {net}: {path:?} → {next}"
                    );
                    let mut p2 = path.clone();
                    p2.push(next);
                    stack.push((next, p2));
                }
            }
        }
    }
    for h in p.nodes.iter().filter(|n| n.kind == Kind::Host) {
        for r in &h.routes {
            let next = owner[&r.via[0].via];
            assert_eq!(p.node(next).unwrap().kind, Kind::Router);
        }
    }
}

#[test]
fn pools_at_the_edges_of_the_address_space() {
    // The top of the usable IPv6 space (below ff00::/8) and of IPv4 (below 224.0.0.0/4): no
    // overflow, subnets as expected.
    let p = ok("[lab]\npool6 = \"feff:ffff:ffff:fffe::/63\"\n[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n[[links]]\nendpoints=[\"a\",\"c\"]\n");
    assert_eq!(
        addrs(&p, "a", "eth1"),
        ["10.0.0.5/30", "feff:ffff:ffff:ffff::1/64"]
    );
    let e = lab("[lab]\npool6 = \"feff:ffff:ffff:ffff::/64\"\n[nodes]\na={}\nb={}\nc={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n[[links]]\nendpoints=[\"a\",\"c\"]\n").unwrap_err();
    assert!(e.contains("is exhausted"), "{e}");
    let p = ok("[lab]\npool = \"223.255.255.252/30\"\n[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n");
    assert_eq!(addrs(&p, "a", "eth0"), ["223.255.255.253/30"]);
}

#[test]
fn err_pools_in_reserved_ranges_or_too_small() {
    let pool = |key: &str, v: &str| format!("[lab]\n{key} = \"{v}\"\n[nodes]\na={{}}\n");
    for (v, why) in [
        ("0.0.0.0/0", "`pool` 0.0.0.0/0 is the whole IPv4 space"),
        (
            "127.1.0.0/16",
            "`pool` 127.1.0.0/16 lies in 127.0.0.0/8 (loopback)",
        ),
        ("224.0.0.0/16", "lies in 224.0.0.0/4 (multicast)"),
        ("239.0.0.0/8", "lies in 224.0.0.0/4 (multicast)"),
        ("240.0.0.0/16", "lies in 240.0.0.0/4 (reserved)"),
        ("255.255.255.252/30", "lies in 240.0.0.0/4 (reserved)"),
        ("0.0.0.0/16", "lies in 0.0.0.0/8 (\"this network\")"),
        ("64.0.0.0/2", "covers 127.0.0.0/8 (loopback)"),
        ("128.0.0.0/1", "covers 224.0.0.0/4 (multicast)"),
        ("10.0.0.0/31", "is too small to hold a /30"),
        ("10.0.0.1/32", "is too small to hold a /30"),
    ] {
        let e = err_at(&pool("pool", v), 2, 8, why);
        assert!(
            e.contains("fix: use a private range such as 10.0.0.0/16"),
            "{e}"
        );
    }
    for (v, why) in [
        ("::/0", "`pool6` ::/0 is the whole IPv6 space"),
        ("::1/128", "lies in ::1/128 (loopback)"),
        ("::/64", "covers ::1/128 (loopback)"),
        ("fe80::/64", "lies in fe80::/10 (link-local)"),
        ("ff02::/16", "lies in ff00::/8 (multicast)"),
        ("f000::/4", "covers fe80::/10 (link-local)"),
        ("fd00::/80", "is too small to hold a /64"),
    ] {
        let e = err_at(&pool("pool6", v), 2, 9, why);
        assert!(
            e.contains("fix: use a unique local range such as fd00:1::/48"),
            "{e}"
        );
    }
    ok(&pool("pool", "10.0.0.0/30"));
    ok(&pool("pool", "192.168.0.0/16"));
    ok(&pool("pool6", "fd00::/64"));
    ok(&pool("pool6", "2001:db8::/32"));
}

#[test]
fn err_subnets_and_addresses_no_interface_can_use() {
    let pair = "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n";
    let e = err_at(
        &format!("{pair}subnet = \"127.0.5.0/24\"\n"),
        6,
        10,
        "subnet 127.0.5.0/24 lies in 127.0.0.0/8 (loopback), which no interface can use",
    );
    assert!(
        e.contains("fix: use a private range such as 10.0.0.0/16"),
        "{e}"
    );
    err_at(
        &format!("{pair}subnet = \"224.1.0.0/24\"\n"),
        6,
        10,
        "lies in 224.0.0.0/4 (multicast)",
    );
    err_at(
        &format!("{pair}addresses = [\"10.0.0.1/24\", \"239.1.1.1/24\"]\n"),
        6,
        29,
        "address 239.1.1.1/24 lies in 224.0.0.0/4 (multicast)",
    );
    let e = err_at(
        "[nodes]\nh1={}\ns1={kind=\"switch\"}\n[[links]]\nendpoints=[\"h1\",\"s1\"]\naddresses=[\"ff02::5/64\"]\n",
        6,
        12,
        "address ff02::5/64 lies in ff00::/8 (multicast)",
    );
    assert!(
        e.contains("fix: use a unique local range such as fd00:1::/64"),
        "{e}"
    );
    err_at(
        &format!("{pair}subnet = \"ff05::/64\"\n"),
        6,
        10,
        "subnet ff05::/64 lies in ff00::/8 (multicast)",
    );
}

#[test]
fn routes_recompute_from_a_stored_plan_with_the_lab_files_own() {
    // What `up` stores leaves out `routes`; recomputing must give them back exactly,
    // including the lab file's own route and gateway.
    let text = TWO_ROUTERS
        .replace(
            "r1 = { kind = \"router\" }",
            "r1 = { kind = \"router\", routes = [{ to = \"192.0.2.0/24\", via = \"10.0.2.2\" }] }",
        )
        .replace("h2 = {}", "h2 = { gateway = \"10.0.0.9\" }")
        .replace("h3 = {}", "h3 = {}\nx = {}")
        + "[[links]]\nendpoints = [\"x\", \"s1\"]\naddresses = [\"10.0.0.9/24\"]\n";
    let p = ok(&text);
    assert_eq!(routes(&p, "h2"), ["default via 10.0.0.9 dev eth0"]);
    assert!(routes(&p, "r1").contains(&"192.0.2.0/24 via 10.0.2.2 dev eth1".to_string()));
    let mut stored = p.clone();
    for n in &mut stored.nodes {
        n.routes.clear();
    }
    let stored: Plan = serde_json::from_str(&serde_json::to_string(&stored).unwrap()).unwrap();
    let again = nsnet_lab::plan::routes(&stored, &HashSet::new());
    for (n, r) in p.nodes.iter().zip(again) {
        assert_eq!(n.routes, r, "{}", n.name);
    }
}

#[test]
fn summarized_line_needs_few_routes_and_recomputes_the_same() {
    let text = line_of_routers(1000).replace("[nodes]", "[lab]\nsummarize = true\n[nodes]");
    let p = ok(&text);
    let most = p.nodes.iter().map(|n| n.routes.len()).max().unwrap();
    let total: usize = p.nodes.iter().map(|n| n.routes.len()).sum();
    // About log2(1000) ≈ 10 prefixes a side at most.
    assert!(most <= 24, "a router has {most} routes");
    assert!(total < 20_000, "{total} routes in all");
    // (Reachability of summarized labs: the 7-router line below and the random labs.)
    // Recomputing from the stored plan (routes left out) gives the same summaries.
    let mut stored = p.clone();
    for n in &mut stored.nodes {
        n.routes.clear();
    }
    for (n, r) in p
        .nodes
        .iter()
        .zip(nsnet_lab::plan::routes(&stored, &HashSet::new()))
    {
        assert_eq!(n.routes, r, "{}", n.name);
    }
}

#[test]
fn summaries_never_cover_a_subnet_routed_elsewhere() {
    // Both ends' hosts are reached through different neighbours: no summary merges them.
    let p = ok(&line_of_routers(7).replace("[nodes]", "[lab]\nsummarize = true\n[nodes]"));
    let r4 = p.node("r4").unwrap();
    let ha = p.node("ha").unwrap().interfaces[0].addrs[0].addr;
    let hb = p.node("hb").unwrap().interfaces[0].addrs[0].addr;
    assert_eq!(r4.route_for(&ha).unwrap().via[0].dev, "eth0");
    assert_eq!(r4.route_for(&hb).unwrap().via[0].dev, "eth1");
    assert!(r4.routes.len() < 6, "{:?}", r4.routes);
    check_reachability(&p);
}

// ---------------------------------------------------------------------------------------
// Node resources and privileges: tmpfs_size, log_size, privileged, stp.

#[test]
fn sizes_privileged_and_stp_reach_the_plan() {
    use nsnet_lab::plan::{DEFAULT_LOG_SIZE, DEFAULT_TMPFS_SIZE};
    let p = ok("[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n");
    assert_eq!(p.log_size, DEFAULT_LOG_SIZE);
    assert!(p
        .nodes
        .iter()
        .all(|n| n.tmpfs_size == DEFAULT_TMPFS_SIZE && !n.privileged && !n.stp));
    let text = "[lab]\ntmpfs_size = \"128M\"\nlog_size = \"512K\"\n[nodes]\n\
                a = { tmpfs_size = \"1GiB\", privileged = true }\nb = {}\n\
                c = { tmpfs_size = 2097152 }\ns = { kind = \"switch\", stp = true }\n\
                [[links]]\nendpoints=[\"a\",\"s\"]\n[[links]]\nendpoints=[\"b\",\"s\"]\n";
    let p = ok(text);
    assert_eq!(p.log_size, 512 << 10);
    let a = p.node("a").unwrap();
    assert_eq!((a.tmpfs_size, a.privileged), (1 << 30, true));
    assert_eq!(p.node("b").unwrap().tmpfs_size, 128 << 20);
    assert_eq!(p.node("c").unwrap().tmpfs_size, 2 << 20);
    assert!(p.node("s").unwrap().stp);
    assert!(!p.node("b").unwrap().privileged);
    // `nsnet plan` shows what is not the default, and nothing else.
    let t = nsnet_lab::render::text(&p);
    assert!(t.contains("\nlog_size 512K\n"), "{t}");
    assert!(
        t.contains("\na (host)\n  tmpfs_size 1G\n  privileged\n"),
        "{t}"
    );
    assert!(
        t.contains("\ns (switch)\n  tmpfs_size 128M\n  stp\n"),
        "{t}"
    );
    let plain = nsnet_lab::render::text(&ok(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n",
    ));
    assert!(
        !plain.contains("tmpfs_size") && !plain.contains("log_size"),
        "{plain}"
    );
}

#[test]
fn err_sizes_out_of_range_or_malformed() {
    let e = err_at(
        "[lab]\ntmpfs_size = \"512K\"\n[nodes]\na={}\n",
        2,
        14,
        "tmpfs_size \"512K\" is too small: at least 1M",
    );
    assert!(e.contains("fix: give a size from 1M to 64G"), "{e}");
    err_at(
        "[nodes]\na={ tmpfs_size = \"65G\" }\n",
        2,
        18,
        "tmpfs_size \"65G\" is too large: at most 64G",
    );
    let e = err_at(
        "[nodes]\na={ tmpfs_size = \"1.5G\" }\n",
        2,
        18,
        "tmpfs_size: `1.5G` is not a size",
    );
    assert!(e.contains("K, M or G"), "{e}");
    err_at(
        "[lab]\nlog_size = 1000\n[nodes]\na={}\n",
        2,
        12,
        "log_size 1000 is too small: at least 64K",
    );
    err_at(
        "[lab]\nlog_size = \"2G\"\n[nodes]\na={}\n",
        2,
        12,
        "log_size \"2G\" is too large: at most 1G",
    );
    err_at(
        "[lab]\nlog_size = \"4Mb\"\n[nodes]\na={}\n",
        2,
        12,
        "log_size: `4Mb` is not a size",
    );
    err_at(
        "[nodes]\na={ tmpfs_size = -1 }\n",
        2,
        18,
        "tmpfs_size: size -1 is negative",
    );
    // Unknown keys near the new ones get a hint.
    let e = err_at(
        "[nodes]\na={ tmpfs_sise = \"1G\" }\n",
        2,
        5,
        "unknown field",
    );
    assert!(e.contains("did you mean `tmpfs_size`?"), "{e}");
}

#[test]
fn err_stp_on_a_node_that_is_not_a_switch() {
    let e = err_at(
        "[nodes]\nr = { kind = \"router\", stp = true }\n",
        2,
        30,
        "stp is a switch's key, and r is a router",
    );
    assert!(e.contains("fix: remove it"), "{e}");
    err_at(
        "[nodes]\nh = { stp = false }\n",
        2,
        13,
        "stp is a switch's key",
    );
}

// ---------------------------------------------------------------------------------------
// L2: loops of switches, bridge port limits.

#[test]
fn err_two_switches_joined_twice_is_a_loop() {
    let text = "[nodes]\ns1 = { kind = \"switch\" }\ns2 = { kind = \"switch\" }\na = {}\n\
                [[links]]\nendpoints = [\"s1\", \"s2\"]\n[[links]]\nendpoints = [\"a\", \"s1\"]\n\
                [[links]]\nendpoints = [\"s2\", \"s1\"]\n";
    let e = err_at(text, 10, 13, "closes a loop of switches s2, s1");
    assert!(e.contains("(the links at lines 6, 10)"), "{e}");
    assert!(
        e.contains("fix: set stp = true on switches s2, s1 (the kernel's spanning tree then blocks one port), or remove one of these links"),
        "{e}"
    );
    // With STP on both, the loop is the spanning tree's to break.
    let p = ok(&text
        .replace(
            "s1 = { kind = \"switch\" }",
            "s1 = { kind = \"switch\", stp = true }",
        )
        .replace(
            "s2 = { kind = \"switch\" }",
            "s2 = { kind = \"switch\", stp = true }",
        ));
    assert!(p.node("s1").unwrap().stp && p.node("s2").unwrap().stp);
    assert_eq!(p.segments.len(), 1);
    // STP on one of the two is not enough: the fix names the other.
    let e = lab(&text.replace(
        "s1 = { kind = \"switch\" }",
        "s1 = { kind = \"switch\", stp = true }",
    ))
    .unwrap_err();
    assert!(e.contains("fix: set stp = true on switch s2 ("), "{e}");
}

#[test]
fn err_triangle_of_switches_is_a_loop_at_the_closing_link() {
    let text = "[nodes]\ns1 = { kind = \"switch\" }\ns2 = { kind = \"switch\" }\n\
                s3 = { kind = \"switch\" }\ns4 = { kind = \"switch\" }\n\
                [[links]]\nendpoints = [\"s1\", \"s2\"]\n[[links]]\nendpoints = [\"s2\", \"s3\"]\n\
                [[links]]\nendpoints = [\"s3\", \"s4\"]\n[[links]]\nendpoints = [\"s3\", \"s1\"]\n";
    let e = err_at(text, 13, 13, "closes a loop of switches s3, s2, s1");
    assert!(e.contains("lines 7, 9, 13"), "{e}");
    assert!(!e.contains("s4"), "{e}");
    assert_eq!(
        e.lines().filter(|l| l.starts_with("t.toml")).count(),
        1,
        "{e}"
    );
    ok(&text.replace("kind = \"switch\" }", "kind = \"switch\", stp = true }"));
}

#[test]
fn hosts_and_routers_twice_on_a_switch_are_no_loop() {
    let p = ok(
        "[nodes]\ns1 = { kind = \"switch\" }\ns2 = { kind = \"switch\" }\n\
                h = {}\nr = { kind = \"router\" }\n\
                [[links]]\nendpoints = [\"h\", \"s1\"]\n[[links]]\nendpoints = [\"h\", \"s1\"]\n\
                [[links]]\nendpoints = [\"r\", \"s1\"]\n[[links]]\nendpoints = [\"r\", \"s2\"]\n\
                [[links]]\nendpoints = [\"s1\", \"s2\"]\n",
    );
    assert_eq!(p.segments.len(), 1);
}

#[test]
fn err_switch_with_more_ports_than_a_bridge_has() {
    let star = |n: usize| {
        let mut t =
            String::from("[lab]\npool = \"10.0.0.0/8\"\n[nodes]\ns = { kind = \"switch\" }\n");
        for i in 0..n {
            t.push_str(&format!("h{i} = {{}}\n"));
        }
        for i in 0..n {
            t.push_str(&format!("[[links]]\nendpoints = [\"h{i}\", \"s\"]\n"));
        }
        t
    };
    ok(&star(1023));
    // Header 4 lines + 1024 nodes; link k (from 0) has its endpoints on line 1029 + 2k + 1.
    let e = err_at(
        &star(1024),
        1029 + 2 * 1023 + 1,
        23,
        "switch s gets its port 1024 here: a Linux bridge has at most 1023",
    );
    assert!(
        e.contains("fix: split it into several switches joined by links (e.g. a tree of switches: `nsnet gen tree`)"),
        "{e}"
    );
}

#[test]
fn err_mtu_above_65535_and_below_1280_with_ipv6() {
    let pair = "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\n";
    let e = err_at(
        &format!("{pair}mtu = 70000\n"),
        6,
        7,
        "MTU 70000 is above 65535",
    );
    assert!(e.contains("fix: use at most 65535"), "{e}");
    assert_eq!(
        ok(&format!("{pair}mtu = 65535\n")).links[0].mtu,
        Some(65535)
    );
    // IPv4 only: a small MTU is fine.
    ok(&format!("{pair}mtu = 1000\n"));
    // Dual-stack lab, an IPv6 subnet, an IPv6 address: each needs 1280.
    let e = err_at(
        &format!("[lab]\npool6 = \"fd00::/48\"\n{pair}mtu = 1000\n"),
        8,
        7,
        "IPv6 needs an MTU of at least 1280",
    );
    assert!(e.contains("fix: raise the MTU to 1280 or more"), "{e}");
    err_at(
        &format!("{pair}subnet = \"fd00:1::/64\"\nmtu = 1279\n"),
        7,
        7,
        "IPv6 needs an MTU of at least 1280",
    );
    err_at(
        &format!("{pair}addresses = [\"fd00:1::1/64\", \"fd00:1::2/64\"]\nmtu = 576\n"),
        7,
        7,
        "IPv6 needs an MTU of at least 1280",
    );
    ok(&format!("[lab]\npool6 = \"fd00::/48\"\n{pair}mtu = 1280\n"));
    // A switch port of a segment with IPv6 carries it too.
    err_at(
        "[lab]\npool6 = \"fd00::/48\"\n[nodes]\ns={kind=\"switch\"}\na={}\nb={}\n\
         [[links]]\nendpoints=[\"a\",\"s\"]\n[[links]]\nendpoints=[\"b\",\"s\"]\nmtu = 1200\n",
        11,
        7,
        "IPv6 needs an MTU of at least 1280",
    );
}

// ---------------------------------------------------------------------------------------
// Reading lab files: only regular files, at most 4 MiB, read with that bound.

fn load_err(path: &Path) -> String {
    Lab::load(path).expect_err("expected an error").to_string()
}

#[test]
fn err_lab_file_not_regular_or_too_large() {
    let e = load_err(Path::new("/dev/zero"));
    assert!(
        e.starts_with("/dev/zero: not a regular file (a device, FIFO or socket)"),
        "{e}"
    );
    assert!(e.contains("fix: give the path of a lab file"), "{e}");
    let s = Scratch::new("load");
    let e = load_err(&s.0);
    assert!(e.contains(": not a regular file (a directory)"), "{e}");
    if std::process::Command::new("mkfifo")
        .arg(s.0.join("fifo.toml"))
        .status()
        .is_ok_and(|st| st.success())
    {
        // Opening a FIFO would block until a writer comes: refused before it is opened.
        let e = load_err(&s.0.join("fifo.toml"));
        assert!(e.contains("not a regular file"), "{e}");
    }
    let big = s.0.join("big.toml");
    let mut text = String::from("[nodes]\na = {}\n");
    text.push_str(&"#".repeat((4 << 20) + 1 - text.len() - 1));
    text.push('\n');
    std::fs::write(&big, &text).unwrap();
    let e = load_err(&big);
    assert!(
        e.contains("big.toml: is 4194305 bytes; a lab file is at most 4 MiB"),
        "{e}"
    );
    // Exactly 4 MiB is fine, and so is a symlink to a lab file.
    text.truncate(text.len() - 2);
    text.push('\n');
    std::fs::write(&big, &text).unwrap();
    assert_eq!(Lab::load(&big).unwrap().nodes.len(), 1);
    let link = s.0.join("link.toml");
    std::os::unix::fs::symlink(&big, &link).unwrap();
    assert_eq!(Lab::load(&link).unwrap().name, "link");
    let e = load_err(&s.0.join("missing.toml"));
    assert!(e.contains("cannot read the lab file: No such file"), "{e}");
}

#[test]
fn a_given_name_replaces_the_stem_and_is_checked_alike() {
    let text = "[nodes]\na = {}\n";
    let named = |stem: &str, name: Option<&str>| {
        Lab::from_toml_named(text, "My_Lab.toml", Some(stem), None, name)
            .map(|l| l.name)
            .map_err(|e| e.to_string())
    };
    // The stem is not a lab name: an error without a name, none with one.
    let e = named("My_Lab", None).unwrap_err();
    assert!(
        e.contains("the file name `My_Lab` is not a valid lab name"),
        "{e}"
    );
    assert_eq!(named("My_Lab", Some("ok")).unwrap(), "ok");
    // The given name follows the same rule.
    let e = named("t", Some("Bad_Name")).unwrap_err();
    assert!(
        e.starts_with(
            "My_Lab.toml: the lab name given, `Bad_Name`, must start with a lowercase letter"
        ),
        "{e}"
    );
    assert!(
        e.contains("fix: use 1-12 characters of a-z, 0-9 and -"),
        "{e}"
    );
    assert!(named("t", Some("much-too-long-name")).is_err());
    // It wins over [lab] name, which is still checked (it is the file's).
    let with = |lab_name: &str| {
        Lab::from_toml_named(
            &format!("[lab]\nname = \"{lab_name}\"\n{text}"),
            "t.toml",
            Some("t"),
            None,
            Some("given"),
        )
        .map(|l| l.name)
        .map_err(|e| e.to_string())
    };
    assert_eq!(with("x").unwrap(), "given");
    assert!(with("X").unwrap_err().contains("t.toml:2:8: lab name `X`"));
    // From disk.
    let s = Scratch::new("named");
    let f = s.0.join("My_Lab.toml");
    std::fs::write(&f, text).unwrap();
    assert!(Lab::load(&f).is_err());
    assert_eq!(Lab::load_named(&f, Some("ok")).unwrap().name, "ok");
}

#[test]
fn an_address_may_have_another_prefix_than_its_segment() {
    // Given explicitly, an address keeps its own prefix length inside the segment's subnet.
    let p = ok(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nsubnet=\"10.0.1.0/24\"\naddresses=[\"10.0.1.4/24\",\"10.0.1.5/25\"]\n",
    );
    assert_eq!(
        p.node("b").unwrap().interfaces[0].addrs[0].to_string(),
        "10.0.1.5/25"
    );
    assert_eq!(p.segments[0].subnet4.unwrap().to_string(), "10.0.1.0/24");
    // With no subnet given, the widest network the addresses imply is the segment's.
    let p = ok(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\naddresses=[\"10.0.1.4/24\",\"10.0.1.5/23\"]\n",
    );
    assert_eq!(p.segments[0].subnet4.unwrap().to_string(), "10.0.0.0/23");
    // Really outside: the address is printed, not its network.
    err_at(
        "[nodes]\na={}\nb={}\n[[links]]\nendpoints=[\"a\",\"b\"]\nsubnet=\"10.1.0.0/24\"\naddresses=[\"10.1.0.1/24\",\"10.2.0.2/24\"]\n",
        7,
        26,
        "address 10.2.0.2/24 is outside its segment's subnet 10.1.0.0/24",
    );
}

#[test]
fn private_dirs_nest_but_are_not_listed_twice() {
    let p = ok("[nodes]\na = { private = [\"/var/www\", \"/var/www/html\", \"/etc/frr/\"], files = { \"/var/www/html/index.html\" = \"lab.rs\" } }\n");
    let private: Vec<&str> = p
        .node("a")
        .unwrap()
        .private
        .iter()
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(private, ["/var/www", "/var/www/html", "/etc/frr"]);
    let e = err_at(
        "[nodes]\na = { private = [\"/var/www\", \"/etc\", \"/var//www/\"] }\n",
        2,
        38,
        "private directory /var/www is listed twice (also at line 2:18)",
    );
    assert!(e.contains("fix: list it once"), "{e}");
    // Not absolute: still an error.
    err_at(
        "[nodes]\na = { private = [\"var/www\"] }\n",
        2,
        18,
        "must be an absolute path",
    );
}

#[test]
fn node_software_keys() {
    let s = Scratch::new("software");
    std::fs::create_dir_all(s.0.join("tree/etc")).unwrap();
    std::fs::write(s.0.join("img.tar"), b"").unwrap();
    let dir = s.0.display();
    let p = ok(&format!(
        r#"[lab]
cpu = 0.5
memory = "256M"

[nodes]
a = {{ root = "overlay", services = ["frr", "bind9.service"], pids = 64 }}
b = {{ root = "{dir}/img.tar", cpu = 0.1 }}
c = {{ root = "{dir}", tree = "{dir}/tree" }}
d = {{ tree = "{dir}/tree", private = ["/var/www", {{ path = "/var/cache/bind", mode = "0775", owner = "root", group = "bind" }}] }}
e = {{}}
"#
    ));
    let n = |name: &str| p.node(name).unwrap().clone();
    assert_eq!(n("a").root, Root::Overlay);
    assert_eq!(n("a").services, ["frr", "bind9"]);
    assert_eq!(
        n("a").limits,
        Limits {
            millicpu: Some(500),
            memory: Some(256 << 20),
            pids: Some(64)
        }
    );
    let canon = std::fs::canonicalize(&s.0).unwrap();
    assert_eq!(n("b").root, Root::Image(canon.join("img.tar")));
    assert_eq!(n("b").limits.millicpu, Some(100));
    assert_eq!(n("c").root, Root::Dir(canon.clone()));
    assert_eq!(n("c").tree, Some(canon.join("tree")));
    // A tree over the host's own root makes it a copy-on-write overlay of it.
    assert_eq!(n("d").root, Root::Overlay);
    assert_eq!(n("d").private[1].mode, Some(0o775));
    assert_eq!(n("d").private[1].group.as_deref(), Some("bind"));
    assert_eq!(n("e").root, Root::Host);
    assert!(nsnet_lab::render::text(&p).contains("service frr"));

    err_at(
        "[nodes]\na = { root = \"nowhere\" }\n",
        2,
        14,
        "root `nowhere` is neither",
    );
    err_at("[nodes]\na = { cpu = 0 }\n", 2, 13, "cpu 0 is out of range");
    err_at(
        "[nodes]\na = { pids = 2 }\n",
        2,
        14,
        "pids 2 is out of range",
    );
    err_at(
        "[nodes]\na = { services = [\"a b\"] }\n",
        2,
        19,
        "is not a service name",
    );
    err_at(
        "[nodes]\na = { private = [{ path = \"/x\", mode = \"999\" }] }\n",
        2,
        18,
        "a mode is octal",
    );
    err_at(
        "[nodes]\ns = { kind = \"switch\", root = \"overlay\" }\n",
        2,
        31,
        "runs no software",
    );
}
