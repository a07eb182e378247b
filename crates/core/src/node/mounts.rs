//! A node's mount table: first computed as data ([`plan`], from the node's plan and what
//! the host's filesystem holds), then carried out ([`apply`]) by the init in its own mount
//! namespace. The computing half needs no root and is tested on its own.
//!
//! In order: every mount private (nothing propagates to or from the host); everything under
//! /run detached (other labs' state and netns entries); one tmpfs of the node's on /run, of a
//! bounded size, of which /tmp and /dev/shm are dirs. With an overlay root, the node's root
//! becomes a copy-on-write overlay (its upper layer in that tmpfs) of the host's `/` or of a
//! tree, with a `tree` as a layer above, and the init pivots into it. Then: what Debian's /run
//! holds at boot (/run/lock …); the node's own proc and sysfs; the lab's hosts file read-only
//! over /etc/hosts; /etc/hostname; the node's ssh files; its private dirs (a dir of the tmpfs
//! bound over each, parents first, with their mode and owner); its files and file trees; last
//! the node's `systemctl` (this binary) at /run/nsnet/bin/systemctl and over the root's own.

use super::InitError;
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The node's private scratch dir, inside its own /run.
pub const NODE_RUN: &str = "/run/nsnet";

/// One step of a node's mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Every mount private: nothing propagates to or from the host.
    PrivateRoot,
    /// The init's binary ([`own_binary`]) cloned as a detached mount while its filesystem is
    /// in this namespace (after an overlay root's pivot a bind of it fails with EINVAL), and
    /// private (cloned after [`Step::PrivateRoot`]); [`Step::Systemctl`] attaches it.
    HoldBinary,
    /// The lab's hosts file (held open by the init) bound read-only over the host's
    /// /etc/hosts.
    Hosts,
    /// Everything at or under /run detached.
    DetachRun,
    /// The node's tmpfs on /run.
    Tmpfs { size: u64 },
    /// An overlay of `lowers` (the first on top) with its upper layer in the node's tmpfs
    /// becomes the node's root; `host_mounts`: the host's other filesystems (/home, /boot …)
    /// are bound into it as they are (the host's `/` is the lowest layer).
    /// `carry_hosts`: the lab's hosts file bound over the host's /etc/hosts moves into the
    /// new root. The node's tmpfs (`size` bytes) is made first at `stage` (a dir of the lab
    /// dir, in view, as every layer still is) and becomes the new root's /run; the host's
    /// root, with everything mounted under it, is detached as a whole.
    OverlayRoot {
        lowers: Vec<String>,
        host_mounts: bool,
        carry_hosts: bool,
        size: u64,
        stage: String,
    },
    /// What Debian's /run holds at boot: /run/lock (1777), /run/user.
    StandardRun,
    /// A dir of the node's tmpfs (`/run/nsnet/<name>`, `mode`) bound over `target`, which
    /// is made first when `create` (it lies in something of the node's own).
    Scratch {
        name: String,
        target: String,
        mode: u32,
        create: bool,
    },
    /// A private dir: like [`Step::Scratch`], with the target's mode and owner (or those
    /// given; the target is made when missing).
    Private {
        name: String,
        dir: nsnet_lab::PrivateDir,
    },
    /// An empty read-only tmpfs on /sys in place of the host's, until the node's own sysfs
    /// is mounted over it by the first thing that runs in the node (see `node::sysfs`).
    SysPlaceholder,
    /// proc for the node's PID namespace, in place of the host's.
    KernelFs {
        fstype: &'static str,
        at: &'static str,
    },
    /// `/run/nsnet/hostname`, bound over /etc/hostname when `bind`; with an overlay root
    /// /etc/hostname is simply written (`write`).
    Hostname {
        name: String,
        bind: bool,
        write: bool,
    },
    /// The node's ssh keys and configs (see `sshd`).
    Ssh,
    /// `files` entry `index` copied to `dst` (its parent made), then bound over `target`
    /// when the target is the host's.
    File {
        index: usize,
        dst: String,
        bind_over: Option<String>,
    },
    /// `binds` entry `index` (a clone of a host file's or dir's mounts, made read-only when
    /// asked, when the init opened it) mounted on `target`,
    /// which is made first when `create` (as a dir when `dir`, else an empty file) — only
    /// ever in something of the node's own.
    Bind {
        index: usize,
        target: String,
        create: bool,
        dir: bool,
    },
    /// The init's own binary, read-only, at [`SYSTEMCTL`] (a file made in the tmpfs) and
    /// bound `over` the root's own systemctl files (only files that exist: nothing is made
    /// in the host's filesystem). The binary is the mount [`Step::HoldBinary`] cloned.
    Systemctl { over: Vec<String> },
}

/// Where every node finds nsnet's `systemctl`.
pub const SYSTEMCTL: &str = "/run/nsnet/bin/systemctl";

/// What the mount table depends on in the filesystem the node's root is made of.
pub trait HostFs {
    fn exists(&self, path: &str) -> bool;
    fn is_dir(&self, path: &str) -> bool;
    /// `path` with the symlinks of its existing ancestors resolved (Debian's /var/run is a
    /// symlink to /run: /var/run/frr is really /run/frr, inside the node's tmpfs).
    fn resolve(&self, path: &str) -> String;
}

/// A real filesystem seen from `root` (`/`: the host's own), symlinks resolved inside it as a
/// chroot would.
pub struct RealFs {
    pub root: std::path::PathBuf,
}

impl RealFs {
    pub fn host() -> RealFs {
        RealFs { root: "/".into() }
    }

    fn real(&self, path: &str) -> std::path::PathBuf {
        self.root.join(self.resolve(path).trim_start_matches('/'))
    }
}

impl HostFs for RealFs {
    fn exists(&self, path: &str) -> bool {
        fs::symlink_metadata(self.real(path)).is_ok()
    }

    fn is_dir(&self, path: &str) -> bool {
        fs::metadata(self.real(path)).is_ok_and(|m| m.is_dir())
    }

