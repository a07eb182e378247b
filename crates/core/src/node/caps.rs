//! The capabilities no lab needs, taken out of every node process's bounding set.

/// Dropped from the bounding set of every process of a node (its init's children and
/// whatever `nsnet exec` starts in it) unless it is `privileged`: loading modules, raw I/O,
/// rebooting, setting the clock, the kernel log, MAC policy, ptrace.
pub const DROPPED_CAPS: [caps::Capability; 8] = [
    caps::Capability::CAP_SYS_MODULE,
    caps::Capability::CAP_SYS_RAWIO,
    caps::Capability::CAP_SYS_BOOT,
    caps::Capability::CAP_SYS_TIME,
    caps::Capability::CAP_SYSLOG,
    caps::Capability::CAP_MAC_ADMIN,
    caps::Capability::CAP_MAC_OVERRIDE,
    caps::Capability::CAP_SYS_PTRACE,
];

/// Drops [`DROPPED_CAPS`] from this process's bounding set: programs it execs afterwards
/// can never hold them. Returns the one that could not be dropped, with why.
pub fn narrow_bounding_set() -> Result<(), String> {
    for c in DROPPED_CAPS {
        caps::drop(None, caps::CapSet::Bounding, c).map_err(|e| format!("{c}: {e}"))?;
    }
    Ok(())
}
