//! Tearing a lab down, and rolling back a failed `up`: the same steps. Works from the state
//! on disk when it is there, and from what the kernel still shows (our inits in /proc, our
//! entries in /run/netns) when it is missing or damaged. Every step is tried; the errors are
//! collected and reported together.

use crate::init::STOP_GRACE;
use crate::state::{self, LabState};
use crate::timings::Timings;
use nix::errno::Errno;
use nix::mount::{umount2, MntFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use nsnet_lab::Plan;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum DownError {
    #[error("node {node}: stopping its init (pid {pid}): {source}")]
    Signal {
        node: String,
        pid: i32,
        source: Errno,
    },
    #[error("node {node}: its init (pid {pid}) is still running after SIGKILL")]
    Stuck { node: String, pid: i32 },
    #[error("unmounting {}: {source}", .path.display())]
    Unmount { path: PathBuf, source: Errno },
    #[error("removing {}: {source}", .path.display())]
    Remove { path: PathBuf, source: io::Error },
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
    /// Where the time went (`nsnet down --timings`).
    pub timings: Timings,
}

/// One init to stop.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub name: String,
    pub pid: i32,
    pub start_time: u64,
}

/// Labs that are up or left over: those with state, and those with inits still running.
pub fn labs_present() -> Vec<String> {
    let mut labs = state::list_labs();
    // State dirs without nodes.json: what an `up` killed early left.
    labs.extend(
        std::fs::read_dir(state::STATE_ROOT)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.')),
    );
    labs.extend(state::find_inits(None).into_iter().map(|f| f.lab));
    labs.sort();
    labs.dedup();
    labs
}

/// Stops every node of `lab`, removes its netns entries and its state. Idempotent.
pub fn down(lab: &str) -> Result<DownReport, DownErrors> {
    let mut timings = Timings::default();
    let stopped_up = stop_builder(lab);
    let loaded = LabState::load(lab).ok();
    let targets: Vec<Target> = match &loaded {
        // nodes.json is written once every init is spawned: it names them all, and reading
        // it beats scanning every process's command line (47 ms with a 1000-node lab up).
        Some(s) => s
            .nodes
            .iter()
            .filter(|rec| rec.is_running())
            .map(|rec| Target {
                name: rec.name.clone(),
                pid: rec.pid,
                start_time: rec.start_time,
            })
            .collect(),
        // No state, or damaged: the kernel still knows our inits by their command line.
        None => state::find_inits(Some(lab))
            .into_iter()
            .map(|f| Target {
                name: f.node,
                pid: f.pid,
                start_time: f.start_time,
            })
            .collect(),
    };
    timings.lap("find inits");
    let mut report = teardown(lab, loaded.as_ref().map(|s| &s.plan), targets, timings)?;
    report.stopped_up = stopped_up;
    Ok(report)
}

/// How long an interrupted `up` gets to roll back before it is killed. Its longest step
/// without a look for the signal is one wiring phase (about a second for 1000 nodes).
const UP_ROLLBACK: Duration = Duration::from_secs(30);

/// When an `nsnet up` is building `lab`, stops it: SIGTERM, on which it rolls back what it
/// built, and SIGKILL if it has not after [`UP_ROLLBACK`] (the teardown then removes what
/// is left). Returns its PID.
fn stop_builder(lab: &str) -> Option<i32> {
    if !state::lab_dir_locked(lab) {
        return None;
    }
    let pid = state::builder_of(lab)?;
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = Instant::now() + UP_ROLLBACK;
    while state::lab_dir_locked(lab) {
        if Instant::now() > deadline {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Some(pid)
}

/// Stops `targets`, then removes the lab's netns entries and state dir.
pub(crate) fn teardown(
    lab: &str,
    plan: Option<&Plan>,
    targets: Vec<Target>,
    mut timings: Timings,
) -> Result<DownReport, DownErrors> {
    let mut errors = Vec::new();
    let mut report = DownReport {
        lab: lab.to_string(),
        stopped: targets.len(),
        had_state: std::fs::symlink_metadata(state::lab_dir(lab)).is_ok(),
        ..DownReport::default()
    };
    // The inits exit while their netns entries are unmounted: the two overlap.
    let left = signal_inits(targets, &mut errors);
    timings.lap("signal inits");
    let lock = state::global_lock();
    report.unregistered = unregister(state::netns_entries(lab, plan), &mut errors);
    timings.lap("unregister netns");
    finish_stop(left, &mut errors);
    timings.lap("wait for inits");
    if lock.is_ok() {
        state::release_netns_mount();
    }
    drop(lock);
    // remove_dir_all removes a symlink itself, never what it points to.
    let dirs = std::iter::once(state::lab_dir(lab)).chain(state::stale_tmp_dirs(lab));
    for dir in dirs {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => errors.push(DownError::Remove { path: dir, source }),
        }
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
/// concurrent unmounts share them (1000 entries: 0.7 s one by one). Returns how many went.
fn unregister(paths: Vec<std::path::PathBuf>, errors: &mut Vec<DownError>) -> usize {
    let threads = 8.min(paths.len().max(1));
    let chunk = paths.len().div_ceil(threads).max(1);
    let results: Vec<(usize, Vec<DownError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let (mut done, mut errs) = (0, Vec::new());
                    for path in part {
                        match umount2(path, MntFlags::MNT_DETACH) {
                            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
                            Err(source) => {
                                errs.push(DownError::Unmount {
                                    path: path.clone(),
                                    source,
                                });
                                continue;
                            }
                        }
                        match std::fs::remove_file(path) {
                            Ok(()) => done += 1,
                            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
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

/// SIGTERM to every init; returns those still to wait for.
fn signal_inits(targets: Vec<Target>, errors: &mut Vec<DownError>) -> Vec<Target> {
    let mut left = Vec::with_capacity(targets.len());
    for t in targets {
        match kill(Pid::from_raw(t.pid), Signal::SIGTERM) {
            Ok(()) => left.push(t),
            Err(Errno::ESRCH) => {}
            Err(source) => errors.push(DownError::Signal {
                node: t.name,
                pid: t.pid,
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
        let _ = kill(Pid::from_raw(t.pid), Signal::SIGKILL);
    }
    wait_gone(&mut left, Duration::from_secs(5));
    errors.extend(left.into_iter().map(|t| DownError::Stuck {
        node: t.name,
        pid: t.pid,
    }));
}

/// Polls until every target has exited (reaping those that are our children) or `limit` passes.
fn wait_gone(left: &mut Vec<Target>, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        left.retain(|t| {
            let _ = waitpid(Pid::from_raw(t.pid), Some(WaitPidFlag::WNOHANG));
            state::is_running(t.pid, t.start_time)
        });
        if left.is_empty() || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
