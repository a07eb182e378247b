//! Experiments on a running lab's links: take a link down or up (both veth ends, so both
//! sides see it), let a statically routed lab heal around failed links (`--reroute`:
//! shortest paths computed again without them, only the routes that change rewritten),
//! and impair links (rate limits with tbf, delay/jitter/loss with netem).
//!
//! What is down, what the routes were computed for, and the impairments set at run time
//! are kept in `/run/nsnet/<lab>/links.json`, so later commands know.

use crate::netplan::impair::apply_impair;
use crate::netplan::routes::sync_routes;
use crate::running::{NodeError, RunningLab, Sockets};
use crate::state::links::LinkState;
use crate::state::{LockOp, StateError};
use nsnet_lab::{Endpoint, Impair, Kind, LinkPlan, Plan, Routing};
use nsnet_netcfg::{Impairment, NetError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("lab '{lab}' has no link {what}{}", hint(.links))]
    NoLink {
        lab: String,
        what: String,
        links: Vec<String>,
    },
    #[error("{a} and {b} are joined by {} links ({}): name one end, e.g. {}", .links.len(), .links.join(", "), .links[0].split(" — ").next().unwrap_or(""))]
    Ambiguous {
        a: String,
        b: String,
        links: Vec<String>,
    },
    /// `r1: bringing eth1 down: …`
    #[error("{node}: {source}")]
    Net { node: String, source: NetError },
    #[error("--reroute needs routing = \"static\"; lab '{0}' leaves routing to daemons (routing = \"none\")")]
    NotStatic(String),
    #[error("{0}")]
    Usage(String),
    #[error("--reroute is not for a lab spread over several hosts (lab '{0}'): each host holds a part of its plan")]
    Spread(String),
}

/// Whether `end` is an interface of this plan's own nodes (in one host's part of a spread
/// lab, a link that crosses has its other end on another host).
fn is_local(plan: &Plan, end: &Endpoint) -> bool {
    plan.node(&end.node)
        .is_some_and(|n| n.interface(&end.iface).is_some())
}

fn hint(links: &[String]) -> String {
    if links.is_empty() {
        return String::new();
    }
    let mut s = String::from("; its links: ");
    let shown: Vec<&str> = links.iter().take(8).map(String::as_str).collect();
    s.push_str(&shown.join(", "));
    if links.len() > 8 {
        s.push_str(&format!(" … ({} in all)", links.len()));
    }
    s
}

fn net(node: &str) -> impl FnOnce(NetError) -> LinkError + '_ {
    move |source| LinkError::Net {
        node: node.to_string(),
        source,
    }
}

/// Which link a command is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSel {
    /// `NODE:IFACE`: the link of that interface.
    End { node: String, iface: String },
    /// `A B`: the one link between two nodes.
    Between { a: String, b: String },
}

/// `r1:eth1 — r2:eth0`
pub fn describe(l: &LinkPlan) -> String {
    format!("{} — {}", l.a, l.b)
}

