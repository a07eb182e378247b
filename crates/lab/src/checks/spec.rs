//! The `[[checks]]` and `[[scenarios]]` tables as serde reads them, every value with its
//! span (see `crate::spec`, which holds them in a lab file).

use serde::Deserialize;

pub(crate) type S<T> = toml::Spanned<T>;

/// One `[[checks]]` table: a name, a node, one kind key (`ping`, `tcp`, `udp`, `path`,
/// `route`, `rule`, `resolve`, `command`) and the keys that kind takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckSpec {
    pub name: S<String>,
    pub node: Option<S<String>>,
    pub ping: Option<S<String>>,
    pub tcp: Option<S<String>>,
    pub udp: Option<S<String>>,
    pub path: Option<S<String>>,
    pub route: Option<S<String>>,
    pub rule: Option<S<i64>>,
    pub resolve: Option<S<String>>,
    pub command: Option<S<String>>,
    pub expect: Option<S<String>>,
    pub family: Option<S<i64>>,
    pub count: Option<S<i64>>,
    pub size: Option<S<i64>>,
    pub min_rtt: Option<S<String>>,
    pub max_rtt: Option<S<String>>,
    pub min_loss: Option<S<String>>,
    pub max_loss: Option<S<String>>,
    pub send: Option<S<String>>,
    pub counted_by: Option<S<String>>,
    pub via: Option<S<Via>>,
    pub traceroute: Option<S<bool>>,
    pub dev: Option<S<String>>,
    pub proto: Option<S<String>>,
    pub packets: Option<S<i64>>,
    pub address: Option<S<String>>,
    pub server: Option<S<String>>,
    pub status: Option<S<i64>>,
    pub contains: Option<S<Strings>>,
    pub matches: Option<S<String>>,
    pub json: Option<S<toml::Value>>,
    pub timeout: Option<S<String>>,
    pub wait: Option<S<String>>,
    pub every: Option<S<String>>,
}

/// `via = "10.0.12.2"` (a route's next hop) or `via = ["r1", "r3"]` (a path's nodes).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Via {
    One(String),
    Many(Vec<String>),
}

/// `contains = "Full"` or `contains = ["Full", "10.255.0.2"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Strings {
    One(String),
    Many(Vec<String>),
}

impl Strings {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Strings::One(s) => vec![s],
            Strings::Many(v) => v,
        }
    }
}

/// A link as a step names it: `"r1:eth1"` or `["r1", "r2"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum LinkName {
    End(String),
    Nodes(Vec<String>),
}

/// One `[[scenarios]]` table: its own checks (run only when a step names them) and steps.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScenarioSpec {
    pub name: S<String>,
    #[serde(default)]
    pub checks: Vec<S<CheckSpec>>,
    #[serde(default)]
    pub steps: Vec<S<StepSpec>>,
}

/// One `[[scenarios.steps]]` table: one action key and its options, optionally `at`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepSpec {
    pub at: Option<S<String>>,
    pub link_down: Option<S<LinkName>>,
    pub link_up: Option<S<LinkName>>,
    pub reroute: Option<S<bool>>,
    pub impair: Option<S<LinkName>>,
    pub rate: Option<S<String>>,
    pub delay: Option<S<String>>,
    pub jitter: Option<S<String>>,
    pub loss: Option<S<String>>,
    pub restore: Option<S<LinkName>>,
    pub exec: Option<S<String>>,
    pub node: Option<S<String>>,
    pub sleep: Option<S<String>>,
    pub check: Option<S<String>>,
    pub checks: Option<S<Vec<S<String>>>>,
}

/// A file of checks beside a lab (`[lab] checks = "lab.checks.toml"`, `nsnet test --checks`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChecksFileSpec {
    #[serde(default)]
    pub checks: Vec<S<CheckSpec>>,
    #[serde(default)]
    pub scenarios: Vec<S<ScenarioSpec>>,
}

/// The keys of a check, a scenario and a step: for "did you mean" hints.
pub(crate) const CHECK_KEYS: &[&str] = &[
    "name",
    "node",
    "ping",
    "tcp",
    "udp",
    "path",
    "route",
    "rule",
    "resolve",
    "command",
    "expect",
    "family",
    "count",
    "size",
    "min_rtt",
    "max_rtt",
    "min_loss",
    "max_loss",
    "send",
    "counted_by",
    "via",
    "traceroute",
    "dev",
    "proto",
    "packets",
    "address",
    "server",
    "status",
    "contains",
    "matches",
    "json",
    "timeout",
    "wait",
    "every",
];
pub(crate) const SCENARIO_KEYS: &[&str] = &["name", "checks", "steps"];
pub(crate) const STEP_KEYS: &[&str] = &[
    "at",
    "link_down",
    "link_up",
    "reroute",
    "impair",
    "rate",
    "delay",
    "jitter",
    "loss",
    "restore",
    "exec",
    "node",
    "sleep",
    "check",
    "checks",
];
