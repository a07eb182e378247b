//! Every `unsafe` block of nsnet-core lives here, each with the reason it is sound. The rest of
//! the crate calls these small, safe seams (and nix's safe wrappers), so a future rootless or
//! multi-host mode only has to swap what is behind them.

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{ForkResult, Pid};
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The fd on which a node init finds the write end of the shared "ready" pipe.
pub const READY_FD: RawFd = 3;

/// A program, its argv and its environment as NUL-terminated pointer arrays, built before a
/// fork/clone so the child only has to call `execve`.
pub struct ExecImage {
    path: CString,
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

impl ExecImage {
    pub fn new(path: CString, argv: Vec<CString>, env: Vec<CString>) -> ExecImage {
        let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
        argv_p.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = env.iter().map(|s| s.as_ptr()).collect();
        envp.push(std::ptr::null());
        let mut strings = argv;
        strings.extend(env);
        ExecImage {
            path,
            _strings: strings,
            argv: argv_p,
            envp,
        }
    }
}

/// Starts a node init: a fork-style `clone` into the new namespaces in `flags`, whose child
/// only rewires fds 0-2 to `devnull` and the ready pipe to [`READY_FD`], puts back the
/// caller's original open-files limit `nofile` (`up` raised its own), asks for SIGTERM when
/// its parent dies, and execs `image`. Returns the child's PID.
pub fn clone_init(
    flags: libc::c_int,
    image: &ExecImage,
    devnull: RawFd,
    ready: RawFd,
    nofile: Option<(u64, u64)>,
) -> Result<Pid, Errno> {
    // SAFETY: with a NULL stack, clone behaves like fork: the child gets a copy of our address
    // space. The child calls only async-signal-safe functions (dup2, fcntl, setrlimit, prctl,
    // execve, _exit) on data prepared before the clone (`image` holds the C strings and the pointer
    // arrays, alive for the whole call), so it is sound even if other threads existed.
    unsafe {
        let ret = libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        );
        if ret < 0 {
            return Err(Errno::last());
        }
        if ret > 0 {
            return Ok(Pid::from_raw(ret as libc::pid_t));
        }
        libc::dup2(devnull, 0);
        libc::dup2(devnull, 1);
        libc::dup2(devnull, 2);
        if ready == READY_FD {
            libc::fcntl(READY_FD, libc::F_SETFD, 0);
        } else {
            libc::dup2(ready, READY_FD);
        }
        if let Some((cur, max)) = nofile {
            let lim = libc::rlimit {
                rlim_cur: cur as libc::rlim_t,
                rlim_max: max as libc::rlim_t,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        );
        libc::execve(
            image.path.as_ptr(),
            image.argv.as_ptr(),
            image.envp.as_ptr(),
        );
        libc::_exit(127);
    }
}

/// The ready pipe an init inherited on [`READY_FD`], or None when the fd is not open.
pub fn take_ready_fd() -> Option<OwnedFd> {
    nix::fcntl::fcntl(
        // SAFETY: only used for F_GETFD, which reads nothing through the fd.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(READY_FD) },
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .ok()?;
    // SAFETY: the fd is open (checked just above) and nothing else in the init owns it: it was
    // placed there by `clone_init` for exactly this purpose, and this is called once.
    Some(unsafe { OwnedFd::from_raw_fd(READY_FD) })
}

/// fork(2). Only called from the single-threaded CLI, before any thread is started.
pub fn fork() -> Result<ForkResult, Errno> {
    // SAFETY: the nsnet CLI never starts threads, so the child is a complete copy of the only
    // thread and may allocate and run ordinary Rust code before it execs or exits.
    unsafe { nix::unistd::fork() }
}

/// Exits at once, without running atexit handlers or flushing stdio buffers that the forked
/// child shares with its parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions; it never returns.
    unsafe { libc::_exit(code) }
}

/// Sets `sig` to be ignored (`ignore`) or back to its default action.
pub fn set_signal_ignored(sig: Signal, ignore: bool) {
    let handler = if ignore {
        nix::sys::signal::SigHandler::SigIgn
    } else {
        nix::sys::signal::SigHandler::SigDfl
    };
    // SAFETY: SIG_IGN and SIG_DFL are not functions of ours, so no handler can run
    // non-async-signal-safe code.
    let _ = unsafe { nix::sys::signal::signal(sig, handler) };
}

/// sigtimedwait(2): the next pending signal of `set` (which must be blocked), or None when
/// `timeout` passes first.
pub fn sigtimedwait(set: &SigSet, timeout: Duration) -> Option<Signal> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: the set and timespec are valid for the call; a NULL siginfo is allowed.
    let ret = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &ts) };
    if ret < 0 {
        return None;
    }
    Signal::try_from(ret).ok()
}

/// A C string from a Rust string that cannot hold NUL (names and paths we generated).
pub fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).expect("NUL bytes were removed")
}
