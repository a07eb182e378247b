//! Labs that test themselves: the `[[checks]]` and `[[scenarios]]` of a lab file (or of a
//! checks file beside it), parsed and validated here, run by `nsnet test` (`nsnet_core::ops::
//! test`). A check is one fact about the running lab, seen with real traffic or read from a
//! node's kernel: a ping, a TCP or UDP port, the path, a route, a firewall rule's counter, a
//! name, a command's output. A scenario changes the lab step by step (links down or up,
//! impairments, commands, pauses) and runs checks between the steps.
//!
//! Pure, like the rest of the crate: node names, interfaces, links and firewall rules are
//! checked against a [`Topology`] (of the lab file being read, or of a running lab's plan).

mod resolve;
pub(crate) mod spec;
#[cfg(test)]
mod tests;

use crate::cidr::Cidr;
use crate::error::{Invalid, LabError, LabErrors, Source};
use crate::impair::{format_loss, format_time, Impair};
use crate::values::Kind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

pub(crate) use resolve::resolve as resolve_spec;
pub use resolve::EXPECT_WORDS;

/// Every check and scenario of a lab, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checks {
    /// The lab's checks, in file order (independent: they may run in parallel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Its scenarios, in file order (each one's steps in order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<Scenario>,
}

impl Checks {
    /// True when there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && self.scenarios.is_empty()
    }

    /// Read and validate a checks file (`[[checks]]` and `[[scenarios]]` only) against
    /// `topo`.
    pub fn load(path: &Path, topo: &Topology) -> Result<Checks, LabErrors> {
        let shown = path.display().to_string();
        let text = read_checks_file(path).map_err(|e| LabError::in_file(&shown, e))?;
        Checks::from_toml(&text, &shown, topo)
    }

    /// Validate checks-file text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str, topo: &Topology) -> Result<Checks, LabErrors> {
        let src = Source::new(file, text);
        let spec: spec::ChecksFileSpec = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            LabErrors::from(src.error(at, resolve::toml_invalid(&e)))
        })?;
        let mut errors = Vec::new();
        let checks = resolve::resolve(spec.checks, spec.scenarios, topo, &mut |at, e| {
            errors.push(src.error(at, e))
        });
        if errors.is_empty() {
            Ok(checks)
        } else {
            errors.sort_by_key(|e| (e.line, e.col));
            Err(LabErrors(errors))
        }
    }

    /// These checks and `more`'s; a name given twice is an error.
    pub fn merge(mut self, more: Checks) -> Result<Checks, Invalid> {
        for c in &more.checks {
            if self.checks.iter().any(|d| d.name == c.name) {
                return Err(Invalid::new(format!("two checks are named `{}`", c.name))
                    .hint("give every check a name of its own"));
            }
        }
        for s in &more.scenarios {
            if self.scenarios.iter().any(|d| d.name == s.name) {
                return Err(
                    Invalid::new(format!("two scenarios are named `{}`", s.name))
                        .hint("give every scenario a name of its own"),
                );
            }
        }
        self.checks.extend(more.checks);
        self.scenarios.extend(more.scenarios);
        Ok(self)
    }

    /// The check a scenario's step names: the scenario's own first, then the lab's.
    pub fn find<'a>(&'a self, scenario: &'a Scenario, name: &str) -> Option<&'a Check> {
        scenario
            .checks
            .iter()
            .chain(&self.checks)
            .find(|c| c.name == name)
    }
}

/// A checks file's text: a regular file of at most 4 MiB.
fn read_checks_file(path: &Path) -> Result<String, Invalid> {
    let unreadable = |e: std::io::Error| {
        Invalid::new(format!("cannot read the checks file: {e}"))
            .hint("check the path (a checks file named in [lab] is relative to the lab file)")
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() || meta.len() > crate::limits::MAX_LAB_FILE {
        return Err(Invalid::new("not a regular file of at most 4 MiB")
            .hint("give a TOML file of [[checks]] and [[scenarios]]"));
    }
    std::fs::read_to_string(path).map_err(unreadable)
}

/// What checks are validated against: the nodes (with their interfaces and the number of
/// rules of their firewall) and the links of a lab.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    nodes: BTreeMap<String, NodeFacts>,
    links: Vec<[(String, String); 2]>,
}

#[derive(Debug, Clone)]
struct NodeFacts {
    kind: Kind,
    ifaces: Vec<String>,
    rules: usize,
}

impl Topology {
    /// A node, its interfaces and how many firewall rules it has.
    pub fn add_node(&mut self, name: &str, kind: Kind, ifaces: Vec<String>, rules: usize) {
        self.nodes.insert(
            name.to_string(),
            NodeFacts {
                kind,
                ifaces,
                rules,
            },
        );
    }