    fn resolve(&self, path: &str) -> String {
        resolve_in(&self.root, path)
    }
}

/// `path` (absolute) with every symlink of its existing components resolved within `root`:
/// an absolute link target starts again from `root`, never from the host's `/`.
fn resolve_in(root: &Path, path: &str) -> String {
    let mut todo: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .rev()
        .map(String::from)
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            done.pop();
            continue;
        }
        done.push(c);
        let here = root.join(done.join("/"));
        let Ok(target) = fs::read_link(&here) else {
            continue;
        };
        hops += 1;
        if hops > 40 {
            break;
        }
        done.pop();
        let t = target.to_string_lossy().into_owned();
        if t.starts_with('/') {
            done.clear();
        }
        todo.extend(
            t.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .rev()
                .map(String::from),
        );
    }
    format!("/{}", done.join("/"))
}

fn is_under(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// Inside the node's own tmpfs from the start.
fn in_scratch(path: &str) -> bool {
    is_under(path, "/run") || is_under(path, "/tmp")
}

/// What the node's root is made of, for [`plan`]: None for the host's own `/` as it is,
/// else the overlay's lower layers (the first on top) and whether the host's `/` is the base.
pub struct RootLayers {
    pub lowers: Vec<String>,
    pub host_base: bool,
    /// Where the node's tmpfs is made before the pivot (in the lab dir).
    pub stage: String,
}

/// The node's mount table. `layers`: an overlay root's layers; `fs`: the filesystem the
/// root is made of (its base layer), for what exists there; `host`: the host's own.
pub fn plan(
    node: &nsnet_lab::NodePlan,
    ssh: bool,
    layers: Option<&RootLayers>,
    fs: &impl HostFs,
    host: &impl HostFs,
) -> Result<Vec<Step>, InitError> {
    let overlay = layers.is_some();
    let mut steps = vec![Step::PrivateRoot, Step::HoldBinary];
    // Bound while the lab dir, where the file lives, is still in view (a bind needs its
    // source in this mount namespace); an overlay root takes it over from there.
    let hosts = host.exists("/etc/hosts");
    if hosts {
        steps.push(Step::Hosts);
    }
    match layers {
        None => {
            steps.push(Step::DetachRun);
            steps.push(Step::Tmpfs {
                size: node.tmpfs_size,
            });
        }
        Some(l) => steps.push(Step::OverlayRoot {
            lowers: l.lowers.clone(),
            host_mounts: l.host_base,
            carry_hosts: hosts,
            size: node.tmpfs_size,
            stage: l.stage.clone(),
        }),
    }
    steps.push(Step::StandardRun);
    let scratch = |name: &str, target: &str, mode, create| Step::Scratch {
        name: name.into(),
        target: target.into(),
        mode,
        create,
    };
    steps.push(scratch("tmp", "/tmp", 0o1777, overlay));
    if overlay || fs.is_dir("/dev/shm") {
        // POSIX shared memory lives here: IPC namespaces do not cover it.
        steps.push(scratch("shm", "/dev/shm", 0o1777, overlay));
    }
    steps.push(Step::KernelFs {
        fstype: "proc",
        at: "/proc",
    });
    // The node's own sysfs comes when something first runs in it (see `node::sysfs`): each
    // sysfs mount searches every other one, so ten thousand of them at `up` cost seconds.
    steps.push(Step::SysPlaceholder);
    steps.push(Step::Hostname {
        name: node.name.clone(),
        bind: !overlay && fs.exists("/etc/hostname"),
        write: overlay,
    });
    if ssh {
        steps.push(Step::Ssh);
    }
    let private = private_dirs(&node.private, fs);
    for (i, d) in private.iter().enumerate() {
        if d.path == "/run" || d.path == "/tmp" {
            continue;
        }
        let inside = private[..i].iter().any(|p| is_under(&d.path, &p.path));
        let ours = overlay || in_scratch(&d.path) || inside;
        // Made where the host lacks it: only in something of the node's own, else the host's
        // filesystem would change.
        if !ours && !fs.is_dir(&d.path) {
            return Err(InitError::PrivateMissing {
                path: d.path.clone(),
            });
        }
        steps.push(Step::Private {
            name: format!("private/{i}"),
            dir: d.clone(),
        });
    }
    for (index, file) in node.files.iter().enumerate() {
        let target = fs.resolve(&file.path);
        let ours =
            overlay || in_scratch(&target) || private.iter().any(|d| is_under(&target, &d.path));
        let step = if ours {
            Step::File {
                index,
                dst: target,
                bind_over: None,
            }
        } else if fs.exists(&target) {
            Step::File {
                index,
                dst: format!("{NODE_RUN}/files/{index}"),
                bind_over: Some(target),
            }
        } else {
            let dir = Path::new(&target)
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "/".into());
            return Err(InitError::FileTargetMissing { path: target, dir });
        };
        steps.push(step);
    }
    let mut over: Vec<String> = ["/usr/bin/systemctl", "/bin/systemctl"]
        .iter()
        .map(|p| fs.resolve(p))
        .filter(|p| fs.exists(p) && !fs.is_dir(p))
        .collect();
    over.dedup();
    steps.push(Step::Systemctl { over });
    // Last: a bind shadows what the steps before put under it, and nothing above writes
    // into a host dir bound in.
    for (index, b) in node.binds.iter().enumerate() {
        let target = fs.resolve(&b.path);
        let ours =
            overlay || in_scratch(&target) || private.iter().any(|d| is_under(&target, &d.path));
        let exists = fs.exists(&target);
        if !exists && !ours {
            return Err(InitError::BindTargetMissing { path: target });
        }
        steps.push(Step::Bind {
            index,
            target,
            create: !exists,
            dir: host.is_dir(&b.source.display().to_string()),
        });
    }
    Ok(steps)
}

