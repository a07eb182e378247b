//! What runs in a node besides its network: its root filesystem (`root`, `tree`), its
//! services, its private directories (with their mode and owner) and its resource limits.

use super::resolve::Resolver;
use crate::error::Invalid;
use crate::size::SizeValue;
use crate::spec::{ModeValue, PrivateSpec, S};
use crate::values::{Limits, PrivateDir, Root};
use std::collections::HashMap;
use std::path::Path;

/// A node's defaults from `[lab]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeDefaults {
    pub ssh: bool,
    pub tmpfs_size: u64,
    pub root: Root,
    pub limits: Limits,
}

/// The smallest memory limit: below it not even a shell starts.
const MIN_MEMORY: u64 = 4 << 20;
const MAX_CPU: f64 = 1024.0;

impl Resolver {
    /// `root = "host" | "overlay" | "PATH"` (a directory or an image tarball, relative to
    /// the lab file's directory `dir`).
    pub(super) fn root(&mut self, v: &S<String>, dir: Option<&Path>) -> Option<Root> {
        self.check(v.span().start, parse_root(v.get_ref(), dir))
    }

    /// `tree = "DIR"`: a directory laid over the node's root.
    pub(super) fn tree(&mut self, v: &S<String>, dir: Option<&Path>) -> Option<std::path::PathBuf> {
        let path = match dir {
            Some(d) => d.join(v.get_ref()),
            None => return Some(v.get_ref().into()),
        };
        self.check(v.span().start, existing_dir(v.get_ref(), &path, "tree"))
    }

    /// `services = ["frr", "bind9"]`: unit names, each once.
    pub(super) fn services(&mut self, list: &[S<String>]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in list {
            let name = s.get_ref().trim_end_matches(".service");
            let ok = !name.is_empty()
                && name.len() <= 128
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@._-:".contains(c));
            if !ok {
                self.err(
                    s.span().start,
                    format!("`{}` is not a service name", s.get_ref()),
                    "name an installed service as systemctl does, e.g. \"frr\" or \"bind9\""
                        .to_string(),
                );
            } else if out.iter().any(|o| o == name) {
                self.err(
                    s.span().start,
                    format!("service {name} is listed twice"),
                    "list it once".to_string(),
                );
            } else {
                out.push(name.to_string());
            }
        }
        out
    }

    /// `cpu`, `memory`, `pids` (of a node or of the lab).
    pub(super) fn limits(
        &mut self,
        cpu: &Option<S<f64>>,
        memory: &Option<S<SizeValue>>,
        pids: &Option<S<i64>>,
    ) -> Limits {
        let cpu = cpu.as_ref().and_then(|c| {
            let v = *c.get_ref();
            if (0.001..=MAX_CPU).contains(&v) {
                Some((v * 1000.0).round() as u32)
            } else {
                self.err(
                    c.span().start,
                    format!("cpu {v} is out of range"),
                    "a share of CPUs, from 0.001: 0.1 is a tenth of one core, 2 is two cores"
                        .to_string(),
                );
                None
            }
        });
        let memory = memory
            .as_ref()
            .and_then(|m| self.size(m, "memory", MIN_MEMORY, 1 << 50));
        let pids = pids.as_ref().and_then(|p| {
            let v = *p.get_ref();
            if (8..=4_194_304).contains(&v) {
                Some(v as u64)
            } else {
                self.err(
                    p.span().start,
                    format!("pids {v} is out of range"),
                    "a number of processes and threads, from 8 to 4194304".to_string(),
                );
                None
            }
        });
        Limits {
            millicpu: cpu,
            memory,
            pids,
        }
    }

