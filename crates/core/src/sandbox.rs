//! Rootless labs: a user's labs live in a sandbox of the user's — a user namespace that maps
//! the user to root, with a mount and a network namespace of its own — held open by one small
//! process, `nsnet-keeper`. A lab command run by the user moves into the sandbox first (one
//! `setns` through the keeper's pidfd) and from then on runs exactly as it does as root: it
//! has every capability over what the sandbox owns (the labs' namespaces, their mounts, the
//! sandbox's own network namespace, which stands in for the host's), and none over the
//! machine. What the sandbox mounts (lab dirs, netns entries) is seen only inside it; the
//! user's runtime dir holds plain dirs (see [`mod@crate::state::paths`]).
//!
//! The keeper is started by the first `up` and stopped by the `down` of the last lab. Its
//! PID and start time are recorded in `<base>/keeper`; before anyone joins it, it is proved:
//! the same start time, the command line `nsnet-keeper` exactly, the user's uid, and a user
//! namespace of its own.

use crate::state::paths::paths;
use crate::sys;
use nix::sched::{setns, unshare, CloneFlags};
use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The keeper's command line, whole.
pub const KEEPER_ARGV0: &str = "nsnet-keeper";
const RECORD: &str = "keeper";
const LOCK: &str = "keeper.lock";

/// The keeper lock this command holds, shared (see [`enter`]).
static HELD: std::sync::Mutex<Option<nix::fcntl::Flock<fs::File>>> = std::sync::Mutex::new(None);

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{}: {why}", .path.display())]
    Base { path: PathBuf, why: String },
    #[error(
        "no rootless lab is up for uid {uid} (its labs would be in {}; `nsnet up LAB.toml` as \
         this user starts one)",
        .base.display()
    )]
    NoSandbox { uid: u32, base: PathBuf },
    #[error(
        "starting the sandbox of rootless labs: {why} (`nsnet doctor` tells what else is missing)"
    )]
    Start { why: String },
    #[error("joining the sandbox of rootless labs (keeper pid {pid}): {source}")]
    Join { pid: i32, source: nix::errno::Errno },
}

/// Whether this process runs the keeper.
pub fn is_keeper_invocation() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|a| a == KEEPER_ARGV0)
}

