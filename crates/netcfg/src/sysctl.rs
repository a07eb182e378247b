//! Sysctls under `/proc/sys`, written as files rather than by running `sysctl`.
//! `/proc/sys/net` shows the netns of the thread that opens the file, so these act on
//! the calling thread's netns (wrap them in [`crate::in_netns`] for another one).

use std::path::PathBuf;

use crate::NetError;

fn sysctl_path(key: &str) -> PathBuf {
    let mut path = PathBuf::from("/proc/sys");
    if key.contains('/') {
        // The slash form ("net/ipv4/conf/eth0.100/forwarding") for names with dots.
        path.push(key.trim_start_matches('/'));
        return path;
    }
    // Dotted keys map to path components; an interface name cannot contain '/' so a
    // key like net.ipv4.conf.eth0.forwarding is unambiguous.
    for part in key.split('.') {
        path.push(part);
    }
    path
}

/// Write `value` to the sysctl `key` ("net.ipv4.ip_forward") of the calling thread's netns.
pub fn write_sysctl(key: &str, value: &str) -> Result<(), NetError> {
    std::fs::write(sysctl_path(key), value)
        .map_err(|e| NetError::io(format!("writing sysctl {key}={value}"), e))
}

/// Read the sysctl `key` of the calling thread's netns, without the trailing newline.
pub fn read_sysctl(key: &str) -> Result<String, NetError> {
    let mut s = std::fs::read_to_string(sysctl_path(key))
        .map_err(|e| NetError::io(format!("reading sysctl {key}"), e))?;
    let trimmed = s.trim_end_matches('\n').len();
    s.truncate(trimmed);
    Ok(s)
}
