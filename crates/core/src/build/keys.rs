//! At `up`: the lab's ssh keys (with `ssh-keygen`) and known_hosts, in its state dir.

use crate::node::sshd::find_program;
use crate::state::keys::{lab_ssh_dir, CLIENT_KEY, HOST_KEY, KNOWN_HOSTS, SSH_DIR};
use crate::state::{LabDir, StateError};
use nsnet_lab::Plan;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("ssh: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: io::Error,
    },
    #[error("ssh: ssh-keygen could not make {path}: {detail}")]
    Keygen { path: String, detail: String },
    #[error(transparent)]
    State(#[from] StateError),
}

fn io_err(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> KeyError {
    let path = path.as_ref().display().to_string();
    move |source| KeyError::Io { op, path, source }
}

/// At `up`: makes the lab's keys and known_hosts when any node runs sshd. Returns whether the
/// nodes run sshd: false when none asks for it, or when sshd is not installed (said once on
/// stderr; the lab comes up without it).
pub fn prepare_lab(lab_dir: &LabDir, plan: &Plan) -> Result<bool, KeyError> {
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
    lab_dir.mkdir(SSH_DIR)?;
    let dir = lab_ssh_dir(lab_dir.name());
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
            return Err(KeyError::Keygen {
                path: path.display().to_string(),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let public = dir.join(format!("{name}.pub"));
        fs::set_permissions(&public, fs::Permissions::from_mode(0o600))
            .map_err(io_err("restricting", &public))?;
    }
    let host_pub = format!("{SSH_DIR}/{HOST_KEY}.pub");
    let host_pub = lab_dir
        .read(&host_pub)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(io_err("reading", dir.join(format!("{HOST_KEY}.pub"))))?;
    let text = known_hosts(plan, host_pub.trim());
    lab_dir.write(&format!("{SSH_DIR}/{KNOWN_HOSTS}"), text.as_bytes())?;
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
        // Its management address or uplink: ssh and Ansible from the host reach it there.
        names.extend(n.host_link.iter().map(|h| h.addr.addr.to_string()));
        out.push_str(&format!("{} {host_key}\n", names.join(",")));
    }
    out
}
