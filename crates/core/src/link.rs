//! Experiments on a running lab's links: take a link down or up (both veth ends, so both
//! sides see it), let a statically routed lab heal around failed links (`--reroute`:
//! shortest paths computed again without them, only the routes that change rewritten),
//! and impair links (rate limits with tbf, delay/jitter/loss with netem).
//!
//! What is down, what the routes were computed for, and the impairments set at run time
//! are kept in `/run/nsnet/<lab>/links.json`, so later commands know.

use crate::state::{self, LabState, StateError};
use nsnet_lab::{Impair, Kind, LinkPlan, Plan, Route, Routing};
use nsnet_netcfg::{NetError, Netem, Netns, NextHopSpec, RouteSpec, RtSocket, Tbf};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    State(#[from] StateError),
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

/// What the run-time state of a lab's links is, beyond its plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    /// Links (indexes into `Plan::links`) that `nsnet link down` took down.
    #[serde(default)]
    pub down: BTreeSet<usize>,
    /// The down links the installed routes were last computed without (`--reroute`); empty:
    /// the plan's routes.
    #[serde(default)]
    pub routed_without: BTreeSet<usize>,
    /// Impairments set with `nsnet link set`, replacing the lab file's.
    #[serde(default)]
    pub impair: BTreeMap<usize, Impair>,
}

fn state_path(lab: &str) -> PathBuf {
    state::lab_dir(lab).join("links.json")
}

impl LinkState {
    pub fn load(lab: &str) -> Result<LinkState, StateError> {
        let path = state_path(lab);
        match state::read_private(&path) {
            Ok(text) => {
                serde_json::from_slice(&text).map_err(|source| StateError::Parse { path, source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LinkState::default()),
            Err(source) => Err(StateError::Io {
                op: "reading",
                path,
                source,
            }),
        }
    }

    pub fn save(&self, lab: &str) -> Result<(), StateError> {
        state::write_json(&state_path(lab), self)
    }

    /// The impairments link `li` has now.
    pub fn impair_of(&self, plan: &Plan, li: usize) -> Impair {
        self.impair
            .get(&li)
            .copied()
            .unwrap_or(plan.links[li].impair)
    }
}

/// The lab's plan with every node's routes: `up` stores it without them (they are most of
/// a big plan), and they are recomputed from the rest (with the lab file's own routes,
/// which the stored plan keeps).
pub fn planned(st: &LabState) -> Plan {
    let mut plan = st.plan.clone();
    if plan.nodes.iter().all(|n| n.routes.is_empty()) {
        let routes = nsnet_lab::plan::routes(&plan, &HashSet::new());
        for (n, r) in plan.nodes.iter_mut().zip(routes) {
            n.routes = r;
        }
    }
    plan
}

/// Which link a command is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSel {
    /// `NODE:IFACE`: the link of that interface.
    End { node: String, iface: String },
    /// `A B`: the one link between two nodes.
    Between { a: String, b: String },
}

impl LinkSel {
    /// From the command line: `NODE:IFACE`, or two node names.
    pub fn parse(args: &[String]) -> Result<LinkSel, LinkError> {
        match args {
            [one] => match one.split_once(':') {
                Some((n, i)) if !n.is_empty() && !i.is_empty() => Ok(LinkSel::End {
                    node: n.into(),
                    iface: i.into(),
                }),
                _ => Err(LinkError::Usage(format!(
                    "`{one}`: name a link as NODE:IFACE (e.g. r1:eth1) or by its two nodes (r1 r2)"
                ))),
            },
            [a, b] => Ok(LinkSel::Between {
                a: a.clone(),
                b: b.clone(),
            }),
            _ => Err(LinkError::Usage(
                "name a link as NODE:IFACE (e.g. r1:eth1) or by its two nodes (r1 r2)".into(),
            )),
        }
    }
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

/// Sockets in the nodes' netns, opened once per command.
pub(crate) struct Sockets {
    lab: String,
    open: HashMap<String, RtSocket>,
}

impl Sockets {
    pub fn new(lab: &str) -> Sockets {
        Sockets {
            lab: lab.to_string(),
            open: HashMap::new(),
        }
    }

