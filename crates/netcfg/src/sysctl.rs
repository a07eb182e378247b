//! Sysctls under `/proc/sys`, written as files rather than by running `sysctl`.
//! `/proc/sys/net` shows the netns of the thread that opens the file, so these act on
//! the calling thread's netns (wrap them in [`crate::in_netns`] for another one).

use std::path::{Path, PathBuf};

use crate::{NetError, Op};

fn sysctl_path(key: &str) -> PathBuf {
    sysctl_path_under(Path::new("/proc/sys"), key)
}

fn sysctl_path_under(base: &Path, key: &str) -> PathBuf {
    let mut path = base.to_path_buf();
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
    std::fs::write(sysctl_path(key), value).map_err(|e| {
        let (key, value) = (key.into(), value.into());
        NetError::io(Op::WriteSysctl { key, value }, e)
    })
}

/// Like [`write_sysctl`], through the sysctl tree at `base` instead of `/proc/sys`: the
/// `/proc/sys` of another procfs mount (a node's own, `/proc/<pid>/root/proc/sys`). The
/// calling thread's netns still decides which netns is written. Every procfs mount has
/// its own dentries: the kernel's lookups of `net/ipv4/…` in the host's /proc compare
/// every netns's entry of that name (thousands of namespaces, thousands of compares
/// each), in a node's own /proc only that node's.
pub fn write_sysctl_under(base: &Path, key: &str, value: &str) -> Result<(), NetError> {
    std::fs::write(sysctl_path_under(base, key), value).map_err(|e| {
        let (key, value) = (key.into(), value.into());
        NetError::io(Op::WriteSysctl { key, value }, e)
    })
}

/// Read the sysctl `key` of the calling thread's netns, without the trailing newline.
pub fn read_sysctl(key: &str) -> Result<String, NetError> {
    let mut s = std::fs::read_to_string(sysctl_path(key))
        .map_err(|e| NetError::io(Op::ReadSysctl { key: key.into() }, e))?;
    let trimmed = s.trim_end_matches('\n').len();
    s.truncate(trimmed);
    Ok(s)
}