/// The private dirs as the node sees them: resolved, sorted (parents first), once each.
fn private_dirs(dirs: &[nsnet_lab::PrivateDir], fs: &impl HostFs) -> Vec<nsnet_lab::PrivateDir> {
    let mut dirs: Vec<nsnet_lab::PrivateDir> = dirs
        .iter()
        .map(|d| nsnet_lab::PrivateDir {
            path: fs.resolve(d.path.trim_end_matches('/')),
            ..d.clone()
        })
        .filter(|d| d.path != "/")
        .collect();
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    dirs.dedup_by(|a, b| a.path == b.path);
    dirs
}

/// What carrying out the steps needs besides paths: files the init opened while the host's
/// /run was still in view.
pub struct Opened {
    pub hosts: File,
    /// Each `files` source, in plan order.
    pub sources: Vec<Source>,
    /// Each `binds` source, a detached clone of its mount tree, in plan order.
    pub binds: Vec<std::os::fd::OwnedFd>,
    pub ssh: Option<super::sshd::NodeSsh>,
    /// The init's binary as a detached mount, from [`Step::HoldBinary`].
    pub exe: Option<std::os::fd::OwnedFd>,
}

/// Carries out `steps` in this process's (the init's) mount namespace.
pub fn apply(steps: &[Step], opened: &mut Opened) -> Result<(), InitError> {
    for step in steps {
        match step {
            Step::PrivateRoot => mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .map_err(mount_err("making private", "/"))?,
            // Without open_tree (before Linux 5.2) a host-root node binds the path instead.
            Step::HoldBinary => {
                opened.exe = own_binary().and_then(|p| crate::sys::clone_path(&p, true).ok())
            }
            Step::Hosts => {
                // Through the fd opened before (no path to swap): every node shares the one
                // file's pages, instead of a copy each that grows with the lab.
                let src = format!("/proc/self/fd/{}", opened.hosts.as_raw_fd());
                bind_mount(&src, "/etc/hosts")?;
                mount(
                    None::<&str>,
                    "/etc/hosts",
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                    None::<&str>,
                )
                .map_err(mount_err("making read-only", "/etc/hosts"))?;
            }
            Step::DetachRun => detach_run()?,
            // One tmpfs per node: a superblock costs ~5 KiB of kernel memory and time at exit;
            // a bind mount ~0.3 KiB.
            Step::Tmpfs { size } => mount(
                Some("tmpfs"),
                "/run",
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(format!("mode=0755,size={size}").as_str()),
            )
            .map_err(mount_err("mounting a tmpfs on", "/run"))?,
            Step::Scratch {
                name,
                target,
                mode,
                create,
            } => {
                if *create {
                    fs::create_dir_all(target).map_err(io_err("creating", target))?;
                }
                let dir = format!("{NODE_RUN}/{name}");
                fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
                fs::set_permissions(&dir, fs::Permissions::from_mode(*mode))
                    .map_err(io_err("setting the mode of", &dir))?;
                bind_mount(&dir, target)?;
            }
            Step::KernelFs { fstype, at } => {
                // Mounted over the host's, which stays hidden beneath in the node's mount
                // namespace: unmounting it first cost each node a wait for an RCU grace
                // period (a quarter of the time to start 1,000 nodes).
                // A tree's root may lack the mount point.
                let _ = fs::create_dir_all(at);
                mount(
                    Some(*fstype),
                    *at,
                    Some(*fstype),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                    None::<&str>,
                )
                .map_err(mount_err("mounting", at))?;
            }
            Step::SysPlaceholder => {
                // Over the host's /sys, like proc above.
                let _ = fs::create_dir_all("/sys");
                mount(
                    Some("tmpfs"),
                    "/sys",
                    Some("tmpfs"),
                    MsFlags::MS_NOSUID
                        | MsFlags::MS_NODEV
                        | MsFlags::MS_NOEXEC
                        | MsFlags::MS_RDONLY,
                    Some("size=4k,nr_inodes=1,mode=0555"),
                )
                .map_err(mount_err("mounting", "/sys"))?;
            }
            Step::Hostname { name, bind, write } => {
                fs::create_dir_all(NODE_RUN).map_err(io_err("creating", NODE_RUN))?;
                let file = format!("{NODE_RUN}/hostname");
                fs::write(&file, format!("{name}\n")).map_err(io_err("writing", &file))?;
                if *bind {
                    bind_mount(&file, "/etc/hostname")?;
                } else if *write {
                    // The node's own root: its copy of /etc/hostname.
                    let _ = fs::create_dir_all("/etc");
                    fs::write("/etc/hostname", format!("{name}\n"))
                        .map_err(io_err("writing", "/etc/hostname"))?;
                }
            }
            Step::OverlayRoot {
                lowers,
                host_mounts,
                carry_hosts,
                size,
                stage,
            } => overlay_root(lowers, *host_mounts, *carry_hosts, *size, stage)?,
            Step::StandardRun => {
                for (dir, mode) in [("/run/lock", 0o1777), ("/run/user", 0o755)] {
                    fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
                    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
                        .map_err(io_err("setting the mode of", dir))?;
                }
            }
            Step::Private { name, dir } => private_dir(name, dir)?,
            Step::Ssh => {
                if let Some(ssh) = opened.ssh.take() {
                    ssh.install()?;
                }
            }
            // A node without its systemctl still runs: the log says why it has none.
            Step::Systemctl { over } => {
                if let Err(e) = systemctl(opened.exe.take(), over) {
                    eprintln!("nsnet-init: this node has no systemctl: {e}");
                    // The empty mount point, unless the binary is on it already (EBUSY).
                    let _ = fs::remove_file(SYSTEMCTL);
                }
            }
            Step::File {
                index,
                dst,
                bind_over,
            } => {
                match &mut opened.sources[*index] {
                    Source::File { file, len } => copy_file(file, *len, dst)?,
                    Source::Tree { dir, limit } => {
                        if let Some(parent) = Path::new(dst).parent() {
                            fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
                        }
                        let mut budget = *limit;
                        copy_tree(dir, Path::new(dst), &mut budget, 0)?
                    }
                }
                if let Some(target) = bind_over {
                    let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
                    mount(
                        Some(dst.as_str()),
                        target.as_str(),
                        None::<&str>,
                        flags,
                        None::<&str>,
                    )
                    .map_err(mount_err("bind-mounting over", target))?;
                }
            }
            Step::Bind {
                index,
                target,
                create,
                dir,
            } => {
                if *create {
                    let t = Path::new(target);
                    if *dir {
                        fs::create_dir_all(t).map_err(io_err("creating", t))?;
                    } else {
                        if let Some(parent) = t.parent() {
                            fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
                        }
                        fs::OpenOptions::new()
                            .write(true)
                            .create(true)
                            .truncate(false)
                            .open(t)
                            .map_err(io_err("creating", t))?;
                    }
                }
                // The tree cloned when the source was opened (read-only already if asked).
                crate::sys::move_mount_to(std::os::fd::AsFd::as_fd(&opened.binds[*index]), target)
                    .map_err(mount_err("bind-mounting over", target))?;
            }
        }
    }
    Ok(())
}

