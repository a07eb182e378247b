//! A node's firewall as checked and planned: iptables-style chain policies and rules, plain
//! data that `core` turns into nftables rules. The lab file's `[nodes.X.firewall]` is
//! checked into it by `model` (everything decidable without the kernel: a rule's IP family,
//! which chain may hold which action, which interfaces exist). Beyond iptables' basic
//! matches a rule may negate them (`!`), pick packets as `-m statistic` does (`nth`,
//! `random`), rate-limit them (`limit`) and log them (`log`).

use crate::cidr::Cidr;
use crate::values::Word;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// A node's firewall as planned: chain policies and rules in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firewall {
    /// What happens to packets for the node that no rule decides.
    pub input: Policy,
    /// What happens to packets the node routes that no rule decides.
    pub forward: Policy,
    /// What happens to packets the node sends that no rule decides.
    pub output: Policy,
    /// In file order: the first that matches decides.
    pub rules: Vec<Rule>,
}

/// A chain's verdict for the packets no rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Let them through (the default).
    Accept,
    /// Drop them silently.
    Drop,
}

/// Where in the kernel's path a rule applies (netfilter's hooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Chain {
    /// Packets for the node itself.
    Input,
    /// Packets the node routes from one interface to another.
    Forward,
    /// Packets the node sends.
    Output,
    /// Packets as they arrive, before routing: destination NAT.
    Prerouting,
    /// Packets as they leave, after routing: source NAT.
    Postrouting,
}

/// The protocol a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP (ports can be matched).
    Tcp,
    /// UDP (ports can be matched).
    Udp,
    /// ICMP: makes the rule IPv4.
    Icmp,
    /// ICMPv6: makes the rule IPv6.
    Icmpv6,
}

/// A connection-tracking state a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CtState {
    /// Part of a connection that has seen packets both ways.
    Established,
    /// Opening a connection tied to another (an ICMP error, an FTP data connection).
    Related,
    /// Opening a new connection.
    New,
    /// Belonging to no connection the kernel knows.
    Invalid,
}

/// What a rule does with the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let it through.
    Accept,
    /// Drop it silently.
    Drop,
    /// Drop it and tell the sender (TCP reset, ICMP unreachable).
    Reject,
    /// Source NAT to the address of the interface it leaves by.
    Masquerade,
    /// Source NAT to `to`.
    Snat,
    /// Destination NAT to `to`.
    Dnat,
    /// Only log it (the rule's `log` prefix, if any); the next rule decides.
    Log,
}

/// A match a rule may negate (`dst = "!10.0.0.0/8"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// `src`.
    Src,
    /// `dst`.
    Dst,
    /// `proto`.
    Proto,
    /// `sport`.
    Sport,
    /// `dport`.
    Dport,
    /// `iif`.
    Iif,
    /// `oif`.
    Oif,
}

/// One packet in `every`, counted by the rule itself (iptables' `-m statistic --mode nth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nth {
    /// Packets in a round: 2 or more.
    pub every: u32,
    /// Which one of each round matches, from 0, below `every`.
    pub packet: u32,
}

/// The time unit of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
    /// Per day.
    Day,
    /// Per week.
    Week,
}

impl Per {
    /// The unit in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            Per::Second => 1,
            Per::Minute => 60,
            Per::Hour => 3600,
            Per::Day => 86400,
            Per::Week => 604800,
        }
    }
}

/// Packets up to a rate, with a burst (a token bucket, iptables' `-m limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// Packets per `per`.
    pub rate: u32,
    /// The rate's time unit.
    pub per: Per,
    /// Packets that may pass at once when the bucket is full.
    pub burst: u32,
}

/// The burst of a `limit` without one (nft's and iptables' default).
pub const DEFAULT_BURST: u32 = 5;
/// A `random` probability is kept in millionths.
pub const RANDOM_SCALE: u32 = 1_000_000;

/// An inclusive port range (`lo == hi`: one port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    /// The first port.
    pub lo: u16,
    /// The last port, `lo` or above.
    pub hi: u16,
}

/// Where snat/dnat send a connection: an address and optionally a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatTarget {
    /// The address to translate to.
    pub addr: IpAddr,
    /// The port to translate to (tcp and udp only); None keeps the port.
    pub port: Option<u16>,
}

/// One firewall rule: what it matches (every field given must match) and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The chain that holds it.
    pub chain: Chain,
    /// Source network (a host is a /32 or /128).
    pub src: Option<Cidr>,
    /// Destination network.
    pub dst: Option<Cidr>,
    /// Protocol.
    pub proto: Option<Proto>,
    /// Source ports (tcp and udp only).
    pub sport: Option<Ports>,
    /// Destination ports (tcp and udp only).
    pub dport: Option<Ports>,
    /// The interface the packet came in by.
    pub iif: Option<String>,
    /// The interface the packet leaves by.
    pub oif: Option<String>,
    /// Connection states, any of which matches; empty: any state.
    pub state: Vec<CtState>,
    /// What to do with a match.
    pub action: Action,
    /// Where snat and dnat translate to.
    pub to: Option<NatTarget>,
    /// The matches written negated, in `Field` order: the rule matches what they do not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not: Vec<Field>,
    /// One packet in N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<Nth>,
    /// Each packet with this probability, in millionths (1 to 999999).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<u32>,
    /// Packets up to a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// Log each packet it matches to the kernel log with this prefix ("": none), before
    /// the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

