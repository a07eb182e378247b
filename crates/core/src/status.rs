//! What `nsnet status` shows: the labs that are up, each node's init and whether it still
//! runs, and each live node's interfaces as its kernel reports them.

use crate::state::{self, LabState, StateError};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
pub struct LabStatus {
    pub lab: String,
    pub source: Option<PathBuf>,
    pub nodes: Vec<NodeStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub kind: String,
    pub pid: i32,
    /// False when the init is gone (killed, crashed) or its PID was reused.
    pub alive: bool,
    /// Addresses: the kernel's for a live node, the plan's for a dead one.
    pub addrs: Vec<String>,
    /// The node's interfaces as its kernel reports them (empty when the node is dead).
    pub interfaces: Vec<IfaceStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IfaceStatus {
    pub name: String,
    pub up: bool,
    /// Carrier: the other end is up too.
    pub carrier: bool,
    pub mtu: u32,
    pub addrs: Vec<String>,
}

/// The interfaces of the netns of init `pid` (loopback left out); None when unreadable.
fn kernel_interfaces(pid: i32) -> Option<Vec<IfaceStatus>> {
    use nsnet_netcfg::{Netns, RtSocket};
    let ns = Netns::open(std::path::Path::new(&format!("/proc/{pid}/ns/net"))).ok()?;
    let mut sock = RtSocket::open_in(&ns).ok()?;
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
                    .map(|a| format!("{}/{}", a.addr, a.prefix))
                    .collect(),
            })
            .collect(),
    )
}

fn is_link_local(a: &std::net::IpAddr) -> bool {
    matches!(a, std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

pub fn lab_status(lab: &str) -> Result<LabStatus, StateError> {
    let st = LabState::load(lab)?;
    let nodes = st
        .nodes
        .iter()
        .map(|rec| {
            let plan = st.plan.node(&rec.name);
            let alive = rec.is_running();
            let interfaces = alive
                .then(|| kernel_interfaces(rec.pid))
                .flatten()
                .unwrap_or_default();
            let addrs = if alive {
                interfaces
                    .iter()
                    .flat_map(|i| i.addrs.iter().cloned())
                    .collect()
            } else {
                plan.map(|p| p.addrs().map(|a| a.to_string()).collect())
                    .unwrap_or_default()
            };
            NodeStatus {
                name: rec.name.clone(),
                kind: plan.map_or_else(|| "?".into(), |p| p.kind.to_string()),
                pid: rec.pid,
                alive,
                addrs,
                interfaces,
            }
        })
        .collect();
    Ok(LabStatus {
        lab: lab.to_string(),
        source: st.plan.source.clone(),
        nodes,
    })
}

/// Every lab with state on disk.
pub fn all_status() -> Vec<Result<LabStatus, StateError>> {
    state::list_labs().iter().map(|l| lab_status(l)).collect()
}
