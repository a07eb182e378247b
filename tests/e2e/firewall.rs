//! Firewall and NAT rules are real: TCP connects and pings go through or not as the rules
//! say, NAT rewrites what servers see, and `nsnet fw` reports the kernel's own counters.

use crate::util::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A one-shot TCP server in `node` on `port`: it answers its first client with the client's
/// address and exits (or gives up after 20 s). Returns once it listens.
struct Server(Child);

impl Server {
    fn start(lab: &Lab, node: &str, port: u16) -> Server {
        let code = format!(
            "import socket,sys\n\
             s=socket.socket(socket.AF_INET6)\n\
             s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\n\
             s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('::',{port}));s.listen(8);s.settimeout(20)\n\
             print('ready',flush=True)\n\
             c,a=s.accept();c.sendall(a[0].removeprefix('::ffff:').encode());c.close()\n"
        );
        let mut child = Command::new(bin())
            .args([
                "exec", node, "--lab", &lab.name, "--", "python3", "-c", &code,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting a server");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the server in {node} did not start");
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Connect from `node` to addr:port: Ok(what the server said) or Err(why not).
fn connect(lab: &Lab, node: &str, addr: &str, port: u16) -> Result<String, String> {
    let code = format!(
        "import socket\n\
         c=socket.create_connection(('{addr}',{port}),timeout=2)\n\
         print(c.recv(100).decode())\n"
    );
    let o = lab.exec(node, &["python3", "-c", &code]);
    if o.status.success() {
        Ok(stdout(&o).trim().to_string())
    } else {
        Err(stderr(&o).lines().last().unwrap_or("").to_string())
    }
}

fn ping(lab: &Lab, from: &str, to: &str) -> bool {
    lab.exec(from, &["ping", "-c1", "-W1", to]).status.success()
}

/// `nsnet fw NODE`: (chain, rule text, packets, bytes) per rule line.
fn fw(lab: &Lab, node: &str) -> Vec<(String, String, u64, u64)> {
    let out = nsnet_ok(&["fw", node, "--lab", &lab.name]);
    out.lines()
        .skip(1)
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let n = w.len();
            assert_eq!((w[n - 3], w[n - 1]), ("pkts", "bytes"), "{l}");
            (
                w[0].to_string(),
                w[1..n - 4].join(" "),
                w[n - 4].parse().unwrap(),
                w[n - 2].parse().unwrap(),
            )
        })
        .collect()
}

/// h1 (10.0.1.2) ── r1 ── h2 (10.0.3.2), with `rules` as r1's firewall.
fn routed(name: &str, lab_extra: &str, rules: &str) -> Lab {
    let body = format!(
        "{lab_extra}\n[nodes.h1]\n[nodes.h2]\n[nodes.r1]\nkind = \"router\"\n\n{rules}\n\n\
         [[links]]\nendpoints = [\"h1\", \"r1\"]\nsubnet = \"10.0.1.0/24\"\n\
         [[links]]\nendpoints = [\"r1\", \"h2\"]\nsubnet = \"10.0.3.0/24\"\n"
    );
    let lab = Lab::new(name, &body);
    lab.up();
    lab
}

#[test]
fn forward_drop_lets_connections_out_but_not_in() {
    as_root(|| {
        let lab = routed(
            "t-fw-fwd",
            "",
            r#"[nodes.r1.firewall]
forward = "drop"

[[nodes.r1.firewall.rules]]
chain = "forward"
state = ["established", "related"]
action = "accept"

[[nodes.r1.firewall.rules]]
chain = "forward"
iif = "eth0"
src = "10.0.1.0/24"
proto = "tcp"
state = ["new"]
action = "accept""#,
        );
        // Out: h1 opens a connection to h2, and h2 sees h1's own address (no NAT here).
        let s = Server::start(&lab, "h2", 9000);
        assert_eq!(connect(&lab, "h1", "10.0.3.2", 9000), Ok("10.0.1.2".into()));
        drop(s);
        // In: h2 cannot open one to h1.
        let _s = Server::start(&lab, "h1", 9000);
        let e = connect(&lab, "h2", "10.0.1.2", 9000).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        // Pings are neither new TCP nor replies: dropped both ways.
        assert!(!ping(&lab, "h1", "h2"));
        assert!(!ping(&lab, "h2", "h1"));
        // The counters: the SYN was new, the rest of the connection established.
        let rules = fw(&lab, "r1");
        assert_eq!(rules.len(), 2, "{rules:?}");
        assert_eq!(rules[0].1, "state established,related accept");
        assert!(rules[0].2 >= 3, "{rules:?}");
        assert_eq!(
            rules[1].1,
            "iif eth0 tcp 10.0.1.0/24 -> any state new accept"
        );
        assert_eq!(rules[1].2, 1, "{rules:?}");
    });
}

#[test]
fn input_drop_of_tcp_22_stops_connects_but_not_ping() {
    as_root(|| {
        let lab = routed(
            "t-fw-input",
            "",
            r#"[[nodes.r1.firewall.rules]]
chain = "input"
proto = "tcp"
dport = 22
action = "drop""#,
        );
        let _s22 = Server::start(&lab, "r1", 22);
        let e = connect(&lab, "h1", "10.0.1.1", 22).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        // Another port of the same router answers, and so does ping.
        let _s = Server::start(&lab, "r1", 2222);
        assert_eq!(connect(&lab, "h1", "10.0.1.1", 2222), Ok("10.0.1.2".into()));
        assert!(ping(&lab, "h1", "10.0.1.1"));
        let rules = fw(&lab, "r1");
        assert_eq!(rules[0].0, "input");
        assert!(
            rules[0].2 >= 1,
            "the SYN(s) to port 22 were counted: {rules:?}"
        );
    });
}

#[test]
fn a_firewall_of_5000_rules_goes_in_whole_and_in_order() {
    as_root(|| {
        // One atomic batch of ~1.5 MB: more than a netlink socket's default send buffer, and
        // 5000 answers would not fit its receive buffer (up to 300 rules once worked).
        let rules: Vec<String> = (0..5000)
            .map(|i| {
                format!(
                    "{{ chain = \"input\", proto = \"tcp\", dport = {}, action = \"drop\" }}",
                    10000 + i
                )
            })
            .collect();
        let lab = routed(
            "t-fw-big",
            "",
            &format!("[nodes.r1.firewall]\nrules = [\n{}\n]", rules.join(",\n")),
        );
        // The last rule drops its port; a port no rule names answers.
        let _s = Server::start(&lab, "r1", 14999);
        let e = connect(&lab, "h1", "10.0.1.1", 14999).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        let _s2 = Server::start(&lab, "r1", 2222);
        assert_eq!(connect(&lab, "h1", "10.0.1.1", 2222), Ok("10.0.1.2".into()));
        let counted = fw(&lab, "r1");
        assert_eq!(counted.len(), 5000);
        assert_eq!(counted[4999].1, "tcp dport 14999 drop");
        assert!(counted[4999].2 >= 1, "{:?}", counted[4999]);
        assert!(counted[..4999].iter().all(|r| r.2 == 0));
    });
}

#[test]
fn docker_like_masquerade_and_published_port() {
    as_root(|| {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/docker-like.toml"
        ))
        .unwrap();
        // Keep the file's routing = "none" (Lab::new writes its own [lab] table).
        let body = format!(
            "routing = \"none\"\n\n{}",
            &text[text.find("[nodes.c1]").unwrap()..]
        );
        let lab = Lab::new("t-fw-docker", &body);
        lab.up();

        // Masquerade: the outside server sees gw's outside address, not c1's.
        let s = Server::start(&lab, "outside", 9000);
        assert_eq!(
            connect(&lab, "c1", "198.51.100.2", 9000),
            Ok("198.51.100.1".into())
        );
        drop(s);
        // dnat: gw:8080 on the outside reaches web:80 (python's http.server), which sees the
        // real client.
        let mut page = String::new();
        for _ in 0..50 {
            let o = lab.exec(
                "outside",
                &["curl", "-s", "-m", "2", "http://198.51.100.1:8080/"],
            );
            page = stdout(&o);
            if o.status.success() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(page.contains("Directory listing"), "{page}");
        // Nothing gets in otherwise.
        let _s = Server::start(&lab, "c2", 9001);
        assert!(connect(&lab, "outside", "172.17.0.3", 9001).is_err());
        assert!(!ping(&lab, "outside", "172.17.0.2"));
        // The dnat and masquerade rules counted their connections' first packets.
        let rules = fw(&lab, "gw");
        assert_eq!(rules.len(), 5, "{rules:?}");
        assert_eq!(rules[2].0, "prerouting");
        assert!(rules[2].2 >= 1, "{rules:?}");
        assert_eq!(rules[4].1, "oif eth1 172.17.0.0/16 -> any masquerade");
        assert!(rules[4].2 >= 1, "{rules:?}");
    });
}

