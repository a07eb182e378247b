//! What `up` and a node's init tell each other. `up` writes every init's [`InitConfig`] into
//! the lab's `init.json` and starts the init with its byte range in [`CONFIG_ENV`] and its
//! index in [`INDEX_ENV`]; the init answers with [`RECORD_LEN`]-byte records (index, status)
//! on a pipe all inits share, and `up` drives it with signals:
//!
//! - ready ([`STATUS_READY`]): the node's mounts are in place (a failure: [`STATUS_FAILED`],
//!   the reason in the node's log);
//! - go-ahead, SIGUSR1, once the network is wired: the init starts its services (sshd) and
//!   answers [`STATUS_STARTED`];
//! - release, SIGUSR2, once every node has started and `up` has created the lab dir's
//!   released file (the lab is built from then on): answered with [`STATUS_RELEASED`]; then the
//!   init starts the node's commands;
//! - `up` dying: the kernel sends the init `PDEATHSIG` (SIGPWR). Before the release it
//!   stops the node, unless the released file exists (then `up` died after it had decided, and
//!   the signal counts as the release): a killed `up` leaves all of its nodes running or none.
//!   SIGTERM (`down`) always stops the node, giving its processes [`STOP_GRACE`].

use nsnet_lab::NodePlan;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What `up` tells a node's init.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitConfig {
    pub lab: String,
    /// Bytes the node's log may reach before it is rotated.
    pub log_size: u64,
    /// For an image root: where `up` unpacked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_dir: Option<String>,
    pub node: NodePlan,
}

/// The environment variable holding the node's index in the plan.
pub const INDEX_ENV: &str = "NSNET_INIT_INDEX";
/// The environment variable holding the byte range (`offset:length`) of the node's config
/// in the lab's init.json.
pub const CONFIG_ENV: &str = "NSNET_INIT_CONFIG";
/// Size of a record: node index then status, both u32 little-endian.
pub const RECORD_LEN: usize = 8;
pub const STATUS_READY: u32 = 0;
pub const STATUS_FAILED: u32 = 1;
/// Sent after the release, once the init no longer dies with `nsnet up`.
pub const STATUS_RELEASED: u32 = 2;
/// Sent after the go-ahead, once the node's services run.
pub const STATUS_STARTED: u32 = 3;
/// How long the node's processes get between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

pub fn encode_record(index: u32, status: u32) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[..4].copy_from_slice(&index.to_le_bytes());
    r[4..].copy_from_slice(&status.to_le_bytes());
    r
}

pub fn decode_record(r: &[u8]) -> (u32, u32) {
    let index = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
    let status = u32::from_le_bytes([r[4], r[5], r[6], r[7]]);
    (index, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let r = encode_record(999, STATUS_FAILED);
        assert_eq!(decode_record(&r), (999, STATUS_FAILED));
    }
}
