//! A lab's state on disk and how to find what is left of it in the kernel. `up` writes it,
//! every other command reads it; `down` also works when it is missing or damaged, by finding
//! our inits in /proc and our entries in /run/netns.
//!
//! Layout (dir 0700, files 0600):
//! ```text
//! /run/nsnet/<lab>/plan.json         the Plan the lab was built from
//! /run/nsnet/<lab>/nodes.json        each node's init PID and start time
//! /run/nsnet/<lab>/hosts             the /etc/hosts every node binds read-only
//! /run/nsnet/<lab>/init.json         every init's config (InitConfig), one after another
//! /run/nsnet/<lab>/logs/<node>.log   the init's and its commands' output
//! /run/nsnet/<lab>/links.json        links taken down, rerouting, impairments (see `link`)
//! /run/nsnet/<lab>/ssh/              the lab's ssh keys and known_hosts (see `ssh`)
//! /run/netns/<lab>-<node>            the node's netns, for `ip netns exec`
//! ```

use nsnet_lab::Plan;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const STATE_ROOT: &str = "/run/nsnet";
pub const NETNS_DIR: &str = "/run/netns";
/// argv[0] of every node init; with argv[1] = `<lab>/<node>` it is how we find them in /proc.
pub const INIT_ARGV0: &str = "nsnet-init";

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
    #[error(
        "{} is not a directory nsnet made (a symlink?); nsnet never follows one there: \
         remove it by hand",
        .path.display()
    )]
    NotADir { path: PathBuf },
    #[error("no lab is up")]
    NoLab,
    #[error("lab '{0}' is not up")]
    NotUp(String),
    #[error("several labs are up ({}): pick one with --lab", .0.join(", "))]
    Ambiguous(Vec<String>),
    #[error("lab '{lab}' has no node '{node}' (nodes: {})", .nodes.join(", "))]
    NoNode {
        lab: String,
        node: String,
        nodes: Vec<String>,
    },
}

pub fn lab_dir(lab: &str) -> PathBuf {
    Path::new(STATE_ROOT).join(lab)
}

pub fn log_path(lab: &str, node: &str) -> PathBuf {
    lab_dir(lab).join("logs").join(format!("{node}.log"))
}

/// Every node's init config, one JSON document after another; each init is told its byte
/// range (one file, not one per node: creating files is most of the cost on a disk /run).
pub fn init_configs_path(lab: &str) -> PathBuf {
    lab_dir(lab).join("init.json")
}

pub fn hosts_path(lab: &str) -> PathBuf {
    lab_dir(lab).join("hosts")
}

pub fn netns_path(lab: &str, node: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(format!("{lab}-{node}"))
}

/// One node's init as recorded by `up`: a PID plus its start time, so a recycled PID is never
/// taken for our init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub name: String,
    pub pid: i32,
    pub start_time: u64,
}

impl NodeRecord {
    pub fn is_running(&self) -> bool {
        is_running(self.pid, self.start_time)
    }
}

/// What `up` left on disk for a lab.
#[derive(Debug, Clone)]
pub struct LabState {
    pub plan: Plan,
    pub nodes: Vec<NodeRecord>,
}

