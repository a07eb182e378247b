//! Every `unsafe` block of nsnet-core lives here, each with the reason it is sound. The rest of
//! the crate calls these small, safe seams (and nix's safe wrappers), so a future rootless or
//! multi-host mode only has to swap what is behind them.

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{ForkResult, Pid};
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The signal a node init gets from the kernel when its `nsnet up` dies: not SIGTERM, so
/// the init can tell it from a `down` and survive it once the lab is released.
pub const PDEATHSIG: libc::c_int = libc::SIGPWR;

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

/// What the child of [`clone_init`] needs, prepared by the parent before the clone.
struct InitArgs<'a> {
    image: &'a ExecImage,
    devnull: RawFd,
    ready: RawFd,
    nofile: Option<(u64, u64)>,
    /// The signal mask to restore right before execve.
    mask: libc::sigset_t,
}

/// The child's stack for [`clone_init`]: the child runs on it only until execve, and the
/// parent is suspended until then (CLONE_VFORK), so one stack serves every clone.
const CHILD_STACK: usize = 64 * 1024;

/// Starts a node init: a `clone` into the new namespaces in `flags` with vfork semantics
/// (CLONE_VM|CLONE_VFORK, like posix_spawn): the child shares our memory and we wait until
/// it has exec'd, so a clone costs the same whatever our size — a fork-style clone of a
/// process holding a big plan copies its page tables and then faults on every write. The
/// child only rewires fds 0-2 to `devnull` and the ready pipe to [`READY_FD`], puts back the
/// caller's original open-files limit `nofile` (`up` raised its own), asks for [`PDEATHSIG`] when
/// its parent dies, and execs `image`. Returns the child's PID.
pub fn clone_init(
    flags: libc::c_int,
    image: &ExecImage,
    devnull: RawFd,
    ready: RawFd,
    nofile: Option<(u64, u64)>,
) -> Result<Pid, Errno> {
    thread_local! {
        static STACK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; CHILD_STACK]);
    }
    // SAFETY: all signals are blocked around the clone, so no handler of ours can run on the
    // child's stack while it shares our memory; the child restores the old mask just before
    // execve (which resets handlers). `args` and `image` outlive the clone: CLONE_VFORK
    // suspends this thread until the child has exec'd or exited. The child touches only its
    // own stack and makes async-signal-safe syscalls (dup2, fcntl, setrlimit, prctl,
    // sigprocmask, execve, _exit) on data prepared here.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let mut args = InitArgs {
            image,
            devnull,
            ready,
            nofile,
            mask: old,
        };
        let ret = STACK.with(|st| {
            let mut st = st.borrow_mut();
            let top = st.as_mut_ptr().add(st.len());
            let top = (top as usize & !15) as *mut libc::c_void;
            libc::clone(
                init_child,
                top,
                flags | libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                &mut args as *mut InitArgs as *mut libc::c_void,
            )
        });
        let err = Errno::last();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if ret < 0 {
            return Err(err);
        }
        Ok(Pid::from_raw(ret))
    }
}

/// The child side of [`clone_init`], on its own stack.
extern "C" fn init_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points to the parent's `InitArgs`, alive and unchanged while the parent is
    // suspended by CLONE_VFORK; only async-signal-safe syscalls follow.
    unsafe {
        let a = &*(arg as *const InitArgs);
        libc::dup2(a.devnull, 0);
        libc::dup2(a.devnull, 1);
        libc::dup2(a.devnull, 2);
        if a.ready == READY_FD {
            libc::fcntl(READY_FD, libc::F_SETFD, 0);
        } else {
            libc::dup2(a.ready, READY_FD);
        }
        if let Some((cur, max)) = a.nofile {
            let lim = libc::rlimit {
                rlim_cur: cur as libc::rlim_t,
                rlim_max: max as libc::rlim_t,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::prctl(libc::PR_SET_PDEATHSIG, PDEATHSIG as libc::c_ulong, 0, 0, 0);
        libc::pthread_sigmask(libc::SIG_SETMASK, &a.mask, std::ptr::null_mut());
        libc::execve(
            a.image.path.as_ptr(),
            a.image.argv.as_ptr(),
            a.image.envp.as_ptr(),
        );
        libc::_exit(127)
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
