//! The lab file's `[[checks]]` and `[[scenarios]]`, and those of the checks file its
//! `[lab] checks` names, validated against the lab's nodes and links (see `crate::checks`).

use super::resolve::Resolver;
use super::{Link, Node};
use crate::checks::spec::{CheckSpec, ScenarioSpec};
use crate::checks::{Checks, Topology};
use crate::error::Invalid;
use crate::spec::S;
use std::path::Path;

/// The topology checks are validated against: the resolved nodes and links.
pub(super) fn topology(nodes: &[Node], links: &[Link]) -> Topology {
    let mut t = Topology::default();
    for (ni, n) in nodes.iter().enumerate() {
        let ifaces = links
            .iter()
            .flat_map(|l| l.ends.iter())
            .filter(|e| e.node == ni)
            .map(|e| e.iface.clone())
            .collect();
        let rules = n.firewall.as_ref().map_or(0, |f| f.rules.len());
        t.add_node(&n.name, n.kind, ifaces, rules);
    }
    for l in links {
        let [a, b] = &l.ends;
        t.add_link(
            (&nodes[a.node].name, &a.iface),
            (&nodes[b.node].name, &b.iface),
        );
    }
    t
}

impl Resolver {
    /// The checks of the lab file, then those of `file` (relative to `dir`).
    pub(super) fn checks(
        &mut self,
        checks: Vec<S<CheckSpec>>,
        scenarios: Vec<S<ScenarioSpec>>,
        file: Option<&S<String>>,
        dir: Option<&Path>,
        topo: &Topology,
    ) -> Checks {
        let mut errors = Vec::new();
        let own =
            crate::checks::resolve_spec(checks, scenarios, topo, &mut |at, e| errors.push((at, e)));
        for (at, e) in errors {
            self.report(at, e);
        }
        let (Some(f), Some(dir)) = (file, dir) else {
            return own;
        };
        let path = dir.join(f.get_ref());
        match Checks::load(&path, topo) {
            Ok(more) => match own.clone().merge(more) {
                Ok(all) => all,
                Err(e) => {
                    self.report(f.span().start, e);
                    own
                }
            },
            Err(errs) => {
                if errs.0.iter().all(|e| e.line == 0) {
                    // Unreadable: say so at the key that names it.
                    for e in errs.0 {
                        let inv = Invalid {
                            message: format!("{}: {}", f.get_ref(), e.message),
                            hint: e.hint,
                        };
                        self.report(f.span().start, inv);
                    }
                } else {
                    self.errors.extend(errs.0);
                }
                own
            }
        }
    }
}