impl Rule {
    /// Whether the match on `f` is negated.
    pub fn negated(&self, f: Field) -> bool {
        self.not.contains(&f)
    }

    /// The protocol the rule is limited to: its `proto` unless negated.
    pub fn only_proto(&self) -> Option<Proto> {
        self.proto.filter(|_| !self.negated(Field::Proto))
    }

    /// The IP family the rule is limited to (true: IPv6) by its addresses or `to`; None
    /// when it applies to both.
    pub fn v6(&self) -> Option<bool> {
        self.src
            .map(|c| !c.is_v4())
            .or(self.dst.map(|c| !c.is_v4()))
            .or(self.to.map(|t| t.addr.is_ipv6()))
    }
}

macro_rules! words {
    ($($t:ident { $($v:ident => $w:literal),+ $(,)? })+) => {$(
        impl Word for $t {
            const ALL: &'static [$t] = &[$($t::$v),+];
            fn word(self) -> &'static str {
                match self {
                    $($t::$v => $w),+
                }
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.word())
            }
        }
    )+};
}

words! {
    Policy { Accept => "accept", Drop => "drop" }
    Chain {
        Input => "input",
        Forward => "forward",
        Output => "output",
        Prerouting => "prerouting",
        Postrouting => "postrouting",
    }
    Proto { Tcp => "tcp", Udp => "udp", Icmp => "icmp", Icmpv6 => "icmpv6" }
    CtState {
        Established => "established",
        Related => "related",
        New => "new",
        Invalid => "invalid",
    }
    Action {
        Accept => "accept",
        Drop => "drop",
        Reject => "reject",
        Masquerade => "masquerade",
        Snat => "snat",
        Dnat => "dnat",
        Log => "log",
    }
    Field {
        Src => "src",
        Dst => "dst",
        Proto => "proto",
        Sport => "sport",
        Dport => "dport",
        Iif => "iif",
        Oif => "oif",
    }
    Per {
        Second => "second",
        Minute => "minute",
        Hour => "hour",
        Day => "day",
        Week => "week",
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

/// Millionths as a probability: 250000 → `0.25`.
fn probability(ppm: u32) -> String {
    let s = format!("{:06}", ppm);
    format!("0.{}", s.trim_end_matches('0'))
}

/// A prefix, or a bare address for a single host.
fn net(c: &Cidr) -> String {
    if c.prefix == c.max_prefix() {
        c.addr.to_string()
    } else {
        c.to_string()
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} burst {}", self.rate, self.per, self.burst)
    }
}

/// The rule without its chain, negated matches marked `!`:
/// `iif eth0 tcp 10.0.1.0/24 -> !10.0.3.0/24 dport 22 limit 10/second burst 5 log "ssh: " accept`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = |field| if self.negated(field) { "!" } else { "" };
        let mut parts: Vec<String> = Vec::new();
        if let Some(i) = &self.iif {
            parts.push(format!("iif {}{i}", not(Field::Iif)));
        }
        if let Some(o) = &self.oif {
            parts.push(format!("oif {}{o}", not(Field::Oif)));
        }
        if let Some(p) = self.proto {
            parts.push(format!("{}{p}", not(Field::Proto)));
        }
        match (&self.src, &self.dst) {
            (None, None) => {}
            (s, d) => parts.push(format!(
                "{}{} -> {}{}",
                not(Field::Src),
                s.as_ref().map_or("any".into(), net),
                not(Field::Dst),
                d.as_ref().map_or("any".into(), net)
            )),
        }
        if let Some(p) = self.sport {
            parts.push(format!("sport {}{p}", not(Field::Sport)));
        }
        if let Some(p) = self.dport {
            parts.push(format!("dport {}{p}", not(Field::Dport)));
        }
        if !self.state.is_empty() {
            let s: Vec<String> = self.state.iter().map(|s| s.to_string()).collect();
            parts.push(format!("state {}", s.join(",")));
        }
        if let Some(n) = self.nth {
            parts.push(format!("nth every {} packet {}", n.every, n.packet));
        }
        if let Some(p) = self.random {
            parts.push(format!("random {}", probability(p)));
        }
        if let Some(l) = self.limit {
            parts.push(format!("limit {l}"));
        }
        match self.log.as_deref() {
            Some("") => parts.push("log".into()),
            Some(p) => parts.push(format!("log {p:?}")),
            None => {}
        }
        if self.action != Action::Log {
            parts.push(self.action.to_string());
        }
        if let Some(t) = &self.to {
            parts.push(format!("to {t}"));
        }
        f.write_str(&parts.join(" "))
    }
}
