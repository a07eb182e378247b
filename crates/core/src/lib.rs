//! nsnet's nodes and labs at run time: everything between a `Plan` and the kernel. Its
//! modules follow where their code runs:
//!
//! - [`node`]: the node init, PID 1 of every node (the `nsnet` binary re-executed as
//!   `nsnet-init <lab>/<node>`): its mount table (computed as data, then carried out), its log,
//!   sshd, its commands. Small and single-threaded. Also what runs inside a node as the same
//!   binary: its `systemctl` ([`node::systemctl`]), which starts services without systemd.
//! - [`build`]: `nsnet up` and `nsnet down` on the host: spawning inits, the limits checked
//!   first, the lab lock, wiring the network (`build::wire`), rolling back, tearing down.
//! - [`state`]: the lab's state on disk and in /proc: checked lab names, the state dir reached
//!   by fd, the lab lock, proof that a PID is a lab's init.
//! - [`running`]: one running lab, opened once per command: its state, its nodes' checked
//!   inits, their netns and netlink sockets.
//! - [`ops`]: what commands do to a running lab: `exec`/`enter`, `status`, `link`, `path`,
//!   `capture`, `fw`, the ssh client side.
//! - [`outside`]: what a lab changes on the host (links to the host, NAT, host interfaces,
//!   the relay of published ports), recorded first and undone by `down`.
//!   `capture`, `fw`, the ssh client side; and what they watch in it: `events` (rtnetlink
//!   announcements and node exits, polled together), `top` (interface counters).
//! - [`netplan`]: plan values turned into netcfg requests (routes, impairments, firewall),
//!   shared by `build` and `ops`.
//! - `sys`: every `unsafe` block of the crate, each with its reason.
//!
//! Dependencies between them flow one way: `ops` → `running` → `state`; `build` → `state`,
//! `node` (its protocol), `netplan`; `node` → `state`. The kernel's network configuration is
//! `nsnet_netcfg`'s; what the lab is, `nsnet_lab`'s.

pub mod build;
pub mod netplan;
pub mod node;
pub mod ops;
pub mod outside;
pub mod running;
pub mod sandbox;
pub mod state;
#[allow(unsafe_code)]
mod sys;

pub use build::down::{down, labs_present, DownError, DownErrors, DownReport};
pub use build::timings::Timings;
pub use build::up::{require_privileges, up_with, UpError};
pub use ops::enter::{enter_node, exec_all, exec_in_node, locate_node, EnterError, NodeTarget};
pub use running::{LiveNode, NodeError, RunningLab};
pub use state::{LabName, LabState, NodeRecord, StateError};
