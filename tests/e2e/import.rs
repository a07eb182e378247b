//! Labs written for other tools, run as they are: a Kathará lab directory and a
//! containerlab topology file, both written here in their formats' documented shape (FRR
//! routers from device folders or binds, startup files with `ip addr` and `systemctl start
//! frr`), come up with `nsnet up`, and converge: OSPF routes in the kernels, pings across the
//! routers. What `nsnet convert` prints of each comes up the same. The host's FRR files stay
//! as they were: the nodes' roots are copy-on-write.

use crate::util::*;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Where FRR and the startup files would write on the host, were the roots not the nodes' own.
const WATCHED: &[&str] = &[
    "/etc/frr",
    "/var/log/frr",
    "/var/lib/frr",
    "/var/run/frr",
    "/var/log/startup.log",
    "/var/log/shared.log",
    "/shared",
    "/hostlab",
];

/// A lab directory of files, brought down (under each name it ran as) and removed on drop.
struct LabDir {
    dir: PathBuf,
    names: Vec<String>,
    env: Vec<(String, String)>,
}

impl LabDir {
    fn new(tag: &str, names: &[&str], files: &[(&str, &str)]) -> LabDir {
        let dir = std::env::temp_dir()
            .join(format!("nsnet-e2e-{tag}-{}", std::process::id()))
            .join(tag);
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for n in names {
            let _ = nsnet(&["down", n]);
        }
        LabDir {
            dir,
            names: names.iter().map(|n| n.to_string()).collect(),
            env: Vec::new(),
        }
    }

    fn path(&self, rel: &str) -> String {
        self.dir.join(rel).to_string_lossy().into_owned()
    }

    /// `nsnet ARGS` with this lab's environment (NSNET_IMAGES).
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(bin());
        cmd.args(args).envs(self.env.iter().cloned());
        run_with_timeout(cmd, None, Duration::from_secs(150))
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> (String, String) {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "nsnet {args:?} failed ({}):\n{}{}",
            o.status,
            stdout(&o),
            stderr(&o)
        );
        (stdout(&o), stderr(&o))
    }
}

impl Drop for LabDir {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = nsnet(&["down", n]);
        }
        let _ = std::fs::remove_dir_all(self.dir.parent().unwrap());
    }
}

/// `nsnet exec NODE --lab LAB -- ARGS`: (success, stdout).
fn exec(lab: &str, node: &str, args: &[&str]) -> (bool, String) {
    let mut all = vec!["exec", node, "--lab", lab, "--"];
    all.extend_from_slice(args);
    let o = nsnet(&all);
    (o.status.success(), stdout(&o))
}

#[track_caller]
fn exec_ok(lab: &str, node: &str, args: &[&str]) -> String {
    let (ok, out) = exec(lab, node, args);
    assert!(ok, "exec on {node} of {lab} {args:?} failed: {out}");
    out.trim().to_string()
}

/// FRR's daemons file with ospfd on, as a lab ships it.
const DAEMONS: &str = "zebra=yes
ospfd=yes
bgpd=no
vtysh_enable=yes
zebra_options=\"  -A 127.0.0.1 -s 90000000\"
ospfd_options=\"  -A 127.0.0.1\"
";

/// An OSPF router: every interface in `net`, quick hellos. The interfaces come first, as
/// FRR writes its own file: were `router ospf` first, an interface would start OSPF with the
/// default timers, and wait 40 s to elect a designated router.
fn frr_conf(name: &str, id: &str, net: &str, ifaces: &[&str]) -> String {
    let mut s = format!("frr defaults traditional\nhostname {name}\nlog stdout\n!\n");
    for i in ifaces {
        s.push_str(&format!(
            "interface {i}\n ip ospf hello-interval 1\n ip ospf dead-interval 3\n!\n"
        ));
    }
    s.push_str(&format!(
        "router ospf\n ospf router-id {id}\n network {net} area 0\n!\n"
    ));
    s
}

