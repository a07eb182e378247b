//! Experiments at run time, proven with traffic: links taken down and up (and a ring that
//! heals with --reroute), rate limits that slow a transfer, netem refused on a kernel
//! without it, packet capture read back by tcpdump, and `nsnet path` hop by hop.

use crate::util::*;
use nsnet_lab::gen::{generate, Shape};
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

fn body_of(text: &str) -> String {
    text[text.find("[nodes]").expect("a [nodes] table")..].to_string()
}

fn two_routers() -> String {
    body_of(include_str!("../../labs/two-routers.toml"))
}

/// One ping with a short timeout; true when answered.
fn pings(lab: &Lab, from: &str, to: &str) -> bool {
    lab.exec(from, &["ping", "-n", "-c1", "-W1", to])
        .status
        .success()
}

/// `nsnet SUB… --lab LAB`, which must succeed.
#[track_caller]
fn ok(lab: &Lab, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--lab", &lab.name]);
    nsnet_ok(&all)
}

fn path(lab: &Lab, src: &str, dst: &str) -> (bool, String) {
    let o = nsnet(&["path", src, dst, "--lab", &lab.name]);
    (o.status.success(), format!("{}{}", stdout(&o), stderr(&o)))
}

#[test]
fn link_down_stops_traffic_up_restores_it_and_path_shows_both() {
    as_root(|| {
        let lab = Lab::new("t-xlink", &two_routers());
        lab.up();
        assert!(pings(&lab, "h1", "h4"));
        let (good, out) = path(&lab, "h1", "h4");
        assert!(good, "{out}");
        assert_eq!(
            out.trim(),
            "h1 eth0 → r1 (10.0.0.1) eth1 → r2 (10.0.2.2) eth1 → h4 (10.0.1.3)"
        );

        ok(&lab, &["link", "down", "r1", "r2"]);
        // Both ends are down, as the kernel reports them.
        for (node, iface) in [("r1", "eth1"), ("r2", "eth0")] {
            let l = lab.exec_ok(node, &["ip", "-o", "link", "show", iface]);
            assert!(!l.contains(",UP"), "{node}:{iface} still up: {l}");
        }
        assert!(
            !pings(&lab, "h1", "h4"),
            "traffic crossed a link that is down"
        );
        let (good, out) = path(&lab, "h1", "h4");
        assert!(!good, "{out}");
        assert!(
            out.starts_with("h1 eth0 → r1 (10.0.0.1) ✗ r1 has no route to 10.0.1.3")
                && out.contains("eth1 is down"),
            "{out}"
        );
        let show = ok(&lab, &["link", "show"]);
        let line = show.lines().find(|l| l.contains("r1:eth1")).unwrap();
        assert!(line.contains(" down"), "{show}");

        // Up again (by one end's name this time): the kernel dropped the routes through it
        // when it went down; nsnet puts them back.
        ok(&lab, &["link", "up", "r2:eth0"]);
        assert!(pings(&lab, "h1", "h4"));
        assert!(pings(&lab, "h4", "h2"));
        assert!(path(&lab, "h1", "h4").0);
    });
}

#[test]
fn a_ring_heals_with_reroute_and_path_shows_the_new_way() {
    as_root(|| {
        let body = body_of(&generate(Shape::Ring(6), None, false).unwrap());
        let lab = Lab::new("t-xring", &body);
        lab.up();
        let (_, short) = path(&lab, "h1", "h2");
        assert!(
            short.starts_with("h1 eth0 → r1 ") && short.contains(" → r2 "),
            "{short}"
        );
        assert_eq!(short.matches(" → ").count(), 3, "{short}");

        // Down without reroute: the routes still point at the dead link.
        ok(&lab, &["link", "down", "r1", "r2"]);
        assert!(!pings(&lab, "h1", "h2"));
        // Reroute: shortest paths without the link, the long way round.
        let out = ok(&lab, &["link", "down", "r1", "r2", "--reroute"]);
        assert!(out.contains("route(s) set"), "{out}");
        assert!(pings(&lab, "h1", "h2"));
        assert!(pings(&lab, "h2", "h1"));
        let (good, long) = path(&lab, "h1", "h2");
        assert!(good, "{long}");
        let nodes: Vec<&str> = long
            .trim()
            .split(" → ")
            .map(|h| h.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            nodes,
            ["h1", "r1", "r6", "r5", "r4", "r3", "r2", "h2"],
            "{long}"
        );
        // The kernel agrees: TTL 3 (enough the short way) now dies on the way round.
        let o = lab.exec("h1", &["ping", "-n", "-c1", "-W1", "-t", "3", "h2"]);
        assert!(
            stdout(&o).contains("Time to live exceeded"),
            "{}",
            stdout(&o)
        );
        let show = ok(&lab, &["link", "show"]);
        assert!(show.contains("(rerouted)"), "{show}");

        // Back up with reroute: the short way again.
        ok(&lab, &["link", "up", "r1", "r2", "--reroute"]);
        assert!(pings(&lab, "h1", "h2"));
        let (_, again) = path(&lab, "h1", "h2");
        assert_eq!(again, short);
    });
}

