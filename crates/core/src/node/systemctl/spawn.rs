//! Starting a service's processes as systemd's exec step does: a clean signal state, stdin
//! from /dev/null, output into the node's log, no inherited fds, the open-files limit, umask,
//! working directory, user and groups (from the node's own /etc/passwd and /etc/group), then
//! execve. A failure before the exec is reported back through a close-on-exec pipe.

use crate::sys;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, Gid, Pid, Uid};
use std::ffi::CString;
use std::fs;
use std::os::fd::{AsFd, OwnedFd};

/// The node's log as a FIFO the init reads (see the init's `pump`).
pub const LOG_FIFO: &str = "/run/nsnet/log.fifo";

/// Where a program named without a path is looked for (systemd's fixed search path).
const SEARCH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The fd services write their output to: the node's log FIFO, or /dev/null outside a node.
/// Never the caller's terminal: a daemon holding it would keep `nsnet exec` readers waiting.
pub fn log_fd() -> OwnedFd {
    let fifo = nix::fcntl::open(
        LOG_FIFO,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()
    .filter(|fd| {
        nix::sys::stat::fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFIFO)
    });
    match fifo {
        Some(fd) => {
            // Writers block when the log is behind, as on the init's own pipe.
            let _ = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_WRONLY));
            fd
        }
        None => devnull(OFlag::O_WRONLY),
    }
}

fn devnull(flags: OFlag) -> OwnedFd {
    nix::fcntl::open("/dev/null", flags | OFlag::O_CLOEXEC, Mode::empty()).expect("/dev/null opens")
}

/// Who a process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
    pub shell: String,
}

/// `name` (or a number) in passwd-format `text`: uid, gid, home, shell.
pub fn passwd_entry(text: &str, name: &str) -> Option<(String, u32, u32, String, String)> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 7 || (f[0] != name && f[2] != name) {
            return None;
        }
        Some((
            f[0].to_string(),
            f[2].parse().ok()?,
            f[3].parse().ok()?,
            f[5].to_string(),
            f[6].to_string(),
        ))
    })
}

/// Group `name` (or a number) in group-format `text`.
pub fn group_id(text: &str, name: &str) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[0] == name).then(|| f[2].parse().ok())?
    })
}

/// The groups that list `user` as a member.
pub fn member_of(text: &str, user: &str) -> Vec<u32> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let listed = f.get(3)?.split(',').any(|m| m.trim() == user);
            listed.then(|| f[2].parse().ok())?
        })
        .collect()
}

/// The credentials for `User=`, `Group=`, `SupplementaryGroups=` from the node's files;
/// None when the service runs as root with root's groups.
pub fn creds(
    user: Option<&str>,
    group: Option<&str>,
    supplementary: &[String],
    passwd: &str,
    groups: &str,
) -> Result<Option<Creds>, String> {
    if user.is_none() && group.is_none() && supplementary.is_empty() {
        return Ok(None);
    }
    let (name, uid, mut gid, home, shell) = match user {
        Some(u) => passwd_entry(passwd, u).ok_or_else(|| format!("no user {u} in /etc/passwd"))?,
        None => ("root".into(), 0, 0, "/root".into(), "/bin/sh".into()),
    };
    if let Some(g) = group {
        gid = group_id(groups, g).ok_or_else(|| format!("no group {g} in /etc/group"))?;
    }
    let mut list = vec![gid];
    if user.is_some() {
        list.extend(member_of(groups, &name));
    }
    for g in supplementary {
        list.push(group_id(groups, g).ok_or_else(|| format!("no group {g} in /etc/group"))?);
    }
    list.sort();
    list.dedup();
    Ok(Some(Creds {
        user: name,
        uid,
        gid,
        groups: list,
        home,
        shell,
    }))
}

/// `program` as a path: itself when it has a slash, else found in the search path.
pub fn find(program: &str) -> Option<String> {
    if program.contains('/') {
        return Some(program.to_string());
    }
    SEARCH
        .iter()
        .map(|d| format!("{d}/{program}"))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
}

/// One process to start.
pub struct Exec<'a> {
    pub program: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub creds: Option<&'a Creds>,
    /// Its working directory, and whether a missing one is fine (then `/`).
    pub cwd: Option<(String, bool)>,
    pub umask: u32,
    /// RLIMIT_NOFILE; None: systemd's default soft limit of 1024.
    pub nofile: Option<(u64, u64)>,
    pub output: &'a OwnedFd,
    /// An fd the process keeps (the supervisor's report pipe); all others are closed.
    pub keep: Option<&'a OwnedFd>,
}

/// The exit status systemd gives a process that failed before its exec (its `EXIT_EXEC`,
/// `EXIT_CHDIR`, `EXIT_USER` …).
const EXIT_CHDIR: u8 = 200;
const EXIT_USER: u8 = 217;
const EXIT_EXEC: u8 = 203;