/// The Kathará lab: pc1 —A— r1 —B(a LAN with r2 and r3)— r3 —C— pc2, and r2's stub D.
fn kathara_files() -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = vec![
        (
            "lab.conf".into(),
            "LAB_DESCRIPTION=\"three OSPF routers, two pcs\"\n\
             LAB_AUTHOR=\"nsnet's tests\"\n\
             \n\
             pc1[0]=\"A/02:00:00:00:0a:01\"\n\
             \n\
             r1[0]=\"A\"\n\
             r1[1]=\"B\"\n\
             r1[image]=\"kathara/frr\"\n\
             \n\
             r2[0]=\"B\"\n\
             r2[1]=\"D\"\n\
             r2[image]=\"kathara/frr\"\n\
             \n\
             r3[0]=\"B\"\n\
             r3[1]=\"C\"\n\
             r3[image]=\"kathara/frr\"\n\
             r3[exec]=\"touch /tmp/r3-exec-ran\"\n\
             \n\
             pc2[0]=\"C\"\n\
             pc2[sysctl]=\"net.ipv4.icmp_echo_ignore_broadcasts=0\"\n"
                .into(),
        ),
        ("lab.dep".into(), "# hosts after their routers\npc1: r1\npc2: r3\n".into()),
        (
            "shared.startup".into(),
            "hostname > /shared/$(hostname).up\n".into(),
        ),
        (
            "pc1.startup".into(),
            "ip addr add 10.9.1.10/24 dev eth0\nip link set eth0 up\nip route add default via 10.9.1.1\n\
             # lab.dep: r1's startup has ended\n[ -f /shared/r1.done ] && echo after > /shared/pc1.order\n"
                .into(),
        ),
        (
            "pc2.startup".into(),
            "ip addr add 10.9.3.10/24 dev eth0\nip link set eth0 up\nip route add default via 10.9.3.1\n"
                .into(),
        ),
    ];
    let routers = [
        (
            "r1",
            "1.1.1.1",
            [("eth0", "10.9.1.1/24"), ("eth1", "10.9.2.1/24")],
        ),
        (
            "r2",
            "2.2.2.2",
            [("eth0", "10.9.2.2/24"), ("eth1", "10.9.4.1/24")],
        ),
        (
            "r3",
            "3.3.3.3",
            [("eth0", "10.9.2.3/24"), ("eth1", "10.9.3.1/24")],
        ),
    ];
    for (r, id, addrs) in routers {
        let mut startup = String::new();
        for (i, a) in addrs {
            startup.push_str(&format!("ip addr add {a} dev {i}\nip link set {i} up\n"));
        }
        startup.push_str("systemctl start frr\n");
        if r == "r1" {
            // Slow enough that pc1 would start first if it did not wait.
            startup.push_str("sleep 1\ntouch /shared/r1.done\n");
        }
        f.push((format!("{r}.startup"), startup));
        f.push((
            format!("{r}/etc/frr/frr.conf"),
            frr_conf(r, id, "10.9.0.0/16", &["eth0", "eth1"]),
        ));
        f.push((format!("{r}/etc/frr/daemons"), DAEMONS.into()));
    }
    f
}

/// Convergence of the Kathará lab running as `lab`: OSPF routes, pings across the routers.
fn kathara_converges(lab: &str) {
    eventually(60, "r1's OSPF route to pc2's LAN", || {
        exec(lab, "r1", &["ip", "route", "show", "proto", "ospf"])
            .1
            .contains("10.9.3.0/24")
    });
    eventually(20, "pc1 reaching pc2 across r1 and r3", || {
        exec(lab, "pc1", &["ping", "-c1", "-W1", "10.9.3.10"]).0
    });
    // r2's stub (a collision domain of one) is routed too.
    eventually(20, "pc1 reaching r2's stub network", || {
        exec(lab, "pc1", &["ping", "-c1", "-W1", "10.9.4.1"]).0
    });
    // On the LAN of three, r2 has both other routers as neighbours.
    let nbrs = exec_ok(lab, "r2", &["vtysh", "-c", "show ip ospf neighbor"]);
    assert!(
        nbrs.contains("1.1.1.1") && nbrs.contains("3.3.3.3"),
        "{nbrs}"
    );
    let trace = exec_ok(
        lab,
        "pc1",
        &["traceroute", "-n", "-q1", "-N1", "-w1", "10.9.3.10"],
    );
    assert!(
        trace.contains("10.9.1.1") && trace.contains("10.9.2.3"),
        "{trace}"
    );
}

