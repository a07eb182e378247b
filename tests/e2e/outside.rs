//! Reaching the outside: uplinks with NAT, published ports, host interfaces, a management
//! network — each proved with traffic to addresses this machine owns (the host's side of a
//! link, a namespace and veths the test makes, loopback), and each test checks the host is
//! given back as it was: its nftables ruleset, its net sysctls, its links.

use crate::util::*;
use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The host's firewall, sysctls and links are shared: these tests change them one at a time.
static HOST: Mutex<()> = Mutex::new(());

fn host_lock() -> std::sync::MutexGuard<'static, ()> {
    HOST.lock().unwrap_or_else(|p| p.into_inner())
}

fn sh(cmd: &str) -> std::process::Output {
    run_with_timeout(
        {
            let mut c = Command::new("sh");
            c.args(["-c", cmd]);
            c
        },
        None,
        Duration::from_secs(30),
    )
}

#[track_caller]
fn sh_ok(cmd: &str) -> String {
    let o = sh(cmd);
    assert!(o.status.success(), "{cmd}: {}{}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// What of the host a lab may change: the nftables ruleset, the net sysctls of the root
/// namespace (ip_forward, every interface's conf), the links and addresses.
fn host_snapshot() -> String {
    let mut out = sh_ok("nft list ruleset");
    for dir in ["/proc/sys/net/ipv4/conf", "/proc/sys/net/ipv6/conf"] {
        let mut ifs: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        ifs.sort();
        for i in ifs {
            for key in [
                "forwarding",
                "accept_redirects",
                "disable_ipv6",
                "rp_filter",
            ] {
                if let Ok(v) = std::fs::read_to_string(i.join(key)) {
                    out.push_str(&format!("{}/{key}={v}", i.display()));
                }
            }
        }
    }
    out.push_str(&std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap());
    out.push_str(&sh_ok("ip -o link | sed -E 's/^[0-9]+: //'"));
    out.push_str(&sh_ok(
        "ip -o addr | sed -E 's/(valid|preferred)_lft [^ ]+//g'",
    ));
    out
}

#[track_caller]
fn assert_same_host(before: &str, after: &str) {
    if before != after {
        let b: Vec<&str> = before.lines().collect();
        let a: Vec<&str> = after.lines().collect();
        let gone: Vec<&&str> = b.iter().filter(|l| !a.contains(l)).collect();
        let new: Vec<&&str> = a.iter().filter(|l| !b.contains(l)).collect();
        panic!("the host changed:\n  before only: {gone:#?}\n  after only: {new:#?}");
    }
}

/// A network namespace of the test's own, held by a sleeping process, joined to the host by
/// a veth pair (`host_if` on the host, `ns_if` inside), each end with an address. Gone on
/// drop (the kernel frees the namespace and the veth with it).
struct Outside {
    holder: Child,
    host_if: String,
}

impl Outside {
    fn new(host_if: &str, ns_if: &str, host_addr: &str, ns_addr: &str) -> Outside {
        let _ = sh(&format!("ip link del {host_if} 2>/dev/null"));
        let holder = Command::new("unshare")
            .args(["-n", "sleep", "300"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = holder.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()
            == std::fs::read_link("/proc/self/ns/net").ok()
        {
            assert!(Instant::now() < deadline, "unshare -n did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        let o = Outside {
            holder,
            host_if: host_if.into(),
        };
        sh_ok(&format!(
            "ip link add {host_if} type veth peer name {ns_if} netns {pid} && \
             ip addr add {host_addr} dev {host_if} && ip link set {host_if} up && \
             nsenter -t {pid} -n sh -c 'ip link set lo up && ip addr add {ns_addr} dev {ns_if} && ip link set {ns_if} up'"
        ));
        o
    }

    /// Runs `cmd` (a shell line) inside the namespace, in the background.
    fn spawn(&self, cmd: &str) -> Child {
        Command::new("nsenter")
            .args(["-t", &self.holder.id().to_string(), "-n", "sh", "-c", cmd])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        let _ = sh(&format!("ip link del {} 2>/dev/null", self.host_if));
    }
}

/// A python3 line that connects to HOST:PORT and prints what it gets.
fn fetch(host: &str, port: u16) -> String {
    format!(
        "import socket; s = socket.create_connection(('{host}', {port}), 5); print(s.recv(100).decode())"
    )
}

/// A python3 line that accepts one connection on ADDR:PORT and sends the peer's address.
fn tell_peer(addr: &str, port: u16) -> String {
    format!(
        "python3 -c \"import socket; l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('{addr}', {port})); l.listen(); c, a = l.accept(); c.send(a[0].encode()); c.close()\""
    )
}

#[test]
fn an_uplink_reaches_the_host_and_beyond_and_down_gives_the_host_back() {
    as_root(|| {
        let _host = host_lock();
        let outside = Outside::new("tov0", "tov1", "198.51.100.1/30", "198.51.100.2/30");
        let before = host_snapshot();
        let lab = Lab::new(
            "t-out-up",
            "[nodes]\nh1 = {}\nr1 = { kind = \"router\", uplink = true }\n\n[[links]]\nendpoints = [\"h1\", \"r1\"]\n",
        );
        let up = lab.up();
        assert!(up.contains("uplink (NAT)"), "{up}");

        // The host itself: a listener on the address the test added to it.
        let l = TcpListener::bind("198.51.100.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut c, peer) = l.accept().unwrap();
            c.write_all(b"host").unwrap();
            peer
        });
        assert_eq!(
            lab.exec_ok("r1", &["python3", "-c", &fetch("198.51.100.1", port)]),
            "host"
        );
        let peer = server.join().unwrap();
        assert!(peer.ip().to_string().starts_with("100.127."), "{peer}");

        // Beyond the host: a server in the test's own namespace, reached from h1 behind r1,
        // sees the host's address (r1 and the host masquerade).
        let mut far = outside.spawn(&tell_peer("198.51.100.2", 28301));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            lab.exec_ok("h1", &["python3", "-c", &fetch("198.51.100.2", 28301)]),
            "198.51.100.1"
        );
        let _ = far.wait();
        let fwd = std::fs::read_to_string("/proc/sys/net/ipv4/conf/tov0/forwarding").unwrap();
        assert_eq!(fwd.trim(), "1", "forwarding is on while the lab is up");
        let status = nsnet_ok(&["status", "t-out-up"]);
        assert!(
            status.contains("host nftables table: inet nsnet-t-out-up"),
            "{status}"
        );
        assert!(sh_ok("nft list tables").contains("nsnet-t-out-up"));

        nsnet_ok(&["down", "t-out-up"]);
        assert_same_host(&before, &host_snapshot());
        assert_nothing_left("t-out-up");
        drop(lab);
    });
}

#[test]
fn a_killed_up_is_undone_by_down() {
    as_root(|| {
        let _host = host_lock();
        // An interface of the test's with an IPv4 address: its forwarding is changed too.
        let _outside = Outside::new("tok0", "tok1", "198.51.100.9/30", "198.51.100.10/30");
        let before = host_snapshot();
        let body = "[nodes]\nr1 = { kind = \"router\", uplink = true }\ns1 = { kind = \"switch\" }\nh1 = {}\nh2 = {}\nh3 = {}\nh4 = {}\n\n[[links]]\nendpoints = [\"r1\", \"s1\"]\n[[links]]\nendpoints = [\"h1\", \"s1\"]\n[[links]]\nendpoints = [\"h2\", \"s1\"]\n[[links]]\nendpoints = [\"h3\", \"s1\"]\n[[links]]\nendpoints = [\"h4\", \"s1\"]\n";
        let lab = Lab::new("t-out-kill", body);
        let record = "/run/nsnet/t-out-kill/outside.json";
        let mut caught = false;
        for _ in 0..10 {
            let mut up = Command::new(bin())
                .args(["up", lab.path()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Killed once it has changed a host sysctl (its table is made by then).
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let text = std::fs::read_to_string(record).unwrap_or_default();
                if text.contains("\"after\":\"1\"") || Instant::now() > deadline {
                    break;
                }
                if up.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            let _ = up.kill();
            let _ = up.wait();
            caught = !std::path::Path::new("/run/nsnet/t-out-kill/released").exists()
                && std::path::Path::new(record).exists();
            let killed_mid_up = sh_ok("nft list tables").contains("nsnet-t-out-kill")
                || std::fs::read_to_string(record).is_ok_and(|t| t.contains("\"after\""));
            nsnet_ok(&["down", "t-out-kill"]);
            assert_same_host(&before, &host_snapshot());
            assert_nothing_left("t-out-kill");
            if caught && killed_mid_up {
                eprintln!("up killed while it built the lab, after it changed the host");
                break;
            }
        }
        assert!(caught, "up was never killed before it finished");
        drop(lab);
    });
}

#[test]
fn published_ports_reach_the_nodes_servers_over_tcp_and_udp() {
    as_root(|| {
        let _host = host_lock();
        let udp_echo = "python3 -c \"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 5353))\nwhile True:\n  d, a = s.recvfrom(2048); s.sendto(b'h1:' + d, a)\" &";
        let body = format!(
            "[nodes]\nh1 = {{ ports = [\"127.0.0.1:28380:8000\", \"127.0.0.1:28353:5353/udp\"], exec = [\"echo hello-from-h1 > /tmp/index.html\", \"python3 -m http.server 8000 --bind 127.0.0.1 --directory /tmp &\", {:?}] }}\n",
            udp_echo
        );
        let lab = Lab::new("t-out-port", &body);
        let up = lab.up();
        assert!(up.contains("port 127.0.0.1:28380 → 8000/tcp"), "{up}");
        let relays = || {
            processes(|a| {
                a[0] == "nsnet-relay" && a.get(1).map(String::as_str) == Some("t-out-port")
            })
        };
        assert_eq!(relays().len(), 1, "one relay for the lab");
        // It holds its sockets, the node's namespace and its log, nothing of its caller's.
        let pid = relays()[0].0;
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
        {
            let to = std::fs::read_link(fd.path()).unwrap();
            let to = to.to_string_lossy();
            assert!(
                to == "/dev/null"
                    || to.ends_with("/logs/relay.log")
                    || to.starts_with("socket:")
                    || to.starts_with("net:"),
                "the relay holds {to}"
            );
        }

        // TCP: curl on the host gets the node's web server.
        let deadline = Instant::now() + Duration::from_secs(10);
        let page = loop {
            let o = sh("curl -s -m 2 http://127.0.0.1:28380/index.html");
            if o.status.success() || Instant::now() > deadline {
                break stdout(&o);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(page.trim(), "hello-from-h1");
        // Several connections at once, each whole.
        let many: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| sh_ok("curl -s -m 5 http://127.0.0.1:28380/index.html")))
            .collect();
        for t in many {
            assert_eq!(t.join().unwrap().trim(), "hello-from-h1");
        }

        // UDP: two clients, each gets its own answers back.
        let ask = |msg: &str| -> String {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut buf = [0u8; 100];
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                s.send_to(msg.as_bytes(), "127.0.0.1:28353").unwrap();
                if let Ok(n) = s.recv(&mut buf) {
                    return String::from_utf8_lossy(&buf[..n]).into_owned();
                }
                assert!(Instant::now() < deadline, "no UDP answer");
            }
        };
        assert_eq!(ask("one"), "h1:one");
        assert_eq!(ask("two"), "h1:two");

        // A port the host already uses fails the `up` of another lab, which leaves nothing.
        let taken = TcpListener::bind("127.0.0.1:28381").unwrap();
        let other = Lab::new(
            "t-out-busy",
            "[nodes]\nh1 = { ports = [\"127.0.0.1:28381:80\"] }\n",
        );
        let o = nsnet(&["up", other.path()]);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(
            err.contains("publishing port 127.0.0.1:28381 → 80/tcp of node h1"),
            "{err}"
        );
        assert_nothing_left("t-out-busy");
        drop(taken);

        nsnet_ok(&["down", "t-out-port"]);
        assert!(relays().is_empty(), "the relay stops at down");
        TcpListener::bind("127.0.0.1:28380").expect("the port is free again");
        UdpSocket::bind("127.0.0.1:28353").expect("the port is free again");
        assert_nothing_left("t-out-port");
        drop(lab);
    });
}

#[test]
fn a_veth_of_the_test_joins_a_node_and_returns_at_down() {
    as_root(|| {
        let _host = host_lock();
        struct Pair;
        impl Drop for Pair {
            fn drop(&mut self) {
                let _ = sh("ip link del tnx0 2>/dev/null");
            }
        }
        let _ = sh("ip link del tnx0 2>/dev/null");
        sh_ok(
            "ip link add tnx0 type veth peer name tnx1 && ip link set tnx0 mtu 1400 && \
             ip addr add 203.0.113.1/30 dev tnx0 && ip link set tnx0 up && \
             ip addr add 203.0.113.6/30 dev tnx1 && ip link set tnx1 up",
        );
        let _pair = Pair;
        // Snapshots compare addresses with their flags: let IPv6 finish its duplicate address
        // detection on both ends first (a "tentative" link-local differs from a settled one).
        let settled = || {
            eventually(10, "IPv6 DAD on tnx0 and tnx1", || {
                let o = sh("ip -6 -o addr show tentative dev tnx0; \
                            ip -6 -o addr show tentative dev tnx1");
                o.status.success() && stdout(&o).trim().is_empty()
            })
        };
        settled();
        let before = host_snapshot();
        let show = || {
            sh_ok("ip -o addr show dev tnx0 | sed -E 's/(valid|preferred)_lft [^ ]+//g'; ip -o link show dev tnx0")
        };
        let was = show();

        let lab = Lab::new(
            "t-out-nic",
            "[nodes]\nh1 = { host_ifaces = [{ host = \"tnx0\", name = \"ext0\", addresses = [\"203.0.113.5/30\"] }] }\n",
        );
        lab.up();
        assert!(
            !sh("ip link show dev tnx0").status.success(),
            "tnx0 left the host"
        );
        let inside = lab.exec_ok("h1", &["ip", "-o", "link", "show", "dev", "ext0"]);
        assert!(inside.contains("mtu 1400"), "{inside}");
        // The host reaches the node through the other end of the pair.
        sh_ok("ping -c1 -W2 -I tnx1 203.0.113.5");

        nsnet_ok(&["down", "t-out-nic"]);
        settled();
        assert_eq!(show(), was, "tnx0 is back as it was");
        assert_same_host(&before, &host_snapshot());
        assert_nothing_left("t-out-nic");

        // A macvlan on the other end: the host keeps tnx1, the node gets mv0, reached from the
        // host through tnx0.
        let mv = Lab::new(
            "t-out-mv",
            "[nodes]\nh1 = { host_ifaces = [{ host = \"tnx1\", name = \"mv0\", macvlan = true, addresses = [\"203.0.113.2/30\"] }] }\n",
        );
        mv.up();
        let inside = mv.exec_ok("h1", &["ip", "-o", "-d", "link", "show", "dev", "mv0"]);
        assert!(inside.contains("macvlan mode bridge"), "{inside}");
        sh_ok("ip link show dev tnx1");
        sh_ok("ping -c1 -W2 -I tnx0 203.0.113.2");
        nsnet_ok(&["down", "t-out-mv"]);
        settled();
        assert_same_host(&before, &host_snapshot());
        assert_nothing_left("t-out-mv");

        // The interface of the host's default route is refused, and so is one that is not
        // there; nothing is built.
        let dev = sh_ok("ip -o route show default | head -1 | sed -E 's/.* dev ([^ ]+).*/\\1/'");
        let dev = dev.trim();
        if !dev.is_empty() {
            let bad = Lab::new(
                "t-out-nicd",
                &format!("[nodes]\nh1 = {{ host_ifaces = [\"{dev}\"] }}\n"),
            );
            let o = nsnet(&["up", bad.path()]);
            assert!(!o.status.success());
            assert!(
                stderr(&o).contains("carries the host's default route"),
                "{}",
                stderr(&o)
            );
            assert_nothing_left("t-out-nicd");
        }
        let missing = Lab::new(
            "t-out-nicm",
            "[nodes]\nh1 = { host_ifaces = [\"tnx-none\"] }\n",
        );
        let o = nsnet(&["up", missing.path()]);
        assert!(
            stderr(&o).contains("the host has no interface tnx-none"),
            "{}",
            stderr(&o)
        );
        assert_nothing_left("t-out-nicm");
        assert_same_host(&before, &host_snapshot());
        drop(lab);
    });
}

#[test]
fn ansible_reaches_every_node_over_the_management_network() {
    as_root(|| {
        // Found on PATH without running it: even `ansible --version` makes ~/.ansible/tmp.
        let found = Command::new("sh")
            .args(["-c", "command -v ansible"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var_os("NSNET_REQUIRE_ROOT").is_none(),
                "ansible is not installed (scripts/setup installs it)"
            );
            eprintln!("skipped: needs ansible");
            return;
        }
        let _host = host_lock();
        let before = host_snapshot();
        let lab = Lab::with_ssh(
            "t-out-ans",
            "mgmt = true\n\n[nodes]\nh1 = {}\nh2 = {}\nr1 = { kind = \"router\" }\n\n[[links]]\nendpoints = [\"h1\", \"r1\"]\n[[links]]\nendpoints = [\"r1\", \"h2\"]\n",
        );
        lab.up();
        let inv = nsnet_ok(&["inventory", "t-out-ans"]);
        for n in ["h1", "h2", "r1"] {
            assert!(
                inv.lines()
                    .any(|l| l.starts_with(&format!("{n} ansible_host=100.127."))),
                "{inv}"
            );
        }
        let file = lab.dir.join("inventory.ini");
        std::fs::write(&file, &inv).unwrap();
        let yaml = nsnet_ok(&["inventory", "t-out-ans", "--format", "yaml"]);
        assert!(yaml.contains("ansible_host: 100.127."), "{yaml}");
        std::fs::write(lab.dir.join("inventory.yaml"), &yaml).unwrap();
        // Ansible's own files stay in the test's dir and the nodes' /tmp.
        let home = lab.dir.join("ansible");
        for inv in ["inventory.ini", "inventory.yaml"] {
            let mut cmd = Command::new("ansible");
            cmd.args([
                "all",
                "-i",
                lab.dir.join(inv).to_str().unwrap(),
                "-m",
                "ping",
                "-o",
            ])
            .env("ANSIBLE_HOME", &home)
            .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
            .env("ANSIBLE_REMOTE_TEMP", "/tmp/.ansible")
            .env("ANSIBLE_SSH_ARGS", "-o ControlMaster=no")
            .env("ANSIBLE_NOCOLOR", "1");
            let o = run_with_timeout(cmd, None, Duration::from_secs(120));
            let text = stdout(&o);
            assert!(o.status.success(), "{inv}: {text}{}", stderr(&o));
            for n in ["h1", "h2", "r1"] {
                assert!(
                    text.lines()
                        .any(|l| l.starts_with(&format!("{n} | SUCCESS"))),
                    "{inv}: {text}"
                );
            }
        }
        nsnet_ok(&["down", "t-out-ans"]);
        assert_same_host(&before, &host_snapshot());
        assert_nothing_left("t-out-ans");
        drop(lab);
    });
}

#[test]
fn a_mgmt_address_is_reached_from_the_host_without_a_proxy() {
    as_root(|| {
        let _host = host_lock();
        let lab = Lab::new("t-out-mg", "mgmt = true\n\n[nodes]\nh1 = { exec = [\"python3 -m http.server 8000 --directory /tmp &\", \"echo mgmt-ok > /tmp/x\"] }\n");
        lab.up();
        let plan: serde_json::Value =
            serde_json::from_str(&nsnet_ok(&["plan", lab.path(), "--json"])).unwrap();
        let addr = plan["nodes"][0]["host_link"]["addr"].as_str().unwrap();
        let ip = addr.split('/').next().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let o = sh(&format!("curl -s -m 2 http://{ip}:8000/x"));
            if o.status.success() {
                assert_eq!(stdout(&o).trim(), "mgmt-ok");
                break;
            }
            assert!(Instant::now() < deadline, "{}", stderr(&o));
            std::thread::sleep(Duration::from_millis(100));
        }
        // Management is no way out: the node has no default route through it.
        let routes = lab.exec_ok("h1", &["ip", "route"]);
        assert!(!routes.contains("default"), "{routes}");
    });
}

#[test]
fn a_host_link_subnet_the_host_uses_is_refused_before_anything_is_built() {
    as_root(|| {
        let _host = host_lock();
        let _outside = Outside::new("tox0", "tox1", "198.51.100.33/30", "198.51.100.34/30");
        let before = host_snapshot();
        let lab = Lab::new(
            "t-out-clash",
            "host_pool = \"198.51.100.32/29\"\n\n[nodes]\nr1 = { kind = \"router\", uplink = true }\n",
        );
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(
            err.contains("would take 198.51.100.32/30, which the host uses (address 198.51.100.33/30 on tox0)"),
            "{err}"
        );
        assert!(err.contains("fix: set [lab] host_pool"), "{err}");
        assert_nothing_left("t-out-clash");
        assert_same_host(&before, &host_snapshot());
    });
}
