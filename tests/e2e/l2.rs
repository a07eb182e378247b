//! Labs as others write them: interfaces without addresses, MACs, a subnet stretched over
//! a bridge built inside a node, loopbacks, IPv6-only labs, BGP unnumbered over link-locals.

use crate::util::*;

/// `nsnet path` of a lab, its branches one per line.
fn path(lab: &Lab, src: &str, dst: &str) -> Vec<String> {
    nsnet_ok(&["path", src, dst, "--lab", &lab.name])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn a_bridge_inside_a_node_carries_a_stretched_subnet() {
    as_root(|| {
        // h1, h2 and the router r share one subnet through `br`, a plain node whose own
        // software bridges its three unaddressed interfaces; h3 is behind r.
        let lab = Lab::new(
            "t-l2-br",
            r#"
[nodes]
h1 = {}
h2 = {}
h3 = {}
r = { kind = "router" }
br = { exec = ["ip link add br0 type bridge && for i in eth0 eth1 eth2; do ip link set $i master br0; done && ip link set br0 up"] }

[[links]]
endpoints = [{ node = "h1", mac = "02:00:5e:10:00:01" }, { node = "br", address = "none" }]
segment = "lan"
[[links]]
endpoints = [{ node = "h2", mac = "02:00:5e:10:00:02" }, { node = "br", address = "none" }]
segment = "lan"
[[links]]
endpoints = ["r", { node = "br", address = "none" }]
segment = "lan"
subnet = "10.61.0.0/24"
[[links]]
endpoints = ["r", "h3"]
"#,
        );
        lab.up();
        assert_eq!(
            lab.exec_ok("h1", &["cat", "/sys/class/net/eth0/address"]),
            "02:00:5e:10:00:01"
        );
        // The bridge node has no IPv4 address of ours.
        assert_eq!(
            lab.exec_ok("br", &["ip", "-4", "-o", "addr", "show", "dev", "eth0"]),
            ""
        );
        eventually(10, "h1 reaching h2 through the node's bridge", || {
            lab.exec("h1", &["ping", "-c1", "-W1", "h2"])
                .status
                .success()
        });
        // h2 learnt h1's given MAC over the bridge.
        let neigh = lab.exec_ok("h2", &["ip", "neigh", "show", "dev", "eth0"]);
        assert!(neigh.contains("02:00:5e:10:00:01"), "{neigh}");
        // Routed beyond the stretched subnet: h1 → r → h3, and `path` shows it.
        lab.exec_ok("h1", &["ping", "-c1", "-W2", "h3"]);
        let p = path(&lab, "h1", "h3");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("h1 eth0 → r (10.61.0."), "{p:?}");
        assert!(p[0].contains("→ h3 ("), "{p:?}");
        assert!(!p[0].contains('✗'), "{p:?}");
        // Without the bridge, the stretched subnet is cut: proof the bridge carried it.
        lab.exec_ok("br", &["ip", "link", "set", "br0", "down"]);
        assert!(!lab
            .exec("h1", &["ping", "-c1", "-W1", "h2"])
            .status
            .success());
    });
}

#[test]
fn an_ipv6_only_lab_pings_end_to_end() {
    as_root(|| {
        let lab = Lab::new(
            "t-l2-v6",
            r#"
[nodes]
a = {}
r1 = { kind = "router" }
r2 = { kind = "router" }
b = {}

[[links]]
endpoints = ["a", "r1"]
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "b"]
"#,
        );
        // Lab::new writes its own [lab] table: put the pools in it.
        let text = std::fs::read_to_string(&lab.file).unwrap();
        let text = text.replacen(
            "ssh = false\n",
            "ssh = false\npool = \"none\"\npool6 = \"fd00:61::/48\"\n",
            1,
        );
        std::fs::write(&lab.file, text).unwrap();
        lab.up();
        assert_eq!(
            lab.exec_ok("a", &["ip", "-4", "-o", "addr", "show", "dev", "eth0"]),
            ""
        );
        let v6 = lab.exec_ok(
            "b",
            &[
                "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global",
            ],
        );
        assert!(v6.contains("fd00:61:"), "{v6}");
        lab.exec_ok("a", &["ping", "-6", "-c1", "-W2", "b"]);
        let p = path(&lab, "a", "b");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("a eth0 → r1 (fd00:61:"), "{p:?}");
        assert!(
            p[0].contains("→ r2 (fd00:61:") && p[0].contains("→ b (fd00:61:"),
            "{p:?}"
        );
    });
}

#[test]
fn loopbacks_are_reached_by_static_routes() {
    as_root(|| {
        let lab = Lab::new(
            "t-l2-lo",
            r#"
[nodes]
h = {}
r1 = { kind = "router", loopback = "10.255.61.1/32" }
r2 = { kind = "router", loopback = "10.255.61.2/32" }

[[links]]
endpoints = ["h", "r1"]
[[links]]
endpoints = ["r1", "r2"]
"#,
        );
        lab.up();
        let lo = lab.exec_ok("r2", &["ip", "-4", "-o", "addr", "show", "dev", "lo"]);
        assert!(lo.contains("10.255.61.2/32"), "{lo}");
        // The name resolves to the loopback, and a ping from two hops away answers from it.
        let out = lab.exec_ok("h", &["ping", "-c1", "-W2", "r2"]);
        assert!(out.contains("10.255.61.2"), "{out}");
        let p = path(&lab, "h", "r2");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("h eth0 → r1 (") && p[0].contains("→ r2 ("),
            "{p:?}"
        );
        assert!(!p[0].contains('✗'), "{p:?}");
    });
}

