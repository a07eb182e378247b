//! Per-node resource limits: a cgroup per node that has `cpu`, `memory` or `pids` limits,
//! under `nsnet/<lab>/<node>` of the machine's cgroup hierarchies, removed at `down`.
//!
//! Both layouts Linux machines have are served: cgroup v2 (one unified hierarchy, the
//! controllers enabled in each parent's `cgroup.subtree_control`), and cgroup v1 or hybrid
//! (a hierarchy per controller: `cpu`, `cpuacct`, `memory`, `pids`), whichever holds the
//! controller. A lab that asks for no limit makes no cgroup at all.

use crate::state::LabName;
use serde::Serialize;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use nsnet_lab::Limits;

/// The CFS period the cpu limit is expressed in (the kernel's default, 100 ms).
const CPU_PERIOD_US: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error(
        "node {node} asks for a {what} limit, but this machine has no {what} cgroup controller \
         (neither in cgroup v2 nor as a cgroup v1 hierarchy under /sys/fs/cgroup)"
    )]
    NoController { node: String, what: &'static str },
    #[error("{op} {}: {source}", .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// Where the controllers nsnet uses live on this machine.
#[derive(Debug, Clone)]
pub enum Layout {
    /// The unified hierarchy, with these controllers available at its root.
    V2 {
        root: PathBuf,
        controllers: Vec<String>,
    },
    /// Hierarchies per controller (v1, or hybrid): the mount point of each, if mounted.
    V1 {
        cpu: Option<PathBuf>,
        cpuacct: Option<PathBuf>,
        memory: Option<PathBuf>,
        pids: Option<PathBuf>,
    },
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// nsnet's own subtree in every hierarchy.
const OURS: &str = "nsnet";

impl Layout {
    /// This machine's layout, read from /proc/self/mountinfo.
    pub fn detect() -> Layout {
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut v1 = (None, None, None, None);
        let mut v2 = None;
        for line in info.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let point = left.split(' ').nth(4).unwrap_or("");
            let mut r = right.split(' ');
            let fstype = r.next().unwrap_or("");
            let opts = r.nth(1).unwrap_or("");
            if fstype == "cgroup2" && v2.is_none() {
                v2 = Some(PathBuf::from(point));
            } else if fstype == "cgroup" {
                for o in opts.split(',') {
                    let slot = match o {
                        "cpu" => &mut v1.0,
                        "cpuacct" => &mut v1.1,
                        "memory" => &mut v1.2,
                        "pids" => &mut v1.3,
                        _ => continue,
                    };
                    slot.get_or_insert_with(|| PathBuf::from(point));
                }
            }
        }
        if let Some(root) = v2 {
            let controllers: Vec<String> = fs::read_to_string(root.join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect();
            let has = |c: &str| controllers.iter().any(|x| x == c);
            // Pure v2 (or a hybrid whose unified hierarchy holds the controllers).
            if has("cpu") || has("memory") || has("pids") || v1 == (None, None, None, None) {
                return Layout::V2 { root, controllers };
            }
        }
        let _ = CGROUP_ROOT;
        Layout::V1 {
            cpu: v1.0,
            cpuacct: v1.1,
            memory: v1.2,
            pids: v1.3,
        }
    }

    /// Whether `controller` is available here.
    pub fn has(&self, controller: &str) -> bool {
        self.hierarchy(controller).is_some()
    }

    /// The hierarchy that holds `controller`, if any.
    fn hierarchy(&self, controller: &str) -> Option<&Path> {
        match self {
            Layout::V2 { root, controllers } => controllers
                .iter()
                .any(|c| c == controller)
                .then_some(root.as_path()),
            Layout::V1 {
                cpu,
                cpuacct,
                memory,
                pids,
            } => match controller {
                "cpu" => cpu.as_deref(),
                "cpuacct" => cpuacct.as_deref(),
                "memory" => memory.as_deref(),
                "pids" => pids.as_deref(),
                _ => None,
            },
        }
    }

    /// Every hierarchy nsnet may have made groups in (each once).
    fn hierarchies(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = ["cpu", "cpuacct", "memory", "pids"]
            .iter()
            .filter_map(|c| self.hierarchy(c).map(Path::to_path_buf))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CgroupError {
    let path = path.to_path_buf();
    move |source| CgroupError::Io { op, path, source }
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::write(path, value).map_err(io_err("writing", path))
}

fn mkdir(path: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(path) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(io_err("creating", path)(e)),
        _ => Ok(()),
    }
}

/// The controllers a node's limits need: (limit kind, controller).
fn needed(l: &Limits) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if l.millicpu.is_some() {
        out.push(("cpu", "cpu"));
    }
    if l.memory.is_some() {
        out.push(("memory", "memory"));
    }
    if l.pids.is_some() {
        out.push(("pids", "pids"));
    }
    out
}

/// Checks before anything is built that every limit has its controller here.
pub fn check(layout: &Layout, nodes: &[(String, Limits)]) -> Result<(), CgroupError> {
    for (node, l) in nodes {
        for (what, c) in needed(l) {
            if layout.hierarchy(c).is_none() {
                return Err(CgroupError::NoController {
                    node: node.clone(),
                    what,
                });
            }
        }
    }
    Ok(())
}

/// `nsnet/<lab>/<node>` under `hierarchy`.
fn group(hierarchy: &Path, lab: &LabName, node: &str) -> PathBuf {
    hierarchy.join(OURS).join(lab.as_str()).join(node)
}

/// Makes the node's groups with its limits and moves `pid` (its init) in: everything the
/// init starts afterwards is limited too.
pub fn enter(
    layout: &Layout,
    lab: &LabName,
    node: &str,
    limits: &Limits,
    pid: i32,
) -> Result<(), CgroupError> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut make = |hierarchy: &Path, controller: &str| -> Result<PathBuf, CgroupError> {
        let dir = group(hierarchy, lab, node);
        if !dirs.contains(&dir) {
            make_path(layout, hierarchy, &dir, controller)?;
            dirs.push(dir.clone());
        }
        Ok(dir)
    };
    let v2 = matches!(layout, Layout::V2 { .. });
    if let Some(milli) = limits.millicpu {
        let h = layout.hierarchy("cpu").expect("checked");
        let dir = make(h, "cpu")?;
        let quota = (u64::from(milli) * CPU_PERIOD_US / 1000).max(1000);
        if v2 {
            write(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))?;
        } else {
            write(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
            write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
        }
        if let Some(acct) = layout.hierarchy("cpuacct").filter(|_| !v2) {
            make(acct, "cpuacct")?;
        }
    }
    if let Some(bytes) = limits.memory {
        let h = layout.hierarchy("memory").expect("checked");
        let dir = make(h, "memory")?;
        let file = if v2 {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        write(&dir.join(file), &bytes.to_string())?;
        if v2 {
            // No swap to escape to: the limit is the limit.
            let _ = fs::write(dir.join("memory.swap.max"), "0");
        }
    }
    if let Some(n) = limits.pids {
        let h = layout.hierarchy("pids").expect("checked");
        let dir = make(h, "pids")?;
        write(&dir.join("pids.max"), &n.to_string())?;
    }
    for dir in &dirs {
        write(&dir.join("cgroup.procs"), &pid.to_string())?;
    }
    Ok(())
}

/// Makes `dir` and its parents under `hierarchy`; in v2, enables `controller` on the way.
fn make_path(
    layout: &Layout,
    hierarchy: &Path,
    dir: &Path,
    controller: &str,
) -> Result<(), CgroupError> {
    let rel = dir.strip_prefix(hierarchy).unwrap_or(dir);
    let mut at = hierarchy.to_path_buf();
    for part in rel.components() {
        if matches!(layout, Layout::V2 { .. }) {
            // A parent passes the controller down; writing one that is already on is a no-op.
            let _ = fs::write(at.join("cgroup.subtree_control"), format!("+{controller}"));
        }
        at.push(part);
        mkdir(&at)?;
    }
    Ok(())
}

/// The node's groups' `cgroup.procs`, open for writing: `nsnet exec` and `enter` open them
/// while the host's /sys/fs/cgroup is in view, and their child joins the node's groups (see
/// [`join`]) once it is in the node's namespaces.
pub fn procs_files(
    layout: &Layout,
    lab: &LabName,
    node: &str,
) -> Result<Vec<fs::File>, CgroupError> {
    let mut out = Vec::new();
    for h in layout.hierarchies() {
        let file = group(&h, lab, node).join("cgroup.procs");
        if file.exists() {
            let f = fs::OpenOptions::new()
                .write(true)
                .open(&file)
                .map_err(io_err("opening", &file))?;
            out.push(f);
        }
    }
    Ok(out)
}

/// Moves this process into the groups of `procs` (from [`procs_files`]): the programs it runs
/// are under the node's limits too.
pub fn join(procs: &mut [fs::File]) -> io::Result<()> {
    use std::io::Write;
    let me = std::process::id().to_string();
    for f in procs {
        f.write_all(me.as_bytes())?;
    }
    Ok(())
}

/// A node's usage, as its cgroups account it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    /// CPU time used, microseconds.
    pub cpu_usec: Option<u64>,
    /// Memory in use, bytes.
    pub memory: Option<u64>,
    /// Processes.
    pub pids: Option<u64>,
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// What the node's cgroups account, when it has any.
pub fn usage(layout: &Layout, lab: &LabName, node: &str) -> Option<Usage> {
    let at = |c: &str| {
        layout
            .hierarchy(c)
            .map(|h| group(h, lab, node))
            .filter(|d| d.is_dir())
    };
    let v2 = matches!(layout, Layout::V2 { .. });
    let cpu_usec = if v2 {
        at("cpu").and_then(|d| {
            let stat = fs::read_to_string(d.join("cpu.stat")).ok()?;
            stat.lines()
                .find_map(|l| l.strip_prefix("usage_usec "))?
                .trim()
                .parse()
                .ok()
        })
    } else {
        at("cpuacct").and_then(|d| read_u64(&d.join("cpuacct.usage")).map(|ns| ns / 1000))
    };
    let memory = at("memory").and_then(|d| {
        read_u64(&d.join(if v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        }))
    });
    let pids = at("pids").and_then(|d| read_u64(&d.join("pids.current")));
    let u = Usage {
        cpu_usec,
        memory,
        pids,
    };
    (u.cpu_usec.is_some() || u.memory.is_some() || u.pids.is_some()).then_some(u)
}

/// The node's cgroup dir in `controller`'s hierarchy, if it has one (for tests and status).
pub fn node_dir(layout: &Layout, controller: &str, lab: &LabName, node: &str) -> Option<PathBuf> {
    layout
        .hierarchy(controller)
        .map(|h| group(h, lab, node))
        .filter(|d| d.is_dir())
}

/// Removes every group of the lab (its processes are gone), then `nsnet/` itself when no
/// other lab has groups there: the hierarchies are as before the first `up`. Only dirs under
/// `nsnet/<lab>` are touched; a group that still has processes is reported.
pub fn remove(layout: &Layout, lab: &LabName) -> Result<(), CgroupError> {
    let mut first_err = None;
    for h in layout.hierarchies() {
        let lab_dir = h.join(OURS).join(lab.as_str());
        if let Ok(entries) = fs::read_dir(&lab_dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    if let Err(err) = fs::remove_dir(e.path()) {
                        first_err.get_or_insert(io_err("removing", &e.path())(err));
                    }
                }
            }
        }
        match fs::remove_dir(&lab_dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                first_err.get_or_insert(io_err("removing", &lab_dir)(e));
            }
            _ => {}
        }
        // The last lab out removes nsnet's subtree; another lab's groups keep it (ENOTEMPTY).
        let _ = fs::remove_dir(h.join(OURS));
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_only_what_is_limited() {
        assert!(needed(&Limits::default()).is_empty());
        let l = Limits {
            millicpu: Some(100),
            memory: None,
            pids: Some(64),
        };
        assert_eq!(needed(&l), vec![("cpu", "cpu"), ("pids", "pids")]);
        let none = Layout::V1 {
            cpu: None,
            cpuacct: None,
            memory: None,
            pids: None,
        };
        let e = check(&none, &[("h1".into(), l)]).unwrap_err();
        assert!(e.to_string().contains("no cpu cgroup controller"), "{e}");
    }
}
