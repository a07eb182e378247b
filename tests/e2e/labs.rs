//! Every example lab in labs/ comes up as it is (under a test's own name, `up --name`), does
//! what its opening comment says, and goes down leaving nothing.

use crate::util::*;
use std::time::{Duration, Instant};

/// A lab file of the repository, up under `name`; down (and checked clean) on drop.
struct RepoLab {
    name: String,
}

impl RepoLab {
    fn up(file: &str, name: &str) -> RepoLab {
        let _ = nsnet(&["down", name]);
        let path = format!("{}/labs/{file}", env!("CARGO_MANIFEST_DIR"));
        nsnet_ok(&["up", "--name", name, &path]);
        RepoLab {
            name: name.to_string(),
        }
    }

    fn exec(&self, node: &str, args: &[&str]) -> std::process::Output {
        let mut all = vec!["exec", node, "--lab", &self.name, "--"];
        all.extend_from_slice(args);
        nsnet(&all)
    }

    #[track_caller]
    fn exec_ok(&self, node: &str, args: &[&str]) -> String {
        let o = self.exec(node, args);
        assert!(
            o.status.success(),
            "{node}: {args:?} failed:\n{}{}",
            stdout(&o),
            stderr(&o)
        );
        stdout(&o).trim().to_string()
    }

