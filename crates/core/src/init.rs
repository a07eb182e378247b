//! The node init: PID 1 of every node. It is the `nsnet` binary itself, re-executed by `up`
//! as `nsnet-init <lab>/<node>` inside fresh namespaces, so `ps` names it and `down` can find
//! it in /proc. It builds the node's private mount table, reports ready, waits for the
//! go-ahead, starts the node's services and commands, reaps orphans and stops everything
//! on SIGTERM. No threads; it allocates only while setting up.
//!
//! Protocol with `up`:
//! - config: the node's [`InitConfig`], the byte range given in `NSNET_INIT_CONFIG` of
//!   `/run/nsnet/<lab>/init.json`, read before the node's /run is replaced;
//!   `NSNET_INIT_INDEX` in the environment is the node's index in the plan.
//! - ready: one [`RECORD_LEN`]-byte record (index, status) on the shared pipe at fd 3;
//!   details of a failure go to the node's log (`/run/nsnet/<lab>/logs/<node>.log`).
//! - go-ahead: SIGUSR1 once the network is wired; the init starts its services (sshd) and
//!   sends a [`STATUS_STARTED`] record.
//! - release: once every node has started, `up` creates the lab dir's
//!   [`state::RELEASED_FILE`] (the lab is built from then on) and sends SIGUSR2, acknowledged
//!   with a [`STATUS_RELEASED`] record; then the init starts the node's commands.
//! - `up` dying: the kernel sends the init [`sys::PDEATHSIG`] (PR_SET_PDEATHSIG). Before the
//!   release it stops the node, unless the released file exists: then `up` died after it
//!   had decided, and the signal counts as the release. So a killed `up` leaves all of its
//!   nodes running or none; SIGTERM (`down`) always stops the node.

use crate::state;
use crate::sys;
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use nsnet_lab::NodePlan;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What `up` tells a node's init.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitConfig {
    pub lab: String,
    pub node: NodePlan,
}

/// The environment variable holding the node's index in the plan.
pub const INDEX_ENV: &str = "NSNET_INIT_INDEX";
/// The environment variable holding the byte range (`offset:length`) of the node's config
/// in the lab's init.json.
pub const CONFIG_ENV: &str = "NSNET_INIT_CONFIG";
/// Size of a ready record: node index then status, both u32 little-endian.
pub const RECORD_LEN: usize = 8;
pub const STATUS_READY: u32 = 0;
pub const STATUS_FAILED: u32 = 1;
/// Sent after the release, once the init no longer dies with `nsnet up`.
pub const STATUS_RELEASED: u32 = 2;
/// Sent after the go-ahead, once the node's services run.
pub const STATUS_STARTED: u32 = 3;
/// How long the node's processes get between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);
/// The node's private scratch dir, inside its own /run.
const NODE_RUN: &str = "/run/nsnet";
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long a node waits for its sshd to listen before it reports released anyway.
const SSHD_START: Duration = Duration::from_secs(10);

pub fn encode_record(index: u32, status: u32) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[..4].copy_from_slice(&index.to_le_bytes());
    r[4..].copy_from_slice(&status.to_le_bytes());
    r
}

pub fn decode_record(r: &[u8]) -> (u32, u32) {
    let index = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
    let status = u32::from_le_bytes([r[4], r[5], r[6], r[7]]);
    (index, status)
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("reading the init config {path}: {source}")]
    ReadConfig { path: String, source: io::Error },
    #[error("init config {path}: {source}")]
    ParseConfig {
        path: String,
        source: serde_json::Error,
    },
    #[error("{op} {path}: {source}")]
    Mount {
        op: &'static str,
        path: String,
        source: Errno,
    },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: io::Error,
    },
    #[error("setting the hostname to {name}: {source}")]
    Hostname { name: String, source: Errno },
    #[error(
        "private dir {path} does not exist on the host; nsnet never creates anything in the \
         host's filesystem: create it on the host first, or use a dir under /run or /tmp"
    )]
    PrivateMissing { path: String },
    #[error(
        "file {path}: its target does not exist on the host and is not in a private dir; \
         list its directory in `private` (private = [\"{dir}\"]) so the node gets a writable \
         dir of its own there"
    )]
    FileTargetMissing { path: String, dir: String },
    #[error(transparent)]
    Ssh(#[from] crate::ssh::SshError),
}

