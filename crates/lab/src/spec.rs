//! Plain serde structs that mirror the lab file, every value with its span, so that the
//! resolving step (`model`) can point at the exact place of a mistake.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    pub lab: Option<S<LabSpec>>,
    pub nodes: Option<S<BTreeMap<S<String>, S<NodeSpec>>>>,
    #[serde(default)]
    pub links: Vec<S<LinkSpec>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    pub name: Option<S<String>>,
    pub pool: Option<S<String>>,
    pub pool6: Option<S<String>>,
    pub routing: Option<S<String>>,
    pub summarize: Option<S<bool>>,
    pub ssh: Option<S<bool>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub kind: Option<S<String>>,
    #[serde(default)]
    pub exec: Vec<S<String>>,
    #[serde(default)]
    pub sysctl: BTreeMap<S<String>, S<SysctlValue>>,
    #[serde(default)]
    pub files: BTreeMap<S<String>, S<String>>,
    #[serde(default)]
    pub private: Vec<S<String>>,
    #[serde(default)]
    pub routes: Vec<S<RouteSpec>>,
    pub gateway: Option<S<String>>,
    pub ssh: Option<S<bool>>,
    pub firewall: Option<S<crate::firewall::FirewallSpec>>,
}

/// Sysctl values may be written as strings, integers or booleans.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SysctlValue {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl SysctlValue {
    pub fn render(&self) -> String {
        match self {
            SysctlValue::Str(s) => s.clone(),
            SysctlValue::Int(i) => i.to_string(),
            SysctlValue::Bool(b) => (*b as u8).to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub to: S<String>,
    pub via: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub endpoints: S<Vec<S<String>>>,
    pub subnet: Option<S<String>>,
    pub addresses: Option<S<Vec<S<String>>>>,
    pub mtu: Option<S<i64>>,
    pub cost: Option<S<i64>>,
    /// Impairments (see `impair`): `rate = "10mbit"`, `delay = "20ms"`, `jitter`, `loss`.
    pub rate: Option<S<String>>,
    pub delay: Option<S<String>>,
    pub jitter: Option<S<String>>,
    pub loss: Option<S<String>>,
}

/// Every key the file may hold, per table: for "did you mean" hints.
pub const LAB_KEYS: &[&str] = &["name", "pool", "pool6", "routing", "summarize", "ssh"];
pub const NODE_KEYS: &[&str] = &[
    "kind", "exec", "sysctl", "files", "private", "routes", "gateway", "ssh", "firewall",
];
pub const LINK_KEYS: &[&str] = &[
    "endpoints",
    "subnet",
    "addresses",
    "mtu",
    "cost",
    "rate",
    "delay",
    "jitter",
    "loss",
];
pub const ROUTE_KEYS: &[&str] = &["to", "via"];
pub const TOP_KEYS: &[&str] = &["lab", "nodes", "links"];
