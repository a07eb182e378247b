//! The lab's ssh files in its state dir: one key pair for root logins into its nodes, one
//! host key every node's sshd shares, and the known_hosts naming every ssh node.

use super::{lab_path, LabName};
use std::path::PathBuf;

/// The lab's ssh dir, relative to its state dir.
pub const SSH_DIR: &str = "ssh";
/// The client key pair (`id_ed25519`, `.pub`).
pub const CLIENT_KEY: &str = "id_ed25519";
/// The host key pair every node's sshd uses.
pub const HOST_KEY: &str = "ssh_host_ed25519_key";
pub const KNOWN_HOSTS: &str = "known_hosts";

/// The lab's ssh dir on the host (in the lab dir's own tmpfs).
pub fn lab_ssh_dir(lab: &LabName) -> PathBuf {
    lab_path(lab).join(SSH_DIR)
}

/// The lab's private key for root logins into its nodes.
pub fn identity_path(lab: &LabName) -> PathBuf {
    lab_ssh_dir(lab).join(CLIENT_KEY)
}

pub fn known_hosts_path(lab: &LabName) -> PathBuf {
    lab_ssh_dir(lab).join(KNOWN_HOSTS)
}

/// `name` relative to the lab dir.
pub fn rel(name: &str) -> String {
    format!("{SSH_DIR}/{name}")
}
