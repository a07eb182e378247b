//! `nsnet fw`: a running node's firewall as its lab file gives it, with each rule's packet
//! and byte counters read from the kernel (matched to the file by the rules' comments), and
//! whether the kernel's rule is still the one the file gives, expression by expression.

use crate::netplan::firewall::{ruleset, COMMENT, TABLE};
use crate::running::RunningLab;
use crate::state::StateError;
use nsnet_lab::firewall::{Firewall, Rule};
use nsnet_netcfg::{in_netns, NetError, NftSocket};

/// A planned rule with what the kernel counted for it (None: the kernel has no such rule).
#[derive(Debug, Clone)]
pub struct RuleCount {
    pub rule: Rule,
    pub counts: Option<(u64, u64)>,
    /// The kernel's rule of this comment matches and acts as planned (false when missing).
    pub same: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FwError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Node(#[from] crate::running::NodeError),
    #[error("{node}: {source}")]
    Net { node: String, source: NetError },
}

/// The firewall of a running node: its plan, and each rule's packets and bytes as the
/// kernel counts them, in file order. None when the lab file gives the node no firewall.
pub fn counters(
    lab: Option<&str>,
    node: &str,
) -> Result<Option<(Firewall, Vec<RuleCount>)>, FwError> {
    let lab = RunningLab::open(lab)?;
    let live = lab.node(node)?;
    let Some(fw) = live.plan.firewall.clone() else {
        return Ok(None);
    };
    let net = |source| FwError::Net {
        node: node.to_string(),
        source,
    };
    let ns = live.netns()?;
    let got = in_netns(&ns, || NftSocket::open()?.rules(TABLE))
        .and_then(|r| r)
        .map_err(net)?;
    let (_, planned) = ruleset(&fw);
    let mut rules: Vec<RuleCount> = fw
        .rules
        .iter()
        .map(|rule| RuleCount {
            rule: rule.clone(),
            counts: None,
            same: false,
        })
        .collect();
    for r in got {
        let n = r.comment.as_deref().and_then(|c| c.strip_prefix(COMMENT));
        if let Some(i) = n.and_then(|n| n.parse::<usize>().ok()) {
            let i = i.wrapping_sub(1);
            if let (Some(slot), Some(want)) = (rules.get_mut(i), planned.get(i)) {
                slot.counts = Some((r.packets, r.bytes));
                slot.same = r.holds(want);
            }
        }
    }
    Ok(Some((fw, rules)))
}
