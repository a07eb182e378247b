//! Running programs inside a node (`nsnet enter`, `nsnet exec`): join every namespace of the
//! node's init with setns, the mount namespace last, then fork so the child is inside the
//! node's PID namespace too, and exec. The parent waits and hands back the exit status.

use crate::running::{NodeError, RunningLab};
use crate::state::{Init, StateError};
use crate::sys;
use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum EnterError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("node {node}: joining its namespaces: {source}")]
    Join { node: String, source: Errno },
    #[error("{op}: {source}")]
    Sys { op: &'static str, source: Errno },
    #[error("no command given")]
    NoCommand,
}

/// A running node to join: its init, checked.
#[derive(Debug)]
pub struct NodeTarget {
    pub lab: String,
    pub node: String,
    pub init: Init,
    /// Processes started in it keep every capability (the node's `privileged`).
    pub privileged: bool,
    /// It has cgroups (limits): processes started in it join them.
    pub limited: bool,
}

/// Finds `node` in `lab` (a name or a lab file; or the only lab that is up) and checks
/// that its init runs and is the init `up` made.
pub fn locate_node(lab: Option<&str>, node: &str) -> Result<NodeTarget, EnterError> {
    let lab = RunningLab::open(lab)?;
    let live = lab.node(node)?;
    Ok(NodeTarget {
        lab: lab.name.to_string(),
        node: node.to_string(),
        privileged: live.plan.privileged,
        limited: !live.plan.limits.is_empty(),
        init: live.init,
    })
}

/// Moves this (single-threaded) process into every namespace of the node's init at once,
/// through its pidfd (one setns); children it forks afterwards are in the node's PID
/// namespace.
fn join_node(t: &NodeTarget) -> Result<(), EnterError> {
    let all = CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS;
    setns(t.init.pidfd(), all).map_err(|source| EnterError::Join {
        node: t.node.clone(),
        source,
    })
}

/// Our PATH with the node's own programs first (its `systemctl`, see
/// [`crate::node::systemctl`]): the host need not have a systemctl.
fn node_path() -> String {
    let bin = crate::node::systemctl::NODE_BIN;
    match std::env::var("PATH") {
        Ok(p) if p.split(':').any(|d| d == bin) => p,
        Ok(p) if !p.is_empty() => format!("{bin}:{p}"),
        _ => crate::node::systemctl::PATH.to_string(),
    }
}

/// The environment of a program run in a node: ours plus NSNET_LAB, NSNET_NODE, the node's
/// PATH and `extra`.
fn node_env(t: &NodeTarget, extra: &[(&str, String)]) -> Vec<CString> {
    let mut set: Vec<(Vec<u8>, Vec<u8>)> = std::env::vars_os()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
    let ours = [
        ("NSNET_LAB", t.lab.clone()),
        ("NSNET_NODE", t.node.clone()),
        ("PATH", node_path()),
    ];
    for (k, v) in ours.iter().chain(extra) {
        set.retain(|(ek, _)| ek != k.as_bytes());
        set.push((k.as_bytes().to_vec(), v.as_bytes().to_vec()));
    }
    set.into_iter()
        .filter_map(|(mut k, v)| {
            k.push(b'=');
            k.extend(v);
            CString::new(k).ok()
        })
        .collect()
}

fn cstrings(args: &[String]) -> Vec<CString> {
    args.iter().map(|a| sys::cstring(a)).collect()
}

