//! Wiring is real: veths, bridges, addresses, routes and sysctls written over netlink carry
//! traffic end to end — shown with ping, traceroute-style TTLs and the kernel's own tables.

use crate::util::*;
use nsnet_lab::gen::{generate, Shape};

/// A lab file's text without its `[lab]` table (tests name labs themselves).
fn body_of(text: &str) -> String {
    let start = text.find("[nodes]").expect("a [nodes] table");
    text[start..].to_string()
}

fn generated(shape: Shape) -> String {
    body_of(&generate(shape, None, false).unwrap())
}

#[track_caller]
fn ping(lab: &Lab, from: &str, to: &str, extra: &[&str]) {
    let mut args = vec!["ping", "-c1", "-W2"];
    args.extend_from_slice(extra);
    args.push(to);
    lab.exec_ok(from, &args);
}

#[test]
fn two_routers_every_host_reaches_every_host_through_r1_then_r2() {
    as_root(|| {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/two-routers.toml"
        ))
        .unwrap();
        let lab = Lab::new("t-tworouters", &body_of(&text));
        lab.up();
        let hosts = ["h1", "h2", "h3", "h4"];
        for a in hosts {
            for b in hosts {
                if a != b {
                    ping(&lab, a, b, &[]);
                }
            }
        }
        // TTL 1 dies at r1 (10.0.0.1), TTL 2 at r2 (its r1-side address 10.0.2.2).
        for (ttl, router) in [("1", "10.0.0.1"), ("2", "10.0.2.2")] {
            let o = lab.exec("h1", &["ping", "-n", "-c1", "-W2", "-t", ttl, "h4"]);
            let out = stdout(&o);
            assert!(
                out.contains(&format!("From {router}")) && out.contains("Time to live exceeded"),
                "ttl {ttl}:\n{out}"
            );
        }
        // With TTL 3 the packet arrives.
        ping(&lab, "h1", "h4", &["-t", "3"]);
    });
}

#[test]
fn line_of_ten_routers_ipv4_and_ipv6() {
    as_root(|| {
        let body = format!("pool6 = \"fd00:77::/48\"\n{}", generated(Shape::Line(10)));
        let lab = Lab::new("t-line10", &body);
        lab.up();
        let v4 = lab.exec_ok(
            "h2",
            &["sh", "-c", "ip -4 -o addr show dev eth0 | awk '{print $4}'"],
        );
        let v6 = lab.exec_ok(
            "h2",
            &[
                "sh",
                "-c",
                "ip -6 -o addr show dev eth0 scope global | awk '{print $4}'",
            ],
        );
        let v4 = v4.split('/').next().unwrap().to_string();
        let v6 = v6.split('/').next().unwrap().to_string();
        assert!(v6.starts_with("fd00:77:"), "{v6}");
        ping(&lab, "h1", &v4, &[]);
        ping(&lab, "h1", &v6, &["-6"]);
        // Eleven hops: 10 routers then h2.
        let o = lab.exec("h1", &["ping", "-c1", "-W2", "-t", "10", &v4]);
        assert!(
            stdout(&o).contains("Time to live exceeded"),
            "{}",
            stdout(&o)
        );
    });
}

#[test]
fn ring_of_six_opposite_router_has_a_two_way_multipath_route() {
    as_root(|| {
        let lab = Lab::new("t-ring6", &generated(Shape::Ring(6)));
        lab.up();
        // h4 hangs off r4, opposite r1: r1's route to h4's subnet has two next hops.
        let h4_net = lab.exec_ok(
            "h4",
            &[
                "sh",
                "-c",
                "ip -4 -o route show proto kernel | awk '{print $1}'",
            ],
        );
        let route = lab.exec_ok("r1", &["ip", "-4", "route", "show", &h4_net]);
        assert_eq!(route.matches("nexthop via").count(), 2, "{route}");
        assert!(
            route.contains("dev eth1") && route.contains("dev eth2"),
            "{route}"
        );
        // The neighbours have a single next hop toward it.
        let route = lab.exec_ok("r2", &["ip", "-4", "route", "show", &h4_net]);
        assert_eq!(route.matches("nexthop").count(), 0, "{route}");
        for b in ["h2", "h3", "h4", "h5", "h6"] {
            ping(&lab, "h1", b, &[]);
        }
    });
}

