//! What the machine allows, checked before `up` builds anything: a lab that cannot fit
//! fails in a moment with the limit to change, instead of after minutes with "Too many open
//! files" and a rollback. The open-files limit is raised where the hard limit allows.

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nsnet_lab::Plan;
use std::fs;

#[derive(Debug, thiserror::Error)]
#[error("lab {lab} needs {need} {what}, but {have}; {fix}")]
pub struct LimitError {
    pub lab: String,
    pub what: &'static str,
    pub need: u64,
    pub have: String,
    pub fix: String,
}

/// Open files `up` holds per node (its netns, held while the network is wired) and for
/// itself (the wiring threads' sockets and netns fds, the state files, the ready pipe).
pub(crate) const FILES_PER_NODE: u64 = 1;
pub(crate) const FILES_BASE: u64 = 256;
/// Memory a node costs at least (init, namespaces, veths; measured ~375 KiB on a big star).
pub(crate) const MEMORY_PER_NODE: u64 = 256 << 10;

pub(crate) fn read_u64(path: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Processes the lab starts: an init per node, sshd where it runs, a shell per command.
fn processes(plan: &Plan) -> u64 {
    plan.nodes
        .iter()
        .map(|n| 1 + u64::from(n.ssh) + n.exec.len() as u64)
        .sum()
}

/// Raises the soft open-files limit to what `plan` needs (up to the hard limit). Returns the
/// limit as it was, for the inits (daemons that close every fd up to the limit at start
/// would crawl with a huge one).
pub fn raise_nofile(plan: &Plan) -> Result<Option<(u64, u64)>, LimitError> {
    let need = FILES_BASE + FILES_PER_NODE * plan.nodes.len() as u64;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return Ok(None);
    };
    if hard < need {
        return Err(LimitError {
            lab: plan.lab.clone(),
            what: "open files",
            need,
            have: format!("the hard limit (ulimit -Hn) is {hard}"),
            fix: format!("raise it, e.g. `ulimit -Hn {need}` as root, or `prlimit --nofile={need}:{need} nsnet up …`"),
        });
    }
    if soft < need {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    Ok(Some((soft, hard)))
}

/// Raises the soft open-files limit to the hard one, for a command that holds an fd per
/// node (`down` holds a pidfd per init until it is gone). Nothing it starts inherits it.
pub fn raise_nofile_to_hard() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Processes, namespaces and memory: fails when the lab cannot fit.
pub fn check(plan: &Plan) -> Result<(), LimitError> {
    let lab = plan.lab.clone();
    let nodes = plan.nodes.len() as u64;
    let procs = processes(plan);
    let running = threads_running();
    for (file, what) in [
        ("/proc/sys/kernel/pid_max", "kernel.pid_max"),
        ("/proc/sys/kernel/threads-max", "kernel.threads-max"),
    ] {
        if let Some(max) = read_u64(file) {
            if running + procs > max {
                return Err(LimitError {
                    lab,
                    what: "processes",
                    need: procs,
                    have: format!("{what} is {max} and {running} are running"),
                    fix: format!(
                        "raise {what} (sysctl -w {what}={}) or make the lab smaller",
                        (running + procs) * 2
                    ),
                });
            }
        }
    }
    // The cgroup `up` runs in (its nodes start there): pids.max.
    if let Some(dir) = own_cgroup() {
        let max = fs::read_to_string(format!("{dir}/pids.max")).ok();
        let cur = read_u64(&format!("{dir}/pids.current")).unwrap_or(0);
        if let Some(max) = max.and_then(|m| m.trim().parse::<u64>().ok()) {
            if cur + procs > max {
                return Err(LimitError {
                    lab,
                    what: "processes",
                    need: procs,
                    have: format!("the cgroup {dir} allows {max} (pids.max) and has {cur}"),
                    fix: "run nsnet outside that cgroup, or raise its pids.max".into(),
                });
            }
        }
    }
    for ns in ["net", "mnt", "pid", "ipc", "uts"] {
        let key = format!("user.max_{ns}_namespaces");
        if let Some(max) = read_u64(&format!("/proc/sys/user/max_{ns}_namespaces")) {
            if nodes > max {
                return Err(LimitError {
                    lab,
                    what: "namespaces of each kind",
                    need: nodes,
                    have: format!("{key} is {max}"),
                    fix: format!("raise it (sysctl -w {key}={})", nodes * 2),
                });
            }
        }
    }
    if let Some(kib) = mem_available_kib() {
        let need = nodes * MEMORY_PER_NODE;
        if need > kib << 10 {
            return Err(LimitError {
                lab,
                what: "bytes of memory at least",
                need,
                have: format!("{} MiB are available", kib >> 10),
                fix: "make the lab smaller, or free memory".into(),
            });
        }
    }
    Ok(())
}

/// Threads of the whole machine: /proc/loadavg's 4th field is running/total.
pub(crate) fn threads_running() -> u64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// MemAvailable of /proc/meminfo, KiB.
pub(crate) fn mem_available_kib() -> Option<u64> {
    fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    })
}

/// The cgroup v2 dir of this process, when cgroup v2 is mounted at /sys/fs/cgroup.
fn own_cgroup() -> Option<String> {
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = format!("/sys/fs/cgroup{}", rel.trim_end_matches('/'));
    fs::metadata(&dir).ok()?.is_dir().then_some(dir)
}
