//! Nodes that run real software: copy-on-write roots of the host's filesystem, roots of their
//! own (a tree, an image tarball), file trees, private dirs with their owners and modes, a
//! standard /run, and cpu, memory and pids limits.

use crate::util::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const OSPF_CONF: &str = "frr defaults traditional
hostname {name}
log stdout
router ospf
 ospf router-id {id}
 network 10.7.0.0/16 area 0
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
fn frr_on_copy_on_write_roots_leaves_the_host_unchanged() {
    as_root(|| {
        let watched = [
            "/etc/frr",
            "/var/tmp",
            "/var/log/frr",
            "/var/lib/frr",
            "/var/run/frr",
        ];
        let before = listing(&watched);
        let body = r#"
[lab]
root = "overlay"

[nodes]
h1 = { gateway = "10.7.1.1" }
h2 = { gateway = "10.7.2.1" }

[nodes.r1]
kind = "router"
files = { "/etc/frr/frr.conf" = "r1.conf" }
exec = ["/usr/lib/frr/frrinit.sh start"]

[nodes.r2]
kind = "router"
files = { "/etc/frr/frr.conf" = "r2.conf" }
exec = ["/usr/lib/frr/frrinit.sh start"]

[[links]]
endpoints = ["r1", "h1"]
subnet = "10.7.1.0/24"
[[links]]
endpoints = ["r1", "r2"]
subnet = "10.7.12.0/30"
[[links]]
endpoints = ["r2", "h2"]
subnet = "10.7.2.0/24"
"#;
        let lab = Lab::new("t-sw-frr", "");
        let text = std::fs::read_to_string(&lab.file).unwrap();
        // The lab's own [lab] table carries the name; ours adds routing and the root.
        let text = text.replacen(
            "ssh = false\n",
            "ssh = false\nrouting = \"none\"\nroot = \"overlay\"\n",
            1,
        ) + &body.replace("[lab]\nroot = \"overlay\"\n", "");
        std::fs::write(&lab.file, text).unwrap();
        for (name, id) in [("r1", "1.1.1.1"), ("r2", "2.2.2.2")] {
            let conf = OSPF_CONF.replace("{name}", name).replace("{id}", id);
            std::fs::write(lab.dir.join(format!("{name}.conf")), conf).unwrap();
        }
        lab.up();
        // FRR's own daemons file (ospfd off) is the host's: turn ospfd on in r1 and r2 only,
        // through their copy-on-write roots, and start it.
        for r in ["r1", "r2"] {
            lab.exec_ok(
                r,
                &[
                    "sh",
                    "-c",
                    "sed -i 's/^ospfd=no/ospfd=yes/' /etc/frr/daemons && /usr/lib/frr/frrinit.sh restart",
                ],
            );
        }
        eventually(40, "OSPF routes", || {
            let o = lab.exec("r1", &["ip", "route", "show", "proto", "ospf"]);
            stdout(&o).contains("10.7.2.0/24")
        });
        eventually(10, "h1 reaching h2 over OSPF", || {
            lab.exec("h1", &["ping", "-c1", "-W1", "h2"])
                .status
                .success()
        });
        // The hosts' copy is untouched meanwhile: daemons wrote into the nodes' own layers.
        let o = Command::new("grep")
            .args(["^ospfd=", "/etc/frr/daemons"])
            .output()
            .unwrap();
        assert_eq!(
            stdout(&o).trim(),
            "ospfd=no",
            "the host's /etc/frr/daemons changed"
        );
        nsnet_ok(&["down", "t-sw-frr"]);
        assert_nothing_left("t-sw-frr");
        // No crash dirs in /var/tmp, no logs, no sockets: nothing new anywhere FRR writes.
        assert_eq!(listing(&watched), before, "the host's FRR dirs changed");
    });
}

/// A busybox-static tree made by the test: /bin with busybox and its applets, /etc with an
/// os-release of its own.
fn busybox_tree(dir: &Path) -> PathBuf {
    let root = dir.join("bbroot");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat", "ls", "ping", "hostname", "wc", "sleep", "grep"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(root.join("etc/os-release"), "ID=nsnet-busybox\n").unwrap();
    root
}

