//! The node's log in the lab dir, rotated at a size. The node's processes write into a pipe
//! that the init pumps here, so nothing a node prints can fill the host's /run.

use crate::state::LabDir;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;

/// The node's log in the lab dir, rotated at a size: `<node>.log` grows to the limit, then
/// becomes `<node>.log.1` (replacing the one before) and a new `<node>.log` starts. The node's
/// processes write into a pipe that the init pumps here, so nothing a node prints can fill
/// the host's /run.
pub struct Log {
    dir: OwnedFd,
    name: String,
    file: File,
    size: u64,
    pub limit: u64,
}

impl Log {
    pub fn open(lab: &LabDir, node: &str) -> io::Result<Log> {
        let dir = nix::fcntl::openat(
            lab.fd(),
            "logs",
            OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let name = format!("{node}.log");
        let file = Log::create(&dir, &name, false)?;
        let size = file.metadata()?.len();
        let log = Log {
            dir,
            name,
            file,
            size,
            limit: nsnet_lab::plan::DEFAULT_LOG_SIZE,
        };
        log.point_stdio();
        Ok(log)
    }

    fn create(dir: &OwnedFd, name: &str, truncate: bool) -> io::Result<File> {
        let trunc = if truncate {
            OFlag::O_TRUNC
        } else {
            OFlag::empty()
        };
        let fd = nix::fcntl::openat(
            dir,
            name,
            OFlag::O_WRONLY
                | OFlag::O_APPEND
                | OFlag::O_CREAT
                | OFlag::O_NOFOLLOW
                | OFlag::O_CLOEXEC
                | trunc,
            Mode::from_bits_truncate(0o600),
        )?;
        Ok(File::from(fd))
    }

    /// The init's own stdout and stderr (early errors, panics) go to the current file.
    fn point_stdio(&self) {
        let _ = nix::unistd::dup2_stdout(&self.file);
        let _ = nix::unistd::dup2_stderr(&self.file);
    }

    pub fn write(&mut self, data: &[u8]) {
        if self.size > 0 && self.size + data.len() as u64 > self.limit {
            self.rotate();
        }
        if self.file.write_all(data).is_ok() {
            self.size += data.len() as u64;
        }
    }

    fn rotate(&mut self) {
        let old = format!("{}.1", self.name);
        let _ = nix::fcntl::renameat(&self.dir, self.name.as_str(), &self.dir, old.as_str());
        if let Ok(f) = Log::create(&self.dir, &self.name, true) {
            self.file = f;
            self.size = 0;
            self.point_stdio();
        }
    }
}