#[test]
fn a_kathara_lab_directory_runs_as_it_is_and_converted() {
    as_root(|| {
        let before = listing(WATCHED);
        let files = kathara_files();
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        // The directory's name is the lab's.
        let k = LabDir::new("t-imp-kat", &["t-imp-kat", "t-imp-katc"], &files);
        let dir = k.dir.to_string_lossy().into_owned();
        let (_, err) = k.ok(&["up", &dir, "--wait"]);
        // The notes come first, one line each; shared/ is made as Kathará makes it.
        assert!(
            err.contains("note: images kathara/base (2 devices), kathara/frr (3 devices): no root in the image map"),
            "{err}"
        );
        assert!(
            err.contains("(Kathará's /shared), as kathara lstart does"),
            "{err}"
        );
        kathara_converges("t-imp-kat");
        // dev[N]="CD/MAC", dev[exec], dev[sysctl], the startup's trace, /shared and lab.dep.
        assert_eq!(
            exec_ok("t-imp-kat", "pc1", &["cat", "/sys/class/net/eth0/address"]),
            "02:00:00:00:0a:01"
        );
        exec_ok("t-imp-kat", "r3", &["test", "-f", "/tmp/r3-exec-ran"]);
        assert_eq!(
            exec_ok(
                "t-imp-kat",
                "pc2",
                &["sysctl", "-n", "net.ipv4.icmp_echo_ignore_broadcasts"]
            ),
            "0"
        );
        let log = exec_ok("t-imp-kat", "r1", &["cat", "/var/log/startup.log"]);
        assert!(log.contains("+ ip addr add 10.9.1.1/24 dev eth0"), "{log}");
        assert!(log.contains("+ systemctl start frr"), "{log}");
        for d in ["pc1", "pc2", "r1", "r2", "r3"] {
            let up = std::fs::read_to_string(k.dir.join(format!("shared/{d}.up"))).unwrap();
            assert_eq!(up.trim(), d);
        }
        assert_eq!(
            std::fs::read_to_string(k.dir.join("shared/pc1.order"))
                .unwrap()
                .trim(),
            "after",
            "pc1 started before r1's startup ended"
        );
        // The folder's FRR files, prepared as Kathará does; /hostlab is the lab, read-only.
        assert_eq!(
            exec_ok(
                "t-imp-kat",
                "r1",
                &["stat", "-c", "%U:%G %a", "/etc/frr/frr.conf"]
            ),
            "frr:frr 640"
        );
        assert!(!exec("t-imp-kat", "r1", &["touch", "/hostlab/x"]).0);
        k.ok(&["down", &dir]);
        assert_nothing_left("t-imp-kat");

        // Converted: the lab file beside lab.conf comes up the same.
        let (toml, err) = k.ok(&["convert", &dir]);
        assert!(err.contains("note: images kathara/base"), "{err}");
        assert!(toml.starts_with("# Converted by `nsnet convert` from the Kathará lab t-imp-kat/"));
        std::fs::write(k.dir.join("lab.toml"), &toml).unwrap();
        std::fs::remove_dir_all(k.dir.join("shared")).unwrap();
        std::fs::create_dir(k.dir.join("shared")).unwrap();
        k.ok(&["up", &k.path("lab.toml"), "--name", "t-imp-katc", "--wait"]);
        kathara_converges("t-imp-katc");
        assert!(k.dir.join("shared/pc1.order").exists());
        nsnet_ok(&["down", "t-imp-katc"]);
        assert_nothing_left("t-imp-katc");
        assert_eq!(listing(WATCHED), before, "the host's FRR files changed");
    });
}

/// The containerlab file: h1 — r1 — r2 — r3 — br1 — h2, FRR from the image map.
const CLAB: &str = r#"# three FRR routers in a line, a host at each end
name: t-imp-clab

