//! Finding a service's unit the way systemd does, in a root directory (the node's `/`; a
//! temporary tree in tests): the unit directories in order, `NAME` or `NAME.service`, symlinks
//! that alias a unit (`bind9.service -> named.service`) or mask it (`-> /dev/null`), the
//! `Alias=` of every unit (so an alias works even while the unit is not enabled), templates
//! (`getty@tty1` from `getty@.service`), drop-ins, and last an init script in /etc/init.d.

use super::unit::Unit;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where systemd looks for system units, most important first.
pub const UNIT_DIRS: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

pub const INIT_D: &str = "/etc/init.d";

/// Unit types other than services: named so that `start foo.socket` says what is wrong.
const OTHER_TYPES: [&str; 10] = [
    ".socket",
    ".target",
    ".timer",
    ".mount",
    ".automount",
    ".path",
    ".slice",
    ".scope",
    ".device",
    ".swap",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("Unit {0} not found.")]
    NotFound(String),
    #[error("Unit {0} is masked.")]
    Masked(String),
    #[error("Unit {0} is not a service: nsnet's systemctl manages services only.")]
    NotService(String),
    #[error("Unit name {0} is not valid.")]
    BadName(String),
}

/// `name` as a service unit name: `.service` added when it has no type.
pub fn normalize(name: &str) -> Result<String, LookupError> {
    let bad = || LookupError::BadName(name.to_string());
    if name.is_empty() || name.len() > 255 || name.contains('/') || name.starts_with('.') {
        return Err(bad());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c))
    {
        return Err(bad());
    }
    if name.ends_with(".service") {
        return Ok(name.to_string());
    }
    if OTHER_TYPES.iter().any(|t| name.ends_with(t)) {
        return Err(LookupError::NotService(name.to_string()));
    }
    Ok(format!("{name}.service"))
}

/// The template a unit instance comes from: `getty@tty1.service` → `getty@.service`.
fn template_of(name: &str) -> Option<String> {
    let (prefix, rest) = name.split_once('@')?;
    let (instance, suffix) = rest.rsplit_once('.')?;
    (!instance.is_empty()).then(|| format!("{prefix}@.{suffix}"))
}

/// Unit files as seen from `root`.
pub struct Lookup {
    root: PathBuf,
    hostname: String,
}

impl Lookup {
    pub fn new(root: impl Into<PathBuf>, hostname: &str) -> Lookup {
        Lookup {
            root: root.into(),
            hostname: hostname.to_string(),
        }
    }

    /// The node's own `/`, with its hostname for `%H`.
    pub fn node() -> Lookup {
        let host = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        Lookup::new("/", &host)
    }

