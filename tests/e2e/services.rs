//! Services the distribution's way: `services = [...]` and `systemctl` inside nodes start
//! Apache, BIND and FRR from their own unit files, without systemd; they serve and answer
//! across the lab, `systemctl` reports and stops them, `down` leaves none behind, and the
//! host's files stay as they were.

use crate::util::*;
use std::process::Command;

/// A lab whose `[lab]` table also gets `keys` (`routing = "none"` …).
fn lab_with(name: &str, keys: &str, body: &str) -> Lab {
    let lab = Lab::new(name, body);
    let text = std::fs::read_to_string(&lab.file).unwrap();
    std::fs::write(
        &lab.file,
        text.replacen("ssh = false\n", &format!("ssh = false\n{keys}"), 1),
    )
    .unwrap();
    lab
}

/// `stat -c '%U:%G %a' PATH` on the host, or inside `node`.
fn owner_mode(lab: Option<(&Lab, &str)>, path: &str) -> String {
    let args = ["stat", "-c", "%U:%G %a", path];
    match lab {
        Some((lab, node)) => lab.exec_ok(node, &args),
        None => {
            let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
            assert!(o.status.success(), "stat {path}: {}", stderr(&o));
            stdout(&o).trim().to_string()
        }
    }
}

/// `systemctl ARGS` in `node`: (exit status, stdout, stderr).
fn systemctl(lab: &Lab, node: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["systemctl"];
    all.extend_from_slice(args);
    let o = lab.exec(node, &all);
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

/// curl's exit status and body for `url` from `node`.
fn fetch(lab: &Lab, node: &str, url: &str) -> (i32, String) {
    let o = lab.exec(node, &["curl", "-sS", "-m", "5", url]);
    (o.status.code().unwrap_or(-1), stdout(&o))
}

#[test]
fn apache_serves_and_systemctl_reports_stops_and_starts_it() {
    as_root(|| {
        let lab = Lab::new(
            "t-sv-web",
            r#"[nodes]
web = { root = "overlay", services = ["apache2"], files = { "/var/www/html/index.html" = "index.html" } }
client = {}

[[links]]
endpoints = ["web", "client"]
"#,
        );
        std::fs::write(lab.dir.join("index.html"), "served by t-sv-web\n").unwrap();
        lab.up();
        // `services` started it before `up` returned: it serves at once.
        assert_eq!(
            fetch(&lab, "client", "http://web/"),
            (0, "served by t-sv-web\n".into())
        );
        let (code, out, _) = systemctl(&lab, "web", &["status", "apache2"]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("apache2.service - The Apache HTTP Server"),
            "{out}"
        );
        assert!(out.contains("Active: active (running)"), "{out}");
        assert!(out.contains("/lib/systemd/system/apache2.service"), "{out}");
        let main = systemctl(
            &lab,
            "web",
            &["show", "-p", "MainPID", "--value", "apache2"],
        )
        .1;
        let comm = lab.exec_ok("web", &["cat", &format!("/proc/{}/comm", main.trim())]);
        assert_eq!(comm, "apache2");

        // Stopped: nothing listens, no apache2 process is left in the node.
        let (code, _, err) = systemctl(&lab, "web", &["stop", "apache2"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            fetch(&lab, "client", "http://web/").0,
            7,
            "connection refused"
        );
        let (code, out, _) = systemctl(&lab, "web", &["is-active", "apache2"]);
        assert_eq!((code, out.trim()), (3, "inactive"));
        assert_eq!(
            lab.exec("web", &["pgrep", "-x", "apache2"]).status.code(),
            Some(1)
        );
        let (code, out, _) = systemctl(&lab, "web", &["status", "apache2.service"]);
        assert_eq!(code, 3);
        assert!(out.contains("Active: inactive (dead)"), "{out}");

        // Started again, and restarted with a new main process.
        let (code, _, err) = systemctl(&lab, "web", &["start", "apache2"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(fetch(&lab, "client", "http://web/").0, 0);
        let before = systemctl(
            &lab,
            "web",
            &["show", "-p", "MainPID", "--value", "apache2"],
        )
        .1;
        let (code, _, err) = systemctl(&lab, "web", &["restart", "apache2"]);
        assert_eq!(code, 0, "{err}");
        let after = systemctl(
            &lab,
            "web",
            &["show", "-p", "MainPID", "--value", "apache2"],
        )
        .1;
        assert_ne!(before, after);
        assert_eq!(fetch(&lab, "client", "http://web/").0, 0);
        let (code, _, err) = systemctl(&lab, "web", &["reload", "apache2"]);
        assert_eq!(code, 0, "{err}");

        // Its output and systemctl's lines are in the node's log.
        let log = nsnet_ok(&["logs", "web", "--lab", "t-sv-web"]);
        assert!(
            log.contains("systemctl: Started apache2.service - The Apache HTTP Server"),
            "{log}"
        );
        assert!(
            log.contains("`systemctl start apache2` exited with status 0"),
            "{log}"
        );
    });
}

const ZONE: &str = "$TTL 60
@   IN SOA ns.lab.test. admin.lab.test. ( 1 60 60 600 60 )
    IN NS  ns.lab.test.
ns  IN A   10.9.0.1
www IN A   192.0.2.80
";

#[test]
fn bind_answers_through_its_alias_with_its_dirs_as_debian_made_them() {
    as_root(|| {
        let watched = ["/var/cache/bind", "/etc/bind", "/run/named"];
        let before = listing(&watched);
        let cache = owner_mode(None, "/var/cache/bind");
        let lab = Lab::new(
            "t-sv-dns",
            r#"[nodes.ns]
root = "overlay"
files = { "/etc/bind/named.conf.local" = "named.conf.local", "/etc/bind/db.lab.test" = "db.lab.test" }
exec = ["systemctl start bind9"]

[nodes.client]

[[links]]
endpoints = ["ns", "client"]
addresses = ["10.9.0.1/30", "10.9.0.2/30"]
"#,
        );
        std::fs::write(
            lab.dir.join("named.conf.local"),
            "zone \"lab.test\" { type master; file \"/etc/bind/db.lab.test\"; };\n",
        )
        .unwrap();
        std::fs::write(lab.dir.join("db.lab.test"), ZONE).unwrap();
        lab.up();
        let dig = || {
            lab.exec(
                "client",
                &[
                    "dig",
                    "+short",
                    "+time=1",
                    "+tries=1",
                    "@10.9.0.1",
                    "www.lab.test",
                ],
            )
        };
        eventually(20, "named answering", || {
            stdout(&dig()).trim() == "192.0.2.80"
        });
        // Debian's bind9 is an alias of named.service; named runs as bind.
        let (code, out, _) = systemctl(&lab, "ns", &["status", "bind9"]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("named.service - BIND Domain Name Server"),
            "{out}"
        );
        assert!(out.contains("Active: active (running)"), "{out}");
        assert_eq!(
            lab.exec_ok("ns", &["ps", "-o", "user=", "-C", "named"]),
            "bind"
        );
        // Its dirs keep Debian's owner and mode: the cache dir as on the host, /run/named as
        // tmpfiles.d makes it at boot.
        assert_eq!(owner_mode(Some((&lab, "ns")), "/var/cache/bind"), cache);
        assert_eq!(
            owner_mode(Some((&lab, "ns")), "/run/named"),
            "root:bind 775"
        );
        // ExecStop is `rndc stop`: named goes, nothing answers.
        let (code, _, err) = systemctl(&lab, "ns", &["stop", "named"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(systemctl(&lab, "ns", &["is-active", "bind9"]).0, 3);
        assert_eq!(
            lab.exec("ns", &["pgrep", "-x", "named"]).status.code(),
            Some(1)
        );
        assert_ne!(stdout(&dig()).trim(), "192.0.2.80");
        nsnet_ok(&["down", "t-sv-dns"]);
        assert_nothing_left("t-sv-dns");
        assert_eq!(listing(&watched), before, "the host's BIND files changed");
    });
}

const OSPF: &str = "frr defaults traditional
hostname {name}
log stdout
router ospf
 ospf router-id {id}
 network 10.8.0.0/16 area 0
interface eth0
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 3
interface eth1
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 3
";

#[test]
fn frr_started_by_systemctl_routes_with_ospf() {
    as_root(|| {
        let watched = ["/etc/frr", "/var/tmp", "/var/log/frr", "/var/lib/frr"];
        let before = listing(&watched);
        let crash_dir = std::path::Path::new("/var/tmp/frr").exists();
        let files = |r: &str| {
            format!(
                "files = {{ \"/etc/frr/frr.conf\" = \"{r}.conf\", \"/etc/frr/daemons\" = \"daemons\" }}"
            )
        };
        let lab = lab_with(
            "t-sv-ospf",
            "routing = \"none\"\n",
            &format!(
                r#"[nodes]
h1 = {{ gateway = "10.8.1.1" }}
h2 = {{ gateway = "10.8.2.1" }}

[nodes.r1]
kind = "router"
root = "overlay"
{}
exec = ["systemctl start frr"]

[nodes.r2]
kind = "router"
root = "overlay"
{}
exec = ["systemctl start frr"]

[[links]]
endpoints = ["r1", "h1"]
subnet = "10.8.1.0/24"
[[links]]
endpoints = ["r1", "r2"]
subnet = "10.8.12.0/30"
[[links]]
endpoints = ["r2", "h2"]
subnet = "10.8.2.0/24"
"#,
                files("r1"),
                files("r2")
            ),
        );
        for (name, id) in [("r1", "1.1.1.1"), ("r2", "2.2.2.2")] {
            let conf = OSPF.replace("{name}", name).replace("{id}", id);
            std::fs::write(lab.dir.join(format!("{name}.conf")), conf).unwrap();
        }
        // FRR's own daemons file with ospfd on.
        let daemons = std::fs::read_to_string("/etc/frr/daemons")
            .unwrap()
            .replace("ospfd=no", "ospfd=yes");
        std::fs::write(lab.dir.join("daemons"), daemons).unwrap();
        lab.up();
        eventually(40, "OSPF routes", || {
            let o = lab.exec("r1", &["ip", "route", "show", "proto", "ospf"]);
            stdout(&o).contains("10.8.2.0/24")
        });
        eventually(10, "h1 reaching h2 over OSPF", || {
            lab.exec("h1", &["ping", "-c1", "-W1", "h2"])
                .status
                .success()
        });
        let (code, out, _) = systemctl(&lab, "r2", &["status", "frr"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("Active: active (running)"), "{out}");
        assert!(out.contains("(watchfrr)"), "{out}");
        assert!(out.contains("/usr/lib/frr/ospfd"), "{out}");
        // Stopping FRR on r2 withdraws the route on r1.
        let (code, _, err) = systemctl(&lab, "r2", &["stop", "frr"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(lab.exec("r2", &["pgrep", "zebra"]).status.code(), Some(1));
        eventually(20, "the OSPF route withdrawn", || {
            let o = lab.exec("r1", &["ip", "route", "show", "proto", "ospf"]);
            !stdout(&o).contains("10.8.2.0/24")
        });
        nsnet_ok(&["down", "t-sv-ospf"]);
        assert_nothing_left("t-sv-ospf");
        // No crash dirs in /var/tmp, no logs, no config changes: all stayed in the nodes.
        assert_eq!(std::path::Path::new("/var/tmp/frr").exists(), crash_dir);
        assert_eq!(listing(&watched), before, "the host's FRR files changed");
    });
}

/// A process by PID and start time (/proc/PID/stat's 22nd field).
fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// The processes (PID, start time, name) in the PID namespace of `init`.
fn node_processes(init: i32) -> Vec<(i32, u64, String)> {
    let ns = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let want = ns(init);
    processes(|_| true)
        .into_iter()
        .filter(|(pid, _)| *pid != init && ns(*pid) == want)
        .filter_map(|(pid, _)| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            Some((pid, start_time(pid)?, comm.trim().to_string()))
        })
        .collect()
}

#[test]
fn down_stops_every_service() {
    as_root(|| {
        let lab = Lab::new(
            "t-sv-down",
            r#"[nodes]
a = { root = "overlay", services = ["apache2", "bind9"] }
b = { root = "overlay", services = ["apache2"], exec = ["systemctl start named"] }

[[links]]
endpoints = ["a", "b"]
"#,
        );
        lab.up();
        eventually(10, "named in b", || {
            systemctl(&lab, "b", &["is-active", "named"]).0 == 0
        });
        // Each node's apache2 (a main process and its workers), named and supervisors.
        let mut theirs = Vec::new();
        let mut namespaces = Vec::new();
        for (node, init, _) in lab.status() {
            let procs = node_processes(init);
            let count = |n: &str| procs.iter().filter(|p| p.2 == n).count();
            assert!(count("apache2") >= 2, "{node}: {procs:?}");
            assert_eq!(count("named"), 1, "{node}: {procs:?}");
            theirs.extend(procs);
            namespaces.push(std::fs::read_link(format!("/proc/{init}/ns/pid")).unwrap());
        }
        nsnet_ok(&["down", "t-sv-down"]);
        // None of the nodes' processes is left: not a daemon, not a worker, not a supervisor;
        // and no process at all in the nodes' PID namespaces (other labs' apache2 and named,
        // of tests running beside this one, are theirs).
        let left: Vec<_> = theirs
            .iter()
            .filter(|(pid, start, _)| start_time(*pid) == Some(*start))
            .collect();
        assert!(left.is_empty(), "left after down: {left:?}");
        let inside: Vec<_> = processes(|_| true)
            .into_iter()
            .filter(|(pid, _)| {
                std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                    .is_ok_and(|ns| namespaces.contains(&ns))
            })
            .collect();
        assert!(inside.is_empty(), "left in the nodes: {inside:?}");
        assert_nothing_left("t-sv-down");
    });
}

/// Unit files of the lab's own, in an overlay root's /etc/systemd/system.
const UNITS: [(&str, &str); 4] = [
    (
        "greeter.service",
        "[Unit]\nDescription=Greets\n[Service]\nEnvironment=\"GREETING=hello there\" WHO=lab\n\
         EnvironmentFile=-/etc/default/greeter\nRuntimeDirectory=greeter\n\
         ExecStartPre=/bin/sh -c 'echo pre > /run/greeter/pre'\n\
         ExecStart=/bin/sh -c 'echo \"$GREETING ${WHO}\" > /run/greeter/out; exec sleep 1000'\n\
         [Install]\nAlias=hello.service\n",
    ),
    (
        "setup.service",
        "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/touch /tmp/setup-1\n\
         ExecStart=/bin/touch /tmp/setup-2\nExecStop=/bin/rm /tmp/setup-1 /tmp/setup-2\n",
    ),
    (
        "broken.service",
        "[Unit]\nDescription=Fails\n[Service]\nType=forking\nExecStart=/bin/false\n",
    ),
    (
        "worker@.service",
        "[Service]\nUser=nobody\nExecStart=/bin/sh -c 'id -un > /tmp/worker-%i; exec sleep 1000'\n",
    ),
];

#[test]
fn systemctl_reads_units_as_systemd_does() {
    as_root(|| {
        let mut files = Vec::new();
        for (name, _) in UNITS {
            files.push(format!("\"/etc/systemd/system/{name}\" = \"{name}\""));
        }
        files.push("\"/etc/default/greeter\" = \"greeter.env\"".into());
        let lab = Lab::new(
            "t-sv-units",
            &format!(
                "[nodes.n]\nroot = \"overlay\"\nfiles = {{ {} }}\n",
                files.join(", ")
            ),
        );
        for (name, text) in UNITS {
            std::fs::write(lab.dir.join(name), text).unwrap();
        }
        std::fs::write(lab.dir.join("greeter.env"), "# who\nWHO='from the file'\n").unwrap();
        lab.up();
        // Environment=, EnvironmentFile= (which wins), RuntimeDirectory=, ExecStartPre, an
        // alias of its own.
        let (code, _, err) = systemctl(&lab, "n", &["start", "hello"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            lab.exec_ok("n", &["cat", "/run/greeter/pre", "/run/greeter/out"]),
            "pre\nhello there from the file"
        );
        let (code, _, _) = systemctl(&lab, "n", &["stop", "greeter"]);
        assert_eq!(code, 0);
        assert!(!lab
            .exec("n", &["test", "-e", "/run/greeter"])
            .status
            .success());
        // A oneshot that remains active after exit, and its ExecStop.
        assert_eq!(systemctl(&lab, "n", &["start", "setup"]).0, 0);
        lab.exec_ok("n", &["test", "-e", "/tmp/setup-2"]);
        let (code, out, _) = systemctl(&lab, "n", &["status", "setup"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("Active: active (exited)"), "{out}");
        assert_eq!(systemctl(&lab, "n", &["stop", "setup"]).0, 0);
        assert!(!lab
            .exec("n", &["test", "-e", "/tmp/setup-1"])
            .status
            .success());
        // A template instance as User=.
        assert_eq!(
            systemctl(&lab, "n", &["start", "worker@a", "worker@b"]).0,
            0
        );
        eventually(5, "the workers' files", || {
            lab.exec("n", &["cat", "/tmp/worker-a", "/tmp/worker-b"])
                .status
                .success()
        });
        assert_eq!(
            lab.exec_ok("n", &["cat", "/tmp/worker-a", "/tmp/worker-b"]),
            "nobody\nnobody"
        );
        // Failures as systemd words them, with its exit statuses.
        let (code, _, err) = systemctl(&lab, "n", &["start", "broken"]);
        assert_eq!(code, 1);
        assert!(
            err.contains(
                "Job for broken.service failed because the control process exited with error code."
            ),
            "{err}"
        );
        let (code, out, _) = systemctl(&lab, "n", &["status", "broken"]);
        assert_eq!(code, 3);
        assert!(out.contains("Active: failed (Result: exit-code)"), "{out}");
        assert_eq!(systemctl(&lab, "n", &["is-failed", "broken"]).0, 0);
        let (code, _, err) = systemctl(&lab, "n", &["start", "no-such"]);
        assert_eq!(code, 5);
        assert_eq!(
            err.trim(),
            "Failed to start no-such.service: Unit no-such.service not found."
        );
        assert_eq!(systemctl(&lab, "n", &["status", "no-such"]).0, 4);
        // What systemd needs a boot for is accepted quietly.
        for verb in [
            ["enable", "greeter"],
            ["disable", "greeter"],
            ["daemon-reload", "-q"],
        ] {
            assert_eq!(
                systemctl(&lab, "n", &verb),
                (0, String::new(), String::new())
            );
        }
        let out = systemctl(&lab, "n", &["list-units"]).1;
        assert!(out.contains("worker@a.service"), "{out}");
    });
}
