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
    namespaces: nix::sched::CloneFlags,
    image: &ExecImage,
    devnull: RawFd,
    ready: RawFd,
    nofile: Option<(u64, u64)>,
) -> Result<Pid, Errno> {
    thread_local! {
        static STACK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; CHILD_STACK]);
    }
    // Only namespaces: the clone's own flags (shared memory, vfork, the exit signal) are
    // this function's business, and nothing else may change how it is sound.
    let all_ns = nix::sched::CloneFlags::CLONE_NEWNET
        | nix::sched::CloneFlags::CLONE_NEWUTS
        | nix::sched::CloneFlags::CLONE_NEWNS
        | nix::sched::CloneFlags::CLONE_NEWPID
        | nix::sched::CloneFlags::CLONE_NEWIPC
        | nix::sched::CloneFlags::CLONE_NEWUSER
        | nix::sched::CloneFlags::CLONE_NEWCGROUP;
    if !all_ns.contains(namespaces) {
        return Err(Errno::EINVAL);
    }
    let flags = namespaces.bits();
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
    take_inherited_fd(READY_FD)
}

/// An fd this process inherited at exec to own from now on (the init's ready pipe, a
/// service supervisor's report pipe), or None when `fd` is not open. Call it once per fd,
/// before anything else in the process could open or own that number.
pub fn take_inherited_fd(fd: RawFd) -> Option<OwnedFd> {
    if fd < 3 {
        return None;
    }
    nix::fcntl::fcntl(
        // SAFETY: only used for F_GETFD, which reads nothing through the fd.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .ok()?;
    // SAFETY: the fd is open (checked just above) and nothing else in this process owns it: it
    // was inherited across exec for exactly this purpose (by `clone_init`, or by systemctl's
    // `spawn` with its `keep`), stdio excluded, and each caller takes it once at startup.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// fork(2), for `exec`, `enter` and a node's `systemctl`: call it only while this process has
/// one thread.
pub fn fork() -> Result<ForkResult, Errno> {
    // SAFETY: the callers run in a process that has only its main thread at that point:
    // `ops::enter` in a CLI process (the threads nsnet starts elsewhere — wiring's workers in
    // `up`, `down`'s unmounters, the ssh relay — are scoped or joined before their command
    // returns, and `exec`/`enter` start none), and `node::systemctl` (the client and its
    // service supervisors), which never starts a thread. The child is then a complete copy
    // of the only thread and may allocate and run ordinary Rust code before it execs or exits.
    unsafe { nix::unistd::fork() }
}

/// Marks every fd from `first` up close-on-exec (close_range(2) with CLOSE_RANGE_CLOEXEC),
/// so a program about to be exec'd inherits none of them.
pub fn cloexec_from(first: RawFd) {
    // SAFETY: close_range takes integers and only changes fd flags of this process; no memory
    // is shared. Fds that Rust code still owns stay open and valid.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
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

/// pidfd_open(2): a file descriptor that refers to process `pid` for as long as it is held,
/// whatever happens to the PID number afterwards.
pub fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open takes two integers and returns a new fd or -1; no memory is shared.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// pidfd_send_signal(2): `sig` to the process `pidfd` refers to; ESRCH once it has exited.
pub fn pidfd_send_signal(pidfd: &OwnedFd, sig: Signal) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: a NULL siginfo is allowed (the kernel fills it in as kill(2) would); the fd is
    // borrowed for the call only.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// [`clone_tree`] of the file or dir at `path`.
pub fn clone_path(path: &str, read_only: bool) -> Result<OwnedFd, Errno> {
    use std::os::fd::AsFd;
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    clone_tree(fd.as_fd(), read_only)
}

/// open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount tree at `fd` (an
/// O_PATH fd of a file or dir), with everything mounted under it, made private and, when
/// `read_only`, read-only throughout (mount_setattr(2)). It can be attached anywhere later
/// with [`move_mount_to`], even once the place it came from is out of this namespace's view.
pub fn clone_tree(fd: std::os::fd::BorrowedFd<'_>, read_only: bool) -> Result<OwnedFd, Errno> {
    use std::os::fd::AsRawFd;
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    /// struct mount_attr of <linux/mount.h> (MOUNT_ATTR_SIZE_VER0).
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let flags = libc::OPEN_TREE_CLONE
        | libc::OPEN_TREE_CLOEXEC
        | libc::AT_EMPTY_PATH as libc::c_uint
        | AT_RECURSIVE;
    // SAFETY: the path is a NUL-terminated empty string that outlives the call; the fd is
    // borrowed for the call only. A non-negative result is a new fd nothing else owns.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: see above: the kernel just returned this fd to us.
    let tree = unsafe { OwnedFd::from_raw_fd(ret as RawFd) };
    let attr = MountAttr {
        attr_set: if read_only { MOUNT_ATTR_RDONLY } else { 0 },
        attr_clr: 0,
        propagation: libc::MS_PRIVATE,
        userns_fd: 0,
    };
    // SAFETY: `attr` is a valid mount_attr of the size passed, alive for the call; the path
    // is an empty C string; the fd is ours.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(tree)
}

/// move_mount(2): attaches the detached tree `tree` (from [`clone_tree`]) on `target`.
pub fn move_mount_to(tree: std::os::fd::BorrowedFd<'_>, target: &str) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    let target = cstring(target);
    // SAFETY: both paths are NUL-terminated C strings that outlive the call; the fd is
    // borrowed for the call only.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// An AF_PACKET raw socket that receives every frame (incoming and outgoing) of the
/// interface `ifindex` of the calling thread's netns, and nothing else.
pub fn packet_socket(ifindex: u32) -> std::io::Result<OwnedFd> {
    // Protocol 0 at creation: the socket receives nothing until bind sets ETH_P_ALL
    // together with the interface, so no frame of another interface slips in between
    // (what libpcap does).
    // SAFETY: socket(2) takes plain integers; a non-negative result is a new fd that
    // nothing else owns, so OwnedFd may take it.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: see above: fd is a fresh, valid descriptor owned by no one else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain old data, for which all-zero bytes are a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: the pointer is to a live, initialised sockaddr_ll and the length passed is
    // its exact size; bind(2) only reads it during the call.
    let rc = unsafe {
        libc::bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// The rows and columns of the terminal `fd` is, or None when it is no terminal.
pub fn terminal_size(fd: std::os::fd::BorrowedFd<'_>) -> Option<(u16, u16)> {
    use std::os::fd::AsRawFd;
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which points to a
    // live, writable one; `fd` is a borrowed, open descriptor.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}
