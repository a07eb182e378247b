//! Robustness: every failing step of `up` rolls back to nothing with an error naming node,
//! object and step; a killed `up` is cleaned by the next `down`; concurrent use is safe;
//! without privileges nothing is touched; the state dir follows no planted symlink; and the
//! host's network, sysctls and mounts are the same after `down` as before `up`.

use crate::util::*;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `up` of `body` must fail with every one of `want` in its error, and leave nothing.
#[track_caller]
fn up_fails(name: &str, body: &str, files: &[(&str, &str)], want: &[&str]) {
    let lab = Lab::new(name, body);
    for (f, text) in files {
        std::fs::write(lab.dir.join(f), text).unwrap();
    }
    let o = nsnet(&["up", lab.path()]);
    let err = stderr(&o);
    assert!(!o.status.success(), "up must fail:\n{}{err}", stdout(&o));
    for w in want {
        assert!(err.contains(w), "error lacks `{w}`: {err}");
    }
    assert!(!err.contains("rolling back also failed"), "{err}");
    assert_nothing_left(name);
}

#[test]
fn a_link_the_kernel_refuses_rolls_back() {
    as_root(|| {
        // The kernel takes no device named `all` (its sysctl dir would be the `all` one).
        let body = PAIR.replace("[\"h1\", \"h2\"]", "[\"h1:all\", \"h2\"]");
        up_fails(
            "t-rb-mtu",
            &body,
            &[],
            &["h1: creating veth all/eth0", "Invalid argument"],
        );
    });
}

#[test]
fn a_sysctl_the_kernel_lacks_rolls_back() {
    as_root(|| {
        let body = PAIR.replace(
            "h1 = {}",
            "h1 = { sysctl = { \"net.ipv4.no_such_thing\" = \"1\" } }",
        );
        up_fails(
            "t-rb-sysctl",
            &body,
            &[],
            &[
                "h1: writing sysctl net.ipv4.no_such_thing=1",
                "no such sysctl",
            ],
        );
    });
}

#[test]
fn a_route_the_kernel_refuses_rolls_back() {
    as_root(|| {
        // The segment's broadcast address is on the segment, but no gateway.
        let body = PAIR
            .replace(
                "h1 = {}",
                "h1 = { routes = [{ to = \"192.0.2.0/24\", via = \"10.9.0.255\" }] }",
            )
            .replace("\"h2\"]\n", "\"h2\"]\nsubnet = \"10.9.0.0/24\"\n");
        up_fails(
            "t-rb-route",
            &body,
            &[],
            &["h1: adding route 192.0.2.0/24 via 10.9.0.255 dev eth0"],
        );
    });
}

#[test]
fn an_address_the_kernel_refuses_rolls_back() {
    as_root(|| {
        // IPv6 turned off on the interface by the lab's own sysctl (written before addresses):
        // the kernel refuses its IPv6 address. (The other end is a switch, so h1 is the only
        // node that fails.)
        let body = "[nodes]\nh1 = { sysctl = { \"net.ipv6.conf.eth0.disable_ipv6\" = 1 } }\n\
                s1 = { kind = \"switch\" }\n\n[[links]]\n\
                endpoints = [\"h1\", \"s1\"]\naddresses = [\"fd00::5/64\"]\n";
        up_fails("t-rb-addr", body, &[], &["h1: adding fd00::5/64 to eth0"]);
    });
}

#[test]
fn a_file_that_cannot_be_placed_rolls_back() {
    as_root(|| {
        let body = PAIR.replace(
            "h2 = {}",
            "h2 = { files = { \"/nonexistent-nsnet-rb/app.conf\" = \"app.conf\" } }",
        );
        up_fails(
            "t-rb-files",
            &body,
            &[("app.conf", "x\n")],
            &["node h2: file /nonexistent-nsnet-rb/app.conf", "private"],
        );
    });
}

#[test]
fn a_node_that_cannot_start_rolls_back() {
    as_root(|| {
        let body = PAIR.replace("h2 = {}", "h2 = { private = [\"/nonexistent-nsnet-rb\"] }");
        up_fails(
            "t-rb-node",
            &body,
            &[],
            &["node h2: private dir /nonexistent-nsnet-rb does not exist"],
        );
    });
}

