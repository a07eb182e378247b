//! The resolving step: the lab file's structs (`spec`) into a `Lab`, every error recorded
//! with its place. This file holds the `[lab]` table and the order of the steps; nodes,
//! links and firewalls are resolved in the files named after them.

use super::addr::{check_pool, check_usable, parse_cidr, parse_ip};
use super::names::{check_name, suggest};
use super::Lab;
use crate::cidr::Cidr;
use crate::error::{Invalid, LabError, LabErrors, Source};
use crate::limits::{
    DEFAULT_LOG_SIZE, DEFAULT_POOL, DEFAULT_TMPFS_SIZE, MAX_LOG_SIZE, MAX_TMPFS_SIZE, MIN_LOG_SIZE,
    MIN_TMPFS_SIZE,
};
use crate::size::{parse_size_within, SizeValue};
use crate::spec::{FileSpec, S};
use crate::values::{Routing, Word};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

/// Resolves one lab file, collecting every error it finds.
pub(super) struct Resolver {
    pub(super) src: Source,
    pub(super) errors: Vec<LabError>,
}

impl Resolver {
    pub(super) fn new(src: Source) -> Resolver {
        Resolver {
            src,
            errors: Vec::new(),
        }
    }

    /// Record an error at byte offset `at`.
    pub(super) fn err(
        &mut self,
        at: usize,
        msg: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.report(
            at,
            Invalid {
                message: msg.into(),
                hint: hint.into(),
            },
        );
    }

    /// Record `e` at byte offset `at`.
    pub(super) fn report(&mut self, at: usize, e: Invalid) {
        let e = self.src.error(at, e);
        self.errors.push(e);
    }

    /// The value of `r`, or None with its error recorded at `at`.
    pub(super) fn check<T>(&mut self, at: usize, r: Result<T, Invalid>) -> Option<T> {
        r.map_err(|e| self.report(at, e)).ok()
    }

