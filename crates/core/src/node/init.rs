//! The init's life as a small state machine: prepare (config, mounts), ready, then one loop
//! over signals whose meaning depends on the phase: waiting for the go-ahead, waiting for the
//! release, running the node's commands. Every wait also pumps the node's output into its log.

use super::log::Log;
use super::mounts::{self, Opened, RealFs, RootLayers, Source};
use super::protocol::{
    encode_record, InitConfig, CONFIG_ENV, INDEX_ENV, STATUS_FAILED, STATUS_READY, STATUS_RELEASED,
    STATUS_STARTED, STOP_GRACE,
};
use super::systemctl::spawn::LOG_FIFO;
use super::{sshd, InitError};
use crate::state::{self, LabDir, LabName, Store};
use crate::sys;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use nsnet_lab::Root;
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The PATH of the node's commands and services: the node's `systemctl` first.
pub(super) const PATH: &str =
    "/run/nsnet/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long a node waits for its sshd to listen before it reports released anyway.
const SSHD_START: Duration = Duration::from_secs(10);
/// How long a node's `services` may take to start before `up` goes on without waiting for
/// the rest (well within `up`'s own 30 s for the go-ahead).
const SERVICES_START: Duration = Duration::from_secs(20);

fn io_err(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> InitError {
    let path = path.as_ref().display().to_string();
    move |source| InitError::Io { op, path, source }
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
    let fail = |code| -> ! {
        let _ = report(ready.as_ref(), index, STATUS_FAILED);
        std::process::exit(code)
    };
    let target = std::env::args().nth(1).unwrap_or_default();
    let (lab, node) = match target.split_once('/') {
        Some((l, n)) if state::name::valid_node_name(n) => match LabName::new(l) {
            Ok(l) => (l, n.to_string()),
            Err(_) => fail(2),
        },
        _ => fail(2),
    };
    // The lab dir stays open: the released file is looked for through it once the host's
    // /run is out of sight, and the log is rotated in it.
    let dir = match Store::open().map(|s| s.map(|s| s.lab(&lab))) {
        Ok(Some(Ok(Some(dir)))) => dir,
        _ => fail(1),
    };
    let log = match Log::open(&dir, &node) {
        Ok(log) => log,
        Err(_) => fail(1),
    };
    match prepare_node(&dir, &node, log) {
        Ok(mut init) => {
            if report(ready.as_ref(), index, STATUS_READY) == Err(Errno::EPIPE) {
                // `nsnet up` is gone, maybe before our PR_SET_PDEATHSIG was set (it can be
                // SIGKILLed while it waits for our exec): nobody will release or stop us.
                std::process::exit(1);
            }
            init.run(ready, index, dir)
        }
        Err(e) => {
            eprintln!("nsnet-init: error: {e}");
            fail(1)
        }
    }
}

/// This node's slice of the lab's init.json (its range is in [`CONFIG_ENV`]).
fn read_config(dir: &LabDir) -> io::Result<Vec<u8>> {
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
    if len as u64 > state::store::MAX_STATE_FILE {
        return Err(bad());
    }
    let mut buf = vec![0u8; len];
    dir.open(state::INIT_CONFIGS, state::store::MAX_STATE_FILE)?
        .read_exact_at(&mut buf, off)?;
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

/// A node whose mounts are ready.
struct NodeInit {
    lab: String,
    cfg: InitConfig,
    log: Log,
    /// The read end of the pipe every process of the node writes its output to.
    out: OwnedFd,
    /// Its write end, handed to each process the init starts.
    out_w: OwnedFd,
    /// The node's log FIFO ([`systemctl::spawn::LOG_FIFO`]), opened read-write (so it never
    /// reports end of file): services that `systemctl` starts later write to it.
    fifo: Option<OwnedFd>,
    signals: SignalFd,
    /// The node's `exec` commands that are still running, to log how they end.
    commands: Vec<(Pid, String)>,
    /// Its startup, once released: waiting for other nodes, then the `exec` lines in order.
    startup: Option<Startup>,
}

/// How far a node's startup is.
struct Startup {
    /// The lab dir, held until this node's own startup file is written: the other nodes'
    /// are looked for in it too.
    dir: LabDir,
    /// Nodes (`after`) whose startup is not known to be done yet.
    waiting: Vec<String>,
    /// When waiting for them stops.
    wait_until: Instant,
    /// The next `exec` line to run.
    next: usize,
    /// The foreground line running now.
    current: Option<(Pid, usize)>,
    /// Lines that failed, as the startup file lists them.
    failed: Vec<String>,
}

/// How long a node waits for the nodes in its `after` before it starts anyway.
const AFTER_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the nodes in `after` are looked at.
const AFTER_POLL: Duration = Duration::from_millis(50);

/// A `files` source opened once, without following a symlink or blocking on a FIFO, and
/// checked: a regular file no bigger than the node's tmpfs, or a directory (copied whole,
/// within the same bound).
fn open_source(target: &str, path: &Path, limit: u64) -> Result<Source, InitError> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |why: String| InitError::Source {
        path: target.to_string(),
        source_path: path.display().to_string(),
        why,
    };
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => err("is now a symlink: nsnet follows none at `up`".into()),
            _ => err(format!("cannot be opened: {e}")),
        })?;
    let m = f
        .metadata()
        .map_err(|e| err(format!("cannot be read: {e}")))?;
    if m.is_dir() {
        return Ok(Source::Tree {
            dir: f.into(),
            limit,
        });
    }
    if !m.is_file() {
        return Err(err("is not a regular file or a directory".into()));
    }
    if m.len() > limit {
        return Err(err(format!(
            "is {} bytes, more than the node's tmpfs_size ({limit} bytes)",
            m.len()
        )));
    }
    Ok(Source::File {
        file: f,
        len: m.len(),
    })
}