/// The keeper: its own user, mount and network namespaces; says "ready", waits for its
/// uid and gid maps (written by the `up` that started it), then holds the namespaces until
/// SIGTERM or SIGKILL.
pub fn keeper_main() -> ! {
    // Nothing inherited stays open for the keeper's life (a lock its starter's caller held,
    // a pipe someone waits on to close) but the three it is given.
    let inherited: Vec<i32> = fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in inherited {
        let _ = nix::unistd::close(fd);
    }
    let _ = nix::unistd::setsid();
    let _ = std::env::set_current_dir("/");
    let flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET;
    let mut out = io::stdout();
    if let Err(e) = unshare(flags) {
        let _ = writeln!(out, "error {}", why_no_userns(e));
        sys::exit_now(1);
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    // The maps are written once `up` reads "ready"; it then closes our stdin.
    let mut rest = Vec::new();
    let _ = io::stdin().read_to_end(&mut rest);
    if let Ok(null) = fs::File::open("/dev/null") {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGHUP,
        nix::sys::signal::Signal::SIGPIPE,
    ] {
        sys::set_signal_ignored(sig, true);
    }
    loop {
        nix::unistd::pause();
    }
}

/// `--rootless` as root: this process becomes user nobody (65534, group nogroup) with no
/// supplementary groups and no capabilities, so what follows works with nobody's rootless
/// labs. Must come before anything asks for [`paths`]. Does nothing for another user.
pub fn become_nobody() -> Result<(), SandboxError> {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let fail = |e: nix::errno::Errno| SandboxError::Start {
        why: format!("becoming user nobody for --rootless: {e}"),
    };
    let (uid, gid) = (Uid::from_raw(65534), Gid::from_raw(65534));
    setgroups(&[]).map_err(fail)?;
    setresgid(gid, gid, gid).map_err(fail)?;
    setresuid(uid, uid, uid).map_err(fail)?;
    Ok(())
}

/// Why this user may make no user namespace, in words, from unshare's errno.
pub(crate) fn why_no_userns(e: nix::errno::Errno) -> String {
    let max = fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .map(|m| m.trim().to_string())
        .unwrap_or_default();
    match e {
        nix::errno::Errno::ENOSPC if max == "0" => {
            "user namespaces are switched off here (sysctl user.max_user_namespaces = 0; \
             as root: sysctl -w user.max_user_namespaces=10000)"
                .into()
        }
        nix::errno::Errno::ENOSPC => format!(
            "the limit of user namespaces is reached (sysctl user.max_user_namespaces = {max}): \
             end some, or raise it as root"
        ),
        nix::errno::Errno::EPERM | nix::errno::Errno::EACCES => format!(
            "user namespaces are not allowed to this user ({e}: as root, \
             sysctl -w kernel.unprivileged_userns_clone=1 or \
             kernel.apparmor_restrict_unprivileged_userns=0 where the kernel has them)"
        ),
        e => format!("unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET): {e}"),
    }
}

/// For a lab command of a user who is not root: moves this (single-threaded) process into
/// the user's sandbox, starting it when `start` (an `up`) and there is none. Does nothing
/// as root, or inside the sandbox already.
pub fn enter(start: bool) -> Result<(), SandboxError> {
    let p = paths();
    let Some(base) = &p.base else {
        return Ok(());
    };
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let uid = p.host_uid;
    let base_err = |why: String| SandboxError::Base {
        path: base.clone(),
        why,
    };
    if start {
        match fs::DirBuilder::new().mode(0o700).create(base) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(base_err(format!("creating it: {e}")))
            }
            _ => {}
        }
    }
    match fs::symlink_metadata(base) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(SandboxError::NoSandbox {
                uid,
                base: base.clone(),
            })
        }
        Err(e) => return Err(base_err(e.to_string())),
        Ok(m) if !m.is_dir() => return Err(base_err("not a directory (a symlink?)".into())),
        Ok(m) if m.uid() != uid || m.mode() & 0o022 != 0 => {
            return Err(base_err(format!(
                "owned by uid {} with mode {:o}: not a dir nsnet can trust",
                m.uid(),
                m.mode() & 0o7777
            )))
        }
        Ok(_) => {}
    }
    let lock = lock(base, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|e| base_err(format!("locking {LOCK}: {e}")))?;
    let (pid, pidfd) = match proved_keeper(base) {
        Some(k) => k,
        None if start => match start_keeper(base) {
            Ok(k) => k,
            Err(e) => {
                // Nothing of a sandbox that never started stays behind.
                drop(lock);
                let _ = fs::remove_file(base.join(LOCK));
                let _ = fs::remove_dir(base);
                return Err(e);
            }
        },
        None => {
            return Err(SandboxError::NoSandbox {
                uid,
                base: base.clone(),
            })
        }
    };
    // Held (shared) until this command ends: the last `down` stops the keeper only when no
    // other command of the user is in the sandbox or on its way in.
    let _ = lock.relock(nix::fcntl::FlockArg::LockShared);
    if let Ok(mut held) = HELD.lock() {
        *held = Some(lock);
    }
    let cwd = std::env::current_dir().ok();
    let flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET;
    setns(&pidfd, flags).map_err(|source| SandboxError::Join { pid, source })?;
    // Joining a mount namespace moves to its root: back to where the user was.
    if let Some(d) = cwd {
        let _ = std::env::set_current_dir(d);
    }
    Ok(())
}

fn lock(base: &Path, how: nix::fcntl::FlockArg) -> io::Result<nix::fcntl::Flock<fs::File>> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(base.join(LOCK))?;
    nix::fcntl::Flock::lock(f, how).map_err(|(_, e)| e.into())
}

