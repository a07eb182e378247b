//! `nsnet test`: every kind of check passes when the lab is as it says and fails, for the
//! reason it gives, when it is not — with real traffic; scenarios change the lab and put it
//! back; an OSPF triangle reroutes around a cut link; JUnit reports read by junitparser.

use crate::util::*;
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

/// `nsnet test ARGS` (3-minute limit).
fn nsnet_test(args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("test").args(args);
    run_with_timeout(cmd, None, Duration::from_secs(180))
}

/// `nsnet test FILE --json ARGS`: the exit status and the report.
fn test_json(file: &str, args: &[&str]) -> (i32, Value) {
    let mut all = vec![file, "--json"];
    all.extend_from_slice(args);
    let o = nsnet_test(&all);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\n{}\n{}", stdout(&o), stderr(&o));
    });
    (o.status.code().unwrap_or(-1), v)
}

/// Every result of the report by name: (status, seen, attempts).
fn results(v: &Value) -> Vec<(String, String, String, u64)> {
    v["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["results"].as_array().unwrap())
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["seen"].as_str().unwrap().to_string(),
                r["attempts"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Fails unless the check `name` ended `status` and its `seen` contains `why`.
#[track_caller]
fn assert_result(all: &[(String, String, String, u64)], name: &str, status: &str, why: &str) {
    let Some((_, st, seen, _)) = all.iter().find(|r| r.0 == name) else {
        panic!("no result for `{name}` in {all:#?}");
    };
    assert_eq!(st, status, "`{name}`: {seen}");
    assert!(seen.contains(why), "`{name}` saw `{seen}`, not `{why}`");
}

/// h1, h2, h3 and h4 around r1. h2 serves HTTP on 80, UDP echo on 7 and DNS (dnsmasq:
/// www.lab.test is 10.0.2.80); h3 drops 40% of the echo requests it gets (nftables'
/// random numbers: real loss without netem, which kernels may lack); r1 — h4 is limited
/// to 1 Mbit/s (tbf, a 4 kB bucket), so an 8 kB ping waits ~30 ms each way. r1's firewall drops TCP to 81
/// (rule 1) and UDP to 5354 (rule 2).
const KINDS_LAB: &str = r#"
[nodes.h1]
exec = ["sleep 2; touch /tmp/ready"]

[nodes.h2]
# Many probes at once: no ICMP rate limit toward h1 (else a closed UDP port looks filtered).
sysctl = { "net.ipv4.icmp_ratelimit" = 0 }
exec = [
  "python3 -m http.server 80 --directory /tmp &",
  "python3 -c \"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 7))\nwhile True: d, a = s.recvfrom(2048); s.sendto(d, a)\" &",
  "dnsmasq --no-daemon --no-resolv --no-hosts --listen-address=10.0.2.2 --bind-interfaces --address=/www.lab.test/10.0.2.80 --pid-file=/run/dnsmasq.pid --user=root &",
]

[nodes.h3]
exec = ["nft add table inet lossy && nft 'add chain inet lossy in { type filter hook input priority -10; }' && nft add rule inet lossy in icmp type echo-request numgen random mod 100 lt 40 drop"]

[nodes.h4]

[nodes.r1]
kind = "router"

[nodes.r1.firewall]
[[nodes.r1.firewall.rules]]
chain = "forward"
proto = "tcp"
dport = 81
action = "drop"
[[nodes.r1.firewall.rules]]
chain = "forward"
proto = "udp"
dport = 5354
action = "drop"

[[links]]
endpoints = ["h1", "r1"]
subnet = "10.0.1.0/24"
[[links]]
endpoints = ["r1", "h2"]
subnet = "10.0.2.0/24"
[[links]]
endpoints = ["r1", "h3"]
subnet = "10.0.3.0/24"
[[links]]
endpoints = ["r1", "h4"]
subnet = "10.0.4.0/24"
rate = "1mbit"

# ping
[[checks]]
name = "ping reaches h2"
node = "h1"
ping = "h2"
[[checks]]
name = "ping6 reaches h2"
node = "h1"
ping = "h2"
family = 6
wait = "5s"
[[checks]]
name = "FAIL ping h2 expected unreachable"
node = "h1"
ping = "h2"
expect = "unreachable"
[[checks]]
name = "FAIL ping nowhere"
node = "h1"
ping = "10.99.0.1"
[[checks]]
name = "ping nowhere unreachable"
node = "h1"
ping = "10.99.0.1"
expect = "unreachable"

# tcp
[[checks]]
name = "tcp 80 open"
node = "h1"
tcp = "h2:80"
wait = "10s"
[[checks]]
name = "tcp 82 closed"
node = "h1"
tcp = "h2:82"
expect = "closed"
[[checks]]
name = "FAIL tcp 81 expected open"
node = "h1"
tcp = "10.0.2.2:81"
timeout = "1s"

# udp
[[checks]]
name = "udp 7 open"
node = "h1"
udp = "h2:7"
send = "hello"
wait = "10s"
[[checks]]
name = "udp 9 closed"
node = "h1"
udp = "h2:9"
expect = "closed"
[[checks]]
name = "udp 5354 filtered"
node = "h1"
udp = "h2:5354"
expect = "filtered"
timeout = "1s"
[[checks]]
name = "FAIL udp 9 expected open"
node = "h1"
udp = "h2:9"

# firewall
[[checks]]
name = "tcp 81 filtered, dropped by r1 rule 1"
node = "h1"
tcp = "h2:81"
expect = "filtered"
timeout = "1s"
counted_by = "r1:1"
[[checks]]
name = "FAIL tcp 82 counted by r1 rule 2"
node = "h1"
tcp = "h2:82"
expect = "closed"
counted_by = "r1:2"

# path
[[checks]]
name = "path via r1"
node = "h1"
path = "h2"
via = ["r1"]
traceroute = true
[[checks]]
name = "FAIL path via h3"
node = "h1"
path = "h2"
via = ["h3"]
[[checks]]
name = "path to nowhere breaks"
node = "h1"
path = "10.99.0.1"
expect = "breaks"
[[checks]]
name = "FAIL path to nowhere reaches"
node = "h1"
path = "10.99.0.1"

# route
[[checks]]
name = "h1 default route via r1"
node = "h1"
route = "0.0.0.0/0"
via = "10.0.1.1"
proto = "static"
[[checks]]
name = "FAIL h1 default route via .99"
node = "h1"
route = "0.0.0.0/0"
via = "10.0.1.99"
[[checks]]
name = "r1 connected route"
node = "r1"
route = "10.0.2.0/24"
dev = "eth1"
proto = "kernel"
[[checks]]
name = "no route to TEST-NET"
node = "r1"
route = "192.0.2.0/24"
expect = "absent"
[[checks]]
name = "FAIL route to TEST-NET present"
node = "r1"
route = "192.0.2.0/24"

# names
[[checks]]
name = "dns resolves www"
node = "h1"
resolve = "www.lab.test"
server = "10.0.2.2"
address = "10.0.2.80"
family = 4
wait = "10s"
[[checks]]
name = "dns has no nope"
node = "h1"
resolve = "nope.lab.test"
server = "10.0.2.2"
expect = "fails"
[[checks]]
name = "hosts file resolves h2"
node = "h1"
resolve = "h2"
address = "10.0.2.2"

# commands
[[checks]]
name = "command contains"
node = "h1"
command = "ip -4 route"
contains = ["default via 10.0.1.1"]
[[checks]]
name = "command status 3"
node = "h1"
command = "exit 3"
status = 3
[[checks]]
name = "FAIL command lacks bye"
node = "h1"
command = "echo hello"
contains = "bye"
[[checks]]
name = "command matches"
node = "h1"
command = "echo hello"
matches = "(?m)^hel+o$"
[[checks]]
name = "command json"
node = "h1"
command = "ip -j -4 addr show dev eth0"
json = '[{"ifname": "eth0", "addr_info": [{"local": "10.0.1.2", "prefixlen": 24}]}]'
[[checks]]
name = "FAIL command json .9"
node = "h1"
command = "ip -j -4 addr show dev eth0"
json = '[{"addr_info": [{"local": "10.0.1.9"}]}]'

# latency and loss
[[checks]]
name = "small pings are fast"
node = "h1"
ping = "h2"
count = 5
max_rtt = "50ms"
max_loss = "0%"
[[checks]]
name = "FAIL small pings over 20ms"
node = "h1"
ping = "h2"
count = 3
min_rtt = "20ms"
[[checks]]
name = "a big ping to h4 is slow"
node = "h1"
ping = "h4"
size = 8000
min_rtt = "40ms"
max_rtt = "2s"
[[checks]]
name = "FAIL pings under 10us"
node = "h1"
ping = "h2"
max_rtt = "10us"
[[checks]]
name = "h3 loses some"
node = "h1"
ping = "h3"
count = 30
min_loss = "10%"
wait = "5s"
[[checks]]
name = "FAIL h3 loses little"
node = "h1"
ping = "h3"
count = 30
max_loss = "5%"

# wait
[[checks]]
name = "waits for /tmp/ready"
node = "h1"
command = "test -e /tmp/ready"
wait = "10s"
every = "250ms"
[[checks]]
name = "FAIL waits for /tmp/never"
node = "h1"
command = "test -e /tmp/never"
wait = "1s"

# A scenario: firewall counters after traffic, an impairment and a cut, each put back.
[[scenarios]]
name = "change and put back"

[[scenarios.checks]]
name = "FAIL tcp 80 expected closed"
node = "h1"
tcp = "h2:80"
expect = "closed"
[[scenarios.checks]]
name = "FAIL dns www at .81"
node = "h1"
resolve = "www.lab.test"
server = "10.0.2.2"
address = "10.0.2.81"
family = 4
[[scenarios.checks]]
name = "rule 1 has counted"
node = "r1"
rule = 1
[[scenarios.checks]]
name = "FAIL rule 2 counted 1000"
node = "r1"
rule = 2
packets = 1000
[[scenarios.checks]]
name = "a big ping to h2 is slow when impaired"
node = "h1"
ping = "h2"
size = 8000
min_rtt = "40ms"
[[scenarios.checks]]
name = "a big ping to h2 is fast again"
node = "h1"
ping = "h2"
size = 8000
max_rtt = "20ms"
[[scenarios.checks]]
name = "h1 cut off"
node = "h1"
ping = "h2"
expect = "unreachable"

# Once the servers answer (the checks above wait for them), the wrong expectations fail.
[[scenarios.steps]]
checks = ["tcp 80 open", "dns resolves www"]
[[scenarios.steps]]
checks = ["FAIL tcp 80 expected closed", "FAIL dns www at .81"]
[[scenarios.steps]]
checks = ["rule 1 has counted", "FAIL rule 2 counted 1000"]
[[scenarios.steps]]
impair = "h1:eth0"
rate = "1mbit"
[[scenarios.steps]]
check = "a big ping to h2 is slow when impaired"
[[scenarios.steps]]
restore = "h1:eth0"
[[scenarios.steps]]
check = "a big ping to h2 is fast again"
[[scenarios.steps]]
exec = "ip link show eth0"
node = "h1"
[[scenarios.steps]]
link_down = ["h1", "r1"]
[[scenarios.steps]]
at = "500ms"
check = "h1 cut off"
[[scenarios.steps]]
impair = "r1:eth3"
rate = "1gbit"

# The scenario before left h1 — r1 down and r1 — h4 at 1 Gbit/s: both are put back.
[[scenarios]]
name = "the lab is back"
[[scenarios.checks]]
name = "h1 reaches h2 again"
node = "h1"
ping = "h2"
wait = "5s"
[[scenarios.checks]]
name = "a big ping to h4 is slow again"
node = "h1"
ping = "h4"
size = 8000
min_rtt = "40ms"
[[scenarios.steps]]
checks = ["h1 reaches h2 again", "a big ping to h4 is slow again"]

# A failed step skips the rest.
[[scenarios]]
name = "a failing step"
[[scenarios.steps]]
exec = "exit 4"
node = "h1"
[[scenarios.steps]]
check = "ping reaches h2"
"#;

#[test]
fn every_check_kind_passes_and_fails_for_its_reason() {
    as_root(|| {
        // (The first line is still [lab]'s.)
        let lab = Lab::new("t-checks", &format!("pool6 = \"fd00:9::/48\"\n{KINDS_LAB}"));
        let (code, v) = test_json(lab.path(), &[]);
        let all = results(&v);
        // Every check named FAIL fails, every other passes.
        for (name, status, seen, _) in &all {
            if status == "skipped" {
                continue;
            }
            let fails = name.starts_with("FAIL") || name.starts_with("step ");
            let want = if fails { "failed" } else { "passed" };
            assert_eq!(status, want, "`{name}`: {seen}\n{v:#}");
        }
        assert_eq!(code, 1, "a failed check exits 1");
        // … for the reason it gives.
        assert_result(
            &all,
            "FAIL ping h2 expected unreachable",
            "failed",
            "1/1 replies from 10.0.2.2",
        );
        assert_result(
            &all,
            "FAIL ping nowhere",
            "failed",
            "no reply to 1 ping(s) to 10.99.0.1",
        );
        assert_result(
            &all,
            "FAIL tcp 80 expected closed",
            "failed",
            "open 10.0.2.2",
        );
        assert_result(
            &all,
            "FAIL tcp 81 expected open",
            "failed",
            "filtered: no answer",
        );
        // One SYN, or two when the kernel's 1 s retransmit beats the check's own 1 s wait.
        assert_result(
            &all,
            "tcp 81 filtered, dropped by r1 rule 1",
            "passed",
            "rule r1:1 counted ",
        );
        assert_result(
            &all,
            "FAIL udp 9 expected open",
            "failed",
            "closed: ICMP port unreachable",
        );
        assert_result(&all, "udp 7 open", "passed", "open: answered 5 bytes");
        assert_result(
            &all,
            "FAIL tcp 82 counted by r1 rule 2",
            "failed",
            "rule r1:2 counted 0 packet(s)",
        );
        assert_result(&all, "path via r1", "passed", "traceroute: h1 → r1 → h2");
        assert_result(
            &all,
            "FAIL path via h3",
            "failed",
            "h1 eth0 → r1 (10.0.1.1) eth1 → h2 (10.0.2.2)",
        );
        assert_result(
            &all,
            "path to nowhere breaks",
            "passed",
            "r1 has no route to 10.99.0.1",
        );
        assert_result(
            &all,
            "FAIL path to nowhere reaches",
            "failed",
            "r1 has no route to 10.99.0.1",
        );
        assert_result(
            &all,
            "FAIL h1 default route via .99",
            "failed",
            "0.0.0.0/0 via 10.0.1.1 dev eth0 proto static",
        );
        assert_result(
            &all,
            "FAIL route to TEST-NET present",
            "failed",
            "r1 has no route to 192.0.2.0/24",
        );
        assert_result(
            &all,
            "FAIL dns www at .81",
            "failed",
            "DNS server 10.0.2.2 gives 10.0.2.80",
        );
        assert_result(&all, "dns has no nope", "passed", "gives no address");
        assert_result(
            &all,
            "FAIL command lacks bye",
            "failed",
            "no \"bye\" in the output",
        );
        assert_result(
            &all,
            "FAIL command json .9",
            "failed",
            "the JSON output does not contain",
        );
        assert_result(
            &all,
            "FAIL small pings over 20ms",
            "failed",
            "3/3 replies from 10.0.2.2, rtt avg 0.",
        );
        assert_result(
            &all,
            "FAIL pings under 10us",
            "failed",
            "1/1 replies from 10.0.2.2, rtt avg 0.",
        );
        assert_result(
            &all,
            "a big ping to h4 is slow",
            "passed",
            "1/1 replies from 10.0.4.2, rtt avg ",
        );
        assert_result(&all, "FAIL h3 loses little", "failed", "loss ");
        assert_result(
            &all,
            "FAIL waits for /tmp/never",
            "failed",
            "status 1 (after ",
        );
        assert_result(&all, "FAIL rule 2 counted 1000", "failed", "packet(s)");
        assert_result(
            &all,
            "a big ping to h2 is slow when impaired",
            "passed",
            "rtt avg ",
        );
        assert_result(&all, "step 1: exec on h1: exit 4", "failed", "exited 4");
        assert_result(&all, "ping reaches h2", "passed", "");
        let waited = all.iter().find(|r| r.0 == "waits for /tmp/ready").unwrap();
        assert!(
            waited.3 > 1,
            "the wait check tried more than once: {waited:?}"
        );
        // The check after the failed step was skipped, not run.
        let skipped: Vec<_> = v["suites"][3]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(skipped, ["failed", "skipped"], "{v:#}");
        assert_eq!(
            v["failed"].as_u64(),
            Some(all.iter().filter(|r| r.1 == "failed").count() as u64)
        );
        // nsnet test brought the lab up, so it took it down.
        assert_nothing_left("t-checks");
    });
}

#[test]
fn exit_status_and_output_say_what_happened() {
    as_root(|| {
        let pair = "[nodes]\nh1 = {}\nh2 = {}\ns1 = { kind = \"switch\" }\n[[links]]\nendpoints = [\"h1\", \"s1\"]\n[[links]]\nendpoints = [\"h2\", \"s1\"]\n";
        let body = format!(
            "{pair}\n[[checks]]\nname = \"h1 pings h2\"\nnode = \"h1\"\nping = \"h2\"\n\n[[checks]]\nname = \"h1 finds h3\"\nnode = \"h1\"\nping = \"10.0.0.9\"\n"
        );
        let lab = Lab::new("t-ckexit", &body);
        // One line per check; on failure what was expected and seen; a closing count.
        let o = nsnet_test(&[lab.path(), "--keep"]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
        assert!(out.contains("PASS  h1 pings h2  ("), "{out}");
        assert!(out.contains("FAIL  h1 finds h3  ("), "{out}");
        assert!(out.contains("        expected: 10.0.0.9 reachable\n        seen:     no reply to 1 ping(s) to 10.0.0.9"), "{out}");
        assert!(out.contains("1 passed, 1 failed ("), "{out}");
        // --keep left it up: --lab tests it as it is, and the filter picks one check.
        let o = nsnet_test(&["--lab", &lab.name, "--filter", "pings"]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains("1 passed, 0 failed"), "{}", stdout(&o));
        // A checks file beside it adds its checks.
        let extra = lab.dir.join("more.toml");
        std::fs::write(
            &extra,
            "[[checks]]\nname = \"h2 pings h1\"\nnode = \"h2\"\nping = \"h1\"\n",
        )
        .unwrap();
        let o = nsnet_test(&[
            "--lab",
            &lab.name,
            "--checks",
            extra.to_str().unwrap(),
            "-f",
            "h2 pings",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains("PASS  h2 pings h1"), "{}", stdout(&o));
        // A lab file that is up is tested as it is and left up.
        let o = nsnet_test(&[lab.path(), "-f", "pings"]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        assert!(
            stderr(&o).contains("is up: testing it as it is"),
            "{}",
            stderr(&o)
        );
        assert!(lab.status().iter().all(|n| n.2));
        nsnet_ok(&["down", &lab.name]);
        // A lab that cannot be built exits 2: a mistake in a check, and a lab not up.
        std::fs::write(&lab.file, format!("[lab]\nname = \"t-ckexit\"\n{pair}\n[[checks]]\nname = \"x\"\nnode = \"h9\"\nping = \"h2\"\n")).unwrap();
        let o = nsnet_test(&[lab.path()]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("lab.toml:14:8: unknown node `h9`"),
            "{}",
            stderr(&o)
        );
        let o = nsnet_test(&["--lab", "t-cknone"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_nothing_left("t-ckexit");
    });
}

#[test]
fn junit_report_is_read_by_junitparser() {
    as_root(|| {
        let python = format!(
            "{}/target/junit-venv/bin/python",
            env!("CARGO_MANIFEST_DIR")
        );
        assert!(
            std::path::Path::new(&python).exists(),
            "junitparser's venv is missing: run scripts/setup"
        );
        let body = format!(
            "{PAIR}\n[[checks]]\nname = \"h1 pings h2\"\nnode = \"h1\"\nping = \"h2\"\n\n[[checks]]\nname = \"h2 serves <http> & more\"\nnode = \"h1\"\ntcp = \"h2:80\"\n\n[[scenarios]]\nname = \"cut\"\n[[scenarios.checks]]\nname = \"h1 cut off\"\nnode = \"h1\"\nping = \"h2\"\nexpect = \"unreachable\"\n[[scenarios.steps]]\nlink_down = [\"h1\", \"h2\"]\n[[scenarios.steps]]\ncheck = \"h1 cut off\"\n"
        );
        let lab = Lab::new("t-ckjunit", &body);
        let report = lab.dir.join("report.xml");
        let o = nsnet_test(&[lab.path(), "--junit", report.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
        // junitparser (used by CI reporters) reads it: suites, counts, the failure.
        let script = r#"
import sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    print("suite", suite.name, suite.tests, suite.failures, suite.errors, suite.skipped)
    for case in suite:
        for r in case.result:
            if isinstance(r, Failure):
                print("failure", case.classname, "|", case.name, "|", r.message, "|", r.type)
                print("text", r.text.replace("\n", "\\n"))
        if not case.result:
            print("pass", case.name)
"#;
        let mut cmd = Command::new(&python);
        cmd.args(["-c", script, report.to_str().unwrap()]);
        let o = run_with_timeout(cmd, None, Duration::from_secs(30));
        let out = stdout(&o);
        assert!(o.status.success(), "{out}{}", stderr(&o));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.contains(&"suite t-ckjunit 2 1 0 0"), "{out}");
        assert!(lines.contains(&"pass h1 pings h2"), "{out}");
        assert!(lines.contains(&"suite t-ckjunit: cut 1 0 0 0"), "{out}");
        assert!(lines.contains(&"pass h1 cut off"), "{out}");
        let failure = lines
            .iter()
            .find(|l| l.starts_with("failure "))
            .expect(&out);
        assert_eq!(
            *failure,
            "failure t-ckjunit | h2 serves <http> & more | expected tcp h2:80 open; saw closed: connection refused | tcp",
            "{out}"
        );
        let text = lines.iter().find(|l| l.starts_with("text ")).expect(&out);
        assert!(
            text.contains("node: h1\\nexpected: tcp h2:80 open\\nseen: closed"),
            "{text}"
        );
    });
}

/// FRR's configuration of router `n` (1-3) of the triangle: OSPF on its links to the others
/// (hellos every second, dead after 4), its host LAN passive.
fn ospf_conf(n: u8, lan: Option<&str>, links: &[&str]) -> String {
    let mut c = format!("frr defaults traditional\nhostname r{n}\nlog stdout informational\n!\n");
    if let Some(l) = lan {
        c.push_str(&format!(
            "interface {l}\n ip ospf area 0\n ip ospf passive\n ip ospf network point-to-point\n!\n"
        ));
    }
    for l in links {
        c.push_str(&format!("interface {l}\n ip ospf area 0\n ip ospf network point-to-point\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n!\n"));
    }
    c.push_str(&format!("router ospf\n ospf router-id 10.255.0.{n}\n!\n"));
    c
}

/// h1 — r1, r2 — h4, and r1, r2, r3 in a triangle, routed by FRR's OSPF: r1 reaches h4's LAN
/// over r1 — r2 (cost 1+1 … the direct link) until that link is cut, then over r3.
const TRIANGLE: &str = r#"
routing = "none"

[nodes]
h1 = { gateway = "10.0.1.1" }
h4 = { gateway = "10.0.4.1" }

[nodes.r1]
kind = "router"
root = "overlay"
files = { "/etc/frr/frr.conf" = "r1.conf", "/etc/frr/vtysh.conf" = "vtysh.conf" }
exec = [
  "mkdir -p /var/run/frr /var/log/frr && chown frr:frr /var/run/frr /var/log/frr",
  "/usr/lib/frr/zebra --limit-fds 1000 -f /dev/null &",
  "until [ -S /var/run/frr/zserv.api ]; do sleep 0.05; done",
  "/usr/lib/frr/ospfd --limit-fds 1000 -f /etc/frr/frr.conf &",
]
[nodes.r2]
kind = "router"
root = "overlay"
files = { "/etc/frr/frr.conf" = "r2.conf", "/etc/frr/vtysh.conf" = "vtysh.conf" }
exec = [
  "mkdir -p /var/run/frr /var/log/frr && chown frr:frr /var/run/frr /var/log/frr",
  "/usr/lib/frr/zebra --limit-fds 1000 -f /dev/null &",
  "until [ -S /var/run/frr/zserv.api ]; do sleep 0.05; done",
  "/usr/lib/frr/ospfd --limit-fds 1000 -f /etc/frr/frr.conf &",
]
[nodes.r3]
kind = "router"
root = "overlay"
files = { "/etc/frr/frr.conf" = "r3.conf", "/etc/frr/vtysh.conf" = "vtysh.conf" }
exec = [
  "mkdir -p /var/run/frr /var/log/frr && chown frr:frr /var/run/frr /var/log/frr",
  "/usr/lib/frr/zebra --limit-fds 1000 -f /dev/null &",
  "until [ -S /var/run/frr/zserv.api ]; do sleep 0.05; done",
  "/usr/lib/frr/ospfd --limit-fds 1000 -f /etc/frr/frr.conf &",
]

[[links]]
endpoints = ["h1", "r1"]
subnet = "10.0.1.0/24"
[[links]]
endpoints = ["r1", "r2"]
subnet = "10.0.12.0/30"
[[links]]
endpoints = ["r1", "r3"]
subnet = "10.0.13.0/30"
[[links]]
endpoints = ["r2", "r3"]
subnet = "10.0.23.0/30"
[[links]]
endpoints = ["r2", "h4"]
subnet = "10.0.4.0/24"

[[checks]]
name = "r1 has r2 as a Full neighbour"
node = "r1"
command = "vtysh -c 'show ip ospf neighbor'"
matches = '(?m)^10\.255\.0\.2 .*Full'
wait = "40s"
every = "500ms"
[[checks]]
name = "r1 has r3 as a Full neighbour"
node = "r1"
command = "vtysh -c 'show ip ospf neighbor'"
matches = '(?m)^10\.255\.0\.3 .*Full'
wait = "40s"
every = "500ms"
[[checks]]
name = "r3 routes h4's LAN over r2"
node = "r3"
route = "10.0.4.0/24"
via = "10.0.23.1"
proto = "ospf"
wait = "40s"
[[checks]]
name = "r1 routes h4's LAN over r2"
node = "r1"
route = "10.0.4.0/24"
via = "10.0.12.2"
proto = "ospf"
wait = "40s"

[[scenarios]]
name = "cut r1–r2: OSPF reroutes through r3 within 20 s"
[[scenarios.checks]]
name = "r1 routes h4's LAN over r3"
node = "r1"
route = "10.0.4.0/24"
via = "10.0.13.2"
proto = "ospf"
wait = "20s"
[[scenarios.checks]]
name = "h1 reaches h4 through r3"
node = "h1"
path = "h4"
via = ["r1", "r3", "r2"]
traceroute = true
wait = "10s"
[[scenarios.checks]]
name = "h1 pings h4"
node = "h1"
ping = "h4"
wait = "10s"
# Converged first: both adjacencies of r1 Full, r3 knowing the way to h4's LAN.
[[scenarios.steps]]
checks = ["r1 routes h4's LAN over r2", "r1 has r3 as a Full neighbour", "r3 routes h4's LAN over r2"]
[[scenarios.steps]]
link_down = ["r1", "r2"]
[[scenarios.steps]]
check = "r1 routes h4's LAN over r3"
[[scenarios.steps]]
checks = ["h1 reaches h4 through r3", "h1 pings h4"]

[[scenarios]]
name = "cut r1 off: no way to h4"
[[scenarios.checks]]
name = "FAIL h1 reaches h4 with r1 cut off"
node = "h1"
path = "h4"
wait = "6s"
[[scenarios.steps]]
link_down = "r1:eth1"
[[scenarios.steps]]
link_down = "r1:eth2"
[[scenarios.steps]]
check = "FAIL h1 reaches h4 with r1 cut off"

[[scenarios]]
name = "both put back: OSPF returns to r1–r2"
[[scenarios.steps]]
check = "r1 routes h4's LAN over r2"
"#;

#[test]
fn ospf_triangle_reroutes_when_a_link_is_cut() {
    as_root(|| {
        if !std::path::Path::new("/usr/lib/frr/ospfd").exists() {
            panic!("FRRouting is not installed: run scripts/setup");
        }
        let lab = Lab::new("t-ckospf", TRIANGLE);
        std::fs::write(
            lab.dir.join("r1.conf"),
            ospf_conf(1, Some("eth0"), &["eth1", "eth2"]),
        )
        .unwrap();
        std::fs::write(
            lab.dir.join("r2.conf"),
            ospf_conf(2, Some("eth2"), &["eth0", "eth1"]),
        )
        .unwrap();
        std::fs::write(
            lab.dir.join("r3.conf"),
            ospf_conf(3, None, &["eth0", "eth1"]),
        )
        .unwrap();
        std::fs::write(
            lab.dir.join("vtysh.conf"),
            "service integrated-vtysh-config\n",
        )
        .unwrap();
        let (code, v) = test_json(lab.path(), &[]);
        let all = results(&v);
        for (name, status, seen, _) in &all {
            let want = if name.starts_with("FAIL") {
                "failed"
            } else {
                "passed"
            };
            assert_eq!(status, want, "`{name}`: {seen}\n{v:#}");
        }
        assert_eq!(code, 1, "{v:#}");
        assert_result(
            &all,
            "r1 routes h4's LAN over r3",
            "passed",
            "10.0.4.0/24 via 10.0.13.2 dev eth2 proto ospf",
        );
        assert_result(
            &all,
            "h1 reaches h4 through r3",
            "passed",
            "traceroute: h1 → r1 → r3 → r2 → h4",
        );
        assert_result(
            &all,
            "FAIL h1 reaches h4 with r1 cut off",
            "failed",
            "r1 has no route to 10.0.4.2",
        );
        // OSPF rerouted within the 10 s the check allows; the scenarios put both links back.
        let reroute = &v["suites"][1]["results"][3];
        assert_eq!(reroute["name"], "r1 routes h4's LAN over r3");
        assert!(reroute["seconds"].as_f64().unwrap() < 10.0, "{reroute:#}");
        assert_eq!(v["suites"][3]["results"][0]["status"], "passed", "{v:#}");
        assert_nothing_left("t-ckospf");
    });
}
