//! A service unit file read as systemd reads it: sections, `Key=Value` lines, comments,
//! backslash continuations, drop-ins applied in order (an empty value resets a list), `%`
//! specifiers. What nsnet's systemctl acts on is kept; the rest (dependencies, sandboxing,
//! Restart=, watchdogs …) is ignored.

use super::cmdline::{self, ExecCommand};
use std::time::Duration;

/// How the service tells that it has started (`Type=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceType {
    /// Started once forked (`simple`, `exec`, `idle`).
    #[default]
    Simple,
    /// The ExecStart process exits once the daemon runs.
    Forking,
    /// Each ExecStart runs to completion.
    Oneshot,
    /// The main process sends READY=1 on $NOTIFY_SOCKET (`notify`, `notify-reload`, `dbus`
    /// is treated as simple).
    Notify,
}

/// Which processes a stop signals (`KillMode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KillMode {
    /// Every process of the service.
    #[default]
    ControlGroup,
    /// SIGTERM to the main process, SIGKILL to all that is left.
    Mixed,
    /// The main process only.
    Process,
    None,
}

/// The `[Service]` settings nsnet's systemctl honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub kind: ServiceType,
    pub exec_start_pre: Vec<ExecCommand>,
    pub exec_start: Vec<ExecCommand>,
    pub exec_start_post: Vec<ExecCommand>,
    pub exec_stop: Vec<ExecCommand>,
    pub exec_stop_post: Vec<ExecCommand>,
    pub exec_reload: Vec<ExecCommand>,
    pub environment: Vec<(String, String)>,
    /// Paths, and whether a missing file is fine (`-`).
    pub environment_files: Vec<(String, bool)>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub supplementary_groups: Vec<String>,
    /// A path, or `~` (the user's home); `-` before it: a missing dir is fine.
    pub working_directory: Option<String>,
    pub runtime_directory: Vec<String>,
    pub runtime_directory_mode: u32,
    pub runtime_directory_preserve: bool,
    pub pid_file: Option<String>,
    pub kill_mode: KillMode,
    pub remain_after_exit: bool,
    pub guess_main_pid: bool,
    /// None: no limit (`infinity`).
    pub timeout_start: Option<Duration>,
    pub timeout_stop: Option<Duration>,
    pub umask: u32,
    /// `LimitNOFILE=`: soft and hard.
    pub limit_nofile: Option<(u64, u64)>,
}

impl Default for Service {
    fn default() -> Service {
        Service {
            kind: ServiceType::Simple,
            exec_start_pre: Vec::new(),
            exec_start: Vec::new(),
            exec_start_post: Vec::new(),
            exec_stop: Vec::new(),
            exec_stop_post: Vec::new(),
            exec_reload: Vec::new(),
            environment: Vec::new(),
            environment_files: Vec::new(),
            user: None,
            group: None,
            supplementary_groups: Vec::new(),
            working_directory: None,
            runtime_directory: Vec::new(),
            runtime_directory_mode: 0o755,
            runtime_directory_preserve: false,
            pid_file: None,
            kill_mode: KillMode::ControlGroup,
            remain_after_exit: false,
            guess_main_pid: true,
            timeout_start: Some(DEFAULT_TIMEOUT),
            timeout_stop: Some(DEFAULT_TIMEOUT),
            umask: 0o022,
            limit_nofile: None,
        }
    }
}

/// systemd's DefaultTimeoutStartSec and DefaultTimeoutStopSec.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// A unit as loaded: its name, where it came from, what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The unit's own name (`named.service`; an instance's full name `getty@tty1.service`).
    pub name: String,
    /// Its file (`/lib/systemd/system/named.service`, or `/etc/init.d/NAME`).
    pub path: String,
    /// Drop-ins applied, in order.
    pub dropins: Vec<String>,
    pub description: Option<String>,
    pub service: Service,
    /// `Alias=` and `WantedBy=`/`RequiredBy=` of `[Install]`.
    pub aliases: Vec<String>,
    pub wanted_by: Vec<String>,
    /// Made from an init script, as systemd-sysv-generator makes one.
    pub sysv: bool,
    /// Settings that could not be read: a unit with one cannot start.
    pub errors: Vec<String>,
}

