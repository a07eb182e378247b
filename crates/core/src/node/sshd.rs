//! sshd in a node: the init copies the lab's keys into its own private `/run/nsnet/ssh/`
//! (read before the host's /run leaves its view), writes sshd's and the ssh client's config
//! there from the templates in `rootfs/`, binds the client config over `/etc/ssh/ssh_config`
//! in its own mount view and runs `sshd -D -e` as its child. The host's ssh files are never
//! touched.

use crate::state::keys::{CLIENT_KEY, HOST_KEY, KNOWN_HOSTS, SSH_DIR};
use crate::state::LabDir;
use nix::mount::{mount, MsFlags};
use nix::unistd::Pid;
use nsnet_lab::NodePlan;
use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The ssh dir inside every node (in its private /run).
pub const NODE_SSH_DIR: &str = "/run/nsnet/ssh";
/// sshd writes its pid file once its listening sockets are bound.
pub const NODE_SSHD_PID: &str = "/run/nsnet/ssh/sshd.pid";
/// sshd's privilege separation dir: compiled into sshd, private to the node with its /run.
const PRIVSEP_DIR: &str = "/run/sshd";
const SSHD_CONFIG: &str = include_str!("../../../../rootfs/sshd_config");
const SSH_CONFIG: &str = include_str!("../../../../rootfs/ssh_config");
const BIN_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

#[derive(Debug, thiserror::Error)]
pub enum SshdError {
    #[error("ssh: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: io::Error,
    },
    #[error("ssh: binding the node's ssh client config over {path}: {source}")]
    Mount {
        path: String,
        source: nix::errno::Errno,
    },
}

fn io_err(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> SshdError {
    let path = path.as_ref().display().to_string();
    move |source| SshdError::Io { op, path, source }
}

/// An executable named `name` in the usual system dirs (not $PATH: the init has none).
pub fn find_program(name: &str) -> Option<PathBuf> {
    BIN_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// What a node's init takes from the lab's ssh dir before the node's /run replaces the host's.
pub struct NodeSsh {
    host_key: Vec<u8>,
    client_key: Vec<u8>,
    client_pub: Vec<u8>,
    known_hosts: Vec<u8>,
    ipv6: bool,
}

impl NodeSsh {
    pub fn load(lab_dir: &LabDir, node: &NodePlan) -> Result<NodeSsh, SshdError> {
        let read = |name: &str| {
            let rel = format!("{SSH_DIR}/{name}");
            lab_dir
                .read(&rel)
                .map_err(io_err("reading", lab_dir.path().join(&rel)))
        };
        Ok(NodeSsh {
            host_key: read(HOST_KEY)?,
            client_key: read(CLIENT_KEY)?,
            client_pub: read(&format!("{CLIENT_KEY}.pub"))?,
            known_hosts: read(KNOWN_HOSTS)?,
            ipv6: node.addrs().any(|a| a.addr.is_ipv6()),
        })
    }

    /// Writes keys and configs into the node's private /run and gives the node's ssh client
    /// its config. Call once the node's own /run is mounted.
    pub fn install(&self) -> Result<(), SshdError> {
        let mut b = fs::DirBuilder::new();
        b.recursive(true).mode(0o700);
        b.create(NODE_SSH_DIR)
            .map_err(io_err("creating", NODE_SSH_DIR))?;
        b.mode(0o755);
        b.create(PRIVSEP_DIR)
            .map_err(io_err("creating", PRIVSEP_DIR))?;
        let family = if self.ipv6 { "any" } else { "inet" };
        let mut sshd_config = render(SSHD_CONFIG, family);
        if crate::state::paths().rootless() {
            // The machine's `/` (root's, which a rootless sandbox does not map) is nobody's
            // here: StrictModes would refuse every key under it. The keys are nsnet's, in
            // the node's private /run.
            sshd_config = sshd_config.replace("StrictModes yes", "StrictModes no");
        }
        let ssh_config = render(SSH_CONFIG, family);
        let files: [(&str, &[u8]); 6] = [
            (HOST_KEY, &self.host_key),
            (CLIENT_KEY, &self.client_key),
            ("authorized_keys", &self.client_pub),
            (KNOWN_HOSTS, &self.known_hosts),
            ("sshd_config", sshd_config.as_bytes()),
            ("ssh_config", ssh_config.as_bytes()),
        ];
        for (name, data) in files {
            write_file(&format!("{NODE_SSH_DIR}/{name}"), data, 0o600)?;
        }
        readable_shadow()?;
        give_client_config(&format!("{NODE_SSH_DIR}/ssh_config"))
    }
}

/// In a rootless sandbox the machine's /etc/shadow is root's, which the sandbox does not map:
/// glibc then takes root's entry from systemd's NSS module, `!*`, and sshd refuses root as a
/// locked account. The node gets a shadow of its own in this mount namespace: every user of
/// /etc/passwd with no password (`*`: key logins only), bound read-only over /etc/shadow.
fn readable_shadow() -> Result<(), SshdError> {
    const SHADOW: &str = "/etc/shadow";
    match fs::File::open(SHADOW) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
        _ => return Ok(()),
    }
    let passwd = fs::read_to_string("/etc/passwd").map_err(io_err("reading", "/etc/passwd"))?;
    let mut text = String::new();
    for name in passwd.lines().filter_map(|l| l.split(':').next()) {
        if !name.is_empty() {
            text.push_str(&format!("{name}:*:::::::\n"));
        }
    }
    let own = format!("{NODE_SSH_DIR}/shadow");
    write_file(&own, text.as_bytes(), 0o600)?;
    nix::mount::mount(
        Some(own.as_str()),
        SHADOW,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|source| SshdError::Mount {
        path: SHADOW.into(),
        source,
    })
}

fn render(template: &str, family: &str) -> String {
    template
        .replace("@SSH_DIR@", NODE_SSH_DIR)
        .replace("@ADDRESS_FAMILY@", family)
}

fn write_file(path: &str, data: &[u8], mode: u32) -> Result<(), SshdError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io_err("writing", path))?;
    f.write_all(data).map_err(io_err("writing", path))
}

