//! Tearing a lab down, and rolling back a failed `up`: the same steps. Works from the state
//! on disk when it is there, and from what the kernel still shows (our inits in /proc) when it
//! is missing or damaged. Only what provably belongs to the lab is touched: inits checked by
//! `state::procs`, netns entries that are the very namespaces of the lab's nodes, the lab's own
//! dir. Every step is tried; the errors are collected and reported together.

use crate::build::timings::Timings;
use crate::build::Spawned;
use crate::node::protocol::STOP_GRACE;
use crate::state::{
    self, FoundInit, Holder, Init, LabLock, LabName, LabState, LockOp, NotInit, StateError, Store,
};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum DownError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("node {node}: stopping its init (pid {pid}): {source}")]
    Signal {
        node: String,
        pid: i32,
        source: Errno,
    },
    #[error("node {node}: its init (pid {pid}) is still running after SIGKILL")]
    Stuck { node: String, pid: i32 },
    #[error("unmounting {}: {source}", .path.display())]
    Unmount { path: PathBuf, source: io::Error },
    #[error("removing {}: {source}", .path.display())]
    Remove { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Cgroup(#[from] crate::build::cgroups::CgroupError),
    #[error("{0}")]
    Outside(String),
}

/// Every step of a teardown that failed.
#[derive(Debug)]
pub struct DownErrors(pub Vec<DownError>);

impl fmt::Display for DownErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DownErrors {}

impl From<StateError> for DownErrors {
    fn from(e: StateError) -> Self {
        DownErrors(vec![e.into()])
    }
}

/// What a teardown did.
#[derive(Debug, Clone, Default)]
pub struct DownReport {
    pub lab: String,
    /// Inits that were running and were stopped.
    pub stopped: usize,
    /// /run/netns entries removed.
    pub unregistered: usize,
    /// Whether the lab had a state dir.
    pub had_state: bool,
    /// The `nsnet up` that was building the lab and was stopped first, if any.
    pub stopped_up: Option<i32>,
    /// What was there under the lab's names but is not the lab's: left alone, with why.
    pub left_alone: Vec<String>,
    /// Where the time went (`nsnet down --timings`).
    pub timings: Timings,
}

/// One init to stop.
struct Target {
    name: String,
    init: state::procs::InitPid,
}

/// A netns entry that is the lab's: the path and the namespace it must be.
struct Entry {
    path: PathBuf,
    netns: u64,
}

/// Labs that are up or left over: those with a state dir, and those with inits running.
pub fn labs_present() -> Vec<LabName> {
    let mut labs = match Store::open() {
        Ok(Some(store)) => store.lab_dirs(),
        _ => Vec::new(),
    };
    labs.extend(
        state::find_inits(None)
            .into_iter()
            .filter_map(|f| LabName::new(&f.lab).ok()),
    );
    labs.sort();
    labs.dedup();
    labs
}

/// How long an interrupted `up` gets to roll back before it is killed. Its longest step
/// without a look for the signal is one wiring phase (about a second for 1000 nodes).
const UP_ROLLBACK: Duration = Duration::from_secs(30);

/// Stops every node of `lab`, removes its netns entries and its state. Idempotent. An
/// `nsnet up` that is building the lab is stopped first (it rolls back); another `down` or a
/// `link` holding the lab is waited for.
pub fn down(lab: &LabName) -> Result<DownReport, DownErrors> {
    crate::build::limits::raise_nofile_to_hard();
    let Some(store) = Store::open()? else {
        // No state dir at all: only inits can be left (their netns entries are unprovable).
        return stop_found(lab);
    };
    let mut stopped_up = None;
    let lock = match LabLock::try_take(&store, lab, LockOp::Down)? {
        Ok(lock) => lock,
        Err(holder) => {
            if let Some(h @ Holder { op: LockOp::Up, .. }) = holder {
                stop_builder(h);
                stopped_up = Some(h.pid);
            }
            take_after(&store, lab, holder)?
        }
    };
    let report = down_locked(&store, lab, Timings::default());
    lock.remove(&store);
    let mut report = report?;
    report.stopped_up = stopped_up;
    Ok(report)
}

/// Waits for the lab lock; when its holder is an `up` that does not let go in
/// [`UP_ROLLBACK`] (after SIGTERM), it is killed.
fn take_after(store: &Store, lab: &LabName, holder: Option<Holder>) -> Result<LabLock, StateError> {
    let deadline = Instant::now() + UP_ROLLBACK;
    let mut killed = false;
    loop {
        if let Ok(lock) = LabLock::try_take(store, lab, LockOp::Down)? {
            return Ok(lock);
        }
        if !killed && Instant::now() > deadline {
            if let Some(h @ Holder { op: LockOp::Up, .. }) = holder {
                signal_holder(h, Signal::SIGKILL);
            }
            killed = true;
        }
        if Instant::now() > deadline + crate::state::lock::LOCK_WAIT {
            return Err(StateError::Busy {
                lab: lab.to_string(),
                holder: holder.map(|h| h.to_string()),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// SIGTERM to the `nsnet up` building the lab: it rolls back and lets go of the lock.
fn stop_builder(h: Holder) {
    signal_holder(h, Signal::SIGTERM);
}

/// Signals the holder of a lab lock, through a pidfd taken once its start time matched.
fn signal_holder(h: Holder, sig: Signal) {
    if let Ok(fd) = crate::sys::pidfd_open(h.pid) {
        if state::is_running(h.pid, h.start_time) {
            let _ = crate::sys::pidfd_send_signal(&fd, sig);
        }
    }
}

/// `down`'s work, with the lab lock held (also `up --force`).
pub(crate) fn down_locked(
    store: &Store,
    lab: &LabName,
    mut timings: Timings,
) -> Result<DownReport, DownErrors> {
    // A lab dir of another owner stops everything: nothing is touched. A symlink (or any
    // non-dir) there is removed itself, never followed.
    let dir = match store.lab(lab) {
        Err(StateError::NotADir { .. }) => {
            store
                .remove_file(lab.as_str())
                .map_err(|source| StateError::Io {
                    op: "removing",
                    path: state::lab_path(lab),
                    source,
                })?;
            None
        }
        dir => dir?,
    };
    let loaded = dir.as_ref().map(LabState::load);
    let mut left_alone = Vec::new();
    let mut targets = Vec::new();
    let mut entries = Vec::new();
    match &loaded {
        Some(Ok(st)) => {
            // nodes.json names every init and the namespace it was given: reading it beats
            // scanning every process's command line (47 ms with a 1000-node lab up).
            let mut unproved = false;
            for rec in &st.nodes {
                entries.push(Entry {
                    path: state::netns_path(lab, &rec.name),
                    netns: rec.netns,
                });
                match rec.init(lab) {
                    Ok(init) => targets.push(Target {
                        name: rec.name.clone(),
                        init: init.into_pid(),
                    }),
                    Err(NotInit::Gone) => {}
                    Err(NotInit::Other(why)) => {
                        unproved = true;
                        left_alone.push(format!("node {}: pid {}: {why}", rec.name, rec.pid));
                    }
                }
            }
            if unproved {
                // The lab's real inits, wherever they are.
                add_found(lab, &mut targets, &mut entries);
            }
        }
        // No state, or damaged: the kernel still knows our inits.
        _ => add_found(lab, &mut targets, &mut entries),
    }
    timings.lap("find inits");
    let mut report = teardown(store, lab, targets, entries, timings)?;
    report.had_state = dir.is_some();
    report.left_alone.splice(0..0, left_alone);
    Ok(report)
}

/// The lab's inits found in /proc (checked), and their netns entries; with no state to go
/// by, also the entries an `up` killed while registering left unbound (see `entry_is`).
fn add_found(lab: &LabName, targets: &mut Vec<Target>, entries: &mut Vec<Entry>) {
    let prefix = format!("{lab}.");
    for e in std::fs::read_dir(state::netns_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name();
        let Some(node) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        if state::name::valid_node_name(node) && state::entry_is(&e.path(), 0) {
            entries.push(Entry {
                path: e.path(),
                netns: 0,
            });
        }
    }
    for FoundInit { node, init, .. } in state::find_inits(Some(lab)) {
        if targets.iter().any(|t| t.init.pid == init.pid) {
            continue;
        }
        entries.push(Entry {
            path: state::netns_path(lab, &node),
            netns: init.netns,
        });
        targets.push(Target {
            name: node,
            init: init.into_pid(),
        });
    }
}

/// `down` when there is no state root: stops the lab's inits, if any.
fn stop_found(lab: &LabName) -> Result<DownReport, DownErrors> {
    let mut targets = Vec::new();
    let mut entries = Vec::new();
    add_found(lab, &mut targets, &mut entries);
    let mut errors = Vec::new();
    let stopped = targets.len();
    let left = signal_inits(targets, &mut errors);
    finish_stop(left, &mut errors);
    if !errors.is_empty() {
        return Err(DownErrors(errors));
    }
    Ok(DownReport {
        lab: lab.to_string(),
        stopped,
        ..DownReport::default()
    })
}

/// Rolls back a failed `up`: its own inits (checked like any other) and the entries it
/// registered for them, then the lab dir.
pub(crate) fn rollback(
    store: &Store,
    lab: &LabName,
    spawned: &[Spawned],
) -> Result<(), DownErrors> {
    let mut targets = Vec::new();
    let mut entries = Vec::new();
    for s in spawned {
        entries.push(Entry {
            path: state::netns_path(lab, &s.name),
            netns: s.netns,
        });
        match Init::verify(lab, &s.name, s.pid, Some(s.start_time), Some(s.netns)) {
            Ok(init) => targets.push(Target {
                name: s.name.clone(),
                init: init.into_pid(),
            }),
            Err(NotInit::Gone) => {}
            // Not provable now (out of fds, say), but our own unreaped child: its pid can be
            // no one else's.
            Err(NotInit::Other(_)) => {
                let _ = nix::sys::signal::kill(Pid::from_raw(s.pid), Signal::SIGKILL);
            }
        }
    }
    // Inits that exited are our unreaped children: reap them.
    for s in spawned {
        let _ = waitpid(Pid::from_raw(s.pid), Some(WaitPidFlag::WNOHANG));
    }
    teardown(store, lab, targets, entries, Timings::default()).map(drop)
}

/// Stops `targets`, removes the entries that are the lab's, then the lab dir.
fn teardown(
    store: &Store,
    lab: &LabName,
    targets: Vec<Target>,
    entries: Vec<Entry>,
    mut timings: Timings,
) -> Result<DownReport, DownErrors> {
    let mut errors = Vec::new();
    let mut report = DownReport {
        lab: lab.to_string(),
        stopped: targets.len(),
        ..DownReport::default()
    };
    // What the lab changed on the host: host interfaces go back while their nodes still
    // run, the relay stops before them (it holds their namespaces).
    let host = match store.lab(lab) {
        Ok(Some(dir)) => crate::outside::HostRecord::load(&dir),
        _ => None,
    };
    let mut outside_errors = Vec::new();
    if let Some(h) = &host {
        let node_netns = |node: &str| {
            targets
                .iter()
                .find(|t| t.name == node)
                .and_then(|t| t.init.netns())
                .map(nsnet_netcfg::Netns::from)
        };
        crate::outside::give_back(h, &node_netns, &mut outside_errors);
        // Also a relay an `up` killed right after starting it did not record (found by its
        // command line: a scan of /proc, only for labs that changed the host).
        crate::outside::relay::stop(lab, h.relay, &mut outside_errors);
        timings.lap("outside");
    }
    let mut targets = targets;
    let held: Vec<std::os::fd::OwnedFd> = targets
        .iter_mut()
        .filter_map(|t| t.init.take_netns())
        .collect();
    let freeing = crate::build::netns_free::Freeing::start(&held);
    timings.lap("watch namespaces");
    // The inits exit while their netns entries are unmounted: the two overlap.
    let left = signal_inits(targets, &mut errors);
    timings.lap("signal inits");
    let lock = state::global_lock(store);
    let mut ours = Vec::new();
    for e in entries {
        if std::fs::symlink_metadata(&e.path).is_err() {
            continue;
        }
        if state::entry_is(&e.path, e.netns) {
            ours.push(e.path);
        } else {
            report
                .left_alone
                .push(format!("{} exists and is not this lab's", e.path.display()));
        }
    }
    report.unregistered = unregister(ours, &mut errors);
    timings.lap("unregister netns");
    let stopping = left.len();
    finish_stop(left, &mut errors);
    // The namespaces go all at once.
    drop(held);
    timings.lap("wait for inits");
    freeing.wait(stopping);
    timings.lap("free namespaces");
    if let Some(h) = &host {
        crate::outside::restore_after(lab, h, &mut outside_errors);
        timings.lap("restore the host");
    }
    errors.extend(outside_errors.into_iter().map(DownError::Outside));
    if lock.is_ok() {
        state::release_netns_mount(store);
    }
    drop(lock);
    if let Err(e) = store.remove_lab(lab) {
        errors.push(e.into());
    }
    if let Err(e) = crate::build::cgroups::remove(&crate::build::cgroups::Layout::detect(), lab) {
        errors.push(DownError::Cgroup(e));
    }
    timings.lap("remove state");
    report.timings = timings;
    if errors.is_empty() {
        Ok(report)
    } else {
        Err(DownErrors(errors))
    }
}

/// Unmounts and removes netns entries from a few threads: each unmount waits for an RCU
/// grace period, which the kernel waits for after releasing its namespace lock, so
/// concurrent unmounts share them (1000 entries: 0.7 s one by one; 10,000: 5.8 s on 8
/// threads, 0.67 s on 32). Returns how many went.
fn unregister(paths: Vec<PathBuf>, errors: &mut Vec<DownError>) -> usize {
    let threads = 32.min(paths.len().max(1));
    let chunk = paths.len().div_ceil(threads).max(1);
    let results: Vec<(usize, Vec<DownError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let (mut done, mut errs) = (0, Vec::new());
                    for path in part {
                        match state::remove_entry(path) {
                            Ok(()) => done += 1,
                            Err(source) => errs.push(DownError::Remove {
                                path: path.clone(),
                                source,
                            }),
                        }
                    }
                    (done, errs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut total = 0;
    for (done, errs) in results {
        total += done;
        errors.extend(errs);
    }
    total
}

/// SIGTERM to every init (through its pidfd); returns those to wait for.
fn signal_inits(targets: Vec<Target>, errors: &mut Vec<DownError>) -> Vec<Target> {
    let mut left = Vec::with_capacity(targets.len());
    for t in targets {
        match t.init.signal(Signal::SIGTERM) {
            Ok(()) => left.push(t),
            Err(source) => errors.push(DownError::Signal {
                node: t.name,
                pid: t.init.pid,
                source,
            }),
        }
    }
    left
}

/// Waits for the signalled inits (each gives its processes [`STOP_GRACE`]), SIGKILLs what
/// is left, and waits until every init is gone so its namespaces are freed.
fn finish_stop(mut left: Vec<Target>, errors: &mut Vec<DownError>) {
    wait_gone(&mut left, STOP_GRACE + Duration::from_secs(1));
    for t in &left {
        let _ = t.init.signal(Signal::SIGKILL);
    }
    wait_gone(&mut left, Duration::from_secs(5));
    errors.extend(left.into_iter().map(|t| DownError::Stuck {
        node: t.name,
        pid: t.init.pid,
    }));
}

/// Polls until every target has exited (reaping those that are our children) or `limit` passes.
fn wait_gone(left: &mut Vec<Target>, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        left.retain(|t| {
            let _ = waitpid(Pid::from_raw(t.init.pid), Some(WaitPidFlag::WNOHANG));
            t.init.is_running()
        });
        if left.is_empty() || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
