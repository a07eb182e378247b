//! `systemctl` inside a node, without systemd: the nsnet binary answers to the name
//! `systemctl` (every node has it at `/run/nsnet/bin/systemctl`, first in its PATH, and bound
//! over `/usr/bin/systemctl` where that exists), so `systemctl start frr` in a lab's startup
//! commands starts FRR the way the distribution does, from the unit files (or init scripts)
//! of the node's own root. The pure parts — unit files ([`mod@unit`]), their lookup ([`lookup`]),
//! command lines and environments ([`cmdline`]) — are tested without root; [`service`] runs
//! and supervises services, [`state`] remembers them between calls.

pub mod cmdline;
pub mod lookup;
pub mod service;
pub mod spawn;
pub mod state;
pub mod tmpfiles;
pub mod unit;

use lookup::{Lookup, LookupError};
use nix::sys::signal::Signal;
use service::Failure;
use state::{Phase, Store};
use std::io::Write;
use std::str::FromStr;
use unit::Unit;

/// The PATH services run with: the node init's own.
pub const PATH: &str = super::init::PATH;

/// Where every node has this binary as `systemctl`.
pub const NODE_BIN: &str = "/run/nsnet/bin";

/// True when this process was started as `systemctl` (by name through PATH, or by a path
/// whose last part is `systemctl`).
pub fn is_invocation() -> bool {
    std::env::args_os().next().is_some_and(|a| {
        std::path::Path::new(&a)
            .file_name()
            .is_some_and(|n| n == "systemctl")
    })
}

/// The entry point; never returns.
pub fn main() -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 3 && args[0] == service::SUPERVISE {
        service::supervise(&args[1], &args[2]);
    }
    let code = run(&args);
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// The options systemctl takes; those that change nothing here are accepted and ignored.
#[derive(Debug, Default, PartialEq, Eq)]
struct Opts {
    quiet: bool,
    no_block: bool,
    now: bool,
    all: bool,
    value: bool,
    no_legend: bool,
    properties: Vec<String>,
    signal: Option<Signal>,
    main_only: bool,
    help: bool,
    version: bool,
}

/// A signal by name (`HUP`, `SIGHUP`) or number.
fn parse_signal(s: &str) -> Result<Signal, String> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| format!("Failed to parse signal string {s}."));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    Signal::from_str(&name).map_err(|_| format!("Failed to parse signal string {s}."))
}

/// Splits the arguments into options and the verb with its unit names.
fn parse_args(args: &[String]) -> Result<(Opts, Vec<String>), String> {
    let mut o = Opts::default();
    let mut pos = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        if a == "--" {
            pos.extend(it.by_ref().cloned());
            break;
        }
        if !a.starts_with('-') || a == "-" {
            pos.push(a.clone());
            continue;
        }
        // Long options (with `=VALUE` or the next argument), or a cluster of short ones.
        let (flag, inline): (String, Option<String>) = match a.strip_prefix("--") {
            Some(l) => match l.split_once('=') {
                Some((f, v)) => (format!("--{f}"), Some(v.to_string())),
                None => (a.clone(), None),
            },
            None => {
                let mut chars = a[1..].chars();
                let first = chars.next().unwrap_or('-');
                let rest: String = chars.collect();
                if "pstno".contains(first) {
                    (format!("-{first}"), (!rest.is_empty()).then_some(rest))
                } else {
                    for c in rest.chars() {
                        if "pstno".contains(c) {
                            return Err(format!("option -{c} must come alone: {a}"));
                        }
                        short_flag(&mut o, c)?;
                    }
                    (format!("-{first}"), None)
                }
            }
        };
        let mut value = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("option {flag} requires an argument")),
            }
        };
        match flag.as_str() {
            "--property" | "-p" => o.properties.extend(value()?.split(',').map(String::from)),
            "--signal" | "-s" => o.signal = Some(parse_signal(&value()?)?),
            "--kill-whom" | "--kill-who" => o.main_only = value()? == "main",
            "--lines" | "-n" | "--type" | "-t" | "--state" | "--output" | "-o" | "--job-mode"
            | "--what" | "--timestamp" | "--check-inhibitors" | "--preset-mode" => {
                value()?;
            }
            "--quiet" => o.quiet = true,
            "--no-block" => o.no_block = true,
            "--now" => o.now = true,
            "--all" => o.all = true,
            "--value" => o.value = true,
            "--no-legend" => o.no_legend = true,
            "--help" => o.help = true,
            "--version" => o.version = true,
            "--user" | "--global" => {
                return Err(
                    "nsnet's systemctl manages the node's system services only (no --user)".into(),
                )
            }
            "--no-pager" | "--no-ask-password" | "--system" | "--full" | "--plain" | "--force"
            | "--runtime" | "--no-reload" | "--wait" | "--show-types" | "--failed"
            | "--no-warn" | "--dry-run" | "--recursive" | "--reverse" | "--first-boot" => {}
            f if f.len() == 2 => short_flag(&mut o, f.chars().nth(1).unwrap_or('-'))?,
            f => return Err(format!("unrecognized option '{f}'")),
        }
    }
    Ok((o, pos))
}

