//! A node's planned firewall as nftables: one table `inet nsnet`, written in one atomic
//! batch inside the node's netns (by `wire`), and its rules' counters read back for
//! `nsnet fw`.
//!
//! Chains: `input`, `forward`, `output` (filter, priority 0, the file's policies) when they
//! have rules or a drop policy; `prerouting` (nat, dstnat -100) and `postrouting` (nat,
//! srcnat 100) when used, and `output_nat` (nat, -100) for dnat of locally sent packets.
//! Every rule has a counter and the comment `nsnet rule N` (N: its place in the file).

use crate::state::{LabState, StateError};
use nsnet_lab::firewall::{Action, Chain, CtState, Firewall, Policy, Proto, Rule};
use nsnet_netcfg::nft::{self, Hook, Match, NftChain, NftRule};
use nsnet_netcfg::{in_netns, NetError, Netns, NftSocket};

/// The nftables table of every node (family inet: IPv4 and IPv6 alike).
pub const TABLE: &str = "nsnet";
const COMMENT: &str = "nsnet rule ";

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

fn nft_rule(n: usize, r: &Rule) -> NftRule {
    let mut m = Vec::new();
    if let Some(v6) = r.v6() {
        m.push(Match::Family(v6));
    }
    if let Some(i) = &r.iif {
        m.push(Match::IifName(i.clone()));
    }
    if let Some(o) = &r.oif {
        m.push(Match::OifName(o.clone()));
    }
    if let Some(c) = r.src {
        m.push(Match::Saddr(c.addr, c.prefix));
    }
    if let Some(c) = r.dst {
        m.push(Match::Daddr(c.addr, c.prefix));
    }
    if let Some(p) = r.proto {
        m.push(Match::L4Proto(match p {
            Proto::Tcp => libc::IPPROTO_TCP as u8,
            Proto::Udp => libc::IPPROTO_UDP as u8,
            Proto::Icmp => libc::IPPROTO_ICMP as u8,
            Proto::Icmpv6 => libc::IPPROTO_ICMPV6 as u8,
        }));
    }
    if let Some(p) = r.sport {
        m.push(Match::Sport(p.lo, p.hi));
    }
    if let Some(p) = r.dport {
        m.push(Match::Dport(p.lo, p.hi));
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
        m.push(Match::CtState(bits));
    }
    let to = r.to.map(|t| (t.addr, t.port));
    let action = match (r.action, to) {
        (Action::Accept, _) => nft::Action::Accept,
        (Action::Drop, _) => nft::Action::Drop,
        (Action::Reject, _) if r.proto == Some(Proto::Tcp) => nft::Action::RejectTcpReset,
        (Action::Reject, _) => nft::Action::Reject,
        (Action::Masquerade, _) => nft::Action::Masquerade,
        (Action::Snat, Some((a, p))) => nft::Action::Snat(a, p),
        (Action::Dnat, Some((a, p))) => nft::Action::Dnat(a, p),
        // The planner requires `to` for snat/dnat.
        (Action::Snat | Action::Dnat, None) => nft::Action::Accept,
    };
    NftRule {
        chain: chain_name(r).into(),
        matches: m,
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

/// A planned rule with what the kernel counted for it (None: the kernel has no such rule).
#[derive(Debug, Clone)]
pub struct RuleCount {
    pub rule: Rule,
    pub counts: Option<(u64, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum FwError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Enter(#[from] crate::enter::EnterError),
    #[error("{node}: {source}")]
    Net { node: String, source: NetError },
}

/// The firewall of a running node: its plan, and each rule's packets and bytes as the
/// kernel counts them, in file order. None when the lab file gives the node no firewall.
pub fn counters(
    lab: Option<&str>,
    node: &str,
) -> Result<Option<(Firewall, Vec<RuleCount>)>, FwError> {
    let target = crate::enter::locate_node(lab, node)?;
    let st = LabState::load(&target.lab)?;
    let Some(fw) = st.plan.node(node).and_then(|n| n.firewall.clone()) else {
        return Ok(None);
    };
    let net = |source| FwError::Net {
        node: node.to_string(),
        source,
    };
    let ns = Netns::open(std::path::Path::new(&format!(
        "/proc/{}/ns/net",
        target.pid
    )))
    .map_err(net)?;
    let got = in_netns(&ns, || NftSocket::open()?.rules(TABLE))
        .and_then(|r| r)
        .map_err(net)?;
    let mut counts = vec![None; fw.rules.len()];
    for r in got {
        let n = r.comment.as_deref().and_then(|c| c.strip_prefix(COMMENT));
        if let Some(i) = n.and_then(|n| n.parse::<usize>().ok()) {
            if let Some(slot) = counts.get_mut(i.wrapping_sub(1)) {
                *slot = Some((r.packets, r.bytes));
            }
        }
    }
    let rules = fw
        .rules
        .iter()
        .cloned()
        .zip(counts)
        .map(|(rule, counts)| RuleCount { rule, counts })
        .collect();
    Ok(Some((fw, rules)))
}