    pub(super) fn resolve(
        mut self,
        spec: FileSpec,
        stem: Option<&str>,
        dir: Option<&Path>,
        given: Option<&str>,
    ) -> Result<Lab, LabErrors> {
        let lab_at = spec.lab.as_ref().map_or(0, |l| l.span().start);
        let lab = spec.lab.map(S::into_inner).unwrap_or_default();

        let name = self.lab_name(&lab.name, lab_at, stem, given);
        let (pool, pool_at) = match &lab.pool {
            Some(p) if p.get_ref() == "none" => (None, p.span().start),
            Some(p) => (
                Some(self.network(p, true, "pool").unwrap_or_else(default_pool)),
                p.span().start,
            ),
            None => (Some(default_pool()), lab_at),
        };
        let (pool6, pool6_at) = match &lab.pool6 {
            Some(p) => (self.network(p, false, "pool6"), p.span().start),
            None => (None, lab_at),
        };
        let routing = lab.routing.as_ref().map_or(Routing::Static, |r| {
            self.check(r.span().start, parse_routing(r.get_ref()))
                .unwrap_or(Routing::Static)
        });
        let (host_pool, host_pool_at) = match &lab.host_pool {
            Some(p) => (
                self.network(p, true, "host_pool")
                    .unwrap_or_else(default_host_pool),
                p.span().start,
            ),
            None => (default_host_pool(), lab_at),
        };
        let mgmt = lab.mgmt.as_ref().is_some_and(|m| *m.get_ref());
        let ssh = lab.ssh.is_none_or(|s| *s.get_ref());
        let summarize = lab.summarize.as_ref().is_some_and(|s| *s.get_ref());
        let tmpfs_size = lab.tmpfs_size.as_ref().map_or(DEFAULT_TMPFS_SIZE, |v| {
            self.size(v, "tmpfs_size", MIN_TMPFS_SIZE, MAX_TMPFS_SIZE)
                .unwrap_or(DEFAULT_TMPFS_SIZE)
        });
        let log_size = lab.log_size.as_ref().map_or(DEFAULT_LOG_SIZE, |v| {
            self.size(v, "log_size", MIN_LOG_SIZE, MAX_LOG_SIZE)
                .unwrap_or(DEFAULT_LOG_SIZE)
        });

        let defaults = super::software::NodeDefaults {
            ssh,
            tmpfs_size,
            root: lab
                .root
                .as_ref()
                .and_then(|r| self.root(r, dir))
                .unwrap_or_default(),
            limits: self.limits(&lab.cpu, &lab.memory, &lab.pids),
        };

        // Nodes, sorted by name (BTreeMap order).
        let nodes_spec = match spec.nodes {
            Some(n) if !n.get_ref().is_empty() => n.into_inner(),
            other => {
                let at = other.map_or(self.src.text().len(), |n| n.span().start);
                self.err(
                    at,
                    "the lab has no nodes",
                    "add nodes, e.g.\n  [nodes]\n  h1 = {}\n  h2 = {}".to_string(),
                );
                return Err(LabErrors(self.errors));
            }
        };
        let mut nodes = Vec::with_capacity(nodes_spec.len());
        let mut firewalls = Vec::with_capacity(nodes_spec.len());
        for (name, mut ns) in nodes_spec {
            firewalls.push(ns.get_mut().firewall.take());
            let node = self.node(name, ns, &defaults, dir);
            nodes.push(node);
        }
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();

        self.after(&nodes, &index, &names);
        let links = self.links(spec.links, &nodes, &index, &names);
        self.firewalls(&mut nodes, &links, firewalls);
        self.check_outside(&nodes, &links, mgmt);
        let topo = super::checks::topology(&nodes, &links);
        let checks = self.checks(spec.checks, spec.scenarios, lab.checks.as_ref(), dir, &topo);

        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| (e.line, e.col));
            return Err(LabErrors(self.errors));
        }
        Ok(Lab {
            name,
            file: None,
            pool,
            pool6,
            routing,
            summarize,
            ssh,
            log_size,
            nodes,
            links,
            checks,
            src: self.src,
            pool_at,
            pool6_at,
            host_pool,
            mgmt,
            host_pool_at,
        })
    }

    /// Each node's `after`: known nodes, not itself, once each, and no node waiting for
    /// itself through others.
    fn after(&mut self, nodes: &[super::Node], index: &HashMap<&str, usize>, names: &[&str]) {
        let mut edges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nodes.len()];
        for (ni, n) in nodes.iter().enumerate() {
            for (i, (a, at)) in n.after.iter().enumerate() {
                let Some(&ai) = index.get(a.as_str()) else {
                    self.err(
                        *at,
                        format!("{} waits for `{a}`, which is no node of the lab", n.name),
                        suggest(a, names),
                    );
                    continue;
                };
                if ai == ni {
                    self.err(
                        *at,
                        format!("{} waits for itself", n.name),
                        "remove it".to_string(),
                    );
                } else if n.after[..i].iter().any(|(b, _)| b == a) {
                    self.err(
                        *at,
                        format!("{a} is named twice"),
                        "name it once".to_string(),
                    );
                } else {
                    edges[ni].push((ai, *at));
                }
            }
        }
        // A cycle: depth-first, colouring nodes (0 new, 1 on the stack, 2 done).
        let mut colour = vec![0u8; nodes.len()];
        for start in 0..nodes.len() {
            if colour[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            colour[start] = 1;
            while let Some(&mut (n, ref mut next)) = stack.last_mut() {
                if let Some(&(m, at)) = edges[n].get(*next) {
                    *next += 1;
                    match colour[m] {
                        0 => {
                            colour[m] = 1;
                            stack.push((m, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|&(x, _)| x == m).unwrap_or(0);
                            let mut cycle: Vec<&str> =
                                stack[from..].iter().map(|&(x, _)| names[x]).collect();
                            cycle.push(names[m]);
                            self.err(
                                at,
                                format!("nodes wait for each other: {}", cycle.join(" → ")),
                                "remove one of these `after` entries".to_string(),
                            );
                            return;
                        }
                        _ => {}
                    }
                } else {
                    colour[n] = 2;
                    stack.pop();
                }
            }
        }
    }

    /// The lab's name: the one `given`, else `[lab] name`, else the file's `stem`.
    fn lab_name(
        &mut self,
        name: &Option<S<String>>,
        lab_at: usize,
        stem: Option<&str>,
        given: Option<&str>,
    ) -> String {
        const NAME_RULE: &str = "1-12 characters of a-z, 0-9 and -, starting with a letter";
        if let Some(n) = name {
            if let Err(why) = check_name(n.get_ref(), 12) {
                self.err(
                    n.span().start,
                    format!("lab name `{}` {}", n.get_ref(), why.message),
                    format!("use {NAME_RULE}"),
                );
            }
        }
        match (given, name) {
            (Some(g), _) => {
                if let Err(why) = check_name(g, 12) {
                    let e = Invalid::new(format!("the lab name given, `{g}`, {}", why.message))
                        .hint(format!("use {NAME_RULE}"));
                    self.errors.push(LabError::in_file(&self.src.file, e));
                }
                g.to_string()
            }
            (None, Some(n)) => n.get_ref().clone(),
            (None, None) => {
                let stem = stem.unwrap_or("lab");
                if check_name(stem, 12).is_err() {
                    self.err(
                        lab_at,
                        format!(
                            "the file name `{stem}` is not a valid lab name, and [lab] sets none"
                        ),
                        format!("set `name` under [lab]: {NAME_RULE}"),
                    );
                }
                stem.to_string()
            }
        }
    }

    /// `pool` (`v4`) or `pool6`: a network of that family, with room for a segment.
    fn network(&mut self, s: &S<String>, v4: bool, what: &str) -> Option<Cidr> {
        let c = self.cidr(s)?;
        self.check(s.span().start, check_pool(c, v4, what))
    }

    /// True (and an error) when `c` is in a range no interface can use: loopback, multicast.
    pub(super) fn unusable(&mut self, c: &Cidr, at: usize, what: &str) -> bool {
        self.check(at, check_usable(c, what)).is_none()
    }

    /// A CIDR, host bits or not.
    pub(super) fn cidr(&mut self, s: &S<String>) -> Option<Cidr> {
        self.check(s.span().start, parse_cidr(s.get_ref()))
    }

    /// A size (`"64M"`) within `min..=max`.
    pub(super) fn size(&mut self, v: &S<SizeValue>, what: &str, min: u64, max: u64) -> Option<u64> {
        self.check(
            v.span().start,
            parse_size_within(v.get_ref(), what, min, max),
        )
    }

    /// A plain address (`what` names it: "gateway").
    pub(super) fn ip(&mut self, s: &S<String>, what: &str) -> Option<IpAddr> {
        self.check(s.span().start, parse_ip(s.get_ref(), what))
    }
}

/// `routing = "static"` or `"none"`.
fn parse_routing(word: &str) -> Result<Routing, Invalid> {
    Routing::from_word(word).ok_or_else(|| Invalid {
        message: format!("unknown routing `{word}`"),
        hint: suggest(word, &Routing::words()).or(Some(
            "use \"static\" (nsnet installs shortest-path routes) or \"none\" (routing daemons do it)".into(),
        )),
    })
}

fn default_host_pool() -> Cidr {
    crate::outside::DEFAULT_HOST_POOL
        .parse()
        .expect("valid default host pool")
}

fn default_pool() -> Cidr {
    DEFAULT_POOL.parse().expect("valid default pool")
}