fn short_flag(o: &mut Opts, c: char) -> Result<(), String> {
    match c {
        'q' => o.quiet = true,
        'a' => o.all = true,
        'h' => o.help = true,
        'l' | 'f' | 'r' | 'i' => {}
        _ => return Err(format!("invalid option -- '{c}'")),
    }
    Ok(())
}

/// One `systemctl` call.
struct Ctl {
    lookup: Lookup,
    store: Store,
    o: Opts,
}

/// A verb's exit status: the worst of its units'.
fn worst(a: i32, b: i32) -> i32 {
    if a == 0 {
        b
    } else {
        a
    }
}

/// Runs `systemctl ARGS`; returns the exit status (systemd's: 0 done, 1 failed, 3 not
/// active, 4 no such unit (status), 5 not loaded).
fn run(args: &[String]) -> i32 {
    let (o, pos) = match parse_args(args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("systemctl: {e}");
            return 1;
        }
    };
    if o.help {
        print!("{}", USAGE);
        return 0;
    }
    if o.version {
        println!("systemd 252 (nsnet's systemctl: services without systemd)");
        return 0;
    }
    let verb = pos.first().map_or("list-units", String::as_str).to_string();
    let names = pos.get(1..).unwrap_or_default().to_vec();
    let ctl = Ctl {
        lookup: Lookup::node(),
        store: Store::node(),
        o,
    };
    let needs_names = [
        "start",
        "stop",
        "restart",
        "try-restart",
        "condrestart",
        "reload",
        "reload-or-restart",
        "force-reload",
        "try-reload-or-restart",
        "is-active",
        "is-failed",
        "is-enabled",
        "kill",
        "cat",
        "enable",
        "disable",
        "reenable",
        "mask",
        "unmask",
    ];
    if names.is_empty() && needs_names.contains(&verb.as_str()) {
        eprintln!("Too few arguments.");
        return 1;
    }
    match verb.as_str() {
        "start"
        | "stop"
        | "restart"
        | "try-restart"
        | "condrestart"
        | "reload"
        | "reload-or-restart"
        | "force-reload"
        | "try-reload-or-restart" => names
            .iter()
            .fold(0, |code, n| worst(code, ctl.job(&verb, n))),
        "status" => ctl.status(&names),
        "is-active" | "is-failed" => ctl.is_active(&names, verb == "is-failed"),
        "is-enabled" => ctl.is_enabled(&names),
        "enable" | "disable" | "reenable" | "mask" | "unmask" | "preset" | "link" | "revert" => {
            ctl.enable(&verb, &names)
        }
        "daemon-reload" | "daemon-reexec" | "preset-all" => 0,
        "reset-failed" => ctl.reset_failed(&names),
        "show" => ctl.show(&names),
        "cat" => ctl.cat(&names),
        "kill" => ctl.kill(&names),
        "list-units" => ctl.list_units(),
        "list-unit-files" => ctl.list_unit_files(),
        "is-system-running" => {
            if !ctl.o.quiet {
                println!("running");
            }
            0
        }
        "help" => {
            print!("{}", USAGE);
            0
        }
        other => {
            eprintln!("Unknown command verb '{other}'.");
            1
        }
    }
}

const USAGE: &str = "systemctl [OPTIONS...] COMMAND [UNIT...]

