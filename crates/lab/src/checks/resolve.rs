//! Checks and scenarios as written (`spec`) into checked values, every mistake reported at
//! its place with a fix.

use super::spec::{CheckSpec, LinkName, ScenarioSpec, StepSpec, Via, S};
use super::*;
use crate::impair::{parse_loss, parse_time};
use crate::model::suggest;
use std::collections::HashSet;

/// The words `expect` takes, per kind (the first is the default).
pub const EXPECT_WORDS: &[(&str, &[Expect])] = &[
    ("ping", &[Expect::Reachable, Expect::Unreachable]),
    ("tcp", &[Expect::Open, Expect::Closed, Expect::Filtered]),
    ("udp", &[Expect::Open, Expect::Closed, Expect::Filtered]),
    ("path", &[Expect::Reaches, Expect::Breaks]),
    ("route", &[Expect::Present, Expect::Absent]),
    ("resolve", &[Expect::Resolves, Expect::Fails]),
];

/// The kind keys: a check has exactly one.
const KINDS: &[&str] = &[
    "ping", "tcp", "udp", "path", "route", "rule", "resolve", "command",
];

/// The keys each kind takes besides `name`, `node`, `timeout`, `wait`, `every`.
fn keys_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "ping" => &[
            "expect",
            "family",
            "count",
            "size",
            "min_rtt",
            "max_rtt",
            "min_loss",
            "max_loss",
            "counted_by",
        ],
        "tcp" => &["expect", "family", "counted_by"],
        "udp" => &["expect", "family", "send", "counted_by"],
        "path" => &["expect", "family", "via", "traceroute"],
        "route" => &["expect", "via", "dev", "proto"],
        "rule" => &["packets"],
        "resolve" => &["expect", "address", "server", "family"],
        "command" => &["status", "contains", "matches", "json"],
        _ => &[],
    }
}

/// Routing protocols by the names `ip route` gives them (/etc/iproute2/rt_protos).
const PROTOS: &[(&str, u8)] = &[
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("ra", 9),
    ("dhcp", 16),
    ("zebra", 11),
    ("bird", 12),
    ("babel", 42),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

/// Most checks and steps a lab may have (each costs a process or two when it runs).
const MAX_CHECKS: usize = 10_000;
const MAX_STEPS: usize = 1_000;
const MAX_PINGS: i64 = 1_000;

struct R<'a> {
    topo: &'a Topology,
    report: &'a mut dyn FnMut(usize, Invalid),
}

/// Every check and scenario, validated against `topo`; errors go to `report` with their
/// byte offsets.
pub(crate) fn resolve(
    checks: Vec<S<CheckSpec>>,
    scenarios: Vec<S<ScenarioSpec>>,
    topo: &Topology,
    report: &mut dyn FnMut(usize, Invalid),
) -> Checks {
    let mut r = R { topo, report };
    let total = checks.len()
        + scenarios
            .iter()
            .map(|s| s.get_ref().checks.len() + s.get_ref().steps.len())
            .sum::<usize>();
    if total > MAX_CHECKS {
        r.err(
            0,
            Invalid::new(format!(
                "{total} checks and steps; a lab has at most {MAX_CHECKS}"
            ))
            .hint("split the lab's tests into several labs or checks files"),
        );
        return Checks::default();
    }
    let mut seen = HashSet::new();
    let lab_checks = r.checks(checks, &mut seen);
    let mut out = Checks {
        checks: lab_checks,
        scenarios: Vec::new(),
    };
    let mut names = HashSet::new();
    for s in scenarios {
        let at = s.get_ref().name.span().start;
        if let Some(sc) = r.scenario(s.into_inner(), &seen, &out) {
            if !names.insert(sc.name.clone()) {
                r.err(
                    at,
                    Invalid::new(format!("two scenarios are named `{}`", sc.name))
                        .hint("give every scenario a name of its own"),
                );
            }
            out.scenarios.push(sc);
        }
    }
    out
}

/// A TOML or serde error as an `Invalid`, with a hint for unknown keys.
pub(crate) fn toml_invalid(e: &toml::de::Error) -> Invalid {
    let msg = e.message().trim().to_string();
    let mut hint = None;
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let word = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        let pool: Vec<&str> = if expected.is_empty() {
            [spec::CHECK_KEYS, spec::SCENARIO_KEYS, spec::STEP_KEYS].concat()
        } else {
            expected.clone()
        };
        hint = suggest(word, &pool).or_else(|| {
            (!expected.is_empty()).then(|| format!("the keys here are: {}", expected.join(", ")))
        });
    }
    Invalid { message: msg, hint }
}