/// Forks and execs `e`; returns its PID once the exec has happened, or why it did not.
/// Call only while this process has a single thread.
pub fn spawn(e: &Exec) -> Result<Pid, String> {
    let program = find(&e.program).ok_or_else(|| format!("{}: command not found", e.program))?;
    let c = |s: &str| sys::cstring(s);
    let path = c(&program);
    let argv: Vec<CString> = e.argv.iter().map(|a| c(a)).collect();
    let env: Vec<CString> = e.env.iter().map(|(k, v)| c(&format!("{k}={v}"))).collect();
    let stdin = devnull(OFlag::O_RDONLY);
    let (err_r, err_w) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("creating a pipe: {e}"))?;
    match sys::fork().map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            drop(err_r);
            let (code, what, errno) = child(e, &path, &argv, &env, &stdin);
            let mut msg = [0u8; 5];
            msg[0] = what;
            msg[1..].copy_from_slice(&(errno as i32).to_le_bytes());
            let _ = nix::unistd::write(&err_w, &msg);
            sys::exit_now(code as i32)
        }
        ForkResult::Parent { child } => {
            drop(err_w);
            let mut msg = [0u8; 5];
            let mut got = 0;
            while got < msg.len() {
                match nix::unistd::read(&err_r, &mut msg[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(Errno::EINTR) => continue,
                    Err(_) => break,
                }
            }
            if got < msg.len() {
                return Ok(child);
            }
            let _ = nix::sys::wait::waitpid(child, None);
            let errno = Errno::from_raw(i32::from_le_bytes([msg[1], msg[2], msg[3], msg[4]]));
            let what = match msg[0] {
                0 => format!("executing {program}"),
                1 => format!(
                    "changing to the working directory {}",
                    e.cwd.as_ref().map_or("/", |(d, _)| d.as_str())
                ),
                2 => "taking the service's user and groups".to_string(),
                _ => "setting up its output".to_string(),
            };
            Err(format!("{what}: {}", errno.desc()))
        }
    }
}

/// The forked child's part of [`spawn`]: returns only on failure, with the exit status, the
/// step (0 exec, 1 chdir, 2 credentials, 3 fds) and the error.
fn child(
    e: &Exec,
    path: &CString,
    argv: &[CString],
    env: &[CString],
    stdin: &OwnedFd,
) -> (u8, u8, Errno) {
    // What the supervisor blocked or ignored must not reach the service.
    let _ = SigSet::empty().thread_set_mask();
    for s in [
        Signal::SIGPIPE,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGHUP,
        Signal::SIGTERM,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
        Signal::SIGTSTP,
        Signal::SIGCHLD,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        sys::set_signal_ignored(s, false);
    }
    let fds = nix::unistd::dup2_stdin(stdin)
        .and_then(|_| nix::unistd::dup2_stdout(e.output))
        .and_then(|_| nix::unistd::dup2_stderr(e.output));
    if let Err(err) = fds {
        return (EXIT_EXEC, 3, err);
    }
    sys::cloexec_from(3);
    if let Some(k) = e.keep {
        let _ = nix::fcntl::fcntl(
            k.as_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        );
    }
    let (soft, hard) = match e.nofile {
        Some(l) => l,
        None => {
            let (cur, max) =
                nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                    .unwrap_or((1024, 1024));
            (cur.min(1024), max)
        }
    };
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, soft, hard);
    nix::sys::stat::umask(Mode::from_bits_truncate(e.umask as libc::mode_t));
    if let Some(cr) = e.creds {
        let gids: Vec<Gid> = cr.groups.iter().map(|g| Gid::from_raw(*g)).collect();
        let r = nix::unistd::setgroups(&gids)
            .and_then(|_| nix::unistd::setgid(Gid::from_raw(cr.gid)))
            .and_then(|_| nix::unistd::setuid(Uid::from_raw(cr.uid)));
        if let Err(err) = r {
            return (EXIT_USER, 2, err);
        }
    }
    let dir = e.cwd.as_ref().map_or("/", |(d, _)| d.as_str());
    if let Err(err) = nix::unistd::chdir(dir) {
        if !e.cwd.as_ref().is_some_and(|(_, optional)| *optional) {
            return (EXIT_CHDIR, 1, err);
        }
        let _ = nix::unistd::chdir("/");
    }
    let err = nix::unistd::execve(path, argv, env).unwrap_err();
    (EXIT_EXEC, 0, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          bind:x:104:111::/var/cache/bind:/usr/sbin/nologin\n\
                          frr:x:105:112:Frr routing suite,,,:/nonexistent:/usr/sbin/nologin\n";
    const GROUP: &str =
        "root:x:0:\nbind:x:111:\nfrr:x:112:\nfrrvty:x:113:frr\nadm:x:4:syslog,frr\n";

    #[test]
    fn users_and_groups_from_the_nodes_files() {
        assert_eq!(creds(None, None, &[], PASSWD, GROUP), Ok(None));
        let c = creds(Some("frr"), None, &[], PASSWD, GROUP)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.uid, c.gid, c.groups.clone()),
            (105, 112, vec![4, 112, 113])
        );
        assert_eq!(c.home, "/nonexistent");
        let c = creds(Some("104"), Some("frr"), &["adm".into()], PASSWD, GROUP)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.user.as_str(), c.uid, c.gid, c.groups),
            ("bind", 104, 112, vec![4, 112])
        );
        let c = creds(None, Some("bind"), &[], PASSWD, GROUP)
            .unwrap()
            .unwrap();
        assert_eq!((c.uid, c.gid), (0, 111));
        assert!(creds(Some("nobody-here"), None, &[], PASSWD, GROUP).is_err());
        assert!(creds(None, Some("nogroup"), &[], PASSWD, GROUP).is_err());
    }

    #[test]
    fn programs_are_found_in_systemds_path() {
        assert_eq!(find("/x/y").as_deref(), Some("/x/y"));
        assert!(find("sh").is_some_and(|p| p.ends_with("/sh")));
        assert_eq!(find("no-such-program-nsnet"), None);
    }
}
