//! A lab's state on disk and how to find what is left of it in the kernel. `up` writes it,
//! every other command reads it; `down` also works when it is missing or damaged, by finding
//! our inits in /proc (checked, see `procs`) and the netns entries they hold.
//!
//! Layout (dirs 0700, files 0600, all owned by root; each lab dir is a tmpfs of its own,
//! which the nodes of every lab detach from their view):
//! ```text
//! /run/nsnet/<lab>.lock              the lab lock (see `lock`)
//! /run/nsnet/<lab>/plan.json         the Plan the lab was built from
//! /run/nsnet/<lab>/nodes.json        each node's init PID, start time and netns inode
//! /run/nsnet/<lab>/hosts             the /etc/hosts every node binds read-only
//! /run/nsnet/<lab>/init.json         every init's config (InitConfig), one after another
//! /run/nsnet/<lab>/logs/<node>.log   the init's and its commands' output (rotated: .log.1)
//! /run/nsnet/<lab>/links.json        links taken down, rerouting, impairments (see `link`)
//! /run/nsnet/<lab>/ssh/              the lab's ssh keys and known_hosts (see `ssh`)
//! /run/netns/<lab>.<node>            the node's netns, for `ip netns exec`
//! ```
//! Nothing here is trusted because of where it is: the store checks owners and modes, node
//! names read back are checked again, and a PID is only used once `procs` has proved it is
//! the init it should be.

pub mod keys;
pub mod links;
pub mod lock;
pub mod name;
pub mod paths;
pub mod procs;
pub mod store;

pub use lock::{Holder, LabLock, LockOp};
pub use name::LabName;
pub use paths::{netns_dir, paths, state_root};
pub use procs::{
    find_inits, is_running, read_stat, FoundInit, Init, NotInit, ProcStat, INIT_ARGV0,
};
pub use store::{lab_path, LabDir, Store};

use nsnet_lab::Plan;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{path}: damaged state: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: damaged state: {why}", path = .path.display())]
    Damaged { path: PathBuf, why: String },
    #[error(
        "{} is not a directory nsnet made (a symlink?); nsnet never follows one there: \
         remove it by hand",
        .path.display()
    )]
    NotADir { path: PathBuf },
    #[error(
        "{} was not made by nsnet: {why}; nsnet trusts nothing there (remove it by hand if it \
         is junk)",
        .path.display()
    )]
    NotOurs { path: PathBuf, why: String },
    #[error("`{given}` is not a lab name: it {why} (a lab name is 1-12 characters of a-z, 0-9 and -, starting with a letter)")]
    BadName { given: String, why: String },
    #[error("`{given}` names no lab: {why} (give a lab's name, or its lab file)")]
    NotALab { given: String, why: String },
    #[error(transparent)]
    LabFile(#[from] nsnet_lab::LabErrors),
    #[error("no lab is up")]
    NoLab,
    #[error("lab '{0}' is not up")]
    NotUp(String),
    #[error("several labs are up ({})", .0.join(", "))]
    Ambiguous(Vec<String>),
    #[error("lab '{lab}' has no node '{node}' (nodes: {})", .nodes.join(", "))]
    NoNode {
        lab: String,
        node: String,
        nodes: Vec<String>,
    },
    #[error("lab '{lab}' is busy: {} holds its lock", .holder.as_deref().unwrap_or("another nsnet"))]
    Busy { lab: String, holder: Option<String> },
}

/// `/run/nsnet/<lab>/logs/<node>.log`; the node init opens it by path (checked names only).
pub fn log_path(lab: &LabName, node: &str) -> PathBuf {
    lab_path(lab).join(log_rel(node))
}

/// The log's path relative to the lab dir.
pub fn log_rel(node: &str) -> String {
    format!("logs/{node}.log")
}

/// Every node's init config, one JSON document after another; each init is told its byte
/// range (one file, not one per node: creating files is most of the cost on a disk /run).
pub const INIT_CONFIGS: &str = "init.json";
pub const HOSTS: &str = "hosts";
pub const PLAN: &str = "plan.json";
pub const NODES: &str = "nodes.json";

/// The file `up` creates in the lab dir once every node has started: from then on the lab
/// is built, and a node whose `up` dies keeps running (see `init`).
pub const RELEASED_FILE: &str = "released";
/// The dir of the lab dir where each node's init writes, at the end of its startup, a file
/// named after the node (a [`StartupReport`]).
pub const STARTUP_DIR: &str = "startup";

/// What a node's startup file holds: the `exec` lines that failed (empty: all went well).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartupReport {
    pub failed: Vec<String>,
}

/// A node's startup file, relative to the lab dir.
pub fn startup_rel(node: &str) -> String {
    format!("{STARTUP_DIR}/{node}")
}

/// `/run/netns/<lab>.<node>`: the dot is in no lab or node name, so no two labs' entries
/// can have the same name.
pub fn netns_path(lab: &LabName, node: &str) -> PathBuf {
    netns_dir().join(format!("{lab}.{node}"))
}

