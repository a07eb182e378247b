//! A node's firewall: iptables-style rules in the lab file (`[nodes.X.firewall]`), checked
//! here value by value with file:line:column, and planned as plain data that `core` turns
//! into nftables rules. Everything decidable without the kernel is decided here: a rule's
//! IP family, which chain may hold which action, which interfaces exist.

use crate::cidr::Cidr;
use crate::error::{LabError, Source};
use crate::model::{suggest, Link, Node};
use crate::plan::Kind;
use crate::spec::S;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

// ---- the lab file's shape ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallSpec {
    pub input: Option<S<String>>,
    pub forward: Option<S<String>>,
    pub output: Option<S<String>>,
    #[serde(default)]
    pub rules: Vec<S<RuleSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub chain: S<String>,
    pub src: Option<S<String>>,
    pub dst: Option<S<String>>,
    pub proto: Option<S<String>>,
    pub sport: Option<S<PortSpec>>,
    pub dport: Option<S<PortSpec>>,
    pub iif: Option<S<String>>,
    pub oif: Option<S<String>>,
    pub state: Option<S<Vec<S<String>>>>,
    pub action: S<String>,
    pub to: Option<S<String>>,
}

/// `dport = 22` or `dport = "8000-8080"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PortSpec {
    Num(i64),
    Text(String),
}

pub const FIREWALL_KEYS: &[&str] = &["input", "forward", "output", "rules"];
pub const RULE_KEYS: &[&str] = &[
    "chain", "src", "dst", "proto", "sport", "dport", "iif", "oif", "state", "action", "to",
];

// ---- the plan ----

/// A node's firewall as planned: chain policies and rules in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firewall {
    pub input: Policy,
    pub forward: Policy,
    pub output: Policy,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    Accept,
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Chain {
    Input,
    Forward,
    Output,
    Prerouting,
    Postrouting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CtState {
    Established,
    Related,
    New,
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Accept,
    Drop,
    Reject,
    Masquerade,
    Snat,
    Dnat,
}

/// An inclusive port range (`lo == hi`: one port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    pub lo: u16,
    pub hi: u16,
}

/// Where snat/dnat send a connection: an address and optionally a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatTarget {
    pub addr: IpAddr,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub chain: Chain,
    pub src: Option<Cidr>,
    pub dst: Option<Cidr>,
    pub proto: Option<Proto>,
    pub sport: Option<Ports>,
    pub dport: Option<Ports>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub state: Vec<CtState>,
    pub action: Action,
    pub to: Option<NatTarget>,
}

impl Rule {
    /// The IP family the rule is limited to (true: IPv6) by its addresses or `to`; None
    /// when it applies to both.
    pub fn v6(&self) -> Option<bool> {
        self.src
            .map(|c| !c.is_v4())
            .or(self.dst.map(|c| !c.is_v4()))
            .or(self.to.map(|t| t.addr.is_ipv6()))
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Chain::Input => "input",
            Chain::Forward => "forward",
            Chain::Output => "output",
            Chain::Prerouting => "prerouting",
            Chain::Postrouting => "postrouting",
        })
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        })
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PROTOS[*self as usize])
    }
}

impl fmt::Display for CtState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(STATES[*self as usize])
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ACTIONS[*self as usize])
    }
}

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl fmt::Display for NatTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.addr, self.port) {
            (a, None) => write!(f, "{a}"),
            (IpAddr::V4(a), Some(p)) => write!(f, "{a}:{p}"),
            (IpAddr::V6(a), Some(p)) => write!(f, "[{a}]:{p}"),
        }
    }
}

/// A prefix, or a bare address for a single host.
fn net(c: &Cidr) -> String {
    if c.prefix == c.max_prefix() {
        c.addr.to_string()
    } else {
        c.to_string()
    }
}

/// The rule without its chain: `iif eth0 tcp 10.0.1.0/24 -> 10.0.3.10 dport 22 accept`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(i) = &self.iif {
            parts.push(format!("iif {i}"));
        }
        if let Some(o) = &self.oif {
            parts.push(format!("oif {o}"));
        }
        if let Some(p) = self.proto {
            parts.push(p.to_string());
        }
        match (&self.src, &self.dst) {
            (None, None) => {}
            (s, d) => parts.push(format!(
                "{} -> {}",
                s.as_ref().map_or("any".into(), net),
                d.as_ref().map_or("any".into(), net)
            )),
        }
        if let Some(p) = self.sport {
            parts.push(format!("sport {p}"));
        }
        if let Some(p) = self.dport {
            parts.push(format!("dport {p}"));
        }
        if !self.state.is_empty() {
            let s: Vec<String> = self.state.iter().map(|s| s.to_string()).collect();
            parts.push(format!("state {}", s.join(",")));
        }
        parts.push(self.action.to_string());
        if let Some(t) = &self.to {
            parts.push(format!("to {t}"));
        }
        f.write_str(&parts.join(" "))
    }
}