/// `nsnet up` of `lab` in the background (stderr piped), its stdout in the lab's dir (see
/// [`kill_when`]), returned once `ready()` holds or it has exited.
fn up_when(lab: &Lab, ready: impl Fn() -> bool, what: &str) -> Child {
    let out = std::fs::File::create(lab.dir.join("up.out")).unwrap();
    let mut up = Command::new(bin())
        .arg("up")
        .arg(lab.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while up.try_wait().unwrap().is_none() && !ready() {
        assert!(Instant::now() < deadline, "no {what} within 60 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    up
}

fn init_pids(lab: &str) -> Vec<i32> {
    let prefix = format!("{lab}/");
    processes(|a| a[0] == "nsnet-init" && a.get(1).is_some_and(|n| n.starts_with(&prefix)))
        .into_iter()
        .map(|(pid, _)| pid)
        .collect()
}

fn inits_of(lab: &str) -> usize {
    init_pids(lab).len()
}

/// The sshd processes whose parent is one of the lab's inits.
fn sshds_of(lab: &str) -> usize {
    let inits = init_pids(lab);
    processes(|a| a[0].contains("sshd"))
        .into_iter()
        .filter(|(pid, _)| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("PPid:"))
                        .and_then(|p| p.trim().parse::<i32>().ok())
                })
                .is_some_and(|ppid| inits.contains(&ppid))
        })
        .count()
}

fn netns_of(lab: &str) -> usize {
    let prefix = format!("{lab}.");
    std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .count()
}

/// Starts `up` of `lab` and SIGKILLs it once `ready()` holds. Returns whether it was killed
/// before the lab was built: false when it exited by itself, or when the kill came only after
/// it had released the nodes (a loaded machine can run the whole `up` between two looks of
/// `ready`). A lab released by its `up` keeps every node, killed `up` or not.
fn kill_when(lab: &Lab, ready: impl Fn() -> bool, what: &str) -> bool {
    let mut up = up_when(lab, ready, what);
    if up.try_wait().unwrap().is_some() {
        return false;
    }
    let _ = up.kill();
    let _ = up.wait();
    let said = std::fs::read_to_string(lab.dir.join("up.out")).unwrap_or_default();
    let released = Path::new(&format!("/run/nsnet/{}/released", lab.name)).exists();
    if released && !said.contains(" is up: ") {
        // Killed while it released the nodes: all of them run, now and after.
        std::thread::sleep(Duration::from_millis(300));
        let st = lab.status();
        assert!(st.iter().all(|(_, _, alive)| *alive), "{st:?}");
        assert_eq!(inits_of(&lab.name), st.len());
    }
    !released
}

/// [`kill_when`], retrying (after `down`) when a loaded machine let `up` finish first. Fails
/// after five such tries.
fn kill_up_when(lab: &Lab, ready: impl Fn() -> bool, what: &str) {
    for _ in 0..5 {
        if kill_when(lab, &ready, what) {
            return;
        }
        nsnet_ok(&["down", &lab.name]);
        assert_nothing_left(&lab.name);
    }
    panic!("up always finished before {what} were seen");
}

/// A 50-node star named `name`, with sshd in its nodes when `ssh`.
fn star_lab(name: &str, ssh: bool) -> Lab {
    let body = generated(&["star", "49"]);
    if ssh {
        Lab::with_ssh(name, &body)
    } else {
        Lab::new(name, &body)
    }
}