fn io_err(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> InitError {
    let path = path.as_ref().display().to_string();
    move |source| InitError::Io { op, path, source }
}

fn mount_err<'a>(op: &'static str, path: &'a str) -> impl FnOnce(Errno) -> InitError + 'a {
    move |source| InitError::Mount {
        op,
        path: path.to_string(),
        source,
    }
}

/// True when this process was started as a node init.
pub fn is_init_invocation() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|a| a == state::INIT_ARGV0)
}

/// The signals the init handles, blocked for its whole life and taken with sigwait.
fn init_sigset() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGQUIT,
        Signal::SIGPWR,
    ] {
        set.add(s);
    }
    set
}

/// The init's entry point; never returns.
pub fn main() -> ! {
    let set = init_sigset();
    let _ = set.thread_block();
    let _ = nix::sys::prctl::set_name(c"nsnet-init");
    // Out of the session of `nsnet up`: a terminal's ^C or hangup must not reach the node.
    let _ = nix::unistd::setsid();
    let _ = std::env::set_current_dir("/");
    let ready = sys::take_ready_fd();
    let index: u32 = std::env::var(INDEX_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u32::MAX);
    let target = std::env::args().nth(1).unwrap_or_default();
    let Some((lab, node)) = target.split_once('/') else {
        let _ = report(ready.as_ref(), index, STATUS_FAILED);
        std::process::exit(2);
    };
    let log = match open_log(lab, node) {
        Ok(log) => log,
        Err(_) => {
            let _ = report(ready.as_ref(), index, STATUS_FAILED);
            std::process::exit(1);
        }
    };
    let _ = nix::unistd::dup2_stdout(&log);
    let _ = nix::unistd::dup2_stderr(&log);
    // The lab dir, to look for the released file after the host's /run is out of sight.
    let lab_dir = File::open(state::lab_dir(lab)).ok();
    match prepare_node(lab, node, log) {
        Ok(mut init) => {
            if report(ready.as_ref(), index, STATUS_READY) == Err(Errno::EPIPE) {
                // `nsnet up` is gone, maybe before our PR_SET_PDEATHSIG was set (it can be
                // SIGKILLed while it waits for our exec): nobody will release or stop us.
                std::process::exit(1);
            }
            init.run(&set, ready, index, lab_dir)
        }
        Err(e) => {
            eprintln!("nsnet-init: error: {e}");
            let _ = report(ready.as_ref(), index, STATUS_FAILED);
            std::process::exit(1);
        }
    }
}

/// This node's slice of the lab's init.json (its range is in [`CONFIG_ENV`]).
fn read_config(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no valid {CONFIG_ENV}"),
        )
    };
    let range = std::env::var(CONFIG_ENV).map_err(|_| bad())?;
    let (off, len) = range.split_once(':').ok_or_else(bad)?;
    let (off, len): (u64, usize) = (
        off.parse().map_err(|_| bad())?,
        len.parse().map_err(|_| bad())?,
    );
    let mut buf = vec![0u8; len];
    state::open_private(path)?.read_exact_at(&mut buf, off)?;
    Ok(buf)
}

/// Sends a record; EPIPE when `nsnet up` no longer reads the pipe (SIGPIPE is ignored).
fn report(ready: Option<&OwnedFd>, index: u32, status: u32) -> Result<(), Errno> {
    match ready {
        // One write of 8 bytes: atomic on a pipe, so records of many inits never interleave.
        Some(fd) => nix::unistd::write(fd, &encode_record(index, status)).map(drop),
        None => Ok(()),
    }
}

fn open_log(lab: &str, node: &str) -> io::Result<File> {
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(state::log_path(lab, node))
}

/// A node whose mounts are ready.
struct NodeInit {
    lab: String,
    cfg: InitConfig,
    log: File,
    /// The node's `exec` commands that are still running, to log how they end.
    commands: Vec<(Pid, String)>,
}

