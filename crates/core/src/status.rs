//! What `nsnet status` shows: the labs that are up, each node's init and whether it still
//! runs. Addresses come from the plan; the kernel's view replaces them once wiring exists.

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
    pub addrs: Vec<String>,
}

pub fn lab_status(lab: &str) -> Result<LabStatus, StateError> {
    let st = LabState::load(lab)?;
    let nodes = st
        .nodes
        .iter()
        .map(|rec| {
            let plan = st.plan.node(&rec.name);
            NodeStatus {
                name: rec.name.clone(),
                kind: plan.map_or_else(|| "?".into(), |p| p.kind.to_string()),
                pid: rec.pid,
                alive: rec.is_running(),
                addrs: plan
                    .map(|p| p.addrs().map(|a| a.to_string()).collect())
                    .unwrap_or_default(),
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
