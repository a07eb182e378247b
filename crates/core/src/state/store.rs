//! The state dir, /run/nsnet, reached only through file descriptors: the root is opened once
//! without following a symlink and checked (ours, not writable by others); every lab dir and
//! file below it is opened relative to it with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`,
//! and checked again before a byte of it is trusted. Removal walks the tree by fd too.

use super::name::LabName;
use super::StateError;
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag, AT_FDCWD};
use nix::sys::stat::{fstat, Mode};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

pub use super::paths::state_root;

/// The largest state file nsnet reads (a plan of 10,000 nodes is a few MB).
pub const MAX_STATE_FILE: u64 = 512 << 20;

/// Opens `rel` below `dir` (or an absolute path when `dir` is None) without following any
/// symlink and without leaving `dir`.
fn open_beneath(
    dir: Option<BorrowedFd>,
    rel: &Path,
    flags: OFlag,
    mode: u32,
) -> io::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .mode(Mode::from_bits_truncate(mode))
        .resolve(
            ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS
                | if dir.is_some() {
                    ResolveFlag::RESOLVE_BENEATH
                } else {
                    ResolveFlag::empty()
                },
        );
    let fd = match dir {
        Some(d) => openat2(d, rel, how),
        None => openat2(AT_FDCWD, rel, how),
    };
    fd.map_err(io::Error::from)
}

/// Whether `fd` is owned by us (root) and not writable by anyone else; `private`: not
/// readable by others either. Returns why not.
fn check_owned(fd: BorrowedFd, private: bool) -> Result<(), String> {
    let st = fstat(fd).map_err(|e| format!("cannot stat it: {e}"))?;
    let me = nix::unistd::geteuid().as_raw();
    if st.st_uid != me {
        return Err(format!("it is owned by uid {}, not by uid {me}", st.st_uid));
    }
    let mask = if private { 0o077 } else { 0o022 };
    if st.st_mode & mask != 0 {
        return Err(format!(
            "its mode {:o} lets other users {}",
            st.st_mode & 0o7777,
            if private { "in" } else { "write it" }
        ));
    }
    Ok(())
}

/// /run/nsnet, open.
#[derive(Debug)]
pub struct Store {
    root: OwnedFd,
}

impl Store {
    /// The state root, or None when there is none (no lab was ever up).
    pub fn open() -> Result<Option<Store>, StateError> {
        match open_beneath(None, state_root(), OFlag::O_DIRECTORY | OFlag::O_RDONLY, 0) {
            Ok(root) => Store::checked(root).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(root_err(e)),
        }
    }