/// The index in `plan.links` of the selected link.
pub fn find_link(plan: &Plan, sel: &LinkSel) -> Result<usize, LinkError> {
    let all = || plan.links.iter().map(describe).collect::<Vec<_>>();
    match sel {
        LinkSel::End { node, iface } => {
            // In a host's part of a spread lab: the far end of a link that crosses.
            if plan.node(node).is_none() {
                if let Some(li) = plan.links.iter().position(|l| {
                    [&l.a, &l.b]
                        .iter()
                        .any(|e| e.node == *node && e.iface == *iface)
                }) {
                    return Ok(li);
                }
            }
            let n = plan.node(node).ok_or_else(|| {
                LinkError::State(StateError::NoNode {
                    lab: plan.lab.clone(),
                    node: node.clone(),
                    nodes: plan.nodes.iter().map(|n| n.name.clone()).collect(),
                })
            })?;
            match n.interface(iface) {
                Some(i) => Ok(i.link),
                None => Err(LinkError::NoLink {
                    lab: plan.lab.clone(),
                    what: format!("at {node}:{iface}"),
                    links: n
                        .interfaces
                        .iter()
                        .map(|i| describe(&plan.links[i.link]))
                        .collect(),
                }),
            }
        }
        LinkSel::Between { a, b } => {
            let found: Vec<usize> = (0..plan.links.len())
                .filter(|&li| {
                    let l = &plan.links[li];
                    (l.a.node == *a && l.b.node == *b) || (l.a.node == *b && l.b.node == *a)
                })
                .collect();
            match found.as_slice() {
                [li] => Ok(*li),
                [] => Err(LinkError::NoLink {
                    lab: plan.lab.clone(),
                    what: format!("between {a} and {b}"),
                    links: all(),
                }),
                many => Err(LinkError::Ambiguous {
                    a: a.clone(),
                    b: b.clone(),
                    links: many.iter().map(|&li| describe(&plan.links[li])).collect(),
                }),
            }
        }
    }
}

/// What `nsnet link down|up` did.
#[derive(Debug, Clone, Default)]
pub struct LinkReport {
    pub link: String,
    /// Per node: routes added or replaced, routes deleted.
    pub routes: Vec<(String, usize, usize)>,
    pub rerouted: bool,
}

/// Take the selected link down or up at both ends; with `reroute`, recompute every node's
/// routes around the links that are down and rewrite those that change.
pub fn set_link(
    lab: Option<&str>,
    sel: &LinkSel,
    up: bool,
    reroute: bool,
) -> Result<LinkReport, LinkError> {
    let lab = RunningLab::open(lab)?;
    let plan = &lab.planned();
    if reroute && plan.routing != Routing::Static {
        return Err(LinkError::NotStatic(lab.name.to_string()));
    }
    if reroute && !plan.tunnels.is_empty() {
        return Err(LinkError::Spread(lab.name.to_string()));
    }
    let li = find_link(plan, sel)?;
    let l = &plan.links[li];
    // Read, change and write links.json and the routes as one step: two `link` commands
    // at once must not lose each other's changes.
    let _lock = lab.lock(LockOp::Link)?;
    let mut ls = LinkState::load(&lab.dir)?;
    let mut socks = Sockets::new(&lab);
    for end in [&l.a, &l.b].into_iter().filter(|e| is_local(plan, e)) {
        let sock = socks.get(&end.node)?;
        if up {
            sock.set_link_up(&end.iface).map_err(net(&end.node))?;
            // IPv6 addresses go when an interface goes down (keep_addr_on_down is 0).
            let node = plan.node(&end.node).expect("planned node");
            if let Some(i) = node.interface(&end.iface) {
                for a in &i.addrs {
                    match sock.add_addr(&i.name, a.addr, a.prefix) {
                        Err(e) if e.errno() != Some(libc::EEXIST) => return Err(net(&end.node)(e)),
                        _ => {}
                    }
                }
            }
        } else {
            sock.set_link_down(&end.iface).map_err(net(&end.node))?;
        }
    }
    if up {
        ls.down.remove(&li);
    } else {
        ls.down.insert(li);
    }
    let mut report = LinkReport {
        link: describe(l),
        ..LinkReport::default()
    };
    if reroute {
        ls.routed_without = ls.down.clone();
        let down: HashSet<usize> = ls.down.iter().copied().collect();
        let want = nsnet_lab::plan::routes(plan, &down);
        for (n, rs) in plan.nodes.iter().zip(&want) {
            if n.kind == Kind::Switch {
                continue;
            }
            let (set, del) =
                sync_routes(socks.get(&n.name)?, plan.dual_stack, rs).map_err(net(&n.name))?;
            if set + del > 0 {
                report.routes.push((n.name.clone(), set, del));
            }
        }
        report.rerouted = true;
    } else if up {
        // The kernel dropped the routes through the link when it went down: put back those
        // of the routes in force, on the link's two nodes.
        let down: HashSet<usize> = ls.routed_without.iter().copied().collect();
        // A host's part of a spread lab keeps the routes the whole lab's plan gave it.
        let want = if plan.tunnels.is_empty() {
            nsnet_lab::plan::routes(plan, &down)
        } else {
            plan.nodes.iter().map(|n| n.routes.clone()).collect()
        };
        for end in [&l.a, &l.b].into_iter().filter(|e| is_local(plan, e)) {
            let ni = plan.node_index(&end.node).expect("planned node");
            if plan.nodes[ni].kind == Kind::Switch {
                continue;
            }
            let (set, del) = sync_routes(socks.get(&end.node)?, plan.dual_stack, &want[ni])
                .map_err(net(&end.node))?;
            if set + del > 0 {
                report.routes.push((end.node.clone(), set, del));
            }
        }
    }
    ls.save(&lab.dir)?;
    Ok(report)
}

