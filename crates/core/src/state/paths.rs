//! Where nsnet keeps a lab's state. As root: `/run/nsnet` and `/run/netns` (so `ip netns`
//! sees the nodes). Rootless — run by another user, or inside that user's sandbox (see
//! [`crate::sandbox`]) — under the user's runtime dir: `$XDG_RUNTIME_DIR/nsnet` when that is
//! a dir of the user's, else `/tmp/nsnet-<uid>`, with `state/` and `netns/` in it. Both
//! views give the same answer: outside the sandbox the user's files are the user's, inside
//! they are root's, and the user is root there.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The paths of this process's mode.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Labs' state dirs.
    pub state: PathBuf,
    /// Netns entries.
    pub netns: PathBuf,
    /// Rootless: the base dir, which holds the two above and the sandbox's record.
    pub base: Option<PathBuf>,
    /// The user's uid as the machine knows it (outside any user namespace).
    pub host_uid: u32,
}

impl Paths {
    pub fn rootless(&self) -> bool {
        self.base.is_some()
    }
}

/// This process's paths, worked out once.
pub fn paths() -> &'static Paths {
    static P: OnceLock<Paths> = OnceLock::new();
    P.get_or_init(detect)
}

/// `/proc/self/uid_map`: None in the machine's own user namespace (the identity map of
/// every id), else the id outside that our root (inside id 0) maps to, if any.
fn outer_root() -> Option<Option<u32>> {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let rows: Vec<Vec<u64>> = map
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .collect();
    if rows.len() == 1 && rows[0] == [0, 0, 4_294_967_295] {
        return None;
    }
    Some(rows.iter().find_map(|r| match r[..] {
        [0, outside, _] => u32::try_from(outside).ok(),
        _ => None,
    }))
}

fn detect() -> Paths {
    let euid = nix::unistd::geteuid().as_raw();
    let host_uid = match outer_root() {
        None if euid == 0 => {
            return Paths {
                state: PathBuf::from("/run/nsnet"),
                netns: PathBuf::from("/run/netns"),
                base: None,
                host_uid: 0,
            }
        }
        None => euid,
        Some(Some(outside)) if euid == 0 => outside,
        // In a user namespace as someone else than its root: the id outside is unknown;
        // our own id keeps the dir ours.
        Some(_) => euid,
    };
    let base = rootless_base(host_uid);
    Paths {
        state: base.join("state"),
        netns: base.join("netns"),
        base: Some(base),
        host_uid,
    }
}

/// `$XDG_RUNTIME_DIR/nsnet` when XDG_RUNTIME_DIR is an absolute dir of ours (of our euid as
/// this user namespace shows it: the user's own files are root's in the sandbox), else
/// `/tmp/nsnet-<uid>`.
fn rootless_base(host_uid: u32) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let euid = nix::unistd::geteuid().as_raw();
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR") {
        let p = Path::new(&x);
        if p.is_absolute()
            && std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == euid)
        {
            return p.join("nsnet");
        }
    }
    PathBuf::from(format!("/tmp/nsnet-{host_uid}"))
}

/// The dir of the labs' state dirs.
pub fn state_root() -> &'static Path {
    &paths().state
}

/// The dir of the netns entries.
pub fn netns_dir() -> &'static Path {
    &paths().netns
}
