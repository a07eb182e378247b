//! The system calls this crate makes outside of netlink sockets, kept in one place so
//! that privileged steps stay behind one seam (and a rootless mode can swap them).
//!
//! nix already wraps these calls safely, so no `unsafe` is needed today; any future
//! raw call belongs here with a `// SAFETY:` comment.

use std::os::fd::{AsFd, BorrowedFd};

use nix::sched::CloneFlags;

use crate::{NetError, Op};

/// Move the calling thread into the network namespace `ns` (setns(2)).
pub(crate) fn enter_netns(ns: BorrowedFd<'_>) -> Result<(), NetError> {
    nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetError::io(Op::EnterNetns, e.into()))
}

/// Give the calling thread a fresh, empty network namespace (unshare(2)); only this
/// thread moves, the rest of the process stays where it was.
pub(crate) fn unshare_netns() -> Result<(), NetError> {
    nix::sched::unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetError::io(Op::CreateNetns, e.into()))
}
