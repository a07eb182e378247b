//! One running lab, opened once per command: the lab resolved from what the user gave (a
//! name, a lab file, or the only lab up), its state dir and state loaded and checked, and
//! its nodes reached through checked inits. Every run-time command (`exec`, `status`,
//! `link`, `path`, `capture`, `fw`, `ssh` …) starts here, so the checks live in one place.

use crate::state::{
    self, Init, LabDir, LabLock, LabName, LabState, LockOp, NotInit, StateError, Store,
};
use nsnet_lab::{NodePlan, Plan};
use nsnet_netcfg::{NetError, Netns, RtSocket};

/// A lab with state on disk.
#[derive(Debug)]
pub struct RunningLab {
    pub name: LabName,
    pub dir: LabDir,
    pub state: LabState,
    store: Store,
}

/// Why a node cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("node {node} of lab {lab} is not running (its init, pid {pid}, is gone)")]
    Dead { lab: String, node: String, pid: i32 },
    #[error("node {node} of lab {lab}: the recorded pid {pid} is not its init ({why}); nsnet will not join or signal it")]
    NotInit {
        lab: String,
        node: String,
        pid: i32,
        why: String,
    },
    #[error("node {node}: {source}")]
    Net { node: String, source: NetError },
}

impl RunningLab {
    /// The lab `given` names (a name or a lab file), or the only lab that is up.
    pub fn open(given: Option<&str>) -> Result<RunningLab, StateError> {
        let name = state::resolve_lab(given)?;
        RunningLab::open_name(&name)
    }

    pub fn open_name(name: &LabName) -> Result<RunningLab, StateError> {
        let not_up = || StateError::NotUp(name.to_string());
        let store = Store::open()?.ok_or_else(not_up)?;
        let dir = store.lab(name)?.ok_or_else(not_up)?;
        let state = LabState::load(&dir)?;
        Ok(RunningLab {
            name: name.clone(),
            dir,
            state,
            store,
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.state.plan
    }

    /// How node `node`'s startup ended, or None while it runs (or waits for others).
    pub fn startup(&self, node: &str) -> Option<state::StartupReport> {
        let text = self.dir.read(&state::startup_rel(node)).ok()?;
        Some(
            serde_json::from_slice(&text).unwrap_or_else(|_| state::StartupReport {
                failed: vec!["its startup file cannot be read".into()],
            }),
        )
    }

    /// Waits until every node's startup has ended, or `timeout`: each node with its report,
    /// None for those still starting.
    pub fn wait_startup(
        &self,
        timeout: std::time::Duration,
    ) -> Vec<(String, Option<state::StartupReport>)> {
        let deadline = std::time::Instant::now() + timeout;
        let mut out: Vec<(String, Option<state::StartupReport>)> = self
            .state
            .nodes
            .iter()
            .map(|n| (n.name.clone(), None))
            .collect();
        loop {
            for (n, r) in out.iter_mut().filter(|(_, r)| r.is_none()) {
                *r = self.startup(n);
            }
            if out.iter().all(|(_, r)| r.is_some()) || std::time::Instant::now() >= deadline {
                return out;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The lab's plan with every node's routes: `up` stores it without them (they are most
    /// of a big plan), and they are recomputed from the rest (with the lab file's own routes,
    /// which the stored plan keeps).
    pub fn planned(&self) -> Plan {
        let mut plan = self.state.plan.clone();
        plan.restore_routes();
        plan
    }

    /// The run-time state of its links (`links.json`).
    pub fn links(&self) -> Result<state::links::LinkState, StateError> {
        state::links::LinkState::load(&self.dir)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The lab lock for a change at run time (waits for another change to finish).
    pub fn lock(&self, op: LockOp) -> Result<LabLock, StateError> {
        LabLock::take(&self.store, &self.name, op, |_| {})
    }

    /// The node's log, oldest part first (the rotated `.log.1`, when there is one, then
    /// the current file), open for streaming.
    pub fn node_log(&self, node: &str) -> Result<Vec<std::fs::File>, StateError> {
        self.state.node(node)?;
        let rel = state::log_rel(node);
        let mut files = Vec::new();
        for rel in [format!("{rel}.1"), rel] {
            match self.dir.open(&rel, u64::MAX) {
                Ok(f) => files.push(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(StateError::Io {
                        op: "reading",
                        path: self.dir.path().join(&rel),
                        source,
                    })
                }
            }
        }
        Ok(files)
    }

    /// A node of the lab whose init runs and is proved to be its init.
    pub fn node(&self, node: &str) -> Result<LiveNode<'_>, NodeError> {
        let rec = self.state.node(node)?;
        let plan = self.plan().node(node).ok_or_else(|| StateError::NoNode {
            lab: self.name.to_string(),
            node: node.to_string(),
            nodes: self.plan().nodes.iter().map(|n| n.name.clone()).collect(),
        })?;
        match rec.init(&self.name) {
            Ok(init) => Ok(LiveNode {
                lab: &self.name,
                plan,
                init,
            }),
            Err(NotInit::Gone) => Err(NodeError::Dead {
                lab: self.name.to_string(),
                node: node.to_string(),
                pid: rec.pid,
            }),
            Err(NotInit::Other(why)) => Err(NodeError::NotInit {
                lab: self.name.to_string(),
                node: node.to_string(),
                pid: rec.pid,
                why,
            }),
        }
    }
}

/// A node whose init runs.
#[derive(Debug)]
pub struct LiveNode<'a> {
    pub lab: &'a LabName,
    pub plan: &'a NodePlan,
    pub init: Init,
}

impl LiveNode<'_> {
    pub fn name(&self) -> &str {
        &self.plan.name
    }

    /// Its network namespace, opened through its checked init.
    pub fn netns(&self) -> Result<Netns, NodeError> {
        self.init
            .open_ns("net")
            .map(Netns::from)
            .map_err(|e| NodeError::Net {
                node: self.name().to_string(),
                source: NetError::Io {
                    op: nsnet_netcfg::Op::OpenNodeNetns,
                    source: e.into(),
                },
            })
    }

    /// An rtnetlink socket inside its network namespace.
    pub fn rt_socket(&self) -> Result<RtSocket, NodeError> {
        RtSocket::open_in(&self.netns()?).map_err(|source| NodeError::Net {
            node: self.name().to_string(),
            source,
        })
    }
}

/// Sockets in the nodes' netns (reached through their checked inits), opened once per
/// command.
pub struct Sockets<'a> {
    lab: &'a RunningLab,
    open: std::collections::HashMap<String, RtSocket>,
}

impl<'a> Sockets<'a> {
    pub fn new(lab: &'a RunningLab) -> Sockets<'a> {
        Sockets {
            lab,
            open: std::collections::HashMap::new(),
        }
    }

    pub fn get(&mut self, node: &str) -> Result<&mut RtSocket, NodeError> {
        if !self.open.contains_key(node) {
            let sock = self.lab.node(node)?.rt_socket()?;
            self.open.insert(node.to_string(), sock);
        }
        Ok(self.open.get_mut(node).expect("just opened"))
    }
}