#[test]
fn hosts_on_one_switch_mtu_routing_none_explicit_routes_gateway_sysctls() {
    as_root(|| {
        let lab = Lab::new(
            "t-misc",
            r#"routing = "none"
[nodes]
s1 = { kind = "switch" }
a = { sysctl = { "net.ipv4.tcp_syncookies" = "0", "net.ipv4.conf.all.accept_redirects" = 0 } }
b = {}
c = { gateway = "10.9.0.1" }
r = { kind = "router", routes = [{ to = "192.0.2.0/24", via = "10.9.0.2" }] }
[[links]]
endpoints = ["a", "s1"]
mtu = 9000
[[links]]
endpoints = ["b", "s1"]
mtu = 9000
[[links]]
endpoints = ["c", "r"]
subnet = "10.9.0.0/30"
mtu = 1400
"#,
        );
        lab.up();
        // Same switch, no router: reachable, with jumbo frames end to end (no fragmentation).
        ping(&lab, "a", "b", &["-M", "do", "-s", "8972"]);
        // Both ends of the c–r link report the MTU given.
        assert_eq!(
            lab.exec_ok("c", &["cat", "/sys/class/net/eth0/mtu"]),
            "1400"
        );
        assert_eq!(
            lab.exec_ok("r", &["cat", "/sys/class/net/eth0/mtu"]),
            "1400"
        );
        // routing = "none": a and b have nothing but their connected routes.
        for n in ["a", "b"] {
            let routes = lab.exec_ok(n, &["ip", "-4", "route", "show"]);
            assert!(
                routes.lines().all(|l| l.contains("proto kernel")),
                "{n}: {routes}"
            );
        }
        // Explicit gateway and routes are honoured.
        assert_eq!(
            lab.exec_ok("c", &["ip", "-4", "route", "show", "default"]),
            "default via 10.9.0.1 dev eth0 proto static"
        );
        let r = lab.exec_ok("r", &["ip", "-4", "route", "show", "192.0.2.0/24"]);
        assert_eq!(r, "192.0.2.0/24 via 10.9.0.2 dev eth0 proto static");
        // Sysctls from the lab file, and nsnet's own (forwarding on the router), are in effect,
        // inside the node only.
        assert_eq!(
            lab.exec_ok("a", &["cat", "/proc/sys/net/ipv4/tcp_syncookies"]),
            "0"
        );
        assert_eq!(
            lab.exec_ok(
                "a",
                &["cat", "/proc/sys/net/ipv4/conf/all/accept_redirects"]
            ),
            "0"
        );
        assert_eq!(
            lab.exec_ok("r", &["cat", "/proc/sys/net/ipv4/ip_forward"]),
            "1"
        );
        assert_eq!(
            lab.exec_ok("a", &["cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"]),
            "1"
        );
        // The switch is a bridge in its own netns holding both ports.
        let br = lab.exec_ok("s1", &["ip", "-o", "link", "show", "master", "br0"]);
        assert_eq!(br.lines().count(), 2, "{br}");
    });
}

#[test]
fn status_shows_interfaces_from_the_kernel() {
    as_root(|| {
        let lab = Lab::new(
            "t-stif",
            "[nodes]\na = {}\nb = {}\n[[links]]\nendpoints = [\"a\", \"b\"]\nmtu = 1300\n",
        );
        lab.up();
        let out = nsnet_ok(&["status", &lab.name]);
        assert!(
            out.contains("10.0.0.1/30") && out.contains("10.0.0.2/30"),
            "{out}"
        );
    });
}

/// `up` returns once every link carries traffic. The kernel puts a veth in service (its
/// queue, its operational state) a moment after both ends are up — up to a second later while
/// many devices change on the machine at once — and a lab reported up must not have a link
/// that still drops what is sent on it. Another lab goes up and down beside it meanwhile.
#[test]
fn up_returns_with_every_link_in_service() {
    as_root(|| {
        const ROUNDS: usize = 8;
        let lab = Lab::new("t-carrier", &generated(Shape::FatTree(4)));
        let churn = Lab::new("t-carrier-churn", &generated(Shape::Star(200)));
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = nsnet(&["up", churn.path()]);
                    let _ = nsnet(&["down", &churn.name]);
                }
            });
            let mut links = 0;
            for _ in 0..ROUNDS {
                lab.up();
                let out = nsnet(&["status", &lab.name, "--json"]);
                let _ = nsnet(&["down", &lab.name]);
                assert!(out.status.success(), "{}", stderr(&out));
                let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
                for n in v[0]["nodes"].as_array().unwrap() {
                    for i in n["interfaces"].as_array().unwrap() {
                        if i["name"] == "lo" {
                            continue;
                        }
                        links += 1;
                        assert!(
                            i["up"] == true && i["carrier"] == true,
                            "{}:{} right after up: {i}",
                            n["name"],
                            i["name"]
                        );
                    }
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            // 36 nodes of a k=4 fat-tree: 48 links, both ends of each, every round.
            assert_eq!(links, ROUNDS * 2 * 48);
        });
    });
}
