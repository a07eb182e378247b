//! Node inits as /proc shows them, and the proof that a PID is one: nothing is signalled or
//! joined on the word of a PID alone. An init of lab L, node N is a process that
//! - is the one that started at the recorded time (a recycled PID is someone else),
//! - runs as our uid (root), with the command line `nsnet-init L/N` exactly,
//! - is PID 1 of a PID namespace of its own, in a network namespace other than ours,
//! - and, when `up` recorded it, has the very network namespace `up` made for it.
//!
//! Every check reads through one open `/proc/<pid>` dir and a pidfd taken right after it: if
//! the process exits and its PID is reused, reads through the dir fail instead of describing
//! the newcomer, and the pidfd keeps naming the process that was checked.

use crate::sys;
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

/// `argv[0]` of every node init; with `argv[1]` = `<lab>/<node>` it is how we find them in /proc.
pub const INIT_ARGV0: &str = "nsnet-init";

/// The parts of `/proc/<pid>/stat` we need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub start_time: u64,
}

pub fn read_stat(pid: i32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

pub(crate) fn parse_stat(text: &str) -> Option<ProcStat> {
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

/// The inode of a namespace file (what `readlink /proc/PID/ns/net` shows in brackets).
pub fn ns_inode(path: &str) -> Option<u64> {
    nix::sys::stat::stat(path).ok().map(|s| s.st_ino)
}

/// Why a PID is not the init we look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotInit {
    /// No such process, or it exited (or its PID now belongs to another process).
    Gone,
    /// A live process that is not this lab's init: why.
    Other(String),
}

impl std::fmt::Display for NotInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotInit::Gone => f.write_str("it is gone"),
            NotInit::Other(why) => f.write_str(why),
        }
    }
}

/// A node init, checked (see the module's doc). Holds its /proc dir and a pidfd.
#[derive(Debug)]
pub struct Init {
    pub pid: i32,
    pub start_time: u64,
    /// The inode of its network namespace.
    pub netns: u64,
    proc_dir: OwnedFd,
    pidfd: OwnedFd,
}