    /// A link between two `(node, interface)` ends.
    pub fn add_link(&mut self, a: (&str, &str), b: (&str, &str)) {
        self.links.push([
            (a.0.to_string(), a.1.to_string()),
            (b.0.to_string(), b.1.to_string()),
        ]);
    }
}

/// One check: a fact about the running lab, seen from `node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Unique among the lab's checks (and a scenario's own).
    pub name: String,
    /// Where it runs (for `rule`: the node whose firewall it reads).
    pub node: String,
    /// What it does and what it expects.
    pub probe: Probe,
    /// The limit of one attempt, microseconds.
    pub timeout: u32,
    /// Retried until it holds or this much time has passed (microseconds); None: once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<u32>,
    /// The pause between two attempts of a `wait` check, microseconds.
    pub every: u32,
}

/// What a check does, and what it expects to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Probe {
    /// `ping`: ICMP echo, with optional round-trip and loss bounds.
    Ping(Ping),
    /// `tcp`: a connection to a port.
    Tcp(PortProbe),
    /// `udp`: a datagram to a port, and whether anything answers.
    Udp(PortProbe),
    /// `path`: the hops toward a destination, from the nodes' FIBs (and traceroute).
    Path(PathProbe),
    /// `route`: a route in the node's main table.
    Route(RouteProbe),
    /// `rule`: a firewall rule's packet counter.
    Rule(RuleProbe),
    /// `resolve`: a name's addresses as the node resolves it.
    Resolve(ResolveProbe),
    /// `command`: a shell command's status and output.
    Command(CommandProbe),
}

impl Probe {
    /// The kind's key in the lab file: `ping`, `tcp` …
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Ping(_) => "ping",
            Probe::Tcp(_) => "tcp",
            Probe::Udp(_) => "udp",
            Probe::Path(_) => "path",
            Probe::Route(_) => "route",
            Probe::Rule(_) => "rule",
            Probe::Resolve(_) => "resolve",
            Probe::Command(_) => "command",
        }
    }
}

/// Where traffic goes: a node of the lab (its first address of the family), an address,
/// or a name the node resolves itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A node of the lab.
    Node(String),
    /// An IPv4 or IPv6 address.
    Addr(IpAddr),
    /// A name (DNS, /etc/hosts), resolved in the node.
    Name(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Node(n) | Target::Name(n) => f.write_str(n),
            Target::Addr(a) => write!(f, "{a}"),
        }
    }
}

/// An expected outcome, one word in the lab file (`expect = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// ping: an echo reply came back.
    Reachable,
    /// ping: none did.
    Unreachable,
    /// tcp: connected; udp: an answer came back.
    Open,
    /// tcp: refused (a RST or an ICMP port unreachable); udp: ICMP port unreachable.
    Closed,
    /// No answer at all (or an ICMP "prohibited"): something drops it.
    Filtered,
    /// path: every branch arrives.
    Reaches,
    /// path: some branch breaks.
    Breaks,
    /// route: the node has it.
    Present,
    /// route: it does not.
    Absent,
    /// resolve: the name has an address (the one given, if any).
    Resolves,
    /// resolve: it has none.
    Fails,
}

impl Expect {
    /// The word the lab file writes.
    pub fn word(self) -> &'static str {
        match self {
            Expect::Reachable => "reachable",
            Expect::Unreachable => "unreachable",
            Expect::Open => "open",
            Expect::Closed => "closed",
            Expect::Filtered => "filtered",
            Expect::Reaches => "reaches",
            Expect::Breaks => "breaks",
            Expect::Present => "present",
            Expect::Absent => "absent",
            Expect::Resolves => "resolves",
            Expect::Fails => "fails",
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// A firewall rule: the `rule`-th (from 1) of `node`'s firewall in the lab file, as
/// `nsnet fw NODE` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    /// The node whose firewall it is.
    pub node: String,
    /// Its place in the lab file, from 1.
    pub rule: usize,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.rule)
    }
}

/// `ping = TARGET`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    /// Where to.
    pub to: Target,
    /// 4 or 6; None: a node's IPv4 address when it has one, else what the name gives.
    pub family: Option<u8>,
    /// Echo requests sent (`count`, 1 by default).
    pub count: u32,
    /// Bytes of payload in each (`size`; ping's default, 56, when None).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// `reachable` or `unreachable`.
    pub expect: Expect,
    /// Bounds on the average round trip, microseconds (`min_rtt`, `max_rtt`).
    pub rtt: (Option<u32>, Option<u32>),
    /// Bounds on the loss, millionths (`min_loss`, `max_loss`).
    pub loss: (Option<u32>, Option<u32>),
    /// A firewall rule whose counter must move while the pings run.
    pub counted_by: Option<RuleRef>,
}

