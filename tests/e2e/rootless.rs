//! Rootless labs: an unprivileged user's lab comes up in a sandbox of the user's (a user
//! namespace with its own mount and network namespaces), is reached from the user's other
//! processes, tests itself, and goes without a trace; what needs the machine is refused;
//! root's labs are out of the user's reach.

use crate::util::*;
use std::path::Path;
use std::process::Output;

/// The user of the main test: a uid of its own (each user has one sandbox).
const USER: [&str; 3] = ["--reuid=64002", "--regid=64002", "--clear-groups"];
const UID: &str = "64002";

fn user(args: &[&str]) -> Output {
    nsnet_setpriv(&USER, args)
}

#[track_caller]
fn user_ok(args: &[&str]) -> String {
    let o = user(args);
    assert!(
        o.status.success(),
        "nsnet {args:?}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Takes a rootless lab down on drop, also when the test fails: `down LAB` run under
/// setpriv with `how` (a user), or as root with `--rootless` when `how` is empty.
struct Down(&'static [&'static str], &'static str);
impl Drop for Down {
    fn drop(&mut self) {
        let _ = match self.0 {
            [] => nsnet(&["--rootless", "down", self.1]),
            how => nsnet_setpriv(how, &["down", self.1]),
        };
    }
}

/// The lab's inits as the machine sees them: (pid, uid).
fn inits(lab: &str) -> Vec<(i32, String)> {
    let prefix = format!("{lab}/");
    processes(|a| a.len() == 2 && a[0] == "nsnet-init" && a[1].starts_with(&prefix))
        .into_iter()
        .map(|(pid, _)| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next())
                .unwrap_or("")
                .to_string();
            (pid, uid)
        })
        .collect()
}

const ROUTED: &str = r#"
[nodes.h1]
[nodes.h2]
[nodes.r2]
kind = "router"
[nodes.r1]
kind = "router"
[[nodes.r1.firewall.rules]]
chain = "forward"
proto = "tcp"
dport = 81
action = "drop"

[[links]]
endpoints = ["h1", "r1"]
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "h2"]

[[checks]]
name = "h1 reaches h2 across both routers"
node = "h1"
ping = "h2"
[[checks]]
name = "r1 drops tcp 81"
node = "h1"
tcp = "h2:81"
expect = "filtered"
timeout = "1s"
counted_by = "r1:1"
"#;