    /// The state root, made (0700) when missing; an older nsnet's 0755 is tightened.
    pub fn create() -> Result<Store, StateError> {
        match nix::unistd::mkdir(state_root(), Mode::from_bits_truncate(0o700)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(StateError::Io {
                    op: "creating",
                    path: state_root().into(),
                    source: e.into(),
                })
            }
        }
        let root = open_beneath(None, state_root(), OFlag::O_DIRECTORY | OFlag::O_RDONLY, 0)
            .map_err(root_err)?;
        let st = fstat(&root).map_err(|e| StateError::Io {
            op: "checking",
            path: state_root().into(),
            source: e.into(),
        })?;
        if st.st_uid == nix::unistd::geteuid().as_raw() && st.st_mode & 0o077 != 0 {
            let _ = nix::sys::stat::fchmod(&root, Mode::from_bits_truncate(0o700));
        }
        Store::checked(root)
    }

    fn checked(root: OwnedFd) -> Result<Store, StateError> {
        check_owned(root.as_fd(), false).map_err(|why| StateError::NotOurs {
            path: state_root().into(),
            why,
        })?;
        Ok(Store { root })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// The lab's dir, if there is one; an error if what is there is not a dir nsnet made.
    pub fn lab(&self, name: &LabName) -> Result<Option<LabDir>, StateError> {
        let path = lab_path(name);
        match open_beneath(
            Some(self.fd()),
            Path::new(name.as_str()),
            OFlag::O_DIRECTORY | OFlag::O_RDONLY,
            0,
        ) {
            Ok(fd) => {
                check_owned(fd.as_fd(), true).map_err(|why| StateError::NotOurs {
                    path: path.clone(),
                    why,
                })?;
                Ok(Some(LabDir {
                    name: name.clone(),
                    fd,
                }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ELOOP) | Some(libc::ENOTDIR) | Some(libc::EXDEV)
                ) =>
            {
                Err(StateError::NotADir { path })
            }
            Err(source) => Err(StateError::Io {
                op: "opening",
                path,
                source,
            }),
        }
    }

    /// Makes the lab's dir (0700) with its `logs` subdir: fails if it exists.
    pub fn create_lab(&self, name: &LabName) -> Result<LabDir, StateError> {
        let path = lab_path(name);
        nix::sys::stat::mkdirat(self.fd(), name.as_str(), Mode::from_bits_truncate(0o700))
            .map_err(|e| StateError::Io {
                op: "creating",
                path: path.clone(),
                source: e.into(),
            })?;
        let dir = self.lab(name)?.ok_or(StateError::NotADir { path })?;
        Ok(dir)
    }

    /// The names of the lab dirs present (valid names only), sorted.
    pub fn lab_dirs(&self) -> Vec<LabName> {
        let Ok(fd) = open_beneath(
            Some(self.fd()),
            Path::new("."),
            OFlag::O_DIRECTORY | OFlag::O_RDONLY,
            0,
        ) else {
            return Vec::new();
        };
        let Ok(mut dir) = nix::dir::Dir::from_fd(fd) else {
            return Vec::new();
        };
        let mut out: Vec<LabName> = dir
            .iter()
            .flatten()
            .filter(|e| e.file_type() == Some(nix::dir::Type::Directory))
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .ok()
                    .and_then(|n| LabName::new(n).ok())
            })
            .collect();
        out.sort();
        out
    }

    /// Removes the lab's dir and everything in it, by fd: nothing outside it can be reached.
    /// The dir may be a mount point (its own tmpfs): that is detached first.
    pub fn remove_lab(&self, name: &LabName) -> Result<(), StateError> {
        let path = lab_path(name);
        let err = |op, source: io::Error| StateError::Io {
            op,
            path: path.clone(),
            source,
        };
        let Some(dir) = self.lab(name)? else {
            return Ok(());
        };
        drop(dir);
        // A tmpfs mounted on the lab dir by `up`; not a mount point: EINVAL.
        match nix::mount::umount2(
            &path,
            nix::mount::MntFlags::MNT_DETACH | nix::mount::MntFlags::UMOUNT_NOFOLLOW,
        ) {
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(err("unmounting", e.into())),
        }
        remove_tree_at(self.fd(), name.as_str(), 0).map_err(|e| err("removing", e))
    }

    /// Creates the file `name` directly in the root (mode 0600, empty); fails with
    /// `AlreadyExists` if it is there: exactly one of two callers makes it.
    pub fn create_file_new(&self, name: &str) -> io::Result<()> {
        open_beneath(
            Some(self.fd()),
            Path::new(name),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL,
            0o600,
        )
        .map(drop)
    }

    /// The file `name` directly in the root, if there (checked: ours, private, regular,
    /// at most [`MAX_STATE_FILE`]).
    pub fn read_file(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        let fd = match open_beneath(Some(self.fd()), Path::new(name), OFlag::O_RDONLY, 0) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        check_owned(fd.as_fd(), true).map_err(io::Error::other)?;
        let st = fstat(&fd)?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(io::Error::other("it is not a regular file"));
        }
        let mut v = Vec::new();
        File::from(fd).take(MAX_STATE_FILE).read_to_end(&mut v)?;
        Ok(Some(v))
    }

    /// Replaces the file `name` directly in the root (mode 0600) atomically.
    pub fn replace_file(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let tmp = format!("{name}.tmp");
        let fd = open_beneath(
            Some(self.fd()),
            Path::new(&tmp),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC,
            0o600,
        )?;
        let mut f = File::from(fd);
        f.write_all(data)?;
        f.sync_data().ok();
        drop(f);
        nix::fcntl::renameat(self.fd(), tmp.as_str(), self.fd(), name).map_err(io::Error::from)
    }

    /// Removes a file directly in the root (a lab's lock file); missing is fine.
    pub fn remove_file(&self, name: &str) -> io::Result<()> {
        match nix::unistd::unlinkat(self.fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn root_err(e: io::Error) -> StateError {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::ENOTDIR) => StateError::NotADir {
            path: state_root().into(),
        },
        _ => StateError::Io {
            op: "opening",
            path: state_root().into(),
            source: e,
        },
    }
}

/// `/run/nsnet/<lab>`, for messages and for the node inits (which find their lab by path).
pub fn lab_path(name: &LabName) -> PathBuf {
    state_root().join(name.as_str())
}