nsnet's systemctl: starts, stops and reports the node's services from their unit files
(or /etc/init.d scripts) without systemd. Output of services goes to the node's log.

  start UNIT...              Start units
  stop UNIT...               Stop units
  restart UNIT...            Stop, then start units
  try-restart UNIT...        Restart units that are running
  reload UNIT...             Run ExecReload= of running units
  reload-or-restart UNIT...  Reload units if they can, else restart them
  status [UNIT...]           Show the state of units
  is-active UNIT...          Are the units active?
  is-failed UNIT...          Have the units failed?
  is-enabled UNIT...         Show whether units are enabled
  show [UNIT...]             Show properties (-p NAME, --value)
  cat UNIT...                Show unit files
  kill UNIT...               Signal units' processes (-s SIGNAL, --kill-whom=main|all)
  list-units                 List the services started in this node (--all)
  list-unit-files            List installed service unit files
  enable, disable, mask, unmask, preset, daemon-reload, reset-failed
                             Accepted; enable --now starts, disable --now stops

Options: -q/--quiet, --no-block, --now, --no-pager and the like are accepted.
";

impl Ctl {
    fn load(&self, name: &str) -> Result<Unit, LookupError> {
        self.lookup.load(name)
    }

    /// The name a message should use for `name` when it cannot be loaded.
    fn shown(name: &str) -> String {
        lookup::normalize(name).unwrap_or_else(|_| name.to_string())
    }

    /// start, stop, restart, reload and their variants, for one unit.
    fn job(&self, verb: &str, name: &str) -> i32 {
        let what = match verb {
            "condrestart" | "try-restart" | "reload-or-restart" | "try-reload-or-restart" => {
                "restart"
            }
            "force-reload" => "reload",
            v => v,
        };
        let unit = match self.load(name) {
            Ok(u) => u,
            Err(e) => {
                let shown = Self::shown(name);
                return match e {
                    LookupError::NotFound(_) if verb == "stop" => {
                        eprintln!("Failed to stop {shown}: Unit {shown} not loaded.");
                        5
                    }
                    LookupError::NotFound(_) => {
                        eprintln!("Failed to {what} {shown}: Unit {shown} not found.");
                        5
                    }
                    e => {
                        eprintln!("Failed to {what} {shown}: {e}");
                        1
                    }
                };
            }
        };
        let _lock = self.store.lock(&unit.name);
        let active = || state::observe(self.store.read(&unit.name).as_ref()).active == "active";
        let result = match verb {
            "start" => service::start(&self.store, &unit, self.o.no_block),
            "stop" => service::stop(&self.store, &unit),
            "restart" => self.restart(&unit),
            "try-restart" | "condrestart" => match active() {
                true => self.restart(&unit),
                false => Ok(()),
            },
            "reload" => service::reload(&self.store, &unit),
            "force-reload" | "reload-or-restart" | "try-reload-or-restart" => {
                match (active(), unit.service.exec_reload.is_empty()) {
                    (true, false) => service::reload(&self.store, &unit),
                    (false, _) if verb == "try-reload-or-restart" => Ok(()),
                    _ => self.restart(&unit),
                }
            }
            _ => Ok(()),
        };
        match result {
            Ok(()) => 0,
            Err(f) => {
                self.report_failure(what, &unit, &f);
                1
            }
        }
    }

    fn restart(&self, unit: &Unit) -> Result<(), Failure> {
        service::stop(&self.store, unit)?;
        service::start(&self.store, unit, self.o.no_block)
    }

    /// systemd's words for a failed job, and ours for what happened.
    fn report_failure(&self, what: &str, unit: &Unit, f: &Failure) {
        let n = &unit.name;
        let why = match f.result.as_str() {
            "not-active" | "not-applicable" => {
                eprintln!("Failed to {what} {n}: {}", f.message);
                return;
            }
            "bad-setting" => {
                eprintln!("Failed to {what} {n}: Unit {n} has a bad unit file setting.");
                eprintln!("  {}", f.message);
                return;
            }
            "exit-code" => " because the control process exited with error code",
            "timeout" => " because a timeout was exceeded",
            "signal" => " because a fatal signal was delivered to the control process",
            "resources" => " because of unavailable resources or another system error",
            "protocol" => {
                " because the service did not take the steps required by its unit configuration"
            }
            _ => "",
        };
        let host = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!("Job for {n} failed{why}.");
        eprintln!("  {}", f.message);
        eprintln!(
            "See \"systemctl status {n}\" and the node's log (`nsnet logs {host}` on the host) \
             for details."
        );
    }

