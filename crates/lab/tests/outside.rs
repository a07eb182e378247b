//! The outside in lab files: uplinks, management links, published ports, host interfaces —
//! planned, or refused at their place. No root needed.

mod common;

use common::{err_at, ok, routes};

const LINE: &str = r#"[nodes]
h1 = {}
r1 = { kind = "router" }
r2 = { kind = "router", uplink = true }
[[links]]
endpoints = ["h1", "r1"]
[[links]]
endpoints = ["r1", "r2"]
"#;

#[test]
fn an_uplink_is_the_way_out_of_a_routed_lab() {
    let p = ok(LINE);
    let r2 = p.node("r2").unwrap();
    let h = r2.host_link.as_ref().expect("r2 has an uplink");
    assert!(h.nat);
    assert_eq!(h.iface, "uplink");
    assert!(h.host_iface.starts_with("nsu") && h.host_iface.len() <= 15);
    assert_eq!(h.addr.prefix, 30);
    assert_eq!(h.addr.network(), h.host_addr.network());
    assert!("100.127.0.0/16"
        .parse::<nsnet_lab::Cidr>()
        .unwrap()
        .contains(&h.addr.addr));
    // r2 leaves by the host; r1 toward r2; h1 by r1 as before.
    assert_eq!(
        routes(&p, "r2").last().unwrap(),
        &format!("default via {} dev uplink", h.host_addr.addr)
    );
    assert_eq!(
        routes(&p, "r1").last().unwrap(),
        "default via 10.0.0.6 dev eth1"
    );
    assert_eq!(routes(&p, "h1"), ["default via 10.0.0.1 dev eth0"]);
    // The uplink's route is the node's own: it survives a reroute.
    assert!(r2.own_routes.iter().any(|r| r.to.prefix == 0));
    assert!(p.node("h1").unwrap().host_link.is_none());
}

#[test]
fn a_host_with_an_uplink_keeps_the_lab_through_its_router() {
    let p = ok(&LINE.replace("h1 = {}", "h1 = { uplink = true }"));
    let h1 = routes(&p, "h1");
    assert!(
        h1.contains(&"10.0.0.4/30 via 10.0.0.1 dev eth0".to_string()),
        "{h1:?}"
    );
    assert!(h1.last().unwrap().ends_with("dev uplink"), "{h1:?}");
    // r1 is as near to h1 as to r2: the first by name wins.
    assert_eq!(
        routes(&p, "r1").last().unwrap(),
        "default via 10.0.0.2 dev eth0"
    );
}

#[test]
fn an_explicit_default_route_wins_over_the_uplink() {
    let p = ok(&LINE.replace(
        "uplink = true }",
        "uplink = true, routes = [{ to = \"0.0.0.0/0\", via = \"10.0.0.5\" }] }",
    ));
    assert_eq!(
        routes(&p, "r2").last().unwrap(),
        "default via 10.0.0.5 dev eth0"
    );
}

