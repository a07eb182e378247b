//! A node's `[nodes.X.firewall]`: checked value by value with file:line:column into a
//! `Firewall`. Everything decidable without the kernel is decided here: a rule's IP family,
//! which chain may hold which action, which interfaces exist.

use super::addr::network_only;
use super::names::suggest;
use super::resolve::Resolver;
use super::{Link, Node};
use crate::cidr::Cidr;
use crate::error::Invalid;
use crate::firewall::{
    Action, Chain, CtState, Field, Firewall, Limit, NatTarget, Nth, Per, Policy, Ports, Proto,
    Rule, DEFAULT_BURST, RANDOM_SCALE,
};
use crate::spec::{FirewallSpec, NthSpec, NumSpec, PortSpec, RuleSpec, S};
use crate::values::{Kind, Word};
use std::net::IpAddr;

impl Resolver {
    /// One of the values of `T`, by its word.
    fn word<T: Word>(&mut self, s: &S<String>, what: &str) -> Option<T> {
        self.check(s.span().start, parse_word(s.get_ref(), what))
    }

    fn policy(&mut self, p: &Option<S<String>>) -> Policy {
        p.as_ref()
            .and_then(|p| self.word(p, "policy"))
            .unwrap_or(Policy::Accept)
    }

    /// A rule: each value parsed where it is written, then checked against the others.
    fn rule(&mut self, spec: &S<RuleSpec>, node: &Node, ifaces: &[&str]) -> Option<Rule> {
        let r = spec.get_ref();
        let mut not = Vec::new();
        let chain: Option<Chain> = self.word(&r.chain, "chain");
        let action: Option<Action> = self.word(&r.action, "action");
        let proto: Option<Proto> = r.proto.as_ref().and_then(|p| {
            let t = self.negatable(p, Field::Proto, &mut not)?;
            self.check(p.span().start, parse_word(t, "proto"))
        });
        let src = r
            .src
            .as_ref()
            .and_then(|s| self.net(s, Field::Src, &mut not));
        let dst = r
            .dst
            .as_ref()
            .and_then(|s| self.net(s, Field::Dst, &mut not));
        let ports = |me: &mut Self, p: &S<PortSpec>, f, not: &mut Vec<Field>| {
            let (negated, parsed) = parse_ports(p.get_ref(), f);
            if negated {
                not.push(f);
            }
            me.check(p.span().start, parsed)
        };
        let sport = r
            .sport
            .as_ref()
            .and_then(|p| ports(self, p, Field::Sport, &mut not));
        let dport = r
            .dport
            .as_ref()
            .and_then(|p| ports(self, p, Field::Dport, &mut not));
        let iif = r
            .iif
            .as_ref()
            .and_then(|i| self.negatable(i, Field::Iif, &mut not));
        let oif = r
            .oif
            .as_ref()
            .and_then(|o| self.negatable(o, Field::Oif, &mut not));
        let state = self.states(&r.state);
        let to =
            r.to.as_ref()
                .and_then(|t| self.check(t.span().start, parse_nat_target(t.get_ref())));
        let nth = r.nth.as_ref().and_then(|n| self.nth(n));
        let random = r
            .random
            .as_ref()
            .and_then(|p| self.check(p.span().start, parse_probability(p.get_ref())));
        let limit = self.limit(r);
        let log = self.log(r, action);

        let negated = |f| not.contains(&f);
        let only_proto = proto.filter(|_| !negated(Field::Proto));
        let at = |s: &Option<S<String>>| s.as_ref().map_or(0, |s| s.span().start);
        let ifs = [
            (Field::Iif, iif.map(|i| (i, at(&r.iif)))),
            (Field::Oif, oif.map(|o| (o, at(&r.oif)))),
        ];
        self.rule_interfaces(ifs, &not, chain, &node.name, ifaces);
        self.rule_ports_need_proto(r, proto, negated(Field::Proto));
        self.rule_one_family(r, src, dst, only_proto, to);
        self.rule_action_fits(r, chain, action, only_proto, to);
        if let (Some(_), Some(p)) = (nth, &r.random) {
            self.err(
                p.span().start,
                "`nth` and `random` both pick packets: a rule takes one of them",
                "write one rule with `nth` (every Nth packet) or `random` (by chance)".to_string(),
            );
        }

        not.sort();
        Some(Rule {
            chain: chain?,
            src,
            dst,
            proto,
            sport,
            dport,
            iif: iif.map(str::to_string),
            oif: oif.map(str::to_string),
            state,
            action: action?,
            to,
            not,
            nth,
            random,
            limit,
            log,
        })
    }

