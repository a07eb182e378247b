//! Programs run inside a node for a check: the `nsnet` binary itself as `nsnet exec`, a
//! child of its own. The runner has threads, and a process with threads must not fork and
//! join namespaces itself (locks held by other threads stay held in the child); `nsnet
//! exec` does that single-threaded, with the node's init proved, its cgroups and bounding
//! set, as for a user. A program that outlives its limit is killed with its process group.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What a program did.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    /// Its exit status; None when it was killed at its limit.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// stdout and stderr, trimmed, for a report.
    pub fn output(&self) -> String {
        let mut s = self.stdout.trim_end().to_string();
        let e = self.stderr.trim_end();
        if !e.is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(e);
        }
        s
    }
}

/// The PATH probes run with, whatever the user's: the distribution's programs (ping,
/// traceroute, python3, dig, getent), not a user's shims.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs `argv` in `node` of `lab` through `exe exec`, for at most `limit`. `probe`: with the
/// system PATH. Output beyond 1 MiB per stream is dropped.
pub fn run_in(
    exe: &Path,
    lab: &str,
    node: &str,
    argv: &[&str],
    probe: bool,
    limit: Duration,
) -> Result<Ran, String> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(exe);
    cmd.args(["exec", "--lab", lab, node, "--"])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if probe {
        cmd.env("PATH", SYSTEM_PATH).env("LC_ALL", "C");
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    let pid = child.id() as i32;
    // Each stream is read to its end in a thread of its own; a program that leaves a
    // process behind holding it (`server &`) is not waited for beyond a moment.
    let read = |r: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(r) = r {
                let _ = r.take(1 << 20).read_to_end(&mut v);
            }
            let _ = tx.send(String::from_utf8_lossy(&v).into_owned());
        });
        rx
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(limit) {
        Ok(st) => st.ok().map(|s| {
            use std::os::unix::process::ExitStatusExt;
            s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
        }),
        Err(_) => {
            // The whole group: `nsnet exec` and the program it started in the node.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = rx.recv();
            None
        }
    };
    let rest = Duration::from_millis(200);
    Ok(Ran {
        status,
        stdout: out.recv_timeout(rest).unwrap_or_default(),
        stderr: err.recv_timeout(rest).unwrap_or_default(),
    })
}