/// Joins the node, forks, execs `argv` (searched in PATH) in the child and waits for it.
/// Returns its exit status, 128+signal when it was killed.
fn run_joined(t: &NodeTarget, argv: Vec<CString>, env: Vec<CString>) -> Result<i32, EnterError> {
    let Some(prog) = argv.first().cloned() else {
        return Err(EnterError::NoCommand);
    };
    // The node's cgroups, opened while the host's /sys/fs/cgroup is in view.
    let mut cgroups = match (t.limited, crate::state::LabName::new(&t.lab)) {
        (true, Ok(lab)) => crate::build::cgroups::procs_files(
            &crate::build::cgroups::Layout::detect(),
            &lab,
            &t.node,
        )
        .map_err(|e| EnterError::Sys {
            op: "opening the node's cgroups",
            source: match e {
                crate::build::cgroups::CgroupError::Io { source, .. } => {
                    Errno::from_raw(source.raw_os_error().unwrap_or(libc::EIO))
                }
                _ => Errno::ENOENT,
            },
        })?,
        _ => Vec::new(),
    };
    join_node(t)?;
    // The node's own /sys, if nothing has run in it yet.
    if let Err(e) = crate::node::sysfs::ensure() {
        eprintln!("nsnet: mounting the node's /sys: {}", e.desc());
    }
    let _ = io::stdout().flush();
    let tty = nix::unistd::isatty(io::stdin()).unwrap_or(false);
    match sys::fork().map_err(|source| EnterError::Sys { op: "fork", source })? {
        ForkResult::Child => {
            sys::set_signal_ignored(Signal::SIGINT, false);
            sys::set_signal_ignored(Signal::SIGQUIT, false);
            if tty {
                // The program gets the terminal as its own foreground process group: one that
                // exists in the node's PID namespace, so a shell can hand the terminal back
                // to it on exit (dash fails with ESRCH on a group of the host's namespace).
                let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
                give_terminal_to(nix::unistd::getpgrp());
            }
            let _ = nix::unistd::chdir("/");
            if let Err(e) = crate::build::cgroups::join(&mut cgroups) {
                eprintln!("nsnet: joining the node's cgroups: {e}");
                sys::exit_now(126);
            }
            if !t.privileged {
                if let Err(e) = crate::node::narrow_bounding_set() {
                    eprintln!("nsnet: {e}");
                    sys::exit_now(126);
                }
            }
            // execvpe searches the PATH of this process, not of `env`.
            std::env::set_var("PATH", node_path());
            let err = nix::unistd::execvpe(&prog, &argv, &env).unwrap_err();
            eprintln!("nsnet: {}: {err}", prog.to_string_lossy());
            sys::exit_now(if err == Errno::ENOENT { 127 } else { 126 });
        }
        ForkResult::Parent { child } => {
            // ^C and ^\ are for the program in the node; we only report how it ended.
            sys::set_signal_ignored(Signal::SIGINT, true);
            sys::set_signal_ignored(Signal::SIGQUIT, true);
            loop {
                let code = match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, code)) => code,
                    Ok(WaitStatus::Signaled(_, sig, _)) => 128 + sig as i32,
                    Ok(_) | Err(Errno::EINTR) => continue,
                    Err(source) => {
                        return Err(EnterError::Sys {
                            op: "waiting for the command",
                            source,
                        })
                    }
                };
                if tty {
                    give_terminal_to(nix::unistd::getpgrp());
                }
                return Ok(code);
            }
        }
    }
}

/// Makes `pgrp` the foreground process group of our terminal (stdin).
fn give_terminal_to(pgrp: Pid) {
    // A background group that changes the foreground group gets SIGTTOU: ignore it meanwhile.
    sys::set_signal_ignored(Signal::SIGTTOU, true);
    let _ = nix::unistd::tcsetpgrp(io::stdin(), pgrp);
    sys::set_signal_ignored(Signal::SIGTTOU, false);
}

/// Runs `argv` inside the node with our stdin/stdout/stderr. Call from the CLI only: this
/// process joins the node's namespaces.
pub fn exec_in_node(t: &NodeTarget, argv: &[String]) -> Result<i32, EnterError> {
    let env = node_env(t, &[]);
    run_joined(t, cstrings(argv), env)
}