impl R<'_> {
    fn err(&mut self, at: usize, e: Invalid) {
        (self.report)(at, e)
    }

    fn ok<T>(&mut self, at: usize, r: Result<T, Invalid>) -> Option<T> {
        r.map_err(|e| self.err(at, e)).ok()
    }

    /// Checks with names unique among `seen` (which gets theirs).
    fn checks(&mut self, specs: Vec<S<CheckSpec>>, seen: &mut HashSet<String>) -> Vec<Check> {
        let mut out = Vec::with_capacity(specs.len());
        for c in specs {
            let at = c.get_ref().name.span().start;
            let name = c.get_ref().name.get_ref().clone();
            if !seen.insert(name.clone()) {
                self.err(
                    at,
                    Invalid::new(format!("two checks are named `{name}`"))
                        .hint("give every check a name of its own"),
                );
            }
            if let Some(c) = self.check(c) {
                out.push(c);
            }
        }
        out
    }

    /// A known node, or None with an error (a hint when a node's name is close).
    fn node(&mut self, s: &S<String>) -> Option<String> {
        let n = s.get_ref();
        if self.topo.nodes.contains_key(n) {
            return Some(n.clone());
        }
        let names: Vec<&str> = self.topo.nodes.keys().map(String::as_str).collect();
        let hint =
            suggest(n, &names).unwrap_or_else(|| format!("the lab's nodes are: {}", some(&names)));
        self.err(
            s.span().start,
            Invalid::new(format!("unknown node `{n}`")).hint(hint),
        );
        None
    }

    fn time(&mut self, s: &Option<S<String>>, what: &str) -> Option<u32> {
        let s = s.as_ref()?;
        let t = self.ok(
            s.span().start,
            parse_time(s.get_ref()).map_err(|e| Invalid {
                message: format!("{what}: {}", e.message),
                hint: e.hint,
            }),
        )?;
        if t == 0 && what != "at" {
            self.err(
                s.span().start,
                Invalid::new(format!("{what} must be longer than 0")).hint("e.g. \"10s\""),
            );
            return None;
        }
        Some(t)
    }

    fn check(&mut self, spec: S<CheckSpec>) -> Option<Check> {
        let at = spec.span().start;
        let c = spec.into_inner();
        let name = c.name.get_ref().clone();
        if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            self.err(
                c.name.span().start,
                Invalid::new("a check's name is 1-200 characters, no control characters")
                    .hint("name it for what it shows, e.g. \"h1 reaches h4\""),
            );
        }
        // Exactly one kind key.
        let present = present_keys(&c);
        let kinds: Vec<(&str, usize)> = present
            .iter()
            .copied()
            .filter(|(k, _)| KINDS.contains(k))
            .collect();
        let (kind, _) = match kinds.as_slice() {
            [one] => *one,
            [] => {
                self.err(
                    at,
                    Invalid::new(format!("check `{name}` says nothing to do"))
                        .hint(format!("give it one of: {}", KINDS.join(", "))),
                );
                return None;
            }
            [(a, _), (b, bat), ..] => {
                self.err(
                    *bat,
                    Invalid::new(format!("check `{name}` has both `{a}` and `{b}`"))
                        .hint("a check does one thing: make two checks"),
                );
                return None;
            }
        };
        let mut bad = false;
        let allowed = keys_of(kind);
        for (k, kat) in &present {
            if KINDS.contains(k)
                || ["name", "node", "timeout", "wait", "every"].contains(k)
                || allowed.contains(k)
            {
                continue;
            }
            self.err(
                *kat,
                Invalid::new(format!("`{k}` does not apply to a {kind} check")).hint(format!(
                    "a {kind} check takes: {}",
                    allowed
                        .iter()
                        .chain(&["timeout", "wait", "every"])
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
            bad = true;
        }
        let Some(node_s) = &c.node else {
            self.err(
                at,
                Invalid::new(format!("check `{name}` names no node"))
                    .hint("add node = \"NAME\": the node it runs on (for `rule`, whose firewall)"),
            );
            return None;
        };
        let node = self.node(node_s)?;
        let facts = self.topo.nodes[&node].clone();
        if facts.kind == Kind::Switch && !matches!(kind, "command") {
            self.err(
                node_s.span().start,
                Invalid::new(format!(
                    "{node} is a switch: it has no IP layer to {kind} from"
                ))
                .hint("run it from a host or router; on a switch, use a command check"),
            );
            return None;
        }
        let expect = self.expect(kind, &c.expect);
        let family = c.family.as_ref().and_then(|f| {
            let v = *f.get_ref();
            if v == 4 || v == 6 {
                Some(v as u8)
            } else {
                self.err(
                    f.span().start,
                    Invalid::new(format!("family {v}")).hint("write family = 4 or family = 6"),
                );
                None
            }
        });
        let counted_by = c.counted_by.as_ref().and_then(|s| self.rule_ref(s));
        let probe = match kind {
            "ping" => {
                let to = self.target(c.ping.as_ref()?)?;
                let count = match &c.count {
                    Some(n) if (1..=MAX_PINGS).contains(n.get_ref()) => *n.get_ref() as u32,
                    Some(n) => {
                        self.err(
                            n.span().start,
                            Invalid::new(format!("count {}", n.get_ref()))
                                .hint(format!("send from 1 to {MAX_PINGS} pings")),
                        );
                        1
                    }
                    None => 1,
                };
                let size = c.size.as_ref().and_then(|n| {
                    if (0..=65507).contains(n.get_ref()) {
                        Some(*n.get_ref() as u32)
                    } else {
                        self.err(
                            n.span().start,
                            Invalid::new(format!("size {}", n.get_ref()))
                                .hint("an echo request carries 0 to 65507 bytes"),
                        );
                        None
                    }
                });
                let rtt = (
                    self.time(&c.min_rtt, "min_rtt"),
                    self.time(&c.max_rtt, "max_rtt"),
                );
                let loss = (self.loss(&c.min_loss), self.loss(&c.max_loss));
                self.ordered(&c.min_rtt, rtt, "min_rtt", "max_rtt");
                self.ordered(&c.min_loss, loss, "min_loss", "max_loss");
                let e = expect?;
                if e == Expect::Unreachable && (rtt != (None, None) || loss != (None, None)) {
                    self.err(
                        at,
                        Invalid::new("round-trip and loss bounds need replies")
                            .hint("drop `expect = \"unreachable\"`, or the bounds"),
                    );
                }
                Probe::Ping(Ping {
                    to,
                    family,
                    count,
                    size,
                    expect: e,
                    rtt,
                    loss,
                    counted_by,
                })
            }
            "tcp" | "udp" => {
                let s = if kind == "tcp" { &c.tcp } else { &c.udp };
                let (to, port) = self.target_port(s.as_ref()?)?;
                let p = PortProbe {
                    to,
                    port,
                    family,
                    expect: expect?,
                    send: c.send.as_ref().map(|s| s.get_ref().clone()),
                    counted_by,
                };
                if kind == "tcp" {
                    Probe::Tcp(p)
                } else {
                    Probe::Udp(p)
                }
            }
            "path" => {
                let to = self.target(c.path.as_ref()?)?;
                let via = match &c.via {
                    None => Vec::new(),
                    Some(v) => {
                        let names = match v.get_ref() {
                            Via::One(s) => vec![s.clone()],
                            Via::Many(m) => m.clone(),
                        };
                        let mut out = Vec::new();
                        for n in names {
                            out.push(self.node(&S::new(v.span(), n))?);
                        }
                        out
                    }
                };
                Probe::Path(PathProbe {
                    to,
                    family,
                    via,
                    traceroute: c.traceroute.as_ref().is_some_and(|t| *t.get_ref()),
                    expect: expect?,
                })
            }
            "route" => {
                let r = c.route.as_ref()?;
                let to: Cidr = self.ok(r.span().start, r.get_ref().parse())?;
                if !to.is_network() {
                    self.err(
                        r.span().start,
                        Invalid::new(format!("{to} has host bits set"))
                            .hint(format!("write the route's network: {}", to.network())),
                    );
                }
                let via = match &c.via {
                    None => None,
                    Some(v) => match v.get_ref() {
                        Via::One(s) => match s.parse::<IpAddr>() {
                            Ok(a) => Some(a),
                            Err(_) => {
                                self.err(
                                    v.span().start,
                                    Invalid::new(format!("`{s}` is not an address"))
                                        .hint("a route's `via` is its next hop's address"),
                                );
                                None
                            }
                        },
                        Via::Many(_) => {
                            self.err(
                                v.span().start,
                                Invalid::new("a route check's `via` is one address")
                                    .hint("e.g. via = \"10.0.12.2\""),
                            );
                            None
                        }
                    },
                };
                let dev = c.dev.as_ref().and_then(|d| {
                    let ok = facts.ifaces.contains(d.get_ref()) || d.get_ref() == "lo";
                    if !ok {
                        self.err(
                            d.span().start,
                            Invalid::new(format!("{node} has no interface `{}`", d.get_ref()))
                                .hint(format!("its interfaces: {}", facts.ifaces.join(", "))),
                        );
                    }
                    ok.then(|| d.get_ref().clone())
                });
                let proto = c.proto.as_ref().and_then(|p| self.proto(p));
                Probe::Route(RouteProbe {
                    to,
                    via,
                    dev,
                    proto,
                    expect: expect?,
                })
            }
            "rule" => {
                let r = c.rule.as_ref()?;
                let n = *r.get_ref();
                if facts.rules == 0 {
                    self.err(
                        r.span().start,
                        Invalid::new(format!("{node} has no firewall rules"))
                            .hint(format!("give it rules under [nodes.{node}.firewall]")),
                    );
                    return None;
                }
                if n < 1 || n as usize > facts.rules {
                    self.err(
                        r.span().start,
                        Invalid::new(format!("{node}'s firewall has no rule {n}")).hint(format!(
                            "its rules are numbered 1 to {} in file order",
                            facts.rules
                        )),
                    );
                    return None;
                }
                let packets = match &c.packets {
                    Some(p) if *p.get_ref() >= 0 => *p.get_ref() as u64,
                    Some(p) => {
                        self.err(
                            p.span().start,
                            Invalid::new("packets is a count").hint("e.g. packets = 1"),
                        );
                        1
                    }
                    None => 1,
                };
                Probe::Rule(RuleProbe {
                    rule: n as usize,
                    packets,
                })
            }
            "resolve" => {
                let n = c.resolve.as_ref()?;
                let name = n.get_ref().clone();
                if name.is_empty() || name.len() > 253 || !name.chars().all(host_char) {
                    self.err(
                        n.span().start,
                        Invalid::new(format!("`{name}` is not a host name"))
                            .hint("letters, digits, `-` and `.`, e.g. \"www.lab.test\""),
                    );
                }
                let addr = |r: &mut Self, s: &Option<S<String>>, what: &str| {
                    let s = s.as_ref()?;
                    r.ok(
                        s.span().start,
                        s.get_ref().parse::<IpAddr>().map_err(|_| {
                            Invalid::new(format!("`{}` is not an address", s.get_ref()))
                                .hint(format!("{what} is an IPv4 or IPv6 address"))
                        }),
                    )
                };
                let address = addr(self, &c.address, "address");
                let server = addr(self, &c.server, "server");
                let e = expect?;
                if e == Expect::Fails && address.is_some() {
                    self.err(
                        at,
                        Invalid::new("`address` with expect = \"fails\"")
                            .hint("a name that fails to resolve has no address: drop one"),
                    );
                }
                Probe::Resolve(ResolveProbe {
                    name,
                    address,
                    server,
                    family,
                    expect: e,
                })
            }
            _ => {
                let cmd = c.command.as_ref()?;
                if cmd.get_ref().trim().is_empty() {
                    self.err(
                        cmd.span().start,
                        Invalid::new("an empty command")
                            .hint("e.g. command = \"vtysh -c 'show ip ospf neighbor'\""),
                    );
                }
                let status = match &c.status {
                    Some(s) if (0..=255).contains(s.get_ref()) => *s.get_ref() as i32,
                    Some(s) => {
                        self.err(
                            s.span().start,
                            Invalid::new(format!("status {}", s.get_ref()))
                                .hint("an exit status is from 0 to 255"),
                        );
                        0
                    }
                    None => 0,
                };
                let matches = c.matches.as_ref().and_then(|m| {
                    let ok = regex::Regex::new(m.get_ref()).map_err(|e| {
                        Invalid::new(format!("`matches` is not a regular expression: {e}"))
                            .hint("see the regex crate's syntax; `contains` takes plain text")
                    });
                    self.ok(m.span().start, ok).map(|_| m.get_ref().clone())
                });
                let json = c.json.as_ref().and_then(|j| self.json(j));
                Probe::Command(CommandProbe {
                    command: cmd.get_ref().clone(),
                    status,
                    contains: c
                        .contains
                        .map(|s| s.into_inner().into_vec())
                        .unwrap_or_default(),
                    matches,
                    json,
                })
            }
        };
        let default_timeout = match kind {
            "path" => 10_000_000,
            "command" => 10_000_000,
            "route" | "rule" => 5_000_000,
            "resolve" => 3_000_000,
            _ => 2_000_000,
        };
        let timeout = self.time(&c.timeout, "timeout").unwrap_or(default_timeout);
        let wait = self.time(&c.wait, "wait");
        let every = self.time(&c.every, "every").unwrap_or(200_000);
        if bad {
            return None;
        }
        Some(Check {
            name,
            node,
            probe,
            timeout,
            wait,
            every,
        })
    }

    /// `expect`, one of the kind's words (the first when not given).
    fn expect(&mut self, kind: &str, s: &Option<S<String>>) -> Option<Expect> {
        let words = EXPECT_WORDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&[][..], |(_, w)| *w);
        let Some(s) = s else {
            return Some(words.first().copied().unwrap_or(Expect::Present));
        };
        let w = s.get_ref();
        if let Some(e) = words.iter().find(|e| e.word() == w) {
            return Some(*e);
        }
        let list: Vec<&str> = words.iter().map(|e| e.word()).collect();
        self.err(
            s.span().start,
            Invalid::new(format!("a {kind} check cannot expect `{w}`")).hint(
                suggest(w, &list).unwrap_or_else(|| format!("expect one of: {}", list.join(", "))),
            ),
        );
        None
    }

    fn loss(&mut self, s: &Option<S<String>>) -> Option<u32> {
        let s = s.as_ref()?;
        self.ok(s.span().start, parse_loss(s.get_ref()))
    }

    /// An error at `lo_s` when both bounds are given and the lower exceeds the upper.
    fn ordered(
        &mut self,
        lo_s: &Option<S<String>>,
        b: (Option<u32>, Option<u32>),
        lo: &str,
        hi: &str,
    ) {
        if let (Some(a), Some(z), Some(s)) = (b.0, b.1, lo_s) {
            if a > z {
                self.err(
                    s.span().start,
                    Invalid::new(format!("{lo} is above {hi}"))
                        .hint(format!("{lo} is the lower bound, {hi} the upper")),
                );
            }
        }
    }

    /// A node, an address, or a name with a dot (or `node-ifname`, as /etc/hosts has it).
    fn target(&mut self, s: &S<String>) -> Option<Target> {
        let t = s.get_ref().trim();
        if let Ok(a) = t.parse::<IpAddr>() {
            return Some(Target::Addr(a));
        }
        if self.topo.nodes.contains_key(t) {
            return Some(Target::Node(t.to_string()));
        }
        let hosts_name = self
            .topo
            .nodes
            .iter()
            .any(|(n, f)| f.ifaces.iter().any(|i| t == format!("{n}-{i}")));
        if (t.contains('.') || hosts_name)
            && !t.is_empty()
            && t.len() <= 253
            && t.chars().all(host_char)
        {
            return Some(Target::Name(t.to_string()));
        }
        self.node(s).map(Target::Node)
    }

    /// `TARGET:PORT`, `[v6]:PORT`.
    fn target_port(&mut self, s: &S<String>) -> Option<(Target, u16)> {
        let text = s.get_ref().trim();
        let usage = || {
            Invalid::new(format!("`{text}` is not TARGET:PORT"))
                .hint("write a node, address or name and a port: \"h4:80\", \"10.0.1.3:80\", \"[fd00::3]:80\"")
        };
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            match rest.split_once("]:") {
                Some((h, p)) => (h, p),
                None => return self.ok(s.span().start, Err(usage())),
            }
        } else {
            match text.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, p),
                _ => return self.ok(s.span().start, Err(usage())),
            }
        };
        let port = match port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                self.err(
                    s.span().start,
                    Invalid::new(format!("port `{port}` is not 1-65535")).hint("e.g. \"h4:80\""),
                );
                return None;
            }
        };
        let t = self.target(&S::new(s.span(), host.to_string()))?;
        Some((t, port))
    }

    /// `"gw:3"`: rule 3 of gw's firewall.
    fn rule_ref(&mut self, s: &S<String>) -> Option<RuleRef> {
        let at = s.span().start;
        let Some((n, r)) = s.get_ref().split_once(':') else {
            self.err(
                at,
                Invalid::new(format!("`{}` is not NODE:RULE", s.get_ref()))
                    .hint("name the rule by its node and its place in the node's firewall, from 1: \"gw:3\""),
            );
            return None;
        };
        let node = self.node(&S::new(s.span(), n.to_string()))?;
        let rules = self.topo.nodes[&node].rules;
        match r.parse::<usize>() {
            Ok(i) if i >= 1 && i <= rules => Some(RuleRef { node, rule: i }),
            _ if rules == 0 => {
                self.err(
                    at,
                    Invalid::new(format!("{node} has no firewall rules"))
                        .hint(format!("give it rules under [nodes.{node}.firewall]")),
                );
                None
            }
            _ => {
                self.err(
                    at,
                    Invalid::new(format!("{node}'s firewall has no rule {r}"))
                        .hint(format!("its rules are numbered 1 to {rules} in file order")),
                );
                None
            }
        }
    }

    fn proto(&mut self, s: &S<String>) -> Option<(u8, String)> {
        let w = s.get_ref();
        if let Some((n, v)) = PROTOS.iter().find(|(n, _)| n == w) {
            return Some((*v, n.to_string()));
        }
        if let Ok(v) = w.parse::<u8>() {
            return Some((v, w.clone()));
        }
        let names: Vec<&str> = PROTOS.iter().map(|(n, _)| *n).collect();
        self.err(
            s.span().start,
            Invalid::new(format!("unknown routing protocol `{w}`")).hint(
                suggest(w, &names)
                    .unwrap_or_else(|| format!("one of {}, or a number", names.join(", "))),
            ),
        );
        None
    }

    /// `json`: a TOML value, or a string of JSON text.
    fn json(&mut self, v: &S<toml::Value>) -> Option<serde_json::Value> {
        let parsed = match v.get_ref() {
            toml::Value::String(s) => serde_json::from_str(s).map_err(|e| {
                Invalid::new(format!("`json` is not JSON: {e}"))
                    .hint("write the JSON as text, or as a TOML table: json = { state = \"Full\" }")
            }),
            other => serde_json::to_value(other).map_err(|e| Invalid::new(e.to_string())),
        };
        self.ok(v.span().start, parsed)
    }

    fn scenario(
        &mut self,
        s: ScenarioSpec,
        lab_names: &HashSet<String>,
        _lab: &Checks,
    ) -> Option<Scenario> {
        let name = s.name.get_ref().clone();
        if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            self.err(
                s.name.span().start,
                Invalid::new("a scenario's name is 1-200 characters, no control characters")
                    .hint("name it for what it shows, e.g. \"r1–r2 cut: OSPF reroutes\""),
            );
        }
        let mut own = HashSet::new();
        for c in &s.checks {
            let n = c.get_ref().name.get_ref();
            if lab_names.contains(n) {
                self.err(
                    c.get_ref().name.span().start,
                    Invalid::new(format!("the lab already has a check named `{n}`"))
                        .hint("a scenario's own checks have names of their own"),
                );
            }
        }
        let checks = self.checks(s.checks, &mut own);
        if s.steps.is_empty() {
            self.err(
                s.name.span().start,
                Invalid::new(format!("scenario `{name}` has no steps"))
                    .hint("add [[scenarios.steps]] tables: link_down, link_up, impair, restore, exec, sleep, check"),
            );
        }
        if s.steps.len() > MAX_STEPS {
            self.err(
                s.name.span().start,
                Invalid::new(format!("a scenario has at most {MAX_STEPS} steps")),
            );
            return None;
        }
        let known = |n: &str| own.contains(n) || lab_names.contains(n);
        let mut steps = Vec::with_capacity(s.steps.len());
        for st in s.steps {
            if let Some(step) = self.step(st, &known) {
                steps.push(step);
            }
        }
        Some(Scenario {
            name,
            checks,
            steps,
        })
    }

    fn step(&mut self, spec: S<StepSpec>, known: &dyn Fn(&str) -> bool) -> Option<Step> {
        let at = spec.span().start;
        let s = spec.into_inner();
        let actions: Vec<(&str, usize)> = [
            ("link_down", s.link_down.as_ref().map(|v| v.span().start)),
            ("link_up", s.link_up.as_ref().map(|v| v.span().start)),
            ("impair", s.impair.as_ref().map(|v| v.span().start)),
            ("restore", s.restore.as_ref().map(|v| v.span().start)),
            ("exec", s.exec.as_ref().map(|v| v.span().start)),
            ("sleep", s.sleep.as_ref().map(|v| v.span().start)),
            ("check", s.check.as_ref().map(|v| v.span().start)),
            ("checks", s.checks.as_ref().map(|v| v.span().start)),
        ]
        .into_iter()
        .filter_map(|(k, a)| a.map(|a| (k, a)))
        .collect();
        let kind = match actions.as_slice() {
            [(k, _)] => *k,
            [] => {
                self.err(
                    at,
                    Invalid::new("a step that does nothing").hint(
                        "give it one of: link_down, link_up, impair, restore, exec, sleep, check, checks",
                    ),
                );
                return None;
            }
            [(a, _), (b, bat), ..] => {
                self.err(
                    *bat,
                    Invalid::new(format!("a step has both `{a}` and `{b}`"))
                        .hint("a step does one thing: make two steps"),
                );
                return None;
            }
        };
        // Options that belong to other actions.
        let extra: Vec<(&str, Option<usize>, bool)> = vec![
            (
                "reroute",
                s.reroute.as_ref().map(|v| v.span().start),
                matches!(kind, "link_down" | "link_up"),
            ),
            (
                "rate",
                s.rate.as_ref().map(|v| v.span().start),
                kind == "impair",
            ),
            (
                "delay",
                s.delay.as_ref().map(|v| v.span().start),
                kind == "impair",
            ),
            (
                "jitter",
                s.jitter.as_ref().map(|v| v.span().start),
                kind == "impair",
            ),
            (
                "loss",
                s.loss.as_ref().map(|v| v.span().start),
                kind == "impair",
            ),
            (
                "node",
                s.node.as_ref().map(|v| v.span().start),
                kind == "exec",
            ),
        ];
        let mut bad = false;
        for (k, a, fits) in extra {
            if let (Some(a), false) = (a, fits) {
                self.err(
                    a,
                    Invalid::new(format!("`{k}` does not apply to a {kind} step"))
                        .hint("reroute goes with link_down/link_up, rate/delay/jitter/loss with impair, node with exec"),
                );
                bad = true;
            }
        }
        let reroute = s.reroute.as_ref().is_some_and(|r| *r.get_ref());
        let action = match kind {
            "link_down" => Action::LinkDown {
                link: self.link(s.link_down.as_ref()?)?,
                reroute,
            },
            "link_up" => Action::LinkUp {
                link: self.link(s.link_up.as_ref()?)?,
                reroute,
            },
            "impair" => {
                let link = self.link(s.impair.as_ref()?)?;
                fn get(v: &Option<S<String>>) -> Option<&str> {
                    v.as_ref().map(|x| x.get_ref().as_str())
                }
                if [&s.rate, &s.delay, &s.jitter, &s.loss]
                    .iter()
                    .all(|v| v.is_none())
                {
                    self.err(
                        at,
                        Invalid::new("an impair step without impairments")
                            .hint("give rate, delay, jitter or loss, e.g. delay = \"50ms\""),
                    );
                    return None;
                }
                let (impair, errors) =
                    Impair::parse_all(get(&s.rate), get(&s.delay), get(&s.jitter), get(&s.loss));
                for e in errors {
                    let place = match e.field {
                        "rate" => &s.rate,
                        "delay" => &s.delay,
                        "jitter" => &s.jitter,
                        _ => &s.loss,
                    };
                    let a = place.as_ref().map_or(at, |p| p.span().start);
                    self.err(
                        a,
                        Invalid {
                            message: format!("{}: {}", e.field, e.error.message),
                            hint: e.error.hint,
                        },
                    );
                    bad = true;
                }
                Action::Impair { link, impair }
            }
            "restore" => Action::Restore {
                link: self.link(s.restore.as_ref()?)?,
            },
            "exec" => {
                let Some(n) = &s.node else {
                    self.err(
                        at,
                        Invalid::new("an exec step names no node")
                            .hint("add node = \"NAME\": where the command runs"),
                    );
                    return None;
                };
                Action::Exec {
                    node: self.node(n)?,
                    command: s.exec.as_ref()?.get_ref().clone(),
                }
            }
            "sleep" => Action::Sleep {
                us: self.time(&s.sleep, "sleep")?,
            },
            _ => {
                let names: Vec<S<String>> = match (&s.check, &s.checks) {
                    (Some(c), _) => vec![c.clone()],
                    (_, Some(cs)) => cs.get_ref().clone(),
                    _ => Vec::new(),
                };
                if names.is_empty() {
                    self.err(
                        at,
                        Invalid::new("`checks` is empty").hint("name checks to run"),
                    );
                    return None;
                }
                for n in &names {
                    if !known(n.get_ref()) {
                        self.err(
                            n.span().start,
                            Invalid::new(format!("no check is named `{}`", n.get_ref())).hint(
                                "name one of the lab's [[checks]] or the scenario's own [[scenarios.checks]]",
                            ),
                        );
                        bad = true;
                    }
                }
                Action::Checks {
                    names: names.into_iter().map(S::into_inner).collect(),
                }
            }
        };
        let at_offset = self.time(&s.at, "at");
        if bad {
            return None;
        }
        Some(Step {
            at: at_offset,
            action,
        })
    }

    /// `"r1:eth1"` (an interface with a link) or `["r1", "r2"]` (one link between them).
    fn link(&mut self, s: &S<LinkName>) -> Option<LinkRef> {
        let at = s.span().start;
        match s.get_ref() {
            LinkName::End(e) => {
                let Some((n, i)) = e.split_once(':') else {
                    self.err(
                        at,
                        Invalid::new(format!("`{e}` is not NODE:IFACE"))
                            .hint("name a link by one end, \"r1:eth1\", or by its nodes, [\"r1\", \"r2\"]"),
                    );
                    return None;
                };
                let node = self.node(&S::new(s.span(), n.to_string()))?;
                let has = self
                    .topo
                    .links
                    .iter()
                    .any(|l| l.iter().any(|(ln, li)| *ln == node && li == i));
                if !has {
                    let ifs = &self.topo.nodes[&node].ifaces;
                    self.err(
                        at,
                        Invalid::new(format!("{node} has no link at `{i}`"))
                            .hint(format!("its interfaces: {}", ifs.join(", "))),
                    );
                    return None;
                }
                Some(LinkRef::End {
                    node,
                    iface: i.to_string(),
                })
            }
            LinkName::Nodes(v) => {
                let [a, b] = v.as_slice() else {
                    self.err(
                        at,
                        Invalid::new("a link is named by its two nodes")
                            .hint("write [\"r1\", \"r2\"], or one end: \"r1:eth1\""),
                    );
                    return None;
                };
                let a = self.node(&S::new(s.span(), a.clone()))?;
                let b = self.node(&S::new(s.span(), b.clone()))?;
                let n = self
                    .topo
                    .links
                    .iter()
                    .filter(|l| (l[0].0 == a && l[1].0 == b) || (l[0].0 == b && l[1].0 == a))
                    .count();
                match n {
                    1 => Some(LinkRef::Between { a, b }),
                    0 => {
                        self.err(
                            at,
                            Invalid::new(format!("no link joins {a} and {b}"))
                                .hint("name a link of the lab's [[links]]"),
                        );
                        None
                    }
                    _ => {
                        self.err(
                            at,
                            Invalid::new(format!("{a} and {b} are joined by {n} links"))
                                .hint("name one end instead: \"NODE:IFACE\""),
                        );
                        None
                    }
                }
            }
        }
    }
}

fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'
}

/// The first few of `names`, for a hint.
fn some(names: &[&str]) -> String {
    let mut s = names.iter().take(8).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 8 {
        s.push_str(&format!(" … ({} in all)", names.len()));
    }
    s
}

/// The keys a check table has, with where each is written.
fn present_keys(c: &CheckSpec) -> Vec<(&'static str, usize)> {
    macro_rules! keys {
        ($($k:ident),*) => {{
            let mut v = Vec::new();
            $( if let Some(x) = &c.$k { v.push((stringify!($k), x.span().start)); } )*
            v
        }};
    }
    let mut v = keys!(
        node, ping, tcp, udp, path, route, rule, resolve, command, expect, family, count, size,
        min_rtt, max_rtt, min_loss, max_loss, send, counted_by, via, traceroute, dev, proto,
        packets, address, server, status, contains, matches, json, timeout, wait, every
    );
    v.sort_by_key(|(_, at)| *at);
    v
}