    fn status(&self, names: &[String]) -> i32 {
        let names: Vec<String> = if names.is_empty() {
            self.store.list().into_iter().map(|s| s.unit).collect()
        } else {
            names.to_vec()
        };
        let mut code = 0;
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                println!();
            }
            let unit = match self.load(name) {
                Ok(u) => u,
                Err(_) => {
                    eprintln!("Unit {} could not be found.", Self::shown(name));
                    code = 4;
                    continue;
                }
            };
            let st = self.store.read(&unit.name);
            let o = state::observe(st.as_ref());
            print!("{}", self.status_text(&unit, st.as_ref(), &o));
            let mut c = if o.active == "active" { 0 } else { 3 };
            if unit.sysv {
                // The script's own view, as its `status` tells it.
                let _ = std::io::stdout().flush();
                c = std::process::Command::new(&unit.path)
                    .arg("status")
                    .env_clear()
                    .env("PATH", PATH)
                    .status()
                    .ok()
                    .and_then(|s| s.code())
                    .unwrap_or(c);
            }
            if code != 4 && c != 0 {
                code = c;
            }
        }
        code
    }

    fn status_text(&self, unit: &Unit, st: Option<&state::State>, o: &state::Observed) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let dot = match o.active {
            "active" | "activating" | "deactivating" => "●",
            "failed" => "×",
            _ => "○",
        };
        let _ = writeln!(t, "{dot} {}", service::describe_unit(unit));
        let _ = writeln!(
            t,
            "     Loaded: loaded ({}; {})",
            unit.path,
            self.lookup.enablement(unit)
        );
        for (i, d) in unit.dropins.iter().enumerate() {
            let head = if i == 0 {
                "    Drop-In:"
            } else {
                "            "
            };
            let _ = writeln!(t, "{head} {d}");
        }
        let when = o
            .since
            .map(|s| {
                format!(
                    " since {}; {} ago",
                    format_time(s),
                    ago(state::now().saturating_sub(s))
                )
            })
            .unwrap_or_default();
        let what = match (o.active, &o.result) {
            ("failed", Some(r)) => format!("failed (Result: {r})"),
            (a, _) => format!("{a} ({})", o.sub),
        };
        let _ = writeln!(t, "     Active: {what}{when}");
        match (o.main, st.and_then(|s| s.main)) {
            (Some(pid), _) => {
                let comm = state::stat(pid).map(|s| s.comm).unwrap_or_default();
                let _ = writeln!(t, "   Main PID: {pid} ({comm})");
            }
            (None, Some(m)) => {
                let how = st
                    .and_then(|s| s.detail.clone())
                    .filter(|d| d.starts_with("code="))
                    .unwrap_or("gone".into());
                let _ = writeln!(t, "   Main PID: {} ({how})", m.pid);
            }
            _ => {}
        }
        if let Some(text) = st.and_then(|s| s.status.as_deref()) {
            let _ = writeln!(t, "     Status: \"{text}\"");
        }
        if o.active == "failed" {
            // How the main process ended is on its line already.
            if let Some(d) = st
                .and_then(|s| s.detail.as_deref())
                .filter(|d| !d.starts_with("code="))
            {
                let _ = writeln!(t, "     Reason: {d}");
            }
        }
        let procs = match st {
            Some(s) if o.active != "inactive" && o.active != "failed" => {
                let all = state::processes();
                let mut v = s
                    .supervisor
                    .filter(|p| p.alive())
                    .map(|p| state::descendants(p.pid, &all))
                    .unwrap_or_default();
                if let Some(m) = o.main.filter(|m| !v.contains(m)) {
                    v.push(m);
                }
                v
            }
            _ => Vec::new(),
        };
        if !procs.is_empty() {
            let _ = writeln!(t, "      Tasks: {}", procs.len());
            for (i, p) in procs.iter().enumerate() {
                let head = if i == 0 {
                    "  Processes:"
                } else {
                    "            "
                };
                let branch = if i + 1 == procs.len() {
                    "└─"
                } else {
                    "├─"
                };
                let _ = writeln!(t, "{head} {branch}{p} {}", state::cmdline(*p));
            }
        }
        t
    }

    fn is_active(&self, names: &[String], failed: bool) -> i32 {
        let mut any = false;
        for n in names {
            let a = match self.load(n) {
                Ok(u) => state::observe(self.store.read(&u.name).as_ref()).active,
                Err(_) => "inactive",
            };
            any |= if failed { a == "failed" } else { a == "active" };
            if !self.o.quiet {
                println!("{a}");
            }
        }
        match (any, failed) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 3,
        }
    }

    fn is_enabled(&self, names: &[String]) -> i32 {
        let mut code = 0;
        for n in names {
            match self.load(n) {
                Ok(u) => {
                    if !self.o.quiet {
                        println!("{}", self.lookup.enablement(&u));
                    }
                }
                Err(_) => {
                    eprintln!(
                        "Failed to get unit file state for {}: No such file or directory",
                        Self::shown(n)
                    );
                    code = 1;
                }
            }
        }
        code
    }

    /// enable, disable, mask … change nothing (there is no boot to prepare); with `--now`
    /// enable starts and disable or mask stop.
    fn enable(&self, verb: &str, names: &[String]) -> i32 {
        let mut code = 0;
        for n in names {
            match self.load(n) {
                Ok(_) if self.o.now && matches!(verb, "enable" | "reenable") => {
                    code = worst(code, self.job("start", n))
                }
                Ok(_) if self.o.now && matches!(verb, "disable" | "mask") => {
                    code = worst(code, self.job("stop", n))
                }
                Ok(_) => {}
                Err(_) if matches!(verb, "mask" | "unmask" | "disable") => {}
                Err(_) => {
                    eprintln!(
                        "Failed to {verb} unit: Unit file {} does not exist.",
                        Self::shown(n)
                    );
                    code = 1;
                }
            }
        }
        code
    }

    fn reset_failed(&self, names: &[String]) -> i32 {
        for mut st in self.store.list() {
            let listed = names.is_empty()
                || names
                    .iter()
                    .any(|n| self.load(n).is_ok_and(|u| u.name == st.unit));
            if listed && state::observe(Some(&st)).active == "failed" {
                st.phase = Phase::Inactive;
                st.result = None;
                st.since = state::now();
                let _ = self.store.write(&st);
            }
        }
        0
    }

    fn show(&self, names: &[String]) -> i32 {
        for (i, n) in names.iter().enumerate() {
            if i > 0 && !self.o.value {
                println!();
            }
            let mut props: Vec<(&str, String)> = Vec::new();
            match self.load(n) {
                Ok(u) => {
                    let st = self.store.read(&u.name);
                    let o = state::observe(st.as_ref());
                    let mut names = vec![u.name.clone()];
                    names.extend(u.aliases.iter().cloned());
                    props.extend([
                        ("Id", u.name.clone()),
                        ("Names", names.join(" ")),
                        ("Description", u.description.clone().unwrap_or_default()),
                        ("LoadState", "loaded".into()),
                        ("ActiveState", o.active.into()),
                        ("SubState", o.sub.into()),
                        ("MainPID", o.main.unwrap_or(0).to_string()),
                        ("ExecMainPID", o.main.unwrap_or(0).to_string()),
                        (
                            "Result",
                            o.result.clone().unwrap_or_else(|| "success".into()),
                        ),
                        ("FragmentPath", u.path.clone()),
                        ("UnitFileState", self.lookup.enablement(&u).into()),
                        (
                            "CanReload",
                            if u.service.exec_reload.is_empty() {
                                "no"
                            } else {
                                "yes"
                            }
                            .into(),
                        ),
                        ("StatusText", st.and_then(|s| s.status).unwrap_or_default()),
                    ]);
                }
                Err(e) => {
                    let state = match e {
                        LookupError::Masked(_) => "masked",
                        _ => "not-found",
                    };
                    props.extend([
                        ("Id", Self::shown(n)),
                        ("LoadState", state.into()),
                        ("ActiveState", "inactive".into()),
                        ("SubState", "dead".into()),
                        ("MainPID", "0".into()),
                    ]);
                }
            }
            for (k, v) in props {
                if !self.o.properties.is_empty() && !self.o.properties.iter().any(|p| p == k) {
                    continue;
                }
                if self.o.value {
                    println!("{v}");
                } else {
                    println!("{k}={v}");
                }
            }
        }
        0
    }

    fn cat(&self, names: &[String]) -> i32 {
        let mut code = 0;
        for n in names {
            match self.load(n) {
                Ok(u) => {
                    for p in std::iter::once(&u.path).chain(&u.dropins) {
                        println!("# {p}");
                        print!("{}", self.lookup.read(p).unwrap_or_default());
                    }
                }
                Err(_) => {
                    eprintln!("No files found for {}.", Self::shown(n));
                    code = 1;
                }
            }
        }
        code
    }

    fn kill(&self, names: &[String]) -> i32 {
        let sig = self.o.signal.unwrap_or(Signal::SIGTERM);
        let mut code = 0;
        for n in names {
            match self.load(n) {
                Ok(u) => {
                    service::signal(&self.store, &u, sig, self.o.main_only);
                }
                Err(e) => {
                    eprintln!("Failed to kill unit {}: {e}", Self::shown(n));
                    code = 1;
                }
            }
        }
        code
    }

    fn list_units(&self) -> i32 {
        let rows: Vec<(String, &'static str, &'static str, String)> = self
            .store
            .list()
            .into_iter()
            .filter_map(|st| {
                let o = state::observe(Some(&st));
                if !self.o.all && o.active == "inactive" {
                    return None;
                }
                let desc = self
                    .load(&st.unit)
                    .ok()
                    .and_then(|u| u.description)
                    .unwrap_or_default();
                Some((st.unit, o.active, o.sub, desc))
            })
            .collect();
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
        if !self.o.no_legend {
            println!("{:w$} LOAD   ACTIVE   SUB     DESCRIPTION", "UNIT");
        }
        for (u, a, s, d) in &rows {
            println!("{u:w$} loaded {a:8} {s:7} {d}");
        }
        if !self.o.no_legend {
            println!("\n{} loaded units listed.", rows.len());
        }
        0
    }

    fn list_unit_files(&self) -> i32 {
        let mut seen: Vec<String> = Vec::new();
        for dir in lookup::UNIT_DIRS {
            let Ok(entries) = std::fs::read_dir(self.lookup.real(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.ends_with(".service") && !seen.contains(&n) {
                    seen.push(n);
                }
            }
        }
        seen.sort();
        if !self.o.no_legend {
            println!("UNIT FILE STATE");
        }
        let mut count = 0;
        for n in &seen {
            if let Ok(u) = self.load(n) {
                if u.name == *n {
                    println!("{n} {}", self.lookup.enablement(&u));
                    count += 1;
                }
            }
        }
        if !self.o.no_legend {
            println!("\n{count} unit files listed.");
        }
        0
    }
}

