//! A node's table (`[nodes] r1 = { … }`): its kind, commands, sysctls, files, private
//! directories, routes and gateway.

use super::addr::network_only;
use super::names::{check_node_name, suggest};
use super::resolve::Resolver;
use super::software::NodeDefaults;
use super::{Node, StaticRoute};
use crate::error::Invalid;
use crate::limits::{MAX_TMPFS_SIZE, MIN_TMPFS_SIZE};
use crate::spec::{self, RouteSpec, SysctlValue, S};
use crate::values::{Bind, FileCopy, Kind, Root, Sysctl, Word};

/// At most this many `env` entries per node.
const MAX_ENV: usize = 256;
/// At most this many bytes per `env` value.
const MAX_ENV_VALUE: usize = 32 << 10;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

impl Resolver {
    /// The node `name`; `lab_ssh` and `lab_tmpfs_size` are the lab's defaults, `dir` is
    /// where `files` sources are looked up (None: not checked).
    pub(super) fn node(
        &mut self,
        name: S<String>,
        ns: S<spec::NodeSpec>,
        defaults: &NodeDefaults,
        dir: Option<&Path>,
    ) -> Node {
        let (lab_ssh, lab_tmpfs_size) = (defaults.ssh, defaults.tmpfs_size);
        let at = name.span().start;
        let name = name.into_inner();
        if let Err(why) = check_node_name(&name) {
            self.err(
                at,
                format!("node name `{name}` {}", why.message),
                "use 1-63 letters, digits, _ and -, starting with a letter or a digit".to_string(),
            );
        }
        let ns = ns.into_inner();
        let kind_early = ns
            .kind
            .as_ref()
            .and_then(|k| Kind::from_word(k.get_ref()))
            .unwrap_or(Kind::Host);
        let outside = self.outside(&ns, &name, kind_early, at);
        let kind = ns.kind.as_ref().map_or(Kind::Host, |k| {
            self.check(k.span().start, parse_kind(k.get_ref(), &name))
                .unwrap_or(Kind::Host)
        });
        let exec = self.exec(&ns.exec);
        let sysctls = self.sysctls(&ns.sysctl);
        let files = self.files(&ns.files, dir);
        let private = self.private_dirs(&ns.private);
        let routes = self.static_routes(&ns.routes, &name, kind);
        let gateway = self.gateway(&ns.gateway, &name, kind);
        let tmpfs_size = ns.tmpfs_size.as_ref().map_or(lab_tmpfs_size, |v| {
            self.size(v, "tmpfs_size", MIN_TMPFS_SIZE, MAX_TMPFS_SIZE)
                .unwrap_or(lab_tmpfs_size)
        });
        let mut root = match &ns.root {
            Some(r) => self.root(r, dir).unwrap_or_default(),
            // A switch runs no software: the lab's default root is for hosts and routers.
            None if kind == Kind::Switch => Root::Host,
            None => defaults.root.clone(),
        };
        let tree = ns.tree.as_ref().and_then(|t| self.tree(t, dir));
        if tree.is_some() && root == Root::Host {
            // A tree is a layer over the node's root: the host's own `/` gets one as an
            // overlay.
            root = Root::Overlay;
        }
        let services = self.services(&ns.services);
        let env = self.env(&ns.env);
        let binds = self.binds(&ns.binds, dir, &root, &private);
        let after = ns
            .after
            .iter()
            .map(|a| (a.get_ref().clone(), a.span().start))
            .collect();
        let loopback = self.loopback(&ns.loopback, &name, kind);
        let limits = self
            .limits(&ns.cpu, &ns.memory, &ns.pids)
            .or(defaults.limits);
        if kind == Kind::Switch
            && (root != Root::Host || !services.is_empty() || !env.is_empty() || !binds.is_empty())
        {
            let at = ns.root.as_ref().map_or(at, |r| r.span().start);
            self.err(
                at,
                format!("switch {name} runs no software: `root`, `tree`, `services`, `env` and `binds` are for hosts and routers"),
                "remove them from the switch".to_string(),
            );
        }
        if let Some(stp) = &ns.stp {
            if kind != Kind::Switch {
                self.err(
                    stp.span().start,
                    format!("stp is a switch's key, and {name} is a {kind}"),
                    "remove it: only a switch's bridge runs the spanning tree".to_string(),
                );
            }
        }
        let host = ns.host.as_ref().and_then(|h| {
            let v = h.get_ref();
            if crate::spread::valid_host_name(v) {
                Some(v.clone())
            } else {
                self.err(
                    h.span().start,
                    format!("host {v:?} is not a host name"),
                    "use 1-32 characters of a-z, 0-9 and -, as the hosts file names it".to_string(),
                );
                None
            }
        });
        Node {
            tmpfs_size,
            privileged: ns.privileged.is_some_and(|p| *p.get_ref()),
            stp: ns.stp.is_some_and(|s| *s.get_ref()) && kind == Kind::Switch,
            name,
            kind,
            ssh: ns.ssh.map_or(lab_ssh, |s| *s.get_ref()),
            exec,
            sysctls,
            files,
            private,
            routes,
            gateway,
            firewall: None,
            root,
            tree,
            services,
            limits,
            loopback,
            ipv6: ns.ipv6.as_ref().is_some_and(|v| *v.get_ref()),
            after,
            env,
            binds,
            uplink: outside.uplink,
            ports: outside.ports,
            host_ifaces: outside.host_ifaces,
            outside_at: outside.at,
            host,
        }
    }

