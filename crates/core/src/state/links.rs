//! The run-time state of a lab's links beyond its plan, in the lab dir's `links.json`: links
//! taken down, the down links the routes were last computed without, impairments set at run
//! time. Written by `nsnet link` (under the lab lock), read by `link show` and `path`.

use super::{LabDir, StateError};
use nsnet_lab::{Impair, Plan};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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

const LINKS: &str = "links.json";

impl LinkState {
    pub fn load(dir: &LabDir) -> Result<LinkState, StateError> {
        let path = dir.path().join(LINKS);
        match dir.read(LINKS) {
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

    pub fn save(&self, dir: &LabDir) -> Result<(), StateError> {
        crate::state::write_json(dir, LINKS, self)
    }

    /// The impairments link `li` has now.
    pub fn impair_of(&self, plan: &Plan, li: usize) -> Impair {
        self.impair
            .get(&li)
            .copied()
            .unwrap_or(plan.links[li].impair)
    }
}