/// Seconds to move 1 MB from `server` to `client` over TCP (python3 in both nodes).
fn transfer_secs(lab: &Lab, server: &str, client: &str) -> f64 {
    let serve = "import socket\n\
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
        s.bind(('0.0.0.0', 5001)); s.listen(1)\n\
        print('ready', flush=True)\n\
        c, _ = s.accept(); c.sendall(b'x' * 1000000); c.close()\n";
    let mut srv = Command::new(bin())
        .args([
            "exec", server, "--lab", &lab.name, "--", "python3", "-c", serve,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(srv.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the server in {server} did not start");
    let fetch = format!(
        "import socket\n\
         s = socket.create_connection(('{server}', 5001), timeout=60)\n\
         n = 0\n\
         while True:\n\
         \x20   d = s.recv(65536)\n\
         \x20   if not d: break\n\
         \x20   n += len(d)\n\
         print(n)\n"
    );
    let t = Instant::now();
    let got = lab.exec_ok(client, &["python3", "-c", &fetch]);
    let secs = t.elapsed().as_secs_f64();
    let _ = srv.wait();
    assert_eq!(got, "1000000");
    secs
}

#[test]
fn a_rate_limit_slows_a_transfer_and_netem_is_refused_clearly() {
    as_root(|| {
        let lab = Lab::new(
            "t-xrate",
            "[nodes]\nh1 = {}\nh2 = {}\n[[links]]\nendpoints = [\"h1\", \"h2\"]\nrate = \"20mbit\"\n",
        );
        lab.up();
        // The lab file's rate is in the kernel at both ends.
        let show = ok(&lab, &["link", "show"]);
        assert!(show.contains("rate 20mbit"), "{show}");
        for node in ["h1", "h2"] {
            let q = lab.exec_ok(node, &["tc", "qdisc", "show", "dev", "eth0"]);
            assert!(q.contains("tbf") && q.contains("rate 20Mbit"), "{q}");
        }
        let fast = transfer_secs(&lab, "h2", "h1");

        ok(&lab, &["link", "set", "h1:eth0", "--rate", "1mbit"]);
        let show = ok(&lab, &["link", "show"]);
        assert!(show.contains("rate 1mbit"), "{show}");
        // 8 Mbit at 1 Mbit/s: about 8 s; loosely bounded.
        let slow = transfer_secs(&lab, "h2", "h1");
        assert!(slow > 4.0 && slow < 40.0, "1 MB at 1mbit took {slow:.1}s");
        assert!(slow > fast * 3.0, "fast {fast:.1}s, slow {slow:.1}s");

        // Delay, jitter and loss need netem, which this kernel may lack: then a clear error.
        let o = nsnet(&[
            "link", "set", "h1", "h2", "--delay", "20ms", "--jitter", "5ms", "--lab", &lab.name,
        ]);
        let netem = lab
            .exec(
                "h1",
                &["tc", "qdisc", "replace", "dev", "lo", "root", "netem"],
            )
            .status
            .success();
        if netem {
            assert!(o.status.success(), "{}", stderr(&o));
            let show = ok(&lab, &["link", "show"]);
            assert!(show.contains("delay 20ms jitter 5ms"), "{show}");
        } else {
            assert!(!o.status.success());
            assert!(
                stderr(&o).contains("CONFIG_NET_SCH_NETEM"),
                "{}",
                stderr(&o)
            );
            // The rate stays as it was.
            let show = ok(&lab, &["link", "show"]);
            assert!(show.contains("rate 1mbit"), "{show}");
            // A lab file asking for netem fails `up` with the same error, and leaves nothing.
            let bad = Lab::new(
                "t-xnetem",
                "[nodes]\na = {}\nb = {}\n[[links]]\nendpoints = [\"a\", \"b\"]\nloss = \"1%\"\n",
            );
            let o = nsnet(&["up", bad.path()]);
            assert!(!o.status.success());
            assert!(
                stderr(&o).contains("CONFIG_NET_SCH_NETEM"),
                "{}",
                stderr(&o)
            );
            drop(bad);
            assert_nothing_left("t-xnetem");
        }
        // --clear removes the qdiscs.
        ok(&lab, &["link", "set", "h1", "h2", "--clear"]);
        let q = lab.exec_ok("h1", &["tc", "qdisc", "show", "dev", "eth0"]);
        assert!(!q.contains("tbf"), "{q}");
    });
}

/// `nsnet capture IFACE EXTRA…` in the background, returned once it says it captures, with
/// the rest of its stderr.
fn start_capture(lab: &Lab, iface: &str, extra: &[&str]) -> (Child, BufReader<ChildStderr>) {
    let mut cap = Command::new(bin())
        .args(["capture", iface, "--lab", &lab.name])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(cap.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.starts_with(&format!("capturing on {iface}")), "{line}");
    (cap, err)
}

#[test]
fn a_capture_of_ten_pings_holds_twenty_icmp_packets() {
    as_root(|| {
        let lab = Lab::new("t-xcap", &two_routers());
        lab.up();
        let file = lab.dir.join("ping.pcap");
        let (mut cap, mut err) = start_capture(&lab, "h1:eth0", &["-w", file.to_str().unwrap()]);
        lab.exec_ok("h1", &["ping", "-n", "-c10", "-i0.2", "h4"]);
        let pid = cap.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let status = cap.wait().unwrap();
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        assert!(status.success(), "capture ended with {status}: {rest}");
        assert!(rest.contains("packet(s) captured"), "{rest}");

        let o = Command::new("tcpdump")
            .args(["-n", "-r"])
            .arg(&file)
            .arg("icmp")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(text.lines().count(), 20, "{text}");
        assert_eq!(text.matches("ICMP echo request").count(), 10, "{text}");
        assert_eq!(text.matches("ICMP echo reply").count(), 10, "{text}");

        // -c and the one-line form: stops by itself.
        let (mut cap, mut err) = start_capture(&lab, "r1:eth1", &["-c", "2"]);
        lab.exec_ok("h1", &["ping", "-n", "-c3", "-i0.2", "h4"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while cap.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = cap.kill();
                panic!("capture -c 2 did not stop by itself");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let o = cap.wait_with_output().unwrap();
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        assert!(o.status.success(), "{rest}");
        let out = stdout(&o);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.contains("10.0.0.2 → 10.0.1.3 ICMP echo request"),
            "{out}"
        );
    });
}