/// A change of a link's impairments at run time: the values given replace the link's
/// current ones (all of them first, with `clear`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ImpairChange {
    pub given: Impair,
    pub clear: bool,
}

impl ImpairChange {
    /// The impairments `current` becomes; a jitter without a delay is refused.
    pub fn applied_to(&self, current: Impair) -> Result<Impair, LinkError> {
        if self.given.is_empty() && !self.clear {
            return Err(LinkError::Usage(
                "give --rate, --delay, --jitter or --loss (or --clear)".into(),
            ));
        }
        let base = if self.clear {
            Impair::default()
        } else {
            current
        };
        let merged = Impair {
            rate: self.given.rate.or(base.rate),
            delay: self.given.delay.or(base.delay),
            jitter: self.given.jitter.or(base.jitter),
            loss: self.given.loss.or(base.loss),
        };
        if merged.jitter.is_some() && merged.delay.is_none() {
            return Err(LinkError::Usage(
                "a jitter needs a delay to vary: add --delay".into(),
            ));
        }
        Ok(merged)
    }
}

/// Set the selected link's impairments (both ends, so both directions) and remember them.
/// Returns the link and what it has now.
pub fn set_impair(
    lab: Option<&str>,
    sel: &LinkSel,
    change: &ImpairChange,
) -> Result<(String, Impair), LinkError> {
    let lab = RunningLab::open(lab)?;
    let plan = lab.plan();
    let li = find_link(plan, sel)?;
    let l = &plan.links[li];
    let _lock = lab.lock(LockOp::Link)?;
    let mut ls = LinkState::load(&lab.dir)?;
    let imp = change.applied_to(ls.impair_of(plan, li))?;
    let mut socks = Sockets::new(&lab);
    for end in [&l.a, &l.b].into_iter().filter(|e| is_local(plan, e)) {
        apply_impair(socks.get(&end.node)?, &end.iface, &imp, l.mtu).map_err(net(&end.node))?;
    }
    ls.impair.insert(li, imp);
    ls.save(&lab.dir)?;
    Ok((describe(l), imp))
}

/// A link's state as both ends' kernels report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Both ends up, with carrier.
    Up,
    /// Both ends administratively up, but no carrier.
    NoCarrier,
    /// Both ends down.
    Down,
    /// One end down: [`LinkShow::down_end`].
    EndDown,
    /// An end's node is dead: its kernel was not asked (only [`show_in`] with `dead_ok`).
    NodeDead,
}

/// One link as `nsnet link show` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkShow {
    pub a: Endpoint,
    pub b: Endpoint,
    pub state: LinkStatus,
    /// With [`LinkStatus::EndDown`]: the end that is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_end: Option<Endpoint>,
    /// Each end's impairments, read back from its kernel's qdiscs (a's, then b's).
    pub impair: [Impair; 2],
    /// Down when the routes were last computed (`--reroute`).
    pub rerouted_around: bool,
}