/// Waits up to 30 s for the inits of `lab` to be gone (each stops its node first, slowly
/// on a machine that runs the whole suite); returns how many are left, and says what they
/// are doing.
fn inits_after_kill(lab: &str) -> usize {
    // None seen for half a second in a row: a clone `up` made just before it was killed
    // shows as an init only once it has exec'd, a moment after its siblings are gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut none_since: Option<Instant> = None;
    while Instant::now() < deadline {
        if inits_of(lab) > 0 {
            none_since = None;
        } else if none_since.get_or_insert_with(Instant::now).elapsed()
            >= Duration::from_millis(500)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = init_pids(lab);
    for pid in &left {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let stack = std::fs::read_to_string(format!("/proc/{pid}/stack")).unwrap_or_default();
        let state: Vec<&str> = status
            .lines()
            .filter(|l| {
                ["State:", "PPid:", "SigPnd", "ShdPnd", "SigBlk"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .collect();
        eprintln!("init {pid} outlived its up: {state:?}\n{stack}");
    }
    left.len()
}

#[test]
fn a_killed_up_is_cleaned_by_down_and_up_works_again() {
    as_root(|| {
        let lab = star_lab("t-rb-kill", false);
        let name = lab.name.as_str();
        type Point = (&'static str, usize, fn(&str) -> usize);
        let points: [Point; 4] = [
            ("inits", 1, inits_of),
            ("inits", 10, inits_of),
            ("inits", 40, inits_of),
            ("netns entries", 10, netns_of),
        ];
        for (what, n, count) in points {
            kill_up_when(&lab, || count(name) >= n, &format!("{n} {what}"));
            // The inits die with their `up` (PR_SET_PDEATHSIG, or EPIPE on the ready pipe).
            assert_eq!(
                inits_after_kill(name),
                0,
                "after {n} {what}: inits outlive their killed up"
            );
            // A second `up` says what is there and how to fix it.
            let o = nsnet(&["up", lab.path()]);
            let err = stderr(&o);
            assert!(!o.status.success(), "after {n} {what}: up over leftovers");
            assert!(
                err.contains("already up")
                    || err.contains(&format!("run `nsnet down {name}`, or `nsnet up --force`")),
                "after {n} {what}: {err}"
            );
            nsnet_ok(&["down", name]);
            assert_nothing_left(name);
        }
        // Killed again, then `up --force` cleans and builds.
        kill_up_when(&lab, || netns_of(name) >= 20, "20 netns entries");
        let out = nsnet_ok(&["up", "--force", lab.path()]);
        assert!(out.contains("50 node(s)"), "{out}");
        assert_eq!(lab.exec_ok("h49", &["hostname"]), "h49");
        nsnet_ok(&["down", name]);
        assert_nothing_left(name);
        lab.up();
        nsnet_ok(&["down", name]);
        assert_nothing_left(name);
    });
}

#[test]
fn an_up_killed_while_nodes_start_their_services_leaves_none_running() {
    as_root(|| {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "this test needs it installed (scripts/setup installs it)"
        );
        // Killed once the first nodes run sshd, i.e. after the go-ahead and before `up` has
        // seen all of them start: no node may outlive it, not even one that has started.
        let lab = star_lab("t-rb-killssh", true);
        let name = lab.name.as_str();
        for round in 0..3 {
            kill_up_when(&lab, || sshds_of(name) >= 1, "an sshd");
            assert_eq!(
                inits_after_kill(name),
                0,
                "round {round}: inits outlive their killed up"
            );
            nsnet_ok(&["down", name]);
            assert_nothing_left(name);
        }
    });
}

#[test]
fn an_interrupted_up_rolls_back_by_itself() {
    as_root(|| {
        // ^C (as `kill -INT`), SIGTERM and SIGHUP, at points before and after the wiring: `up`
        // removes what it built and exits as if the signal had killed it, without `nsnet down`.
        let lab = star_lab("t-rb-intr", false);
        let name = lab.name.as_str();
        type Point = (&'static str, i32, &'static str, usize, fn(&str) -> usize);
        let points: [Point; 3] = [
            ("INT", 2, "inits", 10, inits_of),
            ("TERM", 15, "netns entries", 10, netns_of),
            ("HUP", 1, "inits", 45, inits_of),
        ];
        for (sig, num, what, n, count) in points {
            let mut hit = false;
            for _ in 0..5 {
                let up = up_when(&lab, || count(name) >= n, &format!("{n} {what}"));
                let pid = up.id().to_string();
                Command::new("kill")
                    .args(["-s", sig, &pid])
                    .status()
                    .unwrap();
                let o = up.wait_with_output().unwrap();
                if o.status.success() {
                    // A loaded machine ran the whole `up` first: try again.
                    nsnet_ok(&["down", name]);
                    continue;
                }
                let err = String::from_utf8_lossy(&o.stderr);
                assert_eq!(o.status.code(), Some(128 + num), "SIG{sig}: {err}");
                assert!(
                    err.contains(&format!(
                        "up interrupted by SIG{sig}; lab {name} is rolled back, nothing of it is left"
                    )),
                    "SIG{sig}: {err}"
                );
                assert_nothing_left(name);
                hit = true;
                break;
            }
            assert!(hit, "up always finished before {n} {what} were seen");
        }
        lab.up();
        nsnet_ok(&["down", name]);
        assert_nothing_left(name);
    });
}

#[test]
fn down_stops_an_up_that_is_building_the_lab() {
    as_root(|| {
        let lab = star_lab("t-rb-downup", false);
        let name = lab.name.as_str();
        for _ in 0..5 {
            let up = up_when(&lab, || inits_of(name) >= 10, "10 inits");
            let down = nsnet(&["down", name]);
            let up_pid = up.id();
            let up = up.wait_with_output().unwrap();
            assert!(down.status.success(), "{}", stderr(&down));
            let said = stdout(&down);
            if up.status.success() {
                // A loaded machine finished the whole `up` first: plain `down`, try again.
                assert!(!said.contains("stopped the `nsnet up`"), "{said}");
                assert_nothing_left(name);
                continue;
            }
            // `down` stopped the `up`, which rolled back on its SIGTERM, and then waited for it.
            assert!(
                said.contains(&format!(
                    "stopped the `nsnet up` (pid {up_pid}) that was building lab {name}"
                )),
                "{said}"
            );
            let err = String::from_utf8_lossy(&up.stderr);
            assert_eq!(up.status.code(), Some(143), "{err}");
            assert!(err.contains("is rolled back"), "{err}");
            assert_nothing_left(name);
            lab.up();
            nsnet_ok(&["down", name]);
            assert_nothing_left(name);
            return;
        }
        panic!("up always finished before down came");
    });
}

#[test]
fn two_ups_at_once_exactly_one_wins() {
    as_root(|| {
        let lab = Lab::new("t-rb-race", PAIR);
        for round in 0..5 {
            let spawn = || {
                Command::new(bin())
                    .args(["up", lab.path()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            };
            let (a, b) = (spawn(), spawn());
            let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
            let won = [&a, &b].iter().filter(|o| o.status.success()).count();
            assert_eq!(
                won,
                1,
                "round {round}:\n{}{}\n{}{}",
                stdout(&a),
                stderr(&a),
                stdout(&b),
                stderr(&b)
            );
            let loser = if a.status.success() { &b } else { &a };
            let err = stderr(loser);
            assert!(
                err.contains("being built by another `nsnet up`") || err.contains("already up"),
                "round {round}: {err}"
            );
            // One line, and at most a hint how to go on.
            let said: Vec<&str> = err.trim().lines().collect();
            assert!(
                said.len() == 1 || (said.len() == 2 && said[1].starts_with("  fix: ")),
                "one line: {err}"
            );
            assert_eq!(lab.exec_ok("h2", &["hostname"]), "h2");
            assert!(lab.status().iter().all(|(_, _, alive)| *alive));
            nsnet_ok(&["down", &lab.name]);
            assert_nothing_left(&lab.name);
        }
    });
}

#[test]
fn down_twice_at_once_and_with_status_is_harmless() {
    as_root(|| {
        let lab = Lab::new("t-rb-down2", PAIR);
        for _ in 0..3 {
            lab.up();
            let spawn = |args: &[&str]| {
                Command::new(bin())
                    .args(args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            };
            let downs = [spawn(&["down", &lab.name]), spawn(&["down", &lab.name])];
            let statuses: Vec<Child> = (0..4).map(|_| spawn(&["status"])).collect();
            for c in downs {
                let o = c.wait_with_output().unwrap();
                assert!(o.status.success(), "down: {}{}", stdout(&o), stderr(&o));
            }
            for c in statuses {
                let o = c.wait_with_output().unwrap();
                assert!(!stderr(&o).contains("panicked"), "status: {}", stderr(&o));
            }
            assert_nothing_left(&lab.name);
            nsnet_ok(&["down", &lab.name]);
            assert_nothing_left(&lab.name);
        }
    });
}

#[test]
fn without_privileges_one_line_and_nothing_touched() {
    as_root(|| {
        let up = Lab::new("t-rb-priv", PAIR);
        up.up();
        let new = Lab::new("t-rb-priv2", PAIR);
        let cmds: Vec<Vec<&str>> = vec![
            vec!["up", new.path()],
            vec!["up", "--force", up.path()],
            vec!["down", "t-rb-priv"],
            vec!["down", "--all"],
            vec!["status"],
            vec!["exec", "h1", "--lab", "t-rb-priv", "--", "true"],
            vec!["enter", "h1", "--lab", "t-rb-priv"],
            vec!["link", "down", "h1:eth0", "--lab", "t-rb-priv"],
            vec!["fw", "h1", "--lab", "t-rb-priv"],
            vec!["capture", "h1:eth0", "--lab", "t-rb-priv", "-c", "1"],
            vec!["logs", "h1", "--lab", "t-rb-priv"],
        ];
        // Root without a capability it needs (another user is rootless: see
        // `another_user_cannot_reach_roots_labs`).
        let no_sys_admin = ["--inh-caps=-all", "--bounding-set=-sys_admin"];
        let no_net_admin = ["--inh-caps=-all", "--bounding-set=-net_admin"];
        let ways: [(&[&str], &str); 2] = [
            (&no_sys_admin, "missing CAP_SYS_ADMIN (run it as root)"),
            (&no_net_admin, "missing CAP_NET_ADMIN (run it as root)"),
        ];
        for (how, want) in ways {
            for args in &cmds {
                let o = nsnet_setpriv(how, args);
                let err = stderr(&o);
                assert!(!o.status.success(), "{how:?} {args:?} must fail");
                assert_eq!(
                    err.trim(),
                    format!("nsnet: nsnet {} needs root: {want}", args[0]),
                    "{how:?} {args:?}"
                );
                assert!(stdout(&o).is_empty(), "{how:?} {args:?}: {}", stdout(&o));
            }
        }
        // Nothing was made, and the lab that is up is untouched.
        assert_nothing_left("t-rb-priv2");
        assert!(up.status().iter().all(|(_, _, alive)| *alive));
        assert!(up
            .exec_ok("h1", &["ip", "-br", "link", "show", "eth0"])
            .contains("UP"));
    });
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every dir under `dir` (itself included) is 0700, every file 0600.
fn assert_private_tree(dir: &Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let t = e.file_type().unwrap();
        if t.is_dir() {
            assert_private_tree(&e.path());
        } else {
            assert!(!t.is_symlink(), "{}", e.path().display());
            assert_eq!(mode(&e.path()), 0o600, "{}", e.path().display());
        }
    }
}

#[test]
fn state_is_private_and_no_symlink_is_followed() {
    as_root(|| {
        // An older nsnet made /run/nsnet 0755: the next `up` fixes it.
        let _ = std::fs::create_dir_all("/run/nsnet");
        std::fs::set_permissions("/run/nsnet", std::fs::Permissions::from_mode(0o755)).unwrap();
        let lab = Lab::new("t-rb-perm", PAIR);
        lab.up();
        assert_eq!(mode(Path::new("/run/nsnet")), 0o700);
        let dir = Path::new("/run/nsnet/t-rb-perm");
        assert_private_tree(dir);

        // A symlink planted at a state file: refused, never read or written through.
        let bait = lab.dir.join("bait");
        std::fs::write(&bait, "").unwrap();
        let nodes = dir.join("nodes.json");
        let saved = std::fs::read(&nodes).unwrap();
        std::fs::remove_file(&nodes).unwrap();
        std::os::unix::fs::symlink(&bait, &nodes).unwrap();
        let o = nsnet(&["status", "t-rb-perm"]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("nodes.json"), "{}", stderr(&o));
        std::fs::remove_file(&nodes).unwrap();
        std::fs::write(&nodes, &saved).unwrap();
        let tmp = dir.join("links.json.tmp");
        std::os::unix::fs::symlink(&bait, &tmp).unwrap();
        let o = nsnet(&["link", "down", "h1:eth0", "--lab", "t-rb-perm"]);
        assert!(!o.status.success(), "{}", stdout(&o));
        assert!(stderr(&o).contains("links.json"), "{}", stderr(&o));
        assert_eq!(
            std::fs::read(&bait).unwrap(),
            b"",
            "written through a symlink"
        );
        std::fs::remove_file(&tmp).unwrap();
        nsnet_ok(&["down", "t-rb-perm"]);
        assert_nothing_left("t-rb-perm");

        // A symlink planted at the lab dir: `up` refuses and puts nothing there; `down`
        // removes the link only.
        let target = lab.dir.join("target");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, dir).unwrap();
        let o = nsnet(&["up", lab.path()]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("/run/nsnet/t-rb-perm is not a directory nsnet made"),
            "{}",
            stderr(&o)
        );
        let o = nsnet(&["status", "t-rb-perm"]);
        assert!(!o.status.success());
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
        nsnet_ok(&["down", "t-rb-perm"]);
        assert!(target.is_dir(), "down removed what the link points to");
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
        assert_nothing_left("t-rb-perm");
    });
}

/// A command's stdout, which must succeed.
fn cmd_out(prog: &str, args: &[&str]) -> String {
    let o = Command::new(prog).args(args).output().unwrap();
    assert!(o.status.success(), "{prog} {args:?}: {}", stderr(&o));
    stdout(&o)
}

/// Labs that another test may have up while this one runs: what they own is left out.
fn foreign(name: &str) -> bool {
    name.starts_with("t-")
        || Path::new("/run/nsnet").join(name).exists()
        || name
            .split_once('.')
            .is_some_and(|(lab, _)| Path::new("/run/nsnet").join(lab).exists())
}

/// What of the host an nsnet lab could change: links, addresses, routes and rules of every
/// table, the nftables ruleset, /proc/sys/net of the root netns, mounts, /run/netns.
fn host_snapshot() -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    // Lifetimes and counters change on their own.
    let volatile = |l: &str| {
        l.split_whitespace()
            .scan(false, |skip, w| {
                let out = if *skip { None } else { Some(w) };
                *skip = matches!(
                    w,
                    "valid_lft" | "preferred_lft" | "expires" | "packets" | "bytes"
                );
                Some(out)
            })
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let lists: [(&str, &[&str]); 9] = [
        ("ip", &["-o", "link"]),
        ("ip", &["-o", "addr"]),
        ("ip", &["-4", "route", "show", "table", "all"]),
        ("ip", &["-6", "route", "show", "table", "all"]),
        ("ip", &["-4", "rule"]),
        ("ip", &["-6", "rule"]),
        ("ip", &["-o", "netconf"]),
        ("nft", &["list", "ruleset"]),
        ("ip", &["-4", "neigh", "show", "nud", "permanent"]),
    ];
    for (prog, args) in lists {
        for l in cmd_out(prog, args).lines() {
            s.insert(format!("{prog} {}: {}", args.join(" "), volatile(l)));
        }
    }
    let mut stack = vec![std::path::PathBuf::from("/proc/sys/net")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let ps = p.to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if !["conntrack_count", "random", "/stat", "stable_secret"]
                .iter()
                .any(|x| ps.contains(x))
            {
                if let Ok(v) = std::fs::read_to_string(&p) {
                    s.insert(format!("sysctl {ps}={}", v.trim()));
                }
            }
        }
    }
    // Mounts, minus /run/netns (nsnet's own mount point there comes and goes with the labs
    // of tests running beside this one, and holds their entries).
    for l in std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
    {
        let point = l.split(' ').nth(4).unwrap_or("");
        // Each lab's state dir is a tmpfs of its own, there while the lab is.
        let lab_dir = point
            .strip_prefix("/run/nsnet/")
            .is_some_and(|l| !l.contains('/') && foreign(l));
        if point != "/run/netns" && !point.starts_with("/run/netns/") && !lab_dir {
            s.insert(format!("mount {l}"));
        }
    }
    for e in std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if !foreign(&n) {
            s.insert(format!("netns {n}"));
        }
    }
    s
}

#[track_caller]
fn assert_same_host(before: &BTreeSet<String>, when: &str) {
    let after = host_snapshot();
    let gone: Vec<_> = before.difference(&after).collect();
    let new: Vec<_> = after.difference(before).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "{when}: the host changed\ngone: {gone:#?}\nnew: {new:#?}"
    );
}

#[test]
fn the_host_is_left_untouched() {
    as_root(|| {
        let lab = Lab::new(
            "t-rb-host",
            r#"
[nodes]
h1 = { sysctl = { "net.ipv4.tcp_syncookies" = "0" } }
h2 = {}
s1 = { kind = "switch" }

[nodes.r1]
kind = "router"

[nodes.r1.firewall]
rules = [
  { chain = "postrouting", action = "masquerade" },
  { chain = "input", proto = "tcp", dport = 22, action = "drop" },
]

[[links]]
endpoints = ["h1", "s1"]
[[links]]
endpoints = ["r1", "s1"]
[[links]]
endpoints = ["r1", "h2"]
mtu = 9000
"#,
        );
        let before = host_snapshot();
        assert_same_host(&before, "doing nothing");
        lab.up();
        lab.exec_ok("h1", &["ping", "-c1", "-W2", "h2"]);
        nsnet_ok(&["down", "t-rb-host"]);
        assert_nothing_left("t-rb-host");
        assert_same_host(&before, "after up and down");
        for n in [1, 3] {
            kill_up_when(&lab, || netns_of("t-rb-host") >= n, "netns entries");
            nsnet_ok(&["down", "t-rb-host"]);
            assert_nothing_left("t-rb-host");
            assert_same_host(&before, "after a killed up and down");
        }
    });
}
