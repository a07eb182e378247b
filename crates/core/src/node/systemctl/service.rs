//! Services without systemd. `start` runs a supervisor for the service: `systemctl` itself,
//! re-executed as `systemctl --nsnet-supervise UNIT`, in a session of its own and a child
//! subreaper, so every process the service forks, daemonised or not, stays its descendant
//! (what a cgroup is to systemd). The supervisor runs ExecStartPre, the start itself by the
//! unit's Type (waiting for a forking start to exit and reading its PIDFile, or for a notify
//! service's READY=1 on $NOTIFY_SOCKET), ExecStartPost; reports to the waiting `systemctl` on a
//! pipe; then reaps, records how the main process ends, and exits when the service has no
//! process left. Its state file lets any later `systemctl` see and stop the service.
//!
//! `stop` runs ExecStop, signals the service's processes by KillMode (SIGTERM, then SIGKILL
//! after TimeoutStopSec), and runs ExecStopPost. The node's init stops everything at `down`.

use super::cmdline::{self, ExecCommand};
use super::lookup::Lookup;
use super::spawn::{self, Creds, Exec};
use super::state::{self, Phase, ProcId, State, Store};
use super::unit::{KillMode, ServiceType, Unit};
use crate::sys;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// The supervisor's `argv[1]`.
pub const SUPERVISE: &str = "--nsnet-supervise";

/// How long a supervisor gives what is left of a failed start after SIGTERM.
const ABORT_GRACE: Duration = Duration::from_secs(5);

/// Why a start, stop or reload failed: systemd's result (`exit-code`, `timeout`, `signal`,
/// `resources`, `protocol`, `bad-setting`) and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub result: String,
    pub message: String,
}

impl Failure {
    fn new(result: &str, message: impl Into<String>) -> Failure {
        Failure {
            result: result.into(),
            message: message.into(),
        }
    }
}

/// The name systemd gives an exit status.
fn status_name(code: i32) -> &'static str {
    match code {
        0 => "SUCCESS",
        1 => "FAILURE",
        2 => "INVALIDARGUMENT",
        3 => "NOTIMPLEMENTED",
        4 => "NOPERMISSION",
        5 => "NOTINSTALLED",
        6 => "NOTCONFIGURED",
        7 => "NOTRUNNING",
        200 => "CHDIR",
        203 => "EXEC",
        217 => "USER",
        _ => "n/a",
    }
}

/// How a process ended, as systemd words it; and whether that counts as a clean end (exit
/// 0, or SIGHUP, SIGINT, SIGTERM, SIGPIPE).
pub fn describe(status: WaitStatus) -> (bool, String, String) {
    match status {
        WaitStatus::Exited(_, code) => (
            code == 0,
            "exit-code".into(),
            format!("code=exited, status={code}/{}", status_name(code)),
        ),
        WaitStatus::Signaled(_, sig, _) => (
            matches!(
                sig,
                Signal::SIGHUP | Signal::SIGINT | Signal::SIGTERM | Signal::SIGPIPE
            ),
            "signal".into(),
            format!(
                "code=killed, signal={}",
                sig.as_str().trim_start_matches("SIG")
            ),
        ),
        other => (false, "signal".into(), format!("{other:?}")),
    }
}

/// A unit ready to run its commands: its environment and credentials worked out once.
pub struct Runner {
    pub unit: Unit,
    env: Vec<(String, String)>,
    creds: Option<Creds>,
    log: OwnedFd,
}

impl Runner {
    pub fn new(unit: Unit) -> Result<Runner, Failure> {
        let s = &unit.service;
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let groups = fs::read_to_string("/etc/group").unwrap_or_default();
        let creds = spawn::creds(
            s.user.as_deref(),
            s.group.as_deref(),
            &s.supplementary_groups,
            &passwd,
            &groups,
        )
        .map_err(|e| Failure::new("resources", e))?;
        let env = environment(&unit, creds.as_ref(), |p| fs::read_to_string(p))?;
        Ok(Runner {
            unit,
            env,
            creds,
            log: spawn::log_fd(),
        })
    }