/// One node's init as recorded by `up`: a PID plus its start time, so a recycled PID is never
/// taken for our init, and the inode of the network namespace it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub name: String,
    pub pid: i32,
    pub start_time: u64,
    #[serde(default)]
    pub netns: u64,
}

impl NodeRecord {
    /// The init, if this record still describes one of `lab` (see `procs`).
    pub fn init(&self, lab: &LabName) -> Result<Init, NotInit> {
        Init::verify(
            lab,
            &self.name,
            self.pid,
            Some(self.start_time),
            Some(self.netns),
        )
    }

    pub fn is_running(&self, lab: &LabName) -> bool {
        self.init(lab).is_ok()
    }
}

/// What `up` left on disk for a lab.
#[derive(Debug, Clone)]
pub struct LabState {
    pub name: LabName,
    pub plan: Plan,
    pub nodes: Vec<NodeRecord>,
}

impl LabState {
    /// The state in `dir`; NotUp when `up` has not written it (yet).
    pub fn load(dir: &LabDir) -> Result<LabState, StateError> {
        if !dir.exists(NODES) {
            return Err(StateError::NotUp(dir.name().to_string()));
        }
        let plan: Plan = read_json(dir, PLAN)?;
        let nodes: Vec<NodeRecord> = read_json(dir, NODES)?;
        let damaged = |why: String| StateError::Damaged {
            path: dir.path(),
            why,
        };
        if plan.lab != dir.name().as_str() {
            return Err(damaged(format!("its plan is of lab `{}`", plan.lab)));
        }
        for n in plan
            .nodes
            .iter()
            .map(|n| &n.name)
            .chain(nodes.iter().map(|n| &n.name))
        {
            if !name::valid_node_name(n) {
                return Err(damaged(format!("`{n}` is not a node name")));
            }
        }
        if let Some(n) = nodes.iter().find(|n| plan.node(&n.name).is_none()) {
            return Err(damaged(format!("node `{}` is not in its plan", n.name)));
        }
        Ok(LabState {
            name: dir.name().clone(),
            plan,
            nodes,
        })
    }

    pub fn node(&self, name: &str) -> Result<&NodeRecord, StateError> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| StateError::NoNode {
                lab: self.plan.lab.clone(),
                node: name.to_string(),
                nodes: self.nodes.iter().map(|n| n.name.clone()).collect(),
            })
    }
}