/// The recorded keeper, if it runs and is provably ours: (pid, pidfd).
fn proved_keeper(base: &Path) -> Option<(i32, OwnedFd)> {
    let text = fs::read_to_string(base.join(RECORD)).ok()?;
    let mut w = text.split_whitespace();
    let pid: i32 = w.next()?.parse().ok()?;
    let start: u64 = w.next()?.parse().ok()?;
    if pid <= 1 {
        return None;
    }
    let pidfd = sys::pidfd_open(pid).ok()?;
    // With the pidfd held the PID cannot be reused: everything read now is that process's.
    let stat = crate::state::read_stat(pid)?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let owner = fs::metadata(format!("/proc/{pid}")).ok()?.uid();
    let ns = |p: &str| fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
    let theirs = ns(&format!("/proc/{pid}/ns/user"))?;
    // From inside the sandbox the keeper is root's and in our user namespace; from outside,
    // the user's and in one of its own.
    let inside = nix::unistd::geteuid().is_root();
    let ok = stat.start_time == start
        && stat.state != 'Z'
        && cmdline == format!("{KEEPER_ARGV0}\0").as_bytes()
        && owner == if inside { 0 } else { paths().host_uid }
        && (Some(theirs) == ns("/proc/self/ns/user")) == inside;
    ok.then_some((pid, pidfd))
}

/// Starts the keeper, writes its maps and records it.
fn start_keeper(base: &Path) -> Result<(i32, OwnedFd), SandboxError> {
    let fail = |why: String| SandboxError::Start { why };
    let mut child = Command::new("/proc/self/exe")
        .arg0(KEEPER_ARGV0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("starting {KEEPER_ARGV0}: {e}")))?;
    let pid = child.id() as i32;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = io::BufReader::new(out).read_line(&mut line);
    }
    if line.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        return Err(fail(line.trim().trim_start_matches("error ").to_string()));
    }
    let uid = paths().host_uid;
    let gid = nix::unistd::getegid().as_raw();
    let mapped = match subordinate_ranges(uid) {
        // The user's subordinate ids as 1..: sshd's privilege separation and daemons that
        // drop to a user of their own work in the nodes.
        Some((subuid, subgid)) => map_range(pid, uid, gid, subuid, subgid),
        None => {
            let write = |f: &str, s: String| {
                fs::write(format!("/proc/{pid}/{f}"), s)
                    .map_err(|e| format!("writing /proc/{pid}/{f}: {e}"))
            };
            write("setgroups", "deny".into())
                .and_then(|()| write("uid_map", format!("0 {uid} 1")))
                .and_then(|()| write("gid_map", format!("0 {gid} 1")))
        }
    };
    if let Err(why) = mapped {
        let _ = child.kill();
        let _ = child.wait();
        return Err(fail(why));
    }
    drop(child.stdin.take());
    let start = crate::state::read_stat(pid)
        .map(|s| s.start_time)
        .ok_or_else(|| fail("it ended at once".into()))?;
    let tmp = base.join(format!("{RECORD}.tmp"));
    fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut f| writeln!(f, "{pid} {start}"))
        .and_then(|()| fs::rename(&tmp, base.join(RECORD)))
        .map_err(|e| fail(format!("recording it in {}: {e}", base.display())))?;
    let pidfd = sys::pidfd_open(pid).map_err(|e| fail(format!("pidfd_open: {e}")))?;
    Ok((pid, pidfd))
}

/// How many subordinate ids a sandbox maps (as `newuidmap` is asked for them): enough for
/// every system user of a distribution (sshd, frr, bind …) and `nobody`.
const RANGE: u64 = 65536;