const CHAINS: &[&str] = &["input", "forward", "output", "prerouting", "postrouting"];
const PROTOS: &[&str] = &["tcp", "udp", "icmp", "icmpv6"];
const STATES: &[&str] = &["established", "related", "new", "invalid"];
const ACTIONS: &[&str] = &["accept", "drop", "reject", "masquerade", "snat", "dnat"];
const POLICIES: &[&str] = &["accept", "drop"];

// ---- checking ----

struct Check<'a> {
    src: &'a Source,
    errors: &'a mut Vec<LabError>,
}

impl Check<'_> {
    fn err(&mut self, at: usize, msg: impl Into<String>, hint: impl Into<Option<String>>) {
        self.errors.push(self.src.error(at, msg, hint.into()));
    }

    /// One of `words` (index), or an error with a "did you mean".
    fn word(&mut self, s: &S<String>, what: &str, words: &[&str]) -> Option<usize> {
        let w = s.get_ref().as_str();
        if let Some(i) = words.iter().position(|c| *c == w) {
            return Some(i);
        }
        let list = words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(", ");
        self.err(
            s.span().start,
            format!("unknown {what} `{w}`"),
            suggest(w, words).or(Some(format!("use one of {list}"))),
        );
        None
    }

    fn policy(&mut self, p: &Option<S<String>>) -> Policy {
        match p.as_ref().map(|p| self.word(p, "policy", POLICIES)) {
            Some(Some(1)) => Policy::Drop,
            _ => Policy::Accept,
        }
    }

    /// `10.0.1.0/24` or a bare address (one host).
    fn cidr(&mut self, s: &S<String>, what: &str) -> Option<Cidr> {
        let text = s.get_ref();
        let at = s.span().start;
        let c = if text.contains('/') {
            match text.parse::<Cidr>() {
                Ok(c) => c,
                Err(e) => {
                    self.err(at, format!("`{what}`: malformed CIDR: {e}"), None);
                    return None;
                }
            }
        } else {
            match text.parse::<IpAddr>() {
                Ok(a) => Cidr::new(a, if a.is_ipv4() { 32 } else { 128 })?,
                Err(_) => {
                    self.err(
                        at,
                        format!("`{what}` `{text}` is not an address or network"),
                        "write a network (10.0.1.0/24, fd00:1::/64) or one address".to_string(),
                    );
                    return None;
                }
            }
        };
        if !c.is_network() {
            self.err(
                at,
                format!("`{what}` `{c}` has host bits set"),
                format!("write the network address: {}", c.network()),
            );
            return None;
        }
        Some(c)
    }

    fn ports(&mut self, p: &S<PortSpec>, what: &str) -> Option<Ports> {
        let at = p.span().start;
        let hint = || {
            Some(format!(
                "write a port (`{what} = 22`) or a range (`{what} = \"8000-8080\"`)"
            ))
        };
        let one = |s: &str| s.trim().parse::<i64>().ok();
        let (lo, hi) = match p.get_ref() {
            PortSpec::Num(n) => (Some(*n), Some(*n)),
            PortSpec::Text(t) => match t.split_once('-') {
                Some((a, b)) => (one(a), one(b)),
                None => (one(t), one(t)),
            },
        };
        let (Some(lo), Some(hi)) = (lo, hi) else {
            self.err(
                at,
                format!("`{what}` is not a port or a port range"),
                hint(),
            );
            return None;
        };
        if !(1..=65535).contains(&lo) || !(1..=65535).contains(&hi) {
            self.err(at, format!("`{what}`: ports are 1 to 65535"), hint());
            return None;
        }
        if lo > hi {
            self.err(
                at,
                format!("`{what}`: the range {lo}-{hi} is empty"),
                Some(format!("write the lower port first: \"{hi}-{lo}\"")),
            );
            return None;
        }
        Some(Ports {
            lo: lo as u16,
            hi: hi as u16,
        })
    }

    /// `10.0.3.10`, `10.0.3.10:80`, `fd00::1` or `[fd00::1]:80`.
    fn target(&mut self, s: &S<String>) -> Option<NatTarget> {
        let t = s.get_ref().trim();
        let parsed = if let Ok(addr) = t.parse::<IpAddr>() {
            Some((addr, None))
        } else if let Ok(sa) = t.parse::<std::net::SocketAddr>() {
            Some((sa.ip(), Some(sa.port())))
        } else {
            None
        };
        match parsed {
            Some((_, Some(0))) | None => {
                self.err(
                    s.span().start,
                    format!("`to` `{t}` is not an address with an optional port"),
                    "write 10.0.3.10, 10.0.3.10:80, fd00::1 or [fd00::1]:80".to_string(),
                );
                None
            }
            Some((addr, port)) => Some(NatTarget { addr, port }),
        }
    }

    fn rule(&mut self, spec: &S<RuleSpec>, node: &Node, ifaces: &[&str]) -> Option<Rule> {
        let r = spec.get_ref();
        let name = &node.name;
        let chain = self.word(&r.chain, "chain", CHAINS).map(|i| match i {
            0 => Chain::Input,
            1 => Chain::Forward,
            2 => Chain::Output,
            3 => Chain::Prerouting,
            _ => Chain::Postrouting,
        });
        let action = self.word(&r.action, "action", ACTIONS).map(|i| match i {
            0 => Action::Accept,
            1 => Action::Drop,
            2 => Action::Reject,
            3 => Action::Masquerade,
            4 => Action::Snat,
            _ => Action::Dnat,
        });
        let proto = r.proto.as_ref().and_then(|p| {
            self.word(p, "proto", PROTOS).map(|i| match i {
                0 => Proto::Tcp,
                1 => Proto::Udp,
                2 => Proto::Icmp,
                _ => Proto::Icmpv6,
            })
        });
        let src = r.src.as_ref().and_then(|s| self.cidr(s, "src"));
        let dst = r.dst.as_ref().and_then(|s| self.cidr(s, "dst"));
        let sport = r.sport.as_ref().and_then(|p| self.ports(p, "sport"));
        let dport = r.dport.as_ref().and_then(|p| self.ports(p, "dport"));
        let mut state = Vec::new();
        if let Some(list) = &r.state {
            if list.get_ref().is_empty() {
                self.err(
                    list.span().start,
                    "`state` is empty",
                    "list connection states, e.g. [\"established\", \"related\"], or leave `state` out".to_string(),
                );
            }
            for s in list.get_ref() {
                if let Some(i) = self.word(s, "connection state", STATES) {
                    let st = [
                        CtState::Established,
                        CtState::Related,
                        CtState::New,
                        CtState::Invalid,
                    ][i];
                    if !state.contains(&st) {
                        state.push(st);
                    }
                }
            }
        }
        let to = r.to.as_ref().and_then(|t| self.target(t));

        // Interfaces: the node's own (or lo), and only where the kernel knows them.
        for (what, v) in [("iif", &r.iif), ("oif", &r.oif)] {
            let Some(v) = v else { continue };
            let at = v.span().start;
            let i = v.get_ref().as_str();
            if i != "lo" && !ifaces.contains(&i) {
                let hint = suggest(i, ifaces).or_else(|| {
                    Some(if ifaces.is_empty() {
                        format!("{name} has no interfaces but lo")
                    } else {
                        format!("{name}'s interfaces: {}", ifaces.join(", "))
                    })
                });
                self.err(at, format!("`{what}`: {name} has no interface `{i}`"), hint);
            }
            let never = match (what, chain) {
                ("iif", Some(c @ (Chain::Output | Chain::Postrouting))) => Some((
                    c,
                    "packets there are sent by the node itself and have no input interface",
                )),
                ("oif", Some(c @ (Chain::Prerouting | Chain::Input))) => {
                    Some((c, "the output interface is not chosen yet there"))
                }
                _ => None,
            };
            if let Some((c, why)) = never {
                self.err(
                    at,
                    format!("`{what}` never matches in chain {c}: {why}"),
                    None,
                );
            }
        }

        // Ports need a transport protocol with ports.
        let has_ports = matches!(proto, Some(Proto::Tcp | Proto::Udp));
        // (An unknown proto was reported already.)
        let ports_wrong = r.proto.is_none() || proto.is_some() && !has_ports;
        for p in [&r.sport, &r.dport].into_iter().flatten() {
            if ports_wrong {
                self.err(
                    p.span().start,
                    "a port match needs `proto = \"tcp\"` or `\"udp\"`",
                    (r.proto.is_none())
                        .then(|| "add proto = \"tcp\" (or \"udp\") to the rule".to_string()),
                );
            }
        }

        // One IP family per rule: addresses, icmp flavour and NAT target must agree.
        let mut family: Option<(bool, String)> = None;
        let mut fam = |me: &mut Self, v6: bool, what: &str, at: usize| match &family {
            None => family = Some((v6, what.to_string())),
            Some((f, by)) if *f != v6 => {
                let (a, b) = if v6 {
                    ("IPv6", "IPv4")
                } else {
                    ("IPv4", "IPv6")
                };
                me.err(
                    at,
                    format!("{what} is {a}, but {by} makes this an {b} rule"),
                    "a rule matches one IP family: write a second rule for the other".to_string(),
                );
            }
            Some(_) => {}
        };
        if let (Some(c), Some(s)) = (src, &r.src) {
            fam(self, !c.is_v4(), "`src`", s.span().start);
        }
        if let (Some(c), Some(s)) = (dst, &r.dst) {
            fam(self, !c.is_v4(), "`dst`", s.span().start);
        }
        if let (Some(p @ (Proto::Icmp | Proto::Icmpv6)), Some(s)) = (proto, &r.proto) {
            fam(
                self,
                p == Proto::Icmpv6,
                &format!("proto {p}"),
                s.span().start,
            );
        }
        if let (Some(t), Some(s)) = (to, &r.to) {
            fam(self, t.addr.is_ipv6(), "the `to` address", s.span().start);
        }

        // Which chain may hold which action, and `to` exactly for snat/dnat.
        if let (Some(c), Some(a)) = (chain, action) {
            let at = r.action.span().start;
            let wrong = match a {
                Action::Masquerade | Action::Snat if c != Chain::Postrouting => {
                    Some("works in chain postrouting only (source NAT happens as packets leave)")
                }
                Action::Dnat if !matches!(c, Chain::Prerouting | Chain::Output) => {
                    Some("works in chains prerouting and output only (before the routing decision)")
                }
                Action::Reject if !matches!(c, Chain::Input | Chain::Forward | Chain::Output) => {
                    Some("works in chains input, forward and output only")
                }
                _ => None,
            };
            if let Some(why) = wrong {
                self.err(at, format!("{a} in chain {c}: {a} {why}"), None);
            }
        }
        match (action, &r.to) {
            (Some(a @ (Action::Snat | Action::Dnat)), None) => self.err(
                r.action.span().start,
                format!("{a} needs `to`, the address to translate to"),
                format!(
                    "add e.g. to = \"10.0.3.10{}\"",
                    if a == Action::Dnat { ":80" } else { "" }
                ),
            ),
            (Some(a), Some(t)) if !matches!(a, Action::Snat | Action::Dnat) => self.err(
                t.span().start,
                format!("`to` is for snat and dnat, not {a}"),
                "remove `to`".to_string(),
            ),
            _ => {}
        }
        if let (Some(NatTarget { port: Some(_), .. }), Some(t)) = (to, &r.to) {
            if !has_ports {
                self.err(
                    t.span().start,
                    "a port in `to` needs `proto = \"tcp\"` or `\"udp\"`",
                    None,
                );
            }
        }

        Some(Rule {
            chain: chain?,
            src,
            dst,
            proto,
            sport,
            dport,
            iif: r.iif.as_ref().map(|s| s.get_ref().clone()),
            oif: r.oif.as_ref().map(|s| s.get_ref().clone()),
            state,
            action: action?,
            to,
        })
    }
}

