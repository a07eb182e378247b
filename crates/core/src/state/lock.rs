//! The lab lock: one flock per lab on `/run/nsnet/<lab>.lock`, held by whatever changes the
//! lab — `up` for as long as it builds, `down` while it tears down, `link` while it rewrites
//! routes — so they never interleave. The file names its holder (operation, PID and start
//! time), so a loser can say who won, and `down` can stop an `up` that is building.
//!
//! `down` removes the file while it holds the lock; whoever was waiting on the old file
//! notices (its inode is no longer at the path) and locks the new one.

use super::name::LabName;
use super::procs::{self, ProcStat};
use super::store::Store;
use super::StateError;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// What a lock holder is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOp {
    Up,
    Down,
    Link,
}

impl LockOp {
    fn word(self) -> &'static str {
        match self {
            LockOp::Up => "up",
            LockOp::Down => "down",
            LockOp::Link => "link",
        }
    }

    fn parse(s: &str) -> Option<LockOp> {
        Some(match s {
            "up" => LockOp::Up,
            "down" => LockOp::Down,
            "link" => LockOp::Link,
            _ => return None,
        })
    }
}

/// Who holds a lab's lock: an `nsnet <op>` process, alive and checked by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub op: LockOp,
    pub pid: i32,
    pub start_time: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`nsnet {}` (pid {})", self.op.word(), self.pid)
    }
}

fn lock_file(lab: &LabName) -> String {
    format!("{lab}.lock")
}

/// A held lab lock; released on drop.
#[derive(Debug)]
pub struct LabLock {
    file: Flock<File>,
    name: String,
}

/// How long a look at a held lock waits for its holder to write its name.
const HOLDER_WAIT: Duration = Duration::from_secs(2);

/// How long a blocking lock waits before it gives up.
pub const LOCK_WAIT: Duration = Duration::from_secs(120);

impl LabLock {
    /// Takes the lock without waiting; Err(Some(holder)) when someone holds it (None when
    /// the holder cannot be told).
    pub fn try_take(
        store: &Store,
        lab: &LabName,
        op: LockOp,
    ) -> Result<Result<LabLock, Option<Holder>>, StateError> {
        loop {
            let f = open(store, lab)?;
            match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                Ok(l) => {
                    if let Some(lock) = LabLock::still_there(store, lab, l, op)? {
                        return Ok(Ok(lock));
                    }
                }
                Err((mut f, Errno::EWOULDBLOCK)) => {
                    // The holder writes its name right after it locks: give it a moment (on
                    // a loaded machine it may be descheduled in between), and take the lock
                    // if it is let go meanwhile.
                    let deadline = Instant::now() + HOLDER_WAIT;
                    loop {
                        let holder = read_holder(&mut f);
                        if holder.is_some() || Instant::now() >= deadline {
                            return Ok(Err(holder));
                        }
                        std::thread::sleep(Duration::from_millis(5));
                        match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                            Ok(l) => {
                                if let Some(lock) = LabLock::still_there(store, lab, l, op)? {
                                    return Ok(Ok(lock));
                                }
                                break;
                            }
                            Err((back, Errno::EWOULDBLOCK)) => f = back,
                            Err((_, e)) => return Err(io_err(lab, "locking", e)),
                        }
                    }
                }
                Err((_, e)) => return Err(io_err(lab, "locking", e)),
            }
        }
    }

    /// Takes the lock, waiting up to [`LOCK_WAIT`] for its holder to finish. Calls
    /// `waiting(holder)` once if it has to wait.
    pub fn take(
        store: &Store,
        lab: &LabName,
        op: LockOp,
        mut waiting: impl FnMut(Option<Holder>),
    ) -> Result<LabLock, StateError> {
        let deadline = Instant::now() + LOCK_WAIT;
        let mut told = false;
        loop {
            match LabLock::try_take(store, lab, op)? {
                Ok(lock) => return Ok(lock),
                Err(holder) => {
                    if !told {
                        waiting(holder);
                        told = true;
                    }
                    if Instant::now() > deadline {
                        return Err(StateError::Busy {
                            lab: lab.to_string(),
                            holder: holder.map(|h| h.to_string()),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// The lock is ours if the file we locked is still the one at the path (a `down` may
    /// have removed it meanwhile); then it names us.
    fn still_there(
        store: &Store,
        lab: &LabName,
        mut l: Flock<File>,
        op: LockOp,
    ) -> Result<Option<LabLock>, StateError> {
        let name = lock_file(lab);
        let ours = nix::sys::stat::fstat(l.as_fd()).map_err(|e| io_err(lab, "checking", e))?;
        match nix::sys::stat::fstatat(
            store.fd(),
            name.as_str(),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) if st.st_ino == ours.st_ino && st.st_dev == ours.st_dev => {}
            _ => return Ok(None),
        }
        let me = std::process::id() as i32;
        let start = procs::read_stat(me).map_or(0, |s| s.start_time);
        let text = format!("{} {me} {start}\n", op.word());
        let written = l
            .set_len(0)
            .and_then(|()| l.rewind())
            .and_then(|()| l.write_all(text.as_bytes()));
        written.map_err(|source| StateError::Io {
            op: "writing",
            path: super::store::lab_path(lab).with_extension("lock"),
            source,
        })?;
        Ok(Some(LabLock { file: l, name }))
    }

    /// Releases the lock and removes its file (at `down`: nothing of the lab is left).
    pub fn remove(self, store: &Store) {
        let _ = store.remove_file(&self.name);
        drop(self.file);
    }
}

fn open(store: &Store, lab: &LabName) -> Result<File, StateError> {
    let fd = nix::fcntl::openat(
        store.fd(),
        lock_file(lab).as_str(),
        OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
        Mode::from_bits_truncate(0o600),
    )
    .map_err(|e| io_err(lab, "opening", e))?;
    let f = File::from(fd);
    let st = nix::sys::stat::fstat(f.as_fd()).map_err(|e| io_err(lab, "checking", e))?;
    let me = nix::unistd::geteuid().as_raw();
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_uid != me || st.st_mode & 0o022 != 0 {
        return Err(StateError::NotOurs {
            path: super::store::lab_path(lab).with_extension("lock"),
            why: format!(
                "it is not a private regular file of uid {me} (uid {}, mode {:o})",
                st.st_uid, st.st_mode
            ),
        });
    }
    Ok(f)
}

fn io_err(lab: &LabName, op: &'static str, e: Errno) -> StateError {
    StateError::Io {
        op,
        path: super::store::lab_path(lab).with_extension("lock"),
        source: e.into(),
    }
}

/// The holder named in a lock file, if it is still that process.
fn read_holder(f: &mut File) -> Option<Holder> {
    let mut text = String::new();
    f.rewind().ok()?;
    f.take(128).read_to_string(&mut text).ok()?;
    let mut w = text.split_whitespace();
    let op = LockOp::parse(w.next()?)?;
    let pid: i32 = w.next()?.parse().ok()?;
    let start_time: u64 = w.next()?.parse().ok()?;
    match procs::read_stat(pid) {
        Some(ProcStat { start_time: s, .. }) if s == start_time => Some(Holder {
            op,
            pid,
            start_time,
        }),
        _ => None,
    }
}