#[test]
fn a_users_lab_comes_up_is_reached_tests_itself_and_leaves_nothing() {
    as_root(|| {
        let base = Path::new("/tmp").join(format!("nsnet-{UID}"));
        let lab = Lab::with_ssh("t-rl", ROUTED);
        let _down = Down(&USER, "t-rl");
        let o = user(&["up", lab.path()]);
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        assert!(
            stdout(&o).contains("lab t-rl is up: 4 node(s)"),
            "{}",
            stdout(&o)
        );
        // This user has no subordinate ids: no sshd, and a note that says why.
        assert!(
            stderr(&o).contains("rootless: no sshd in the nodes"),
            "{}",
            stderr(&o)
        );
        // The nodes are the user's processes on the machine (root only in their sandbox).
        let found = inits("t-rl");
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().all(|(_, uid)| uid == UID), "{found:?}");
        // Another process of the user reaches them: by name, across both routers.
        let o = user(&[
            "exec", "h1", "--lab", "t-rl", "--", "ping", "-c1", "-W2", "h2",
        ]);
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        assert_eq!(
            user_ok(&["exec", "r1", "--lab", "t-rl", "--", "id", "-u"]).trim(),
            "0"
        );
        // And a shell in a node, under a terminal of the user's.
        let mut script = std::process::Command::new("setpriv");
        script.args(USER).args([
            "script",
            "-qefc",
            &format!("{} enter h2 --lab t-rl", bin()),
            "/dev/null",
        ]);
        script.env("SHELL", "/bin/sh");
        let o = run_with_timeout(
            script,
            Some("echo inside-$(hostname)-$NSNET_LAB\nexit 3\n"),
            std::time::Duration::from_secs(20),
        );
        assert!(
            stdout(&o).contains("inside-h2-t-rl"),
            "{}{}",
            stdout(&o),
            stderr(&o)
        );
        assert_eq!(o.status.code(), Some(3));
        // Its checks: real traffic, and r1's firewall counter moved for the dropped probe.
        let o = user(&["test", "--lab", "t-rl", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
        assert_eq!(o.status.code(), Some(0), "{v:#}");
        assert_eq!(v["passed"], 2, "{v:#}");
        let fw = user_ok(&["fw", "r1", "--lab", "t-rl"]);
        assert!(fw.contains("tcp dport 81"), "{fw}");
        // The machine sees none of it: no netns entry, no state of root's, no mount.
        assert!(!Path::new("/run/nsnet/t-rl").exists());
        let entries: Vec<String> = std::fs::read_dir("/run/netns")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("t-rl."))
            .collect();
        assert!(entries.is_empty(), "{entries:?}");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(&format!("nsnet-{UID}")) && !mounts.contains("t-rl"),
            "{mounts}"
        );
        // What needs the machine is refused, and changes nothing.
        let limited = Lab::new("t-rl-lim", "[nodes]\nh1 = { memory = \"64M\" }\n");
        let o = user(&["up", limited.path()]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("lab t-rl-lim cannot run rootless: node h1 has resource limits"),
            "{}",
            stderr(&o)
        );
        assert!(inits("t-rl-lim").is_empty());
        assert!(user(&["exec", "h2", "--lab", "t-rl", "--", "true"])
            .status
            .success());
        // Down: no process, no file of the user's left.
        user_ok(&["down", "t-rl"]);
        eventually(10, "the inits and the keeper gone", || {
            inits("t-rl").is_empty()
                && processes(|a| a.first().is_some_and(|c| c == "nsnet-keeper")).is_empty()
        });
        assert!(!base.exists(), "{} is left", base.display());
    });
}

#[test]
fn another_user_cannot_reach_roots_labs() {
    as_root(|| {
        let lab = Lab::new("t-rl-root", PAIR);
        lab.up();
        let other = ["--reuid=64003", "--regid=64003", "--clear-groups"];
        for args in [
            vec!["down", "t-rl-root"],
            vec!["exec", "h1", "--lab", "t-rl-root", "--", "true"],
            vec!["status", "t-rl-root"],
            vec!["link", "down", "h1:eth0", "--lab", "t-rl-root"],
        ] {
            let o = nsnet_setpriv(&other, &args);
            assert!(!o.status.success(), "{args:?} succeeded");
            assert!(
                stderr(&o).contains("no rootless lab is up for uid 64003"),
                "{args:?}: {}",
                stderr(&o)
            );
        }
        assert!(lab.status().iter().all(|(_, _, alive)| *alive));
        assert!(!Path::new("/tmp/nsnet-64003").exists());
    });
}

/// The user scripts/setup makes, with a range of subordinate ids in /etc/subuid and
/// /etc/subgid.
const RANGED: [&str; 3] = ["--reuid=nsnet-rl", "--regid=nsnet-rl", "--clear-groups"];

