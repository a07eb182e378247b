//! `nsnet up`: start one init per node, wait until all are ready, register their netns, write
//! the state, wire the network, then release them. Any failure rolls back everything built so
//! far. Spawning is one fork-style clone per node and one shared pipe for all "ready"
//! records, so the cost per node does not grow with the lab.

use crate::build::cgroups;
use crate::build::down::{self, DownErrors};
use crate::build::timings::Timings;
use crate::build::wire::{self, NodeHandle, WireError};
use crate::build::Spawned;
use crate::node::protocol::{
    self as init, InitConfig, RECORD_LEN, STATUS_FAILED, STATUS_READY, STATUS_RELEASED,
    STATUS_STARTED,
};
use crate::state::{
    self, Holder, LabDir, LabLock, LabName, LabState, LockOp, NodeRecord, StateError, Store,
};
use crate::sys;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use nsnet_lab::Plan;
use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(transparent)]
    NotPrivileged(#[from] NotPrivileged),
    #[error("lab '{lab}' is already up ({why})")]
    AlreadyUp { lab: String, why: String },
    #[error(
        "lab '{lab}' is up, but node(s) {} no longer run (killed, or crashed)",
        .nodes.join(", ")
    )]
    DeadNodes { lab: String, nodes: Vec<String> },
    #[error("lab '{lab}' is being built by another `nsnet up` right now ({why})")]
    InProgress { lab: String, why: String },
    #[error("lab '{lab}' is being torn down by `nsnet down` (pid {pid}) right now")]
    BeingRemoved { lab: String, pid: i32 },
    #[error("lab '{lab}' has leftovers of an earlier `nsnet up` that did not finish ({why})")]
    Leftovers { lab: String, why: String },
    #[error("{} exists and is not this lab's: nsnet will not touch it", .path.display())]
    NetnsTaken { path: std::path::PathBuf },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Limit(#[from] crate::build::limits::LimitError),
    #[error(transparent)]
    Rootless(#[from] crate::build::rootless::RootlessError),
    #[error(transparent)]
    Image(#[from] crate::build::images::ImageError),
    #[error(transparent)]
    Cgroup(#[from] crate::build::cgroups::CgroupError),
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
    Outside(#[from] crate::outside::OutsideError),
    #[error(transparent)]
    Ssh(#[from] crate::build::keys::KeyError),
    #[error("node {node}: sending the go-ahead: {source}")]
    Release { node: String, source: Errno },
    #[error(transparent)]
    Interrupted(#[from] crate::build::interrupt::Interrupted),
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

/// Builds the lab of `plan`, recording the time of each phase in `t`. With `force`,
/// whatever is there of the lab (running, or left over by a killed `up`) is torn down
/// first. On success every node runs its commands and the state is on disk.
pub fn up_with(plan: &Plan, force: bool, t: &mut Timings) -> Result<Built, UpError> {
    check_privileges()?;
    let adjusted;
    let plan = if state::paths().rootless() {
        adjusted = crate::build::rootless::adjust(plan)?;
        &adjusted
    } else {
        plan
    };
    let name = LabName::new(&plan.lab)?;
    let store = Store::create()?;
    // The lab lock, held until this `up` returns: exactly one `up` (or `down`) at a time.
    let lock = match LabLock::try_take(&store, &name, LockOp::Up)? {
        Ok(lock) => lock,
        Err(holder) => return Err(busy(&name, holder)),
    };
    // Checks that fail before anything is built leave no lock file behind either (unless
    // the lab, or what is left of it, is there: its `down` removes it).
    let refuse = |lock: LabLock, e: UpError| {
        if matches!(store.lab(&name), Ok(None)) && state::find_inits(Some(&name)).is_empty() {
            lock.remove(&store);
        }
        Err(e)
    };
    if force && !matches!(check_not_up(&store, &name, plan), Ok(())) {
        down::down_locked(&store, &name, Timings::default()).map_err(|cleanup| {
            UpError::Rollback {
                cause: Box::new(UpError::Leftovers {
                    lab: plan.lab.clone(),
                    why: "--force could not remove them".into(),
                }),
                cleanup,
            }
        })?;
    }
    let checked = check_not_up(&store, &name, plan)
        .and_then(|()| Ok(crate::build::limits::check(plan)?))
        .and_then(|()| {
            let limited: Vec<(String, nsnet_lab::Limits)> = plan
                .nodes
                .iter()
                .filter(|n| !n.limits.is_empty())
                .map(|n| (n.name.clone(), n.limits))
                .collect();
            Ok(cgroups::check(&cgroups::Layout::detect(), &limited)?)
        })
        .and_then(|()| Ok(crate::build::limits::raise_nofile(plan)?));
    let nofile = match checked {
        Ok(nofile) => nofile,
        Err(e) => return refuse(lock, e),
    };
    let mut spawned = Vec::with_capacity(plan.nodes.len());
    match build_lab(&store, &name, plan, &mut spawned, nofile, t) {
        Ok(state) => Ok(state),
        Err(cause) => {
            // A step that failed because of the signal (EINTR, an init stopped by a ^C)
            // reports the signal, not its symptom.
            let cause = match crate::build::interrupt::check() {
                Err(sig) => UpError::Interrupted(sig),
                Ok(()) => cause,
            };
            let rolled = down::rollback(&store, &name, &spawned);
            lock.remove(&store);
            match rolled {
                Ok(()) => Err(cause),
                Err(cleanup) => Err(UpError::Rollback {
                    cause: Box::new(cause),
                    cleanup,
                }),
            }
        }
    }
}

/// The error for a lab whose lock another nsnet holds.
fn busy(name: &LabName, holder: Option<Holder>) -> UpError {
    let lab = name.to_string();
    match holder {
        Some(Holder {
            op: LockOp::Down,
            pid,
            ..
        }) => UpError::BeingRemoved { lab, pid },
        Some(Holder {
            op: LockOp::Link, ..
        }) => UpError::AlreadyUp {
            lab,
            why: "`nsnet link` is changing it".into(),
        },
        Some(h) => UpError::InProgress {
            lab,
            why: format!("pid {}", h.pid),
        },
        None => UpError::InProgress {
            lab,
            why: "its lock is held".into(),
        },
    }
}

/// Fails when anything of the lab is there: a lab that is up (whole, or with dead nodes),
/// what a killed `up` left (state, inits), or a netns entry of one of its names that is not
/// the lab's. Called with the lab lock held: nothing changes between the looks.
fn check_not_up(store: &Store, name: &LabName, plan: &Plan) -> Result<(), UpError> {
    let lab = name.to_string();
    if let Some(dir) = store.lab(name)? {
        // Released: the lab was built, whatever has happened to its nodes since. Not
        // released: what a killed `up` left.
        let built = dir.exists(state::RELEASED_FILE);
        if let Some(st) = LabState::load(&dir).ok().filter(|_| built) {
            let dead: Vec<String> = st
                .nodes
                .iter()
                .filter(|n| !n.is_running(name))
                .map(|n| n.name.clone())
                .collect();
            return Err(if dead.is_empty() {
                UpError::AlreadyUp {
                    lab,
                    why: format!("{} node(s) running", st.nodes.len()),
                }
            } else {
                UpError::DeadNodes { lab, nodes: dead }
            });
        }
        return Err(UpError::Leftovers {
            lab,
            why: format!("{} exists", dir.path().display()),
        });
    }
    if let Some(f) = state::find_inits(Some(name)).first() {
        return Err(UpError::Leftovers {
            lab,
            why: format!("node {} runs as pid {}", f.node, f.init.pid),
        });
    }
    for n in &plan.nodes {
        let path = state::netns_path(name, &n.name);
        if fs::symlink_metadata(&path).is_ok() {
            return Err(UpError::NetnsTaken { path });
        }
    }
    Ok(())
}

/// The size of a lab dir's tmpfs: its state, and every node's log with one rotated copy.
fn lab_tmpfs_size(plan: &Plan) -> u64 {
    (64 << 20) + plan.nodes.len() as u64 * (2 * plan.log_size + (64 << 10)) + images_budget(plan)
}

/// The distinct image tarballs the lab's nodes run on, in first-use order.
fn images(plan: &Plan) -> Vec<&std::path::Path> {
    let mut out: Vec<&std::path::Path> = Vec::new();
    for n in &plan.nodes {
        if let nsnet_lab::Root::Image(p) = &n.root {
            if !out.contains(&p.as_path()) {
                out.push(p);
            }
        }
    }
    out
}

/// Room for the lab's images unpacked: four times their tarballs (they are often gzipped).
fn images_budget(plan: &Plan) -> u64 {
    images(plan)
        .iter()
        .map(|p| fs::metadata(p).map_or(0, |m| m.len()).saturating_mul(4) + (64 << 20))
        .sum()
}

/// Unpacks each image once into the lab dir (`roots/<n>`); returns where, per image path.
fn unpack_images(dir: &LabDir, plan: &Plan) -> Result<Vec<(std::path::PathBuf, String)>, UpError> {
    let images = images(plan);
    if images.is_empty() {
        return Ok(Vec::new());
    }
    dir.mkdir("roots")?;
    let budget = images_budget(plan);
    let mut out = Vec::new();
    for (i, image) in images.into_iter().enumerate() {
        let dest = dir.path().join("roots").join(i.to_string());
        crate::build::images::unpack(image, &dest, budget)?;
        out.push((image.to_path_buf(), dest.display().to_string()));
    }
    Ok(out)
}

/// Makes the lab dir: a dir of the store with a tmpfs of its own on it, so the lab's state
/// (its ssh keys among it) is in no other lab's nodes' view, whatever they unmount.
fn create_lab_dir(store: &Store, name: &LabName, plan: &Plan) -> Result<LabDir, UpError> {
    let made = store.create_lab(name)?;
    let path = made.path();
    drop(made);
    let opts = format!("mode=0700,uid=0,gid=0,size={}", lab_tmpfs_size(plan));
    mount(
        Some("tmpfs"),
        &path,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(opts.as_str()),
    )
    .map_err(|source| UpError::Setup {
        op: "mounting the lab dir's tmpfs",
        source,
    })?;
    let dir = store
        .lab(name)?
        .ok_or(StateError::NotADir { path: path.clone() })?;
    dir.mkdir("logs")?;
    dir.mkdir(state::STARTUP_DIR)?;
    Ok(dir)
}

fn build_lab(
    store: &Store,
    name: &LabName,
    plan: &Plan,
    spawned: &mut Vec<Spawned>,
    nofile: Option<(u64, u64)>,
    t: &mut Timings,
) -> Result<Built, UpError> {
    let dir = create_lab_dir(store, name, plan)?;
    // What the lab would clash with on the host, before anything is built.
    let host = crate::outside::check(plan, &dir)?;
    let unpacked = unpack_images(&dir, plan)?;
    t.lap("images");
    // Routes are most of a big plan (a line of 1000 routers has a million) and nothing
    // after `up` needs them: they are recomputed from the rest when links change.
    // Routes are computed again from the rest when needed; not in one host's part of a
    // spread lab, which has not the whole lab to compute them from: it keeps its own.
    if plan.tunnels.is_empty() {
        nsnet_lab::plan::without_routes(|| state::write_json(&dir, state::PLAN, plan))?;
    } else {
        state::write_json(&dir, state::PLAN, plan)?;
    }
    dir.write(state::HOSTS, plan.hosts_file().as_bytes())?;
    // Keys and known_hosts for the nodes' sshd; false when sshd is off or not installed.
    let ssh = crate::build::keys::prepare_lab(&dir, plan)?;
    let mut ranges = Vec::with_capacity(plan.nodes.len());
    dir.write_with(state::INIT_CONFIGS, |w| {
        let mut w = Counted { w, n: 0 };
        for node in &plan.nodes {
            let mut cfg = InitConfig {
                lab: plan.lab.clone(),
                log_size: plan.log_size,
                root_dir: match &node.root {
                    nsnet_lab::Root::Image(p) => unpacked
                        .iter()
                        .find(|(i, _)| i == p)
                        .map(|(_, d)| d.clone()),
                    _ => None,
                },
                node: node.clone(),
            };
            // Routes are not the init's business (nor kept: see above).
            cfg.node.routes = Vec::new();
            cfg.node.ssh &= ssh;
            let start = w.n;
            serde_json::to_writer(&mut w, &cfg)?;
            ranges.push((start, w.n - start));
        }
        Ok(())
    })?;
    t.lap("state");

    let ready = spawn_inits(plan, &dir, spawned, nofile, &ranges, t)?;
    t.lap("spawn inits");
    let records: Vec<NodeRecord> = spawned
        .iter()
        .map(|s| NodeRecord {
            name: s.name.clone(),
            pid: s.pid,
            start_time: s.start_time,
            netns: s.netns,
        })
        .collect();
    state::write_json(&dir, state::NODES, &records)?;
    let st = Built {
        name: name.clone(),
        nodes: records,
    };
    finish_lab(store, &dir, plan, spawned, &ready, st, host, t)
}

/// Clones every init, then waits for all of their ready records. Returns the pipe's read end.
fn spawn_inits(
    plan: &Plan,
    dir: &LabDir,
    spawned: &mut Vec<Spawned>,
    nofile: Option<(u64, u64)>,
    configs: &[(usize, usize)],
    t: &mut Timings,
) -> Result<OwnedFd, UpError> {
    let layout = cgroups::Layout::detect();
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
    let flags = nix::sched::CloneFlags::CLONE_NEWNET
        | nix::sched::CloneFlags::CLONE_NEWUTS
        | nix::sched::CloneFlags::CLONE_NEWNS
        | nix::sched::CloneFlags::CLONE_NEWPID
        | nix::sched::CloneFlags::CLONE_NEWIPC;
    // One thread clones them all: namespace creation serializes in the kernel (each new
    // netns registers its loopback under RTNL), so cloning from several threads measured no
    // faster — and PR_SET_PDEATHSIG fires when the cloning *thread* ends.
    let total = plan.nodes.len();
    for (i, node) in plan.nodes.iter().enumerate() {
        crate::build::interrupt::check()?;
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
        let netns = state::procs::ns_inode(&format!("/proc/{pid}/ns/net")).unwrap_or(0);
        spawned.push(Spawned {
            name: node.name.clone(),
            pid: pid.as_raw(),
            start_time,
            netns,
        });
        // Its limits before it starts anything: everything it starts inherits them.
        if !node.limits.is_empty() {
            let lab = LabName::new(&plan.lab)?;
            cgroups::enter(&layout, &lab, &node.name, &node.limits, pid.as_raw())?;
        }
        t.tick(i + 1, total);
    }
    drop(wr);
    wait_records(dir, &rd, spawned, STATUS_READY, true)?;
    Ok(rd)
}

/// Waits until every init has sent a `want` record (ready, or released after the go-ahead).
/// With `interruptible`, a ^C (SIGINT, SIGTERM, SIGHUP) ends the wait with an error.
fn wait_records(
    dir: &LabDir,
    rd: &OwnedFd,
    spawned: &[Spawned],
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
            crate::build::interrupt::check()?;
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
                return Err(init_failed(dir, &t.name, None));
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
                return Err(init_failed(dir, &t.name, Some(how)));
            }
        }
    }
    Ok(())
}

/// The reason an init gave in its log, or how it ended.
fn init_failed(dir: &LabDir, node: &str, how: Option<String>) -> UpError {
    let log = dir.path().join(state::log_rel(node));
    let text = dir
        .read(&state::log_rel(node))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
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

/// Registers the netns of every node, wires the network (with what reaches the host),
/// releases the inits, then starts the relay of published ports.
#[allow(clippy::too_many_arguments)]
fn finish_lab(
    store: &Store,
    dir: &LabDir,
    plan: &Plan,
    spawned: &[Spawned],
    ready: &OwnedFd,
    st: Built,
    mut host: crate::outside::HostRecord,
    t: &mut Timings,
) -> Result<Built, UpError> {
    register_netns(store, &st.name, spawned)?;
    t.lap("register netns");
    crate::build::interrupt::check()?;
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
    let netns: Vec<std::os::fd::BorrowedFd<'_>> = handles.iter().map(|h| h.netns.as_fd()).collect();
    wire::configure(plan, &handles, t, || {
        Ok(crate::outside::build_links(plan, dir, &mut host, &netns)?)
    })?;
    crate::outside::build_nat(plan, dir, &mut host)?;
    // Published ports are bound now: one in use fails the `up`, which rolls back.
    let bound = crate::outside::relay::bind(plan)?;
    crate::build::interrupt::check()?;
    // Go-ahead, then release: a node outlives `up` only once every node has started, so an
    // `up` killed before that leaves nothing running (the inits die with it).
    signal_all(spawned, Signal::SIGUSR1)?;
    wait_records(dir, ready, spawned, STATUS_STARTED, true)?;
    t.lap("start services");
    crate::build::interrupt::check()?;
    // The lab is built: from here a node outlives `up` even if `up` is killed before it has
    // released them all (see `init`), and a ^C no longer undoes it.
    dir.write(state::RELEASED_FILE, b"")?;
    signal_all(spawned, Signal::SIGUSR2)?;
    wait_records(dir, ready, spawned, STATUS_RELEASED, false)?;
    t.lap("release inits");
    if !bound.is_empty() {
        let names: Vec<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
        let r = crate::outside::relay::spawn(&st.name, dir, bound, &netns, &names)?;
        crate::outside::relay::record(dir, &mut host, r)?;
        t.lap("port relay");
    }
    Ok(st)
}

/// A lab `up` has built: its name and its nodes' inits (its plan is the caller's).
#[derive(Debug)]
pub struct Built {
    pub name: LabName,
    pub nodes: Vec<NodeRecord>,
}

/// A writer that counts the bytes written through it (each init's range of init.json).
struct Counted<'a> {
    w: &'a mut dyn std::io::Write,
    n: usize,
}

impl std::io::Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.w.write(buf)?;
        self.n += k;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Signals `up`'s own children (not yet reaped, so their PIDs cannot be anyone else's).
fn signal_all(spawned: &[Spawned], sig: Signal) -> Result<(), UpError> {
    for n in spawned {
        kill(Pid::from_raw(n.pid), sig).map_err(|source| UpError::Release {
            node: n.name.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Binds each init's /proc/<pid>/ns/net onto /run/netns/<lab>.<node>, as `ip netns add`
/// would; an entry that exists is another's and fails the `up`. Done after every init is
/// cloned: each new mount ns copies the creator's mount table.
fn register_netns(store: &Store, lab: &LabName, spawned: &[Spawned]) -> Result<(), UpError> {
    let first = spawned.first().map_or("", |t| t.name.as_str());
    let reg_err = |node: &str, path: &std::path::Path, reason: String| UpError::Register {
        node: node.to_string(),
        path: path.display().to_string(),
        reason,
    };
    let netns_dir = state::netns_dir();
    state::ensure_netns_dir(store).map_err(|e| reg_err(first, netns_dir, e))?;
    let _lock = state::global_lock(store)
        .map_err(|e| reg_err(first, state::state_root(), e.to_string()))?;
    state::ensure_netns_mount(store)
        .map_err(|e| reg_err(first, netns_dir, format!("making it a mount point: {e}")))?;
    // One empty file, and every other entry a hard link of it: a link is a directory
    // entry, where a file is an inode to allocate (on an ext4 /run, with thousands deleted
    // by the last `down`, each allocation scanned past them). All are made before any is
    // mounted on: a mounted entry is another filesystem's file.
    let mut first: Option<std::path::PathBuf> = None;
    for t in spawned {
        let path = state::netns_path(lab, &t.name);
        let made = match &first {
            None => fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(state::ENTRY_MODE)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map(drop),
            Some(f) => fs::hard_link(f, &path),
        };
        match made {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(UpError::NetnsTaken { path })
            }
            Err(e) => return Err(reg_err(&t.name, &path, e.to_string())),
        }
        first.get_or_insert(path);
    }
    for t in spawned {
        let path = state::netns_path(lab, &t.name);
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
