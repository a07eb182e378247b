//! The node init: PID 1 of every node. It is the `nsnet` binary itself, re-executed by `up`
//! as `nsnet-init <lab>/<node>` inside fresh namespaces, so `ps` names it and `down` can find
//! it in /proc. It builds the node's private mount table ([`mounts`]), reports ready, waits for
//! the go-ahead, starts the node's services ([`sshd`], then its `services` with
//! [`systemctl`]) and commands, pumps their output into the node's [`log`], reaps orphans and
//! stops everything on SIGTERM. No threads; it allocates only while setting up. [`protocol`] is
//! what it and `up` tell each other. The same binary is the node's `systemctl`.

pub mod caps;
mod init;
pub mod log;
pub mod mounts;
pub mod protocol;
pub mod sshd;
pub mod sysfs;
pub mod systemctl;

pub use caps::narrow_bounding_set;
pub use init::main;

use crate::state;
use nix::errno::Errno;
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("reading the init config {path}: {source}")]
    ReadConfig { path: String, source: io::Error },
    #[error("init config {path}: {source}")]
    ParseConfig {
        path: String,
        source: serde_json::Error,
    },
    #[error("{op} {path}: {source}")]
    Mount {
        op: &'static str,
        path: String,
        source: Errno,
    },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: io::Error,
    },
    #[error("setting the hostname to {name}: {source}")]
    Hostname { name: String, source: Errno },
    #[error(
        "private dir {path} does not exist on the host; nsnet never creates anything in the \
         host's filesystem: create it on the host first, or use a dir under /run or /tmp"
    )]
    PrivateMissing { path: String },
    #[error(
        "file {path}: its target does not exist on the host and is not in a private dir; \
         list its directory in `private` (private = [\"{dir}\"]) so the node gets a writable \
         dir of its own there"
    )]
    FileTargetMissing { path: String, dir: String },
    #[error(
        "bind {path}: the target does not exist on the host, and nsnet never creates anything \
         in the host's filesystem; give the node root = \"overlay\", or bind under /run or /tmp"
    )]
    BindTargetMissing { path: String },
    #[error("bind {path}: its source {source_path} cannot be opened: {source}")]
    BindSource {
        path: String,
        source_path: String,
        source: nix::errno::Errno,
    },
    #[error("file {path}: its source {source_path} {why}")]
    Source {
        path: String,
        source_path: String,
        why: String,
    },
    #[error("narrowing the node's capability bounding set: {0}")]
    Caps(String),
    #[error("{op}: {source}")]
    Sys { op: &'static str, source: Errno },
    #[error("node `{0}` of the init's command line is not a lab/node name")]
    BadTarget(String),
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error(transparent)]
    Ssh(#[from] sshd::SshdError),
}

/// True when this process was started as a node init.
pub fn is_init_invocation() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|a| a == state::INIT_ARGV0)
}