/// A `files` source, opened once without following a symlink or blocking on a FIFO.
#[derive(Debug)]
pub enum Source {
    /// A regular file and its length.
    File { file: File, len: u64 },
    /// A directory (copied whole; `limit` bytes at most).
    Tree {
        dir: std::os::fd::OwnedFd,
        limit: u64,
    },
}

/// Copies the tree under `dir` to `dst` (made), keeping modes, owners and symlinks; every
/// file within what is left of `budget` bytes. Nothing is followed: a symlink is copied as
/// one.
fn copy_tree(
    dir: &std::os::fd::OwnedFd,
    dst: &Path,
    budget: &mut u64,
    depth: usize,
) -> Result<(), InitError> {
    use nix::fcntl::{openat, OFlag};
    use nix::sys::stat::{fstat, Mode};
    use std::os::unix::fs::{lchown, symlink};
    let err = |why: String| InitError::Source {
        path: dst.display().to_string(),
        source_path: "(a tree)".into(),
        why,
    };
    if depth > 64 {
        return Err(err("is nested more than 64 dirs deep".into()));
    }
    let st = fstat(dir).map_err(|e| err(e.to_string()))?;
    match fs::create_dir(dst) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            return Err(io_err("creating", dst)(e));
        }
        _ => {}
    }
    let _ = fs::set_permissions(dst, fs::Permissions::from_mode(st.st_mode & 0o7777));
    let _ = lchown(dst, Some(st.st_uid), Some(st.st_gid));
    let names: Vec<std::ffi::OsString> = {
        let d = openat(
            dir,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| err(e.to_string()))?;
        let mut d = nix::dir::Dir::from_fd(d).map_err(|e| err(e.to_string()))?;
        d.iter()
            .flatten()
            .map(|e| std::ffi::OsStr::from_bytes(e.file_name().to_bytes()).to_os_string())
            .filter(|n| n != "." && n != "..")
            .collect()
    };
    for name in names {
        let to = dst.join(&name);
        let st = nix::sys::stat::fstatat(
            dir,
            name.as_os_str(),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| err(e.to_string()))?;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                let sub = openat(
                    dir,
                    name.as_os_str(),
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| err(e.to_string()))?;
                copy_tree(&sub, &to, budget, depth + 1)?;
            }
            libc::S_IFREG => {
                let len = st.st_size as u64;
                if len > *budget {
                    return Err(err(format!(
                        "holds more than the node's tmpfs_size (at {})",
                        to.display()
                    )));
                }
                *budget -= len;
                let f = openat(
                    dir,
                    name.as_os_str(),
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| err(e.to_string()))?;
                let mut f = File::from(f);
                let _ = fs::remove_file(&to);
                copy_file(&mut f, len, &to.to_string_lossy())?;
                let _ = lchown(&to, Some(st.st_uid), Some(st.st_gid));
            }
            libc::S_IFLNK => {
                let target = nix::fcntl::readlinkat(dir, name.as_os_str())
                    .map_err(|e| err(e.to_string()))?;
                let _ = fs::remove_file(&to);
                symlink(&target, &to).map_err(io_err("creating", &to))?;
                let _ = lchown(&to, Some(st.st_uid), Some(st.st_gid));
            }
            // FIFOs, sockets and devices are not copied.
            _ => {}
        }
    }
    Ok(())
}