const BGP_CONF: &str = "frr defaults datacenter
hostname {name}
log stdout
router bgp {asn}
 bgp router-id {id}
 no bgp ebgp-requires-policy
 bgp bestpath as-path multipath-relax
{neighbors} address-family ipv4 unicast
  redistribute connected
  maximum-paths 8
 exit-address-family
";

#[test]
fn bgp_unnumbered_over_link_locals_routes_ipv4_with_ecmp() {
    as_root(|| {
        // r1 reaches r4 by two equal paths (r2, r3) over interfaces with no addresses:
        // the sessions run over IPv6 link-locals, the IPv4 routes they carry go via them.
        //
        //   h1 ── r1 ─┬─ r2 ─┬─ r4 ── h2
        //             └─ r3 ─┘
        let router = |name: &str| {
            format!(
                r#"
[nodes.{name}]
kind = "router"
root = "overlay"
ipv6 = true
files = {{ "/etc/frr/frr.conf" = "{name}.conf" }}
exec = [
  "mkdir -p /var/run/frr /var/log/frr && chown frr:frr /var/run/frr /var/log/frr",
  "/usr/lib/frr/zebra --limit-fds 1000 -f /dev/null &",
  "until [ -S /var/run/frr/zserv.api ]; do sleep 0.05; done",
  "/usr/lib/frr/bgpd --limit-fds 1000 -f /etc/frr/frr.conf &",
]
"#
            )
        };
        let mut body = String::from(
            "[nodes]\nh1 = { gateway = \"10.62.1.1\" }\nh2 = { gateway = \"10.62.2.1\" }\n",
        );
        let routers = [
            ("r1", "65001", "10.255.62.1", vec!["eth1", "eth2"]),
            ("r2", "65002", "10.255.62.2", vec!["eth0", "eth1"]),
            ("r3", "65003", "10.255.62.3", vec!["eth0", "eth1"]),
            ("r4", "65004", "10.255.62.4", vec!["eth0", "eth1"]),
        ];
        for (name, ..) in &routers {
            body.push_str(&router(name));
        }
        body.push_str(
            r#"
[[links]]
endpoints = ["r1:eth0", "h1"]
subnet = "10.62.1.0/24"
[[links]]
endpoints = ["r1:eth1", "r2:eth0"]
l2 = true
[[links]]
endpoints = ["r1:eth2", "r3:eth0"]
l2 = true
[[links]]
endpoints = ["r2:eth1", "r4:eth0"]
l2 = true
[[links]]
endpoints = ["r3:eth1", "r4:eth1"]
l2 = true
[[links]]
endpoints = ["r4:eth2", "h2"]
subnet = "10.62.2.0/24"
"#,
        );
        let lab = Lab::new("t-l2-bgp", &body);
        let text = std::fs::read_to_string(&lab.file).unwrap();
        let text = text.replacen("ssh = false\n", "ssh = false\nrouting = \"none\"\n", 1);
        std::fs::write(&lab.file, text).unwrap();
        for (name, asn, id, ifs) in &routers {
            let neighbors: String = ifs
                .iter()
                .map(|i| format!(" neighbor {i} interface remote-as external\n"))
                .collect();
            let conf = BGP_CONF
                .replace("{name}", name)
                .replace("{asn}", asn)
                .replace("{id}", id)
                .replace("{neighbors}", &neighbors);
            std::fs::write(lab.dir.join(format!("{name}.conf")), conf).unwrap();
        }
        lab.up();
        // No IPv4 address on the routers' links: only link-locals.
        let a = lab.exec_ok("r1", &["ip", "-4", "-o", "addr", "show", "dev", "eth1"]);
        assert_eq!(a, "");
        // r1's route to h2's subnet: two next hops, both IPv6 link-locals.
        eventually(60, "an ECMP route on r1 over link-locals", || {
            let o = lab.exec("r1", &["ip", "route", "show", "10.62.2.0/24"]);
            let s = stdout(&o);
            s.matches("via inet6 fe80::").count() == 2
        });
        eventually(10, "h1 reaching h2", || {
            lab.exec("h1", &["ping", "-c1", "-W1", "10.62.2.2"])
                .status
                .success()
        });
        // `path` follows both branches hop by hop, link-local next hops named by node.
        let p = path(&lab, "h1", "10.62.2.2");
        assert_eq!(p.len(), 2, "{p:?}");
        for (i, via) in ["r2", "r3"].iter().enumerate() {
            let b = p
                .iter()
                .find(|b| b.contains(&format!("→ {via} (fe80::")))
                .unwrap_or_else(|| panic!("no branch through {via}: {p:?}"));
            assert!(b.starts_with("h1 eth0 → r1 (10.62.1.1) eth"), "{b}");
            assert!(b.contains("→ r4 (fe80::"), "{b}");
            assert!(b.ends_with("→ h2 (10.62.2.2)"), "{i} {b}");
        }
    });
}
