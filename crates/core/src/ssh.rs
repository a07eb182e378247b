//! sshd in every node, and ssh into nodes from a host that has no interface in the lab.
//!
//! At `up`, one key pair for root logins and one ed25519 host key are made per lab (with
//! `ssh-keygen`), with a known_hosts naming every ssh node by name and address, all under
//! `/run/nsnet/<lab>/ssh/` (0700, files 0600). Every node's init copies them into its own
//! private `/run/nsnet/ssh/`, writes sshd's and the ssh client's config there from the
//! templates in `rootfs/`, binds the client config over `/etc/ssh/ssh_config` in its own mount
//! view and runs `sshd -D -e` as its child. The host's ssh files are never touched.
//!
//! From the host, the stock ssh client reaches a node through `nsnet proxy`: a TCP
//! connection opened inside the node's netns to its loopback, relayed over stdin/stdout.

use crate::enter::{EnterError, NodeTarget};
use crate::state::{self, LabState, StateError};
use nix::mount::{mount, MsFlags};
use nix::unistd::Pid;
use nsnet_lab::{NodePlan, Plan};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
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
const SSHD_CONFIG: &str = include_str!("../../../rootfs/sshd_config");
const SSH_CONFIG: &str = include_str!("../../../rootfs/ssh_config");
const CLIENT_KEY: &str = "id_ed25519";
const HOST_KEY: &str = "ssh_host_ed25519_key";
const KNOWN_HOSTS: &str = "known_hosts";
const BIN_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

#[derive(Debug, thiserror::Error)]
pub enum SshError {
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
    #[error("ssh: ssh-keygen could not make {path}: {detail}")]
    Keygen { path: String, detail: String },
    #[error(
        "lab '{0}' runs no sshd (ssh = false in its lab file, or sshd was not installed at \
         `nsnet up`)"
    )]
    LabWithoutSsh(String),
    #[error("node {node} of lab {lab} runs no sshd ({why})")]
    NodeWithoutSsh {
        lab: String,
        node: String,
        why: &'static str,
    },
    #[error("node {node}: connecting to 127.0.0.1:{port} inside it: {source}")]
    Connect {
        node: String,
        port: u16,
        source: io::Error,
    },
    #[error("node {node}: entering its netns: {source}")]
    Netns {
        node: String,
        source: nsnet_netcfg::NetError,
    },
    #[error("relaying between stdin/stdout and the node: {0}")]
    Relay(io::Error),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Enter(#[from] EnterError),
}