#[test]
fn mgmt_gives_every_host_and_router_a_host_link() {
    let p = ok(&format!(
        "[lab]\nmgmt = true\nhost_pool = \"192.168.200.0/24\"\n{}[[links]]\nendpoints = [\"s1\", \"r1\"]\n",
        LINE.replace("[nodes]\n", "[nodes]\ns1 = { kind = \"switch\" }\n")
    ));
    let mut seen = Vec::new();
    for n in &p.nodes {
        match &n.host_link {
            None => assert_eq!(n.name, "s1"),
            Some(h) => {
                assert_eq!(h.iface, if n.name == "r2" { "uplink" } else { "mgmt0" });
                assert!(h.host_iface.starts_with(if h.nat { "nsu" } else { "nsm" }));
                assert!("192.168.200.0/24"
                    .parse::<nsnet_lab::Cidr>()
                    .unwrap()
                    .contains(&h.addr.addr));
                seen.push(h.addr.network());
            }
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "one /30 each");
    // Management adds no route.
    let h1 = routes(&p, "h1");
    assert!(h1.len() == 1 && h1[0].ends_with("dev eth0"), "{h1:?}");
}

#[test]
fn ports_and_host_interfaces_are_planned() {
    let p = ok(r#"[nodes]
h1 = { ports = ["8080:80", "127.0.0.1:2222:22", "5353:53/udp"], host_ifaces = ["veth-t0", { host = "veth-t1", name = "ext1", addresses = ["192.0.2.7/24"] }] }
"#);
    let h1 = p.node("h1").unwrap();
    let ports: Vec<String> = h1.ports.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        ports,
        [
            "0.0.0.0:8080 → 80/tcp",
            "127.0.0.1:2222 → 22/tcp",
            "0.0.0.0:5353 → 53/udp"
        ]
    );
    assert_eq!(h1.host_ifaces[0].name, "veth-t0");
    assert_eq!(h1.host_ifaces[1].name, "ext1");
    assert_eq!(h1.host_ifaces[1].addrs[0].to_string(), "192.0.2.7/24");
    let text = nsnet_lab::render::text(&p);
    assert!(text.contains("port 127.0.0.1:2222 → 22/tcp"), "{text}");
    assert!(text.contains("<- host interface veth-t1"), "{text}");
}

#[test]
fn macvlans_may_share_a_host_interface_a_move_may_not() {
    let p = ok(r#"[nodes]
h1 = { host_ifaces = [{ host = "enp0s8", name = "mv0", macvlan = true }] }
h2 = { host_ifaces = [{ host = "enp0s8", name = "mv0", macvlan = true }] }
"#);
    assert!(p.node("h2").unwrap().host_ifaces[0].macvlan);
    assert!(nsnet_lab::render::text(&p).contains("<- a macvlan on host interface enp0s8"));
    err_at(
        "[nodes]\nh1 = { host_ifaces = [\"enp0s8\"] }\nh2 = { host_ifaces = [{ host = \"enp0s8\", macvlan = true }] }\n",
        3,
        23,
        "taken twice",
    );
}

#[test]
fn mistakes_are_refused_where_they_are_written() {
    err_at(
        "[nodes]\ns1 = { kind = \"switch\", uplink = true }\n",
        2,
        34,
        "switch s1 has no IP layer",
    );
    err_at(
        "[nodes]\nh1 = { ports = [\"80\"] }\n",
        2,
        17,
        "`80` is not a port to publish",
    );
    err_at(
        "[nodes]\nh1 = { ports = [\"8080:80\"] }\nh2 = { ports = [\"127.0.0.1:8080:22\"] }\n",
        3,
        17,
        "clashes with h1's at line 2:17",
    );
    err_at(
        "[nodes]\nh1 = { host_ifaces = [\"lo\"] }\n",
        2,
        23,
        "loopback",
    );
    err_at(
        "[nodes]\nh1 = { host_ifaces = [\"veth-t0\"] }\nh2 = { host_ifaces = [\"veth-t0\"] }\n",
        3,
        23,
        "taken twice",
    );
    err_at(
        "[nodes]\nh1 = { host_ifaces = [{ host = \"veth-t0\", name = \"eth0\" }] }\nh2 = {}\n[[links]]\nendpoints = [\"h1\", \"h2\"]\n",
        2,
        23,
        "already has an interface named `eth0`",
    );
    err_at(
        "[nodes]\nh1 = { host_ifaces = [{ host = \"veth-t0\", name = \"a/b\" }] }\n",
        2,
        23,
        "",
    );
    err_at(
        "[nodes]\nh1 = { uplink = true }\nh2 = {}\n[[links]]\nendpoints = [\"h1:uplink\", \"h2\"]\n",
        2,
        17,
        "named `uplink`",
    );
    err_at(
        "[lab]\nhost_pool = \"10.0.0.0/24\"\n[nodes]\nh1 = { uplink = true }\nh2 = {}\n[[links]]\nendpoints = [\"h1\", \"h2\"]\n",
        2,
        13,
        "meets the lab's 10.0.0.0/30",
    );
    err_at(
        "[lab]\nhost_pool = \"fd00::/64\"\n[nodes]\nh1 = {}\n",
        2,
        13,
        "IPv4",
    );
    err_at(
        "[lab]\nhost_pool = \"10.9.0.0/30\"\n[nodes]\nh1 = { uplink = true }\nh2 = { uplink = true }\n",
        2,
        13,
        "too small for 2 links",
    );
    err_at(
        "[nodes]\nh1 = { uplnk = true }\n",
        2,
        8,
        "unknown field `uplnk`",
    );
}