    pub fn get(&mut self, node: &str) -> Result<&mut RtSocket, LinkError> {
        if !self.open.contains_key(node) {
            let path = state::netns_path(&self.lab, node);
            let ns = Netns::open(&path).map_err(net(node))?;
            let sock = RtSocket::open_in(&ns).map_err(net(node))?;
            self.open.insert(node.to_string(), sock);
        }
        Ok(self.open.get_mut(node).expect("just opened"))
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
    let lab = state::resolve_lab(lab)?;
    let st = LabState::load(&lab)?;
    let plan = &planned(&st);
    if reroute && plan.routing != Routing::Static {
        return Err(LinkError::NotStatic(lab));
    }
    let li = find_link(plan, sel)?;
    let l = &plan.links[li];
    let mut ls = LinkState::load(&lab)?;
    let mut socks = Sockets::new(&lab);
    for end in [&l.a, &l.b] {
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
        let want = nsnet_lab::plan::routes(plan, &down);
        for end in [&l.a, &l.b] {
            let ni = plan
                .nodes
                .binary_search_by(|n| n.name.as_str().cmp(&end.node))
                .expect("planned node");
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
    ls.save(&lab)?;
    Ok(report)
}

/// A route's next hops as a comparable set of (gateway, device).
type HopSet = BTreeSet<(Option<IpAddr>, String)>;

fn hop_set(hops: impl Iterator<Item = (Option<IpAddr>, String)>) -> HopSet {
    hops.collect()
}

/// Make the node's static routes (ours: protocol static, main table) what `want` says:
/// replace those that differ, add the missing, delete the extra. Returns (set, deleted).
fn sync_routes(
    sock: &mut RtSocket,
    dual_stack: bool,
    want: &[Route],
) -> Result<(usize, usize), NetError> {
    const RTPROT_STATIC: u8 = 4;
    let mut have = sock.routes(false)?;
    if dual_stack {
        have.extend(sock.routes(true)?);
    }
    have.retain(|r| r.protocol == RTPROT_STATIC);
    let key = |dst: IpAddr, prefix: u8| (dst, prefix);
    let mut by_key: HashMap<(IpAddr, u8), HopSet> = HashMap::new();
    let mut kernel_hops = HashMap::new();
    for r in &have {
        let hops = hop_set(
            r.nexthops
                .iter()
                .map(|h| (h.via, h.dev.clone().unwrap_or_default())),
        );
        by_key.insert(key(r.dst, r.prefix), hops);
        kernel_hops.insert(key(r.dst, r.prefix), r.nexthops.clone());
    }
    let (mut set, mut deleted) = (0, 0);
    let mut wanted = HashSet::new();
    for r in want {
        let k = key(r.to.addr, r.to.prefix);
        wanted.insert(k);
        let hops = hop_set(r.via.iter().map(|h| (Some(h.via), h.dev.clone())));
        if by_key.get(&k) != Some(&hops) {
            sock.replace_route(&crate::wire::route_spec(r))?;
            set += 1;
        }
    }
    for (k, hops) in kernel_hops {
        if wanted.contains(&k) {
            continue;
        }
        let nexthops: Vec<NextHopSpec> = hops
            .iter()
            .filter_map(|h| {
                Some(NextHopSpec {
                    via: h.via,
                    dev: h.dev.clone()?,
                })
            })
            .collect();
        let r = RouteSpec {
            dst: k.0,
            prefix: k.1,
            nexthops,
        };
        match sock.del_route(&r) {
            Err(e) if e.errno() != Some(libc::ESRCH) => return Err(e),
            _ => deleted += 1,
        }
    }
    Ok((set, deleted))
}

/// The token bucket nsnet uses for a rate: a bucket of 4 ms at the rate (at least one
/// full-size frame and 4 KiB), a queue of 50 ms.
pub fn tbf_for(rate: u64, mtu: Option<u32>) -> Tbf {
    let frame = mtu.unwrap_or(1500) + 14;
    let burst = (rate / 8 / 250).min(u32::MAX as u64) as u32;
    Tbf {
        rate,
        burst: burst.max(frame).max(4096),
        latency_us: 50_000,
    }
}

/// Put `imp` on one interface: tbf for a rate alone, netem (with a tbf below) otherwise,
/// the device's default when empty.
pub fn apply_impair(
    sock: &mut RtSocket,
    ifname: &str,
    imp: &Impair,
    mtu: Option<u32>,
) -> Result<(), NetError> {
    if imp.is_empty() {
        return sock.del_qdisc_root(ifname).map(|_| ());
    }
    let tbf = imp.rate.map(|r| tbf_for(r, mtu));
    if imp.needs_netem() {
        let n = Netem {
            delay_us: imp.delay.unwrap_or(0),
            jitter_us: imp.jitter.unwrap_or(0),
            loss_ppm: imp.loss.unwrap_or(0),
            limit: 1000,
        };
        sock.set_qdisc_netem(ifname, &n, tbf.as_ref())
    } else {
        sock.set_qdisc_tbf(ifname, tbf.as_ref().expect("a rate"))
    }
}

/// Set the selected link's impairments (both ends, so both directions) and remember them.
/// Returns the link and what it has now.
pub fn set_impair(
    lab: Option<&str>,
    sel: &LinkSel,
    change: impl FnOnce(Impair) -> Impair,
) -> Result<(String, Impair), LinkError> {
    let lab = state::resolve_lab(lab)?;
    let st = LabState::load(&lab)?;
    let plan = &st.plan;
    let li = find_link(plan, sel)?;
    let l = &plan.links[li];
    let mut ls = LinkState::load(&lab)?;
    let imp = change(ls.impair_of(plan, li));
    let mut socks = Sockets::new(&lab);
    for end in [&l.a, &l.b] {
        apply_impair(socks.get(&end.node)?, &end.iface, &imp, l.mtu).map_err(net(&end.node))?;
    }
    ls.impair.insert(li, imp);
    ls.save(&lab)?;
    Ok((describe(l), imp))
}

/// One link as `nsnet link show` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkShow {
    pub a: String,
    pub b: String,
    /// "up", "down", or which end is down.
    pub state: String,
    /// Read back from the kernel's qdiscs (end a's; end b's when they differ, both).
    pub impair: String,
    /// Links down when the routes were last computed (`--reroute`).
    pub rerouted_around: bool,
}

/// Every link of the lab with its state and impairments, read from the kernel.
pub fn show(lab: Option<&str>) -> Result<Vec<LinkShow>, LinkError> {
    let lab = state::resolve_lab(lab)?;
    let st = LabState::load(&lab)?;
    let plan = &st.plan;
    let ls = LinkState::load(&lab)?;
    let mut socks = Sockets::new(&lab);
    // Per node: interface → (admin up, oper up), and interface → impairments.
    let mut links_of: HashMap<String, HashMap<String, (bool, bool)>> = HashMap::new();
    let mut qdiscs_of: HashMap<String, HashMap<String, Impair>> = HashMap::new();
    let mut out = Vec::with_capacity(plan.links.len());
    for (li, l) in plan.links.iter().enumerate() {
        let mut states = Vec::new();
        let mut imps = Vec::new();
        for end in [&l.a, &l.b] {
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
                let qs = sock.qdiscs().map_err(net(&end.node))?;
                qdiscs_of.insert(end.node.clone(), impairs_of(&qs));
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
        let state = match (states[0].1 .0, states[1].1 .0) {
            (true, true) if states[0].1 .1 && states[1].1 .1 => "up".to_string(),
            (true, true) => "up (no carrier)".to_string(),
            (false, false) => "down".to_string(),
            _ => {
                let down = if states[0].1 .0 {
                    states[1].0
                } else {
                    states[0].0
                };
                format!("{down} down")
            }
        };
        let impair = if imps[0] == imps[1] {
            imps[0].to_string()
        } else {
            format!("{}: {}; {}: {}", l.a, imps[0], l.b, imps[1])
        };
        out.push(LinkShow {
            a: l.a.to_string(),
            b: l.b.to_string(),
            state,
            impair,
            rerouted_around: ls.routed_without.contains(&li),
        });
    }
    Ok(out)
}

/// Impairments per interface from a qdisc dump: a root tbf or netem, and a tbf below netem.
fn impairs_of(qs: &[nsnet_netcfg::QdiscInfo]) -> HashMap<String, Impair> {
    use nsnet_netcfg::qdisc::{NETEM_HANDLE, TC_H_ROOT};
    let mut out: HashMap<String, Impair> = HashMap::new();
    for q in qs {
        let Some(name) = &q.ifname else { continue };
        let imp = out.entry(name.clone()).or_default();
        match q.kind.as_str() {
            "tbf" if q.parent == TC_H_ROOT || q.parent == NETEM_HANDLE | 1 => imp.rate = q.rate,
            "netem" if q.parent == TC_H_ROOT => {
                imp.delay = q.delay_us.filter(|&d| d > 0);
                imp.jitter = q.jitter_us.filter(|&j| j > 0);
                imp.loss = q.loss_ppm.filter(|&l| l > 0);
            }
            _ => {}
        }
    }
    out
}

/// At `up`: the lab file's impairments on the node's interfaces (each end does its own).
pub fn impair_node(plan: &Plan, node: usize, sock: &mut RtSocket) -> Result<(), NetError> {
    for i in &plan.nodes[node].interfaces {
        let l = &plan.links[i.link];
        if !l.impair.is_empty() {
            apply_impair(sock, &i.name, &l.impair, l.mtu)?;
        }
    }
    Ok(())
}
