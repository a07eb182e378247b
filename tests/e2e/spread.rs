//! One lab over several hosts. Each "host" is a node of an underlay lab that runs sshd, and
//! nsnet runs inside it (its private /run keeps its state apart from this machine's); the
//! coordinator is the nsnet under test on this machine, reaching the hosts through
//! `nsnet ssh-config`. Traffic proves the tunnels: a routed lab pings end to end along the
//! hops it takes on one machine, a switch stretched over two hosts carries one subnet, a
//! host killed during `up` leaves nothing on the others, and every host is as it was after
//! `down`.

use crate::util::*;
use std::process::Command;
use std::time::Duration;

/// An underlay lab of `n` hosts m1..mn with sshd on one switch, and a hosts file for it.
struct Underlay {
    lab: Lab,
    hosts_file: String,
}

impl Underlay {
    fn new(name: &str, n: usize) -> Underlay {
        let mut body = String::from("[nodes]\nsw = { kind = \"switch\" }\n");
        for i in 1..=n {
            body.push_str(&format!("m{i} = {{}}\n"));
        }
        for i in 1..=n {
            body.push_str(&format!("[[links]]\nendpoints = [\"m{i}\", \"sw\"]\n"));
        }
        let lab = Lab::with_ssh(name, &body);
        lab.up();
        let cfg = nsnet_ok(&["ssh-config", name]);
        let cfg_path = lab.dir.join("ssh_config");
        std::fs::write(&cfg_path, cfg).unwrap();
        let mut hosts = format!("ssh_config = \"{}\"\n", cfg_path.display());
        for i in 1..=n {
            let m = format!("m{i}");
            let addr = lab.exec_ok(
                &m,
                &[
                    "sh",
                    "-c",
                    "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1",
                ],
            );
            hosts.push_str(&format!(
                "[hosts.{m}]\nssh = \"{m}.{name}\"\naddress = \"{addr}\"\n"
            ));
        }
        let hosts_file = lab.dir.join("hosts.toml");
        std::fs::write(&hosts_file, hosts).unwrap();
        Underlay {
            lab,
            hosts_file: hosts_file.to_str().unwrap().to_string(),
        }
    }

    /// What a host's network and nsnet state look like: links, addresses, routes, the
    /// ruleset, the netns and state dirs, the processes.
    fn snapshot(&self, host: &str) -> String {
        self.lab.exec_ok(
            host,
            &[
                "sh",
                "-c",
                "ip -o link | sed 's/^[0-9]*: //'; ip -o addr; ip route; ip -6 route; nft list ruleset; \
                 for d in /run /run/netns /run/nsnet /run/nsnet.bin; do echo \"$d:\"; ls -A $d 2>&1; done; \
                 ps -e -o comm= | grep -v -x -e ps -e sh -e grep -e sort | sort",
            ],
        )
    }
}

impl Underlay {
    /// Fails unless spread lab `lab` left no record here and every host is as `before`.
    #[track_caller]
    fn assert_as_before(&self, lab: &str, before: &[String]) {
        let record = format!("/run/nsnet/{lab}.spread");
        assert!(!std::path::Path::new(&record).exists(), "{record} is left");
        for (i, b) in before.iter().enumerate() {
            let m = format!("m{}", i + 1);
            assert_eq!(&self.snapshot(&m), b, "host {m} is as it was");
        }
    }

    /// Writes `text` to `path` on `host` as an executable of root's.
    fn write_script(&self, host: &str, path: &str, text: &str) {
        let mut w = Command::new(bin());
        let script = format!("cat > {path} && chmod 700 {path}");
        w.args([
            "exec",
            host,
            "--lab",
            &self.lab.name,
            "--",
            "sh",
            "-c",
            &script,
        ]);
        let o = run_with_timeout(w, Some(text), Duration::from_secs(30));
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

/// An overlay lab file in the underlay's dir (its nodes run on the underlay's hosts).
fn overlay(u: &Underlay, name: &str, body: &str) -> String {
    let path = u.lab.dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("[lab]\nname = \"{name}\"\n\n{body}")).unwrap();
    path.to_str().unwrap().to_string()
}

/// Brings a spread lab down (also when the test fails).
struct Spread(String);

impl Drop for Spread {
    fn drop(&mut self) {
        let _ = nsnet(&["down", &self.0]);
    }
}

/// The hops of `traceroute -n` from `node` to `dst`.
fn hops(lab: &str, node: &str, dst: &str) -> Vec<String> {
    let o = nsnet_ok(&[
        "exec",
        node,
        "--lab",
        lab,
        "--",
        "traceroute",
        "-n",
        "-q",
        "1",
        "-w",
        "2",
        dst,
    ]);
    o.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
        .collect()
}

const ROUTED: &str = r#"
[nodes]
h1 = { host = "m1" }
h2 = { host = "m2" }
r1 = { kind = "router" }
r2 = { kind = "router" }
r3 = { kind = "router" }
r4 = { kind = "router" }
[[links]]
endpoints = ["h1", "r1"]
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "r3"]
[[links]]
endpoints = ["r3", "r4"]
[[links]]
endpoints = ["r4", "h2"]
[[links]]
endpoints = ["r1", "r3"]
cost = 5