/// Check and plan the firewall of every node; `specs` is in `nodes` order. Errors go to
/// `errors`; a node with errors gets no firewall (nothing is built anyway).
pub(crate) fn resolve(
    src: &Source,
    errors: &mut Vec<LabError>,
    nodes: &mut [Node],
    links: &[Link],
    specs: Vec<Option<S<FirewallSpec>>>,
) {
    let mut ifaces: Vec<Vec<&str>> = vec![Vec::new(); nodes.len()];
    for l in links {
        for e in &l.ends {
            ifaces[e.node].push(&e.iface);
        }
    }
    let mut planned = Vec::with_capacity(nodes.len());
    for ((node, spec), ifs) in nodes.iter().zip(specs).zip(&ifaces) {
        let Some(spec) = spec else {
            planned.push(None);
            continue;
        };
        let mut ck = Check { src, errors };
        if node.kind == Kind::Switch {
            ck.err(
                spec.span().start,
                format!(
                    "switch {} has a `firewall`, but a switch has no IP layer",
                    node.name
                ),
                "put the rules on a router or host next to it".to_string(),
            );
            planned.push(None);
            continue;
        }
        let before = ck.errors.len();
        let f = spec.get_ref();
        let (input, forward, output) = (
            ck.policy(&f.input),
            ck.policy(&f.forward),
            ck.policy(&f.output),
        );
        let rules: Vec<Option<Rule>> = f.rules.iter().map(|r| ck.rule(r, node, ifs)).collect();
        planned.push((ck.errors.len() == before).then(|| Firewall {
            input,
            forward,
            output,
            rules: rules.into_iter().flatten().collect(),
        }));
    }
    for (n, f) in nodes.iter_mut().zip(planned) {
        n.firewall = f;
    }
}