topology:
  defaults:
    kind: linux
  kinds:
    linux:
      image: quay.io/frrouting/frr:8.4.1
  groups:
    routers:
      binds:
        - __clabNodeName__/daemons:/etc/frr/daemons
        - __clabNodeName__/frr.conf:/etc/frr/frr.conf
  nodes:
    r1:
      group: routers
      exec:
        - ip addr add 10.10.1.1/24 dev eth1
        - touch /shared/r1.done
      binds:
        - shared:/shared
    r2:
      group: routers
    r3:
      group: routers
      exec:
        - ip addr add 10.10.2.1/24 dev eth2
    h1:
      image: alpine:3
      env:
        GREETING: hello
      binds:
        - shared:/shared
      exec:
        - ip addr add 10.10.1.10/24 dev eth1
        - ip route add 10.10.0.0/16 via 10.10.1.1
        - sh -c 'test -f /shared/r1.done && echo $$GREETING > /shared/h1.after'
      stages:
        configure:
          wait-for:
            - node: r1
              stage: configure
    h2:
      image: alpine:3
      exec:
        - ip addr add 10.10.2.10/24 dev eth1
        - ip route add 10.10.0.0/16 via 10.10.2.1
    br1:
      kind: bridge

  links:
    - endpoints: ["r1:eth1", "h1:eth1"]
    - type: veth
      endpoints:
        - node: r1
          interface: eth2
          mac: 02:00:00:10:01:02
          ipv4: 10.10.12.1/24
        - node: r2
          interface: eth1
          ipv4: 10.10.12.2/24
    - endpoints: ["r2:eth2", "r3:eth1"]
      ipv4: ["10.10.23.2/24", "10.10.23.3/24"]
    - endpoints: ["r3:eth2", "br1:port1"]
    - endpoints: ["h2:eth1", "br1:port2"]
"#;

fn clab_files() -> Vec<(String, String)> {
    let mut f = vec![
        ("imp.clab.yml".to_string(), CLAB.to_string()),
        ("shared/.keep".to_string(), String::new()),
        (
            "images.toml".to_string(),
            "[images]\n# FRR's image: this machine's FRR, started as the image's entrypoint does\n\"quay.io/frrouting/frr:8.4.1\" = { root = \"overlay\", services = [\"frr\"] }\n"
                .to_string(),
        ),
    ];
    for (r, id, ifaces) in [
        ("r1", "1.1.1.1", ["eth1", "eth2"]),
        ("r2", "2.2.2.2", ["eth1", "eth2"]),
        ("r3", "3.3.3.3", ["eth1", "eth2"]),
    ] {
        f.push((format!("{r}/daemons"), DAEMONS.into()));
        f.push((
            format!("{r}/frr.conf"),
            frr_conf(r, id, "10.10.0.0/16", &ifaces),
        ));
    }
    f
}

fn clab_converges(lab: &str) {
    eventually(60, "r1's OSPF route to h2's LAN", || {
        exec(lab, "r1", &["ip", "route", "show", "proto", "ospf"])
            .1
            .contains("10.10.2.0/24")
    });
    eventually(20, "h1 reaching h2 across the three routers", || {
        exec(lab, "h1", &["ping", "-c1", "-W1", "10.10.2.10"]).0
    });
    let trace = exec_ok(
        lab,
        "h1",
        &["traceroute", "-n", "-q1", "-N1", "-w1", "10.10.2.10"],
    );
    for hop in ["10.10.1.1", "10.10.12.2", "10.10.23.3"] {
        assert!(trace.contains(hop), "{hop} in {trace}");
    }
}