/// Everything before "ready": config, hostname and the node's private mount table.
fn prepare_node(dir: &LabDir, node: &str, mut log: Log) -> Result<NodeInit, InitError> {
    let path = dir.path().join(state::INIT_CONFIGS).display().to_string();
    let text = read_config(dir).map_err(|source| InitError::ReadConfig {
        path: path.clone(),
        source,
    })?;
    let cfg: InitConfig =
        serde_json::from_slice(&text).map_err(|source| InitError::ParseConfig { path, source })?;
    if cfg.node.name != node || cfg.lab != dir.name().as_str() {
        return Err(InitError::BadTarget(format!("{}/{node}", dir.name())));
    }
    log.limit = cfg.log_size.max(64 << 10);
    // The node's root: the host's own `/`, or an overlay of layers (a tree on top of the
    // host's `/`, a directory, or an unpacked image).
    let base = match &cfg.node.root {
        Root::Host => None,
        Root::Overlay => Some(("/".to_string(), true)),
        Root::Dir(d) => Some((d.display().to_string(), false)),
        Root::Image(_) => Some((cfg.root_dir.clone().unwrap_or_default(), false)),
    };
    let layers = base.as_ref().map(|(b, host_base)| RootLayers {
        lowers: cfg
            .node
            .tree
            .iter()
            .map(|t| t.display().to_string())
            .chain(std::iter::once(b.clone()))
            .collect(),
        host_base: *host_base,
        stage: dir.path().join("nodes").join(node).display().to_string(),
    });
    let fs = RealFs {
        root: base.map_or("/".into(), |(b, _)| b.into()),
    };
    let steps = mounts::plan(
        &cfg.node,
        cfg.node.ssh,
        layers.as_ref(),
        &fs,
        &RealFs::host(),
    )?;
    // Open what lives in the host's /run and /tmp before those are replaced.
    let mut opened = Opened {
        hosts: dir
            .open(state::HOSTS, state::store::MAX_STATE_FILE)
            .map_err(io_err("opening", dir.path().join(state::HOSTS)))?,
        sources: cfg
            .node
            .files
            .iter()
            .map(|f| open_source(&f.path, &f.source, cfg.node.tmpfs_size))
            .collect::<Result<Vec<_>, InitError>>()?,
        binds: cfg
            .node
            .binds
            .iter()
            .map(|b| {
                let err = |source| InitError::BindSource {
                    path: b.path.clone(),
                    source_path: b.source.display().to_string(),
                    source,
                };
                let fd = nix::fcntl::open(
                    &b.source,
                    OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .map_err(err)?;
                // A copy of its mounts made now, while the host's tree is in view: an
                // overlay root detaches that tree before the bind is attached.
                sys::clone_tree(fd.as_fd(), b.read_only).map_err(err)
            })
            .collect::<Result<Vec<_>, InitError>>()?,
        ssh: match cfg.node.ssh {
            true => Some(sshd::NodeSsh::load(dir, &cfg.node)?),
            false => None,
        },
        exe: None,
    };
    nix::unistd::sethostname(node).map_err(|source| InitError::Hostname {
        name: node.to_string(),
        source,
    })?;
    mounts::apply(&steps, &mut opened)?;
    if crate::state::paths().rootless() {
        mounts::rootless_home()?;
    }
    if !cfg.node.privileged {
        super::caps::narrow_bounding_set().map_err(InitError::Caps)?;
    }
    let sys_err = |op| move |source| InitError::Sys { op, source };
    let signals = SignalFd::with_flags(
        &init_sigset(),
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )
    .map_err(sys_err("creating a signalfd"))?;
    let (out, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .map_err(sys_err("creating the output pipe"))?;
    // The node's processes block when the pipe is full; only the init's end is non-blocking.
    let _ = nix::fcntl::fcntl(&out_w, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()));
    let fifo = nix::unistd::mkfifo(LOG_FIFO, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .and_then(|()| {
            nix::fcntl::open(
                LOG_FIFO,
                OFlag::O_RDWR | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
        })
        .map_err(sys_err("creating the log FIFO"))?;
    Ok(NodeInit {
        lab: dir.name().to_string(),
        cfg,
        log,
        out,
        out_w,
        fifo: Some(fifo),
        signals,
        commands: Vec::new(),
        startup: None,
    })
}

/// Where a node's init is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Ready; waiting for the go-ahead (SIGUSR1).
    Ready,
    /// Services started; waiting for the release (SIGUSR2).
    Started,
    /// Released: the node outlives `up` and runs its commands.
    Running,
}

impl NodeInit {
    fn log(&mut self, msg: std::fmt::Arguments) {
        let line = format!("nsnet-init: {msg}\n");
        self.log.write(line.as_bytes());
    }

    /// The next signal, pumping the node's output into the log meanwhile; None when
    /// `timeout` passes first.
    fn next_signal(&mut self, timeout: Option<Duration>) -> Option<Signal> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Ok(Some(info)) = self.signals.read_signal() {
                if let Ok(sig) = Signal::try_from(info.ssi_signo as i32) {
                    return Some(sig);
                }
                continue;
            }
            let wait = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    PollTimeout::try_from(d - now).unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = vec![
                PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.out.as_fd(), PollFlags::POLLIN),
            ];
            if let Some(f) = &self.fifo {
                fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
            }
            let _ = poll(&mut fds, wait);
            if fds[1..].iter().any(|f| f.any().unwrap_or(false)) {
                self.pump();
            }
        }
    }

    /// Moves what the node's processes wrote into the log (a bounded amount per call, so
    /// signals are never kept waiting by a chatty process).
    fn pump(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        for fd in [Some(&self.out), self.fifo.as_ref()].into_iter().flatten() {
            for _ in 0..16 {
                match nix::unistd::read(fd, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.log.write(&buf[..n]),
                }
            }
        }
    }

    /// The init's life after "ready": one loop over signals, read by the phase it is in.
    fn run(&mut self, ready: Option<OwnedFd>, index: u32, dir: LabDir) -> ! {
        let mut ready = ready;
        let mut dir = Some(dir);
        let mut phase = Phase::Ready;
        loop {
            let waiting = self.startup.as_ref().is_some_and(|s| !s.waiting.is_empty());
            let Some(sig) = self.next_signal(waiting.then_some(AFTER_POLL)) else {
                self.step_startup();
                continue;
            };
            phase = match (phase, sig) {
                (p, Signal::SIGCHLD) => {
                    self.reap();
                    self.step_startup();
                    p
                }
                (_, Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT) => self.shutdown(),
                (Phase::Ready, Signal::SIGUSR1) => {
                    // Services are up (sshd listening) before `nsnet up` returns.
                    self.start_services();
                    let _ = report(ready.as_ref(), index, STATUS_STARTED);
                    Phase::Started
                }
                // `up` died: before the release that stops the node, unless `up` had already
                // decided (the released file is there), which makes it the release.
                (Phase::Started, Signal::SIGPWR)
                    if dir.as_ref().is_some_and(|d| d.exists(state::RELEASED_FILE)) =>
                {
                    self.release(&mut ready, index, &mut dir)
                }
                (Phase::Ready | Phase::Started, Signal::SIGPWR) => self.shutdown(),
                (Phase::Started, Signal::SIGUSR2) => self.release(&mut ready, index, &mut dir),
                (p, _) => p,
            };
        }
    }

    /// From here the node outlives `nsnet up`, which waits for this record before it exits;
    /// then the node's commands start.
    fn release(
        &mut self,
        ready: &mut Option<OwnedFd>,
        index: u32,
        dir: &mut Option<LabDir>,
    ) -> Phase {
        let _ = nix::sys::prctl::set_pdeathsig(None);
        let _ = report(ready.as_ref(), index, STATUS_RELEASED);
        *ready = None;
        if let Some(dir) = dir.take() {
            let waiting = self.cfg.node.after.clone();
            if !waiting.is_empty() {
                self.log(format_args!("waiting for {} to start", waiting.join(", ")));
            }
            self.startup = Some(Startup {
                dir,
                waiting,
                wait_until: Instant::now() + AFTER_TIMEOUT,
                next: 0,
                current: None,
                failed: Vec::new(),
            });
        }
        self.step_startup();
        Phase::Running
    }

    /// Moves the startup on as far as it goes now: past the nodes waited for once their
    /// startup files are there (or the wait timed out), then line after line, each
    /// foreground line waited for; a line ending in `&` runs in the background. At the end
    /// the node's own startup file tells the others (and `nsnet up --wait`) it is done.
    fn step_startup(&mut self) {
        let Some(mut st) = self.startup.take() else {
            return;
        };
        if !st.waiting.is_empty() {
            st.waiting
                .retain(|n| !st.dir.exists(&state::startup_rel(n)));
            if st.waiting.is_empty() {
                self.log(format_args!("the nodes waited for have started"));
            } else if Instant::now() >= st.wait_until {
                let late = st.waiting.join(", ");
                self.log(format_args!(
                    "gave up waiting for {late} after {} s (their startup is not done: see their logs); starting anyway",
                    AFTER_TIMEOUT.as_secs()
                ));
                st.waiting.clear();
            } else {
                self.startup = Some(st);
                return;
            }
        }
        if st.next == 0 && !self.cfg.node.exec.is_empty() {
            self.mount_sysfs();
        }
        while st.current.is_none() && st.next < self.cfg.node.exec.len() {
            let i = st.next;
            st.next += 1;
            let line = self.cfg.node.exec[i].clone();
            let (cmd, background) = split_background(&line);
            match self.spawn_command(cmd) {
                Some(pid) if !background => st.current = Some((pid, i)),
                Some(_) => {}
                None => st
                    .failed
                    .push(format!("line {}: `{line}` could not be started", i + 1)),
            }
        }
        if st.current.is_some() {
            self.startup = Some(st);
            return;
        }
        let report = state::StartupReport { failed: st.failed };
        let text = serde_json::to_vec(&report).unwrap_or_default();
        let rel = state::startup_rel(&self.cfg.node.name);
        if let Err(e) = st.dir.write(&rel, &text) {
            self.log(format_args!("cannot record the end of the startup: {e}"));
        }
        // The lab dir is let go of: the node no longer needs the host's /run.
    }

    /// The node's own sysfs, before anything of its own runs (see `node::sysfs`).
    fn mount_sysfs(&mut self) {
        if let Err(e) = super::sysfs::ensure() {
            self.log(format_args!("cannot mount the node's /sys: {}", e.desc()));
        }
    }

    /// A foreground line ended: recorded when it failed, and the next one may start.
    fn line_ended(&mut self, pid: Pid, how: &str, ok: bool) {
        let Some(st) = self.startup.as_mut() else {
            return;
        };
        if let Some((p, i)) = st.current {
            if p == pid {
                st.current = None;
                if !ok {
                    let line = &self.cfg.node.exec[i];
                    st.failed.push(format!("line {}: `{line}` {how}", i + 1));
                }
            }
        }
    }

    /// Services every node may run before its own commands: sshd (when `ssh` is on and sshd
    /// is installed), then the node's `services`.
    fn start_services(&mut self) {
        if self.cfg.node.ssh || !self.cfg.node.services.is_empty() {
            self.mount_sysfs();
        }
        self.start_sshd();
        self.start_units();
    }

    /// sshd, waited for until it listens, i.e. has written its pid file.
    fn start_sshd(&mut self) {
        if !self.cfg.node.ssh {
            return;
        }
        let pid = match sshd::spawn_sshd(&self.out_w, PATH) {
            Ok(pid) => pid,
            Err(e) => return self.log(format_args!("cannot start sshd: {e}")),
        };
        self.commands.push((pid, "sshd".into()));
        let deadline = Instant::now() + SSHD_START;
        while !Path::new(sshd::NODE_SSHD_PID).exists() {
            let now = Instant::now();
            if now >= deadline {
                return self.log(format_args!("sshd (pid {pid}) is not listening yet"));
            }
            match self.next_signal(Some((deadline - now).min(Duration::from_millis(5)))) {
                Some(Signal::SIGCHLD) => {
                    self.reap();
                    if !self.commands.iter().any(|(p, _)| *p == pid) {
                        return;
                    }
                }
                Some(Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT | Signal::SIGPWR) => {
                    self.shutdown()
                }
                _ => {}
            }
        }
    }

    /// The node's `services`, in order, each as `systemctl start NAME` (waited for; a
    /// failure is in the log and fails nothing else). Past [`SERVICES_START`] the rest start
    /// in the background, in order, and `up` goes on.
    fn start_units(&mut self) {
        let names = self.cfg.node.services.clone();
        let deadline = Instant::now() + SERVICES_START;
        for (i, name) in names.iter().enumerate() {
            let Some(pid) = self.systemctl_start(std::slice::from_ref(name)) else {
                continue;
            };
            if !self.wait_for(pid, deadline) {
                self.log(format_args!(
                    "service {name} is still starting after {}s: not waiting for it",
                    SERVICES_START.as_secs()
                ));
                if i + 1 < names.len() {
                    self.systemctl_start(&names[i + 1..]);
                }
                return;
            }
        }
    }

    /// Starts `systemctl start NAMES…` (the node's own), its output into the log.
    fn systemctl_start(&mut self, names: &[String]) -> Option<Pid> {
        let what = format!("systemctl start {}", names.join(" "));
        let (Ok(out), Ok(err)) = (self.out_w.try_clone(), self.out_w.try_clone()) else {
            self.log(format_args!("cannot start `{what}`: no output fd"));
            return None;
        };
        let spawned = Command::new(mounts::SYSTEMCTL)
            .arg0("systemctl")
            .arg("start")
            .args(names)
            .env_clear()
            .env("PATH", PATH)
            .env("NSNET_LAB", &self.lab)
            .env("NSNET_NODE", &self.cfg.node.name)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn();
        match spawned {
            Ok(child) => {
                let pid = Pid::from_raw(child.id() as i32);
                self.commands.push((pid, what));
                Some(pid)
            }
            Err(e) => {
                self.log(format_args!("cannot start `{what}`: {e}"));
                None
            }
        }
    }

    /// Waits until the child `pid` has ended (true) or `deadline` passes (false), pumping the
    /// log; a stop request stops the node meanwhile.
    fn wait_for(&mut self, pid: Pid, deadline: Instant) -> bool {
        while self.commands.iter().any(|(p, _)| *p == pid) {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            match self.next_signal(Some(deadline - now)) {
                Some(Signal::SIGCHLD) => {
                    self.reap();
                }
                Some(Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT | Signal::SIGPWR) => {
                    self.shutdown()
                }
                _ => {}
            }
        }
        true
    }

    /// Starts one command line with `/bin/sh -c`, its output into the log, in its own
    /// process group; its pid, or None (logged) when it cannot start.
    fn spawn_command(&mut self, cmd: &str) -> Option<Pid> {
        let node = self.cfg.node.name.clone();
        let (Ok(out), Ok(err)) = (self.out_w.try_clone(), self.out_w.try_clone()) else {
            self.log(format_args!("cannot start `{cmd}`: no output fd"));
            return None;
        };
        let spawned = Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", "/root")
            .env("NSNET_LAB", &self.lab)
            .env("NSNET_NODE", &node)
            .envs(self.cfg.node.env.iter().map(|(k, v)| (k, v)))
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
                self.commands.push((pid, cmd.to_string()));
                Some(pid)
            }
            Err(e) => {
                self.log(format_args!("cannot start `{cmd}`: {e}"));
                None
            }
        }
    }

    /// Reaps every exited child (our commands and every orphan of the node). Returns whether
    /// any child is left.
    fn reap(&mut self) -> bool {
        loop {
            let (pid, how, ok) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return true,
                Ok(WaitStatus::Exited(pid, code)) => {
                    (pid, format!("exited with status {code}"), code == 0)
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    (pid, format!("was killed by {sig}"), false)
                }
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => return false,
                Err(_) => return true,
            };
            if let Some(i) = self.commands.iter().position(|(p, _)| *p == pid) {
                let (_, cmd) = self.commands.swap_remove(i);
                self.log(format_args!("`{cmd}` {how}"));
                self.line_ended(pid, &how, ok);
            }
        }
    }

    /// TERM to every process of the node, KILL to what is left after the grace period.
    fn shutdown(&mut self) -> ! {
        if self.alone() {
            // Nothing to stop. kill(-1) would walk every process on the machine: with a
            // thousand nodes stopping at once that was most of `down`'s time.
            self.pump();
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
            self.next_signal(Some((deadline - now).min(Duration::from_millis(10))));
        }
        let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
        while let Ok(_) | Err(Errno::EINTR) = waitpid(None, None) {}
        self.pump();
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

/// An `exec` line and whether it runs in the background: a trailing `&` (not `&&`) says so,
/// and is taken off.
fn split_background(line: &str) -> (&str, bool) {
    let t = line.trim_end();
    match t.strip_suffix('&') {
        Some(rest) if !rest.ends_with('&') && !rest.trim().is_empty() => (rest.trim_end(), true),
        _ => (line, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_ampersand_runs_a_line_in_the_background() {
        assert_eq!(split_background("zebra -d &"), ("zebra -d", true));
        assert_eq!(split_background("zebra &  "), ("zebra", true));
        assert_eq!(split_background("a && b"), ("a && b", false));
        assert_eq!(split_background("a &&"), ("a &&", false));
        assert_eq!(split_background("&"), ("&", false));
        assert_eq!(split_background("sleep 1"), ("sleep 1", false));
    }
    use nix::sys::stat::Mode;

    #[test]
    fn a_files_source_is_opened_without_blocking_or_following() {
        let dir = std::env::temp_dir().join(format!("nsnet-src-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        // A FIFO with no writer: opened without O_NONBLOCK, this would hang.
        let e = open_source("/x", &fifo, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let file = dir.join("file");
        fs::write(&file, b"0123456789").unwrap();
        std::os::unix::fs::symlink(&file, dir.join("link")).unwrap();
        let e = open_source("/x", &dir.join("link"), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
        let e = open_source("/x", &file, 5).unwrap_err();
        assert!(
            e.to_string().contains("more than the node's tmpfs_size"),
            "{e}"
        );
        assert!(matches!(
            open_source("/x", &file, 10).unwrap(),
            Source::File { len: 10, .. }
        ));
        assert!(matches!(
            open_source("/x", &dir, 10).unwrap(),
            Source::Tree { .. }
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