#[test]
fn a_node_runs_a_tree_or_an_image_of_its_own() {
    as_root(|| {
        let lab = Lab::new("t-sw-tree", "");
        let tree = busybox_tree(&lab.dir);
        // The same tree as a `docker save` tarball: one layer, and a second that whites out a
        // file of the first.
        let img = lab.dir.join("img");
        std::fs::create_dir_all(img.join("l1")).unwrap();
        std::fs::create_dir_all(img.join("l2/etc")).unwrap();
        let tar = |args: &[&str]| {
            let o = Command::new("tar").args(args).output().unwrap();
            assert!(o.status.success(), "tar {args:?}: {}", stderr(&o));
        };
        std::fs::write(tree.join("etc/gone"), "x").unwrap();
        tar(&[
            "-C",
            tree.to_str().unwrap(),
            "-cf",
            img.join("l1/layer.tar").to_str().unwrap(),
            ".",
        ]);
        std::fs::remove_file(tree.join("etc/gone")).unwrap();
        std::fs::write(img.join("l2/etc/.wh.gone"), "").unwrap();
        std::fs::write(img.join("l2/etc/release"), "layer 2\n").unwrap();
        let l2 = img.join("l2");
        tar(&[
            "-C",
            l2.to_str().unwrap(),
            "-cf",
            img.join("l2/layer.tar").to_str().unwrap(),
            "etc",
        ]);
        std::fs::write(
            img.join("manifest.json"),
            r#"[{"Config":"c.json","RepoTags":["bb:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]"#,
        )
        .unwrap();
        tar(&[
            "-C",
            img.to_str().unwrap(),
            "-czf",
            lab.dir.join("bb.tar.gz").to_str().unwrap(),
            "manifest.json",
            "l1/layer.tar",
            "l2/layer.tar",
        ]);
        let text = std::fs::read_to_string(&lab.file).unwrap()
            + r#"
[nodes]
a = { root = "bbroot" }
b = { root = "bb.tar.gz" }
c = {}
s1 = { kind = "switch" }

[[links]]
endpoints = ["a", "s1"]
[[links]]
endpoints = ["b", "s1"]
[[links]]
endpoints = ["c", "s1"]
"#;
        std::fs::write(&lab.file, text).unwrap();
        lab.up();
        assert_eq!(
            lab.exec_ok("a", &["cat", "/etc/os-release"]),
            "ID=nsnet-busybox"
        );
        assert_eq!(
            lab.exec_ok("b", &["cat", "/etc/os-release"]),
            "ID=nsnet-busybox"
        );
        assert_eq!(lab.exec_ok("b", &["cat", "/etc/release"]), "layer 2");
        assert!(
            !lab.exec("b", &["cat", "/etc/gone"]).status.success(),
            "the whiteout"
        );
        // Their /bin/sh is busybox; the neighbour's is the host's.
        let link = |n: &str| lab.exec_ok(n, &["ls", "-l", "/bin/sh"]);
        assert!(link("a").contains("busybox"), "{}", link("a"));
        assert!(!link("c").contains("busybox"), "{}", link("c"));
        assert!(lab
            .exec_ok("c", &["cat", "/etc/os-release"])
            .contains("debian"));
        // Real traffic between the tree's node and the host-rooted one, by name.
        lab.exec_ok("a", &["ping", "-c1", "-W2", "c"]);
        lab.exec_ok("c", &["ping", "-c1", "-W2", "b"]);
        assert_eq!(lab.exec_ok("a", &["hostname"]), "a");
        // What a node writes stays in it: not in the tree, not in the other node.
        lab.exec_ok("a", &["sh", "-c", "echo mine > /etc/written"]);
        assert!(!tree.join("etc/written").exists());
        assert!(!lab.exec("b", &["cat", "/etc/written"]).status.success());
        nsnet_ok(&["down", "t-sw-tree"]);
        assert_nothing_left("t-sw-tree");
    });
}

