//! `nsnet up`: start one init per node, wait until all are ready, register their netns, write
//! the state, wire the network, then release them. Any failure rolls back everything built so
//! far. Spawning is one fork-style clone per node and one shared pipe for all "ready"
//! records, so the cost per node does not grow with the lab.

use crate::down::{self, DownErrors, Target};
use crate::init::{
    self, InitConfig, RECORD_LEN, STATUS_FAILED, STATUS_READY, STATUS_RELEASED, STATUS_STARTED,
};
use crate::state::{self, LabState, NodeRecord, StateError};
use crate::sys;
use crate::timings::Timings;
use crate::wire::{self, NodeHandle, WireError};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use nsnet_lab::Plan;
use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(transparent)]
    NotPrivileged(#[from] NotPrivileged),
    #[error("lab '{lab}' is already up ({why}); run `nsnet down {lab}` first")]
    AlreadyUp { lab: String, why: String },
    #[error("lab '{lab}' is being built by another `nsnet up` right now ({why})")]
    InProgress { lab: String, why: String },
    #[error(
        "lab '{lab}' has leftovers of an earlier `nsnet up` that did not finish ({why}); \
         run `nsnet down {lab}`, or `nsnet up --force`"
    )]
    Leftovers { lab: String, why: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{op}: {source}")]
    Setup { op: &'static str, source: Errno },
    #[error("node {node}: starting its init: {source}")]
    Spawn { node: String, source: Errno },
    #[error("node {node}: {reason}")]
    InitFailed { node: String, reason: String },
    #[error("timed out after {secs}s waiting for node(s) {} to get ready", .nodes.join(", "))]
    Timeout { nodes: Vec<String>, secs: u64 },
    #[error("node {node}: registering its netns at {path}: {reason}")]
    Register {
        node: String,
        path: String,
        reason: String,
    },
    #[error("node {node}: opening its netns: {source}")]
    OpenNetns { node: String, source: io::Error },
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Ssh(#[from] crate::ssh::SshError),
    #[error("node {node}: sending the go-ahead: {source}")]
    Release { node: String, source: Errno },
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
    #[error("{cause}\nrolling back also failed:\n{cleanup}")]
    Rollback {
        cause: Box<UpError>,
        cleanup: DownErrors,
    },
}

/// A command that needs root was run without some of its capabilities.
#[derive(Debug, thiserror::Error)]
#[error("nsnet {cmd} needs root: missing {} (run it as root)", .missing.join(", "))]
pub struct NotPrivileged {
    pub cmd: String,
    pub missing: Vec<String>,
}

/// Fails with one line naming every capability `nsnet CMD` lacks (it makes namespaces,
/// enters them and configures their network: CAP_SYS_ADMIN and CAP_NET_ADMIN).
pub fn require_privileges(cmd: &str) -> Result<(), NotPrivileged> {
    use caps::{CapSet, Capability};
    let missing: Vec<String> = [Capability::CAP_SYS_ADMIN, Capability::CAP_NET_ADMIN]
        .into_iter()
        .filter(|c| !caps::has_cap(None, CapSet::Effective, *c).unwrap_or(false))
        .map(|c| c.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(NotPrivileged {
            cmd: cmd.to_string(),
            missing,
        })
    }
}

/// `require_privileges("up")`.
pub fn check_privileges() -> Result<(), UpError> {
    Ok(require_privileges("up")?)
}

/// Builds the lab of `plan`. On success every node runs its commands and the state is on disk.
pub fn up(plan: &Plan) -> Result<LabState, UpError> {
    up_timed(plan, &mut Timings::default())
}

/// `up`, recording the time of each phase in `t`.
pub fn up_timed(plan: &Plan, t: &mut Timings) -> Result<LabState, UpError> {
    up_with(plan, false, t)
}

/// `up_timed`; with `force`, whatever is there of the lab (running, or left over by a
/// killed `up`) is torn down first.
pub fn up_with(plan: &Plan, force: bool, t: &mut Timings) -> Result<LabState, UpError> {
    check_privileges()?;
    if force && !matches!(check_not_up(plan), Ok(()) | Err(UpError::InProgress { .. })) {
        down::down(&plan.lab).map_err(|cleanup| UpError::Rollback {
            cause: Box::new(UpError::Leftovers {
                lab: plan.lab.clone(),
                why: "--force could not remove them".into(),
            }),
            cleanup,
        })?;
    }
    check_not_up(plan)?;
    let nofile = raise_nofile();
    // Creating the lab dir is the lock: a second `up` of the same lab fails here. It stays
    // locked until this `up` returns.
    let _lock = match state::create_lab_dir(&plan.lab) {
        Ok((_, lock)) => lock,
        Err(StateError::Io { ref source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
            // Lost the race to another `up`: say what it is doing.
            check_not_up(plan)?;
            return Err(UpError::InProgress {
                lab: plan.lab.clone(),
                why: format!("{} exists", state::lab_dir(&plan.lab).display()),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let mut spawned = Vec::with_capacity(plan.nodes.len());
    match build_lab(plan, &mut spawned, nofile, t) {
        Ok(state) => Ok(state),
        Err(cause) => {
            // A step that failed because of the signal (EINTR, an init stopped by a ^C)
            // reports the signal, not its symptom.
            let cause = match crate::interrupt::check() {
                Err(sig) => UpError::Interrupted(sig),
                Ok(()) => cause,
            };
            match down::teardown(&plan.lab, Some(plan), spawned, Timings::default()) {
                Ok(_) => Err(cause),
                Err(cleanup) => Err(UpError::Rollback {
                    cause: Box::new(cause),
                    cleanup,
                }),
            }
        }
    }
}

/// Fails when anything of the lab is there: a lab that is up, an `up` of it that is running,
/// or what a killed `up` left (state, inits, /run/netns entries).
fn check_not_up(plan: &Plan) -> Result<(), UpError> {
    match look_for_lab(plan) {
        // Another `up` may have put its lab dir in place and started nodes between our
        // looks (dir first, then inits and netns entries): those are not leftovers. A second
        // look sees its dir, locked while it builds, complete once it is done.
        Err(UpError::Leftovers { .. }) => look_for_lab(plan),
        verdict => verdict,
    }
}

/// One look at what is there of the lab, as `check_not_up` reports it.
fn look_for_lab(plan: &Plan) -> Result<(), UpError> {
    let lab = &plan.lab;
    let dir = state::lab_dir(lab);
    let has_dir = fs::symlink_metadata(&dir).is_ok();
    if has_dir && state::lab_dir_locked(lab) {
        return Err(UpError::InProgress {
            lab: lab.clone(),
            why: format!("{} is locked", dir.display()),
        });
    }
    if has_dir {
        state::check_lab_dir(lab)?;
    }
    if let Ok(st) = LabState::load(lab) {
        if st.nodes.iter().all(|n| n.is_running()) {
            return Err(UpError::AlreadyUp {
                lab: lab.clone(),
                why: format!("{} node(s) running", st.nodes.len()),
            });
        }
    }
    let why = if has_dir {
        Some(format!("{} exists", dir.display()))
    } else if let Some(f) = state::find_inits(Some(lab)).first() {
        Some(format!("node {} runs as pid {}", f.node, f.pid))
    } else {
        state::netns_entries(lab, Some(plan))
            .into_iter()
            .find(|p| fs::symlink_metadata(p).is_ok())
            .map(|p| format!("{} exists", p.display()))
    };
    match why {
        Some(why) => Err(UpError::Leftovers {
            lab: lab.clone(),
            why,
        }),
        None => Ok(()),
    }
}

/// Each node holds fds (netns, netlink sockets) in `up`: a big lab needs more than 1024.
/// Returns the limit as it was, for the inits (daemons that close every fd up to the limit
/// at start would crawl with a huge one).
fn raise_nofile() -> Option<(u64, u64)> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).ok()?;
    Some((soft, hard))
}

fn build_lab(
    plan: &Plan,
    spawned: &mut Vec<Target>,
    nofile: Option<(u64, u64)>,
    t: &mut Timings,
) -> Result<LabState, UpError> {
    let lab = &plan.lab;
    let dir = state::lab_dir(lab);
    // Routes are most of a big plan (a line of 1000 routers has a million) and nothing
    // after `up` needs them: they are recomputed from the rest when links change.
    let mut stored = plan.clone();
    for n in &mut stored.nodes {
        n.routes = Vec::new();
    }
    state::write_json(&dir.join("plan.json"), &stored)?;
    state::write_private(&state::hosts_path(lab), plan.hosts_file().as_bytes())?;
    // Keys and known_hosts for the nodes' sshd; false when sshd is off or not installed.
    let ssh = crate::ssh::prepare_lab(plan)?;
    let mut configs = Vec::new();
    let mut ranges = Vec::with_capacity(stored.nodes.len());
    for node in &stored.nodes {
        let mut cfg = InitConfig {
            lab: lab.clone(),
            node: node.clone(),
        };
        cfg.node.ssh &= ssh;
        let start = configs.len();
        serde_json::to_writer(&mut configs, &cfg).expect("a plan serializes");
        ranges.push((start, configs.len() - start));
    }
    state::write_private(&state::init_configs_path(lab), &configs)?;
    t.lap("state");

    let ready = spawn_inits(plan, spawned, nofile, &ranges, t)?;
    t.lap("spawn inits");
    let records: Vec<NodeRecord> = spawned
        .iter()
        .map(|t| NodeRecord {
            name: t.name.clone(),
            pid: t.pid,
            start_time: t.start_time,
        })
        .collect();
    state::write_json(&dir.join("nodes.json"), &records)?;
    let st = LabState {
        plan: stored,
        nodes: records,
    };
    finish_lab(plan, spawned, &ready, st, t)
}

/// Clones every init, then waits for all of their ready records. Returns the pipe's read end.
fn spawn_inits(
    plan: &Plan,
    spawned: &mut Vec<Target>,
    nofile: Option<(u64, u64)>,
    configs: &[(usize, usize)],
    t: &Timings,
) -> Result<OwnedFd, UpError> {
    let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|source| UpError::Setup {
        op: "creating the ready pipe",
        source,
    })?;
    let devnull = File::open("/dev/null").map_err(|e| UpError::Setup {
        op: "opening /dev/null",
        source: Errno::from_raw(e.raw_os_error().unwrap_or(0)),
    })?;
    let env: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != init::INDEX_ENV && k != init::CONFIG_ENV)
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let flags = libc::CLONE_NEWNET
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWIPC;
    // One thread clones them all: namespace creation serializes in the kernel (each new
    // netns registers its loopback under RTNL), so cloning from several threads measured no
    // faster — and PR_SET_PDEATHSIG fires when the cloning *thread* ends.
    let total = plan.nodes.len();
    for (i, node) in plan.nodes.iter().enumerate() {
        crate::interrupt::check()?;
        let mut node_env = env.clone();
        node_env.push(sys::cstring(&format!("{}={i}", init::INDEX_ENV)));
        let (off, len) = configs[i];
        node_env.push(sys::cstring(&format!("{}={off}:{len}", init::CONFIG_ENV)));
        let argv = vec![
            sys::cstring(state::INIT_ARGV0),
            sys::cstring(&format!("{}/{}", plan.lab, node.name)),
        ];
        let image = sys::ExecImage::new(sys::cstring("/proc/self/exe"), argv, node_env);
        let pid = sys::clone_init(flags, &image, devnull.as_raw_fd(), wr.as_raw_fd(), nofile)
            .map_err(|source| UpError::Spawn {
                node: node.name.clone(),
                source,
            })?;
        let start_time = state::read_stat(pid.as_raw()).map_or(0, |s| s.start_time);
        spawned.push(Target {
            name: node.name.clone(),
            pid: pid.as_raw(),
            start_time,
        });
        t.tick(i + 1, total);
    }
    drop(wr);
    wait_records(plan, &rd, spawned, STATUS_READY, true)?;
    Ok(rd)
}

/// Waits until every init has sent a `want` record (ready, or released after the go-ahead).
/// With `interruptible`, a ^C (SIGINT, SIGTERM, SIGHUP) ends the wait with an error.
fn wait_records(
    plan: &Plan,
    rd: &OwnedFd,
    spawned: &[Target],
    want: u32,
    interruptible: bool,
) -> Result<(), UpError> {
    let n = spawned.len();
    let mut ready = vec![false; n];
    let mut left = n;
    let limit = Duration::from_secs(30) + Duration::from_millis(20) * n as u32;
    let deadline = Instant::now() + limit;
    let mut buf = vec![0u8; RECORD_LEN * 512];
    let mut pending: Vec<u8> = Vec::new();
    let mut eof = false;
    while left > 0 {
        if interruptible {
            crate::interrupt::check()?;
        }
        let now = Instant::now();
        if now >= deadline {
            let nodes = (0..n)
                .filter(|&i| !ready[i])
                .map(|i| spawned[i].name.clone());
            return Err(UpError::Timeout {
                nodes: nodes.collect(),
                secs: limit.as_secs(),
            });
        }
        if !eof {
            let wait = (deadline - now).min(Duration::from_millis(100));
            let mut fds = [PollFd::new(rd.as_fd(), PollFlags::POLLIN)];
            let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
            if poll(&mut fds, timeout).unwrap_or(0) > 0 {
                match nix::unistd::read(rd, &mut buf) {
                    Ok(0) => eof = true,
                    Ok(got) => pending.extend_from_slice(&buf[..got]),
                    Err(_) => {}
                }
            }
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
        let whole = pending.len() - pending.len() % RECORD_LEN;
        for rec in pending[..whole].chunks_exact(RECORD_LEN) {
            let (index, status) = init::decode_record(rec);
            let Some(t) = spawned.get(index as usize) else {
                continue;
            };
            if status == STATUS_FAILED {
                return Err(init_failed(&plan.lab, &t.name, None));
            }
            if status == want && !ready[index as usize] {
                ready[index as usize] = true;
                left -= 1;
            }
        }
        pending.drain(..whole);
        // An init that died without a record (crash, bad exec) is found by reaping it.
        while let Ok(st) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            let (pid, how) = match st {
                WaitStatus::Exited(pid, code) => (pid, format!("exited with status {code}")),
                WaitStatus::Signaled(pid, sig, _) => (pid, format!("was killed by {sig}")),
                _ => break,
            };
            if let Some(t) = spawned.iter().find(|t| t.pid == pid.as_raw()) {
                return Err(init_failed(&plan.lab, &t.name, Some(how)));
            }
        }
    }
    Ok(())
}

/// The reason an init gave in its log, or how it ended.
fn init_failed(lab: &str, node: &str, how: Option<String>) -> UpError {
    let log = state::log_path(lab, node);
    let text = fs::read_to_string(&log).unwrap_or_default();
    const TAG: &str = "nsnet-init: error: ";
    let reason = match text.lines().rev().find_map(|l| l.strip_prefix(TAG)) {
        Some(r) => r.to_string(),
        None => format!(
            "its init {} before it was ready (log: {})",
            how.unwrap_or_else(|| "failed".into()),
            log.display()
        ),
    };
    UpError::InitFailed {
        node: node.to_string(),
        reason,
    }
}

/// Registers the netns of every node, wires the network and releases the inits.
fn finish_lab(
    plan: &Plan,
    spawned: &[Target],
    ready: &OwnedFd,
    st: LabState,
    t: &mut Timings,
) -> Result<LabState, UpError> {
    register_netns(&plan.lab, spawned)?;
    t.lap("register netns");
    crate::interrupt::check()?;
    let handles = spawned
        .iter()
        .map(|t| {
            File::open(format!("/proc/{}/ns/net", t.pid))
                .map(|f| NodeHandle {
                    name: t.name.clone(),
                    pid: t.pid,
                    netns: f.into(),
                })
                .map_err(|source| UpError::OpenNetns {
                    node: t.name.clone(),
                    source,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    wire::configure(plan, &handles, t)?;
    crate::interrupt::check()?;
    // Go-ahead, then release: a node outlives `up` only once every node has started, so an
    // `up` killed before that leaves nothing running (the inits die with it).
    signal_all(spawned, Signal::SIGUSR1)?;
    wait_records(plan, ready, spawned, STATUS_STARTED, true)?;
    t.lap("start services");
    crate::interrupt::check()?;
    // The lab is built: from here a node outlives `up` even if `up` is killed before it has
    // released them all (see `init`), and a ^C no longer undoes it.
    state::write_private(&state::lab_dir(&plan.lab).join(state::RELEASED_FILE), b"")?;
    signal_all(spawned, Signal::SIGUSR2)?;
    wait_records(plan, ready, spawned, STATUS_RELEASED, false)?;
    t.lap("release inits");
    Ok(st)
}

fn signal_all(spawned: &[Target], sig: Signal) -> Result<(), UpError> {
    for n in spawned {
        kill(Pid::from_raw(n.pid), sig).map_err(|source| UpError::Release {
            node: n.name.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Binds each init's /proc/<pid>/ns/net onto /run/netns/<lab>-<node>, as `ip netns add` would.
/// Done after every init is cloned: each new mount ns copies the creator's mount table.
fn register_netns(lab: &str, spawned: &[Target]) -> Result<(), UpError> {
    let reg_err = |node: &str, path: &std::path::Path, reason: String| UpError::Register {
        node: node.to_string(),
        path: path.display().to_string(),
        reason,
    };
    if let Err(e) = fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(state::NETNS_DIR)
    {
        let first = spawned.first().map_or("", |t| t.name.as_str());
        return Err(reg_err(
            first,
            std::path::Path::new(state::NETNS_DIR),
            e.to_string(),
        ));
    }
    let first = spawned.first().map_or("", |t| t.name.as_str());
    let _lock = state::global_lock().map_err(|e| {
        reg_err(
            first,
            std::path::Path::new(state::STATE_ROOT),
            e.to_string(),
        )
    })?;
    state::ensure_netns_mount().map_err(|e| {
        reg_err(
            first,
            std::path::Path::new(state::NETNS_DIR),
            format!("making it a mount point: {e}"),
        )
    })?;
    for t in spawned {
        let path = state::netns_path(lab, &t.name);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(&path)
            .map_err(|e| reg_err(&t.name, &path, e.to_string()))?;
        let src = format!("/proc/{}/ns/net", t.pid);
        mount(
            Some(src.as_str()),
            &path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| reg_err(&t.name, &path, e.to_string()))?;
    }
    Ok(())
}