    /// `env`: names as shells take them, values on no particular line; bounded.
    fn env(&mut self, table: &BTreeMap<S<String>, S<String>>) -> Vec<(String, String)> {
        let mut env = Vec::new();
        for (k, v) in table {
            let key = k.get_ref();
            let good = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !good {
                self.err(
                    k.span().start,
                    format!("`{key}` is not an environment variable name"),
                    "use letters, digits and _, not starting with a digit".to_string(),
                );
                continue;
            }
            if v.get_ref().contains('\0') || v.get_ref().len() > MAX_ENV_VALUE {
                self.err(
                    v.span().start,
                    format!("the value of {key} holds a NUL byte or is over {MAX_ENV_VALUE} bytes"),
                    "shorten it".to_string(),
                );
                continue;
            }
            env.push((key.clone(), v.get_ref().clone()));
        }
        if env.len() > MAX_ENV {
            let at = table.keys().nth(MAX_ENV).map_or(0, |k| k.span().start);
            self.err(
                at,
                format!("more than {MAX_ENV} environment variables"),
                None,
            );
        }
        env
    }

    /// `binds`: `"SRC:DST"` or `"SRC:DST:ro"` (`rw` the default); SRC relative to `dir`,
    /// checked there when given.
    fn binds(
        &mut self,
        list: &[S<String>],
        dir: Option<&Path>,
        root: &Root,
        private: &[crate::values::PrivateDir],
    ) -> Vec<Bind> {
        // Paths the node has its own of, where a missing target may be made.
        let own = |p: &str| {
            ["/run", "/tmp"]
                .iter()
                .copied()
                .chain(private.iter().map(|d| d.path.as_str()))
                .any(|d| p.starts_with(&format!("{}/", d.trim_end_matches('/'))))
        };
        let mut binds: Vec<Bind> = Vec::new();
        for b in list {
            let at = b.span().start;
            let parts: Vec<&str> = b.get_ref().split(':').collect();
            let (src, dst, ro) = match parts.as_slice() {
                [s, d] => (*s, *d, false),
                [s, d, "ro"] => (*s, *d, true),
                [s, d, "rw"] => (*s, *d, false),
                _ => {
                    self.err(
                        at,
                        format!("`{}` is not a bind", b.get_ref()),
                        "write \"HOST_PATH:NODE_PATH\" or \"HOST_PATH:NODE_PATH:ro\"".to_string(),
                    );
                    continue;
                }
            };
            let Some(path) = self.check(at, abs_path(dst, "bind target")) else {
                continue;
            };
            if let Some(bad) = ["/", "/proc", "/sys", "/dev", "/run"].iter().find(|p| {
                path == **p || (**p != "/" && **p != "/run" && path.starts_with(&format!("{p}/")))
            }) {
                self.err(
                    at,
                    format!("a bind on {path}: {bad} is the node's own"),
                    "bind somewhere else, e.g. /shared or /data".to_string(),
                );
                continue;
            }
            if let Some(other) = binds.iter().find(|o| o.path == path) {
                self.err(
                    at,
                    format!("two binds on {}", other.path),
                    "bind each path once".to_string(),
                );
                continue;
            }
            let source = match dir {
                Some(d) => {
                    let Some(real) = self.check(at, bind_source(src, &d.join(src))) else {
                        continue;
                    };
                    // With the host's own root, a missing target would be made on the host.
                    if *root == Root::Host && !own(&path) && !Path::new(&path).exists() {
                        self.err(
                            at,
                            format!("the bind target {path} does not exist, and the node's root is the host's"),
                            "bind onto a path that exists, or give the node root = \"overlay\" (the target is then made in its own layer)".to_string(),
                        );
                        continue;
                    }
                    real
                }
                None => PathBuf::from(src),
            };
            binds.push(Bind {
                source,
                path,
                read_only: ro,
            });
        }
        binds
    }

