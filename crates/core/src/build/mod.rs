//! Building and tearing down a lab, on the host: `up` (limits first, then the lab lock, the
//! inits, their netns entries, the wiring, the release), `down` and the rollback of a failed
//! `up` (the same steps), and what they share: ^C handling and the time of each phase.

pub mod cgroups;
pub mod down;
pub mod images;
pub mod interrupt;
pub mod keys;
pub mod limits;
pub mod netns_free;
pub mod rootless;
pub mod timings;
pub mod up;
pub mod wire;

/// A node init `up` started: its PID, start time and network namespace inode.
#[derive(Debug, Clone)]
pub(crate) struct Spawned {
    pub name: String,
    pub pid: i32,
    pub start_time: u64,
    pub netns: u64,
}
