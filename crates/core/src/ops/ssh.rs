//! ssh into nodes from a host that has no interface in the lab: the stock ssh client with
//! the lab's key and known_hosts, reaching a node through `nsnet proxy` (a TCP connection
//! opened inside the node's netns to its loopback, relayed over stdin/stdout).

use crate::ops::enter::{EnterError, NodeTarget};
use crate::running::RunningLab;
use crate::state::keys::{identity_path, known_hosts_path, SSH_DIR};
use crate::state::{LabName, StateError};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
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

/// Checks that `node` of `lab` runs sshd and returns the lab.
pub fn ssh_lab(lab: Option<&str>, node: Option<&str>) -> Result<RunningLab, SshError> {
    let st = RunningLab::open(lab)?;
    let lab = st.name.to_string();
    if !st.dir.exists(SSH_DIR) {
        return Err(SshError::LabWithoutSsh(lab));
    }
    if let Some(node) = node {
        st.state.node(node)?;
        let plan = st.plan().node(node);
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
pub fn client_options(
    nsnet: &Path,
    lab: &LabName,
    node: &str,
    port: &str,
) -> Vec<(String, String)> {
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
pub fn ssh_config(st: &RunningLab, nsnet: &Path) -> String {
    let lab = &st.name;
    let mut out = format!(
        "# nsnet lab {lab}: use as `ssh -F <(nsnet ssh-config {lab}) <node>.{lab}`, or add to \
         ~/.ssh/config\n"
    );
    for n in st.plan().nodes.iter().filter(|n| n.ssh) {
        out.push_str(&format!("\nHost {}.{lab}\n", n.name));
        for (k, v) in client_options(nsnet, lab, &n.name, "%p") {
            out.push_str(&format!("    {k} {v}\n"));
        }
    }
    out
}

/// An Ansible inventory of the lab's ssh nodes (INI, or YAML with `yaml`), grouped by kind:
/// a node with a management address or an uplink is reached there (`ansible_host`), any
/// other through `nsnet proxy`; as root, with the lab's key and known_hosts, and the host's
/// python3 (which every node with the host's root has).
pub fn inventory(st: &RunningLab, nsnet: &Path, yaml: bool) -> String {
    let lab = &st.name;
    let key = identity_path(lab).display().to_string();
    let common = format!(
        "-o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ControlMaster=no -o ControlPath=none",
        known_hosts_path(lab).display()
    );
    // (group, node, address or None, extra ssh args)
    let mut rows: Vec<(&str, &str, Option<String>, Option<String>)> = Vec::new();
    for n in st.plan().nodes.iter().filter(|n| n.ssh) {
        let group = match n.kind {
            nsnet_lab::Kind::Router => "routers",
            _ => "hosts",
        };
        match &n.host_link {
            Some(h) => rows.push((group, &n.name, Some(h.addr.addr.to_string()), None)),
            None => rows.push((
                group,
                &n.name,
                None,
                Some(format!(
                    "-o ProxyCommand=\"{}\" -o HostKeyAlias={}",
                    proxy_command(nsnet, lab, &n.name, "%p"),
                    n.name
                )),
            )),
        }
    }
    let mut out = String::new();
    if yaml {
        out.push_str(&format!(
            "# nsnet lab {lab}: ansible all -i <(nsnet inventory {lab} --format yaml) -m ping\n"
        ));
        out.push_str("all:\n  vars:\n");
        out.push_str("    ansible_user: root\n");
        out.push_str(&format!("    ansible_ssh_private_key_file: {key}\n"));
        out.push_str("    ansible_python_interpreter: /usr/bin/python3\n");
        out.push_str(&format!("    ansible_ssh_common_args: '{common}'\n"));
        out.push_str("  children:\n");
        for group in ["hosts", "routers"] {
            let members: Vec<_> = rows.iter().filter(|r| r.0 == group).collect();
            if members.is_empty() {
                continue;
            }
            out.push_str(&format!("    {group}:\n      hosts:\n"));
            for (_, node, addr, extra) in members {
                out.push_str(&format!("        {node}:\n"));
                out.push_str(&format!(
                    "          ansible_host: {}\n",
                    addr.as_deref().unwrap_or(node)
                ));
                if let Some(x) = extra {
                    out.push_str(&format!("          ansible_ssh_extra_args: '{x}'\n"));
                }
            }
        }
    } else {
        out.push_str(&format!(
            "# nsnet lab {lab}: ansible all -i <(nsnet inventory {lab}) -m ping\n"
        ));
        for group in ["hosts", "routers"] {
            let members: Vec<_> = rows.iter().filter(|r| r.0 == group).collect();
            if members.is_empty() {
                continue;
            }
            out.push_str(&format!("[{group}]\n"));
            for (_, node, addr, extra) in members {
                out.push_str(&format!(
                    "{node} ansible_host={}",
                    addr.as_deref().unwrap_or(node)
                ));
                if let Some(x) = extra {
                    out.push_str(&format!(" ansible_ssh_extra_args='{x}'"));
                }
                out.push('\n');
            }
            out.push('\n');
        }
        out.push_str("[all:vars]\nansible_user=root\n");
        out.push_str(&format!("ansible_ssh_private_key_file={key}\n"));
        out.push_str("ansible_python_interpreter=/usr/bin/python3\n");
        out.push_str(&format!("ansible_ssh_common_args='{common}'\n"));
    }
    out
}

/// `nsnet proxy`: connects to 127.0.0.1:`port` inside the node's netns (this thread steps in
/// for the connect only), then relays stdin to the connection and the connection to stdout
/// until both directions are closed. An end of input is passed on as a half-close.
pub fn proxy(t: &NodeTarget, port: u16) -> Result<(), SshError> {
    let netns_err = |source| SshError::Netns {
        node: t.node.clone(),
        source,
    };
    let ns = t
        .init
        .open_ns("net")
        .map(nsnet_netcfg::Netns::from)
        .map_err(|e| {
            netns_err(nsnet_netcfg::NetError::Io {
                op: nsnet_netcfg::Op::OpenNodeNetns,
                source: e.into(),
            })
        })?;
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
pub fn exec_ssh(lab: &LabName, node: &str, cmd: &[String]) -> io::Error {
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
}