    /// `path` (absolute, as the node sees it) in our root.
    pub fn real(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    pub fn read(&self, path: &str) -> Option<String> {
        fs::read_to_string(self.real(path)).ok()
    }

    /// Loads the service `name` (`bind9`, `named.service`, `getty@tty1`).
    pub fn load(&self, name: &str) -> Result<Unit, LookupError> {
        let name = normalize(name)?;
        let (unit_name, path) = match self.fragment(&name, 0)? {
            Some(found) => found,
            None => match self.by_alias(&name) {
                Some(found) => found,
                None => return self.init_script(&name),
            },
        };
        let text = self.read(&path).unwrap_or_default();
        let mut names = vec![unit_name.clone()];
        names.extend(template_of(&unit_name));
        if name != unit_name {
            names.push(name.clone());
        }
        names.push("service".into());
        let dropins = self.dropins(&names);
        Ok(Unit::parse(
            &unit_name,
            &path,
            &text,
            &dropins,
            &self.hostname,
        ))
    }

    /// The unit file for `name` in the unit dirs (following alias symlinks), or for its
    /// template: (the unit's own name, its path).
    fn fragment(&self, name: &str, depth: u32) -> Result<Option<(String, String)>, LookupError> {
        let template = template_of(name);
        for candidate in std::iter::once(name.to_string()).chain(template.clone()) {
            for dir in UNIT_DIRS {
                let at = format!("{dir}/{candidate}");
                let Some(target) = self.follow(&at) else {
                    continue;
                };
                if target == "/dev/null" {
                    return Err(LookupError::Masked(name.to_string()));
                }
                let mut own = target.rsplit('/').next().unwrap_or(&candidate).to_string();
                if template.as_deref() == Some(candidate.as_str()) || own.contains("@.") {
                    // An instance keeps its instance name through its template.
                    own = instance_name(name, &own);
                }
                if own != name && depth == 0 {
                    // An alias: the unit itself may have a more important file of its own.
                    if let Some(found) = self.fragment(&own, depth + 1)? {
                        return Ok(Some(found));
                    }
                }
                return Ok(Some((own, target)));
            }
        }
        Ok(None)
    }

    /// `path` with its symlinks followed inside our root (as the node sees the result), if
    /// it ends at a file; `/dev/null` for a mask.
    fn follow(&self, path: &str) -> Option<String> {
        let mut at = path.to_string();
        for _ in 0..16 {
            let real = self.real(&at);
            let meta = fs::symlink_metadata(&real).ok()?;
            if !meta.file_type().is_symlink() {
                return meta.is_file().then_some(at);
            }
            let target = fs::read_link(&real).ok()?.to_string_lossy().into_owned();
            if target == "/dev/null" {
                return Some(target);
            }
            at = if target.starts_with('/') {
                target
            } else {
                let parent = Path::new(&at).parent().unwrap_or(Path::new("/"));
                normalize_path(&parent.join(&target).to_string_lossy())
            };
        }
        None
    }

    /// A unit whose `[Install]` names `name` in `Alias=` (Debian's `bind9` for
    /// `named.service`), whether or not it is enabled.
    fn by_alias(&self, name: &str) -> Option<(String, String)> {
        for dir in UNIT_DIRS {
            let Ok(entries) = fs::read_dir(self.real(dir)) else {
                continue;
            };
            let mut files: Vec<String> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".service"))
                .collect();
            files.sort();
            for f in files {
                let path = format!("{dir}/{f}");
                let Some(text) = self.read(&path) else {
                    continue;
                };
                let aliased = super::unit::ini_lines(&text).iter().any(|(s, k, v)| {
                    s == "Install" && k == "Alias" && v.split_whitespace().any(|a| a == name)
                });
                if aliased {
                    return Some((f, path));
                }
            }
        }
        None
    }

    /// `/etc/init.d/NAME`, when it is an executable file.
    fn init_script(&self, name: &str) -> Result<Unit, LookupError> {
        let stem = name.trim_end_matches(".service");
        let not_found = || LookupError::NotFound(name.to_string());
        if stem.contains('@') {
            return Err(not_found());
        }
        let path = format!("{INIT_D}/{stem}");
        let meta = fs::metadata(self.real(&path)).map_err(|_| not_found())?;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(not_found());
        }
        let text = self.read(&path).unwrap_or_default();
        Ok(Unit::from_init_script(name, &path, &text))
    }

    /// The drop-ins (`NAME.d/*.conf`) of all `names`, sorted by file name; a file in a more
    /// important dir hides one of the same name in a later dir.
    fn dropins(&self, names: &[String]) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = Vec::new();
        for dir in UNIT_DIRS {
            for n in names {
                let d = format!("{dir}/{n}.d");
                let Ok(entries) = fs::read_dir(self.real(&d)) else {
                    continue;
                };
                for e in entries.flatten() {
                    let f = e.file_name().to_string_lossy().into_owned();
                    if f.ends_with(".conf") && !found.iter().any(|(name, _)| *name == f) {
                        found.push((f.clone(), format!("{d}/{f}")));
                    }
                }
            }
        }
        found.sort();
        found
            .into_iter()
            .filter_map(|(_, p)| Some((p.clone(), self.read(&p)?)))
            .collect()
    }

    /// `enabled` (wanted by a target, or aliased, in /etc), `disabled` (could be), `static`
    /// (has no `[Install]`), `generated` (an init script).
    pub fn enablement(&self, unit: &Unit) -> &'static str {
        if unit.sysv {
            return "generated";
        }
        let etc = UNIT_DIRS[0];
        let linked = unit
            .aliases
            .iter()
            .any(|a| fs::symlink_metadata(self.real(&format!("{etc}/{a}"))).is_ok())
            || fs::read_dir(self.real(etc))
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    (n.ends_with(".wants") || n.ends_with(".requires"))
                        && fs::symlink_metadata(e.path().join(&unit.name)).is_ok()
                });
        match (linked, unit.aliases.is_empty() && unit.wanted_by.is_empty()) {
            (true, _) => "enabled",
            (false, false) => "disabled",
            (false, true) => "static",
        }
    }
}