/// The first id of the user's subordinate uid and gid ranges of at least [`RANGE`] ids, from
/// /etc/subuid and /etc/subgid (by name or by uid), when newuidmap and newgidmap are there.
pub(crate) fn subordinate_ranges(uid: u32) -> Option<(u64, u64)> {
    for helper in ["/usr/bin/newuidmap", "/usr/bin/newgidmap"] {
        if !Path::new(helper).exists() {
            return None;
        }
    }
    // /etc/passwd read directly: nsnet is a static binary, and glibc's NSS (getpwuid)
    // cannot load its modules there. A user only in a directory service matches by uid.
    let name = fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| uid.to_string());
    let find = |file: &str| -> Option<u64> {
        fs::read_to_string(file).ok()?.lines().find_map(|l| {
            let mut f = l.split(':');
            let who = f.next()?;
            let start: u64 = f.next()?.trim().parse().ok()?;
            let count: u64 = f.next()?.trim().parse().ok()?;
            ((who == name || who == uid.to_string()) && count >= RANGE).then_some(start)
        })
    };
    Some((find("/etc/subuid")?, find("/etc/subgid")?))
}

/// Maps root to the user and 1.. to its subordinate ranges, through the distribution's
/// setuid helpers (the kernel lets no user write such a map itself).
fn map_range(pid: i32, uid: u32, gid: u32, subuid: u64, subgid: u64) -> Result<(), String> {
    let n = RANGE - 1;
    for (helper, id, sub) in [("newuidmap", uid, subuid), ("newgidmap", gid, subgid)] {
        let o = Command::new(format!("/usr/bin/{helper}"))
            .args([pid.to_string(), "0".into(), id.to_string(), "1".into()])
            .args(["1".to_string(), sub.to_string(), n.to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running {helper}: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "{helper}: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// Whether this process is in a sandbox that maps a range of subordinate ids besides root.
pub fn maps_a_range() -> bool {
    fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| {
        m.lines().any(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            f.len() == 3 && f[0] == 1 && f[2] >= RANGE - 1
        })
    })
}

/// After a `down` inside the sandbox: when no lab is left, stops the keeper and removes the
/// base dir, so the user's runtime dir is as it was. Does nothing as root.
pub fn release_if_empty() {
    let p = paths();
    let Some(base) = &p.base else {
        return;
    };
    // Ours, made exclusive; a command that came in from outside holds it shared already. One
    // started inside the sandbox (a check's `nsnet exec`, ssh's `nsnet proxy`) holds none
    // and never waits for it: its caller holds it shared until it ends.
    let held = HELD.lock().ok().and_then(|mut h| h.take());
    let lock = match held {
        Some(l) => l,
        None => match lock(base, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err(_) => return,
        },
    };
    if lock
        .relock(nix::fcntl::FlockArg::LockExclusiveNonblock)
        .is_err()
    {
        return;
    }
    let labs_left = fs::read_dir(&p.state)
        .is_ok_and(|d| d.flatten().any(|e| e.file_type().is_ok_and(|t| t.is_dir())));
    if labs_left {
        return;
    }
    // The netns dir may still be a mount point of the sandbox (see state::ensure_netns_mount).
    if let Ok(Some(store)) = crate::state::Store::open() {
        crate::state::release_netns_mount(&store);
    }
    let _ = fs::remove_dir(&p.netns);
    let _ = remove_files_then_dir(&p.state);
    if let Some((_, pidfd)) = proved_keeper(base) {
        let _ = sys::pidfd_send_signal(&pidfd, nix::sys::signal::Signal::SIGKILL);
    }
    let _ = fs::remove_file(base.join(RECORD));
    let _ = fs::remove_file(base.join(LOCK));
    drop(lock);
    let _ = fs::remove_dir(base);
}

/// Removes the plain files of `dir` (lock files, marks), then `dir`; never recurses.
fn remove_files_then_dir(dir: &Path) -> io::Result<()> {
    for e in fs::read_dir(dir)?.flatten() {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(e.path());
        }
    }
    fs::remove_dir(dir)
}