[[checks]]
name = "h1 pings h2 across the hosts"
node = "h1"
ping = "h2"
[[checks]]
name = "h1 → r1 → r2 → r3 → r4 → h2, by the kernels and by traceroute"
node = "h1"
path = "h2"
via = ["r1", "r2", "r3", "r4"]
traceroute = true
[[checks]]
name = "r4 has a static route to h1's subnet"
node = "r4"
route = "10.0.0.0/30"
via = "10.0.0.13"
proto = "static"

[[scenarios]]
name = "cut r2-r3: h1 loses h2, then has it back"
[[scenarios.checks]]
name = "h1 cannot reach h2"
node = "h1"
ping = "h2"
expect = "unreachable"
[[scenarios.steps]]
link_down = ["r2", "r3"]
[[scenarios.steps]]
impair = ["r3", "r4"]
rate = "10mbit"
[[scenarios.steps]]
check = "h1 cannot reach h2"
[[scenarios.steps]]
link_up = ["r2", "r3"]
[[scenarios.steps]]
check = "h1 pings h2 across the hosts"
"#;

#[test]
fn a_routed_lab_over_two_hosts_pings_along_the_hops_of_one_machine() {
    as_root(|| {
        let u = Underlay::new("spru", 2);
        let before: Vec<String> = ["m1", "m2"].iter().map(|m| u.snapshot(m)).collect();
        // The same lab on this machine alone: the hops to compare with.
        let file = overlay(&u, "sprone", ROUTED);
        let _one = Lab {
            name: "sprone".into(),
            dir: std::env::temp_dir().join("nsnet-e2e-sprone-unused"),
            file: file.clone().into(),
        };
        nsnet_ok(&["up", &file]);
        let want = hops("sprone", "h1", "h2");
        assert_eq!(want.len(), 5, "h1 -> r1 -> r2 -> r3 -> r4 -> h2: {want:?}");
        let want_path = nsnet_ok(&["path", "h1", "h2", "--lab", "sprone"]);
        let want_back = nsnet_ok(&["path", "h2", "r1", "--lab", "sprone"]);
        nsnet_ok(&["down", "sprone"]);

        let file = overlay(&u, "sprov", ROUTED);
        let placed = nsnet_ok(&["plan", &file, "--hosts", &u.hosts_file]);
        assert!(placed.contains("1 link(s) cross hosts"), "{placed}");
        let _g = Spread("sprov".into());
        let up = nsnet_ok(&["up", &file, "--hosts", &u.hosts_file]);
        assert!(
            up.contains("lab sprov is up on 2 host(s): 6 node(s), 1 tunnel(s)"),
            "{up}"
        );
        // Every host got this very build, copied for the lab's lifetime.
        for m in ["m1", "m2"] {
            u.lab
                .exec_ok(m, &["test", "-x", "/run/nsnet.bin/sprov/nsnet"]);
        }
        // End to end by name (every host's /etc/hosts names every node), both ways.
        for (a, b) in [("h1", "h2"), ("h2", "h1"), ("r1", "r4")] {
            let o = nsnet(&[
                "exec", a, "--lab", "sprov", "--", "ping", "-c", "2", "-W", "3", b,
            ]);
            assert!(
                o.status.success(),
                "{a} -> {b}:\n{}{}",
                stdout(&o),
                stderr(&o)
            );
        }
        // The same hops as on one machine: the plan is global. `path` reads each hop's
        // kernel on its own host.
        assert_eq!(hops("sprov", "h1", "h2"), want);
        assert_eq!(nsnet_ok(&["path", "h1", "h2", "--lab", "sprov"]), want_path);
        assert_eq!(nsnet_ok(&["path", "h2", "r1", "--lab", "sprov"]), want_back);
        // Commands about a node run on its host, wherever it is.
        let status = nsnet_ok(&["status", "sprov"]);
        assert!(
            status.contains("host m1 (m1.spru)") && status.contains("host m2 (m2.spru)"),
            "{status}"
        );
        assert!(nsnet_ok(&["status"]).contains("lab sprov: 6 node(s) spread over m1"));
        let host_of_h2 = nsnet_ok(&[
            "exec",
            "h2",
            "--lab",
            "sprov",
            "--",
            "cat",
            "/proc/sys/kernel/hostname",
        ]);
        assert_eq!(host_of_h2.trim(), "h2");
        let o = nsnet(&["logs", "h2", "--lab", "sprov"]);
        assert!(o.status.success(), "{}", stderr(&o));
        // ssh into a node of the other host with its host's key, and a capture there.
        let o = nsnet(&["ssh", "h2", "--lab", "sprov", "--", "hostname"]);
        assert_eq!(stdout(&o).trim(), "h2", "{}", stderr(&o));
        let mut cap = Command::new(bin())
            .args(["capture", "h2:eth0", "--lab", "sprov", "-c", "2"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = std::io::BufReader::new(cap.stderr.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut err, &mut line).unwrap();
        assert!(line.starts_with("capturing on h2:eth0"), "{line}");
        nsnet_ok(&[
            "exec", "h1", "--lab", "sprov", "--", "ping", "-c", "3", "-i", "0.2", "h2",
        ]);
        let o = cap.wait_with_output().unwrap();
        let lines = String::from_utf8_lossy(&o.stdout);
        assert!(lines.contains("ICMP echo"), "{lines}");
        // A link that crosses hosts goes down and up at both ends, and takes a rate limit at
        // both (the tunnel's ends are on two hosts).
        let cross = placed
            .lines()
            .find(|l| l.contains(" -- "))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .unwrap();
        nsnet_ok(&["link", "down", &cross, "--lab", "sprov"]);
        let o = nsnet(&[
            "exec", "h1", "--lab", "sprov", "--", "ping", "-c", "1", "-W", "1", "h2",
        ]);
        assert!(!o.status.success(), "h1 reaches h2 with {cross} down");
        let o = nsnet(&["path", "h1", "h2", "--lab", "sprov"]);
        assert!(
            !o.status.success() && stdout(&o).contains("is down"),
            "{}{}",
            stdout(&o),
            stderr(&o)
        );
        let back = nsnet_ok(&["link", "up", &cross, "--lab", "sprov"]);
        assert!(
            back.contains("host m1:") && back.contains("host m2:"),
            "{back}"
        );
        eventually(10, "h1 reaches h2 again", || {
            nsnet(&[
                "exec", "h1", "--lab", "sprov", "--", "ping", "-c", "1", "-W", "1", "h2",
            ])
            .status
            .success()
        });
        nsnet_ok(&["link", "set", &cross, "--rate", "1mbit", "--lab", "sprov"]);
        let show = nsnet_ok(&["link", "show", "--lab", "sprov"]);
        let limited = show.lines().filter(|l| l.contains("rate 1mbit")).count();
        assert_eq!(limited, 2, "both ends, one per host:\n{show}");
        let o = nsnet(&["link", "down", &cross, "--reroute", "--lab", "sprov"]);
        assert!(
            stderr(&o).contains("--reroute is not for a lab spread"),
            "{}",
            stderr(&o)
        );
        // --all reaches every node on every host.
        let all = nsnet_ok(&["exec", "--all", "--lab", "sprov", "--", "hostname"]);
        for n in ["h1", "h2", "r1", "r2", "r3", "r4"] {
            assert!(all.contains(&format!("{n}: {n}")), "{all}");
        }
        // The lab's checks and a scenario, run from here against every host.
        let o = nsnet(&["test", "--lab", "sprov"]);
        assert!(
            o.status.success() && stdout(&o).contains("5 passed, 0 failed"),
            "{}{}",
            stdout(&o),
            stderr(&o)
        );
        // The scenario put back what it changed.
        let show = nsnet_ok(&["link", "show", "--lab", "sprov"]);
        assert!(!show.contains("10mbit") && !show.contains("down"), "{show}");
        // A second up of the name is refused, and changes nothing.
        let o = nsnet(&["up", &file, "--hosts", &u.hosts_file]);
        assert!(
            stderr(&o).contains("already up across hosts"),
            "{}",
            stderr(&o)
        );
        // … and so is an up of it on this machine alone.
        let o = nsnet(&["up", &file]);
        assert!(
            stderr(&o).contains("is up across several hosts"),
            "{}",
            stderr(&o)
        );

        let down = nsnet_ok(&["down", "sprov"]);
        assert!(down.contains("lab sprov is down on every host"), "{down}");
        u.assert_as_before("sprov", &before);
    });
}

#[test]
fn frr_routers_on_two_hosts_speak_ospf_through_the_tunnel() {
    as_root(|| {
        // The example lab: FRR on copy-on-write roots, OSPF between r1 and r2; placed so
        // that their link crosses. Its checks and its scenario, from here.
        let u = Underlay::new("spou", 2);
        let before: Vec<String> = ["m1", "m2"].iter().map(|m| u.snapshot(m)).collect();
        let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/ospf.toml");
        let placed = nsnet_ok(&["plan", lab, "--hosts", &u.hosts_file]);
        assert!(placed.contains("1 link(s) cross hosts"), "{placed}");
        let _g = Spread("spospf".into());
        let mut t = Command::new(bin());
        t.args(["test", lab, "--name", "spospf", "--hosts", &u.hosts_file]);
        let o = run_with_timeout(t, None, Duration::from_secs(180));
        assert!(
            o.status.success() && stdout(&o).contains(" passed, 0 failed"),
            "{}{}",
            stdout(&o),
            stderr(&o)
        );
        // Routes learnt from OSPF over the tunnel were in r1's kernel: a check says so.
        assert!(
            stdout(&o).contains("PASS  r1 learns r2's LAN from OSPF"),
            "{}",
            stdout(&o)
        );
        u.assert_as_before("spospf", &before);
    });
}

#[test]
fn a_switch_stretched_over_two_hosts_carries_one_subnet() {
    as_root(|| {
        let u = Underlay::new("spsu", 2);
        let before: Vec<String> = ["m1", "m2"].iter().map(|m| u.snapshot(m)).collect();
        let file = overlay(
            &u,
            "spsw",
            r#"
[nodes]
a1 = { host = "m1" }
a2 = { host = "m1" }
b1 = { host = "m2" }
b2 = { host = "m2" }
s1 = { kind = "switch", host = "m1" }
[[links]]
endpoints = ["a1", "s1"]
[[links]]
endpoints = ["a2", "s1"]
[[links]]
endpoints = ["b1", "s1"]
[[links]]
endpoints = ["b2", "s1"]
[[checks]]
name = "a1 pings b2 over the trunk"
node = "a1"
ping = "b2"
"#,
        );
        let _g = Spread("spsw".into());
        nsnet_ok(&["up", &file, "--hosts", &u.hosts_file]);
        for (a, b) in [("a1", "b1"), ("b2", "a2"), ("b1", "b2"), ("a2", "a1")] {
            let o = nsnet(&[
                "exec", a, "--lab", "spsw", "--", "ping", "-c", "1", "-W", "3", b,
            ]);
            assert!(
                o.status.success(),
                "{a} -> {b}:\n{}{}",
                stdout(&o),
                stderr(&o)
            );
        }
        // One subnet, one hop: no router between the hosts' halves.
        assert_eq!(hops("spsw", "a1", "b2").len(), 1);
        let path = nsnet_ok(&["path", "a1", "b2", "--lab", "spsw"]);
        assert!(path.starts_with("a1 eth0 → b2 ("), "{path}");
        // The switch is a bridge on each host; the copy on m2 learnt the MACs of both sides.
        let fdb = nsnet_ok(&[
            "exec", "s1", "--lab", "spsw", "--", "bridge", "fdb", "show", "br", "br0", "dynamic",
        ]);
        assert!(
            fdb.contains("dev vxh1"),
            "m1's bridge learnt m2's nodes over the trunk:\n{fdb}"
        );
        // Frames as large as the tunnel carries cross it whole (the segment's MTU was lowered).
        let mtu = nsnet_ok(&[
            "exec",
            "b1",
            "--lab",
            "spsw",
            "--",
            "cat",
            "/sys/class/net/eth0/mtu",
        ]);
        let mtu: u32 = mtu.trim().parse().unwrap();
        assert!(mtu <= 1450, "{mtu}");
        let size = (mtu - 28).to_string();
        let o = nsnet(&[
            "exec", "a1", "--lab", "spsw", "--", "ping", "-c", "1", "-W", "3", "-M", "do", "-s",
            &size, "b1",
        ]);
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        nsnet_ok(&["down", "spsw"]);
        // `nsnet test FILE --hosts`: up over the hosts, the checks, down again.
        let o = nsnet(&["test", &file, "--hosts", &u.hosts_file]);
        assert!(
            o.status.success() && stdout(&o).contains("1 passed, 0 failed"),
            "{}{}",
            stdout(&o),
            stderr(&o)
        );
        u.assert_as_before("spsw", &before);
    });
}

#[test]
fn a_host_killed_during_up_leaves_nothing_on_any_host() {
    as_root(|| {
        // m2's nsnet is this build behind a script that, once m2's part is built, waits:
        // `up` is still going when the test kills m2.
        let u = Underlay::new("spku", 2);
        let before = u.snapshot("m1");
        let wrapper = format!(
            "#!/bin/sh\nif [ \"$1\" = __part-up ]; then \"{bin}\" \"$@\"; touch /tmp/built; exec sleep 600; fi\nexec \"{bin}\" \"$@\"\n",
            bin = bin()
        );
        u.write_script("m2", "/tmp/nsnet-wrap", &wrapper);
        let hosts = std::fs::read_to_string(&u.hosts_file).unwrap();
        let hosts = hosts.replace("[hosts.m2]\n", "[hosts.m2]\nnsnet = \"/tmp/nsnet-wrap\"\n");
        std::fs::write(&u.hosts_file, hosts).unwrap();
        let file = overlay(&u, "spkill", ROUTED);
        let _g = Spread("spkill".into());
        // Another build where the hosts file names nsnet: refused, naming both, and nothing
        // is left on either host (m1 had got its copy already).
        let other = "#!/bin/sh\n[ \"$1\" = __host-info ] && echo '{\"build\":\"0.0.0-other\",\"mtu\":[1500,1500]}'\nexit 0\n";
        u.write_script("m2", "/tmp/nsnet-other", other);
        let wrapped = std::fs::read_to_string(&u.hosts_file).unwrap();
        std::fs::write(
            &u.hosts_file,
            wrapped.replace("/tmp/nsnet-wrap", "/tmp/nsnet-other"),
        )
        .unwrap();
        let o = nsnet(&["up", &file, "--hosts", &u.hosts_file]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("/tmp/nsnet-other is build 0.0.0-other, and this nsnet is"),
            "{}",
            stderr(&o)
        );
        u.assert_as_before("spkill", std::slice::from_ref(&before));
        // A host ssh cannot reach (a port of this machine's loopback nothing listens on):
        // named, and nothing is left anywhere (it was never reached, so nothing waits for it).
        let unreachable = format!(
            "{wrapped}[hosts.m9]\nssh = \"ssh://root@127.0.0.1:9\"\naddress = \"192.0.2.99\"\n"
        );
        std::fs::write(&u.hosts_file, unreachable).unwrap();
        let o = nsnet(&["up", &file, "--hosts", &u.hosts_file]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("host m9 (ssh://root@127.0.0.1:9): cannot reach it"),
            "{}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("rolled back on every host"),
            "{}",
            stderr(&o)
        );
        u.assert_as_before("spkill", std::slice::from_ref(&before));
        std::fs::write(&u.hosts_file, wrapped).unwrap();
        let mut up = Command::new(bin());
        up.args(["up", &file, "--hosts", &u.hosts_file]);
        let up = std::thread::spawn(move || run_with_timeout(up, None, Duration::from_secs(120)));
        eventually(60, "m2's part is built", || {
            assert!(!up.is_finished(), "up ended before m2 was killed");
            u.lab
                .exec("m2", &["test", "-e", "/tmp/built"])
                .status
                .success()
        });
        let m2 = u.lab.pid("m2");
        nix_kill(m2);
        let o = up.join().unwrap();
        assert!(!o.status.success(), "up must fail: {}", stdout(&o));
        let err = stderr(&o);
        assert!(err.contains("host m2"), "{err}");
        assert!(err.contains("unreachable"), "{err}");
        // Nothing of the lab on m1 (rolled back) nor anywhere on this machine (m2's part died
        // with m2's PID namespace).
        assert_eq!(u.snapshot("m1"), before, "host m1 is as it was");
        let inits = processes(|a| {
            a[0] == "nsnet-init" && a.get(1).is_some_and(|n| n.starts_with("spkill/"))
        });
        assert!(inits.is_empty(), "{inits:?}");
        // The record stays for the host that could not be asked; --forget drops it.
        assert!(std::path::Path::new("/run/nsnet/spkill.spread").exists());
        let o = nsnet(&["down", "spkill"]);
        assert!(
            !o.status.success() && stderr(&o).contains("--forget"),
            "{}",
            stderr(&o)
        );
        nsnet_ok(&["down", "spkill", "--forget", "m2"]);
        assert!(!std::path::Path::new("/run/nsnet/spkill.spread").exists());
    });
}

/// SIGKILL to `pid`.
fn nix_kill(pid: i32) {
    let o = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success());
}