/// The `(section, key, value)` lines of a unit file, continuations joined.
pub fn ini_lines(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') {
            // Comment lines inside a continuation are skipped, as systemd does.
            continue;
        }
        let mut joined = match pending.take() {
            Some(mut p) => {
                p.push(' ');
                p.push_str(line);
                p
            }
            None => line.to_string(),
        };
        if joined.ends_with('\\') {
            joined.pop();
            pending = Some(joined);
            continue;
        }
        let line = joined.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
        }
    }
    if let Some(p) = pending {
        if let Some((k, v)) = p.trim().split_once('=') {
            out.push((section, k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// What `%` specifiers stand for in one unit.
pub struct Specifiers<'a> {
    /// The full unit name (`getty@tty1.service`).
    pub name: &'a str,
    pub hostname: &'a str,
}

impl Specifiers<'_> {
    /// `value` with `%n %N %p %P %i %I %f %t %S %C %L %E %T %V %h %u %U %H %l %%` replaced;
    /// an unknown specifier stays as it is.
    pub fn apply(&self, value: &str) -> String {
        if !value.contains('%') {
            return value.to_string();
        }
        let stem = self.name.rsplit_once('.').map_or(self.name, |(s, _)| s);
        let (prefix, instance) = match stem.split_once('@') {
            Some((p, i)) => (p, i),
            None => (stem, ""),
        };
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(s) = chars.next() else {
                out.push('%');
                break;
            };
            let rep: String = match s {
                'n' => self.name.into(),
                'N' => stem.into(),
                'p' => prefix.into(),
                'P' => unescape_name(prefix),
                'i' => instance.into(),
                'I' => unescape_name(instance),
                'f' => format!(
                    "/{}",
                    unescape_name(if instance.is_empty() {
                        prefix
                    } else {
                        instance
                    })
                ),
                't' => "/run".into(),
                'S' => "/var/lib".into(),
                'C' => "/var/cache".into(),
                'L' => "/var/log".into(),
                'E' => "/etc".into(),
                'T' => "/tmp".into(),
                'V' => "/var/tmp".into(),
                'h' => "/root".into(),
                'u' => "root".into(),
                'U' => "0".into(),
                'H' | 'l' => self.hostname.into(),
                '%' => "%".into(),
                other => format!("%{other}"),
            };
            out.push_str(&rep);
        }
        out
    }
}

/// systemd-escape undone: `-` is `/`, `\xNN` a byte.
fn unescape_name(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            if let Some(v) = std::str::from_utf8(b.get(i + 2..i + 4).unwrap_or_default())
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(if b[i] == b'-' { b'/' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A systemd time span: `90`, `90s`, `1min 30s`, `500ms`, `2h`, `infinity` (None).
pub fn parse_timespan(s: &str) -> Result<Option<Duration>, String> {
    let s = s.trim();
    if s == "infinity" {
        return Ok(None);
    }
    let bad = || format!("`{s}` is not a time span");
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        rest = rest.trim_start();
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_alphabetic() && c != 'µ')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "us" | "usec" | "µs" => 1e-6,
            "ms" | "msec" => 1e-3,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 604800.0,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(n * secs);
        rest = &rest[unit_len..];
    }
    Ok(Some(total))
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// `LimitNOFILE=`: `N`, `SOFT:HARD` or `infinity`.
fn parse_limit(v: &str) -> Option<(u64, u64)> {
    let one = |s: &str| -> Option<u64> {
        match s.trim() {
            "infinity" => Some(u64::MAX),
            n => n.parse().ok(),
        }
    };
    match v.split_once(':') {
        Some((s, h)) => Some((one(s)?, one(h)?)),
        None => one(v).map(|n| (n, n)),
    }
}

impl Unit {
    /// A unit named `name` read from `path`'s text and then its drop-ins' (path, text), in
    /// order. `hostname` fills `%H`.
    pub fn parse(
        name: &str,
        path: &str,
        text: &str,
        dropins: &[(String, String)],
        hostname: &str,
    ) -> Unit {
        let mut u = Unit {
            name: name.to_string(),
            path: path.to_string(),
            dropins: dropins.iter().map(|(p, _)| p.clone()).collect(),
            description: None,
            service: Service::default(),
            aliases: Vec::new(),
            wanted_by: Vec::new(),
            sysv: false,
            errors: Vec::new(),
        };
        let spec = Specifiers { name, hostname };
        for t in std::iter::once(text).chain(dropins.iter().map(|(_, t)| t.as_str())) {
            for (section, key, value) in ini_lines(t) {
                let value = spec.apply(&value);
                u.set(&section, &key, &value);
            }
        }
        let s = &u.service;
        if s.exec_start.is_empty() && s.kind != ServiceType::Oneshot {
            u.errors.push(
                "Service has no ExecStart= setting, which is only allowed for Type=oneshot \
                 services."
                    .into(),
            );
        }
        if s.exec_start.len() > 1 && s.kind != ServiceType::Oneshot {
            u.errors.push(
                "Service has more than one ExecStart= setting, which is only allowed for \
                 Type=oneshot services."
                    .into(),
            );
        }
        u
    }

    fn set(&mut self, section: &str, key: &str, value: &str) {
        match section {
            "Unit" if key == "Description" => self.description = Some(value.to_string()),
            "Install" => {
                let list = match key {
                    "Alias" => &mut self.aliases,
                    "WantedBy" | "RequiredBy" => &mut self.wanted_by,
                    _ => return,
                };
                if value.is_empty() {
                    list.clear();
                }
                list.extend(value.split_whitespace().map(String::from));
            }
            "Service" => {
                if let Err(e) = self.set_service(key, value) {
                    self.errors.push(format!("{key}={value}: {e}"));
                }
            }
            _ => {}
        }
    }

    fn set_service(&mut self, key: &str, value: &str) -> Result<(), String> {
        let s = &mut self.service;
        let exec = |list: &mut Vec<ExecCommand>| -> Result<(), String> {
            if value.is_empty() {
                list.clear();
            } else {
                list.extend(cmdline::parse_exec(value)?);
            }
            Ok(())
        };
        let boolean = || parse_bool(value).ok_or_else(|| "not a boolean".to_string());
        let opt = || (!value.is_empty()).then(|| value.to_string());
        match key {
            "Type" => {
                s.kind = match value {
                    "simple" | "exec" | "idle" | "dbus" | "" => ServiceType::Simple,
                    "forking" => ServiceType::Forking,
                    "oneshot" => ServiceType::Oneshot,
                    "notify" | "notify-reload" => ServiceType::Notify,
                    _ => return Err("unknown type".into()),
                }
            }
            "ExecStartPre" => exec(&mut s.exec_start_pre)?,
            "ExecStart" => exec(&mut s.exec_start)?,
            "ExecStartPost" => exec(&mut s.exec_start_post)?,
            "ExecStop" => exec(&mut s.exec_stop)?,
            "ExecStopPost" => exec(&mut s.exec_stop_post)?,
            "ExecReload" => exec(&mut s.exec_reload)?,
            "Environment" => {
                if value.is_empty() {
                    s.environment.clear();
                }
                for (k, v) in cmdline::parse_environment(value) {
                    cmdline::set_env(&mut s.environment, &k, &v);
                }
            }
            "EnvironmentFile" => match value.strip_prefix('-') {
                _ if value.is_empty() => s.environment_files.clear(),
                Some(p) => s.environment_files.push((p.to_string(), true)),
                None => s.environment_files.push((value.to_string(), false)),
            },
            "User" => s.user = opt(),
            "Group" => s.group = opt(),
            "SupplementaryGroups" => {
                if value.is_empty() {
                    s.supplementary_groups.clear();
                }
                s.supplementary_groups
                    .extend(value.split_whitespace().map(String::from));
            }
            "WorkingDirectory" => s.working_directory = opt(),
            "RuntimeDirectory" => {
                if value.is_empty() {
                    s.runtime_directory.clear();
                }
                for d in value.split_whitespace() {
                    if d.starts_with('/') || d.split('/').any(|c| c == ".." || c.is_empty()) {
                        return Err(format!("{d} is not a relative path"));
                    }
                    s.runtime_directory.push(d.to_string());
                }
            }
            "RuntimeDirectoryMode" => {
                s.runtime_directory_mode =
                    u32::from_str_radix(value, 8).map_err(|_| "not an octal mode")?
            }
            "RuntimeDirectoryPreserve" => {
                s.runtime_directory_preserve = matches!(value, "restart") || boolean()?
            }
            "PIDFile" => s.pid_file = opt(),
            "KillMode" => {
                s.kill_mode = match value {
                    "control-group" => KillMode::ControlGroup,
                    "mixed" => KillMode::Mixed,
                    "process" => KillMode::Process,
                    "none" => KillMode::None,
                    _ => return Err("unknown kill mode".into()),
                }
            }
            "RemainAfterExit" => s.remain_after_exit = boolean()?,
            "GuessMainPID" => s.guess_main_pid = boolean()?,
            "TimeoutStartSec" => s.timeout_start = parse_timespan(value)?,
            "TimeoutStopSec" => s.timeout_stop = parse_timespan(value)?,
            "TimeoutSec" => {
                s.timeout_start = parse_timespan(value)?;
                s.timeout_stop = s.timeout_start;
            }
            "UMask" => s.umask = u32::from_str_radix(value, 8).map_err(|_| "not an octal mode")?,
            "LimitNOFILE" => s.limit_nofile = Some(parse_limit(value).ok_or("not a limit")?),
            // Everything else (Restart=, Nice=, WatchdogSec=, sandboxing …) is ignored.
            _ => {}
        }
        Ok(())
    }

    /// A unit for the init script `path` (`/etc/init.d/NAME`), as systemd-sysv-generator
    /// writes one: forking, remains active after the script exits, no main process guessed.
    /// The description is the LSB header's.
    pub fn from_init_script(name: &str, path: &str, text: &str) -> Unit {
        let description = text
            .lines()
            .take_while(|l| l.starts_with('#') || l.trim().is_empty())
            .find_map(|l| l.strip_prefix("# Short-Description:"))
            .map(|d| format!("LSB: {}", d.trim()));
        let cmd = |arg: &str| ExecCommand {
            ignore_failure: false,
            argv0: false,
            no_expand: true,
            privileged: false,
            words: vec![path.to_string(), arg.to_string()],
        };
        Unit {
            name: name.to_string(),
            path: path.to_string(),
            dropins: Vec::new(),
            description,
            service: Service {
                kind: ServiceType::Forking,
                exec_start: vec![cmd("start")],
                exec_stop: vec![cmd("stop")],
                exec_reload: vec![cmd("reload")],
                remain_after_exit: true,
                guess_main_pid: false,
                timeout_start: Some(Duration::from_secs(300)),
                kill_mode: KillMode::Process,
                ..Service::default()
            },
            aliases: Vec::new(),
            wanted_by: Vec::new(),
            sysv: true,
            errors: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian 12's /lib/systemd/system/named.service.
    const NAMED: &str = "[Unit]
Description=BIND Domain Name Server
Documentation=man:named(8)
After=network.target
Wants=nss-lookup.target
Before=nss-lookup.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/named
ExecStart=/usr/sbin/named -f $OPTIONS
ExecReload=/usr/sbin/rndc reload
ExecStop=/usr/sbin/rndc stop
Restart=on-failure

[Install]
WantedBy=multi-user.target
Alias=bind9.service
";

    /// Debian 12's /lib/systemd/system/frr.service (abridged).
    const FRR: &str = "[Unit]
Description=FRRouting
OnFailure=heartbeat-failed@%n

[Service]
Nice=-5
Type=forking
NotifyAccess=all
TimeoutSec=2m
WatchdogSec=60s
Restart=on-abnormal
LimitNOFILE=1024
PIDFile=/var/run/frr/watchfrr.pid
ExecStart=/usr/lib/frr/frrinit.sh start
ExecStop=/usr/lib/frr/frrinit.sh stop
ExecReload=/usr/lib/frr/frrinit.sh reload

[Install]
WantedBy=multi-user.target
";

    fn words(cmds: &[ExecCommand]) -> Vec<Vec<&str>> {
        cmds.iter()
            .map(|c| c.words.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn debian_units_read_as_systemd_reads_them() {
        let u = Unit::parse(
            "named.service",
            "/lib/systemd/system/named.service",
            NAMED,
            &[],
            "ns",
        );
        assert!(u.errors.is_empty(), "{:?}", u.errors);
        assert_eq!(u.description.as_deref(), Some("BIND Domain Name Server"));
        assert_eq!(u.aliases, ["bind9.service"]);
        assert_eq!(u.wanted_by, ["multi-user.target"]);
        let s = &u.service;
        assert_eq!(s.kind, ServiceType::Notify);
        assert_eq!(s.environment_files, [("/etc/default/named".into(), true)]);
        assert_eq!(
            words(&s.exec_start),
            [["/usr/sbin/named", "-f", "$OPTIONS"]]
        );
        assert_eq!(words(&s.exec_stop), [["/usr/sbin/rndc", "stop"]]);

        let u = Unit::parse(
            "frr.service",
            "/lib/systemd/system/frr.service",
            FRR,
            &[],
            "r1",
        );
        assert!(u.errors.is_empty(), "{:?}", u.errors);
        let s = &u.service;
        assert_eq!(s.kind, ServiceType::Forking);
        assert_eq!(s.pid_file.as_deref(), Some("/var/run/frr/watchfrr.pid"));
        assert_eq!(s.timeout_start, Some(Duration::from_secs(120)));
        assert_eq!(s.timeout_stop, Some(Duration::from_secs(120)));
        assert_eq!(s.limit_nofile, Some((1024, 1024)));
        assert_eq!(
            words(&s.exec_reload),
            [["/usr/lib/frr/frrinit.sh", "reload"]]
        );
    }

    #[test]
    fn dropins_continuations_comments_and_resets() {
        let main = "[Service]\nExecStart=/bin/a \\\n  --long \\\n# a comment inside\n  --opt\n\
                    ; comment\nEnvironment=A=1 \"B=2 3\"\nUser=nobody\nRuntimeDirectory=x x/y\n\
                    RuntimeDirectoryMode=0750\nKillMode=mixed\n[X-Other]\nExecStart=/ignored\n";
        let dropin = "[Service]\nExecStart=\nExecStart=-/bin/b %n %i %I %%\nEnvironment=A=9\n\
                      User=\nType=oneshot\nExecStart=/bin/c\nRemainAfterExit=yes\n";
        let u = Unit::parse(
            "x@a-b.service",
            "/etc/systemd/system/x@.service",
            main,
            &[(
                "/etc/systemd/system/x@.service.d/o.conf".into(),
                dropin.into(),
            )],
            "h",
        );
        assert!(u.errors.is_empty(), "{:?}", u.errors);
        let s = &u.service;
        assert_eq!(
            words(&s.exec_start),
            [
                vec!["/bin/b", "x@a-b.service", "a-b", "a/b", "%"],
                vec!["/bin/c"]
            ]
        );
        assert!(s.exec_start[0].ignore_failure);
        assert_eq!(
            s.environment,
            [("A".into(), "9".into()), ("B".into(), "2 3".into())]
        );
        assert_eq!(s.user, None);
        assert_eq!(s.runtime_directory, ["x", "x/y"]);
        assert_eq!(s.runtime_directory_mode, 0o750);
        assert_eq!(s.kill_mode, KillMode::Mixed);
        assert!(s.remain_after_exit);
        assert_eq!(s.kind, ServiceType::Oneshot);

        let main = "[Service]\nExecStart=/bin/a\nExecStart=/bin/b\nType=bogus\n";
        let u = Unit::parse("y.service", "/y", main, &[], "h");
        assert_eq!(u.errors.len(), 2, "{:?}", u.errors);
        let u = Unit::parse("z.service", "/z", "[Service]\nType=simple\n", &[], "h");
        assert!(u.errors[0].contains("no ExecStart"), "{:?}", u.errors);
        let u = Unit::parse(
            "w.service",
            "/w",
            "[Service]\nRuntimeDirectory=../x\n",
            &[],
            "h",
        );
        assert!(
            u.errors.iter().any(|e| e.contains("../x")),
            "{:?}",
            u.errors
        );
    }

    #[test]
    fn time_spans() {
        let s = |x| parse_timespan(x).unwrap();
        assert_eq!(s("90"), Some(Duration::from_secs(90)));
        assert_eq!(s("2m"), Some(Duration::from_secs(120)));
        assert_eq!(s("1min 30s"), Some(Duration::from_secs(90)));
        assert_eq!(s("1min30s"), Some(Duration::from_secs(90)));
        assert_eq!(s("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(s("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(s("infinity"), None);
        assert!(parse_timespan("soon").is_err());
        assert!(parse_timespan("").is_err());
        assert!(parse_timespan("5 parsecs").is_err());
    }

    #[test]
    fn init_scripts_become_forking_units() {
        let text = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: named\n\
                    # Short-Description: start BIND's DNS server\n### END INIT INFO\nexit 0\n";
        let u = Unit::from_init_script("named.service", "/etc/init.d/named", text);
        assert!(u.sysv);
        assert_eq!(
            u.description.as_deref(),
            Some("LSB: start BIND's DNS server")
        );
        assert_eq!(u.service.kind, ServiceType::Forking);
        assert!(u.service.remain_after_exit);
        assert_eq!(words(&u.service.exec_stop), [["/etc/init.d/named", "stop"]]);
    }
}