    /// `exec`: commands, none empty.
    fn exec(&mut self, list: &[S<String>]) -> Vec<String> {
        let mut exec = Vec::new();
        for e in list {
            if e.get_ref().trim().is_empty() {
                self.err(
                    e.span().start,
                    "an empty `exec` command",
                    "remove it".to_string(),
                );
            }
            exec.push(e.get_ref().clone());
        }
        exec
    }

    /// `sysctl`: net.* keys only (the others are the host's), values on one line.
    fn sysctls(&mut self, table: &BTreeMap<S<String>, S<SysctlValue>>) -> Vec<Sysctl> {
        let mut sysctls = Vec::new();
        for (k, v) in table {
            let key = k.get_ref();
            self.check(k.span().start, check_sysctl_key(key));
            let value = v.get_ref().render();
            if value.contains('\n') {
                self.err(v.span().start, "a sysctl value cannot span lines", None);
            }
            sysctls.push(Sysctl {
                key: key.clone(),
                value,
            });
        }
        sysctls
    }

    /// `files`: a path in the node for each source on the host (relative to `dir`, checked
    /// there when given).
    fn files(
        &mut self,
        table: &BTreeMap<S<String>, S<String>>,
        dir: Option<&Path>,
    ) -> Vec<FileCopy> {
        let mut files = Vec::new();
        for (target, source) in table {
            let Some(path) = self.check(
                target.span().start,
                abs_path(target.get_ref(), "file path in the node"),
            ) else {
                continue;
            };
            let src_rel = Path::new(source.get_ref());
            let source_path = match dir {
                Some(d) => {
                    let joined = d.join(src_rel);
                    self.check(source.span().start, file_source(source.get_ref(), &joined))
                        .unwrap_or(joined)
                }
                None => src_rel.to_path_buf(),
            };
            files.push(FileCopy {
                path,
                source: source_path,
            });
        }
        files
    }

    /// `loopback`: addresses on the node's `lo` (any prefix; a /32 or /128 usually).
    fn loopback(
        &mut self,
        v: &Option<S<crate::spec::OneOrMany>>,
        name: &str,
        kind: Kind,
    ) -> Vec<crate::cidr::Cidr> {
        let Some(v) = v else { return Vec::new() };
        let at = v.span().start;
        if kind == Kind::Switch {
            self.err(
                at,
                format!("switch {name} has no IP layer: no loopback"),
                None,
            );
            return Vec::new();
        }
        let list: Vec<&String> = match v.get_ref() {
            crate::spec::OneOrMany::One(s) => vec![s],
            crate::spec::OneOrMany::Many(l) => l.iter().collect(),
        };
        list.into_iter()
            .filter_map(|s| {
                let c = self.check(at, super::addr::parse_cidr(s))?;
                (!self.unusable(&c, at, "loopback address")).then_some(c)
            })
            .collect()
    }

    /// `routes`: destinations and gateways of one family; none on a switch.
    fn static_routes(&mut self, list: &[S<RouteSpec>], name: &str, kind: Kind) -> Vec<StaticRoute> {
        let mut routes = Vec::new();
        for r in list {
            let r = r.get_ref();
            let to = self.cidr(&r.to);
            let via = self.ip(&r.via, "route `via`");
            let (Some(to), Some(via)) = (to, via) else {
                continue;
            };
            let dev = r.dev.as_ref().map(|d| d.get_ref().clone());
            let link_local = matches!(via, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
            if let Err(e) = network_only(to, "route destination") {
                self.report(r.to.span().start, e);
            } else if link_local && dev.is_none() {
                self.err(
                    r.via.span().start,
                    format!("route to {to} via {via}: a link-local gateway needs its interface"),
                    "add dev = \"eth0\" (the node's interface toward it)".to_string(),
                );
            } else if to.is_v4() != via.is_ipv4() && !link_local {
                // An IPv4 route via an IPv6 link-local next hop (RFC 5549) is fine.
                self.err(
                    r.via.span().start,
                    format!("route to {to} via {via}: the gateway is of the other IP family"),
                    None,
                );
            }
            routes.push(StaticRoute {
                to,
                via,
                dev,
                at: r.via.span().start,
            });
        }
        if kind == Kind::Switch {
            if let Some(r) = list.first() {
                self.err(
                    r.span().start,
                    format!("switch {name} has `routes`, but a switch has no IP layer"),
                    "make it a router, or move the routes to a router".to_string(),
                );
            }
        }
        routes
    }

    /// `gateway`: a host's default route, and where it is written.
    fn gateway(
        &mut self,
        g: &Option<S<String>>,
        name: &str,
        kind: Kind,
    ) -> Option<(IpAddr, usize)> {
        let g = g.as_ref()?;
        if kind != Kind::Host {
            self.err(
                g.span().start,
                format!("`gateway` is for hosts only, and {name} is a {kind}"),
                "give a router `routes = [{ to = \"0.0.0.0/0\", via = \"…\" }]` instead"
                    .to_string(),
            );
        }
        self.ip(g, "gateway").map(|a| (a, g.span().start))
    }
}

/// `kind = "router"` of the node `node`.
fn parse_kind(word: &str, node: &str) -> Result<Kind, Invalid> {
    Kind::from_word(word).ok_or_else(|| Invalid {
        message: format!("unknown kind `{word}` for node {node}"),
        hint: suggest(word, &Kind::words())
            .or(Some("use \"host\", \"router\" or \"switch\"".into())),
    })
}

/// A sysctl key a node may set: dotted, under net.
fn check_sysctl_key(key: &str) -> Result<(), Invalid> {
    if !key.starts_with("net.") {
        return Err(Invalid::new(format!(
            "sysctl `{key}` is not per-network-namespace: setting it would change the host"
        ))
        .hint("only net.* sysctls can be set for a node"));
    }
    if key.is_empty()
        || key.contains("..")
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Invalid::new(format!("`{key}` is not a sysctl name"))
            .hint("write it dotted, e.g. net.ipv4.tcp_syncookies"));
    }
    Ok(())
}