/// Deepest tree nsnet makes in a lab dir is 3 levels; anything much deeper is not ours.
const MAX_DEPTH: usize = 16;

/// Removes `name` in `dir` (a file, or a dir with everything in it), never following a
/// symlink: a symlink is removed itself.
fn remove_tree_at(dir: BorrowedFd, name: &str, depth: usize) -> io::Result<()> {
    use nix::unistd::{unlinkat, UnlinkatFlags};
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => return Ok(()),
        Err(Errno::EISDIR) => {}
        Err(e) => return Err(e.into()),
    }
    if depth > MAX_DEPTH {
        return Err(io::Error::other("too deep"));
    }
    let fd = open_beneath(
        Some(dir),
        Path::new(name),
        OFlag::O_DIRECTORY | OFlag::O_RDONLY,
        0,
    )?;
    let names: Vec<String> = {
        let mut d = nix::dir::Dir::from_fd(fd.try_clone()?)?;
        d.iter()
            .flatten()
            .filter_map(|e| e.file_name().to_str().ok().map(String::from))
            .filter(|n| n.as_str() != "." && n.as_str() != "..")
            .collect()
    };
    for n in names {
        remove_tree_at(fd.as_fd(), &n, depth + 1)?;
    }
    drop(fd);
    match unlinkat(dir, name, UnlinkatFlags::RemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// One lab's state dir, open.
#[derive(Debug)]
pub struct LabDir {
    name: LabName,
    fd: OwnedFd,
}

impl LabDir {
    pub fn name(&self) -> &LabName {
        &self.name
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The dir's path, for messages (and for the inits, which are handed paths).
    pub fn path(&self) -> PathBuf {
        lab_path(&self.name)
    }

    /// `rel` below the lab dir, opened for reading after checking it is a regular file of
    /// ours of at most `limit` bytes. Never blocks (a FIFO is refused, not waited on).
    pub fn open(&self, rel: &str, limit: u64) -> io::Result<File> {
        let fd = open_beneath(
            Some(self.fd()),
            Path::new(rel),
            OFlag::O_RDONLY | OFlag::O_NONBLOCK,
            0,
        )?;
        let st = fstat(&fd)?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(io::Error::other("not a regular file"));
        }
        check_owned(fd.as_fd(), false).map_err(io::Error::other)?;
        if st.st_size as u64 > limit {
            return Err(io::Error::other(format!(
                "{} bytes, more than the {limit} nsnet reads",
                st.st_size
            )));
        }
        Ok(File::from(fd))
    }

    /// Reads `rel` whole (see [`LabDir::open`]).
    pub fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.open(rel, MAX_STATE_FILE)?
            .take(MAX_STATE_FILE)
            .read_to_end(&mut v)?;
        Ok(v)
    }

    pub fn exists(&self, rel: &str) -> bool {
        nix::sys::stat::fstatat(self.fd(), rel, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).is_ok()
    }

    /// Writes `rel` (mode 0600), replacing it atomically: a temp file then a rename, both
    /// relative to the lab dir.
    pub fn write(&self, rel: &str, data: &[u8]) -> Result<(), StateError> {
        self.write_with(rel, |w| w.write_all(data))
    }

    /// [`LabDir::write`] of what `fill` writes, streamed (buffered) into the file: a big
    /// state file (a plan, the inits' configs) is never held whole in memory.
    pub fn write_with(
        &self,
        rel: &str,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), StateError> {
        let path = self.path().join(rel);
        let err = |source: io::Error| StateError::Io {
            op: "writing",
            path: path.clone(),
            source,
        };
        let tmp = format!("{rel}.tmp");
        let fd = open_beneath(
            Some(self.fd()),
            Path::new(&tmp),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC,
            0o600,
        )
        .map_err(err)?;
        let mut w = io::BufWriter::with_capacity(1 << 16, File::from(fd));
        fill(&mut w).and_then(|()| w.flush()).map_err(err)?;
        drop(w);
        nix::fcntl::renameat(self.fd(), tmp.as_str(), self.fd(), rel).map_err(|e| err(e.into()))
    }

    /// Makes the dir `rel` (0700) below the lab dir.
    pub fn mkdir(&self, rel: &str) -> Result<(), StateError> {
        nix::sys::stat::mkdirat(self.fd(), rel, Mode::from_bits_truncate(0o700)).map_err(|e| {
            StateError::Io {
                op: "creating",
                path: self.path().join(rel),
                source: e.into(),
            }
        })
    }
}
