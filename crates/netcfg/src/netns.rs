//! Network namespace handles and the one sanctioned way to step into one: a closure
//! after which the thread is always back where it was, even on panic.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::{sys, NetError, Op};

/// An open network namespace (`/proc/<pid>/ns/net`, `/run/netns/<name>` …); the netns
/// stays alive as long as this handle does.
#[derive(Debug)]
pub struct Netns(OwnedFd);

impl Netns {
    /// Open the namespace file at `path`.
    pub fn open(path: &Path) -> Result<Netns, NetError> {
        let file = File::open(path).map_err(|e| {
            let path = path.to_path_buf();
            NetError::io(Op::OpenNetns { path }, e)
        })?;
        Ok(Netns(OwnedFd::from(file)))
    }

    /// The calling thread's current network namespace.
    pub fn current() -> Result<Netns, NetError> {
        Netns::open(Path::new("/proc/thread-self/ns/net"))
    }

    /// A fresh, empty network namespace held only by the returned handle (made on a
    /// short-lived helper thread, so the caller never moves).
    pub fn create() -> Result<Netns, NetError> {
        std::thread::spawn(|| {
            sys::unshare_netns()?;
            Netns::current()
        })
        .join()
        .unwrap_or_else(|_| {
            Err(NetError::io(
                Op::CreateNetns,
                std::io::Error::other("helper thread panicked"),
            ))
        })
    }

    /// The namespace's file descriptor, e.g. for [`crate::VethEnd::netns`].
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl From<OwnedFd> for Netns {
    fn from(fd: OwnedFd) -> Netns {
        Netns(fd)
    }
}

/// Run `f` with the calling thread inside `ns`, then switch back.
///
/// The switch back happens in a guard's drop, so it also happens when `f` panics. If
/// it fails (it cannot in practice: the original netns fd is held open) the process
/// aborts, because a thread left in the wrong netns would configure the wrong node.
pub fn in_netns<R>(ns: &Netns, f: impl FnOnce() -> R) -> Result<R, NetError> {
    let home = Netns::current()?;
    sys::enter_netns(ns.as_fd())?;
    let _back = SwitchBack(home);
    Ok(f())
}

struct SwitchBack(Netns);

impl Drop for SwitchBack {
    fn drop(&mut self) {
        if let Err(e) = sys::enter_netns(self.0.as_fd()) {
            eprintln!("nsnet-netcfg: cannot return to the original netns: {e}");
            std::process::abort();
        }
    }
}