#[test]
fn with_subordinate_ids_rootless_nodes_run_sshd_and_the_example_labs_pass() {
    as_root(|| {
        let uid = std::process::Command::new("id")
            .args(["-u", "nsnet-rl"])
            .output()
            .unwrap();
        assert!(
            uid.status.success(),
            "no user nsnet-rl: scripts/setup makes it"
        );
        let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
        let lab = Lab::with_ssh("t-rl-ssh", PAIR);
        let _down = Down(&RANGED, "t-rl-ssh");
        let run = |args: &[&str]| {
            let o = nsnet_setpriv(&RANGED, args);
            assert!(
                o.status.success(),
                "nsnet {args:?}: {}{}",
                stdout(&o),
                stderr(&o)
            );
            (stdout(&o), stderr(&o))
        };
        let (_, err) = run(&["up", lab.path()]);
        assert!(!err.contains("no sshd"), "{err}");
        // The sandbox maps the user's range: root is the user, 1.. its subordinate ids.
        let (map, _) = run(&["exec", "h1", "--", "cat", "/proc/self/uid_map"]);
        let rows: Vec<Vec<&str>> = map
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0], ["0", uid.as_str(), "1"], "{map}");
        assert_eq!(rows[1][0], "1", "{map}");
        // The stock ssh client from the user's shell, and from node to node: sshd's privilege
        // separation runs as the sandbox's sshd user.
        let (out, _) = run(&["ssh", "h1", "--", "hostname"]);
        assert_eq!(out.trim(), "h1");
        let (out, _) = run(&[
            "ssh",
            "h1",
            "--",
            "ssh",
            "-o",
            "BatchMode=yes",
            "h2",
            "id",
            "-u",
        ]);
        assert_eq!(out.trim(), "0");
        run(&["down", "t-rl-ssh"]);
        // The example labs, as they are: each passes its own checks rootless (routes,
        // switches, NAT and a published port inside the lab, ECMP and a reroute), but the
        // one on copy-on-write roots, which is refused with its reason.
        let labs = concat!(env!("CARGO_MANIFEST_DIR"), "/labs");
        for name in ["two-routers", "switch", "docker-like", "datacenter"] {
            let o = nsnet_setpriv(&RANGED, &["test", &format!("{labs}/{name}.toml")]);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{name}: {}{}",
                stdout(&o),
                stderr(&o)
            );
            assert!(
                stdout(&o).contains(" passed, 0 failed"),
                "{name}: {}",
                stdout(&o)
            );
        }
        let o = nsnet_setpriv(&RANGED, &["test", &format!("{labs}/ospf.toml")]);
        assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
        assert!(
            stderr(&o).contains("lab ospf cannot run rootless: node r1 has a root of its own"),
            "{}",
            stderr(&o)
        );
        assert!(!Path::new(&format!("/tmp/nsnet-{uid}")).exists());
    });
}

#[test]
fn root_asks_for_rootless_and_gets_nodes_that_cannot_touch_the_machine() {
    as_root(|| {
        let lab = Lab::new("t-rl-nb", PAIR);
        let _down = Down(&[], "t-rl-nb");
        nsnet_ok(&["--rootless", "up", lab.path()]);
        // nobody's lab: root's own commands do not see it, `--rootless` ones do.
        assert!(!nsnet_ok(&["status"]).contains("t-rl-nb"));
        assert!(nsnet_ok(&["--rootless", "status"]).contains("lab t-rl-nb"));
        let found = inits("t-rl-nb");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|(_, uid)| uid == "65534"), "{found:?}");
        // Root in the node, nobody on the machine: the machine's files and kernel settings
        // are out of its reach (the setting is written its own value: were the write let
        // through, nothing would change but the test's verdict).
        let probe = "/etc/nsnet-rootless-probe";
        let o = nsnet(&["--rootless", "exec", "h1", "--", "touch", probe]);
        assert!(!o.status.success(), "a rootless node wrote {probe}");
        assert!(!Path::new(probe).exists());
        let o = nsnet(&[
            "--rootless",
            "exec",
            "h1",
            "--",
            "sh",
            "-c",
            "cat /proc/sys/kernel/panic_on_oops > /proc/sys/kernel/panic_on_oops",
        ]);
        assert!(!o.status.success(), "a rootless node set a kernel setting");
        let o = nsnet(&["--rootless", "exec", "h1", "--", "ping", "-c1", "-W2", "h2"]);
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        nsnet_ok(&["--rootless", "down", "t-rl-nb"]);
        assert!(inits("t-rl-nb").is_empty());
        assert!(!Path::new("/tmp/nsnet-65534").exists());
    });
}

