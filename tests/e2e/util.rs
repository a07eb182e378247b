//! Helpers: run nsnet with a timeout, write lab files, guard a lab, look for leftovers.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The nsnet under test: `$NSNET_BIN` (the static build `scripts/test` makes), else the
/// binary cargo built for this test.
pub fn bin() -> &'static str {
    static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        std::env::var("NSNET_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_nsnet").to_string())
    });
    &BIN
}

/// Runs an end-to-end test's body as root. Without root the test is skipped with a notice;
/// where `NSNET_REQUIRE_ROOT` is set (CI), a skip is a failure instead.
pub fn as_root(body: impl FnOnce()) {
    if need_root() {
        body();
    } else if std::env::var_os("NSNET_REQUIRE_ROOT").is_some() {
        panic!("this end-to-end test needs root, and NSNET_REQUIRE_ROOT forbids skipping it");
    }
}

/// True when running as root; otherwise prints the skip notice.
fn need_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0");
    if !root {
        eprintln!("skipped: needs root");
    }
    root
}

/// Runs `cmd` with its output captured; kills it after `limit`.
pub fn run_with_timeout(mut cmd: Command, stdin: Option<&str>, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawning a command");
    if let (Some(input), Some(mut w)) = (stdin, child.stdin.take()) {
        let input = input.to_string();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = w.write_all(input.as_bytes());
        });
    }
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().expect("waiting") {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("timed out after {limit:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// Runs `nsnet ARGS` (30 s limit).
pub fn nsnet(args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    run_with_timeout(cmd, None, Duration::from_secs(30))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `nsnet ARGS` and fails the test unless it exits 0; returns stdout.
#[track_caller]
pub fn nsnet_ok(args: &[&str]) -> String {
    let o = nsnet(args);
    assert!(
        o.status.success(),
        "nsnet {args:?} failed ({}):\n{}{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// A lab file in its own temp dir; brings the lab down and removes the dir on drop.
pub struct Lab {
    pub name: String,
    pub dir: PathBuf,
    pub file: PathBuf,
}

impl Lab {
    /// Writes `body` (everything after the `[lab]` table) as lab `name`, without sshd.
    pub fn new(name: &str, body: &str) -> Lab {
        Lab::create(name, false, body)
    }

    /// Like `new`, with sshd in every node (`ssh = true`).
    pub fn with_ssh(name: &str, body: &str) -> Lab {
        Lab::create(name, true, body)
    }

    fn create(name: &str, ssh: bool, body: &str) -> Lab {
        let dir = std::env::temp_dir().join(format!("nsnet-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("lab.toml");
        let text = format!("[lab]\nname = \"{name}\"\nssh = {ssh}\n\n{body}");
        std::fs::write(&file, text).unwrap();
        // A leftover from an earlier, killed run must not fail this one.
        let _ = nsnet(&["down", name]);
        Lab {
            name: name.to_string(),
            dir,
            file,
        }
    }

    pub fn path(&self) -> &str {
        self.file.to_str().unwrap()
    }

    /// `nsnet up`, which must succeed.
    #[track_caller]
    pub fn up(&self) -> String {
        nsnet_ok(&["up", self.path()])
    }

    /// `nsnet exec NODE --lab LAB -- ARGS`.
    pub fn exec(&self, node: &str, args: &[&str]) -> Output {
        let mut all = vec!["exec", node, "--lab", &self.name, "--"];
        all.extend_from_slice(args);
        nsnet(&all)
    }

    /// Like `exec`, but must succeed; returns stdout trimmed.
    #[track_caller]
    pub fn exec_ok(&self, node: &str, args: &[&str]) -> String {
        let o = self.exec(node, args);
        assert!(
            o.status.success(),
            "exec on {node} of {} {args:?} failed ({}):\n{}{}",
            self.name,
            o.status,
            stdout(&o),
            stderr(&o)
        );
        stdout(&o).trim().to_string()
    }

    /// The nodes' init PIDs and liveness from `nsnet status --json`.
    pub fn status(&self) -> Vec<(String, i32, bool)> {
        let out = nsnet_ok(&["status", &self.name, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_string(),
                    n["pid"].as_i64().unwrap() as i32,
                    n["alive"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    pub fn pid(&self, node: &str) -> i32 {
        self.status()
            .into_iter()
            .find(|(n, _, _)| n == node)
            .map(|(_, p, _)| p)
            .expect("node in status")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = nsnet(&["down", &self.name]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The argv of every live process whose command line matches `pred`.
pub fn processes(pred: impl Fn(&[String]) -> bool) -> Vec<(i32, Vec<String>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !argv.is_empty() && pred(&argv) {
            out.push((pid, argv));
        }
    }
    out
}

/// Fails unless nothing of `lab` is left: no init, no mount, no netns entry, no state.
#[track_caller]
pub fn assert_nothing_left(lab: &str) {
    let prefix = format!("{lab}/");
    let inits =
        processes(|a| a[0] == "nsnet-init" && a.get(1).is_some_and(|n| n.starts_with(&prefix)));
    assert!(inits.is_empty(), "inits of {lab} left: {inits:?}");
    let entry = format!("/run/netns/{lab}.");
    let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            l.contains(&entry)
                || l.contains(&format!("/run/nsnet/{lab}/"))
                || l.contains(&format!("/run/nsnet/{lab} "))
        })
        .map(String::from)
        .collect();
    assert!(mounts.is_empty(), "mounts of {lab} left: {mounts:?}");
    let netns: Vec<String> = std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{lab}.")))
        .collect();
    assert!(netns.is_empty(), "netns entries of {lab} left: {netns:?}");
    assert!(
        !Path::new("/run/nsnet").join(lab).exists(),
        "state dir of {lab} left"
    );
    assert!(
        !Path::new("/run/nsnet").join(format!("{lab}.lock")).exists(),
        "lock file of {lab} left"
    );
}

/// The namespace links (`net:[4026…]`) of a process.
pub fn ns_ids(pid: &str) -> Vec<String> {
    ["net", "uts", "mnt", "pid", "ipc"]
        .iter()
        .map(|ns| {
            std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Two hosts and a cable: the smallest lab.
pub const PAIR: &str = "[nodes]\nh1 = {}\nh2 = {}\n\n[[links]]\nendpoints = [\"h1\", \"h2\"]\n";

/// `nsnet gen ARGS`'s lab without its `[lab]` table, ready for [`Lab::new`].
pub fn generated(args: &[&str]) -> String {
    let mut all = vec!["gen"];
    all.extend_from_slice(args);
    let text = nsnet_ok(&all);
    text.split_once("[nodes]")
        .map(|(_, rest)| format!("[nodes]{rest}"))
        .expect("a generated lab has nodes")
}

/// Runs `nsnet ARGS` under `setpriv SETPRIV` (another user, fewer capabilities).
pub fn nsnet_setpriv(setpriv: &[&str], args: &[&str]) -> Output {
    let mut cmd = Command::new("setpriv");
    cmd.args(setpriv).arg(bin()).args(args);
    run_with_timeout(cmd, None, Duration::from_secs(30))
}

/// setpriv's arguments for user nobody (65534) without groups.
pub const NOBODY: [&str; 3] = ["--reuid=65534", "--regid=65534", "--clear-groups"];

/// An unprivileged uid of the CLI test's own: every user has a sandbox of rootless labs of
/// its own, and tests that run in parallel must not share one.
pub const USER_64001: [&str; 3] = ["--reuid=64001", "--regid=64001", "--clear-groups"];

/// Retries `f` until it holds or `secs` pass.
pub fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What is under `paths` on the host: path → (size, mode, owner, mtime), for a before/after
/// check that a lab left the host's files as they were.
pub fn listing(paths: &[&str]) -> std::collections::BTreeMap<PathBuf, (u64, u32, u32, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    while let Some(d) = stack.pop() {
        let Ok(m) = std::fs::symlink_metadata(&d) else {
            continue;
        };
        out.insert(d.clone(), (m.len(), m.mode(), m.uid(), m.mtime()));
        if m.is_dir() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                stack.push(e.path());
            }
        }
    }
    out
}
