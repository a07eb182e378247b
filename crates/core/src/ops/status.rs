//! What `nsnet status` shows: the labs that are up, each node's init and whether it still
//! runs, and each live node's interfaces as its kernel reports them.

use crate::running::RunningLab;
use crate::state::{self, LabName, StateError};
use nsnet_lab::Cidr;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
pub struct LabStatus {
    pub lab: String,
    pub source: Option<PathBuf>,
    pub nodes: Vec<NodeStatus>,
    /// What of the lab reaches outside it (absent when nothing does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside: Option<OutsideStatus>,
}

/// The lab's links to the host, published ports, host interfaces and relay.
#[derive(Debug, Clone, Serialize)]
pub struct OutsideStatus {
    /// (node, its link to the host).
    pub host_links: Vec<(String, nsnet_lab::outside::HostLink)>,
    /// (node, port).
    pub ports: Vec<(String, nsnet_lab::outside::Port)>,
    /// (node, host interface).
    pub host_ifaces: Vec<(String, nsnet_lab::outside::HostIface)>,
    /// The relay of the published ports: its pid, and whether it runs.
    pub relay: Option<(i32, bool)>,
    /// The host's nftables table of the lab's NAT.
    pub table: Option<String>,
    /// The host sysctls the lab changed: key, value before, value now.
    pub sysctls: Vec<(String, String, String)>,
}

fn outside_status(running: &RunningLab) -> Option<OutsideStatus> {
    let plan = running.plan();
    if !crate::outside::wanted(plan) {
        return None;
    }
    let rec = crate::outside::HostRecord::load(&running.dir).unwrap_or_default();
    Some(OutsideStatus {
        host_links: plan
            .nodes
            .iter()
            .filter_map(|n| n.host_link.clone().map(|h| (n.name.clone(), h)))
            .collect(),
        ports: plan
            .nodes
            .iter()
            .flat_map(|n| n.ports.iter().map(|p| (n.name.clone(), *p)))
            .collect(),
        host_ifaces: plan
            .nodes
            .iter()
            .flat_map(|n| n.host_ifaces.iter().map(|h| (n.name.clone(), h.clone())))
            .collect(),
        relay: rec
            .relay
            .map(|r| (r.pid, state::is_running(r.pid, r.start_time))),
        table: rec.table.clone(),
        sysctls: rec
            .sysctls
            .iter()
            .map(|s| {
                let now = nsnet_netcfg::read_sysctl(&s.key).unwrap_or_else(|_| "?".into());
                (s.key.clone(), s.before.clone(), now)
            })
            .collect(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub name: String,
    /// None when the plan no longer names the node (damaged state).
    pub kind: Option<nsnet_lab::Kind>,
    pub pid: i32,
    /// False when the init is gone (killed, crashed) or its PID was reused.
    pub alive: bool,
    /// Addresses: the kernel's for a live node, the plan's for a dead one.
    pub addrs: Vec<Cidr>,
    /// The node's interfaces as its kernel reports them (empty when the node is dead).
    pub interfaces: Vec<IfaceStatus>,
    /// Its startup (`after`, services, `exec` lines): "starting" or "done".
    pub startup: &'static str,
    /// The `exec` lines that failed in its startup.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub startup_failed: Vec<String>,
    /// What its cgroups account (nodes with `cpu`, `memory` or `pids` limits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<crate::build::cgroups::Usage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IfaceStatus {
    pub name: String,
    pub up: bool,
    /// Carrier: the other end is up too.
    pub carrier: bool,
    pub mtu: u32,
    pub addrs: Vec<Cidr>,
}

/// The interfaces of a live node (loopback left out); None when unreadable.
fn kernel_interfaces(node: &crate::running::LiveNode) -> Option<Vec<IfaceStatus>> {
    let mut sock = node.rt_socket().ok()?;
    let links = sock.links().ok()?;
    let addrs = sock.addrs().ok()?;
    Some(
        links
            .iter()
            .filter(|l| l.name != "lo")
            .map(|l| IfaceStatus {
                name: l.name.clone(),
                up: l.up,
                carrier: l.oper_up,
                mtu: l.mtu,
                addrs: addrs
                    .iter()
                    .filter(|a| a.ifindex == l.index && !is_link_local(&a.addr))
                    .filter_map(|a| Cidr::new(a.addr, a.prefix))
                    .collect(),
            })
            .collect(),
    )
}

fn is_link_local(a: &std::net::IpAddr) -> bool {
    matches!(a, std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

pub fn lab_status(lab: &LabName) -> Result<LabStatus, StateError> {
    let running = RunningLab::open_name(lab)?;
    let st = &running.state;
    let layout = crate::build::cgroups::Layout::detect();
    let nodes = st
        .nodes
        .iter()
        .map(|rec| {
            let plan = st.plan.node(&rec.name);
            let live = running.node(&rec.name).ok();
            let alive = live.is_some();
            let interfaces = live
                .as_ref()
                .and_then(kernel_interfaces)
                .unwrap_or_default();
            let addrs = if alive {
                interfaces
                    .iter()
                    .flat_map(|i| i.addrs.iter().cloned())
                    .collect()
            } else {
                plan.map(|p| p.addrs().copied().collect())
                    .unwrap_or_default()
            };
            let startup = running.startup(&rec.name);
            NodeStatus {
                startup: if startup.is_some() {
                    "done"
                } else {
                    "starting"
                },
                startup_failed: startup.map(|r| r.failed).unwrap_or_default(),
                name: rec.name.clone(),
                kind: plan.map(|p| p.kind),
                pid: rec.pid,
                alive,
                addrs,
                interfaces,
                usage: plan
                    .filter(|p| !p.limits.is_empty())
                    .and_then(|_| crate::build::cgroups::usage(&layout, lab, &rec.name)),
            }
        })
        .collect();
    Ok(LabStatus {
        lab: lab.to_string(),
        source: st.plan.source.clone(),
        nodes,
        outside: outside_status(&running),
    })
}

/// Every lab with state on disk, each on its own: one damaged lab does not hide the others.
pub fn all_status() -> Vec<(LabName, Result<LabStatus, StateError>)> {
    state::list_labs()
        .into_iter()
        .map(|l| {
            let st = lab_status(&l);
            (l, st)
        })
        .collect()
}