/// Everything before "ready": config, hostname and the node's private mount table.
fn prepare_node(lab: &str, node: &str, log: File) -> Result<NodeInit, InitError> {
    let path = state::init_configs_path(lab);
    let text = read_config(&path).map_err(|source| InitError::ReadConfig {
        path: path.display().to_string(),
        source,
    })?;
    let cfg: InitConfig =
        serde_json::from_slice(&text).map_err(|source| InitError::ParseConfig {
            path: path.display().to_string(),
            source,
        })?;
    // Open what lives in the host's /run and /tmp before those are replaced.
    let hosts_path = state::hosts_path(lab);
    let hosts = state::open_private(&hosts_path).map_err(io_err("opening", &hosts_path))?;
    let sources = cfg
        .node
        .files
        .iter()
        .map(|f| File::open(&f.source).map_err(io_err("opening the source of", &f.source)))
        .collect::<Result<Vec<File>, InitError>>()?;
    let ssh = if cfg.node.ssh {
        Some(crate::ssh::NodeSsh::load(lab, &cfg.node)?)
    } else {
        None
    };

    nix::unistd::sethostname(node).map_err(|source| InitError::Hostname {
        name: node.to_string(),
        source,
    })?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(mount_err("making private", "/"))?;
    // The lab's one hosts file, bound read-only over /etc/hosts through the fd opened
    // above (no path to swap): every node shares its pages, instead of a copy each that
    // grows with the lab. Done before the host's /run, where it lives, is detached.
    if Path::new("/etc/hosts").exists() {
        use std::os::fd::AsRawFd;
        let src = format!("/proc/self/fd/{}", hosts.as_raw_fd());
        bind_mount(&src, "/etc/hosts")?;
        mount(
            None::<&str>,
            "/etc/hosts",
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(mount_err("making read-only", "/etc/hosts"))?;
    }
    drop(hosts);
    detach_run()?;
    // One tmpfs per node: /tmp and /dev/shm are dirs of it bound in place. A superblock
    // costs ~5 KiB of kernel memory and time at exit; a bind mount ~0.3 KiB.
    mount_tmpfs("/run", "mode=0755")?;
    scratch_dir("tmp", "/tmp", 0o1777)?;
    if Path::new("/dev/shm").is_dir() {
        // POSIX shared memory lives here: IPC namespaces do not cover it.
        scratch_dir("shm", "/dev/shm", 0o1777)?;
    }
    remount_kernel_fs("proc", "/proc")?;
    remount_kernel_fs("sysfs", "/sys")?;
    write_etc(node)?;
    if let Some(ssh) = ssh {
        ssh.install()?;
    }
    mount_private_dirs(&cfg.node.private)?;
    place_files(&cfg.node, sources)?;
    Ok(NodeInit {
        lab: lab.to_string(),
        cfg,
        log,
        commands: Vec::new(),
    })
}

/// Detaches everything at or under /run. The copied mount table holds the nsfs bind mounts of
/// other labs' /run/netns entries: left here they would keep those namespaces alive.
fn detach_run() -> Result<(), InitError> {
    for _ in 0..8 {
        let info = fs::read_to_string("/proc/self/mountinfo")
            .map_err(io_err("reading", "/proc/self/mountinfo"))?;
        let top = topmost_mounts_under(&info, "/run");
        if top.is_empty() {
            return Ok(());
        }
        for p in &top {
            umount2(p.as_str(), MntFlags::MNT_DETACH).map_err(mount_err("unmounting", p))?;
        }
    }
    Err(InitError::Mount {
        op: "unmounting everything under",
        path: "/run".into(),
        source: Errno::EBUSY,
    })
}

/// Mount points at or under `root` that are not under another one of them.
fn topmost_mounts_under(mountinfo: &str, root: &str) -> Vec<String> {
    let below = format!("{root}/");
    let mut points: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| p == root || p.starts_with(&below))
        .collect();
    points.sort();
    points.dedup();
    let mut top: Vec<String> = Vec::new();
    for p in points {
        if !top.iter().any(|t| p.starts_with(&format!("{t}/"))) {
            top.push(p);
        }
    }
    top
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("x");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A dir of the node's /run tmpfs (`/run/nsnet/<name>`, mode `mode`) bound over `target`.
fn scratch_dir(name: &str, target: &str, mode: u32) -> Result<(), InitError> {
    let dir = format!("{NODE_RUN}/{name}");
    fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(mode))
        .map_err(io_err("setting the mode of", &dir))?;
    bind_mount(&dir, target)
}