impl Init {
    /// Checks that `pid` is the init of `lab`/`node`; `start_time` and `netns` as `up`
    /// recorded them, when known.
    pub fn verify(
        lab: &str,
        node: &str,
        pid: i32,
        start_time: Option<u64>,
        netns: Option<u64>,
    ) -> Result<Init, NotInit> {
        if pid <= 1 {
            return Err(NotInit::Other(format!("pid {pid} cannot be a node init")));
        }
        // Gone only when the kernel says so; anything else (out of fds, of memory) is no
        // proof, and a caller that took it for one would leave a live init behind.
        let gone = |e: Errno| match e {
            Errno::ENOENT | Errno::ESRCH => NotInit::Gone,
            e => NotInit::Other(format!("pid {pid} cannot be checked: {}", e.desc())),
        };
        let proc_dir = nix::fcntl::open(
            format!("/proc/{pid}").as_str(),
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(gone)?;
        let pidfd = sys::pidfd_open(pid).map_err(gone)?;
        let read = |name: &str| -> Result<Vec<u8>, NotInit> {
            let fd = openat(
                &proc_dir,
                name,
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(gone)?;
            let mut v = Vec::new();
            File::from(fd)
                .take(64 * 1024)
                .read_to_end(&mut v)
                .map_err(|e| gone(Errno::from_raw(e.raw_os_error().unwrap_or(libc::ESRCH))))?;
            Ok(v)
        };
        let st = parse_stat(&String::from_utf8_lossy(&read("stat")?)).ok_or(NotInit::Gone)?;
        if start_time.is_some_and(|t| t != st.start_time) || matches!(st.state, 'Z' | 'X') {
            return Err(NotInit::Gone);
        }
        let other = |why: String| Err(NotInit::Other(format!("pid {pid} {why}")));
        let cmdline = read("cmdline")?;
        let want = format!("{INIT_ARGV0}\0{lab}/{node}\0");
        if cmdline != want.as_bytes() {
            return other(format!(
                "is not the init of {lab}/{node} (its command line is `{}`)",
                String::from_utf8_lossy(&cmdline).replace('\0', " ").trim()
            ));
        }
        let status = String::from_utf8_lossy(&read("status")?).into_owned();
        let me = nix::unistd::geteuid().as_raw().to_string();
        let uids: Vec<&str> = field(&status, "Uid:").collect();
        if uids.len() != 4 || uids.iter().any(|u| *u != me) {
            return other(format!("runs as uid {}, not {me}", uids.join("/")));
        }
        let nspid: Vec<&str> = field(&status, "NSpid:").collect();
        if nspid.len() < 2 || nspid.last() != Some(&"1") {
            return other("is not PID 1 of a PID namespace of its own".into());
        }
        let ino = |fd: &OwnedFd, rel: &str| {
            nix::sys::stat::fstatat(fd, rel, nix::fcntl::AtFlags::empty())
                .map(|s| s.st_ino)
                .map_err(gone)
        };
        let its_net = ino(&proc_dir, "ns/net")?;
        if ns_inode("/proc/self/ns/net") == Some(its_net) {
            return other("shares our network namespace".into());
        }
        if netns.is_some_and(|n| n != 0 && n != its_net) {
            return other(format!(
                "is in network namespace {its_net}, not the one `nsnet up` made for {node}"
            ));
        }
        Ok(Init {
            pid,
            start_time: st.start_time,
            netns: its_net,
            proc_dir,
            pidfd,
        })
    }

    /// Sends `sig`; Ok also when it has exited meanwhile (ESRCH): the pidfd never names
    /// another process.
    pub fn signal(&self, sig: Signal) -> Result<(), Errno> {
        match sys::pidfd_send_signal(&self.pidfd, sig) {
            Err(Errno::ESRCH) => Ok(()),
            r => r,
        }
    }

    /// Whether it still runs (not exited, not a zombie).
    pub fn is_running(&self) -> bool {
        is_running(self.pid, self.start_time)
    }

    pub fn pidfd(&self) -> &OwnedFd {
        &self.pidfd
    }

    /// One of its namespace files (`net`, `mnt` …), opened through its checked /proc dir.
    pub fn open_ns(&self, ns: &str) -> Result<OwnedFd, Errno> {
        openat(
            &self.proc_dir,
            format!("ns/{ns}").as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    }

    /// The /proc dir it was checked through (for reads that must concern this process).
    pub fn proc_dir(&self) -> impl AsFd + '_ {
        self.proc_dir.as_fd()
    }

    /// What stopping it needs: its pid and start time, and its network namespace held
    /// open (see [`InitPid::take_netns`]); its /proc dir and pidfd let go — one fd a node
    /// where ten thousand are stopped at once.
    pub fn into_pid(self) -> InitPid {
        let netns = self.open_ns("net").ok();
        InitPid {
            pid: self.pid,
            start_time: self.start_time,
            netns,
        }
    }
}

/// A checked init to stop (see [`Init::into_pid`]).
#[derive(Debug)]
pub struct InitPid {
    pub pid: i32,
    pub start_time: u64,
    netns: Option<OwnedFd>,
}

impl InitPid {
    /// Sends `sig` through a pidfd opened now and proved to be the same process (its start
    /// time); Ok also when it has exited (ESRCH): the pidfd never names another process.
    pub fn signal(&self, sig: Signal) -> Result<(), Errno> {
        let pidfd = match sys::pidfd_open(self.pid) {
            Err(Errno::ESRCH) => return Ok(()),
            r => r?,
        };
        // Opened first, then checked: from the pidfd on, the pid cannot be reused.
        if !is_running(self.pid, self.start_time) {
            return Ok(());
        }
        match sys::pidfd_send_signal(&pidfd, sig) {
            Err(Errno::ESRCH) => Ok(()),
            r => r,
        }
    }

    /// Whether it still runs (not exited, not a zombie).
    pub fn is_running(&self) -> bool {
        is_running(self.pid, self.start_time)
    }

    /// Its network namespace, held open since it was checked: `down` closes a whole lab's at
    /// once, so the kernel dismantles them in one cleanup run instead of one run per few
    /// (each run compares its dying namespaces with every live one).
    pub fn take_netns(&mut self) -> Option<OwnedFd> {
        self.netns.take()
    }

    /// Its network namespace, a new fd of the one held (see [`InitPid::take_netns`]).
    pub fn netns(&self) -> Option<OwnedFd> {
        self.netns.as_ref().and_then(|f| f.try_clone().ok())
    }
}

/// The whitespace-separated values of a `Key:` line of /proc/PID/status.
fn field<'a>(status: &'a str, key: &str) -> impl Iterator<Item = &'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or("")
        .split_whitespace()
}

/// A node init found in /proc, checked.
#[derive(Debug)]
pub struct FoundInit {
    pub lab: String,
    pub node: String,
    pub init: Init,
}

/// Every live node init (of `lab`, or of all labs), found by its command line and checked
/// like any other (a process of another user that names itself `nsnet-init lab/h1` is not one).
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
        if lab.is_some_and(|want| want != l)
            || super::LabName::new(l).is_err()
            || !super::name::valid_node_name(node)
        {
            continue;
        }
        if let Ok(init) = Init::verify(l, node, pid, None, None) {
            found.push(FoundInit {
                lab: l.to_string(),
                node: node.to_string(),
                init,
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

    #[test]
    fn we_are_no_init() {
        let me = std::process::id() as i32;
        assert!(matches!(
            Init::verify("lab", "h1", me, None, None),
            Err(NotInit::Other(_))
        ));
        assert_eq!(
            Init::verify("lab", "h1", i32::MAX, None, None).unwrap_err(),
            NotInit::Gone
        );
    }
}
