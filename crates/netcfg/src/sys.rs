//! The system calls this crate makes outside of netlink sockets, kept in one place so
//! that privileged steps stay behind one seam (and a rootless mode can swap them).
//!
//! nix already wraps these calls safely, so no `unsafe` is needed today; any future
//! raw call belongs here with a `// SAFETY:` comment.

use std::os::fd::{AsFd, BorrowedFd};

use nix::sched::CloneFlags;

use crate::NetError;

/// Move the calling thread into the network namespace `ns` (setns(2)).
pub fn enter_netns(ns: BorrowedFd<'_>) -> Result<(), NetError> {
    nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetError::io("entering network namespace", e.into()))
}

/// Give the calling thread a fresh, empty network namespace (unshare(2)); only this
/// thread moves, the rest of the process stays where it was.
pub fn unshare_netns() -> Result<(), NetError> {
    nix::sched::unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetError::io("creating network namespace", e.into()))
}

/// Whether the process runs with an effective uid of 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