/// Every link of the lab with its state and impairments, read from the kernel.
pub fn show(lab: Option<&str>) -> Result<Vec<LinkShow>, LinkError> {
    show_in(&RunningLab::open(lab)?, false)
}

/// [`show`] of an open lab. With `dead_ok`, a link with an end in a dead node is
/// [`LinkStatus::NodeDead`] instead of an error.
pub fn show_in(lab: &RunningLab, dead_ok: bool) -> Result<Vec<LinkShow>, LinkError> {
    let plan = lab.plan();
    let ls = LinkState::load(&lab.dir)?;
    let mut socks = Sockets::new(lab);
    let mut dead: HashSet<String> = HashSet::new();
    // Per node: interface → (admin up, oper up), and interface → impairments.
    let mut links_of: HashMap<String, HashMap<String, (bool, bool)>> = HashMap::new();
    let mut qdiscs_of: HashMap<String, HashMap<String, Impair>> = HashMap::new();
    let mut out = Vec::with_capacity(plan.links.len());
    for (li, l) in plan.links.iter().enumerate() {
        let mut states = Vec::new();
        let mut imps = Vec::new();
        // A link that crosses to another host: its end here says for both.
        let ends: Vec<&Endpoint> = match [&l.a, &l.b].map(|e| is_local(plan, e)) {
            [true, false] => vec![&l.a, &l.a],
            [false, true] => vec![&l.b, &l.b],
            _ => vec![&l.a, &l.b],
        };
        for end in ends {
            if dead_ok && !dead.contains(&end.node) && !links_of.contains_key(&end.node) {
                if let Err(NodeError::Dead { .. }) = socks.get(&end.node) {
                    dead.insert(end.node.clone());
                }
            }
            if dead.contains(&end.node) {
                continue;
            }
            if !links_of.contains_key(&end.node) {
                let sock = socks.get(&end.node)?;
                let links = sock.links().map_err(net(&end.node))?;
                links_of.insert(
                    end.node.clone(),
                    links
                        .into_iter()
                        .map(|k| (k.name, (k.up, k.oper_up)))
                        .collect(),
                );
                let imps = sock.impairments().map_err(net(&end.node))?;
                qdiscs_of.insert(end.node.clone(), imps.into_iter().map(impair_of).collect());
            }
            let s = links_of[&end.node]
                .get(&end.iface)
                .copied()
                .unwrap_or((false, false));
            states.push((end, s));
            imps.push(
                qdiscs_of[&end.node]
                    .get(&end.iface)
                    .copied()
                    .unwrap_or_default(),
            );
        }
        if states.len() < 2 {
            out.push(LinkShow {
                a: l.a.clone(),
                b: l.b.clone(),
                state: LinkStatus::NodeDead,
                down_end: None,
                impair: [Impair::default(); 2],
                rerouted_around: ls.routed_without.contains(&li),
            });
            continue;
        }
        let (state, down_end) = match (states[0].1 .0, states[1].1 .0) {
            (true, true) if states[0].1 .1 && states[1].1 .1 => (LinkStatus::Up, None),
            (true, true) => (LinkStatus::NoCarrier, None),
            (false, false) => (LinkStatus::Down, None),
            (a_up, _) => {
                let down = if a_up { states[1].0 } else { states[0].0 };
                (LinkStatus::EndDown, Some(down.clone()))
            }
        };
        out.push(LinkShow {
            a: l.a.clone(),
            b: l.b.clone(),
            state,
            down_end,
            impair: [imps[0], imps[1]],
            rerouted_around: ls.routed_without.contains(&li),
        });
    }
    Ok(out)
}

/// An interface's impairment as netcfg reads it back from its qdiscs.
fn impair_of((ifname, i): (String, Impairment)) -> (String, Impair) {
    let (rate, delay, jitter, loss) = (i.rate, i.delay_us, i.jitter_us, i.loss_ppm);
    (
        ifname,
        Impair {
            rate,
            delay,
            jitter,
            loss,
        },
    )
}
