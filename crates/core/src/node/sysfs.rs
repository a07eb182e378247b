//! A node's own sysfs, mounted when something first runs in it.
//!
//! A node's /sys must show its own network namespace (sysfs tags its entries by netns), so
//! it gets a sysfs of its own. But each sysfs mount makes the kernel look through every
//! sysfs superblock on the machine for one of the same namespace (`sget_fc`): at `up`, the
//! ten thousandth node's mount compared ten thousand — a third of the time it took to start
//! a 10,000-node lab. So the init leaves an empty read-only tmpfs on /sys
//! ([`super::mounts::Step::SysPlaceholder`]) and the node's sysfs is mounted over it by the
//! first thing that runs in the node: its init, before sshd, services or `exec` lines, or
//! `nsnet exec` / `nsnet enter`. Nodes nothing runs in (the hosts of a big generated lab)
//! never pay for one.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;

/// `statfs` f_type of a tmpfs (the placeholder) and of sysfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;
const SYSFS_MAGIC: i64 = 0x6265_6572;

/// Mounts the node's sysfs on /sys if the placeholder is still there. Call from inside the
/// node (its mount and network namespaces), as root; concurrent callers in one node are
/// serialized by a lock file in the node's /run.
pub fn ensure() -> Result<(), Errno> {
    let kind = |p: &str| -> Result<i64, Errno> {
        Ok(nix::sys::statfs::statfs(p)?.filesystem_type().0 as i64)
    };
    if kind("/sys")? == SYSFS_MAGIC {
        return Ok(());
    }
    let lock = nix::fcntl::open(
        "/run/nsnet/sysfs.lock",
        OFlag::O_CREAT | OFlag::O_RDWR | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::from_bits_truncate(0o600),
    )?;
    // Bounded: a process of the node holding the lock must not hang `nsnet exec`.
    let mut file = std::fs::File::from(lock);
    let mut tries = 0;
    let _held = loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => break l,
            Err((f, Errno::EWOULDBLOCK)) if tries < 200 => {
                file = f;
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err((_, e)) => return Err(e),
        }
    };
    // Looked at again under the lock: another caller may have mounted it meanwhile.
    if kind("/sys")? != TMPFS_MAGIC {
        return Ok(());
    }
    mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
}