/// `tcp = "TARGET:PORT"` or `udp = "TARGET:PORT"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortProbe {
    /// Where to.
    pub to: Target,
    /// The port.
    pub port: u16,
    /// 4 or 6, as for ping.
    pub family: Option<u8>,
    /// `open`, `closed` or `filtered`.
    pub expect: Expect,
    /// UDP: the datagram's payload (by default one newline).
    pub send: Option<String>,
    /// A firewall rule whose counter must move while the probe runs.
    pub counted_by: Option<RuleRef>,
}

/// `path = TARGET`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathProbe {
    /// Where to.
    pub to: Target,
    /// 4 or 6, as for ping.
    pub family: Option<u8>,
    /// Nodes every branch passes, in this order (others may lie between).
    pub via: Vec<String>,
    /// Also run traceroute and check its hops the same way.
    pub traceroute: bool,
    /// `reaches` or `breaks`.
    pub expect: Expect,
}

/// `route = PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteProbe {
    /// The destination, exactly as the route has it.
    pub to: Cidr,
    /// A next hop the route must have.
    pub via: Option<IpAddr>,
    /// An interface a next hop must leave by.
    pub dev: Option<String>,
    /// The protocol that installed it (RTPROT_*), and its name as written.
    pub proto: Option<(u8, String)>,
    /// `present` or `absent`.
    pub expect: Expect,
}

/// `rule = N`: the node's N-th firewall rule has counted at least `packets` packets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleProbe {
    /// Its place in the lab file, from 1.
    pub rule: usize,
    /// At least this many packets (1 unless given).
    pub packets: u64,
}

/// `resolve = NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveProbe {
    /// The name.
    pub name: String,
    /// An address it must resolve to.
    pub address: Option<IpAddr>,
    /// Ask this DNS server (with dig) instead of the node's resolver (getent).
    pub server: Option<IpAddr>,
    /// 4 or 6: only that family's addresses.
    pub family: Option<u8>,
    /// `resolves` or `fails`.
    pub expect: Expect,
}

/// `command = "…"`, run with `/bin/sh -c` in the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandProbe {
    /// The shell command.
    pub command: String,
    /// Its exit status (0 unless given).
    pub status: i32,
    /// Texts its output must contain.
    pub contains: Vec<String>,
    /// A regular expression its output must match (checked when the lab is read).
    pub matches: Option<String>,
    /// JSON its output, parsed as JSON, must contain (objects: these keys with matching
    /// values, others allowed; arrays: an element matching each given one).
    pub json: Option<serde_json::Value>,
}

/// A scenario: steps that change the lab, with checks between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// Unique among the lab's scenarios.
    pub name: String,
    /// Checks only its steps run (by name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// In order.
    pub steps: Vec<Step>,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Not before this offset from the scenario's start, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u32>,
    /// What it does.
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `link_down = LINK` (`reroute = true`: static routes heal around it).
    LinkDown {
        /// The link.
        link: LinkRef,
        /// Recompute the static routes.
        reroute: bool,
    },
    /// `link_up = LINK`.
    LinkUp {
        /// The link.
        link: LinkRef,
        /// Recompute the static routes.
        reroute: bool,
    },
    /// `impair = LINK` with `rate`, `delay`, `jitter`, `loss`.
    Impair {
        /// The link.
        link: LinkRef,
        /// Its new impairments (replacing the ones it has).
        impair: Impair,
    },
    /// `restore = LINK`: the impairments the lab file gives it.
    Restore {
        /// The link.
        link: LinkRef,
    },
    /// `exec = "…"` on `node`: must exit 0.
    Exec {
        /// Where.
        node: String,
        /// The shell command.
        command: String,
    },
    /// `sleep = "2s"`.
    Sleep {
        /// Microseconds.
        us: u32,
    },
    /// `check = NAME` or `checks = [NAMES]`: run them (in parallel).
    Checks {
        /// The checks' names.
        names: Vec<String>,
    },
}

/// A link as a step names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkRef {
    /// `"r1:eth1"`: the link of that interface.
    End {
        /// The node.
        node: String,
        /// Its interface.
        iface: String,
    },
    /// `["r1", "r2"]`: the one link between them.
    Between {
        /// One node.
        a: String,
        /// The other.
        b: String,
    },
}

impl fmt::Display for LinkRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkRef::End { node, iface } => write!(f, "{node}:{iface}"),
            LinkRef::Between { a, b } => write!(f, "{a} — {b}"),
        }
    }
}