/// Puts `config` where the stock ssh client reads its system config, in this mount namespace
/// only: bound over /etc/ssh/ssh_config, or, when the host has /etc/ssh without that file,
/// layered over /etc/ssh with a read-only overlay. Without /etc/ssh there is no place to put
/// it that the host does not see: the node's log says to use `ssh -F`.
fn give_client_config(config: &str) -> Result<(), SshdError> {
    const SYSTEM: &str = "/etc/ssh/ssh_config";
    let mount_err = |path: &str| {
        let path = path.to_string();
        move |source| SshdError::Mount { path, source }
    };
    if Path::new(SYSTEM).is_file() {
        return mount(
            Some(config),
            SYSTEM,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(mount_err(SYSTEM));
    }
    if Path::new("/etc/ssh").is_dir() {
        let upper = format!("{NODE_SSH_DIR}/etc");
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&upper)
            .map_err(io_err("creating", &upper))?;
        fs::copy(config, format!("{upper}/ssh_config"))
            .map_err(io_err("writing", format!("{upper}/ssh_config")))?;
        let opts = format!("lowerdir={upper}:/etc/ssh");
        return mount(
            Some("overlay"),
            "/etc/ssh",
            Some("overlay"),
            MsFlags::MS_RDONLY,
            Some(opts.as_str()),
        )
        .map_err(mount_err("/etc/ssh"));
    }
    println!(
        "nsnet-init: ssh: the host has no /etc/ssh: run the ssh client in this node as \
         `ssh -F {config}`"
    );
    Ok(())
}

/// Starts `sshd -D -e` (foreground, logging to stderr) with the node's config; its output goes
/// to `log`. Returns its pid.
pub fn spawn_sshd(log: &OwnedFd, path_env: &str) -> Result<Pid, SshdError> {
    let sshd = find_program("sshd").ok_or_else(|| SshdError::Io {
        op: "finding",
        path: "sshd".into(),
        source: io::ErrorKind::NotFound.into(),
    })?;
    let config = format!("{NODE_SSH_DIR}/sshd_config");
    let (out, err) = (
        log.try_clone().map_err(io_err("duplicating", "the log"))?,
        log.try_clone().map_err(io_err("duplicating", "the log"))?,
    );
    let child = Command::new(&sshd)
        .args(["-D", "-e", "-f", &config])
        .env_clear()
        .env("PATH", path_env)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(io_err("starting", &sshd))?;
    Ok(Pid::from_raw(child.id() as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_filled() {
        for t in [SSHD_CONFIG, SSH_CONFIG] {
            let text = render(t, "inet");
            assert!(!text.contains('@'), "{text}");
        }
        let sshd = render(SSHD_CONFIG, "inet");
        assert!(sshd.contains("\nPasswordAuthentication no\n"));
        assert!(sshd.contains("\nPidFile /run/nsnet/ssh/sshd.pid\n"));
        assert!(sshd.contains("\nAddressFamily inet\n"));
    }
}
