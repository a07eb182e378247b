//! nsnet runs as root: what it is given must never turn into harm. Each test here makes its
//! own decoys (directories, files, processes, netns entries, mounts) and proves that none of
//! them is touched, whatever names, state or processes nsnet is pointed at.

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A directory of the test's with a file in it, removed on drop.
struct Decoy(PathBuf);

impl Decoy {
    fn dir(name: &str) -> Decoy {
        let d = std::env::temp_dir().join(format!("nsnet-decoy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("precious"), "keep me").unwrap();
        Decoy(d)
    }

    #[track_caller]
    fn assert_intact(&self) {
        assert_eq!(
            std::fs::read_to_string(self.0.join("precious"))
                .ok()
                .as_deref(),
            Some("keep me"),
            "{} was touched",
            self.0.display()
        );
    }
}

impl Drop for Decoy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A process of the test's, killed on drop.
struct DecoyProc(Child);

impl DecoyProc {
    /// `argv` run through setpriv as user `uid` (0: root itself).
    fn spawn(uid: u32, dir: &Path, argv: &[&str]) -> DecoyProc {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            "--clear-groups".into(),
        ]);
        cmd.args(argv)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let p = DecoyProc(cmd.spawn().unwrap());
        std::thread::sleep(Duration::from_millis(100));
        p
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    #[track_caller]
    fn assert_alive(&mut self) {
        assert!(
            self.0.try_wait().unwrap().is_none(),
            "the decoy process {} was killed",
            self.pid()
        );
    }
}

impl Drop for DecoyProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A netns entry made with `ip netns add`, deleted on drop.
///
/// `ip netns add` makes /run/netns a mount point of its own when it is not one (nsnet does
/// the same at `up`, and its last `down` undoes it). A decoy made first would leave that
/// mount behind on a fresh machine, so a decoy plays by nsnet's rule: under nsnet's lock
/// (a flock of /run/nsnet), it marks a mount it made as nsnet marks its own, and whoever
/// finds /run/netns empty last (a decoy going, or nsnet's `down`) undoes it.
struct DecoyNetns(String);

/// Runs `script` (with `$1` = `name`) under nsnet's global lock, a flock of /run/nsnet.
fn under_nsnet_lock(script: &str, name: &str) -> bool {
    let _ = Command::new("mkdir")
        .args(["-p", "-m", "700", "/run/nsnet"])
        .status();
    Command::new("flock")
        .args(["/run/nsnet", "sh", "-c", script, "sh", name])
        .status()
        .unwrap()
        .success()
}

impl DecoyNetns {
    fn add(name: &str) -> DecoyNetns {
        let made = under_nsnet_lock(
            r#"ip netns del "$1" 2>/dev/null
               mounted=0; mountpoint -q /run/netns && mounted=1
               ip netns add "$1" || exit 1
               if [ $mounted = 0 ] && mountpoint -q /run/netns; then
                 : > /run/nsnet/netns-mount
               fi"#,
            name,
        );
        assert!(made, "ip netns add {name}");
        DecoyNetns(name.to_string())
    }

    #[track_caller]
    fn assert_intact(&self) {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.0, "true"])
            .output()
            .unwrap();
        assert!(o.status.success(), "netns {} was removed", self.0);
    }
}

impl Drop for DecoyNetns {
    fn drop(&mut self) {
        under_nsnet_lock(
            r#"ip netns del "$1"
               if [ -z "$(ls -A /run/netns)" ] && [ -e /run/nsnet/netns-mount ] \
                  && mountpoint -q /run/netns; then
                 umount /run/netns && rm -f /run/nsnet/netns-mount
               fi"#,
            &self.0,
        );
    }
}