/// An absolute path in the node (`what` names it in errors), in one spelling:
/// `/var//www/./html/` is `/var/www/html`.
pub(super) fn abs_path(s: &str, what: &str) -> Result<String, Invalid> {
    if !s.starts_with('/') || s.split('/').any(|c| c == "..") || s.contains('\0') {
        return Err(Invalid::new(format!(
            "{what} `{s}` must be an absolute path without `..`"
        ))
        .hint("write the path inside the node from its root, e.g. /etc/frr"));
    }
    let parts: Vec<&str> = s
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    Ok(format!("/{}", parts.join("/")))
}

/// A `binds` source: an existing file or directory, canonical (no symlink left to follow).
fn bind_source(w: &str, path: &Path) -> Result<PathBuf, Invalid> {
    match std::fs::canonicalize(path) {
        Ok(real) => {
            let m = std::fs::metadata(&real).map_err(|e| {
                Invalid::new(format!(
                    "bind source `{w}` cannot be read ({}): {e}",
                    real.display()
                ))
            })?;
            if !(m.is_dir() || m.is_file()) {
                return Err(Invalid::new(format!(
                    "bind source `{w}` ({}) is neither a file nor a directory",
                    real.display()
                ))
                .hint("bind a file or a directory"));
            }
            Ok(real)
        }
        Err(e) => Err(Invalid::new(format!(
            "bind source `{w}` does not exist ({}): {e}",
            path.display()
        ))
        .hint("the source path is relative to the lab file's directory")),
    }
}

/// A `files` source (`written` as in the file, found at `path`) must be a regular file or a
/// directory (copied whole). Its
/// canonical path is returned, so that later steps never follow a link (a source that is a
/// symlink is resolved here).
fn file_source(w: &str, path: &Path) -> Result<PathBuf, Invalid> {
    let shown = path.display();
    let unreadable = "make it readable by the user running nsnet";
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(
                Invalid::new(format!("`files` source `{w}` does not exist ({shown})"))
                    .hint("the source path is relative to the lab file's directory"),
            );
        }
        Err(e) => {
            return Err(Invalid::new(format!(
                "`files` source `{w}` cannot be read ({shown}): {e}"
            ))
            .hint(unreadable));
        }
    };
    let (real, meta) = match std::fs::canonicalize(path) {
        Ok(real) => match std::fs::metadata(&real) {
            Ok(m) => (real, m),
            Err(e) => {
                return Err(Invalid::new(format!(
                    "`files` source `{w}` cannot be read ({}): {e}",
                    real.display()
                ))
                .hint(unreadable));
            }
        },
        Err(_) if meta.file_type().is_symlink() => {
            let to =
                std::fs::read_link(path).map_or_else(|_| "?".into(), |t| t.display().to_string());
            return Err(Invalid::new(format!(
                "`files` source `{w}` is a symbolic link to `{to}`, which does not exist ({shown})"
            ))
            .hint("point the link at an existing file, or name the file itself"));
        }
        Err(_) => (path.to_path_buf(), meta),
    };
    let resolved = if real.as_path() == path {
        String::new()
    } else {
        format!(" → {}", real.display())
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        // A tree: copied whole, modes kept.
        return Ok(real);
    }
    if !ft.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let kind = if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_socket() {
            "a socket"
        } else if ft.is_char_device() || ft.is_block_device() {
            "a device"
        } else {
            "something else"
        };
        return Err(Invalid::new(format!(
            "`files` source `{w}` is not a regular file ({shown}{resolved} is {kind})"
        ))
        .hint("name a regular file: its contents are copied into the node"));
    }
    Ok(real)
}