    /// `private`: directories, each once, with their mode and owner when given. Nested ones
    /// are fine (each gets its own empty copy).
    pub(super) fn private_dirs(&mut self, list: &[S<PrivateSpec>]) -> Vec<PrivateDir> {
        let mut private: Vec<PrivateDir> = Vec::new();
        let mut private_at: HashMap<String, usize> = HashMap::new();
        for p in list {
            let at = p.span().start;
            let (path, mode, owner, group) = match p.get_ref() {
                PrivateSpec::Path(s) => (s, None, None, None),
                PrivateSpec::Table(t) => {
                    (&t.path, t.mode.as_ref(), t.owner.clone(), t.group.clone())
                }
            };
            let Some(path) = self.check(at, super::node::abs_path(path, "private directory"))
            else {
                continue;
            };
            if path == "/" {
                self.err(at, "`/` cannot be private", None);
            }
            let mode = mode.and_then(|m| self.check(at, parse_mode(m)));
            for (who, name) in [("owner", &owner), ("group", &group)] {
                if let Some(n) = name {
                    if !valid_user(n) {
                        self.err(
                            at,
                            format!("private directory {path}: `{n}` is not a {who} name or id"),
                            format!("a user or group of the node's root, e.g. {who} = \"bind\""),
                        );
                    }
                }
            }
            if let Some(&first) = private_at.get(&path) {
                let (l, c) = self.src.line_col(first);
                self.err(
                    at,
                    format!("private directory {path} is listed twice (also at line {l}:{c})"),
                    "list it once".to_string(),
                );
                continue;
            }
            private_at.insert(path.clone(), at);
            private.push(PrivateDir {
                path,
                mode,
                owner,
                group,
            });
        }
        private
    }
}

/// A user or group: a name as useradd takes it, or a number.
fn valid_user(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// A mode, `"0775"`, `"775"` or 0o775.
fn parse_mode(m: &ModeValue) -> Result<u32, Invalid> {
    let v = match m {
        ModeValue::Int(i) => u32::try_from(*i).ok(),
        ModeValue::Str(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8).ok(),
    };
    v.filter(|v| *v <= 0o7777)
        .ok_or_else(|| Invalid::new("a mode is octal, from 0 to 7777").hint("e.g. mode = \"0775\""))
}

fn parse_root(w: &str, dir: Option<&Path>) -> Result<Root, Invalid> {
    match w {
        "host" => return Ok(Root::Host),
        "overlay" => return Ok(Root::Overlay),
        _ => {}
    }
    let Some(dir) = dir else {
        return Ok(Root::Dir(w.into()));
    };
    let path = dir.join(w);
    let meta = std::fs::metadata(&path).map_err(|_| {
        Invalid::new(format!(
            "root `{w}` is neither \"host\", \"overlay\" nor an existing directory or image ({})",
            path.display()
        ))
        .hint("give a directory tree (e.g. made by debootstrap) or an image tarball (docker save, OCI layout), relative to the lab file")
    })?;
    let real = std::fs::canonicalize(&path).unwrap_or(path);
    if meta.is_dir() {
        Ok(Root::Dir(real))
    } else if meta.is_file() {
        Ok(Root::Image(real))
    } else {
        Err(Invalid::new(format!(
            "root `{w}` is not a directory or a regular file"
        )))
    }
}

fn existing_dir(w: &str, path: &Path, what: &str) -> Result<std::path::PathBuf, Invalid> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(std::fs::canonicalize(path).unwrap_or(path.to_path_buf())),
        Ok(_) => Err(Invalid::new(format!(
            "{what} `{w}` is not a directory ({})",
            path.display()
        ))),
        Err(_) => Err(
            Invalid::new(format!("{what} `{w}` does not exist ({})", path.display()))
                .hint("the path is relative to the lab file's directory"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode(&ModeValue::Str("0775".into())).unwrap(), 0o775);
        assert_eq!(parse_mode(&ModeValue::Str("1777".into())).unwrap(), 0o1777);
        assert_eq!(parse_mode(&ModeValue::Int(0o750)).unwrap(), 0o750);
        assert!(parse_mode(&ModeValue::Str("0789".into())).is_err());
        assert!(parse_mode(&ModeValue::Int(0o17777)).is_err());
    }

    #[test]
    fn users() {
        assert!(valid_user("bind"));
        assert!(valid_user("1000"));
        assert!(!valid_user("a b"));
        assert!(!valid_user("../x"));
    }
}