fn start_time(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

#[test]
fn a_lab_argument_never_becomes_a_path() {
    as_root(|| {
        let victim = Decoy::dir("victim");
        let bystander = Lab::new("t-hd-by", PAIR);
        bystander.up();
        let v = victim.0.to_str().unwrap().to_string();
        let bad = [
            "",
            ".",
            "..",
            "/",
            "/run/nsnet",
            "../t-hd-by",
            "a/../b",
            "t-hd-by/..",
            &v,
        ];
        for arg in bad {
            let tries: [Vec<&str>; 7] = [
                vec!["down", arg],
                vec!["status", arg],
                vec!["exec", "h1", "--lab", arg, "--", "true"],
                vec!["logs", "h1", "--lab", arg],
                vec!["link", "show", "--lab", arg],
                vec!["fw", "h1", "--lab", arg],
                vec!["ssh-config", arg],
            ];
            for args in tries {
                let o = nsnet(&args);
                assert!(!o.status.success(), "nsnet {args:?} succeeded");
                let err = stderr(&o);
                assert!(
                    err.contains("names no lab") || err.contains("is not a lab name"),
                    "nsnet {args:?}: {err}"
                );
            }
        }
        victim.assert_intact();
        assert!(bystander.status().iter().all(|(_, _, alive)| *alive));
        // A lab file still names its lab.
        nsnet_ok(&["down", bystander.path()]);
        assert_nothing_left("t-hd-by");
    });
}

#[test]
fn state_another_user_made_is_not_trusted() {
    as_root(|| {
        let home = Decoy::dir("foreign");
        let mut decoy = DecoyProc::spawn(65534, &home.0, &["sleep", "1000"]);
        // A lab dir made by nobody, naming nobody's process as an init and a node that
        // climbs out of the state dir.
        let dir = Path::new("/run/nsnet/t-hd-fake");
        let _ = std::fs::create_dir_all("/run/nsnet");
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir(dir).unwrap();
        let lab = Lab::new("t-hd-real", PAIR);
        let plan = nsnet_ok(&["plan", "--json", lab.path()]).replace("t-hd-real", "t-hd-fake");
        std::fs::write(dir.join("plan.json"), plan).unwrap();
        let nodes = format!(
            "[{{\"name\":\"h1\",\"pid\":{},\"start_time\":{}}},\
          {{\"name\":\"x/../../victim\",\"pid\":1,\"start_time\":0}}]",
            decoy.pid(),
            start_time(decoy.pid())
        );
        std::fs::write(dir.join("nodes.json"), nodes).unwrap();
        Command::new("chown")
            .args(["-R", "65534:65534", dir.to_str().unwrap()])
            .status()
            .unwrap();
        for args in [
            vec!["down", "t-hd-fake"],
            vec!["exec", "h1", "--lab", "t-hd-fake", "--", "id"],
            vec!["status", "t-hd-fake"],
        ] {
            let o = nsnet(&args);
            assert!(!o.status.success(), "nsnet {args:?} trusted nobody's state");
            assert!(
                stderr(&o).contains("was not made by nsnet"),
                "{}",
                stderr(&o)
            );
        }
        decoy.assert_alive();
        assert!(dir.join("nodes.json").exists(), "down removed nobody's dir");
        std::fs::remove_dir_all(dir).unwrap();

        // Root's own state, but naming a process that is not the node's init (root's sleep,
        // with the right start time): never joined, never signalled; `down` finds the lab's
        // real inits by themselves and removes the lab.
        let mut root_decoy = DecoyProc::spawn(0, &home.0, &["sleep", "1000"]);
        lab.up();
        let nodes_path = Path::new("/run/nsnet/t-hd-real/nodes.json");
        let text = std::fs::read_to_string(nodes_path).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v[0]["pid"] = root_decoy.pid().into();
        v[0]["start_time"] = start_time(root_decoy.pid()).into();
        std::fs::write(nodes_path, v.to_string()).unwrap();
        let o = lab.exec("h1", &["hostname"]);
        assert!(!o.status.success(), "joined a process that is no init");
        assert!(stderr(&o).contains("is not its init"), "{}", stderr(&o));
        let o = nsnet(&["down", "t-hd-real"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("left alone"), "{}", stderr(&o));
        root_decoy.assert_alive();
        assert_nothing_left("t-hd-real");

        // Node names read back are checked: a damaged nodes.json is refused, and `down`
        // still removes the lab from what the kernel shows.
        lab.up();
        let text = std::fs::read_to_string(nodes_path).unwrap();
        std::fs::write(nodes_path, text.replace("\"h2\"", "\"../../../tmp/x\"")).unwrap();
        let o = lab.exec("h1", &["true"]);
        assert!(stderr(&o).contains("damaged state"), "{}", stderr(&o));
        nsnet_ok(&["down", "t-hd-real"]);
        assert_nothing_left("t-hd-real");
        home.assert_intact();
    });
}

#[test]
fn a_process_named_like_an_init_is_not_one() {
    as_root(|| {
        let home = Decoy::dir("fakeinit");
        // `cat t-hd-init/h1` blocks on a FIFO: its command line is `nsnet-init t-hd-init/h1`.
        std::fs::create_dir(home.0.join("t-hd-init")).unwrap();
        let fifo = home.0.join("t-hd-init/h1");
        assert!(Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        Command::new("chmod")
            .args(["-R", "a+rwx"])
            .arg(&home.0)
            .status()
            .unwrap();
        let argv = ["bash", "-c", "exec -a nsnet-init cat t-hd-init/h1"];
        let mut by_nobody = DecoyProc::spawn(65534, &home.0, &argv);
        let mut by_root = DecoyProc::spawn(0, &home.0, &argv);
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", by_nobody.pid())).unwrap();
        assert_eq!(cmdline, b"nsnet-init\0t-hd-init/h1\0");
        let lab = Lab::new("t-hd-init", PAIR);
        // Not "leftovers": neither process is an init of the lab.
        lab.up();
        nsnet_ok(&["down", "t-hd-init"]);
        // Nor are they stopped by `down` when no state is there.
        nsnet_ok(&["down", "t-hd-init"]);
        by_nobody.assert_alive();
        by_root.assert_alive();
        drop((by_nobody, by_root));
        assert_nothing_left("t-hd-init");
    });
}

#[test]
fn netns_entries_that_are_not_the_labs_are_left_alone() {
    as_root(|| {
        // An entry under a name the lab would use: `up` refuses, `down` leaves it.
        let taken = DecoyNetns::add("t-hd-ns.h1");
        let lab = Lab::new("t-hd-ns", PAIR);
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("/run/netns/t-hd-ns.h1 exists and is not this lab's"),
            "{}",
            stderr(&o)
        );
        nsnet_ok(&["down", "t-hd-ns"]);
        taken.assert_intact();
        drop(taken);
        assert_nothing_left("t-hd-ns");
        // With the lab up, an entry of its prefix that is not its own stays too.
        let other = DecoyNetns::add("t-hd-ns.zz");
        lab.up();
        nsnet_ok(&["down", "t-hd-ns"]);
        other.assert_intact();
        drop(other);
        assert_nothing_left("t-hd-ns");
        // Names that used to meet: lab `t-hd-p` with node `a-h1`, lab `t-hd-p-a` with `h1`.
        let a = Lab::new(
            "t-hd-p",
            "[nodes]\na-h1 = {}\nh2 = {}\n\n[[links]]\nendpoints = [\"a-h1\", \"h2\"]\n",
        );
        let b = Lab::new("t-hd-p-a", PAIR);
        a.up();
        b.up();
        nsnet_ok(&["down", "t-hd-p"]);
        assert_nothing_left("t-hd-p");
        assert!(b.status().iter().all(|(_, _, alive)| *alive));
        assert_eq!(b.exec_ok("h1", &["hostname"]), "h1");
        let o = Command::new("ip")
            .args(["netns", "exec", "t-hd-p-a.h1", "ip", "-o", "link"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    });
}

#[test]
fn down_never_unmounts_through_a_symlink() {
    as_root(|| {
        let target = Decoy::dir("mnt");
        let mnt = target.0.join("m");
        std::fs::create_dir(&mnt).unwrap();
        assert!(Command::new("mount")
            .args(["-t", "tmpfs", "decoy", mnt.to_str().unwrap()])
            .status()
            .unwrap()
            .success());
        struct Unmount(PathBuf);
        impl Drop for Unmount {
            fn drop(&mut self) {
                let _ = Command::new("umount").arg(&self.0).status();
            }
        }
        let _guard = Unmount(mnt.clone());
        std::fs::write(mnt.join("precious"), "keep me").unwrap();
        let _ = std::fs::create_dir_all("/run/netns");
        let link = Path::new("/run/netns/t-hd-sym.h1");
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(&mnt, link).unwrap();
        let lab = Lab::new("t-hd-sym", PAIR);
        nsnet_ok(&["down", "t-hd-sym"]);
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success(), "up over a symlinked entry");
        nsnet_ok(&["down", "t-hd-sym"]);
        assert_eq!(
            std::fs::read_to_string(mnt.join("precious")).unwrap(),
            "keep me",
            "the decoy mount was detached"
        );
        std::fs::remove_file(link).unwrap();
        assert_nothing_left("t-hd-sym");
    });
}

/// Runs `nsnet ARGS` in the background.
fn spawn_nsnet(args: &[&str]) -> Child {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(c: Child) -> std::process::Output {
    c.wait_with_output().unwrap()
}

#[test]
fn concurrent_up_force_leaves_exactly_one_lab() {
    as_root(|| {
        let lab = Lab::new("t-hd-force", PAIR);
        lab.up();
        for round in 0..4 {
            let ups: Vec<Child> = (0..3)
                .map(|_| spawn_nsnet(&["up", "--force", lab.path()]))
                .collect();
            let outs: Vec<_> = ups.into_iter().map(finish).collect();
            let won = outs.iter().filter(|o| o.status.success()).count();
            assert!(won >= 1, "round {round}: no up won");
            for o in outs.iter().filter(|o| !o.status.success()) {
                let err = stderr(o);
                assert!(
                    err.contains("is being built by another `nsnet up`")
                        || err.contains("is being torn down"),
                    "round {round}: a loser that does not say why: {err}"
                );
            }
            let st = lab.status();
            assert_eq!(st.len(), 2, "round {round}");
            assert!(
                st.iter().all(|(_, _, alive)| *alive),
                "round {round}: {st:?}"
            );
            assert_eq!(lab.exec_ok("h1", &["hostname"]), "h1");
        }
        nsnet_ok(&["down", "t-hd-force"]);
        assert_nothing_left("t-hd-force");
    });
}

#[test]
fn down_racing_up_leaves_all_or_nothing() {
    as_root(|| {
        let body = generated(&["star", "30"]);
        let lab = Lab::new("t-hd-race", &body);
        // `down` lands at every moment of `up`'s run, in steps of 20 ms.
        for round in 0..20u64 {
            let up = spawn_nsnet(&["up", lab.path()]);
            std::thread::sleep(Duration::from_millis(round * 20));
            let down = finish(spawn_nsnet(&["down", "t-hd-race"]));
            assert!(down.status.success(), "round {round}: {}", stderr(&down));
            let up = finish(up);
            if up.status.success() {
                // The lab it reported is whole, or `down` came after it and took it all.
                assert!(stdout(&up).contains("is up"));
                let o = nsnet(&["status", "t-hd-race", "--json"]);
                if o.status.success() {
                    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                    let nodes = v[0]["nodes"].as_array().unwrap();
                    assert_eq!(nodes.len(), 31, "round {round}");
                    assert!(nodes.iter().all(|n| n["alive"] == true), "round {round}");
                    nsnet_ok(&["down", "t-hd-race"]);
                } else {
                    // Gone: then that `down` came after the `up` and stopped all of it.
                    assert!(
                        stdout(&down).contains("(31 init(s) stopped, 31 netns entries removed)"),
                        "round {round}: up said the lab is up, but it is gone: {}",
                        stdout(&down)
                    );
                }
            } else {
                let err = stderr(&up);
                assert!(
                    err.contains("interrupted") || err.contains("being torn down"),
                    "round {round}: {err}"
                );
            }
            assert_nothing_left("t-hd-race");
        }
    });
}

#[test]
fn concurrent_reroutes_lose_no_update() {
    as_root(|| {
        // Four routers, every pair linked; hosts on r1 and r4. With r1-r4, r1-r2 and r2-r4 down
        // the only way left is r1 r3 r4.
        let body = r#"
[nodes]
h1 = {}
h4 = {}
r1 = { kind = "router" }
r2 = { kind = "router" }
r3 = { kind = "router" }
r4 = { kind = "router" }

[[links]]
endpoints = ["h1", "r1"]
[[links]]
endpoints = ["h4", "r4"]
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r1", "r3"]
[[links]]
endpoints = ["r1", "r4"]
[[links]]
endpoints = ["r2", "r3"]
[[links]]
endpoints = ["r2", "r4"]
[[links]]
endpoints = ["r3", "r4"]
"#;
        let lab = Lab::new("t-hd-rr", body);
        lab.up();
        let cut = [["r1", "r4"], ["r1", "r2"], ["r2", "r4"]];
        for round in 0..3 {
            let runs: Vec<Child> = cut
                .iter()
                .map(|[a, b]| spawn_nsnet(&["link", "down", "--reroute", "--lab", "t-hd-rr", a, b]))
                .collect();
            for o in runs.into_iter().map(finish) {
                assert!(o.status.success(), "round {round}: {}", stderr(&o));
            }
            let shown = nsnet_ok(&["link", "show", "--lab", "t-hd-rr", "--json"]);
            let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
            let down = v
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["state"] == "down")
                .count();
            assert_eq!(down, 3, "round {round}: {shown}");
            let rerouted = v
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["rerouted_around"] == true)
                .count();
            assert_eq!(rerouted, 3, "round {round}: an update was lost: {shown}");
            lab.exec_ok("h1", &["ping", "-c1", "-W2", "h4"]);
            for [a, b] in cut {
                nsnet_ok(&["link", "up", "--reroute", "--lab", "t-hd-rr", a, b]);
            }
            lab.exec_ok("h1", &["ping", "-c1", "-W2", "h4"]);
        }
    });
}

#[test]
fn a_closed_or_full_stdout_is_an_ordinary_exit() {
    as_root(|| {
        let lab = Lab::new("t-hd-out", PAIR);
        let o = Command::new("bash")
            .args([
                "-c",
                &format!("set -o pipefail; {} up {} | true", bin(), lab.path()),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{:?} {}", o.status, stderr(&o));
        assert!(lab.status().iter().all(|(_, _, alive)| *alive));
        nsnet_ok(&["down", "t-hd-out"]);
        let o = Command::new("bash")
            .args(["-c", &format!("{} up {} > /dev/full", bin(), lab.path())])
            .output()
            .unwrap();
        assert!(o.status.success(), "{:?} {}", o.status, stderr(&o));
        assert!(
            stderr(&o).contains("No space left on device"),
            "{}",
            stderr(&o)
        );
        assert!(lab.status().iter().all(|(_, _, alive)| *alive));
        // A command that only prints fails, cleanly, on a full disk.
        let o = Command::new("bash")
            .args(["-c", &format!("{} status t-hd-out > /dev/full", bin())])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        nsnet_ok(&["down", "t-hd-out"]);
        assert_nothing_left("t-hd-out");
    });
}

#[test]
fn one_damaged_lab_does_not_hide_the_others() {
    as_root(|| {
        let good = Lab::new("t-hd-good", PAIR);
        let bad = Lab::new("t-hd-bad", PAIR);
        good.up();
        bad.up();
        std::fs::write("/run/nsnet/t-hd-bad/plan.json", "{ not json").unwrap();
        let o = nsnet(&["status"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stdout(&o).contains("lab t-hd-good"), "{}", stdout(&o));
        assert!(stderr(&o).contains("lab t-hd-bad"), "{}", stderr(&o));
        assert!(stderr(&o).contains("damaged state"), "{}", stderr(&o));
        nsnet_ok(&["down", "t-hd-bad"]);
        assert_nothing_left("t-hd-bad");
        assert!(good.status().iter().all(|(_, _, alive)| *alive));
    });
}

#[test]
fn a_lab_with_a_dead_node_is_called_so() {
    as_root(|| {
        let lab = Lab::new("t-hd-dead", PAIR);
        lab.up();
        let pid = lab.pid("h1");
        assert!(Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(err.contains("node(s) h1 no longer run"), "{err}");
        assert!(!err.contains("did not finish"), "{err}");
        let o = lab.exec("h1", &["true"]);
        assert!(stderr(&o).contains("is not running"), "{}", stderr(&o));
        nsnet_ok(&["up", "--force", lab.path()]);
        assert!(lab.status().iter().all(|(_, _, alive)| *alive));
    });
}

#[test]
fn limits_are_checked_before_anything_is_built() {
    as_root(|| {
        let body = generated(&["star", "100"]);
        let lab = Lab::new("t-hd-lim", &body);
        let mut cmd = Command::new("prlimit");
        cmd.args(["--nofile=200:200", bin(), "up", lab.path()]);
        let o = run_with_timeout(cmd, None, Duration::from_secs(30));
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(err.contains("open files"), "{err}");
        assert!(err.contains("the hard limit (ulimit -Hn) is 200"), "{err}");
        assert_nothing_left("t-hd-lim");
        // A star beyond the bridge's ports fails at plan time.
        let text = nsnet(&["gen", "star", "1100"]);
        assert!(!text.status.success());
        assert!(stderr(&text).contains("1023"), "{}", stderr(&text));
    });
}

#[test]
fn path_follows_routes_via_ipv6_link_locals() {
    as_root(|| {
        // r1 reaches h2's subnet through r2's link-local address (RFC 5549), as BGP
        // unnumbered installs it; nsnet's own routes to it are replaced.
        let body = r#"
[nodes]
h1 = { gateway = "10.9.1.1" }
h2 = { gateway = "10.9.2.1" }
r1 = { kind = "router", sysctl = { "net.ipv6.conf.eth1.disable_ipv6" = 0 } }
r2 = { kind = "router", sysctl = { "net.ipv6.conf.eth0.disable_ipv6" = 0 } }

[[links]]
endpoints = ["h1", "r1"]
subnet = "10.9.1.0/24"
addresses = ["10.9.1.2/24", "10.9.1.1/24"]
[[links]]
endpoints = ["r1", "r2"]
subnet = "10.9.12.0/30"
[[links]]
endpoints = ["r2", "h2"]
subnet = "10.9.2.0/24"
addresses = ["10.9.2.1/24", "10.9.2.2/24"]
"#;
        let lab = Lab::new("t-hd-5549", body);
        // Routing daemons' business: nsnet computes no routes (the hosts' gateways stay).
        let text = std::fs::read_to_string(&lab.file).unwrap().replacen(
            "ssh = false\n",
            "ssh = false\nrouting = \"none\"\n",
            1,
        );
        std::fs::write(&lab.file, text).unwrap();
        lab.up();
        // r1's eth1 and r2's eth0 face each other; their link-locals must be past DAD.
        let ll = |node: &str, dev: &str| -> String {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let show = [
                    "ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link",
                ];
                let out = lab.exec_ok(node, &show);
                if !out.is_empty() && !out.contains("tentative") {
                    let addr = out.split_whitespace().nth(3).unwrap();
                    return addr.split('/').next().unwrap().to_string();
                }
                assert!(Instant::now() < deadline, "{node}:{dev}: {out}");
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        let (l1, l2) = (ll("r1", "eth1"), ll("r2", "eth0"));
        let via = |to: &str, gw: &str, dev: &str| {
            ["ip", "route", "replace", to, "via", "inet6", gw, "dev", dev].map(String::from)
        };
        let args = via("10.9.2.0/24", &l2, "eth1");
        lab.exec_ok("r1", &args.iter().map(String::as_str).collect::<Vec<_>>());
        let args = via("10.9.1.0/24", &l1, "eth0");
        lab.exec_ok("r2", &args.iter().map(String::as_str).collect::<Vec<_>>());
        lab.exec_ok("h1", &["ping", "-c1", "-W2", "10.9.2.2"]);
        let trace = lab.exec_ok("h1", &["traceroute", "-n", "-q1", "-w1", "10.9.2.2"]);
        assert!(trace.contains("10.9.12.2"), "{trace}");
        let o = nsnet(&["path", "--lab", "t-hd-5549", "h1", "h2"]);
        let p = stdout(&o);
        assert!(o.status.success(), "{p}{}", stderr(&o));
        assert!(p.contains("r2"), "path skips r2: {p}");
        assert!(p.contains("h2"), "{p}");
    });
}

/// The CapBnd mask a process in `node` has, as its own /proc shows it.
fn cap_bnd(lab: &Lab, node: &str) -> u64 {
    let status = lab.exec_ok(node, &["cat", "/proc/self/status"]);
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string();
    u64::from_str_radix(&hex, 16).unwrap()
}

#[test]
fn nodes_lose_capabilities_labs_never_need() {
    as_root(|| {
        // CAP_SYS_MODULE 16, SYS_RAWIO 17, SYS_PTRACE 19, SYS_BOOT 22, SYS_TIME 25,
        // MAC_OVERRIDE 32, MAC_ADMIN 33, SYSLOG 34.
        let dropped: u64 = [16, 17, 19, 22, 25, 32, 33, 34]
            .iter()
            .map(|b| 1u64 << b)
            .sum();
        let net_admin = 1u64 << 12;
        let lab = Lab::new(
            "t-hd-caps",
            r#"
[nodes]
h1 = { exec = ["grep CapBnd /proc/self/status > /tmp/capbnd"] }
h2 = { privileged = true }

[[links]]
endpoints = ["h1", "h2"]
"#,
        );
        lab.up();
        let h1 = cap_bnd(&lab, "h1");
        assert_eq!(h1 & dropped, 0, "h1 keeps {:#x}", h1 & dropped);
        assert_ne!(h1 & net_admin, 0, "h1 lost CAP_NET_ADMIN");
        assert_eq!(
            cap_bnd(&lab, "h2") & dropped,
            dropped,
            "privileged h2 lost some"
        );
        // The node's own commands (children of its init) are narrowed too.
        let deadline = Instant::now() + Duration::from_secs(5);
        let line = loop {
            let o = lab.exec("h1", &["cat", "/tmp/capbnd"]);
            if o.status.success() && !stdout(&o).is_empty() {
                break stdout(&o);
            }
            assert!(Instant::now() < deadline, "the exec command did not run");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(mask & dropped, 0);
        // A real refusal: without CAP_SYS_PTRACE, h1's processes cannot read their init's
        // namespaces (its capabilities exceed theirs).
        let o = lab.exec("h1", &["readlink", "/proc/1/ns/net"]);
        assert!(!o.status.success(), "{}", stdout(&o));
        let o = lab.exec("h2", &["readlink", "/proc/1/ns/net"]);
        assert!(o.status.success(), "{}", stderr(&o));
    });
}

#[test]
fn no_lab_can_reach_another_labs_keys() {
    as_root(|| {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "this test needs it installed (scripts/setup installs it)"
        );
        let keyed = Lab::with_ssh("t-hd-key", PAIR);
        keyed.up();
        let key = Path::new("/run/nsnet/t-hd-key/ssh/id_ed25519");
        assert!(key.exists(), "the lab has no client key to protect");
        let other = Lab::new("t-hd-prying", PAIR);
        other.up();
        // A node that takes its own /run away sees the host's /run beneath: never the lab
        // dirs' contents, which are tmpfs mounts that no node has in its view.
        let o = other.exec(
            "h1",
            &[
                "sh",
                "-c",
                "umount -l /run; ls -A /run/nsnet/t-hd-key; cat /run/nsnet/t-hd-key/ssh/id_ed25519",
            ],
        );
        let out = stdout(&o);
        assert!(!o.status.success(), "read another lab's key:\n{out}");
        assert!(!out.contains("PRIVATE KEY"), "{out}");
        // Its own lab's key, too, is out of sight that way.
        let o = keyed.exec(
            "h2",
            &[
                "sh",
                "-c",
                "umount -l /run; cat /run/nsnet/t-hd-key/ssh/id_ed25519",
            ],
        );
        assert!(!stdout(&o).contains("PRIVATE KEY"));
    });
}

#[test]
fn a_node_has_bounded_room_and_bounded_logs() {
    as_root(|| {
        let lab = Lab::new(
            "t-hd-room",
            r#"
[nodes]
h1 = { exec = ["yes nsnet-log-line-of-h1"] }
h2 = { tmpfs_size = "8M" }

[[links]]
endpoints = ["h1", "h2"]
"#,
        );
        let text = std::fs::read_to_string(&lab.file).unwrap().replacen(
            "ssh = false\n",
            "ssh = false\nlog_size = \"64K\"\n",
            1,
        );
        std::fs::write(&lab.file, text).unwrap();
        lab.up();
        // The node's tmpfs: 64 MiB by default, 8 MiB for h2; writing past it fails.
        let size = |node: &str| -> u64 {
            let df = lab.exec_ok(node, &["df", "-B1", "--output=size", "/tmp"]);
            df.lines().nth(1).unwrap().trim().parse().unwrap()
        };
        assert_eq!(size("h1"), 64 << 20);
        assert_eq!(size("h2"), 8 << 20);
        let o = lab.exec(
            "h2",
            &["dd", "if=/dev/zero", "of=/tmp/big", "bs=1M", "count=20"],
        );
        assert!(!o.status.success());
        assert!(stderr(&o).contains("No space left"), "{}", stderr(&o));
        // `yes` writes as fast as it can; the log stays within two files of log_size.
        std::thread::sleep(Duration::from_secs(2));
        let logs = Path::new("/run/nsnet/t-hd-room/logs");
        // The log rotates while it is measured: a file renamed between the listing and its
        // size is measured again, in a new listing.
        let measure = || -> Option<u64> {
            let mut total = 0;
            for e in std::fs::read_dir(logs).unwrap().flatten() {
                if e.file_name().to_string_lossy().starts_with("h1.log") {
                    total += e.metadata().ok()?.len();
                }
            }
            Some(total)
        };
        let total = (0..100)
            .find_map(|_| measure())
            .expect("a listing of the logs that held still");
        // Just after a rotation the current file is empty and the older one a little short
        // of log_size.
        assert!(total >= 48 << 10, "the log did not grow: {total}");
        assert!(total <= (2 * 64 + 16) << 10, "the log is {total} bytes");
        assert!(logs.join("h1.log.1").exists());
        let o = nsnet(&["logs", "--lab", "t-hd-room", "h1"]);
        assert!(o.status.success());
        assert!(stdout(&o).contains("nsnet-log-line-of-h1\n"));
        // The chatty process still runs: it was never blocked or killed.
        let ps = lab.exec_ok("h1", &["ps", "-e", "-o", "comm="]);
        assert!(ps.lines().any(|l| l == "yes"), "{ps}");
    });
}

#[test]
fn files_are_opened_once_and_bounded() {
    as_root(|| {
        let lab = Lab::new(
            "t-hd-files",
            r#"
[nodes]
h1 = { files = { "/tmp/big" = "big" } }
h2 = {}

[[links]]
endpoints = ["h1", "h2"]
"#,
        );
        // A sparse file of 1 GiB: copied, it would take 1 GiB of memory per node.
        let big = std::fs::File::create(lab.dir.join("big")).unwrap();
        big.set_len(1 << 30).unwrap();
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(err.contains("more than the node's tmpfs_size"), "{err}");
        assert_nothing_left("t-hd-files");
    });
}

#[test]
fn switch_loops_need_stp_and_work_with_it() {
    as_root(|| {
        let body = |stp: bool| {
            format!(
                r#"
[nodes]
h1 = {{}}
h2 = {{}}
s1 = {{ kind = "switch", stp = {stp} }}
s2 = {{ kind = "switch", stp = {stp} }}
s3 = {{ kind = "switch", stp = {stp} }}

[[links]]
endpoints = ["h1", "s1"]
[[links]]
endpoints = ["h2", "s2"]
[[links]]
endpoints = ["s1", "s2"]
[[links]]
endpoints = ["s2", "s3"]
[[links]]
endpoints = ["s3", "s1"]
"#
            )
        };
        let lab = Lab::new("t-hd-loop", &body(false));
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("stp = true"), "{}", stderr(&o));
        assert_nothing_left("t-hd-loop");
        std::fs::write(
            &lab.file,
            format!("[lab]\nname = \"t-hd-loop\"\nssh = false\n{}", body(true)),
        )
        .unwrap();
        lab.up();
        // The spanning tree blocks one port of the triangle (forward delay 2 s: up to ~6 s).
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if lab
                .exec("h1", &["ping", "-c1", "-W1", "h2"])
                .status
                .success()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no way through the looped switches"
            );
        }
        let mut blocking = 0;
        for s in ["s1", "s2", "s3"] {
            let states = lab.exec_ok(s, &["sh", "-c", "cat /sys/class/net/*/brport/state"]);
            blocking += states.lines().filter(|l| l.trim() == "4").count();
        }
        assert_eq!(blocking, 1, "one port of the loop must block");
        // And no storm: a second of pings all get their single answers.
        let out = lab.exec_ok("h1", &["ping", "-c5", "-i0.2", "-W1", "h2"]);
        assert!(out.contains(" 0% packet loss"), "{out}");
        assert!(!out.contains("DUP!"), "{out}");
    });
}

#[test]
fn private_dirs_may_nest() {
    as_root(|| {
        let lab = Lab::new(
            "t-hd-nest",
            r#"
[nodes]
h1 = { private = ["/var/lib", "/var/lib/nsnet-nested/www"] }
h2 = {}

[[links]]
endpoints = ["h1", "h2"]
"#,
        );
        lab.up();
        lab.exec_ok("h1", &["sh", "-c", "echo hi > /var/lib/nsnet-nested/www/x"]);
        assert_eq!(
            lab.exec_ok("h1", &["cat", "/var/lib/nsnet-nested/www/x"]),
            "hi"
        );
        assert!(
            !Path::new("/var/lib/nsnet-nested").exists(),
            "written on the host"
        );
    });
}