fn mount_tmpfs(path: &str, opts: &str) -> Result<(), InitError> {
    mount(
        Some("tmpfs"),
        path,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(opts),
    )
    .map_err(mount_err("mounting a tmpfs on", path))
}

/// Replaces the host's instance of proc or sysfs with one for the node's PID ns / netns.
fn remount_kernel_fs(fstype: &str, path: &str) -> Result<(), InitError> {
    let _ = umount2(path, MntFlags::MNT_DETACH);
    mount(
        Some(fstype),
        path,
        Some(fstype),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(mount_err("mounting", path))
}

/// /etc/hostname: written in the node's /run and bound over the host's file (only where it
/// exists: nothing is created in the host's filesystem).
fn write_etc(node: &str) -> Result<(), InitError> {
    fs::create_dir_all(NODE_RUN).map_err(io_err("creating", NODE_RUN))?;
    let hostname = format!("{NODE_RUN}/hostname");
    fs::write(&hostname, format!("{node}\n")).map_err(io_err("writing", &hostname))?;
    if Path::new("/etc/hostname").exists() {
        bind_mount(&hostname, "/etc/hostname")?;
    }
    Ok(())
}

fn bind_mount(src: &str, dst: &str) -> Result<(), InitError> {
    mount(Some(src), dst, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(mount_err("bind-mounting over", dst))
}

fn is_under(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

fn in_scratch(path: &str) -> bool {
    is_under(path, "/run") || is_under(path, "/tmp")
}

/// `path` with the symlinks of its existing ancestors resolved (Debian's /var/run is a
/// symlink to /run: /var/run/frr is really /run/frr, inside our tmpfs).
fn resolve(path: &str) -> String {
    let p = Path::new(path);
    for anc in p.ancestors().skip(1) {
        if let Ok(real) = fs::canonicalize(anc) {
            let rest = p.strip_prefix(anc).unwrap_or(p);
            return real.join(rest).to_string_lossy().into_owned();
        }
    }
    path.to_string()
}

/// Each private dir gets an empty dir of the node's tmpfs bound over it (parents first).
fn mount_private_dirs(dirs: &[String]) -> Result<(), InitError> {
    let mut dirs: Vec<String> = dirs
        .iter()
        .map(|d| resolve(d.trim_end_matches('/')))
        .collect();
    dirs.sort();
    for (i, d) in dirs.iter().enumerate() {
        let d = d.as_str();
        if d.is_empty() || d == "/run" || d == "/tmp" {
            continue;
        }
        if in_scratch(d) {
            fs::create_dir_all(d).map_err(io_err("creating", d))?;
        } else if !Path::new(d).is_dir() {
            return Err(InitError::PrivateMissing {
                path: d.to_string(),
            });
        }
        scratch_dir(&format!("private/{i}"), d, 0o755)?;
    }
    Ok(())
}

/// Each `files` entry: written straight into one of our tmpfs, or copied into /run and bound
/// over a file that exists on the host.
fn place_files(node: &NodePlan, sources: Vec<File>) -> Result<(), InitError> {
    let private: Vec<String> = node
        .private
        .iter()
        .map(|d| resolve(d.trim_end_matches('/')))
        .collect();
    let store = format!("{NODE_RUN}/files");
    for (i, (file, mut src)) in node.files.iter().zip(sources).enumerate() {
        let resolved = resolve(&file.path);
        let target = resolved.as_str();
        let ours = in_scratch(target) || private.iter().any(|d| is_under(target, d));
        let mode = src
            .metadata()
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        let dst = if ours {
            if let Some(parent) = Path::new(target).parent() {
                fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
            }
            target.to_string()
        } else if Path::new(target).exists() {
            fs::create_dir_all(&store).map_err(io_err("creating", &store))?;
            format!("{store}/{i}")
        } else {
            let dir = Path::new(target)
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "/".into());
            return Err(InitError::FileTargetMissing {
                path: target.to_string(),
                dir,
            });
        };
        let mut out = File::create(&dst).map_err(io_err("writing", &dst))?;
        io::copy(&mut src, &mut out).map_err(io_err("writing", &dst))?;
        let _ = out.set_permissions(fs::Permissions::from_mode(mode));
        if !ours {
            bind_mount(&dst, target)?;
        }
    }
    Ok(())
}

impl NodeInit {
    fn log(&mut self, msg: std::fmt::Arguments) {
        let _ = writeln!(self.log, "nsnet-init: {msg}");
    }

    /// Waits for the go-ahead, starts the node's work, then reaps until told to stop.
    fn run(
        &mut self,
        set: &SigSet,
        ready: Option<OwnedFd>,
        index: u32,
        lab_dir: Option<File>,
    ) -> ! {
        loop {
            match set.wait() {
                Ok(Signal::SIGUSR1) => break,
                Ok(Signal::SIGTERM | Signal::SIGINT | Signal::SIGPWR) => self.shutdown(set),
                Ok(Signal::SIGCHLD) => {
                    self.reap();
                }
                _ => {}
            }
        }
        // Services are up (sshd listening) before `nsnet up` returns.
        self.start_services(set);
        let _ = report(ready.as_ref(), index, STATUS_STARTED);
        // Still dies with `up` until it has seen every node start and releases them all.
        let released = || {
            lab_dir.as_ref().is_some_and(|d| {
                use std::os::fd::AsRawFd;
                let path = format!("/proc/self/fd/{}/{}", d.as_raw_fd(), state::RELEASED_FILE);
                fs::symlink_metadata(path).is_ok()
            })
        };
        loop {
            match set.wait() {
                Ok(Signal::SIGUSR2) => break,
                Ok(Signal::SIGPWR) if released() => break,
                Ok(Signal::SIGPWR) => self.shutdown(set),
                Ok(Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT) => self.shutdown(set),
                Ok(Signal::SIGCHLD) => {
                    self.reap();
                }
                _ => {}
            }
        }
        // From here the node outlives `nsnet up`, which waits for this record before it exits.
        let _ = nix::sys::prctl::set_pdeathsig(None);
        let _ = report(ready.as_ref(), index, STATUS_RELEASED);
        drop(ready);
        drop(lab_dir);
        self.start_commands();
        loop {
            match set.wait() {
                Ok(Signal::SIGCHLD) => {
                    self.reap();
                }
                Ok(Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT) => self.shutdown(set),
                _ => {}
            }
        }
    }

    /// Services every node may run before its own commands: sshd (when `ssh` is on and sshd
    /// is installed), waited for until it listens, i.e. has written its pid file.
    fn start_services(&mut self, set: &SigSet) {
        if !self.cfg.node.ssh {
            return;
        }
        let pid = match crate::ssh::spawn_sshd(&self.log, PATH) {
            Ok(pid) => pid,
            Err(e) => return self.log(format_args!("cannot start sshd: {e}")),
        };
        self.commands.push((pid, "sshd".into()));
        let deadline = Instant::now() + SSHD_START;
        while !Path::new(crate::ssh::NODE_SSHD_PID).exists() {
            let now = Instant::now();
            if now >= deadline {
                return self.log(format_args!("sshd (pid {pid}) is not listening yet"));
            }
            match sys::sigtimedwait(set, (deadline - now).min(Duration::from_millis(5))) {
                Some(Signal::SIGCHLD) => {
                    self.reap();
                    if !self.commands.iter().any(|(p, _)| *p == pid) {
                        return;
                    }
                }
                Some(Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT | Signal::SIGPWR) => {
                    self.shutdown(set)
                }
                _ => {}
            }
        }
    }

    fn start_commands(&mut self) {
        let node = self.cfg.node.name.clone();
        for cmd in self.cfg.node.exec.clone() {
            let (Ok(out), Ok(err)) = (self.log.try_clone(), self.log.try_clone()) else {
                self.log(format_args!("cannot start `{cmd}`: no log fd"));
                continue;
            };
            let spawned = Command::new("/bin/sh")
                .arg("-c")
                .arg(&cmd)
                .env_clear()
                .env("PATH", PATH)
                .env("HOME", "/root")
                .env("NSNET_LAB", &self.lab)
                .env("NSNET_NODE", &node)
                .current_dir("/")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0)
                .spawn();
            match spawned {
                Ok(child) => {
                    let pid = Pid::from_raw(child.id() as i32);
                    self.log(format_args!("started `{cmd}` (pid {pid})"));
                    self.commands.push((pid, cmd));
                }
                Err(e) => self.log(format_args!("cannot start `{cmd}`: {e}")),
            }
        }
    }

    /// Reaps every exited child (our commands and every orphan of the node). Returns whether
    /// any child is left.
    fn reap(&mut self) -> bool {
        loop {
            let (pid, how) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return true,
                Ok(WaitStatus::Exited(pid, code)) => (pid, format!("exited with status {code}")),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, format!("was killed by {sig}")),
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => return false,
                Err(_) => return true,
            };
            if let Some(i) = self.commands.iter().position(|(p, _)| *p == pid) {
                let (_, cmd) = self.commands.swap_remove(i);
                self.log(format_args!("`{cmd}` {how}"));
            }
        }
    }

    /// TERM to every process of the node, KILL to what is left after the grace period.
    fn shutdown(&mut self, set: &SigSet) -> ! {
        if self.alone() {
            // Nothing to stop. kill(-1) would walk every process on the machine: with a
            // thousand nodes stopping at once that was most of `down`'s time.
            sys::exit_now(0);
        }
        let _ = kill(Pid::from_raw(-1), Signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        // Processes that joined through `nsnet exec` are not our children: no SIGCHLD tells
        // when they are gone, so /proc is looked at every few ms.
        while !self.alone() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            sys::sigtimedwait(set, (deadline - now).min(Duration::from_millis(10)));
        }
        let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
        while let Ok(_) | Err(Errno::EINTR) = waitpid(None, None) {}
        sys::exit_now(0)
    }

    /// Whether the init is the only process of the node: no child to reap, and no other
    /// pid in the node's own /proc (`nsnet exec` joins the PID ns without being our child).
    fn alone(&mut self) -> bool {
        if self.reap() {
            return false;
        }
        match fs::read_dir("/proc") {
            Ok(dir) => !dir.flatten().any(|e| {
                let name = e.file_name();
                let name = name.as_encoded_bytes();
                !name.is_empty() && name.iter().all(u8::is_ascii_digit) && name != b"1"
            }),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let r = encode_record(999, STATUS_FAILED);
        assert_eq!(decode_record(&r), (999, STATUS_FAILED));
    }

    #[test]
    fn finds_topmost_mounts_under_run() {
        let info = "\
22 27 0:21 / /proc rw - proc proc rw
50 27 0:40 / /run/netns/a-h1 rw - nsfs nsfs rw
51 27 0:40 / /run/netns/b-h1 rw - nsfs nsfs rw
52 27 0:41 / /run/user/0 rw - tmpfs tmpfs rw
53 52 0:42 / /run/user/0/x rw - tmpfs tmpfs rw
54 27 0:43 / /running rw - tmpfs tmpfs rw
55 27 0:44 / /run/with\\040space rw - tmpfs tmpfs rw
";
        assert_eq!(
            topmost_mounts_under(info, "/run"),
            vec![
                "/run/netns/a-h1",
                "/run/netns/b-h1",
                "/run/user/0",
                "/run/with space"
            ]
        );
        let with_root = format!("{info}60 27 0:45 / /run rw - tmpfs tmpfs rw\n");
        assert_eq!(topmost_mounts_under(&with_root, "/run"), vec!["/run"]);
    }

    #[test]
    fn scratch_paths() {
        assert!(in_scratch("/run/x"));
        assert!(in_scratch("/tmp/a/b"));
        assert!(!in_scratch("/running/x"));
        assert!(!in_scratch("/run"));
        assert!(is_under("/etc/frr/frr.conf", "/etc/frr"));
        assert!(!is_under("/etc/frrx", "/etc/frr"));
    }
}