impl LabState {
    pub fn load(lab: &str) -> Result<LabState, StateError> {
        let dir = check_lab_dir(lab)?;
        if !dir.join("nodes.json").exists() {
            return Err(StateError::NotUp(lab.to_string()));
        }
        Ok(LabState {
            plan: read_json(&dir.join("plan.json"))?,
            nodes: read_json(&dir.join("nodes.json"))?,
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

/// Opens a state file for reading; never through a symlink at its last component (the lab
/// dir above it is checked by [`check_lab_dir`]).
pub fn open_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Reads a whole state file (see [`open_private`]).
pub fn read_private(path: &Path) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    io::Read::read_to_end(&mut open_private(path)?, &mut v)?;
    Ok(v)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StateError> {
    let text = read_private(path).map_err(|source| StateError::Io {
        op: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| StateError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` as JSON to `path` (mode 0600), replacing it atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let text = serde_json::to_vec(value).map_err(|source| StateError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    write_private(path, &text)
}

/// Writes a file readable by root only.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), StateError> {
    let io_err = |source| StateError::Io {
        op: "writing",
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    // O_NOFOLLOW: a symlink planted at the temp name is refused, not written through; the
    // rename then replaces whatever is at `path` (a symlink there included) without following it.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(io_err)?;
    io::Write::write_all(&mut f, data).map_err(io_err)?;
    fs::rename(&tmp, path).map_err(io_err)
}

/// The lab's state dir, unless something other than a real directory is there: nsnet never
/// follows a symlink it did not make under /run/nsnet.
pub fn check_lab_dir(lab: &str) -> Result<PathBuf, StateError> {
    let dir = lab_dir(lab);
    match fs::symlink_metadata(&dir) {
        Ok(m) if !m.is_dir() => Err(StateError::NotADir { path: dir }),
        _ => Ok(dir),
    }
}

/// Creates /run/nsnet (0700, also when an older nsnet made it 0755); refuses a symlink there.
pub fn create_state_root() -> Result<(), StateError> {
    let io_err = |op| {
        move |source| StateError::Io {
            op,
            path: STATE_ROOT.into(),
            source,
        }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(STATE_ROOT)
        .map_err(io_err("creating"))?;
    let root = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(STATE_ROOT)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => StateError::NotADir {
                path: STATE_ROOT.into(),
            },
            _ => io_err("opening")(e),
        })?;
    root.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(io_err("setting the mode of"))
}

/// An exclusive flock held on a directory while alive. `up` holds one on its lab dir while
/// it builds the lab (others tell "being built" from "left over by a killed `up`" by trying
/// to take it); registering netns entries holds one on /run/nsnet (see [`global_lock`]).
pub struct DirLock(#[allow(dead_code)] nix::fcntl::Flock<fs::File>);

fn open_dir_nofollow(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
}

/// Creates the lab's state dir (0700) with its `init` and `logs` subdirs, locked. Creating
/// it is the lock between two `up` of one lab: the dir is built under a temporary name,
/// locked, and renamed into place only if nothing is there (RENAME_NOREPLACE), so it never
/// exists unlocked or half made while its `up` runs.
pub fn create_lab_dir(lab: &str) -> Result<(PathBuf, DirLock), StateError> {
    create_state_root()?;
    let dir = lab_dir(lab);
    let tmp = Path::new(STATE_ROOT).join(format!(".{lab}.new-{}", std::process::id()));
    let io_err = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| StateError::Io { op, path, source }
    };
    let _ = fs::remove_dir_all(&tmp);
    let mut b = fs::DirBuilder::new();
    b.mode(0o700);
    for d in [tmp.clone(), tmp.join("logs")] {
        b.create(&d).map_err(io_err("creating", &d))?;
    }
    // Who builds it, so `down` can stop this `up` (pid and start time, against PID reuse).
    let me = std::process::id() as i32;
    let started = read_stat(me).map_or(0, |s| s.start_time);
    write_private(
        &tmp.join(BUILDER_FILE),
        format!("{me} {started}\n").as_bytes(),
    )?;
    let f = open_dir_nofollow(&tmp).map_err(io_err("opening", &tmp))?;
    let lock = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| io_err("locking", &tmp)(e.into()))?;
    let moved = nix::fcntl::renameat2(
        nix::fcntl::AT_FDCWD,
        &tmp,
        nix::fcntl::AT_FDCWD,
        &dir,
        nix::fcntl::RenameFlags::RENAME_NOREPLACE,
    );
    if let Err(e) = moved {
        let _ = fs::remove_dir_all(&tmp);
        return Err(io_err("creating", &dir)(e.into()));
    }
    Ok((dir, DirLock(lock)))
}

/// The file `up` creates in the lab dir once every node has started: from then on the lab
/// is built, and a node whose `up` dies keeps running (see `init`).
pub const RELEASED_FILE: &str = "released";

/// The file in a lab dir naming the `nsnet up` that made it: `PID START_TIME`.
const BUILDER_FILE: &str = "up.pid";

/// The `nsnet up` that builds `lab`, while it runs: its PID, checked against its start time.
pub fn builder_of(lab: &str) -> Option<i32> {
    let text = read_private(&lab_dir(lab).join(BUILDER_FILE)).ok()?;
    let text = String::from_utf8(text).ok()?;
    let (pid, started) = text.trim().split_once(' ')?;
    let (pid, started): (i32, u64) = (pid.parse().ok()?, started.parse().ok()?);
    (read_stat(pid)?.start_time == started).then_some(pid)
}

/// Whether an `nsnet up` holds the lock of `lab`'s state dir right now.
pub fn lab_dir_locked(lab: &str) -> bool {
    let Ok(f) = open_dir_nofollow(&lab_dir(lab)) else {
        return false;
    };
    matches!(
        nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockSharedNonblock),
        Err((_, nix::errno::Errno::EWOULDBLOCK))
    )
}

/// Temporary lab dirs of `up`s that were killed before they renamed them into place.
pub fn stale_tmp_dirs(lab: &str) -> Vec<PathBuf> {
    let prefix = format!(".{lab}.new-");
    fs::read_dir(STATE_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|pid| pid.parse::<i32>().ok())
                .is_some_and(|pid| read_stat(pid).is_none())
        })
        .map(|e| e.path())
        .collect()
}

/// Labs with state on disk, sorted.
pub fn list_labs() -> Vec<String> {
    let mut labs: Vec<String> = fs::read_dir(STATE_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("nodes.json").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    labs.sort();
    labs
}

/// The lab a command is about: the one given, or the only one that is up.
pub fn resolve_lab(given: Option<&str>) -> Result<String, StateError> {
    if let Some(lab) = given {
        return Ok(lab.to_string());
    }
    let mut labs = list_labs();
    match labs.len() {
        0 => Err(StateError::NoLab),
        1 => Ok(labs.remove(0)),
        _ => Err(StateError::Ambiguous(labs)),
    }
}

/// The parts of /proc/<pid>/stat we need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub start_time: u64,
}

pub fn read_stat(pid: i32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    // The command name (field 2) may hold spaces and parens: fields are counted after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

/// True when `pid` is still the process that started at `start_time` and has not exited (a
/// zombie has already left its namespaces).
pub fn is_running(pid: i32, start_time: u64) -> bool {
    matches!(read_stat(pid), Some(s) if s.start_time == start_time && s.state != 'Z' && s.state != 'X')
}

/// A node init found in /proc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundInit {
    pub pid: i32,
    pub start_time: u64,
    pub lab: String,
    pub node: String,
}

/// Every live node init (of `lab`, or of all labs), found by its command line.
pub fn find_inits(lab: Option<&str>) -> Vec<FoundInit> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let Some((l, node)) = parse_init_cmdline(&cmdline) else {
            continue;
        };
        if lab.is_some_and(|want| want != l) {
            continue;
        }
        if let Some(st) = read_stat(pid).filter(|s| s.state != 'Z' && s.state != 'X') {
            found.push(FoundInit {
                pid,
                start_time: st.start_time,
                lab: l.to_string(),
                node: node.to_string(),
            });
        }
    }
    found
}

fn parse_init_cmdline(cmdline: &[u8]) -> Option<(&str, &str)> {
    let mut args = cmdline.split(|&b| b == 0);
    if args.next()? != INIT_ARGV0.as_bytes() {
        return None;
    }
    std::str::from_utf8(args.next()?).ok()?.split_once('/')
}

/// Entries under /run/netns that belong to `lab`: `<lab>-<node>` for each planned node, plus
/// any other `<lab>-*` entry no other lab with state claims (lab names may contain '-').
pub fn netns_entries(lab: &str, plan: Option<&Plan>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = plan
        .map(|p| p.nodes.iter().map(|n| netns_path(lab, &n.name)).collect())
        .unwrap_or_default();
    let prefix = format!("{lab}-");
    let others: Vec<LabState> = list_labs()
        .iter()
        .filter(|l| *l != lab && l.starts_with(&prefix))
        .filter_map(|l| LabState::load(l).ok())
        .collect();
    for entry in fs::read_dir(NETNS_DIR).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(&prefix) {
            continue;
        }
        let claimed = others.iter().any(|o| {
            o.nodes
                .iter()
                .any(|n| format!("{}-{}", o.plan.lab, n.name) == name)
        });
        let path = entry.path();
        if !claimed && !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_comm() {
        let line =
            "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        let st = parse_stat(line).unwrap();
        assert_eq!(st.state, 'S');
        assert_eq!(st.start_time, 987654);
    }

    #[test]
    fn parses_init_cmdline() {
        assert_eq!(
            parse_init_cmdline(b"nsnet-init\0lab-a/h1\0"),
            Some(("lab-a", "h1"))
        );
        assert_eq!(parse_init_cmdline(b"sleep\x001000\x00"), None);
        assert_eq!(parse_init_cmdline(b"nsnet-init\0nolab\0"), None);
    }

    #[test]
    fn reads_own_stat() {
        let me = std::process::id() as i32;
        let st = read_stat(me).unwrap();
        assert!(is_running(me, st.start_time));
        assert!(!is_running(me, st.start_time + 1));
    }
}

/// Marks that nsnet made /run/netns a mount point (so the last `down` undoes it).
const NETNS_MOUNT_MARK: &str = "/run/nsnet/netns-mount";

/// Locks the /run/nsnet directory itself (no lock file to leave behind): registering and
/// unregistering netns entries, and the /run/netns mount, never interleave between nsnet
/// processes.
pub fn global_lock() -> io::Result<DirLock> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(STATE_ROOT)?;
    let f = open_dir_nofollow(Path::new(STATE_ROOT))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map(DirLock)
        .map_err(|(_, e)| io::Error::from(e))
}

fn is_mount_point(path: &str) -> bool {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path))
}

/// Makes /run/netns a shared mount point of its own, as `ip netns add` does, unless it is
/// one already. Without it, an `ip netns add` run while a lab is up would do it then, on
/// top of our entries, hiding them from `ip netns` and from our own `down`. Call with the
/// global lock held.
pub fn ensure_netns_mount() -> Result<(), nix::errno::Errno> {
    use nix::mount::{mount, MsFlags};
    if is_mount_point(NETNS_DIR) {
        return Ok(());
    }
    mount(
        Some(NETNS_DIR),
        NETNS_DIR,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )?;
    mount(
        None::<&str>,
        NETNS_DIR,
        None::<&str>,
        MsFlags::MS_SHARED | MsFlags::MS_REC,
        None::<&str>,
    )?;
    let _ = write_private(Path::new(NETNS_MOUNT_MARK), b"made by nsnet\n");
    Ok(())
}

/// Undoes `ensure_netns_mount` once /run/netns holds no entry at all (ours or anyone's), so
/// the host's mount table is as it was before the first `up`. Call with the global lock.
pub fn release_netns_mount() {
    if !Path::new(NETNS_MOUNT_MARK).exists() {
        return;
    }
    let empty = fs::read_dir(NETNS_DIR).map_or(true, |mut d| d.next().is_none());
    if empty && is_mount_point(NETNS_DIR) {
        let _ = nix::mount::umount2(NETNS_DIR, nix::mount::MntFlags::MNT_DETACH);
    }
    if empty || !is_mount_point(NETNS_DIR) {
        let _ = fs::remove_file(NETNS_MOUNT_MARK);
    }
}