/// Starts an interactive shell inside the node: $SHELL, else bash, else sh. Bash gets the
/// node's rc file (see rootfs/bashrc) so its prompt shows lab/node.
pub fn enter_node(t: &NodeTarget) -> Result<i32, EnterError> {
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty() && Path::new(s).exists())
        .or_else(|| {
            ["/bin/bash", "/bin/sh"]
                .into_iter()
                .find(|s| Path::new(s).exists())
                .map(String::from)
        })
        .unwrap_or_else(|| "/bin/sh".into());
    let mut argv = vec![shell.clone()];
    let mut extra = vec![("PS1", format!("[{}/{}] # ", t.lab, t.node))];
    // The rc file reaches bash as an fd (a memfd, opened as /dev/fd/N through the node's own
    // /proc), so no node keeps a copy of it: that was a page and an inode per node.
    let rc = if shell.ends_with("/bash") || shell == "bash" {
        let fd = bashrc_fd()?;
        let n = fd.as_raw_fd().to_string();
        argv.extend(["--rcfile".into(), format!("/dev/fd/{n}")]);
        extra.push(("NSNET_RCFD", n));
        Some(fd)
    } else {
        None
    };
    argv.push("-i".into());
    extra.push(("SHELL", shell));
    let env = node_env(t, &extra);
    let code = run_joined(t, cstrings(&argv), env);
    drop(rc);
    code
}

/// rootfs/bashrc in a memfd that the shell inherits (it closes the fd itself).
fn bashrc_fd() -> Result<OwnedFd, EnterError> {
    let sys_err = |op| move |source| EnterError::Sys { op, source };
    let fd = nix::sys::memfd::memfd_create(c"nsnet-bashrc", nix::sys::memfd::MFdFlags::empty())
        .map_err(sys_err("creating the rc file"))?;
    nix::unistd::write(&fd, BASHRC.as_bytes()).map_err(sys_err("writing the rc file"))?;
    Ok(fd)
}

const BASHRC: &str = include_str!("../../../../rootfs/bashrc");

/// Runs `argv` on every node of the lab at once (stdin /dev/null); writes each node's output
/// to `out` with every line prefixed by `node: `, node by node. Returns 1 if any failed.
pub fn exec_all(
    lab: Option<&str>,
    argv: &[String],
    out: &mut dyn Write,
) -> Result<i32, EnterError> {
    if argv.is_empty() {
        return Err(EnterError::NoCommand);
    }
    let lab = RunningLab::open(lab)?;
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let mut runs = Vec::with_capacity(lab.state.nodes.len());
    for rec in &lab.state.nodes {
        let t = match lab.node(&rec.name) {
            Ok(live) => NodeTarget {
                lab: lab.name.to_string(),
                node: rec.name.clone(),
                privileged: live.plan.privileged,
                limited: !live.plan.limits.is_empty(),
                init: live.init,
            },
            Err(e) => {
                runs.push((rec.name.clone(), Err(e.to_string())));
                continue;
            }
        };
        let (rd, wr) = nix::unistd::pipe().map_err(|source| EnterError::Sys {
            op: "creating a pipe",
            source,
        })?;
        match sys::fork().map_err(|source| EnterError::Sys { op: "fork", source })? {
            ForkResult::Child => {
                drop(rd);
                let _ = nix::unistd::dup2_stdout(&wr);
                let _ = nix::unistd::dup2_stderr(&wr);
                if let Ok(null) = File::open("/dev/null") {
                    let _ = nix::unistd::dup2_stdin(&null);
                }
                drop(wr);
                let code = exec_in_node(&t, argv).unwrap_or_else(|e| {
                    eprintln!("nsnet: {e}");
                    126
                });
                sys::exit_now(code);
            }
            ForkResult::Parent { child } => {
                drop(wr);
                drop(t);
                runs.push((rec.name.clone(), Ok((child, File::from(rd)))));
            }
        }
    }
    let mut failed = false;
    for (name, run) in runs {
        let (child, rd) = match run {
            Ok(r) => r,
            Err(why) => {
                let _ = writeln!(out, "{name}: {why}");
                failed = true;
                continue;
            }
        };
        let mut reader = BufReader::new(rd);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            let text = String::from_utf8_lossy(&line);
            let _ = writeln!(out, "{name}: {}", text.trim_end_matches('\n'));
            line.clear();
        }
        let ok = matches!(waitpid(child, None), Ok(WaitStatus::Exited(_, 0)));
        failed |= !ok;
    }
    Ok(i32::from(failed))
}