#[test]
fn file_trees_private_dirs_and_a_standard_run() {
    as_root(|| {
        let lab = Lab::new("t-sw-files", "");
        let site = lab.dir.join("site");
        std::fs::create_dir_all(site.join("sub")).unwrap();
        std::fs::write(site.join("index.html"), "hello").unwrap();
        std::fs::write(site.join("sub/secret"), "s").unwrap();
        std::fs::set_permissions(
            site.join("sub/secret"),
            std::os::unix::fs::PermissionsExt::from_mode(0o640),
        )
        .unwrap();
        std::os::unix::fs::symlink("index.html", site.join("link.html")).unwrap();
        let host_bind = std::fs::metadata("/var/cache/bind").unwrap();
        let text = std::fs::read_to_string(&lab.file).unwrap()
            + r#"
[nodes]
a = { files = { "/tmp/site" = "site" }, private = ["/var/cache/bind", { path = "/var/cache/bind/keys", mode = "0750", group = "bind" }] }
b = { root = "overlay", files = { "/srv/www/site" = "site" }, private = [{ path = "/etc/quagga", owner = "frr", group = "frr", mode = 0o770 }] }

[[links]]
endpoints = ["a", "b"]
"#;
        std::fs::write(&lab.file, text).unwrap();
        lab.up();
        for (node, at) in [("a", "/tmp/site"), ("b", "/srv/www/site")] {
            let stat = |p: &str| lab.exec_ok(node, &["stat", "-c", "%a %F", &format!("{at}/{p}")]);
            assert_eq!(
                lab.exec_ok(node, &["cat", &format!("{at}/index.html")]),
                "hello"
            );
            assert_eq!(stat("sub/secret"), "640 regular file");
            assert_eq!(stat("link.html"), "777 symbolic link");
        }
        // The private dir keeps the host dir's owner and mode; the one inside takes its own.
        let want = format!(
            "{}:{} {:o}",
            host_bind.uid(),
            host_bind.gid(),
            host_bind.mode() & 0o7777
        );
        assert_eq!(
            lab.exec_ok("a", &["stat", "-c", "%u:%g %a", "/var/cache/bind"]),
            want
        );
        assert_eq!(
            lab.exec_ok("a", &["stat", "-c", "%U:%G %a", "/var/cache/bind/keys"]),
            "root:bind 750"
        );
        // Made where the host has none (in the node's own root), with the owner given.
        assert_eq!(
            lab.exec_ok("b", &["stat", "-c", "%U:%G %a", "/etc/quagga"]),
            "frr:frr 770"
        );
        assert!(!Path::new("/etc/quagga").exists() && !Path::new("/srv/www/site").exists());
        // What Debian's /run holds at boot.
        assert_eq!(lab.exec_ok("a", &["stat", "-c", "%a", "/run/lock"]), "1777");
        nsnet_ok(&["down", "t-sw-files"]);
        assert_nothing_left("t-sw-files");
    });
}

/// The node's cgroup dirs in every hierarchy of this machine.
fn cgroup_dirs(lab: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        for d in [
            e.path().join("nsnet").join(lab),
            Path::new("/sys/fs/cgroup/nsnet").join(lab),
        ] {
            if d.exists() && !out.contains(&d) {
                out.push(d);
            }
        }
    }
    out
}

#[test]
fn cpu_memory_and_pids_limits_hold() {
    as_root(|| {
        let lab = Lab::new(
            "t-sw-limits",
            r#"
[nodes]
busy = { cpu = 0.1, exec = ["while :; do :; done"] }
small = { memory = "32M", pids = 20 }

[[links]]
endpoints = ["busy", "small"]
"#,
        );
        lab.up();
        assert!(!cgroup_dirs("t-sw-limits").is_empty());
        let cpu = || -> u64 {
            let v: serde_json::Value =
                serde_json::from_str(&nsnet_ok(&["status", "t-sw-limits", "--json"])).unwrap();
            v[0]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["name"] == "busy")
                .unwrap()["usage"]["cpu_usec"]
                .as_u64()
                .unwrap()
        };
        let (c0, t0) = (cpu(), Instant::now());
        std::thread::sleep(Duration::from_secs(4));
        let share = (cpu() - c0) as f64 / t0.elapsed().as_micros() as f64;
        assert!(
            (0.05..=0.15).contains(&share),
            "a busy loop limited to 0.1 CPU used {share:.3} of one"
        );
        // Over its memory limit, a process is stopped (the kernel's OOM killer in its cgroup).
        let o = lab.exec(
            "small",
            &[
                "python3",
                "-c",
                "b = bytearray(200 << 20); b[-1] = 1; print('got it')",
            ],
        );
        assert!(
            !o.status.success(),
            "200 MiB in a 32 MiB node: {}",
            stdout(&o)
        );
        assert!(!stdout(&o).contains("got it"));
        // Over its pids limit, fork fails: of 40 children, fewer than 20 start.
        let forks = "import os, time\nn = 0\nfor i in range(40):\n    try:\n        if os.fork() == 0:\n            time.sleep(3); os._exit(0)\n        n += 1\n    except OSError:\n        break\nprint(n)";
        let n: u32 = lab
            .exec_ok("small", &["python3", "-c", forks])
            .parse()
            .unwrap();
        assert!(
            (1..20).contains(&n),
            "{n} children in a node limited to 20 pids"
        );
        let pids: u64 = {
            let v: serde_json::Value =
                serde_json::from_str(&nsnet_ok(&["status", "t-sw-limits", "--json"])).unwrap();
            v[0]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["name"] == "small")
                .unwrap()["usage"]["pids"]
                .as_u64()
                .unwrap_or(0)
        };
        assert!(pids <= 20, "{pids} pids in a node limited to 20");
        nsnet_ok(&["down", "t-sw-limits"]);
        assert_nothing_left("t-sw-limits");
        assert!(
            cgroup_dirs("t-sw-limits").is_empty(),
            "cgroups left: {:?}",
            cgroup_dirs("t-sw-limits")
        );
    });
}