/// A time as systemd shows it: `Thu 2026-12-03 09:07:01 UTC`.
fn format_time(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    format!(
        "{wd} {y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A duration as systemd shows one: `5s`, `2min 3s`, `1h 2min`, `3 days`.
fn ago(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}min {}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h {}min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} days", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_and_verbs() {
        let (o, pos) = parse_args(&args("--no-block -q start zebra ospfd --now")).unwrap();
        assert!(o.no_block && o.quiet && o.now);
        assert_eq!(pos, ["start", "zebra", "ospfd"]);
        let (o, pos) = parse_args(&args(
            "show -p MainPID,ActiveState --property=Id --value frr",
        ))
        .unwrap();
        assert_eq!(o.properties, ["MainPID", "ActiveState", "Id"]);
        assert!(o.value);
        assert_eq!(pos, ["show", "frr"]);
        let (o, _) = parse_args(&args("kill -s HUP --kill-whom=main named")).unwrap();
        assert_eq!(o.signal, Some(Signal::SIGHUP));
        assert!(o.main_only);
        let (o, _) = parse_args(&args("kill -sSIGUSR1 -ql x")).unwrap();
        assert_eq!(o.signal, Some(Signal::SIGUSR1));
        assert!(o.quiet);
        let (o, _) = parse_args(&args("kill --signal=9 x")).unwrap();
        assert_eq!(o.signal, Some(Signal::SIGKILL));
        assert!(parse_args(&args("--user start x")).is_err());
        assert!(parse_args(&args("--bogus start x")).is_err());
        assert!(parse_args(&args("show -p")).is_err());
        assert!(parse_args(&args("kill -s NOPE x")).is_err());
        let (_, pos) = parse_args(&args("status -- -weird")).unwrap();
        assert_eq!(pos, ["status", "-weird"]);
    }

    #[test]
    fn times() {
        assert_eq!(format_time(0), "Thu 1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_796_288_821), "Thu 2026-12-03 09:07:01 UTC");
        assert_eq!(format_time(951_782_400), "Tue 2000-02-29 00:00:00 UTC");
        assert_eq!(ago(5), "5s");
        assert_eq!(ago(123), "2min 3s");
        assert_eq!(ago(3720), "1h 2min");
        assert_eq!(ago(3 * 86400), "3 days");
    }

    #[test]
    fn invoked_by_name() {
        // The test binary is not systemctl.
        assert!(!is_invocation());
    }
}