    /// Polls `check` (bounded by `limit`), returning the time it took.
    #[track_caller]
    fn wait_for(&self, what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
        let t = Instant::now();
        while !check() {
            assert!(
                t.elapsed() < limit,
                "{}: {what} did not happen within {limit:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        t.elapsed()
    }
}

impl Drop for RepoLab {
    fn drop(&mut self) {
        let _ = nsnet(&["down", &self.name]);
        if !std::thread::panicking() {
            assert_nothing_left(&self.name);
        }
    }
}

#[test]
fn switch_lab_two_hosts_on_one_switch() {
    as_root(|| {
        let lab = RepoLab::up("switch.toml", "t-lab-sw");
        lab.exec_ok("h1", &["ping", "-c1", "-W2", "h2"]);
        lab.exec_ok("h2", &["ping", "-c1", "-W2", "h1"]);
        // The bridge learnt both hosts' MACs on its ports.
        let fdb = lab.exec_ok("s1", &["bridge", "fdb", "show", "br", "br0", "dynamic"]);
        assert!(fdb.lines().count() >= 2, "{fdb}");
    });
}

#[test]
fn two_routers_lab_hosts_reach_each_other_through_both_routers() {
    as_root(|| {
        let lab = RepoLab::up("two-routers.toml", "t-lab-tr");
        for (a, b) in [("h1", "h4"), ("h2", "h3"), ("h4", "h1")] {
            lab.exec_ok(a, &["ping", "-c1", "-W2", b]);
        }
        let trace = lab.exec_ok("h1", &["traceroute", "-n", "-q1", "-w1", "h4"]);
        let hops: Vec<&str> = trace
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        assert_eq!(hops, ["10.0.0.1", "10.0.2.2", "10.0.1.3"], "{trace}");
    });
}

#[test]
fn ospf_lab_converges_then_withdraws_routes_when_the_link_fails() {
    as_root(|| {
        if !std::path::Path::new("/usr/lib/frr/ospfd").exists() {
            panic!("FRRouting is not installed: run scripts/setup");
        }
        let lab = RepoLab::up("ospf.toml", "t-lab-ospf");
        // Nothing is routed before OSPF says so: r1 learns r2's LAN only from OSPF.
        let took = lab.wait_for("r2 in state Full at r1", Duration::from_secs(40), || {
            let o = lab.exec("r1", &["vtysh", "-c", "show ip ospf neighbor"]);
            stdout(&o)
                .lines()
                .any(|l| l.starts_with("10.255.0.2") && l.contains("Full"))
        });
        eprintln!("ospf: adjacency Full after {took:?}");
        lab.wait_for("h1 reaching h4", Duration::from_secs(20), || {
            lab.exec("h1", &["ping", "-c1", "-W1", "h4"])
                .status
                .success()
        });
        let route = lab.exec_ok("r1", &["ip", "-4", "route", "show", "10.0.2.0/24"]);
        assert!(
            route.contains("proto ospf") && route.contains("via 10.0.12.2"),
            "{route}"
        );
        // The r1–r2 link goes down inside the nodes: OSPF withdraws the route.
        lab.exec_ok("r1", &["ip", "link", "set", "eth1", "down"]);
        lab.exec_ok("r2", &["ip", "link", "set", "eth0", "down"]);
        lab.wait_for(
            "r1 withdrawing 10.0.2.0/24",
            Duration::from_secs(15),
            || {
                lab.exec_ok("r1", &["ip", "-4", "route", "show", "10.0.2.0/24"])
                    .is_empty()
            },
        );
        assert!(!lab
            .exec("h1", &["ping", "-c1", "-W1", "h4"])
            .status
            .success());
    });
}

#[test]
fn docker_like_lab_masquerades_and_publishes_a_port() {
    as_root(|| {
        let lab = RepoLab::up("docker-like.toml", "t-lab-dock");
        // Out through the masquerade; no way in to the containers' addresses.
        lab.exec_ok("c1", &["ping", "-c1", "-W2", "198.51.100.2"]);
        assert!(!lab
            .exec("outside", &["ping", "-c1", "-W1", "172.17.0.2"])
            .status
            .success());
        // The published port reaches web's HTTP server (it may take a moment to listen).
        lab.wait_for("web answering on gw:8080", Duration::from_secs(15), || {
            lab.exec(
                "outside",
                &[
                    "curl",
                    "-s",
                    "-m",
                    "2",
                    "-o",
                    "/dev/null",
                    "http://198.51.100.1:8080/",
                ],
            )
            .status
            .success()
        });
        // The outside sees gw's address as the containers' source.
        let server = std::thread::scope(|sc| {
            let h = sc.spawn(|| {
                lab.exec_ok(
                    "outside",
                    &["timeout", "8", "python3", "-c", "import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',9001));s.listen(1);c,a=s.accept();print(a[0])"],
                )
            });
            lab.wait_for("c1 connecting out", Duration::from_secs(6), || {
                lab.exec(
                    "c1",
                    &[
                        "python3",
                        "-c",
                        "import socket;socket.create_connection(('198.51.100.2',9001),1)",
                    ],
                )
                .status
                .success()
            });
            h.join().unwrap()
        });
        assert_eq!(server, "198.51.100.1");
    });
}

#[test]
fn datacenter_lab_spreads_over_equal_paths() {
    as_root(|| {
        let lab = RepoLab::up("datacenter.toml", "t-lab-dc");
        // An edge router reaches another pod's hosts over both of its aggregation routers.
        let far = lab.exec_ok(
            "h4-2-2",
            &[
                "sh",
                "-c",
                "ip -4 -o route show proto kernel | cut -d' ' -f1",
            ],
        );
        let route = lab.exec_ok("e1-1", &["ip", "-4", "route", "show", &far]);
        assert_eq!(route.matches("nexthop via").count(), 2, "{route}");
        // Pod to pod, through the core.
        for (a, b) in [
            ("h1-1-1", "h4-2-2"),
            ("h2-1-2", "h3-2-1"),
            ("h1-1-1", "h1-2-1"),
        ] {
            lab.exec_ok(a, &["ping", "-c1", "-W2", b]);
        }
        let trace = lab.exec_ok("h1-1-1", &["traceroute", "-n", "-q1", "-w1", "h4-2-2"]);
        assert_eq!(
            trace.lines().count() - 1,
            6,
            "edge, aggregation, core, aggregation, edge, host:\n{trace}"
        );
    });
}

/// `nsnet test` on a lab file of the repository, under `name`: every check it carries
/// passes, and the lab is gone afterwards.
#[track_caller]
fn passes_its_checks(file: &str, name: &str) {
    let _ = nsnet(&["down", name]);
    let path = format!("{}/labs/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["test", "--name", name, &path]);
    let o = run_with_timeout(cmd, None, Duration::from_secs(180));
    let out = stdout(&o);
    assert!(o.status.success(), "{file}:\n{out}{}", stderr(&o));
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
    assert_nothing_left(name);
}

#[test]
fn switch_lab_passes_its_checks() {
    as_root(|| passes_its_checks("switch.toml", "t-ck-sw"));
}

#[test]
fn two_routers_lab_passes_its_checks() {
    as_root(|| passes_its_checks("two-routers.toml", "t-ck-tr"));
}

#[test]
fn ospf_lab_passes_its_checks() {
    as_root(|| passes_its_checks("ospf.toml", "t-ck-ospf"));
}

#[test]
fn docker_like_lab_passes_its_checks() {
    as_root(|| passes_its_checks("docker-like.toml", "t-ck-dock"));
}

#[test]
fn datacenter_lab_passes_its_checks() {
    as_root(|| passes_its_checks("datacenter.toml", "t-ck-dc"));
}
