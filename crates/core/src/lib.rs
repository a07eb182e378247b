//! nsnet's nodes: each node is an init process in fresh namespaces. This crate starts them
//! (`up`), tears them down (`down`), runs programs inside them (`enter`), reports on them
//! (`status`) and keeps the lab's state on disk (`state`). The node init itself is in `init`.
//! All `unsafe` is in `sys`.

pub mod capture;
pub mod down;
pub mod enter;
pub mod firewall;
pub mod init;
pub mod interrupt;
pub mod link;
pub mod path;
pub mod ssh;
pub mod state;
pub mod status;
#[allow(unsafe_code)]
mod sys;
pub mod timings;
pub mod up;
pub mod wire;

pub use down::{down, DownError, DownErrors, DownReport};
pub use enter::{enter_node, exec_all, exec_in_node, locate_node, EnterError, NodeTarget};
pub use state::{LabState, NodeRecord, StateError};
pub use status::{LabStatus, NodeStatus};
pub use timings::Timings;
pub use up::{up, UpError};
pub use wire::{NodeHandle, WireError};