#[test]
fn ipv6_rules_count_exactly_what_is_sent() {
    as_root(|| {
        let lab = routed(
            "t-fw-v6",
            "pool6 = \"fd00:1::/48\"",
            r#"[[nodes.r1.firewall.rules]]
chain = "forward"
src = "fd00:1::/48"
dst = "fd00:1::/48"
proto = "icmpv6"
iif = "eth0"
action = "accept"

[[nodes.r1.firewall.rules]]
chain = "forward"
dst = "fd00:1::/48"
proto = "tcp"
dport = 9000
action = "reject""#,
        );
        let v6 = |node: &str| {
            let a = lab.exec_ok(
                node,
                &[
                    "sh",
                    "-c",
                    "ip -6 -o addr show dev eth0 scope global | awk '{print $4}'",
                ],
            );
            a.split('/').next().unwrap().to_string()
        };
        let h2 = v6("h2");
        // Exactly three echo requests h1 → h2 cross the forward chain from eth0.
        lab.exec_ok("h1", &["ping", "-6", "-c3", "-i0.2", "-W2", "-s56", &h2]);
        let rules = fw(&lab, "r1");
        // 40 (IPv6) + 8 (ICMPv6) + 56 bytes of data each.
        assert_eq!(
            (rules[0].2, rules[0].3),
            (3, 3 * 104),
            "counters of {:?}",
            rules[0]
        );
        // The reject rule refuses TCP over IPv6 at once; IPv4 to the same port goes through.
        let _s = Server::start(&lab, "h2", 9000);
        let e = connect(&lab, "h1", &h2, 9000).unwrap_err();
        assert!(e.contains("refused"), "{e}");
        assert_eq!(connect(&lab, "h1", "10.0.3.2", 9000), Ok("10.0.1.2".into()));
        assert_eq!(fw(&lab, "r1")[1].2, 1);
        // nftables itself shows the rules, with their comments.
        let ruleset = lab.exec_ok("r1", &["nft", "list", "ruleset"]);
        for want in [
            "table inet nsnet",
            "ip6 saddr fd00:1::/48 ip6 daddr fd00:1::/48",
            "comment \"nsnet rule 1\"",
            "tcp dport 9000 counter packets 1",
            "reject with tcp reset",
        ] {
            assert!(ruleset.contains(want), "no {want:?} in:\n{ruleset}");
        }
    });
}