/// Runs `nsnet ARGS` as uid `uid` inside a user namespace of the test's own (root and `uid`
/// mapped as themselves) in which user namespaces are switched off
/// (`user.max_user_namespaces = 0` there): what a machine that switched them off shows the
/// user, without touching the machine's own setting.
fn without_user_namespaces(uid: u32, args: &[&str]) -> Output {
    const PY: &str = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
uid, nsnet, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
r, w = os.pipe(); r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r); os.close(w2)
    if libc.unshare(0x10000000) != 0:
        os._exit(90)
    os.write(w, b"u"); os.close(w)
    os.read(r2, 1)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0")
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
    os.execv(nsnet, [nsnet] + args)
os.close(w); os.close(r2)
os.read(r, 1)
for m in ("uid_map", "gid_map"):
    with open(f"/proc/{pid}/{m}", "w") as f:
        f.write(f"0 0 1\n{uid} {uid} 1\n")
os.write(w2, b"g"); os.close(w2)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
"#;
    let mut cmd = std::process::Command::new("/usr/bin/python3");
    cmd.args(["-c", PY, &uid.to_string(), bin()]).args(args);
    run_with_timeout(cmd, None, std::time::Duration::from_secs(30))
}

#[test]
fn without_user_namespaces_up_says_why_and_leaves_nothing() {
    as_root(|| {
        let lab = Lab::new("t-rl-nons", "[nodes]\nh1 = {}\n");
        let o = without_user_namespaces(64008, &["up", lab.path()]);
        assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
        assert!(
            stderr(&o).contains(
                "starting the sandbox of rootless labs: user namespaces are switched off here \
                 (sysctl user.max_user_namespaces = 0"
            ),
            "{}",
            stderr(&o)
        );
        assert!(!Path::new("/tmp/nsnet-64008").exists());
        assert!(inits("t-rl-nons").is_empty());
        // doctor, run the same way, finds the same and gives the fix.
        let o = without_user_namespaces(64008, &["doctor"]);
        assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
        assert!(
            stdout(&o).contains("MISSING  network namespaces"),
            "{}",
            stdout(&o)
        );
    });
}

/// Removes a decoy path on drop, also when the test fails.
struct Decoy(std::path::PathBuf);
impl Drop for Decoy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_state_dir_someone_else_made_or_a_symlink_is_never_used() {
    as_root(|| {
        use std::os::unix::fs::MetadataExt;
        let me = ["--reuid=64012", "--regid=64012", "--clear-groups"];
        let lab = Lab::new("t-rl-decoy", PAIR);
        let base = Path::new("/tmp/nsnet-64012");
        // Another user's dir where the user's state would go, with something of theirs in it.
        let theirs = Decoy(base.to_path_buf());
        std::fs::create_dir(&theirs.0).unwrap();
        std::fs::write(theirs.0.join("keeper"), "1 1\n").unwrap();
        std::os::unix::fs::chown(&theirs.0, Some(64013), Some(64013)).unwrap();
        let o = nsnet_setpriv(&me, &["up", lab.path()]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("not a dir nsnet can trust"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::metadata(base).unwrap().uid(), 64013);
        assert_eq!(
            std::fs::read_to_string(base.join("keeper")).unwrap(),
            "1 1\n"
        );
        assert_eq!(std::fs::read_dir(base).unwrap().count(), 1);
        drop(theirs);
        // A symlink there, to a dir of the user's own: not followed, nothing made in it.
        let target = Decoy(Path::new("/tmp/nsnet-e2e-decoy-64012").to_path_buf());
        std::fs::create_dir(&target.0).unwrap();
        std::os::unix::fs::chown(&target.0, Some(64012), Some(64012)).unwrap();
        let link = Decoy(base.to_path_buf());
        std::os::unix::fs::symlink(&target.0, &link.0).unwrap();
        let o = nsnet_setpriv(&me, &["up", lab.path()]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("a symlink?"), "{}", stderr(&o));
        assert_eq!(std::fs::read_dir(&target.0).unwrap().count(), 0);
        assert!(inits("t-rl-decoy").is_empty());
    });
}
