//! What the run-time commands do to a running lab, each through [`crate::running`]:
//! running programs in nodes, status, link failures and impairments, the path a packet takes,
//! packet capture, firewall counters, the ssh client side, the checks `nsnet test` runs;
//! what changes in it as it happens (events) and its interfaces' counters (top).

pub mod capture;
pub mod doctor;
pub mod enter;
pub mod events;
pub mod fw;
pub mod link;
pub mod path;
pub mod picture;
pub mod ssh;
pub mod status;
pub mod test;
pub mod top;