/// Makes the overlay of `lowers` (in the node's tmpfs: upper, work and the mount point) the
/// node's root: binds /dev (and with `host_mounts` the host's other filesystems) into it,
/// pivots into it and moves the node's tmpfs to its /run.
fn overlay_root(
    lowers: &[String],
    host_mounts: bool,
    carry_hosts: bool,
    size: u64,
    stage: &str,
) -> Result<(), InitError> {
    fs::create_dir_all(stage).map_err(io_err("creating", stage))?;
    mount(
        Some("tmpfs"),
        stage,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(format!("mode=0755,size={size}").as_str()),
    )
    .map_err(mount_err("mounting a tmpfs on", stage))?;
    let base = format!("{stage}/nsnet/root");
    let (upper, work, new) = (
        format!("{base}/upper"),
        format!("{base}/work"),
        format!("{base}/new"),
    );
    for d in [&upper, &work, &new] {
        fs::create_dir_all(d).map_err(io_err("creating", d))?;
    }
    // Before anything else: the host's filesystems other than `/` (read from the host view).
    let others = if host_mounts {
        fs::read_to_string("/proc/self/mountinfo")
            .map(|info| host_filesystems(&info))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    // overlayfs refuses a layer inside another on one filesystem (ELOOP, "overlapping
    // lowerdir path"): a tree on the host's root filesystem, over the host's `/`, is a copy
    // in the node's tmpfs.
    let mut lowers = lowers.to_vec();
    if host_mounts {
        use std::os::unix::fs::MetadataExt;
        let root_dev = fs::metadata("/").map(|m| m.dev()).ok();
        let trees = lowers.len().saturating_sub(1);
        let (trees, _base) = lowers.split_at_mut(trees);
        let mut budget = size;
        for (i, tree) in trees.iter_mut().enumerate() {
            if fs::metadata(&*tree).map(|m| m.dev()).ok() != root_dev {
                continue;
            }
            let dir = nix::fcntl::open(
                tree.as_str(),
                nix::fcntl::OFlag::O_RDONLY
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(mount_err("opening the tree", tree.as_str()))?;
            let copy = format!("{base}/layer{i}");
            copy_tree(&dir, Path::new(&copy), &mut budget, 0)?;
            *tree = copy;
        }
    }
    let opts = format!(
        "lowerdir={},upperdir={upper},workdir={work}",
        lowers.join(":")
    );
    mount(
        Some("overlay"),
        new.as_str(),
        Some("overlay"),
        MsFlags::empty(),
        Some(opts.as_str()),
    )
    .map_err(mount_err("mounting the node's overlay root on", &new))?;
    let rbind = MsFlags::MS_BIND | MsFlags::MS_REC;
    for point in std::iter::once("/dev".to_string()).chain(others) {
        let at = format!("{new}{point}");
        if fs::create_dir_all(&at).is_err() {
            continue;
        }
        mount(
            Some(point.as_str()),
            at.as_str(),
            None::<&str>,
            rbind,
            None::<&str>,
        )
        .map_err(mount_err("binding into the node's root", &at))?;
    }
    let old = format!("{new}/.nsnet-old-root");
    fs::create_dir_all(&old).map_err(io_err("creating", &old))?;
    nix::unistd::pivot_root(new.as_str(), old.as_str())
        .map_err(mount_err("pivoting into the node's root", &new))?;
    nix::unistd::chdir("/").map_err(mount_err("changing to", "/"))?;
    let _ = fs::create_dir_all("/run");
    let staged = format!("/.nsnet-old-root{stage}");
    mount(
        Some(staged.as_str()),
        "/run",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .map_err(mount_err("moving the node's tmpfs to", "/run"))?;
    if carry_hosts {
        if fs::symlink_metadata("/etc/hosts").is_err() {
            let _ = fs::create_dir_all("/etc");
            File::create("/etc/hosts").map_err(io_err("creating", "/etc/hosts"))?;
        }
        let flags = MsFlags::MS_BIND;
        mount(
            Some("/.nsnet-old-root/etc/hosts"),
            "/etc/hosts",
            None::<&str>,
            flags,
            None::<&str>,
        )
        .map_err(mount_err("binding the lab's hosts file over", "/etc/hosts"))?;
        mount(
            None::<&str>,
            "/etc/hosts",
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(mount_err("making read-only", "/etc/hosts"))?;
    }
    umount2("/.nsnet-old-root", MntFlags::MNT_DETACH)
        .map_err(mount_err("detaching the host's root", "/.nsnet-old-root"))?;
    let _ = fs::remove_dir("/.nsnet-old-root");
    Ok(())
}

/// The host's filesystems besides `/` and the kernel's own (/proc, /sys, /dev, /run, /tmp),
/// topmost only: a copy-on-write root of the host's `/` gets them as they are.
fn host_filesystems(mountinfo: &str) -> Vec<String> {
    let mut points: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| {
            p != "/"
                && !["/proc", "/sys", "/dev", "/run", "/tmp"]
                    .iter()
                    .any(|k| p == k || is_under(p, k))
        })
        .collect();
    points.sort();
    points.dedup();
    let mut top: Vec<String> = Vec::new();
    for p in points {
        if !top.iter().any(|t| is_under(&p, t)) {
            top.push(p);
        }
    }
    top
}

/// A private dir: an empty dir of the node's tmpfs, with the target's mode and owner (or the
/// ones given, names looked up in the node's /etc/passwd and /etc/group), bound over it.
fn private_dir(name: &str, d: &nsnet_lab::PrivateDir) -> Result<(), InitError> {
    use std::os::unix::fs::MetadataExt;
    let target = d.path.as_str();
    let host = fs::metadata(target).ok().filter(|m| m.is_dir());
    if host.is_none() {
        fs::create_dir_all(target).map_err(io_err("creating", target))?;
    }
    let mode = d
        .mode
        .or(host.as_ref().map(|m| m.mode() & 0o7777))
        .unwrap_or(0o755);
    let lookup =
        |who: &Option<String>, file: &str, fallback: Option<u32>| -> Result<u32, InitError> {
            match who {
                None => Ok(fallback.unwrap_or(0)),
                Some(n) => id_of(n, file).ok_or_else(|| InitError::Io {
                    op: "looking up",
                    path: format!("{n} in the node's {file}"),
                    source: io::ErrorKind::NotFound.into(),
                }),
            }
        };
    let uid = lookup(&d.owner, "/etc/passwd", host.as_ref().map(|m| m.uid()))?;
    let gid = lookup(&d.group, "/etc/group", host.as_ref().map(|m| m.gid()))?;
    let dir = format!("{NODE_RUN}/{name}");
    fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
        .map_err(io_err("setting the owner of", &dir))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(mode))
        .map_err(io_err("setting the mode of", &dir))?;
    bind_mount(&dir, target)
}

/// The id of user or group `name` (a number is itself) in a passwd-style `file`.
fn id_of(name: &str, file: &str) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

/// Copies `len` bytes of `src` to `dst` (its parent made), keeping the source's mode.
fn copy_file(src: &mut File, len: u64, dst: &str) -> Result<(), InitError> {
    if let Some(parent) = Path::new(dst).parent() {
        fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
    }
    let mode = src
        .metadata()
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let mut out = File::create(dst).map_err(io_err("writing", dst))?;
    io::copy(&mut src.take(len), &mut out).map_err(io_err("writing", dst))?;
    let _ = out.set_permissions(fs::Permissions::from_mode(mode));
    Ok(())
}

fn io_err(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> InitError {
    let path = path.as_ref().display().to_string();
    move |source| InitError::Io { op, path, source }
}

fn mount_err<'a>(op: &'static str, path: &'a str) -> impl FnOnce(Errno) -> InitError + 'a {
    move |source| InitError::Mount {
        op,
        path: path.to_string(),
        source,
    }
}

/// The path of the init's binary, to be resolved in the init's own mount namespace. Not
/// /proc/self/exe itself: that link holds the mount of the host's namespace the binary was
/// exec'd from (`up` execs /proc/self/exe), and a bind or open_tree of a mount outside this
/// namespace fails with EINVAL. None when the file is gone (rebuilt while the lab ran).
pub fn own_binary() -> Option<String> {
    let p = fs::read_link("/proc/self/exe").ok()?;
    let p = p.to_str()?;
    (!p.ends_with(" (deleted)")).then(|| p.to_string())
}

/// [`Step::Systemctl`]: `exe` (or, without one, [`own_binary`]) at [`SYSTEMCTL`], read-only,
/// then bound over each of `over` (a bind keeps the read-only flag).
fn systemctl(exe: Option<std::os::fd::OwnedFd>, over: &[String]) -> Result<(), InitError> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = Path::new(SYSTEMCTL).parent().unwrap_or(Path::new(NODE_RUN));
    fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o755)
        .open(SYSTEMCTL)
        .map_err(io_err("creating", SYSTEMCTL))?;
    match exe {
        Some(fd) => crate::sys::move_mount_to(std::os::fd::AsFd::as_fd(&fd), SYSTEMCTL)
            .map_err(mount_err("attaching the init's binary at", SYSTEMCTL))?,
        None => bind_mount(&own_binary().unwrap_or_default(), SYSTEMCTL)?,
    }
    let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    mount(None::<&str>, SYSTEMCTL, None::<&str>, ro, None::<&str>)
        .map_err(mount_err("making read-only", SYSTEMCTL))?;
    for target in over {
        bind_mount(SYSTEMCTL, target)?;
    }
    Ok(())
}

fn bind_mount(src: &str, dst: &str) -> Result<(), InitError> {
    mount(Some(src), dst, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(mount_err("bind-mounting over", dst))
}

/// Detaches everything at or under /run. The copied mount table holds the nsfs bind mounts of
/// other labs' /run/netns entries and their state dirs: left here they would keep those
/// namespaces alive, and show other labs' state.
///
/// Rootless, the machine's own mounts under /run are locked to the sandbox (the kernel lets
/// no user namespace take them apart): they stay, under the node's /run tmpfs, and what is
/// in them stays the machine's users' (root's lab dirs are 0700 and root is not mapped).
fn detach_run() -> Result<(), InitError> {
    let rootless = crate::state::paths().rootless();
    let mut locked: Vec<String> = Vec::new();
    for _ in 0..8 {
        let info = fs::read_to_string("/proc/self/mountinfo")
            .map_err(io_err("reading", "/proc/self/mountinfo"))?;
        let top: Vec<String> = topmost_mounts_under(&info, "/run")
            .into_iter()
            .filter(|p| !locked.contains(p))
            .collect();
        if top.is_empty() {
            return Ok(());
        }
        for p in top {
            // EINVAL/ENOENT: gone meanwhile (a lab dir's tmpfs whose dir the host removed
            // and made again); the next look at mountinfo tells.
            match umount2(p.as_str(), MntFlags::MNT_DETACH) {
                // Rootless: EINVAL is a locked mount too (or one gone, which no longer shows).
                Err(Errno::EACCES | Errno::EPERM | Errno::EINVAL) if rootless => locked.push(p),
                Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(mount_err("unmounting", &p)(e)),
            }
        }
    }
    Err(InitError::Mount {
        op: "unmounting everything under",
        path: "/run".into(),
        source: Errno::EBUSY,
    })
}

/// Rootless: the machine's /root is root's, which the sandbox does not map, so the node's
/// root user would have a home it cannot enter. It gets an empty one of its own, a dir of
/// the node's /run bound over /root (as a `private` dir is).
pub fn rootless_home() -> Result<(), InitError> {
    use std::os::unix::fs::DirBuilderExt;
    match fs::read_dir("/root") {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
        _ => return Ok(()),
    }
    let own = format!("{NODE_RUN}/root-home");
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&own)
        .map_err(io_err("creating", &own))?;
    mount(
        Some(own.as_str()),
        "/root",
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(mount_err("bind-mounting over", "/root"))
}

/// Mount points at or under `root` that are not under another one of them.
fn topmost_mounts_under(mountinfo: &str, root: &str) -> Vec<String> {
    let below = format!("{root}/");
    let mut points: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| p == root || p.starts_with(&below))
        .collect();
    points.sort();
    points.dedup();
    let mut top: Vec<String> = Vec::new();
    for p in points {
        if !top.iter().any(|t| p.starts_with(&format!("{t}/"))) {
            top.push(p);
        }
    }
    top
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("x");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsnet_lab::{FileCopy, NodePlan};
    use std::collections::BTreeMap;

    /// A host filesystem of a few paths (dirs end in '/'); `links` maps a dir to its target.
    struct FakeFs {
        paths: Vec<&'static str>,
        links: BTreeMap<&'static str, &'static str>,
    }

    impl HostFs for FakeFs {
        fn exists(&self, path: &str) -> bool {
            self.paths.iter().any(|p| p.trim_end_matches('/') == path)
        }
        fn is_dir(&self, path: &str) -> bool {
            self.paths
                .iter()
                .any(|p| p.ends_with('/') && p.trim_end_matches('/') == path)
        }
        fn resolve(&self, path: &str) -> String {
            for (from, to) in &self.links {
                if let Some(rest) = path.strip_prefix(from) {
                    if rest.starts_with('/') {
                        return format!("{to}{rest}");
                    }
                }
            }
            path.to_string()
        }
    }

    fn debian() -> FakeFs {
        FakeFs {
            paths: vec![
                "/etc/hosts",
                "/etc/hostname",
                "/dev/shm/",
                "/etc/frr/",
                "/etc/frr/frr.conf",
                "/var/lib/",
            ],
            links: [("/var/run", "/run")].into_iter().collect(),
        }
    }

    fn node(json: serde_json::Value) -> NodePlan {
        let mut base = serde_json::json!({
            "name": "r1", "kind": "router", "ssh": false, "exec": [], "files": [],
            "private": [], "sysctls": [], "bridge": null, "interfaces": [], "routes": []
        });
        for (k, v) in json.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn scratch(name: &str, target: &str, create: bool) -> Step {
        Step::Scratch {
            name: name.into(),
            target: target.into(),
            mode: 0o1777,
            create,
        }
    }

    #[test]
    fn a_plain_node_gets_its_own_run_tmp_proc_sys_and_names() {
        let steps = plan(
            &node(serde_json::json!({})),
            false,
            None,
            &debian(),
            &debian(),
        )
        .unwrap();
        assert_eq!(
            steps,
            vec![
                Step::PrivateRoot,
                Step::HoldBinary,
                Step::Hosts,
                Step::DetachRun,
                Step::Tmpfs { size: 64 << 20 },
                Step::StandardRun,
                scratch("tmp", "/tmp", false),
                scratch("shm", "/dev/shm", false),
                Step::KernelFs {
                    fstype: "proc",
                    at: "/proc"
                },
                Step::SysPlaceholder,
                Step::Hostname {
                    name: "r1".into(),
                    bind: true,
                    write: false
                },
                Step::Systemctl { over: vec![] },
            ]
        );
        // A host without /etc/hosts, /etc/hostname or /dev/shm gets none of them.
        let bare = FakeFs {
            paths: vec![],
            links: BTreeMap::new(),
        };
        let steps = plan(
            &node(serde_json::json!({"tmpfs_size": 1048576})),
            true,
            None,
            &bare,
            &bare,
        )
        .unwrap();
        assert!(!steps.iter().any(|s| matches!(s, Step::Hosts)));
        assert!(steps.contains(&Step::Tmpfs { size: 1 << 20 }));
        assert!(steps.contains(&Step::Hostname {
            name: "r1".into(),
            bind: false,
            write: false
        }));
        assert!(steps.contains(&Step::Ssh));
        assert!(!steps
            .iter()
            .any(|s| matches!(s, Step::Scratch { target, .. } if target == "/dev/shm")));
    }

    #[test]
    fn an_overlay_root_is_the_nodes_own_to_write() {
        let layers = RootLayers {
            lowers: vec!["/lab/r1".into(), "/".into()],
            host_base: true,
            stage: "/run/nsnet/lab/nodes/r1".into(),
        };
        let mut n = node(serde_json::json!({"private": [{"path": "/etc/quagga"}]}));
        n.files = vec![FileCopy {
            path: "/etc/radvd.conf".into(),
            source: "/src".into(),
        }];
        let steps = plan(&n, false, Some(&layers), &debian(), &debian()).unwrap();
        // (This machine has an /etc/hosts to stage the lab's hosts file on.)
        assert_eq!(
            steps[..5],
            [
                Step::PrivateRoot,
                Step::HoldBinary,
                Step::Hosts,
                Step::OverlayRoot {
                    lowers: layers.lowers.clone(),
                    host_mounts: true,
                    carry_hosts: true,
                    size: 64 << 20,
                    stage: layers.stage.clone(),
                },
                Step::StandardRun,
            ]
        );
        // What the host lacks is made in the node's own root; files are written in place.
        assert!(steps.contains(&Step::Hostname {
            name: "r1".into(),
            bind: false,
            write: true
        }));
        assert!(steps
            .iter()
            .any(|s| matches!(s, Step::Private { dir, .. } if dir.path == "/etc/quagga")));
        assert!(steps.contains(&Step::File {
            index: 0,
            dst: "/etc/radvd.conf".into(),
            bind_over: None
        }));
    }

    #[test]
    fn binds_come_last_and_are_made_only_in_the_nodes_own() {
        let n = node(serde_json::json!({
            "binds": [
                {"source": "/etc/frr", "path": "/etc/frr"},
                {"source": "/etc/frr", "path": "/var/run/shared"},
                {"source": "/etc/hosts", "path": "/tmp/hosts", "read_only": true},
            ],
            "files": [{"path": "/etc/frr/frr.conf", "source": "/src"}],
        }));
        let steps = plan(&n, false, None, &debian(), &debian()).unwrap();
        let binds: Vec<&Step> = steps
            .iter()
            .filter(|s| matches!(s, Step::Bind { .. }))
            .collect();
        assert_eq!(
            binds,
            [
                &Step::Bind {
                    index: 0,
                    target: "/etc/frr".into(),
                    create: false,
                    dir: true
                },
                // /var/run is /run: the node's tmpfs, where a target may be made.
                &Step::Bind {
                    index: 1,
                    target: "/run/shared".into(),
                    create: true,
                    dir: true
                },
                &Step::Bind {
                    index: 2,
                    target: "/tmp/hosts".into(),
                    create: true,
                    dir: false
                },
            ]
        );
        // After the files: a bind is not written through.
        let file = steps.iter().position(|s| matches!(s, Step::File { .. }));
        let first_bind = steps.iter().position(|s| matches!(s, Step::Bind { .. }));
        assert!(file < first_bind);
        // A target the host lacks, outside the node's own: refused, not made on the host.
        let n = node(serde_json::json!({
            "binds": [{"source": "/etc/frr", "path": "/srv/shared"}],
        }));
        let e = plan(&n, false, None, &debian(), &debian()).unwrap_err();
        assert!(
            e.to_string().contains("nsnet never creates anything"),
            "{e}"
        );
    }

    #[test]
    fn private_dirs_nest_resolve_and_must_exist_outside_the_nodes_own() {
        let n = node(serde_json::json!({
            "private": [{"path": "/var/lib/www/html"}, {"path": "/var/lib/", "mode": 0o750},
                        {"path": "/var/run/frr"}, {"path": "/var/lib"}]
        }));
        let steps = plan(&n, false, None, &debian(), &debian()).unwrap();
        let private: Vec<_> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Private { dir, .. } => Some((dir.path.as_str(), dir.mode)),
                _ => None,
            })
            .collect();
        // Parents first, once each (the first spelling wins); /var/run/frr is really
        // /run/frr (made in the tmpfs); the nested dir is made inside its private parent.
        assert_eq!(
            private,
            vec![
                ("/run/frr", None),
                ("/var/lib", Some(0o750)),
                ("/var/lib/www/html", None)
            ]
        );
        let n = node(serde_json::json!({"private": [{"path": "/etc/quagga"}]}));
        match plan(&n, false, None, &debian(), &debian()) {
            Err(InitError::PrivateMissing { path }) => assert_eq!(path, "/etc/quagga"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn files_go_into_the_nodes_own_dirs_or_over_the_hosts() {
        let f = |path: &str| FileCopy {
            path: path.into(),
            source: "/src".into(),
        };
        let mut n = node(serde_json::json!({"private": [{"path": "/etc/frr"}]}));
        n.files = vec![
            f("/etc/frr/daemons"),
            f("/etc/hosts"),
            f("/tmp/x/y"),
            f("/var/run/a"),
        ];
        let steps = plan(&n, false, None, &debian(), &debian()).unwrap();
        let files: Vec<_> = steps
            .iter()
            .filter(|s| matches!(s, Step::File { .. }))
            .cloned()
            .collect();
        assert_eq!(
            files,
            vec![
                Step::File {
                    index: 0,
                    dst: "/etc/frr/daemons".into(),
                    bind_over: None
                },
                Step::File {
                    index: 1,
                    dst: "/run/nsnet/files/1".into(),
                    bind_over: Some("/etc/hosts".into())
                },
                Step::File {
                    index: 2,
                    dst: "/tmp/x/y".into(),
                    bind_over: None
                },
                Step::File {
                    index: 3,
                    dst: "/run/a".into(),
                    bind_over: None
                },
            ]
        );
        n.files = vec![f("/etc/radvd.conf")];
        match plan(&n, false, None, &debian(), &debian()) {
            Err(InitError::FileTargetMissing { path, dir }) => {
                assert_eq!((path.as_str(), dir.as_str()), ("/etc/radvd.conf", "/etc"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn systemctl_goes_over_the_roots_own_and_last() {
        // Debian: /bin is a link to usr/bin, so /bin/systemctl is /usr/bin/systemctl.
        let fs = FakeFs {
            paths: vec!["/usr/bin/", "/usr/bin/systemctl"],
            links: [("/bin", "/usr/bin")].into_iter().collect(),
        };
        let mut n = node(serde_json::json!({}));
        n.files = vec![FileCopy {
            path: "/tmp/x".into(),
            source: "/src".into(),
        }];
        let steps = plan(&n, false, None, &fs, &fs).unwrap();
        assert_eq!(
            steps.last(),
            Some(&Step::Systemctl {
                over: vec!["/usr/bin/systemctl".into()]
            })
        );
        // Split /usr: both; none: only the node's own in /run/nsnet/bin.
        let fs = FakeFs {
            paths: vec!["/usr/bin/systemctl", "/bin/systemctl"],
            links: BTreeMap::new(),
        };
        assert!(plan(&n, false, None, &fs, &fs)
            .unwrap()
            .contains(&Step::Systemctl {
                over: vec!["/usr/bin/systemctl".into(), "/bin/systemctl".into()]
            }));
    }

    #[test]
    fn links_resolve_inside_the_root() {
        let root = std::env::temp_dir().join(format!("nsnet-resolve-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("run")).unwrap();
        fs::create_dir_all(root.join("var")).unwrap();
        std::os::unix::fs::symlink("/run", root.join("var/run")).unwrap();
        std::os::unix::fs::symlink("../../etc", root.join("var/up")).unwrap();
        assert_eq!(resolve_in(&root, "/var/run/frr"), "/run/frr");
        // `..` never climbs above the root.
        assert_eq!(resolve_in(&root, "/var/up/x"), "/etc/x");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_hosts_other_filesystems() {
        let info = "\
1 0 8:1 / / rw - ext4 /dev/vda rw
2 1 0:5 / /proc rw - proc proc rw
3 1 0:6 / /dev rw - devtmpfs udev rw
4 3 0:7 / /dev/pts rw - devpts devpts rw
5 1 8:2 / /home rw - ext4 /dev/vdb rw
6 5 8:3 / /home/x rw - ext4 /dev/vdc rw
7 1 0:8 / /run rw - tmpfs tmpfs rw
8 1 8:4 / /boot rw - ext4 /dev/vdd rw
";
        assert_eq!(host_filesystems(info), vec!["/boot", "/home"]);
    }

    #[test]
    fn finds_topmost_mounts_under_run() {
        let info = "\
22 27 0:21 / /proc rw - proc proc rw
50 27 0:40 / /run/netns/a-h1 rw - nsfs nsfs rw
51 27 0:40 / /run/netns/b-h1 rw - nsfs nsfs rw
52 27 0:41 / /run/user/0 rw - tmpfs tmpfs rw
53 52 0:42 / /run/user/0/x rw - tmpfs tmpfs rw
54 27 0:43 / /running rw - tmpfs tmpfs rw
55 27 0:44 / /run/with\\040space rw - tmpfs tmpfs rw
";
        assert_eq!(
            topmost_mounts_under(info, "/run"),
            vec![
                "/run/netns/a-h1",
                "/run/netns/b-h1",
                "/run/user/0",
                "/run/with space"
            ]
        );
        let with_root = format!("{info}60 27 0:45 / /run rw - tmpfs tmpfs rw\n");
        assert_eq!(topmost_mounts_under(&with_root, "/run"), vec!["/run"]);
    }

    #[test]
    fn scratch_paths() {
        assert!(in_scratch("/run/x"));
        assert!(in_scratch("/tmp/a/b"));
        assert!(!in_scratch("/running/x"));
        assert!(!in_scratch("/run"));
        assert!(is_under("/etc/frr/frr.conf", "/etc/frr"));
        assert!(!is_under("/etc/frrx", "/etc/frr"));
    }
}
