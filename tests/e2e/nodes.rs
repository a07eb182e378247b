//! Nodes are real: own namespaces, hostname, PID 1, private /run and /tmp, their commands
//! inside, and nothing left after `down` or a failed `up`.

use crate::util::*;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

const THREE_NODES: &str = r#"
[nodes]
h1 = {}
h2 = {}
r1 = { kind = "router", exec = ["sleep 1000"] }

[[links]]
endpoints = ["h1", "r1"]
[[links]]
endpoints = ["h2", "r1"]
"#;

#[test]
fn nodes_have_own_namespaces_hostname_and_pid_1() {
    as_root(|| {
        let lab = Lab::new("t-ns", THREE_NODES);
        lab.up();
        let mut seen: Vec<Vec<String>> = vec![ns_ids("self")];
        for node in ["h1", "h2", "r1"] {
            assert_eq!(lab.exec_ok(node, &["hostname"]), node);
            assert_eq!(lab.exec_ok(node, &["cat", "/etc/hostname"]), node);
            let ids: Vec<String> = lab
                .exec_ok(
                    node,
                    &[
                        "sh",
                        "-c",
                        "for n in net uts mnt pid ipc; do readlink /proc/self/ns/$n; done",
                    ],
                )
                .lines()
                .map(String::from)
                .collect();
            assert_eq!(ids.len(), 5);
            for other in &seen {
                for (a, b) in ids.iter().zip(other) {
                    assert_ne!(a, b, "{node} shares a namespace");
                }
            }
            seen.push(ids);
            // Only the node's own processes: its init as PID 1, this shell, r1's sleep.
            let procs = lab.exec_ok(
                node,
                &[
                    "sh",
                    "-c",
                    "for p in /proc/[0-9]*; do echo ${p#/proc/} $(tr '\\0' ' ' < $p/cmdline); done",
                ],
            );
            let init = procs
                .lines()
                .find(|l| l.starts_with("1 "))
                .expect("a PID 1");
            assert_eq!(init.trim(), format!("1 nsnet-init t-ns/{node}"));
            assert!(procs.lines().count() <= 5, "{node} sees too much:\n{procs}");
            assert!(!procs.contains("cargo"), "{node} sees host processes");
        }
        // ip netns exec sees only the node's own interfaces.
        let plan: serde_json::Value =
            serde_json::from_str(&nsnet_ok(&["plan", "--json", lab.path()])).unwrap();
        for node in plan["nodes"].as_array().unwrap() {
            let name = node["name"].as_str().unwrap();
            let mut allowed: BTreeSet<String> = node["interfaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().to_string())
                .collect();
            allowed.insert("lo".into());
            let mut ip = Command::new("ip");
            ip.args(["netns", "exec", &format!("t-ns.{name}"), "ip", "-o", "link"]);
            let o = run_with_timeout(ip, None, Duration::from_secs(10));
            assert!(o.status.success(), "ip netns exec: {}", stderr(&o));
            let text = stdout(&o);
            for line in text.lines() {
                let ifname = line.split(": ").nth(1).unwrap().split('@').next().unwrap();
                assert!(allowed.contains(ifname), "{name} has foreign link {ifname}");
            }
            assert!(text.contains(": lo:"));
        }
    });
}

#[test]
fn run_and_tmp_are_private() {
    as_root(|| {
        let lab = Lab::new("t-priv", THREE_NODES);
        lab.up();
        let marker = format!("nsnet-e2e-priv-{}", std::process::id());
        for dir in ["/tmp", "/run"] {
            let path = format!("{dir}/{marker}");
            lab.exec_ok("h1", &["touch", &path]);
            assert_eq!(lab.exec_ok("h1", &["ls", &path]), path);
            assert!(
                !lab.exec("h2", &["ls", &path]).status.success(),
                "{path} leaks to h2"
            );
            assert!(
                !std::path::Path::new(&path).exists(),
                "{path} leaks to the host"
            );
        }
        // /tmp and /dev/shm are the node's own too (dirs of its /run tmpfs), sticky and
        // world-writable as usual.
        let path = format!("/dev/shm/{marker}");
        lab.exec_ok("h1", &["touch", &path]);
        assert!(!lab.exec("h2", &["ls", &path]).status.success());
        assert!(!std::path::Path::new(&path).exists());
        assert_eq!(
            lab.exec_ok("h1", &["stat", "-c", "%a", "/tmp", "/dev/shm"]),
            "1777\n1777"
        );
        lab.exec_ok(
            "h1",
            &[
                "su",
                "nobody",
                "-s",
                "/bin/sh",
                "-c",
                "touch /tmp/n /dev/shm/n",
            ],
        );
        // The host's /run (state of every lab, /run/netns) is not visible in a node.
        assert!(!lab
            .exec("h1", &["ls", "/run/netns/t-priv.h2"])
            .status
            .success());
    });
}

#[test]
fn exec_daemon_runs_inside_and_is_gone_after_down() {
    as_root(|| {
        let lab = Lab::new(
            "t-daemon",
            r#"
[nodes]
r1 = { kind = "router", exec = ["sleep 1001 &", "echo hello from r1"] }
"#,
        );
        lab.up();
        let init = lab.pid("r1");
        let node_ns = ns_ids(&init.to_string());
        let mut sleeps = Vec::new();
        for _ in 0..100 {
            sleeps = processes(|a| a == ["sleep", "1001"]);
            if !sleeps.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(sleeps.len(), 1, "the daemon runs once");
        assert_eq!(
            ns_ids(&sleeps[0].0.to_string()),
            node_ns,
            "the daemon runs in r1"
        );
        let ps = lab.exec_ok(
            "r1",
            &["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"],
        );
        assert!(ps.contains("sleep 1001"), "r1 sees its daemon: {ps}");
        let mut log = String::new();
        for _ in 0..100 {
            log = nsnet_ok(&["logs", "r1", "--lab", "t-daemon"]);
            if log.contains("hello from r1") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(log.contains("hello from r1"), "log: {log}");
        nsnet_ok(&["down", "t-daemon"]);
        assert!(processes(|a| a == ["sleep", "1001"]).is_empty());
        assert_nothing_left("t-daemon");
    });
}

#[test]
fn orphans_are_reaped() {
    as_root(|| {
        let lab = Lab::new(
            "t-orphan",
            r#"
[nodes]
h1 = { exec = ["(sleep 0.2 &) ; exec sleep 1002"] }
"#,
        );
        lab.up();
        // The orphan exits after 0.2 s; a node whose init does not reap keeps it as a zombie.
        let state = |line: &str| {
            line.rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .next()
                .map(str::to_string)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // A process may exit between the glob and the read: its line is simply missing.
            let stats = lab.exec_ok(
                "h1",
                &["sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null; true"],
            );
            let sleeps = stats.lines().filter(|l| l.contains("(sleep)")).count();
            let zombies: Vec<&str> = stats
                .lines()
                .filter(|l| state(l).as_deref() == Some("Z"))
                .collect();
            if sleeps == 1 && zombies.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "after 10 s: {sleeps} sleep(s), zombies {zombies:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

#[test]
fn exec_returns_the_exit_status_and_all_prefixes_lines() {
    as_root(|| {
        let lab = Lab::new("t-exec", THREE_NODES);
        lab.up();
        assert_eq!(
            lab.exec("h1", &["sh", "-c", "exit 7"]).status.code(),
            Some(7)
        );
        assert_eq!(
            lab.exec("h1", &["sh", "-c", "kill -9 $$"]).status.code(),
            Some(137)
        );
        assert_eq!(
            lab.exec("h1", &["no-such-program-nsnet"]).status.code(),
            Some(127)
        );
        let o = lab.exec(
            "h2",
            &["sh", "-c", "echo $NSNET_LAB/$NSNET_NODE; echo err >&2"],
        );
        assert_eq!(stdout(&o).trim(), "t-exec/h2");
        assert_eq!(stderr(&o).trim(), "err");
        let all = nsnet_ok(&["exec", "--all", "--lab", "t-exec", "--", "hostname"]);
        let lines: BTreeSet<&str> = all.lines().collect();
        assert_eq!(lines, BTreeSet::from(["h1: h1", "h2: h2", "r1: r1"]));
        let o = nsnet(&[
            "exec",
            "--all",
            "--lab",
            "t-exec",
            "--",
            "sh",
            "-c",
            "test $(hostname) != h2",
        ]);
        assert!(!o.status.success(), "one node failed");
    });
}

/// `nsnet enter NODE` with $SHELL `shell`, under a pty (script), typing `input`.
fn enter_under_pty(lab: &str, node: &str, shell: &str, input: &str) -> std::process::Output {
    let mut script = Command::new("script");
    script.args([
        "-qefc",
        &format!("{} enter {node} --lab {lab}", bin()),
        "/dev/null",
    ]);
    script.env("SHELL", shell);
    run_with_timeout(script, Some(input), Duration::from_secs(20))
}

#[test]
fn enter_works_under_a_pty() {
    as_root(|| {
        let lab = Lab::new("t-enter", THREE_NODES);
        lab.up();
        let o = enter_under_pty(
            "t-enter",
            "h2",
            "/bin/sh",
            "echo inside-$(hostname)-$NSNET_LAB\nexit 3\n",
        );
        let out = stdout(&o);
        assert!(out.contains("inside-h2-t-enter"), "output: {out}");
        assert!(out.contains("[t-enter/h2]"), "prompt shows lab/node: {out}");
        assert_eq!(o.status.code(), Some(3), "{out}");
    });
}

#[test]
fn enter_with_bash_gets_the_rc_file() {
    as_root(|| {
        assert!(
            std::path::Path::new("/bin/bash").exists(),
            "this test needs it installed (scripts/setup installs it)"
        );
        let lab = Lab::new("t-enterb", THREE_NODES);
        lab.up();
        let o = enter_under_pty(
            "t-enterb",
            "h1",
            "/bin/bash",
            // No history: the node shares the host's /root.
            "unset HISTFILE\necho \"rcfd=${NSNET_RCFD-unset} memfds=$(ls -l /proc/$$/fd | grep -c memfd)\"\nexit 4\n",
        );
        let out = stdout(&o);
        // rootfs/bashrc's prompt, so bash read it; it closed the fd it came in.
        assert!(
            out.contains("@t-enterb/h1 "),
            "prompt from the rc file: {out}"
        );
        assert!(out.contains("rcfd=unset memfds=0"), "output: {out}");
        assert_eq!(o.status.code(), Some(4), "{out}");
    });
}

#[test]
fn down_stops_processes_with_sigterm_first() {
    as_root(|| {
        // Seen from the node: the host's /var/tmp (a node has its own /tmp and /run only).
        let dir =
            std::path::PathBuf::from(format!("/var/tmp/nsnet-e2e-term-{}", std::process::id()));
        struct RemoveDir(std::path::PathBuf);
        impl Drop for RemoveDir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        std::fs::create_dir_all(&dir).unwrap();
        let _guard = RemoveDir(dir.clone());
        let d = dir.display();
        let trap = |name: &str| {
            format!("trap 'echo term > {d}/{name}; exit 0' TERM; echo up > {d}/{name}; while :; do sleep 0.05; done")
        };
        let lab = Lab::new(
            "t-term",
            &format!(
                "[nodes]\nh1 = {{ exec = [\"{}\"] }}\nh2 = {{}}\n",
                trap("command")
            ),
        );
        lab.up();
        // h2's only process besides its init came in through `nsnet exec`: not the init's child.
        let mut joined = Command::new(bin());
        joined
            .args([
                "exec",
                "--lab",
                "t-term",
                "h2",
                "--",
                "sh",
                "-c",
                &trap("joined"),
            ])
            .stdout(std::process::Stdio::null());
        let mut joined = joined.spawn().unwrap();
        for name in ["command", "joined"] {
            let path = dir.join(name);
            for _ in 0..250 {
                if std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with("up")) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                "up\n",
                "{name} started"
            );
        }
        nsnet_ok(&["down", "t-term"]);
        let _ = joined.wait();
        for name in ["command", "joined"] {
            assert_eq!(
                std::fs::read_to_string(dir.join(name)).unwrap(),
                "term\n",
                "{name} got SIGTERM before the node stopped"
            );
        }
        assert_nothing_left("t-term");
    });
}

#[test]
fn failed_up_rolls_back_everything() {
    as_root(|| {
        let lab = Lab::new(
            "t-rollback",
            r#"
[nodes]
h1 = {}
h2 = {}
h3 = { files = { "/nonexistent-nsnet-dir/conf" = "conf.txt" } }
"#,
        );
        std::fs::write(lab.dir.join("conf.txt"), "x").unwrap();
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success(), "up must fail");
        let err = stderr(&o);
        assert!(
            err.contains("h3") && err.contains("private"),
            "error names node and fix: {err}"
        );
        assert_nothing_left("t-rollback");
    });
}

#[test]
fn files_and_private_dirs() {
    as_root(|| {
        let lab = Lab::new(
            "t-files",
            r#"
[nodes]
h1 = { private = ["/run/app", "/etc"], files = { "/tmp/a/b.txt" = "b.txt", "/etc/app/app.conf" = "b.txt" } }
"#,
        );
        std::fs::write(lab.dir.join("b.txt"), "content-b\n").unwrap();
        lab.up();
        assert_eq!(lab.exec_ok("h1", &["cat", "/tmp/a/b.txt"]), "content-b");
        assert_eq!(
            lab.exec_ok("h1", &["cat", "/etc/app/app.conf"]),
            "content-b"
        );
        assert_eq!(lab.exec_ok("h1", &["ls", "-A", "/run/app"]), "");
        assert!(!std::path::Path::new("/etc/app/app.conf").exists());
    });
}

#[test]
fn two_labs_do_not_interfere() {
    as_root(|| {
        let body = "[nodes]\nh1 = { exec = [\"sleep 1003\"] }\nh2 = {}\n";
        let a = Lab::new("t-two-a", body);
        let b = Lab::new("t-two-b", body);
        a.up();
        b.up();
        let ns_a = ns_ids(&a.pid("h1").to_string());
        let ns_b = ns_ids(&b.pid("h1").to_string());
        for (x, y) in ns_a.iter().zip(&ns_b) {
            assert_ne!(x, y);
        }
        // Without --lab while two labs are up: a clear error listing them.
        let o = nsnet(&["exec", "h1", "--", "true"]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("t-two-a") && stderr(&o).contains("t-two-b"));
        nsnet_ok(&["down", a.path()]);
        assert_nothing_left("t-two-a");
        assert_eq!(b.exec_ok("h1", &["hostname"]), "h1");
        assert!(b.status().iter().all(|(_, _, alive)| *alive));
        assert!(std::path::Path::new("/run/netns/t-two-b.h1").exists());
        let ps = b.exec_ok(
            "h1",
            &[
                "sh",
                "-c",
                "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done",
            ],
        );
        assert_eq!(
            ps.lines().filter(|l| l.trim() == "sleep 1003").count(),
            1,
            "{ps}"
        );
        nsnet_ok(&["down", "t-two-b"]);
        assert_nothing_left("t-two-b");
    });
}

#[test]
fn killed_init_shows_dead_and_down_cleans_up() {
    as_root(|| {
        let lab = Lab::new("t-kill", THREE_NODES);
        lab.up();
        let pid = lab.pid("h2");
        let o = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .output()
            .unwrap();
        assert!(o.status.success());
        let mut dead = false;
        for _ in 0..100 {
            dead = lab.status().iter().any(|(n, _, alive)| n == "h2" && !alive);
            if dead {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(dead, "h2 shows dead");
        assert!(lab.status().iter().filter(|(_, _, alive)| *alive).count() == 2);
        let o = lab.exec("h2", &["true"]);
        assert!(stderr(&o).contains("not running"), "{}", stderr(&o));
        nsnet_ok(&["down", "t-kill"]);
        assert_nothing_left("t-kill");
        // down is idempotent.
        nsnet_ok(&["down", "t-kill"]);
    });
}

#[test]
fn up_refuses_a_lab_that_is_up() {
    as_root(|| {
        let lab = Lab::new("t-twice", "[nodes]\nh1 = {}\n");
        lab.up();
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("already up"), "{}", stderr(&o));
        assert_eq!(lab.exec_ok("h1", &["hostname"]), "h1");
    });
}

/// `--timings` output ("  PHASE   SECONDS s" lines): the phases, and the total, which must
/// be their sum.
fn timings(stderr: &str) -> (Vec<String>, f64) {
    let mut phases = Vec::new();
    let (mut sum, mut total) = (0.0, None);
    for line in stderr.lines().skip_while(|l| *l != "timings:").skip(1) {
        let (name, secs) = line
            .trim()
            .strip_suffix(" s")
            .and_then(|l| l.rsplit_once(' '))
            .unwrap_or_else(|| panic!("a timings line: {line:?}"));
        let secs: f64 = secs.parse().unwrap();
        match name.trim() {
            "total" => total = Some(secs),
            name => {
                sum += secs;
                phases.push(name.to_string());
            }
        }
    }
    let total = total.expect("a total line");
    assert!((total - sum).abs() < 0.005, "total {total} vs sum {sum}");
    (phases, total)
}

#[test]
fn up_and_down_print_their_timings() {
    as_root(|| {
        let lab = Lab::new("t-timings", THREE_NODES);
        let o = nsnet(&["up", lab.path(), "--timings"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (phases, _) = timings(&stderr(&o));
        for p in [
            "spawn inits",
            "links",
            "addresses, routes",
            "start services",
            "release inits",
        ] {
            assert!(phases.iter().any(|x| x == p), "{p} in {phases:?}");
        }
        let o = nsnet(&["down", "t-timings", "--timings"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (phases, _) = timings(&stderr(&o));
        assert_eq!(
            phases,
            [
                "find inits",
                "watch namespaces",
                "signal inits",
                "unregister netns",
                "wait for inits",
                "free namespaces",
                "remove state"
            ]
        );
        assert_nothing_left("t-timings");
    });
}

#[test]
fn sys_shows_the_nodes_own_interfaces_from_the_first_thing_run_in_it() {
    as_root(|| {
        // h1's own startup line sees its /sys; h2 runs nothing until `nsnet exec`.
        let lab = Lab::new(
            "t-sysfs",
            "[nodes]\nh1 = { exec = [\"ls /sys/class/net > /tmp/at-start\"] }\nh2 = {}\n\n[[links]]\nendpoints = [\"h1\", \"h2\"]\n",
        );
        let out = nsnet_ok(&["up", "--wait", "30", lab.path()]);
        assert!(out.contains("startup done"), "{out}");
        assert_eq!(lab.exec_ok("h1", &["cat", "/tmp/at-start"]), "eth0\nlo");
        assert_eq!(lab.exec_ok("h2", &["ls", "/sys/class/net"]), "eth0\nlo");
        // Two at once in a node that had none: one mount, both see it.
        let a = std::thread::spawn({
            let name = lab.name.clone();
            move || {
                nsnet(&[
                    "exec",
                    "h2",
                    "--lab",
                    &name,
                    "--",
                    "ls",
                    "/sys/class/net/eth0/address",
                ])
            }
        });
        // What is mounted on /sys, bottom to top: the host's sysfs (hidden beneath), the
        // init's placeholder, then one sysfs of the node's own.
        let b = lab.exec(
            "h2",
            &["awk", "$2 == \"/sys\" { print $3 }", "/proc/self/mounts"],
        );
        let a = a.join().unwrap();
        assert!(a.status.success() && b.status.success());
        let fs = stdout(&b);
        let (_, over) = fs.split_once("tmpfs\n").expect("the placeholder on /sys");
        assert_eq!(over.trim(), "sysfs", "one sysfs over the placeholder: {fs}");
    });
}