    /// Starts `cmd` with the service's environment plus `extra`.
    fn spawn(&self, cmd: &ExecCommand, extra: &[(String, String)]) -> Result<Pid, String> {
        let mut env = self.env.clone();
        for (k, v) in extra {
            cmdline::set_env(&mut env, k, v);
        }
        let (program, argv) = cmd.expand(&env);
        let s = &self.unit.service;
        let home = self.creds.as_ref().map_or("/root", |c| c.home.as_str());
        let cwd = s.working_directory.as_ref().map(|d| {
            let (d, optional) = match d.strip_prefix('-') {
                Some(d) => (d, true),
                None => (d.as_str(), false),
            };
            (if d == "~" { home } else { d }.to_string(), optional)
        });
        spawn::spawn(&Exec {
            program,
            argv,
            env,
            creds: if cmd.privileged {
                None
            } else {
                self.creds.as_ref()
            },
            cwd,
            umask: s.umask,
            nofile: s.limit_nofile,
            output: &self.log,
            keep: None,
        })
    }

    /// A line in the node's log, as systemd's journal has it (`Starting X...`).
    fn log(&self, msg: std::fmt::Arguments) {
        let line = format!("systemctl: {msg}\n");
        let _ = nix::unistd::write(&self.log, line.as_bytes());
    }

    /// A line about the unit (`X.service: Main process exited …`).
    fn log_unit(&self, msg: std::fmt::Arguments) {
        self.log(format_args!("{}: {msg}", self.unit.name));
    }