    /// A value that `!` may negate: the text after it (and after blanks), with `field`
    /// noted in `not`; None, reported, when nothing follows the `!`.
    fn negatable<'a>(
        &mut self,
        s: &'a S<String>,
        field: Field,
        not: &mut Vec<Field>,
    ) -> Option<&'a str> {
        let Some(rest) = s.get_ref().strip_prefix('!') else {
            return Some(s.get_ref().as_str());
        };
        let rest = rest.trim_start();
        if rest.is_empty() {
            self.err(
                s.span().start,
                format!("`{field}` = \"!\" negates nothing"),
                format!(
                    "write what the rule must not match after the `!`, e.g. {field} = \"!{}\"",
                    example(field)
                ),
            );
            return None;
        }
        not.push(field);
        Some(rest)
    }

    /// `src`/`dst`, maybe negated; a negated /0 would match no packet at all.
    fn net(&mut self, s: &S<String>, field: Field, not: &mut Vec<Field>) -> Option<Cidr> {
        let t = self.negatable(s, field, not)?;
        let c = self.check(s.span().start, parse_net(t, field.word()))?;
        if c.prefix == 0 && not.contains(&field) {
            self.err(
                s.span().start,
                format!("`{field}` = \"!{c}\" matches no packet: every address is in {c}"),
                format!("remove the rule, or `{field}` to match every address"),
            );
        }
        Some(c)
    }

    /// `nth = { every = N, packet = P }`: 2 or more packets a round, P below N.
    fn nth(&mut self, n: &S<NthSpec>) -> Option<Nth> {
        let spec = n.get_ref();
        let every = *spec.every.get_ref();
        let at = spec.every.span().start;
        if every == 1 {
            self.err(
                at,
                "`nth` with every = 1 matches every packet",
                "leave `nth` out, or pick one packet in 2 or more: every = 2".to_string(),
            );
            return None;
        }
        if !(2..=i64::from(u32::MAX)).contains(&every) {
            self.err(
                at,
                format!("`every` = {every}: a round is 2 to {} packets", u32::MAX),
                "e.g. nth = { every = 3, packet = 0 } matches the first of every 3 packets"
                    .to_string(),
            );
            return None;
        }
        let packet = spec.packet.as_ref().map_or(0, |p| *p.get_ref());
        if !(0..every).contains(&packet) {
            let at = spec
                .packet
                .as_ref()
                .map_or(n.span().start, |p| p.span().start);
            self.err(
                at,
                format!("`packet` = {packet} is not one of a round of {every}"),
                format!("packets of a round are numbered 0 to {}", every - 1),
            );
            return None;
        }
        Some(Nth {
            every: every as u32,
            packet: packet as u32,
        })
    }

    /// `limit = "RATE/UNIT"` and its `burst`, which the kernel's token bucket must hold.
    fn limit(&mut self, r: &RuleSpec) -> Option<Limit> {
        let Some(l) = &r.limit else {
            if let Some(b) = &r.burst {
                self.err(
                    b.span().start,
                    "`burst` is for `limit`, and the rule has none",
                    "add a rate, e.g. limit = \"10/second\", or remove `burst`".to_string(),
                );
            }
            return None;
        };
        let (rate, per) = self.check(l.span().start, parse_rate(l.get_ref()))?;
        let burst = match &r.burst {
            None => DEFAULT_BURST,
            Some(b) => {
                let v = *b.get_ref();
                if !(1..=i64::from(u32::MAX)).contains(&v) {
                    self.err(
                        b.span().start,
                        format!("`burst` = {v}: a burst is 1 or more packets"),
                        format!("leave `burst` out for the default, {DEFAULT_BURST}"),
                    );
                    return None;
                }
                v as u32
            }
        };
        // The kernel's bucket holds burst × (ns per packet) in a u64 (nft_limit_init).
        let ns = u128::from(per.seconds()) * 1_000_000_000 / u128::from(rate);
        if ns * u128::from(burst) > u128::from(u64::MAX) {
            let at = r.burst.as_ref().map_or(l.span().start, |b| b.span().start);
            self.err(
                at,
                format!("a burst of {burst} at {rate}/{per} is more than the kernel's token bucket holds"),
                "lower `burst`, or give the rate per a shorter time".to_string(),
            );
            return None;
        }
        Some(Limit { rate, per, burst })
    }

    /// `log = "PREFIX"`, or `action = "log"` alone (no prefix): a prefix the kernel takes.
    fn log(&mut self, r: &RuleSpec, action: Option<Action>) -> Option<String> {
        let Some(l) = &r.log else {
            return (action == Some(Action::Log)).then(String::new);
        };
        let (p, at) = (l.get_ref(), l.span().start);
        let bad = if p.is_empty() {
            Some((
                "`log` is empty".to_string(),
                "give a prefix, e.g. log = \"fw drop: \", or for lines without one leave `log` out and write action = \"log\"".to_string(),
            ))
        } else if p.len() > MAX_LOG_PREFIX {
            Some((
                format!(
                    "the `log` prefix is {} bytes; the kernel takes {MAX_LOG_PREFIX}",
                    p.len()
                ),
                "shorten it".to_string(),
            ))
        } else if p.chars().any(char::is_control) {
            Some((
                "the `log` prefix has a control character".to_string(),
                "write it on one line, in printable characters".to_string(),
            ))
        } else {
            None
        };
        if let Some((msg, hint)) = bad {
            self.err(at, msg, hint);
            return None;
        }
        Some(p.clone())
    }

    /// `state = [...]`: connection states, each once.
    fn states(&mut self, list: &Option<S<Vec<S<String>>>>) -> Vec<CtState> {
        let mut state = Vec::new();
        let Some(list) = list else {
            return state;
        };
        if list.get_ref().is_empty() {
            self.err(
                list.span().start,
                "`state` is empty",
                "list connection states, e.g. [\"established\", \"related\"], or leave `state` out"
                    .to_string(),
            );
        }
        for s in list.get_ref() {
            if let Some(st) = self.word::<CtState>(s, "connection state") {
                if !state.contains(&st) {
                    state.push(st);
                }
            }
        }
        state
    }

    /// `iif` and `oif`: the node's own interfaces (or lo), and only in chains where the
    /// kernel knows them; each by its name as parsed (without a `!`) and where it is.
    fn rule_interfaces(
        &mut self,
        ifs: [(Field, Option<(&str, usize)>); 2],
        not: &[Field],
        chain: Option<Chain>,
        name: &str,
        ifaces: &[&str],
    ) {
        for (what, i) in ifs {
            let Some((i, at)) = i else { continue };
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
                (Field::Iif, Some(c @ (Chain::Output | Chain::Postrouting))) => Some((
                    c,
                    "packets there are sent by the node itself and have no input interface",
                )),
                (Field::Oif, Some(c @ (Chain::Prerouting | Chain::Input))) => {
                    Some((c, "the output interface is not chosen yet there"))
                }
                _ => None,
            };
            if let Some((c, why)) = never {
                let does = if not.contains(&what) {
                    "matches every packet"
                } else {
                    "never matches"
                };
                self.err(at, format!("`{what}` {does} in chain {c}: {why}"), None);
            }
        }
    }

    /// Ports need a transport protocol with ports (one, not all but one).
    fn rule_ports_need_proto(&mut self, r: &RuleSpec, proto: Option<Proto>, negated: bool) {
        // (An unknown proto was reported already.)
        let ports_wrong = r.proto.is_none() || proto.is_some() && (negated || !has_ports(proto));
        for p in [&r.sport, &r.dport].into_iter().flatten() {
            if ports_wrong {
                let hint = if r.proto.is_none() {
                    Some("add proto = \"tcp\" (or \"udp\") to the rule".to_string())
                } else if negated {
                    Some(
                        "a negated `proto` matches protocols without ports too: name one"
                            .to_string(),
                    )
                } else {
                    None
                };
                self.err(
                    p.span().start,
                    "a port match needs `proto = \"tcp\"` or `\"udp\"`",
                    hint,
                );
            }
        }
    }

    /// One IP family per rule: addresses, icmp flavour and NAT target must agree with the
    /// first of them.
    fn rule_one_family(
        &mut self,
        r: &RuleSpec,
        src: Option<Cidr>,
        dst: Option<Cidr>,
        proto: Option<Proto>,
        to: Option<NatTarget>,
    ) {
        // (is IPv6, what says so, where)
        let mut claims: Vec<(bool, String, usize)> = Vec::new();
        if let (Some(c), Some(s)) = (src, &r.src) {
            claims.push((!c.is_v4(), "`src`".into(), s.span().start));
        }
        if let (Some(c), Some(s)) = (dst, &r.dst) {
            claims.push((!c.is_v4(), "`dst`".into(), s.span().start));
        }
        if let (Some(p @ (Proto::Icmp | Proto::Icmpv6)), Some(s)) = (proto, &r.proto) {
            claims.push((p == Proto::Icmpv6, format!("proto {p}"), s.span().start));
        }
        if let (Some(t), Some(s)) = (to, &r.to) {
            claims.push((t.addr.is_ipv6(), "the `to` address".into(), s.span().start));
        }
        let Some(((first_v6, by, _), rest)) = claims.split_first() else {
            return;
        };
        for (v6, what, at) in rest {
            if v6 == first_v6 {
                continue;
            }
            let (a, b) = if *v6 {
                ("IPv6", "IPv4")
            } else {
                ("IPv4", "IPv6")
            };
            self.err(
                *at,
                format!("{what} is {a}, but {by} makes this an {b} rule"),
                "a rule matches one IP family: write a second rule for the other".to_string(),
            );
        }
    }

    /// Which chain may hold which action, and `to` exactly for snat/dnat (with a port only
    /// for tcp or udp).
    fn rule_action_fits(
        &mut self,
        r: &RuleSpec,
        chain: Option<Chain>,
        action: Option<Action>,
        proto: Option<Proto>,
        to: Option<NatTarget>,
    ) {
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
            if !has_ports(proto) {
                self.err(
                    t.span().start,
                    "a port in `to` needs `proto = \"tcp\"` or `\"udp\"`",
                    None,
                );
            }
        }
    }

    /// Check and plan the firewall of every node; `specs` is in `nodes` order. A node with
    /// errors gets no firewall (nothing is built anyway).
    pub(super) fn firewalls(
        &mut self,
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
            if node.kind == Kind::Switch {
                self.err(
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
            let before = self.errors.len();
            let f = spec.get_ref();
            let (input, forward, output) = (
                self.policy(&f.input),
                self.policy(&f.forward),
                self.policy(&f.output),
            );
            let rules: Vec<Option<Rule>> =
                f.rules.iter().map(|r| self.rule(r, node, ifs)).collect();
            planned.push((self.errors.len() == before).then(|| Firewall {
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
}

/// True for the protocols with ports.
fn has_ports(proto: Option<Proto>) -> bool {
    matches!(proto, Some(Proto::Tcp | Proto::Udp))
}

/// One of the values of `T` by its word (`what` names it: "chain"), else a "did you mean".
fn parse_word<T: Word>(w: &str, what: &str) -> Result<T, Invalid> {
    if let Some(v) = T::from_word(w) {
        return Ok(v);
    }
    let words = T::words();
    let list = words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Invalid {
        message: format!("unknown {what} `{w}`"),
        hint: suggest(w, &words).or(Some(format!("use one of {list}"))),
    })
}

/// `src`/`dst`: `10.0.1.0/24` or a bare address (one host).
fn parse_net(text: &str, what: &str) -> Result<Cidr, Invalid> {
    let c = if text.contains('/') {
        text.parse::<Cidr>()
            .map_err(|e| Invalid::new(format!("`{what}`: malformed CIDR: {e}")))?
    } else {
        let a = text.parse::<IpAddr>().map_err(|_| {
            Invalid::new(format!("`{what}` `{text}` is not an address or network"))
                .hint("write a network (10.0.1.0/24, fd00:1::/64) or one address")
        })?;
        Cidr {
            addr: a,
            prefix: if a.is_ipv4() { 32 } else { 128 },
        }
    };
    network_only(c, &format!("`{what}`"))
}

/// `sport`/`dport`: `22` or `"8000-8080"`, maybe negated (`"!22"`); whether it is, and
/// the ports.
fn parse_ports(p: &PortSpec, what: Field) -> (bool, Result<Ports, Invalid>) {
    match p {
        PortSpec::Text(t) => match t.strip_prefix('!') {
            Some(rest) => (true, ports(&PortSpec::Text(rest.trim_start().into()), what)),
            None => (false, ports(p, what)),
        },
        PortSpec::Num(_) => (false, ports(p, what)),
    }
}

fn ports(p: &PortSpec, what: Field) -> Result<Ports, Invalid> {
    let hint = format!(
        "write a port (`{what} = 22`), a range (`{what} = \"8000-8080\"`) or either negated (`{what} = \"!22\"`)"
    );
    let one = |s: &str| s.trim().parse::<i64>().ok();
    let (lo, hi) = match p {
        PortSpec::Num(n) => (Some(*n), Some(*n)),
        PortSpec::Text(t) => match t.split_once('-') {
            Some((a, b)) => (one(a), one(b)),
            None => (one(t), one(t)),
        },
    };
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Err(Invalid::new(format!("`{what}` is not a port or a port range")).hint(hint));
    };
    if !(1..=65535).contains(&lo) || !(1..=65535).contains(&hi) {
        return Err(Invalid::new(format!("`{what}`: ports are 1 to 65535")).hint(hint));
    }
    if lo > hi {
        return Err(
            Invalid::new(format!("`{what}`: the range {lo}-{hi} is empty"))
                .hint(format!("write the lower port first: \"{hi}-{lo}\"")),
        );
    }
    Ok(Ports {
        lo: lo as u16,
        hi: hi as u16,
    })
}

/// The longest log prefix the kernel takes (NF_LOG_PREFIXLEN, less its NUL).
const MAX_LOG_PREFIX: usize = 127;

/// What a field looks like, for hints.
fn example(f: Field) -> &'static str {
    match f {
        Field::Src | Field::Dst => "10.0.0.0/8",
        Field::Proto => "tcp",
        Field::Sport | Field::Dport => "22",
        Field::Iif | Field::Oif => "eth0",
    }
}

/// `random = P`: a probability strictly between 0 and 1, in millionths.
fn parse_probability(p: &NumSpec) -> Result<u32, Invalid> {
    let hint = "write the chance a packet matches, e.g. random = 0.5 for half of them";
    let v = match p {
        NumSpec::Float(f) => *f,
        NumSpec::Int(i) => *i as f64,
        NumSpec::Text(t) => {
            return Err(Invalid::new(format!("`random` = {t:?} is not a number")).hint(hint))
        }
    };
    if !(v > 0.0 && v < 1.0) {
        return Err(Invalid::new(format!(
            "`random` = {v} is no probability between 0 and 1: it would match {}",
            if v >= 1.0 {
                "every packet"
            } else {
                "no packet"
            }
        ))
        .hint(hint));
    }
    let ppm = (v * f64::from(RANDOM_SCALE)).round() as u32;
    if ppm == 0 || ppm == RANDOM_SCALE {
        return Err(Invalid::new(format!(
            "`random` = {v} is within a millionth of {}",
            if ppm == 0 { 0 } else { 1 }
        ))
        .hint("probabilities are kept in millionths: write one from 0.000001 to 0.999999"));
    }
    Ok(ppm)
}

/// `limit`: `RATE/UNIT`, the unit a second, minute, hour, day or week (or as iptables
/// abbreviates them: s, sec, m, min, h, d).
fn parse_rate(t: &str) -> Result<(u32, Per), Invalid> {
    let hint = "write packets per second, minute, hour, day or week, e.g. limit = \"10/second\"";
    let Some((n, unit)) = t.split_once('/') else {
        return Err(Invalid::new(format!("`limit` = {t:?} is not a rate")).hint(hint));
    };
    let per = match unit.trim() {
        "second" | "sec" | "s" => Per::Second,
        "minute" | "min" | "m" => Per::Minute,
        "hour" | "h" => Per::Hour,
        "day" | "d" => Per::Day,
        "week" | "w" => Per::Week,
        u => {
            let known = ["second", "minute", "hour", "day", "week"];
            return Err(Invalid::new(format!("`limit`: unknown time unit `{u}`"))
                .hint(suggest(u, &known).unwrap_or_else(|| hint.to_string())));
        }
    };
    match n.trim().parse::<u32>() {
        Ok(rate) if rate > 0 => Ok((rate, per)),
        _ => Err(Invalid::new(format!(
            "`limit`: the rate `{}` is not a number of packets, 1 or more",
            n.trim()
        ))
        .hint(hint)),
    }
}

/// `to`: `10.0.3.10`, `10.0.3.10:80`, `fd00::1` or `[fd00::1]:80`.
fn parse_nat_target(t: &str) -> Result<NatTarget, Invalid> {
    let t = t.trim();
    let parsed = if let Ok(addr) = t.parse::<IpAddr>() {
        Some((addr, None))
    } else if let Ok(sa) = t.parse::<std::net::SocketAddr>() {
        Some((sa.ip(), Some(sa.port())))
    } else {
        None
    };
    match parsed {
        Some((_, Some(0))) | None => Err(Invalid::new(format!(
            "`to` `{t}` is not an address with an optional port"
        ))
        .hint("write 10.0.3.10, 10.0.3.10:80, fd00::1 or [fd00::1]:80")),
        Some((addr, port)) => Ok(NatTarget { addr, port }),
    }
}
