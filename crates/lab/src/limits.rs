//! The numbers that bound a lab, in one place: the kernel's limits and nsnet's defaults.
//! Validation checks against them, the plan carries the defaults, `nsnet plan` leaves
//! defaults unprinted.

/// `[lab] pool`'s default.
pub const DEFAULT_POOL: &str = "10.0.0.0/16";
/// `[lab] log_size`'s default: 1 MiB.
pub const DEFAULT_LOG_SIZE: u64 = 1 << 20;
/// `tmpfs_size`'s default: 64 MiB.
pub const DEFAULT_TMPFS_SIZE: u64 = 64 << 20;
/// The least `tmpfs_size`: 1 MiB.
pub const MIN_TMPFS_SIZE: u64 = 1 << 20;
/// The most `tmpfs_size`: 64 GiB.
pub const MAX_TMPFS_SIZE: u64 = 64 << 30;
/// The least `log_size`: 64 KiB.
pub const MIN_LOG_SIZE: u64 = 64 << 10;
/// The most `log_size`: 1 GiB.
pub const MAX_LOG_SIZE: u64 = 1 << 30;
/// Ports a switch may have: a Linux bridge numbers its ports 1..=1023 (BR_MAX_PORTS 1024).
pub const MAX_BRIDGE_PORTS: usize = 1023;
/// A link's largest MTU (the kernel's ETH_MAX_MTU).
pub const MAX_MTU: u32 = 65535;
/// The least MTU a link carrying IPv6 needs (RFC 8200).
pub const MIN_MTU_IPV6: u32 = 1280;
/// The largest lab file read: more is not a lab someone wrote (and `/dev/zero` never ends).
pub const MAX_LAB_FILE: u64 = 4 << 20;