fn io_err(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> SshError {
    let path = path.as_ref().display().to_string();
    move |source| SshError::Io { op, path, source }
}

/// The lab's ssh dir on the host.
pub fn lab_ssh_dir(lab: &str) -> PathBuf {
    state::lab_dir(lab).join("ssh")
}

/// The lab's private key for root logins into its nodes.
pub fn identity_path(lab: &str) -> PathBuf {
    lab_ssh_dir(lab).join(CLIENT_KEY)
}

pub fn known_hosts_path(lab: &str) -> PathBuf {
    lab_ssh_dir(lab).join(KNOWN_HOSTS)
}

/// An executable named `name` in the usual system dirs (not $PATH: the init has none).
pub fn find_program(name: &str) -> Option<PathBuf> {
    BIN_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// At `up`: makes the lab's keys and known_hosts when any node runs sshd. Returns whether the
/// nodes run sshd: false when none asks for it, or when sshd is not installed (said once on
/// stderr; the lab comes up without it).
pub fn prepare_lab(plan: &Plan) -> Result<bool, SshError> {
    if !plan.nodes.iter().any(|n| n.ssh) {
        return Ok(false);
    }
    let (Some(_), Some(keygen)) = (find_program("sshd"), find_program("ssh-keygen")) else {
        eprintln!(
            "nsnet: sshd is not installed (Debian: apt install openssh-server): lab {} comes \
             up without ssh",
            plan.lab
        );
        return Ok(false);
    };
    let dir = lab_ssh_dir(&plan.lab);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(io_err("creating", &dir))?;
    let comment = format!("nsnet-{}", plan.lab);
    for name in [CLIENT_KEY, HOST_KEY] {
        let path = dir.join(name);
        let out = Command::new(&keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-C", &comment, "-f"])
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .map_err(io_err("running ssh-keygen for", &path))?;
        if !out.status.success() {
            return Err(SshError::Keygen {
                path: path.display().to_string(),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let public = dir.join(format!("{name}.pub"));
        fs::set_permissions(&public, fs::Permissions::from_mode(0o600))
            .map_err(io_err("restricting", &public))?;
    }
    let host_pub = dir.join(format!("{HOST_KEY}.pub"));
    let host_pub = state::read_private(&host_pub)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(io_err("reading", &host_pub))?;
    let text = known_hosts(plan, host_pub.trim());
    state::write_private(&dir.join(KNOWN_HOSTS), text.as_bytes()).map_err(|e| match e {
        StateError::Io { op, path, source } => SshError::Io {
            op,
            path: path.display().to_string(),
            source,
        },
        e => SshError::State(e),
    })?;
    Ok(true)
}

/// One line per ssh node: its name, its per-interface names (as in /etc/hosts) and its
/// addresses, then the lab's host key. Every node shares that key, so `localhost` is known too.
pub fn known_hosts(plan: &Plan, host_key: &str) -> String {
    let mut out = format!("localhost,127.0.0.1,::1 {host_key}\n");
    for n in plan.nodes.iter().filter(|n| n.ssh) {
        let mut names = vec![n.name.clone()];
        for i in n.interfaces.iter().filter(|i| !i.addrs.is_empty()) {
            names.push(format!("{}-{}", n.name, i.name));
        }
        names.extend(n.addrs().map(|a| a.addr.to_string()));
        out.push_str(&format!("{} {host_key}\n", names.join(",")));
    }
    out
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
    pub fn load(lab: &str, node: &NodePlan) -> Result<NodeSsh, SshError> {
        let dir = lab_ssh_dir(lab);
        let read = |name: &str| {
            let p = dir.join(name);
            state::read_private(&p).map_err(io_err("reading", &p))
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
    pub fn install(&self) -> Result<(), SshError> {
        let mut b = fs::DirBuilder::new();
        b.recursive(true).mode(0o700);
        b.create(NODE_SSH_DIR)
            .map_err(io_err("creating", NODE_SSH_DIR))?;
        b.mode(0o755);
        b.create(PRIVSEP_DIR)
            .map_err(io_err("creating", PRIVSEP_DIR))?;
        let family = if self.ipv6 { "any" } else { "inet" };
        let sshd_config = render(SSHD_CONFIG, family);
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
        give_client_config(&format!("{NODE_SSH_DIR}/ssh_config"))
    }
}

fn render(template: &str, family: &str) -> String {
    template
        .replace("@SSH_DIR@", NODE_SSH_DIR)
        .replace("@ADDRESS_FAMILY@", family)
}

fn write_file(path: &str, data: &[u8], mode: u32) -> Result<(), SshError> {
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
fn give_client_config(config: &str) -> Result<(), SshError> {
    const SYSTEM: &str = "/etc/ssh/ssh_config";
    let mount_err = |path: &str| {
        let path = path.to_string();
        move |source| SshError::Mount { path, source }
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
pub fn spawn_sshd(log: &File, path_env: &str) -> Result<Pid, SshError> {
    let sshd = find_program("sshd").ok_or_else(|| SshError::Io {
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

/// Checks that `node` of `lab` runs sshd and returns the lab's state.
pub fn ssh_lab(lab: Option<&str>, node: Option<&str>) -> Result<LabState, SshError> {
    let lab = state::resolve_lab(lab)?;
    let st = LabState::load(&lab)?;
    if !lab_ssh_dir(&lab).is_dir() {
        return Err(SshError::LabWithoutSsh(lab));
    }
    if let Some(node) = node {
        st.node(node)?;
        let plan = st.plan.nodes.iter().find(|n| n.name == node);
        if let Some(n) = plan.filter(|n| !n.ssh) {
            let why = if n.kind == nsnet_lab::Kind::Switch {
                "it is a switch"
            } else {
                "ssh = false"
            };
            return Err(SshError::NodeWithoutSsh {
                lab,
                node: node.to_string(),
                why,
            });
        }
    }
    Ok(st)
}

/// `s` quoted for the shell that runs an ssh ProxyCommand.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,=@".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The ProxyCommand that reaches `port` (a number or `%p`) of `node`. ssh expands `%` tokens
/// in it, so a `%` in the path is doubled.
pub fn proxy_command(nsnet: &Path, lab: &str, node: &str, port: &str) -> String {
    let exe = shell_quote(&nsnet.display().to_string()).replace('%', "%%");
    format!("{exe} proxy --lab {lab} {node} {port}")
}

/// The ssh client options that log into `node` of `lab` as root through `nsnet proxy`.
pub fn client_options(nsnet: &Path, lab: &str, node: &str, port: &str) -> Vec<(String, String)> {
    let opts = [
        ("HostName", node.to_string()),
        ("User", "root".into()),
        ("ProxyCommand", proxy_command(nsnet, lab, node, port)),
        ("IdentityFile", identity_path(lab).display().to_string()),
        ("IdentitiesOnly", "yes".into()),
        (
            "UserKnownHostsFile",
            known_hosts_path(lab).display().to_string(),
        ),
        ("GlobalKnownHostsFile", "/dev/null".into()),
        ("HostKeyAlias", node.to_string()),
        ("StrictHostKeyChecking", "yes".into()),
        ("UpdateHostKeys", "no".into()),
        ("CheckHostIP", "no".into()),
    ];
    opts.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// An ssh_config snippet with a `Host <node>.<lab>` entry per node that runs sshd.
pub fn ssh_config(st: &LabState, nsnet: &Path) -> String {
    let lab = &st.plan.lab;
    let mut out = format!(
        "# nsnet lab {lab}: use as `ssh -F <(nsnet ssh-config {lab}) <node>.{lab}`, or add to \
         ~/.ssh/config\n"
    );
    for n in st.plan.nodes.iter().filter(|n| n.ssh) {
        out.push_str(&format!("\nHost {}.{lab}\n", n.name));
        for (k, v) in client_options(nsnet, lab, &n.name, "%p") {
            out.push_str(&format!("    {k} {v}\n"));
        }
    }
    out
}

/// `nsnet proxy`: connects to 127.0.0.1:`port` inside the node's netns (this thread steps in
/// for the connect only), then relays stdin to the connection and the connection to stdout
/// until both directions are closed. An end of input is passed on as a half-close.
pub fn proxy(t: &NodeTarget, port: u16) -> Result<(), SshError> {
    let path = format!("/proc/{}/ns/net", t.pid);
    let netns_err = |source| SshError::Netns {
        node: t.node.clone(),
        source,
    };
    let ns = nsnet_netcfg::Netns::open(Path::new(&path)).map_err(netns_err)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let sock = nsnet_netcfg::in_netns(&ns, || TcpStream::connect(addr))
        .map_err(netns_err)?
        .map_err(|source| SshError::Connect {
            node: t.node.clone(),
            port,
            source,
        })?;
    drop(ns);
    relay(sock).map_err(SshError::Relay)
}

fn relay(sock: TcpStream) -> io::Result<()> {
    // Raw fds, not Rust's line-buffered stdout: ssh's packets must go out as they come.
    let mut input = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let mut output = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    let mut to_node = sock.try_clone()?;
    let upstream = std::thread::spawn(move || {
        let r = copy(&mut input, &mut to_node);
        let _ = to_node.shutdown(Shutdown::Write);
        r
    });
    let mut from_node = &sock;
    let down = copy(&mut from_node, &mut output);
    // End of the node's data: close our stdout (all copies of it) so the reader sees EOF.
    drop(output);
    if let Ok(null) = File::open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
    }
    let up = upstream
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the relay thread panicked")));
    down.and(up)
}

/// Copies until the end of `from`; a reset or broken pipe counts as the end. Not io::copy: on
/// Linux it splices a pipe into the socket, and ssh then stalled in its key exchange (a
/// packet held back in the socket, waiting for more that never came until sshd timed out).
fn copy(from: &mut impl Read, to: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let ended = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        )
    };
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if ended(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        match to.write_all(&buf[..n]) {
            Ok(()) => {}
            Err(e) if ended(&e) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Runs the stock ssh client into `node` of `lab` (replaces this process).
pub fn exec_ssh(lab: &str, node: &str, cmd: &[String]) -> io::Error {
    let nsnet = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("nsnet"));
    let mut ssh = Command::new("ssh");
    for (k, v) in client_options(&nsnet, lab, node, "22") {
        ssh.arg("-o").arg(format!("{k}={v}"));
    }
    // A multiplexed connection of the user's config to a same-named node of another lab must
    // not be reused.
    ssh.args([
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "--",
        node,
    ]);
    ssh.args(cmd);
    ssh.exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("/usr/bin/nsnet"), "/usr/bin/nsnet");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(
            proxy_command(Path::new("/x/50%/nsnet"), "lab", "h1", "%p"),
            "'/x/50%%/nsnet' proxy --lab lab h1 %p"
        );
    }

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