/// `instance`'s full name from its template's own name: `getty@tty1.service` with a
/// template `agetty@.service` (reached through an alias) is `agetty@tty1.service`.
fn instance_name(instance: &str, template: &str) -> String {
    let inst = instance
        .split_once('@')
        .and_then(|(_, r)| r.rsplit_once('.'))
        .map_or("", |(i, _)| i);
    match template.split_once("@.") {
        Some((p, suffix)) if !inst.is_empty() => format!("{p}@{inst}.{suffix}"),
        _ => template.to_string(),
    }
}

/// `.` and `..` taken out of an absolute path.
fn normalize_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A throwaway root with Debian's layout: units in /lib/systemd/system, enabled links in
    /// /etc/systemd/system.
    struct Root(PathBuf);

    impl Root {
        fn new(tag: &str) -> Root {
            let p = std::env::temp_dir().join(format!("nsnet-units-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Root(p)
        }
        fn file(&self, path: &str, text: &str) {
            let p = self.0.join(path.trim_start_matches('/'));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, text).unwrap();
        }
        fn link(&self, path: &str, target: &str) {
            let p = self.0.join(path.trim_start_matches('/'));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            symlink(target, p).unwrap();
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const NAMED: &str = "[Unit]\nDescription=BIND\n[Service]\nType=notify\n\
                         ExecStart=/usr/sbin/named -f\n[Install]\nWantedBy=multi-user.target\n\
                         Alias=bind9.service\n";

    #[test]
    fn names() {
        assert_eq!(normalize("frr").unwrap(), "frr.service");
        assert_eq!(normalize("named.service").unwrap(), "named.service");
        assert_eq!(normalize("getty@tty1").unwrap(), "getty@tty1.service");
        assert!(matches!(
            normalize("network.target"),
            Err(LookupError::NotService(_))
        ));
        for bad in ["", "../x", "a/b", ".hidden", "a b", "x;y"] {
            assert!(
                matches!(normalize(bad), Err(LookupError::BadName(_))),
                "{bad}"
            );
        }
        assert_eq!(
            template_of("getty@tty1.service").as_deref(),
            Some("getty@.service")
        );
        assert_eq!(template_of("getty@.service"), None);
        assert_eq!(template_of("frr.service"), None);
    }

    #[test]
    fn units_aliases_masks_and_precedence() {
        let r = Root::new("find");
        r.file("/lib/systemd/system/named.service", NAMED);
        r.file(
            "/lib/systemd/system/frr.service",
            "[Service]\nType=forking\nExecStart=/a\n",
        );
        let l = Lookup::new(&r.0, "ns1");
        let u = l.load("named").unwrap();
        assert_eq!(u.name, "named.service");
        assert_eq!(u.path, "/lib/systemd/system/named.service");
        assert_eq!(l.enablement(&u), "disabled");
        // Debian's alias, not enabled: found through Alias=.
        let u = l.load("bind9").unwrap();
        assert_eq!(
            (u.name.as_str(), u.path.as_str()),
            ("named.service", "/lib/systemd/system/named.service")
        );
        // Enabled: a symlink (absolute, into the root) that names the unit.
        r.link(
            "/etc/systemd/system/bind9.service",
            "/lib/systemd/system/named.service",
        );
        r.link(
            "/etc/systemd/system/multi-user.target.wants/named.service",
            "/lib/systemd/system/named.service",
        );
        let u = l.load("bind9.service").unwrap();
        assert_eq!(u.name, "named.service");
        assert_eq!(l.enablement(&u), "enabled");
        // A copy in /etc wins over /lib, also when reached through the alias.
        r.file(
            "/etc/systemd/system/named.service",
            "[Service]\nExecStart=/etc-named\n",
        );
        let u = l.load("bind9").unwrap();
        assert_eq!(u.path, "/etc/systemd/system/named.service");
        assert_eq!(u.service.exec_start[0].words, ["/etc-named"]);
        // Relative links, and masks.
        r.link(
            "/etc/systemd/system/routing.service",
            "../../../lib/systemd/system/frr.service",
        );
        assert_eq!(l.load("routing").unwrap().name, "frr.service");
        r.link("/etc/systemd/system/frr.service", "/dev/null");
        assert_eq!(
            l.load("frr"),
            Err(LookupError::Masked("frr.service".into()))
        );
        assert_eq!(
            l.load("nope"),
            Err(LookupError::NotFound("nope.service".into()))
        );
    }

    #[test]
    fn templates_and_dropins() {
        let r = Root::new("tmpl");
        r.file(
            "/lib/systemd/system/getty@.service",
            "[Service]\nExecStart=/sbin/agetty %I\nEnvironment=A=lib\n",
        );
        r.file(
            "/lib/systemd/system/getty@.service.d/10-x.conf",
            "[Service]\nEnvironment=A=template B=lib\n",
        );
        r.file(
            "/etc/systemd/system/getty@tty1.service.d/20-y.conf",
            "[Service]\nEnvironment=C=instance\n",
        );
        // The same name in /etc hides the one in /lib.
        r.file(
            "/etc/systemd/system/getty@.service.d/10-x.conf",
            "[Service]\nEnvironment=A=etc\n",
        );
        r.file(
            "/etc/systemd/system/service.d/00-all.conf",
            "[Service]\nEnvironment=ALL=1\n",
        );
        let l = Lookup::new(&r.0, "h");
        let u = l.load("getty@tty1").unwrap();
        assert_eq!(u.name, "getty@tty1.service");
        assert_eq!(u.path, "/lib/systemd/system/getty@.service");
        assert_eq!(u.service.exec_start[0].words, ["/sbin/agetty", "tty1"]);
        assert_eq!(
            u.dropins,
            [
                "/etc/systemd/system/service.d/00-all.conf",
                "/etc/systemd/system/getty@.service.d/10-x.conf",
                "/etc/systemd/system/getty@tty1.service.d/20-y.conf"
            ]
        );
        let env: Vec<String> = u
            .service
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(env, ["A=etc", "ALL=1", "C=instance"]);
    }

    #[test]
    fn init_scripts_are_the_last_resort() {
        let r = Root::new("initd");
        r.file(
            "/etc/init.d/legacy",
            "#!/bin/sh\n# Short-Description: old\nexit 0\n",
        );
        r.file("/etc/init.d/notexec", "#!/bin/sh\n");
        fs::set_permissions(
            r.0.join("etc/init.d/legacy"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let l = Lookup::new(&r.0, "h");
        let u = l.load("legacy").unwrap();
        assert!(u.sysv);
        assert_eq!(u.path, "/etc/init.d/legacy");
        assert_eq!(l.enablement(&u), "generated");
        assert!(matches!(l.load("notexec"), Err(LookupError::NotFound(_))));
        // A unit of the same name wins over the script.
        r.file(
            "/lib/systemd/system/legacy.service",
            "[Service]\nExecStart=/new\n",
        );
        assert!(!l.load("legacy").unwrap().sysv);
    }

    #[test]
    fn paths() {
        assert_eq!(
            normalize_path("/etc/systemd/system/../../../lib/x"),
            "/lib/x"
        );
        assert_eq!(normalize_path("/../a/./b"), "/a/b");
        assert_eq!(
            instance_name("getty@tty1.service", "agetty@.service"),
            "agetty@tty1.service"
        );
    }
}