fn read_json<T: serde::de::DeserializeOwned>(dir: &LabDir, rel: &str) -> Result<T, StateError> {
    let path = dir.path().join(rel);
    let text = dir.read(rel).map_err(|source| StateError::Io {
        op: "reading",
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| StateError::Parse { path, source })
}

/// Writes `value` as JSON to `rel` in the lab dir (mode 0600), replacing it atomically.
pub fn write_json<T: Serialize>(dir: &LabDir, rel: &str, value: &T) -> Result<(), StateError> {
    dir.write_with(rel, |w| {
        serde_json::to_writer(w, value).map_err(io::Error::from)
    })
}

/// Opens a file for reading, never through a symlink at its last component; used by node
/// inits for what `up` wrote for them (they check their own names first).
pub fn open_private(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Labs with state (a `nodes.json`), sorted.
pub fn list_labs() -> Vec<LabName> {
    let Ok(Some(store)) = Store::open() else {
        return Vec::new();
    };
    store
        .lab_dirs()
        .into_iter()
        .filter(|l| matches!(store.lab(l), Ok(Some(d)) if d.exists(NODES)))
        .collect()
}

/// The lab a command is about: the one given (a name or a lab file), or the only one up.
pub fn resolve_lab(given: Option<&str>) -> Result<LabName, StateError> {
    if let Some(arg) = given {
        return LabName::from_arg(arg);
    }
    let mut labs = list_labs();
    match labs.len() {
        0 => Err(StateError::NoLab),
        1 => Ok(labs.remove(0)),
        _ => Err(StateError::Ambiguous(
            labs.iter().map(|l| l.to_string()).collect(),
        )),
    }
}

/// An exclusive flock held while alive.
pub struct DirLock(#[allow(dead_code)] nix::fcntl::Flock<fs::File>);

/// Locks /run/nsnet itself (no lock file to leave behind): registering and unregistering
/// netns entries, and the /run/netns mount, never interleave between nsnet processes.
pub fn global_lock(store: &Store) -> io::Result<DirLock> {
    let f = fs::File::from(store.fd().try_clone_to_owned()?);
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map(DirLock)
        .map_err(|(_, e)| io::Error::from(e))
}

/// Marks that nsnet made /run/netns a mount point (so the last `down` undoes it).
const NETNS_MOUNT_MARK: &str = "netns-mount";

fn is_mount_point(path: &Path) -> bool {
    let path = path.to_str();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == path)
}

/// Marks that nsnet made /run/netns (so the last `down` removes it again).
const NETNS_DIR_MARK: &str = "netns-dir";

/// /run/netns, made (0755) when missing (and marked so in `store`); refused when it is not a
/// real dir of root's.
pub fn ensure_netns_dir(store: &Store) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match fs::DirBuilder::new().mode(0o755).create(netns_dir()) {
        Ok(()) => {
            let _ = store.create_file_new(NETNS_DIR_MARK);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.to_string()),
    }
    let m = fs::symlink_metadata(netns_dir()).map_err(|e| e.to_string())?;
    if !m.is_dir() {
        return Err("it is not a directory (a symlink?): nsnet does not follow it".into());
    }
    if m.uid() != nix::unistd::geteuid().as_raw() || m.mode() & 0o022 != 0 {
        return Err(format!(
            "it is owned by uid {} with mode {:o}: not a directory nsnet can trust",
            m.uid(),
            m.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Makes /run/netns a shared mount point of its own, as `ip netns add` does, unless it is
/// one already. Without it, an `ip netns add` run while a lab is up would do it then, on
/// top of our entries, hiding them from `ip netns` and from our own `down`. Call with the
/// global lock held.
pub fn ensure_netns_mount(store: &Store) -> Result<(), nix::errno::Errno> {
    use nix::mount::{mount, MsFlags};
    if is_mount_point(netns_dir()) {
        return Ok(());
    }
    mount(
        Some(netns_dir()),
        netns_dir(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )?;
    mount(
        None::<&str>,
        netns_dir(),
        None::<&str>,
        MsFlags::MS_SHARED | MsFlags::MS_REC,
        None::<&str>,
    )?;
    let _ = nix::fcntl::openat(
        store.fd(),
        NETNS_MOUNT_MARK,
        nix::fcntl::OFlag::O_CREAT
            | nix::fcntl::OFlag::O_WRONLY
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    );
    Ok(())
}

/// Undoes `ensure_netns_mount` once /run/netns holds no entry at all (ours or anyone's), so
/// the host's mount table is as it was before the first `up`. Call with the global lock.
pub fn release_netns_mount(store: &Store) {
    let marked = nix::sys::stat::fstatat(
        store.fd(),
        NETNS_MOUNT_MARK,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .is_ok();
    if !marked {
        release_netns_dir(store);
        return;
    }
    let empty = fs::read_dir(netns_dir()).map_or(true, |mut d| d.next().is_none());
    if empty && is_mount_point(netns_dir()) {
        let _ = nix::mount::umount2(
            netns_dir(),
            nix::mount::MntFlags::MNT_DETACH | nix::mount::MntFlags::UMOUNT_NOFOLLOW,
        );
    }
    if empty || !is_mount_point(netns_dir()) {
        let _ = store.remove_file(NETNS_MOUNT_MARK);
    }
    release_netns_dir(store);
}

/// Removes /run/netns when nsnet made it and it is empty (and no mount point) again.
fn release_netns_dir(store: &Store) {
    let marked = nix::sys::stat::fstatat(
        store.fd(),
        NETNS_DIR_MARK,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .is_ok();
    if !marked || is_mount_point(netns_dir()) {
        return;
    }
    // rmdir fails on a dir that is not empty: then it stays, and so does the mark.
    match fs::remove_dir(netns_dir()) {
        Ok(()) => {
            let _ = store.remove_file(NETNS_DIR_MARK);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let _ = store.remove_file(NETNS_DIR_MARK);
        }
        Err(_) => {}
    }
}

/// Whether the netns entry at `path` is the network namespace with inode `netns` (an nsfs
/// bind mount of it), or the empty file `up` makes for an entry before it binds the
/// namespace there (an `up` killed between the two leaves it: no namespace is behind it). A
/// symlink, another file or another namespace is not.
pub fn entry_is(path: &Path, netns: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    let nsfs = fs::metadata("/proc/self/ns/net").map(|m| m.dev()).ok();
    let Ok(m) = fs::symlink_metadata(path) else {
        return false;
    };
    if Some(m.dev()) == nsfs {
        return netns != 0 && m.ino() == netns;
    }
    let dir_dev = fs::symlink_metadata(netns_dir()).map(|d| d.dev()).ok();
    m.is_file()
        && m.len() == 0
        && m.mode() & 0o7777 == ENTRY_MODE
        && m.uid() == nix::unistd::geteuid().as_raw()
        && Some(m.dev()) == dir_dev
}

/// The mode of the file a netns entry is bound onto.
pub const ENTRY_MODE: u32 = 0o444;

/// Removes the netns entry at `path` (unmount, then unlink), never through a symlink.
pub fn remove_entry(path: &Path) -> io::Result<()> {
    use nix::errno::Errno;
    use nix::mount::{umount2, MntFlags};
    match umount2(path, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}