    /// `RuntimeDirectory=` dirs in /run, owned by the service's user, with their mode.
    fn make_runtime_dirs(&self) -> Result<(), Failure> {
        let s = &self.unit.service;
        let (uid, gid) = self.creds.as_ref().map_or((0, 0), |c| (c.uid, c.gid));
        for d in &s.runtime_directory {
            let path = format!("/run/{d}");
            let err = |e: std::io::Error| Failure::new("resources", format!("{path}: {e}"));
            fs::create_dir_all(&path).map_err(err)?;
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).map_err(err)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(s.runtime_directory_mode))
                .map_err(err)?;
        }
        Ok(())
    }

    fn remove_runtime_dirs(&self) {
        let s = &self.unit.service;
        if !s.runtime_directory_preserve {
            for d in &s.runtime_directory {
                let _ = fs::remove_dir_all(format!("/run/{d}"));
            }
        }
    }

    /// Runs `cmd` to its end (this process's own child), killing it at `deadline`.
    fn run_wait(
        &self,
        cmd: &ExecCommand,
        extra: &[(String, String)],
        deadline: Option<Instant>,
    ) -> Result<(), Failure> {
        let pid = match self.spawn(cmd, extra) {
            Ok(pid) => pid,
            Err(_) if cmd.ignore_failure => return Ok(()),
            Err(e) => return Err(Failure::new("exit-code", e)),
        };
        loop {
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => {}
                Ok(st @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    return check(cmd, st);
                }
                Ok(_) => {}
                Err(e) => return Err(Failure::new("resources", format!("waiting: {e}"))),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                return Err(Failure::new(
                    "timeout",
                    format!("`{}` timed out", cmd.display()),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Whether a command's end is a success (a `-` command always is).
fn check(cmd: &ExecCommand, st: WaitStatus) -> Result<(), Failure> {
    if matches!(st, WaitStatus::Exited(_, 0)) || cmd.ignore_failure {
        return Ok(());
    }
    let (_, result, detail) = describe(st);
    Err(Failure::new(
        &result,
        format!("`{}` failed ({detail})", cmd.display()),
    ))
}

/// The environment of a service's processes: systemd's PATH, the user's HOME, USER, LOGNAME
/// and SHELL (with `User=`), RUNTIME_DIRECTORY, then `Environment=`, then the
/// `EnvironmentFile=`s (which win). `read` reads a file of the node.
pub fn environment(
    unit: &Unit,
    creds: Option<&Creds>,
    read: impl Fn(&str) -> std::io::Result<String>,
) -> Result<Vec<(String, String)>, Failure> {
    let s = &unit.service;
    let mut env = vec![("PATH".to_string(), super::PATH.to_string())];
    if let (Some(c), true) = (creds, s.user.is_some()) {
        for (k, v) in [
            ("HOME", &c.home),
            ("LOGNAME", &c.user),
            ("USER", &c.user),
            ("SHELL", &c.shell),
        ] {
            cmdline::set_env(&mut env, k, v);
        }
    }
    if !s.runtime_directory.is_empty() {
        let dirs: Vec<String> = s
            .runtime_directory
            .iter()
            .map(|d| format!("/run/{d}"))
            .collect();
        cmdline::set_env(&mut env, "RUNTIME_DIRECTORY", &dirs.join(":"));
    }
    for (k, v) in &s.environment {
        cmdline::set_env(&mut env, k, v);
    }
    for (path, optional) in &s.environment_files {
        match read(path) {
            Ok(text) => {
                for (k, v) in cmdline::parse_env_file(&text) {
                    cmdline::set_env(&mut env, &k, &v);
                }
            }
            Err(_) if *optional => {}
            Err(e) => {
                return Err(Failure::new(
                    "resources",
                    format!("Failed to load environment files: {path}: {e}"),
                ))
            }
        }
    }
    Ok(env)
}

/// The live processes of a run of the service: its supervisor's descendants and its main
/// process.
fn service_processes(sup: Option<ProcId>, main: Option<ProcId>) -> Vec<i32> {
    let procs = state::processes();
    let mut v = sup
        .filter(|s| s.alive())
        .map(|s| state::descendants(s.pid, &procs))
        .unwrap_or_default();
    if let Some(m) = main.filter(|m| m.alive()) {
        if !v.contains(&m.pid) {
            v.push(m.pid);
        }
    }
    v
}

fn signal_all(pids: &[i32], sig: Signal) {
    for p in pids {
        let _ = kill(Pid::from_raw(*p), sig);
        if sig == Signal::SIGTERM {
            let _ = kill(Pid::from_raw(*p), Signal::SIGCONT);
        }
    }
}

/// Those of `pids` that still run (not zombies).
fn alive(pids: &[i32]) -> Vec<i32> {
    pids.iter()
        .copied()
        .filter(|p| state::stat(*p).is_some_and(|s| s.state != 'Z' && s.state != 'X'))
        .collect()
}

/// Starts `unit` (nothing to do when it runs): a supervisor is spawned and, unless
/// `no_block`, waited for until it reports the start done or failed.
pub fn start(store: &Store, unit: &Unit, no_block: bool) -> Result<(), Failure> {
    if !unit.errors.is_empty() {
        return Err(Failure::new("bad-setting", unit.errors.join("; ")));
    }
    let o = state::observe(store.read(&unit.name).as_ref());
    if matches!(o.active, "active" | "activating") {
        return Ok(());
    }
    boot_once(store);
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| Failure::new("resources", format!("pipe: {e}")))?;
    let log = spawn::log_fd();
    let spawned = spawn::spawn(&Exec {
        program: "/proc/self/exe".into(),
        argv: vec![
            "systemctl".into(),
            SUPERVISE.into(),
            unit.name.clone(),
            w.as_raw_fd().to_string(),
        ],
        env: vec![("PATH".into(), super::PATH.into())],
        creds: None,
        cwd: None,
        umask: 0o022,
        nofile: None,
        output: &log,
        keep: Some(&w),
    });
    drop(w);
    spawned.map_err(|e| Failure::new("resources", format!("starting its supervisor: {e}")))?;
    if no_block {
        return Ok(());
    }
    let mut msg = String::new();
    let _ = std::fs::File::from(r).read_to_string(&mut msg);
    parse_report(&msg)
}

/// What the node does at boot before services start: the tmpfiles dirs of /run.
fn boot_once(store: &Store) {
    let mark = store.dir.join(".booted");
    if !mark.exists() {
        super::tmpfiles::create_run_dirs();
        let _ = fs::create_dir_all(&store.dir);
        let _ = fs::write(&mark, b"");
    }
}

fn parse_report(msg: &str) -> Result<(), Failure> {
    let line = msg.lines().next().unwrap_or("");
    if line == "ok" {
        return Ok(());
    }
    let mut f = line.splitn(3, '\t');
    match (f.next(), f.next(), f.next()) {
        (Some("failed"), Some(result), Some(message)) => Err(Failure::new(result, message)),
        _ => Err(Failure::new(
            "resources",
            "its supervisor ended without a word (see the node's log)",
        )),
    }
}

/// Stops `unit` if it runs: ExecStop, then signals by KillMode, then ExecStopPost.
pub fn stop(store: &Store, unit: &Unit) -> Result<(), Failure> {
    let Some(mut st) = store.read(&unit.name) else {
        return Ok(());
    };
    let o = state::observe(Some(&st));
    if !matches!(o.active, "active" | "activating" | "deactivating") {
        return Ok(());
    }
    let run = Runner::new(unit.clone())?;
    let s = &run.unit.service;
    let sup = st.supervisor.filter(|p| p.alive());
    let main = st.main.filter(|p| p.alive());
    st.phase = Phase::Deactivating;
    st.since = state::now();
    let _ = store.write(&st);
    run.log(format_args!("Stopping {}...", describe_unit(unit)));
    let deadline = s.timeout_stop.map(|t| Instant::now() + t);
    let extra: Vec<(String, String)> = main
        .map(|m| vec![("MAINPID".into(), m.pid.to_string())])
        .unwrap_or_default();
    for c in &s.exec_stop {
        if let Err(f) = run.run_wait(c, &extra, deadline) {
            run.log_unit(format_args!("{}", f.message));
        }
    }
    let targets = || match s.kill_mode {
        KillMode::ControlGroup | KillMode::Mixed => service_processes(sup, main),
        KillMode::Process => main
            .filter(|m| m.alive())
            .map(|m| vec![m.pid])
            .unwrap_or_default(),
        KillMode::None => Vec::new(),
    };
    // Mixed: SIGTERM to the main process alone; what is left gets SIGKILL at the timeout.
    let first = match (s.kill_mode, main) {
        (KillMode::Mixed, Some(m)) => vec![m.pid],
        _ => targets(),
    };
    signal_all(&alive(&first), Signal::SIGTERM);
    let mut left = alive(&targets());
    while !left.is_empty() && deadline.is_none_or(|d| Instant::now() < d) {
        std::thread::sleep(Duration::from_millis(20));
        left = alive(&targets());
    }
    if !left.is_empty() {
        run.log_unit(format_args!("State 'stop-sigterm' timed out. Killing."));
        signal_all(&left, Signal::SIGKILL);
        let until = Instant::now() + Duration::from_secs(3);
        while !alive(&targets()).is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if matches!(s.kill_mode, KillMode::ControlGroup | KillMode::Mixed) {
        // The supervisor goes once it has reaped the last of them.
        let until = Instant::now() + Duration::from_secs(3);
        while sup.is_some_and(|p| p.alive()) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    for c in &s.exec_stop_post {
        if let Err(f) = run.run_wait(c, &[], deadline) {
            run.log_unit(format_args!("{}", f.message));
        }
    }
    run.remove_runtime_dirs();
    if let Some(mut cur) = store.read(&unit.name) {
        if cur.supervisor == st.supervisor {
            cur.phase = Phase::Inactive;
            cur.since = state::now();
            cur.result = None;
            cur.detail = None;
            cur.main = None;
            cur.status = None;
            let _ = store.write(&cur);
        }
    }
    run.log(format_args!("Stopped {}.", describe_unit(unit)));
    Ok(())
}

/// Runs `ExecReload=` of a running unit.
pub fn reload(store: &Store, unit: &Unit) -> Result<(), Failure> {
    let st = store.read(&unit.name);
    let o = state::observe(st.as_ref());
    if o.active != "active" {
        return Err(Failure::new(
            "not-active",
            format!("Unit {} is not active.", unit.name),
        ));
    }
    if unit.service.exec_reload.is_empty() {
        return Err(Failure::new(
            "not-applicable",
            format!("Job type reload is not applicable for unit {}.", unit.name),
        ));
    }
    let run = Runner::new(unit.clone())?;
    run.log(format_args!("Reloading {}...", describe_unit(unit)));
    let extra: Vec<(String, String)> = o
        .main
        .map(|m| vec![("MAINPID".into(), m.to_string())])
        .unwrap_or_default();
    let deadline = unit.service.timeout_start.map(|t| Instant::now() + t);
    for c in &unit.service.exec_reload {
        run.run_wait(c, &extra, deadline)?;
    }
    run.log(format_args!("Reloaded {}.", describe_unit(unit)));
    Ok(())
}

/// Sends `sig` to the service's main process (`main_only`) or to all of its processes;
/// returns how many got it.
pub fn signal(store: &Store, unit: &Unit, sig: Signal, main_only: bool) -> usize {
    let Some(st) = store.read(&unit.name) else {
        return 0;
    };
    let pids = match main_only {
        true => st
            .main
            .filter(|m| m.alive())
            .map(|m| vec![m.pid])
            .unwrap_or_default(),
        false => service_processes(st.supervisor, st.main),
    };
    for p in &pids {
        let _ = kill(Pid::from_raw(*p), sig);
    }
    pids.len()
}

/// `name - description` for log lines.
pub fn describe_unit(unit: &Unit) -> String {
    match &unit.description {
        Some(d) => format!("{} - {d}", unit.name),
        None => unit.name.clone(),
    }
}

/// A service's supervisor (see the module doc).
struct Supervisor {
    run: Runner,
    store: Store,
    me: ProcId,
    signals: SignalFd,
    notify: Option<UnixDatagram>,
    /// Reaped children whose end nobody has looked at yet.
    reaped: Vec<(Pid, WaitStatus)>,
    /// No child left (the last waitpid said ECHILD).
    childless: bool,
    st: State,
    ready: bool,
    /// The state has its final phase: later ends change nothing.
    finalized: bool,
    /// When what is left after the main process died gets SIGKILL.
    kill_at: Option<Instant>,
}

/// The supervisor's entry point (`systemctl --nsnet-supervise UNIT FD`); never returns.
pub fn supervise(name: &str, report_fd: &str) -> ! {
    let report = report_fd.parse().ok().and_then(sys::take_inherited_fd);
    let _ = nix::unistd::setsid();
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    let _ = set.thread_block();
    let say = |msg: &str| {
        if let Some(fd) = &report {
            let _ = nix::unistd::write(fd, msg.as_bytes());
        }
    };
    let fail = |f: Failure| -> ! {
        say(&format!("failed\t{}\t{}\n", f.result, f.message));
        sys::exit_now(1)
    };
    let unit = match Lookup::node().load(name) {
        Ok(u) => u,
        Err(e) => fail(Failure::new("resources", e.to_string())),
    };
    let signals = match SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC) {
        Ok(s) => s,
        Err(e) => fail(Failure::new("resources", format!("signalfd: {e}"))),
    };
    let Some(me) = ProcId::of(std::process::id() as i32) else {
        fail(Failure::new("resources", "no /proc"))
    };
    let store = Store::node();
    let st = State {
        unit: unit.name.clone(),
        path: unit.path.clone(),
        phase: Phase::Activating,
        result: None,
        detail: None,
        since: state::now(),
        supervisor: Some(me),
        main: None,
        status: None,
    };
    let _ = store.write(&st);
    let run = match Runner::new(unit) {
        Ok(r) => r,
        Err(f) => {
            let failed = State {
                phase: Phase::Failed,
                result: Some(f.result.clone()),
                detail: Some(f.message.clone()),
                ..st
            };
            let _ = store.write(&failed);
            fail(f)
        }
    };
    let mut sup = Supervisor {
        run,
        store,
        me,
        signals,
        notify: None,
        reaped: Vec::new(),
        childless: true,
        st,
        ready: false,
        finalized: false,
        kill_at: None,
    };
    let what = describe_unit(&sup.run.unit);
    sup.run.log(format_args!("Starting {what}..."));
    match sup.start() {
        Ok(()) => {
            let s = &sup.run.unit.service;
            sup.st.phase = match (s.kind, s.remain_after_exit) {
                (ServiceType::Oneshot, true) => Phase::Exited,
                (ServiceType::Oneshot, false) => Phase::Inactive,
                _ => Phase::Active,
            };
            sup.finalized = s.kind == ServiceType::Oneshot;
            sup.st.since = state::now();
            sup.save();
            say("ok\n");
            match sup.st.main {
                Some(m) => sup
                    .run
                    .log(format_args!("Started {what} (main pid {}).", m.pid)),
                None => sup.run.log(format_args!("Started {what}.")),
            }
        }
        Err(f) => {
            sup.run.log_unit(format_args!("{}", f.message));
            sup.run
                .log_unit(format_args!("Failed with result '{}'.", f.result));
            sup.abort(&f);
            say(&format!("failed\t{}\t{}\n", f.result, f.message));
        }
    }
    drop(report);
    sup.watch()
}

impl Supervisor {
    fn save(&mut self) {
        self.store.write_if_ours(&self.st, self.me);
    }

    /// Collects every child that has ended.
    fn reap(&mut self) {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {
                    self.childless = false;
                    return;
                }
                Ok(st @ (WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _))) => {
                    self.reaped.push((pid, st))
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(Errno::ECHILD) => {
                    self.childless = true;
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// Waits for a signal or a notification until `until`; handles them. SIGTERM and the
    /// like end the supervisor (the node is going down; the service gets its own signal).
    fn wait_event(&mut self, until: Option<Instant>) {
        let timeout = match until {
            None => PollTimeout::NONE,
            Some(d) => PollTimeout::try_from(d.saturating_duration_since(Instant::now()))
                .unwrap_or(PollTimeout::MAX),
        };
        let mut fds = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
        if let Some(n) = &self.notify {
            fds.push(PollFd::new(n.as_fd(), PollFlags::POLLIN));
        }
        let _ = poll(&mut fds, timeout);
        let notified = fds.get(1).is_some_and(|f| f.any().unwrap_or(false));
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) => {}
                Ok(_) => sys::exit_now(0),
                Err(_) => {}
            }
        }
        self.reap();
        if notified {
            self.read_notifications();
        }
    }

    /// READY=1, MAINPID=, STATUS= from the service's datagrams.
    fn read_notifications(&mut self) {
        let mut buf = [0u8; 4096];
        let mut changed = false;
        while let Some(n) = self.notify.as_ref().and_then(|s| s.recv(&mut buf).ok()) {
            for line in String::from_utf8_lossy(&buf[..n]).lines() {
                match line.split_once('=') {
                    Some(("READY", "1")) => self.ready = true,
                    Some(("MAINPID", pid)) => {
                        if let Some(p) = pid.parse().ok().and_then(ProcId::of) {
                            self.st.main = Some(p);
                            changed = true;
                        }
                    }
                    Some(("STATUS", text)) => {
                        self.st.status = Some(text.to_string());
                        changed = true;
                    }
                    _ => {}
                }
            }
        }
        if changed && self.st.phase != Phase::Activating {
            self.save();
        }
    }

    /// The end of child `pid`, waiting for it until `deadline`.
    fn wait_for(&mut self, pid: Pid, deadline: Option<Instant>) -> Option<WaitStatus> {
        loop {
            if let Some(i) = self.reaped.iter().position(|(p, _)| *p == pid) {
                return Some(self.reaped.swap_remove(i).1);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            self.wait_event(deadline);
        }
    }

    /// Runs a control command (ExecStartPre, a forking ExecStart …) to its end.
    fn control(&mut self, cmd: &ExecCommand, deadline: Option<Instant>) -> Result<(), Failure> {
        let extra: Vec<(String, String)> = self
            .st
            .main
            .map(|m| vec![("MAINPID".into(), m.pid.to_string())])
            .unwrap_or_default();
        let pid = match self.run.spawn(cmd, &extra) {
            Ok(pid) => pid,
            Err(_) if cmd.ignore_failure => return Ok(()),
            Err(e) => return Err(Failure::new("exit-code", e)),
        };
        match self.wait_for(pid, deadline) {
            Some(st) => check(cmd, st),
            None => {
                let _ = kill(pid, Signal::SIGKILL);
                Err(Failure::new(
                    "timeout",
                    format!("`{}` timed out", cmd.display()),
                ))
            }
        }
    }

    fn descendants(&self) -> Vec<i32> {
        state::descendants(self.me.pid, &state::processes())
    }

    /// ExecStartPre, the start by Type, ExecStartPost.
    fn start(&mut self) -> Result<(), Failure> {
        let s = self.run.unit.service.clone();
        let deadline = s.timeout_start.map(|t| Instant::now() + t);
        self.run.make_runtime_dirs()?;
        for c in &s.exec_start_pre {
            self.control(c, deadline)?;
        }
        match s.kind {
            ServiceType::Simple => {
                let pid = self
                    .run
                    .spawn(&s.exec_start[0], &[])
                    .map_err(|e| Failure::new("exit-code", e))?;
                self.st.main = ProcId::of(pid.as_raw());
            }
            ServiceType::Notify => self.start_notify(&s.exec_start[0], deadline)?,
            ServiceType::Forking => {
                self.control(&s.exec_start[0], deadline)?;
                self.st.main =
                    self.forked_main(s.pid_file.as_deref(), s.guess_main_pid, deadline)?;
            }
            ServiceType::Oneshot => {
                for c in &s.exec_start {
                    self.control(c, deadline)?;
                }
            }
        }
        for c in &s.exec_start_post {
            self.control(c, deadline)?;
        }
        Ok(())
    }

    /// Starts the main process with $NOTIFY_SOCKET and waits for its READY=1.
    fn start_notify(
        &mut self,
        cmd: &ExecCommand,
        deadline: Option<Instant>,
    ) -> Result<(), Failure> {
        let path = self.store.notify_path(&self.run.unit.name);
        let _ = fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path)
            .map_err(|e| Failure::new("resources", format!("{}: {e}", path.display())))?;
        // Daemons send from their own user once they have dropped root.
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o777));
        let _ = sock.set_nonblocking(true);
        self.notify = Some(sock);
        let extra = [("NOTIFY_SOCKET".into(), path.display().to_string())];
        let pid = self
            .run
            .spawn(cmd, &extra)
            .map_err(|e| Failure::new("exit-code", e))?;
        self.st.main = ProcId::of(pid.as_raw());
        while !self.ready {
            if let Some(i) = self.reaped.iter().position(|(p, _)| *p == pid) {
                let (_, st) = self.reaped.swap_remove(i);
                let (_, result, detail) = describe(st);
                return Err(Failure::new(
                    &result,
                    format!("Main process exited before it was ready, {detail}"),
                ));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Failure::new("timeout", "Start operation timed out."));
            }
            self.wait_event(deadline);
        }
        Ok(())
    }

    /// A forking service's main process once its start has exited: from its PIDFile
    /// (waited for until `deadline`), else the one process it left, if just one.
    fn forked_main(
        &mut self,
        pid_file: Option<&str>,
        guess: bool,
        deadline: Option<Instant>,
    ) -> Result<Option<ProcId>, Failure> {
        let Some(pf) = pid_file else {
            let children: Vec<i32> = state::processes()
                .into_iter()
                .filter(|p| p.ppid == self.me.pid && p.state != 'Z')
                .map(|p| p.pid)
                .collect();
            return Ok(match (guess, children.as_slice()) {
                (true, [one]) => ProcId::of(*one),
                _ => None,
            });
        };
        loop {
            let pid = fs::read_to_string(pf)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok());
            if let Some(p) = pid.and_then(ProcId::of).filter(|p| p.alive()) {
                return Ok(Some(p));
            }
            if self.descendants().is_empty() {
                return Err(Failure::new(
                    "protocol",
                    format!("PID file {pf} not readable and no process left"),
                ));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Failure::new(
                    "timeout",
                    format!("PID file {pf} not written in time"),
                ));
            }
            let step = Instant::now() + Duration::from_millis(20);
            self.wait_event(Some(deadline.map_or(step, |d| d.min(step))));
        }
    }

    /// After a failed start: what was started gets SIGTERM, then SIGKILL; ExecStopPost
    /// runs; the state says failed.
    fn abort(&mut self, f: &Failure) {
        signal_all(&self.descendants(), Signal::SIGTERM);
        let until = Instant::now() + ABORT_GRACE;
        while !self.descendants().is_empty() && Instant::now() < until {
            let step = Instant::now() + Duration::from_millis(20);
            self.wait_event(Some(step.min(until)));
        }
        signal_all(&self.descendants(), Signal::SIGKILL);
        for c in self.run.unit.service.exec_stop_post.clone() {
            let _ = self.control(&c, Some(Instant::now() + ABORT_GRACE));
        }
        self.run.remove_runtime_dirs();
        self.st.phase = Phase::Failed;
        self.st.result = Some(f.result.clone());
        self.st.detail = Some(f.message.clone());
        self.st.since = state::now();
        self.finalized = true;
        self.save();
    }

    /// The main process ended on its own (not in a stop): the state says how, and with
    /// KillMode control-group or mixed the rest of the service is stopped.
    fn main_exited(&mut self, status: WaitStatus) {
        let stopping = self
            .store
            .read(&self.st.unit)
            .is_some_and(|s| s.phase == Phase::Deactivating);
        if stopping {
            return;
        }
        let s = self.run.unit.service.clone();
        let (clean, result, detail) = describe(status);
        self.run
            .log_unit(format_args!("Main process exited, {detail}"));
        self.st.phase = match (clean, s.remain_after_exit) {
            (true, true) => Phase::Exited,
            (true, false) => Phase::Inactive,
            (false, _) => Phase::Failed,
        };
        if !clean {
            self.run
                .log_unit(format_args!("Failed with result '{result}'."));
            self.st.result = Some(result);
        }
        self.st.detail = Some(detail);
        self.st.since = state::now();
        self.finalized = true;
        self.save();
        if matches!(s.kill_mode, KillMode::ControlGroup | KillMode::Mixed) {
            signal_all(&self.descendants(), Signal::SIGTERM);
            self.kill_at = Some(Instant::now() + s.timeout_stop.unwrap_or(ABORT_GRACE));
        }
    }

    /// Reaps until the service has no process left; then the final state, and exit.
    fn watch(mut self) -> ! {
        loop {
            self.reap();
            let main = self.st.main.map(|m| Pid::from_raw(m.pid));
            let ends: Vec<(Pid, WaitStatus)> = std::mem::take(&mut self.reaped);
            for (pid, status) in ends {
                if Some(pid) == main && !self.finalized {
                    self.main_exited(status);
                }
            }
            if self.kill_at.is_some_and(|t| Instant::now() >= t) {
                signal_all(&self.descendants(), Signal::SIGKILL);
                self.kill_at = None;
            }
            if self.childless {
                break;
            }
            self.wait_event(self.kill_at);
        }
        if !self.finalized {
            let stopping = self
                .store
                .read(&self.st.unit)
                .is_some_and(|s| s.phase == Phase::Deactivating);
            let s = &self.run.unit.service;
            self.st.phase = match (stopping, s.remain_after_exit) {
                (false, true) => Phase::Exited,
                _ => Phase::Inactive,
            };
            if !stopping {
                for c in s.exec_stop_post.clone() {
                    let _ = self.control(&c, Some(Instant::now() + ABORT_GRACE));
                }
                self.run.log_unit(format_args!("Deactivated successfully."));
            }
            self.st.since = state::now();
            self.save();
        }
        if self.st.phase != Phase::Exited {
            self.run.remove_runtime_dirs();
        }
        if let Some(n) = self.notify.take() {
            drop(n);
            let _ = fs::remove_file(self.store.notify_path(&self.st.unit));
        }
        sys::exit_now(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::systemctl::unit::Unit;

    #[test]
    fn how_processes_end() {
        let p = Pid::from_raw(5);
        assert_eq!(
            describe(WaitStatus::Exited(p, 1)),
            (
                false,
                "exit-code".into(),
                "code=exited, status=1/FAILURE".into()
            )
        );
        assert!(describe(WaitStatus::Exited(p, 0)).0);
        assert_eq!(
            describe(WaitStatus::Signaled(p, Signal::SIGTERM, false)),
            (true, "signal".into(), "code=killed, signal=TERM".into())
        );
        assert!(!describe(WaitStatus::Signaled(p, Signal::SIGKILL, false)).0);
    }

    #[test]
    fn reports() {
        assert_eq!(parse_report("ok\n"), Ok(()));
        assert_eq!(
            parse_report("failed\ttimeout\tStart operation timed out.\n"),
            Err(Failure::new("timeout", "Start operation timed out."))
        );
        assert_eq!(parse_report("").unwrap_err().result, "resources");
    }

    #[test]
    fn the_environment_of_a_service() {
        let text = "[Service]\nUser=bind\nEnvironment=A=1 OPTIONS=unit\n\
                    EnvironmentFile=-/etc/default/named\nEnvironmentFile=-/missing\n\
                    RuntimeDirectory=named x\nExecStart=/usr/sbin/named -f $OPTIONS\n";
        let u = Unit::parse("named.service", "/n", text, &[], "h");
        let creds = Creds {
            user: "bind".into(),
            uid: 104,
            gid: 111,
            groups: vec![111],
            home: "/var/cache/bind".into(),
            shell: "/usr/sbin/nologin".into(),
        };
        let read = |p: &str| match p {
            "/etc/default/named" => Ok("RESOLVCONF=no\nOPTIONS=\"-u bind\"\n".to_string()),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        };
        let env = environment(&u, Some(&creds), read).unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH"), Some(crate::node::systemctl::PATH));
        assert_eq!(get("HOME"), Some("/var/cache/bind"));
        assert_eq!(get("USER"), Some("bind"));
        assert_eq!(get("A"), Some("1"));
        // The file wins over Environment=.
        assert_eq!(get("OPTIONS"), Some("-u bind"));
        assert_eq!(get("RUNTIME_DIRECTORY"), Some("/run/named:/run/x"));
        assert_eq!(
            u.service.exec_start[0].expand(&env).1,
            ["/usr/sbin/named", "-f", "-u", "bind"]
        );
        // A file that must exist and does not fails the start.
        let u = Unit::parse(
            "x.service",
            "/x",
            "[Service]\nEnvironmentFile=/missing\nExecStart=/x\n",
            &[],
            "h",
        );
        assert_eq!(environment(&u, None, read).unwrap_err().result, "resources");
    }
}
