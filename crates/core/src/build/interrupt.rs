//! ^C during `nsnet up`. SIGINT, SIGTERM and SIGHUP are blocked (no handler, so no EINTR in
//! the middle of a netlink exchange) and looked for between steps: an interrupted `up` then
//! rolls back what it built, as on any failure, instead of dying halfway and leaving
//! namespaces behind. The node inits do not see the terminal's ^C: they run in their own
//! session from their first instructions on.

use crate::sys;
use nix::sys::signal::{SigSet, Signal};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// `up` was asked to stop by this signal.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("interrupted by {0}")]
pub struct Interrupted(pub Signal);

impl Interrupted {
    /// The exit status of a program stopped by the signal: 128 + its number.
    pub fn exit_code(self) -> i32 {
        128 + self.0 as i32
    }
}

/// The signal taken by [`check`] (0: none yet).
static TAKEN: AtomicI32 = AtomicI32::new(0);

fn set() -> SigSet {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set
}

/// Blocks the signals for this thread and the threads it starts afterwards. Call it from the
/// main thread before any other thread exists, else a thread with them unblocked dies of them.
pub fn block() {
    let _ = set().thread_block();
}

/// Err once one of the signals has come (and ever after); Ok when none has, or when they were
/// never blocked (they then act as usual).
pub fn check() -> Result<(), Interrupted> {
    if let Some(sig) = taken() {
        return Err(Interrupted(sig));
    }
    match sys::sigtimedwait(&set(), Duration::ZERO) {
        Some(sig) => {
            TAKEN.store(sig as i32, Ordering::Relaxed);
            Err(Interrupted(sig))
        }
        None => Ok(()),
    }
}

/// The signal that [`check`] has seen, if any.
fn taken() -> Option<Signal> {
    Signal::try_from(TAKEN.load(Ordering::Relaxed)).ok()
}

/// SIGPIPE back to its default for commands that only print: `nsnet status | head` then
/// ends quietly, as other tools do, instead of failing on the closed pipe (Rust ignores
/// SIGPIPE, so every print would report EPIPE).
pub fn default_sigpipe() {
    sys::set_signal_ignored(Signal::SIGPIPE, false);
}