#[test]
fn bad_rules_are_refused_before_anything_is_built() {
    as_root(|| {
        let lab = Lab::new(
            "t-fw-bad",
            r#"[nodes.h1]
[nodes.r1]
kind = "router"

[[nodes.r1.firewall.rules]]
chain = "forward"
action = "dnat"
to = "10.0.0.9"

[[links]]
endpoints = ["h1", "r1"]
"#,
        );
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success());
        let e = stderr(&o);
        assert!(e.contains("lab.toml:11:10: dnat in chain forward"), "{e}");
        assert_nothing_left("t-fw-bad");
    });
}

/// A TCP server in `node` on `port` that answers every client, for up to 30 s, with
/// `NAME PEER` (its node's name and the client's address). Returns once it listens.
struct Backend(Child);

impl Backend {
    fn start(lab: &Lab, node: &str, port: u16) -> Backend {
        let code = format!(
            "import socket\n\
             s=socket.socket()\n\
             s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('0.0.0.0',{port}));s.listen(64);s.settimeout(30)\n\
             print('ready',flush=True)\n\
             while True:\n \
              c,a=s.accept();c.sendall(('{node} '+a[0]).encode());c.close()\n"
        );
        let mut child = Command::new(bin())
            .args([
                "exec", node, "--lab", &lab.name, "--", "python3", "-c", &code,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting a backend");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the backend in {node} did not start");
        Backend(child)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `n` TCP connections one after another from `node` to addr:port: what each server said.
fn connections(lab: &Lab, node: &str, addr: &str, port: u16, n: usize) -> Vec<String> {
    let code = format!(
        "import socket\n\
         for i in range({n}):\n \
          c=socket.create_connection(('{addr}',{port}),timeout=3)\n \
          print(c.recv(100).decode(),flush=True);c.close()\n"
    );
    let out = lab.exec_ok(node, &["python3", "-c", &code]);
    out.lines().map(str::to_string).collect()
}

/// How many of `replies` came from `node`.
fn from(replies: &[String], node: &str) -> usize {
    replies
        .iter()
        .filter(|r| r.split(' ').next() == Some(node))
        .count()
}

#[test]
fn a_negated_snat_rewrites_all_but_one_subnet() {
    as_root(|| {
        // h1 ── r1 ── h2 (10.0.3.0/24), and r1 ── h3 on 192.168.0.0/24, which keeps its
        // clients' own addresses (as a VPN peer or a partner network would).
        let lab = Lab::new(
            "t-fwx-snat",
            r#"[nodes.h1]
[nodes.h2]
[nodes.h3]
[nodes.r1]
kind = "router"

[[nodes.r1.firewall.rules]]
chain = "postrouting"
dst = "!192.168.0.0/24"
action = "snat"
to = "10.0.3.1"

[[nodes.r1.firewall.rules]]
chain = "forward"
proto = "tcp"
dport = "!9000"
state = ["new"]
action = "drop"

[[links]]
endpoints = ["h1", "r1"]
subnet = "10.0.1.0/24"
[[links]]
endpoints = ["r1", "h2"]
subnet = "10.0.3.0/24"
[[links]]
endpoints = ["r1", "h3"]
subnet = "192.168.0.0/24"
"#,
        );
        lab.up();
        // To h2, h1's connection is rewritten to r1's address; to h3 it is not.
        let s = Server::start(&lab, "h2", 9000);
        assert_eq!(connect(&lab, "h1", "10.0.3.2", 9000), Ok("10.0.3.1".into()));
        drop(s);
        let s = Server::start(&lab, "h3", 9000);
        assert_eq!(
            connect(&lab, "h1", "192.168.0.2", 9000),
            Ok("10.0.1.2".into())
        );
        drop(s);
        // New connections to every port but 9000 are dropped on the way through.
        let _s = Server::start(&lab, "h3", 9001);
        let e = connect(&lab, "h1", "192.168.0.2", 9001).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        // The snat rule saw one connection's first packet, the other went by it; the drop
        // rule the SYNs to 9001 (sent again within the client's 2 s).
        let rules = fw(&lab, "r1");
        assert_eq!(rules[0].1, "any -> !192.168.0.0/24 snat to 10.0.3.1");
        assert_eq!(rules[0].2, 1, "{rules:?}");
        assert_eq!(rules[1].1, "tcp dport !9000 state new drop");
        assert!(rules[1].2 >= 1, "{rules:?}");
        let ruleset = lab.exec_ok("r1", &["nft", "list", "ruleset"]);
        for want in ["ip daddr != 192.168.0.0/24", "tcp dport != 9000"] {
            assert!(ruleset.contains(want), "no {want:?} in:\n{ruleset}");
        }
    });
}

#[test]
fn a_numgen_load_balancer_splits_real_connections() {
    as_root(|| {
        // h1 connects to a virtual address, 10.0.9.100, that r1 spreads over b1, b2 and b3
        // (10.0.3.2, .3, .4): port 80 every third connection to each, as iptables'
        // `-m statistic --mode nth` rules do; port 81 by chance.
        let dnat = |port: u16, pick: &str, to: &str| {
            format!(
                "[[nodes.r1.firewall.rules]]\nchain = \"prerouting\"\ndst = \"10.0.9.100\"\n\
                 proto = \"tcp\"\ndport = {port}\n{pick}\naction = \"dnat\"\nto = \"{to}:8080\"\n\n"
            )
        };
        let rules = [
            dnat(80, "nth = { every = 3, packet = 0 }", "10.0.3.2"),
            dnat(80, "nth = { every = 2, packet = 0 }", "10.0.3.3"),
            dnat(80, "", "10.0.3.4"),
            dnat(81, "random = 0.333333", "10.0.3.2"),
            dnat(81, "random = 0.5", "10.0.3.3"),
            dnat(81, "", "10.0.3.4"),
        ]
        .concat();
        let lab = Lab::new(
            "t-fwx-lb",
            &format!(
                "[nodes.h1]\n[nodes.r1]\nkind = \"router\"\n[nodes.s1]\nkind = \"switch\"\n\
                 [nodes.b1]\n[nodes.b2]\n[nodes.b3]\n\n{rules}\
                 [[links]]\nendpoints = [\"h1\", \"r1\"]\nsubnet = \"10.0.1.0/24\"\n\
                 [[links]]\nendpoints = [\"r1\", \"s1\"]\nsubnet = \"10.0.3.0/24\"\n\
                 [[links]]\nendpoints = [\"s1\", \"b1\"]\n\
                 [[links]]\nendpoints = [\"s1\", \"b2\"]\n\
                 [[links]]\nendpoints = [\"s1\", \"b3\"]\n"
            ),
        );
        lab.up();
        let _backends: Vec<Backend> = ["b1", "b2", "b3"]
            .iter()
            .map(|b| Backend::start(&lab, b, 8080))
            .collect();

        // nth: 30 connections, exactly 10 each, every backend seeing the real client.
        let replies = connections(&lab, "h1", "10.0.9.100", 80, 30);
        assert_eq!(replies.len(), 30);
        for b in ["b1", "b2", "b3"] {
            assert_eq!(from(&replies, b), 10, "{b} in {replies:?}");
        }
        assert!(
            replies.iter().all(|r| r.ends_with(" 10.0.1.2")),
            "{replies:?}"
        );
        // random: each gets some (one gets none with odds of about 1 in 60000).
        let replies = connections(&lab, "h1", "10.0.9.100", 81, 30);
        assert_eq!(replies.len(), 30);
        for b in ["b1", "b2", "b3"] {
            assert!(from(&replies, b) > 0, "{b} got none: {replies:?}");
        }

        // Each nth rule counted the first packets of the connections it took.
        let counted = fw(&lab, "r1");
        assert_eq!(
            counted[0].1,
            "tcp any -> 10.0.9.100 dport 80 nth every 3 packet 0 dnat to 10.0.3.2:8080"
        );
        assert_eq!(
            counted[..3].iter().map(|r| r.2).collect::<Vec<_>>(),
            [10, 10, 10]
        );
        assert_eq!(
            counted[3].1.split(" random ").nth(1),
            Some("0.333333 dnat to 10.0.3.2:8080")
        );
        assert_eq!(counted[3..].iter().map(|r| r.2).sum::<u64>(), 30);
        let ruleset = lab.exec_ok("r1", &["nft", "list", "ruleset"]);
        for want in ["numgen inc mod 3 0", "numgen random mod 1000000 < 333333"] {
            assert!(ruleset.contains(want), "no {want:?} in:\n{ruleset}");
        }
    });
}

/// (sent, received) of a ping's summary line.
fn ping_counts(o: &std::process::Output) -> (u32, u32) {
    let out = stdout(o);
    let line = out
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no summary in:\n{out}{}", stderr(o)));
    let n: Vec<u32> = line
        .split(',')
        .filter_map(|p| p.split_whitespace().next()?.parse().ok())
        .collect();
    (n[0], n[1])
}

#[test]
fn a_limit_lets_a_slow_ping_through_and_cuts_a_flood() {
    as_root(|| {
        let lab = routed(
            "t-fwx-limit",
            "",
            r#"[[nodes.r1.firewall.rules]]
chain = "input"
proto = "icmp"
limit = "5/second"
action = "accept"

[[nodes.r1.firewall.rules]]
chain = "input"
proto = "icmp"
action = "drop""#,
        );
        // Four pings a second stay under five a second: all answered.
        let slow = lab.exec("h1", &["ping", "-c8", "-i0.25", "-W1", "10.0.1.1"]);
        assert_eq!(ping_counts(&slow), (8, 8), "{}", stdout(&slow));
        std::thread::sleep(Duration::from_millis(1200));
        // A hundred in a second: the burst of 5, then about 5 a second.
        let fast = lab.exec("h1", &["ping", "-c100", "-i0.01", "-W1", "10.0.1.1"]);
        let (sent, got) = ping_counts(&fast);
        assert_eq!(sent, 100);
        assert!((5..=20).contains(&got), "{got} of 100 answered");
        // The counters say the same: what the limit let through, and what it did not.
        let rules = fw(&lab, "r1");
        assert_eq!(rules[0].1, "icmp limit 5/second burst 5 accept");
        assert_eq!(rules[0].2, u64::from(8 + got), "{rules:?}");
        assert_eq!(rules[1].2, u64::from(100 - got), "{rules:?}");
    });
}

#[test]
fn a_log_rule_is_in_the_kernel_and_counts() {
    as_root(|| {
        let lab = routed(
            "t-fwx-log",
            "",
            r#"[[nodes.r1.firewall.rules]]
chain = "input"
proto = "icmp"
log = "nsnet-ping: "
action = "log"

[[nodes.r1.firewall.rules]]
chain = "input"
proto = "tcp"
dport = 9000
log = "nsnet-9000: "
action = "drop""#,
        );
        // A rule that only logs lets the packet on: the pings are answered.
        lab.exec_ok("h1", &["ping", "-c3", "-i0.2", "-W1", "10.0.1.1"]);
        let _s = Server::start(&lab, "r1", 9000);
        let e = connect(&lab, "h1", "10.0.1.1", 9000).unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        // `nsnet fw` reads each rule back and checks it is the file's, log prefix and all.
        let rules = fw(&lab, "r1");
        assert_eq!(rules[0].1, "icmp log \"nsnet-ping: \"");
        assert_eq!(rules[0].2, 3, "{rules:?}");
        assert_eq!(rules[1].1, "tcp dport 9000 log \"nsnet-9000: \" drop");
        assert!(rules[1].2 >= 1, "{rules:?}");
        let ruleset = lab.exec_ok("r1", &["nft", "list", "ruleset"]);
        for want in [
            "meta l4proto icmp counter packets 3 bytes 252 log prefix \"nsnet-ping: \" comment",
            "log prefix \"nsnet-9000: \" drop",
        ] {
            assert!(ruleset.contains(want), "no {want:?} in:\n{ruleset}");
        }
        // Swap the first rule's prefix behind nsnet's back: `nsnet fw` sees it and fails.
        let listed = lab.exec_ok(
            "r1",
            &["nft", "-a", "list", "chain", "inet", "nsnet", "input"],
        );
        let handle = listed
            .lines()
            .find(|l| l.contains("nsnet rule 1"))
            .and_then(|l| l.rsplit("# handle ").next())
            .unwrap()
            .trim()
            .to_string();
        lab.exec_ok(
            "r1",
            &[
                "nft",
                "replace",
                "rule",
                "inet",
                "nsnet",
                "input",
                "handle",
                &handle,
                "meta",
                "l4proto",
                "icmp",
                "counter",
                "log",
                "prefix",
                "\"other: \"",
                "comment",
                "\"nsnet rule 1\"",
            ],
        );
        let o = nsnet(&["fw", "r1", "--lab", &lab.name]);
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        let line = stdout(&o)
            .lines()
            .find(|l| l.contains("nsnet-ping"))
            .unwrap()
            .to_string();
        assert!(line.ends_with("(the kernel's rule differs)"), "{line}");
        assert!(stderr(&o).contains("1 rule(s) of r1"), "{}", stderr(&o));
    });
}