impl fmt::Display for Action {
    /// `link_down r1 — r2 (reroute)`, `exec on r1: …`, `checks a, b`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rr = |r: bool| if r { " (reroute)" } else { "" };
        match self {
            Action::LinkDown { link, reroute } => write!(f, "link_down {link}{}", rr(*reroute)),
            Action::LinkUp { link, reroute } => write!(f, "link_up {link}{}", rr(*reroute)),
            Action::Impair { link, impair } => write!(f, "impair {link}: {impair}"),
            Action::Restore { link } => write!(f, "restore {link}"),
            Action::Exec { node, command } => write!(f, "exec on {node}: {command}"),
            Action::Sleep { us } => write!(f, "sleep {}", format_time(*us)),
            Action::Checks { names } => write!(f, "check {}", names.join(", ")),
        }
    }
}

impl fmt::Display for Check {
    /// One line: `h1: ping h4 → reachable (wait 10s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = &self.node;
        match &self.probe {
            Probe::Ping(p) => {
                write!(f, "{n}: ping {} ×{} → {}", p.to, p.count, p.expect)?;
                let bound = |f: &mut fmt::Formatter<'_>,
                             what,
                             b: (Option<u32>, Option<u32>),
                             fmt: fn(u32) -> String| {
                    match b {
                        (None, None) => Ok(()),
                        (lo, hi) => write!(
                            f,
                            ", {what} {}..{}",
                            lo.map(fmt).unwrap_or_default(),
                            hi.map(fmt).unwrap_or_default()
                        ),
                    }
                };
                bound(f, "rtt", p.rtt, format_time)?;
                bound(f, "loss", p.loss, format_loss)?;
                if let Some(r) = &p.counted_by {
                    write!(f, ", counted by {r}")?;
                }
            }
            Probe::Tcp(p) | Probe::Udp(p) => {
                write!(
                    f,
                    "{n}: {} {}:{} → {}",
                    self.probe.kind(),
                    p.to,
                    p.port,
                    p.expect
                )?;
                if let Some(r) = &p.counted_by {
                    write!(f, ", counted by {r}")?;
                }
            }
            Probe::Path(p) => {
                write!(f, "{n}: path to {} → {}", p.to, p.expect)?;
                if !p.via.is_empty() {
                    write!(f, " via {}", p.via.join(", "))?;
                }
                if p.traceroute {
                    write!(f, " (and traceroute)")?;
                }
            }
            Probe::Route(r) => {
                write!(f, "{n}: route {}", r.to)?;
                if let Some(v) = r.via {
                    write!(f, " via {v}")?;
                }
                if let Some(d) = &r.dev {
                    write!(f, " dev {d}")?;
                }
                if let Some((_, p)) = &r.proto {
                    write!(f, " proto {p}")?;
                }
                write!(f, " → {}", r.expect)?;
            }
            Probe::Rule(r) => write!(
                f,
                "{n}: firewall rule {} counted ≥ {} packet(s)",
                r.rule, r.packets
            )?,
            Probe::Resolve(r) => {
                write!(f, "{n}: resolve {}", r.name)?;
                if let Some(s) = r.server {
                    write!(f, " @{s}")?;
                }
                write!(f, " → {}", r.expect)?;
                if let Some(a) = r.address {
                    write!(f, " {a}")?;
                }
            }
            Probe::Command(c) => {
                write!(f, "{n}: `{}` → status {}", c.command, c.status)?;
                for t in &c.contains {
                    write!(f, ", contains {t:?}")?;
                }
                if let Some(m) = &c.matches {
                    write!(f, ", matches /{m}/")?;
                }
                if let Some(j) = &c.json {
                    write!(f, ", json ⊇ {j}")?;
                }
            }
        }
        if let Some(w) = self.wait {
            write!(f, " (wait {})", format_time(w))?;
        }
        Ok(())
    }
}

/// The checks as `nsnet plan` prints them (empty when there are none).
pub fn render(checks: &Checks) -> String {
    use fmt::Write;
    let mut o = String::new();
    if checks.is_empty() {
        return o;
    }
    let _ = writeln!(o, "\nchecks:");
    for c in &checks.checks {
        let _ = writeln!(o, "  {}: {c}", c.name);
    }
    for s in &checks.scenarios {
        let _ = writeln!(o, "\nscenario {}:", s.name);
        for c in &s.checks {
            let _ = writeln!(o, "  check {}: {c}", c.name);
        }
        for (i, st) in s.steps.iter().enumerate() {
            let at = st
                .at
                .map(|a| format!(" at {}", format_time(a)))
                .unwrap_or_default();
            let _ = writeln!(o, "  {}.{at} {}", i + 1, st.action);
        }
    }
    o
}