#[test]
fn a_containerlab_file_runs_as_it_is_and_converted() {
    as_root(|| {
        let before = listing(WATCHED);
        let files = clab_files();
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let mut c = LabDir::new("clab", &["t-imp-clab", "t-imp-clabc"], &files);
        c.env = vec![("NSNET_IMAGES".into(), c.path("images.toml"))];
        // The file's `name:` is the lab's.
        let file = c.path("imp.clab.yml");
        let (_, err) = c.ok(&["up", &file, "--wait"]);
        assert!(
            err.contains("note: image alpine:3: no root in the image map"),
            "{err}"
        );
        assert!(
            err.contains("note: containerlab's management network"),
            "{err}"
        );
        assert!(
            !err.contains("quay.io"),
            "the mapped image has no note: {err}"
        );
        clab_converges("t-imp-clab");
        // FRR runs as the image map says, from the node's own systemctl.
        let status = exec_ok("t-imp-clab", "r2", &["systemctl", "is-active", "frr"]);
        assert_eq!(status, "active");
        // The extended link's MAC and addresses, the default MTU, the bridge of its own.
        assert_eq!(
            exec_ok("t-imp-clab", "r1", &["cat", "/sys/class/net/eth2/address"]),
            "02:00:00:10:01:02"
        );
        let a = exec_ok(
            "t-imp-clab",
            "r3",
            &["ip", "-4", "-o", "addr", "show", "dev", "eth1"],
        );
        assert!(a.contains("10.10.23.3/24"), "{a}");
        assert_eq!(
            exec_ok("t-imp-clab", "h1", &["cat", "/sys/class/net/eth1/mtu"]),
            "9500"
        );
        // stages wait-for → after, env through $$ in exec, binds of a shared directory.
        assert_eq!(
            std::fs::read_to_string(c.dir.join("shared/h1.after"))
                .unwrap()
                .trim(),
            "hello"
        );
        // The bind of r1's frr.conf is the file itself.
        let conf = exec_ok("t-imp-clab", "r1", &["cat", "/etc/frr/frr.conf"]);
        assert!(conf.contains("ospf router-id 1.1.1.1"), "{conf}");
        c.ok(&["down", &file]);
        assert_nothing_left("t-imp-clab");

        // Converted, beside the topology file.
        let (toml, _) = c.ok(&["convert", &file]);
        assert!(toml.contains("services = [\"frr\"]"), "{toml}");
        std::fs::write(c.dir.join("imp.toml"), &toml).unwrap();
        std::fs::remove_file(c.dir.join("shared/h1.after")).unwrap();
        c.ok(&["up", &c.path("imp.toml"), "--name", "t-imp-clabc", "--wait"]);
        clab_converges("t-imp-clabc");
        assert!(c.dir.join("shared/h1.after").exists());
        nsnet_ok(&["down", "t-imp-clabc"]);
        assert_nothing_left("t-imp-clabc");
        assert_eq!(listing(WATCHED), before, "the host's FRR files changed");
    });
}

#[test]
fn convert_plan_and_graph_need_no_root_and_refuse_with_places() {
    let files = [
        ("lab.conf", "a[0]=\"A\"\nb[0]=\"A\"\nb[bridged]=\"true\"\n"),
        (
            "bad.clab.yml",
            "name: bad\ntopology:\n  nodes:\n    srl:\n      kind: nokia_srlinux\n",
        ),
    ];
    let d = LabDir::new("impcli", &[], &files);
    let dir = d.dir.to_string_lossy().into_owned();
    // As nobody, when the tests run as root: convert needs no privilege.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if root {
        let o = nsnet_setpriv(&NOBODY, &["convert", &dir]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("[nodes.a]"));
    }
    let (toml, err) = d.ok(&["convert", &dir]);
    assert!(toml.contains("[nodes.a]"), "{toml}");
    assert!(
        err.contains("note: lab.conf:3: b[bridged]: not honoured"),
        "{err}"
    );
    let (plan, _) = d.ok(&["plan", &dir]);
    assert!(plan.contains("lab impcli: 2 nodes"), "{plan}");
    let (dot, _) = d.ok(&["graph", &d.path("lab.conf")]);
    assert!(dot.contains("digraph") || dot.contains("graph"), "{dot}");
    let o = d.run(&["convert", &d.path("bad.clab.yml")]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("bad.clab.yml:5:13: kind nokia_srlinux (srl)"),
        "{err}"
    );
    assert!(
        err.contains("fix: nsnet converts kinds linux and bridge"),
        "{err}"
    );
    // Not another tool's lab: said so, with what to give instead.
    let o = d.run(&["convert", &d.path("lab.dep.missing")]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("neither a Kathará lab"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(d.dir.join("lab.conf")).unwrap();
    let o = d.run(&["plan", &dir]);
    assert!(
        stderr(&o).contains("a directory without a lab.conf"),
        "{}",
        stderr(&o)
    );
}
