//! A node's planned firewall as nftables: one table `inet nsnet`, written in one atomic
//! batch inside the node's netns (by `build::wire`); `ops::fw` reads its counters back by the
//! rules' comments.
//!
//! Chains: `input`, `forward`, `output` (filter, priority 0, the file's policies) when they
//! have rules or a drop policy; `prerouting` (nat, dstnat -100) and `postrouting` (nat,
//! srcnat 100) when used, and `output_nat` (nat, -100) for dnat of locally sent packets.
//! Every rule has a counter and the comment `nsnet rule N` (N: its place in the file);
//! negated matches are nftables' `!=`, `nth` and `random` its numgen, `limit` and `log`
//! its own.

use nsnet_lab::firewall::{
    Action, Chain, CtState, Field, Firewall, Per, Policy, Proto, Rule, RANDOM_SCALE,
};
use nsnet_netcfg::nft::{self, Hook, Match, NftChain, NftRule};
use nsnet_netcfg::{NetError, NftSocket};

/// The nftables table of every node (family inet: IPv4 and IPv6 alike).
pub const TABLE: &str = "nsnet";
/// The comment of rule N is this followed by N (its place in the lab file, from 1).
pub const COMMENT: &str = "nsnet rule ";

/// The kernel chain a rule goes to.
fn chain_name(r: &Rule) -> &'static str {
    match (r.chain, r.action) {
        (Chain::Output, Action::Dnat) => "output_nat",
        (c, _) => match c {
            Chain::Input => "input",
            Chain::Forward => "forward",
            Chain::Output => "output",
            Chain::Prerouting => "prerouting",
            Chain::Postrouting => "postrouting",
        },
    }
}

/// The chains and rules of a planned firewall, rules in file order.
pub fn ruleset(fw: &Firewall) -> (Vec<NftChain>, Vec<NftRule>) {
    let used = |name: &str| fw.rules.iter().any(|r| chain_name(r) == name);
    let mut chains = Vec::new();
    let all = [
        ("prerouting", true, Hook::Prerouting, -100, Policy::Accept),
        ("input", false, Hook::Input, 0, fw.input),
        ("forward", false, Hook::Forward, 0, fw.forward),
        ("output", false, Hook::Output, 0, fw.output),
        ("output_nat", true, Hook::Output, -100, Policy::Accept),
        ("postrouting", true, Hook::Postrouting, 100, Policy::Accept),
    ];
    for (name, nat, hook, priority, policy) in all {
        if used(name) || policy == Policy::Drop {
            chains.push(NftChain {
                name: name.into(),
                nat,
                hook,
                priority,
                accept: policy == Policy::Accept,
            });
        }
    }
    let rules = fw
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| nft_rule(i + 1, r))
        .collect();
    (chains, rules)
}

/// Rule `n` of the file (from 1) as nftables: its matches in a fixed order, a counter, its
/// log, its action.
fn nft_rule(n: usize, r: &Rule) -> NftRule {
    let mut m = Vec::new();
    // A negated field's match, wrapped in Not.
    let mut push = |field: Option<Field>, x: Match| {
        m.push(match field {
            Some(f) if r.negated(f) => Match::Not(Box::new(x)),
            _ => x,
        })
    };
    if let Some(v6) = r.v6() {
        push(None, Match::Family(v6));
    }
    if let Some(i) = &r.iif {
        push(Some(Field::Iif), Match::IifName(i.clone()));
    }
    if let Some(o) = &r.oif {
        push(Some(Field::Oif), Match::OifName(o.clone()));
    }
    if let Some(c) = r.src {
        push(Some(Field::Src), Match::Saddr(c.addr, c.prefix));
    }
    if let Some(c) = r.dst {
        push(Some(Field::Dst), Match::Daddr(c.addr, c.prefix));
    }
    if let Some(p) = r.proto {
        let n = match p {
            Proto::Tcp => libc::IPPROTO_TCP,
            Proto::Udp => libc::IPPROTO_UDP,
            Proto::Icmp => libc::IPPROTO_ICMP,
            Proto::Icmpv6 => libc::IPPROTO_ICMPV6,
        };
        push(Some(Field::Proto), Match::L4Proto(n as u8));
    }
    if let Some(p) = r.sport {
        push(Some(Field::Sport), Match::Sport(p.lo, p.hi));
    }
    if let Some(p) = r.dport {
        push(Some(Field::Dport), Match::Dport(p.lo, p.hi));
    }
    if !r.state.is_empty() {
        let bits = r.state.iter().fold(0, |b, s| {
            b | match s {
                CtState::Established => nft::CT_ESTABLISHED,
                CtState::Related => nft::CT_RELATED,
                CtState::New => nft::CT_NEW,
                CtState::Invalid => nft::CT_INVALID,
            }
        });
        push(None, Match::CtState(bits));
    }
    // Packets are picked and rate-limited after every other match: a round, a chance and
    // a bucket count only the packets the rule is about.
    if let Some(nth) = r.nth {
        push(
            None,
            Match::Nth {
                every: nth.every,
                packet: nth.packet,
            },
        );
    }
    if let Some(below) = r.random {
        push(
            None,
            Match::Random {
                modulus: RANDOM_SCALE,
                below,
            },
        );
    }
    if let Some(l) = r.limit {
        let per = match l.per {
            Per::Second => nft::Per::Second,
            Per::Minute => nft::Per::Minute,
            Per::Hour => nft::Per::Hour,
            Per::Day => nft::Per::Day,
            Per::Week => nft::Per::Week,
        };
        push(
            None,
            Match::Limit {
                rate: u64::from(l.rate),
                per,
                burst: l.burst,
            },
        );
    }
    let to = r.to.map(|t| (t.addr, t.port));
    let action = match (r.action, to) {
        (Action::Accept, _) => nft::Action::Accept,
        (Action::Drop, _) => nft::Action::Drop,
        (Action::Reject, _) if r.only_proto() == Some(Proto::Tcp) => nft::Action::RejectTcpReset,
        (Action::Reject, _) => nft::Action::Reject,
        (Action::Masquerade, _) => nft::Action::Masquerade,
        (Action::Snat, Some((a, p))) => nft::Action::Snat(a, p),
        (Action::Dnat, Some((a, p))) => nft::Action::Dnat(a, p),
        (Action::Log, _) => nft::Action::Continue,
        // The planner requires `to` for snat/dnat.
        (Action::Snat | Action::Dnat, None) => nft::Action::Accept,
    };
    NftRule {
        chain: chain_name(r).into(),
        matches: m,
        log: r.log.clone(),
        action,
        comment: format!("{COMMENT}{n}"),
        desc: format!("rule {n} ({} {r})", r.chain),
    }
}

/// Write the firewall into the calling thread's netns, all or nothing.
pub fn apply(fw: &Firewall) -> Result<(), Vec<NetError>> {
    let (chains, rules) = ruleset(fw);
    let mut sock = NftSocket::open().map_err(|e| vec![e])?;
    sock.apply(TABLE, &chains, &rules)
}
