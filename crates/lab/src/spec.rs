//! Plain serde structs that mirror the lab file, every value with its span, so that the
//! resolving step (`model`) can point at the exact place of a mistake.

use crate::size::SizeValue;
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
    #[serde(default)]
    pub checks: Vec<S<crate::checks::spec::CheckSpec>>,
    #[serde(default)]
    pub scenarios: Vec<S<crate::checks::spec::ScenarioSpec>>,
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
    pub tmpfs_size: Option<S<SizeValue>>,
    pub log_size: Option<S<SizeValue>>,
    pub root: Option<S<String>>,
    pub cpu: Option<S<f64>>,
    pub memory: Option<S<SizeValue>>,
    pub pids: Option<S<i64>>,
    /// Where links to the host take their /30 from.
    pub host_pool: Option<S<String>>,
    /// A management address (a link to the host) for every host and router.
    pub mgmt: Option<S<bool>>,
    /// A checks file beside the lab file (`[[checks]]`, `[[scenarios]]`).
    pub checks: Option<S<String>>,
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
    pub private: Vec<S<PrivateSpec>>,
    #[serde(default)]
    pub routes: Vec<S<RouteSpec>>,
    pub gateway: Option<S<String>>,
    pub ssh: Option<S<bool>>,
    pub firewall: Option<S<FirewallSpec>>,
    pub tmpfs_size: Option<S<SizeValue>>,
    pub privileged: Option<S<bool>>,
    pub stp: Option<S<bool>>,
    pub root: Option<S<String>>,
    pub tree: Option<S<String>>,
    #[serde(default)]
    pub services: Vec<S<String>>,
    pub cpu: Option<S<f64>>,
    pub memory: Option<S<SizeValue>>,
    pub pids: Option<S<i64>>,
    /// Addresses on the node's loopback, routed like subnets.
    pub loopback: Option<S<OneOrMany>>,
    /// Keep IPv6 on (link-local addresses) even without IPv6 addresses.
    pub ipv6: Option<S<bool>>,
    /// Nodes whose startup (`exec` lines) ends before this node's `exec` lines start.
    #[serde(default)]
    pub after: Vec<S<String>>,
    /// Environment of the node's commands.
    #[serde(default)]
    pub env: BTreeMap<S<String>, S<String>>,
    /// Host paths mounted into the node: `"/host/path:/node/path[:ro]"`.
    #[serde(default)]
    pub binds: Vec<S<String>>,
    /// A link to the host with NAT: the node reaches what the host reaches.
    pub uplink: Option<S<bool>>,
    /// Ports published on the host: `"8080:80"`, `"127.0.0.1:2222:22"`, `"53:53/udp"`.
    #[serde(default)]
    pub ports: Vec<S<String>>,
    /// Host interfaces moved into the node.
    #[serde(default)]
    pub host_ifaces: Vec<S<HostIfaceSpec>>,
    /// The host of a lab spread over several machines that this node must run on.
    pub host: Option<S<String>>,
}

/// A `host_ifaces` entry: the host interface's name, or a table.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum HostIfaceSpec {
    Name(String),
    Table(HostIfaceTable),
}

/// `{ host = "enp0s8", name = "wan", addresses = ["192.0.2.10/24"], force = true }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostIfaceTable {
    pub host: String,
    pub name: Option<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub macvlan: bool,
}

/// A `private` entry: a path, or a table with its mode and owner.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PrivateSpec {
    Path(String),
    Table(PrivateTable),
}

/// `{ path = "/var/cache/bind", mode = "0775", owner = "root", group = "bind" }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateTable {
    pub path: String,
    pub mode: Option<ModeValue>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// A mode: an octal string ("0775") or an integer (0o775 in TOML).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ModeValue {
    Str(String),
    Int(i64),
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
    /// The interface toward `via`: needed when `via` is an IPv6 link-local address.
    pub dev: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub endpoints: S<Vec<S<EndpointSpec>>>,
    pub subnet: Option<S<String>>,
    pub addresses: Option<S<Vec<S<String>>>>,
    pub mtu: Option<S<i64>>,
    pub cost: Option<S<i64>>,
    /// Impairments (see `impair`): `rate = "10mbit"`, `delay = "20ms"`, `jitter`, `loss`.
    pub rate: Option<S<String>>,
    pub delay: Option<S<String>>,
    pub jitter: Option<S<String>>,
    pub loss: Option<S<String>>,
    /// A pure L2 link: no addresses on either end.
    pub l2: Option<S<bool>>,
    /// Links with the same segment name are one L2 domain with one subnet (stretched).
    pub segment: Option<S<String>>,
    /// `"ipv4"`, `"ipv6"` or `"dual"`: which families the link's segment carries.
    pub family: Option<S<String>>,
}

/// An endpoint: `"node"`, `"node:iface"`, or a table with its MAC and addresses.
#[derive(Debug)]
pub enum EndpointSpec {
    Name(String),
    Table(EndpointTable),
}

impl<'de> Deserialize<'de> for EndpointSpec {
    /// By hand rather than `untagged`, so a wrong key in a table is named as such.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = EndpointSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"node\", \"node:iface\" or a table { node = \"…\", … }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EndpointSpec, E> {
                Ok(EndpointSpec::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                m: A,
            ) -> Result<EndpointSpec, A::Error> {
                EndpointTable::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(EndpointSpec::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// `{ node = "r1", iface = "eth1", mac = "02:00:00:00:00:01", address = "10.0.0.1/24" }`;
/// `address = "none"` (or `addresses = []`) leaves the interface without addresses.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointTable {
    pub node: String,
    pub iface: Option<String>,
    pub mac: Option<String>,
    pub address: Option<String>,
    pub addresses: Option<Vec<String>>,
}

/// `loopback = "10.255.0.1/32"` or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallSpec {
    pub input: Option<S<String>>,
    pub forward: Option<S<String>>,
    pub output: Option<S<String>>,
    #[serde(default)]
    pub rules: Vec<S<RuleSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub chain: S<String>,
    pub src: Option<S<String>>,
    pub dst: Option<S<String>>,
    pub proto: Option<S<String>>,
    pub sport: Option<S<PortSpec>>,
    pub dport: Option<S<PortSpec>>,
    pub iif: Option<S<String>>,
    pub oif: Option<S<String>>,
    pub state: Option<S<Vec<S<String>>>>,
    pub action: S<String>,
    pub to: Option<S<String>>,
    pub nth: Option<S<NthSpec>>,
    pub random: Option<S<NumSpec>>,
    pub limit: Option<S<String>>,
    pub burst: Option<S<i64>>,
    pub log: Option<S<String>>,
}

/// `nth = { every = 3, packet = 0 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NthSpec {
    pub every: S<i64>,
    pub packet: Option<S<i64>>,
}

/// A number written as an integer or a float (`random = 0.25`), or mistakenly as text
/// (`random = "25%"`), refused with a hint by `model`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NumSpec {
    Int(i64),
    Float(f64),
    Text(String),
}

/// `dport = 22` or `dport = "8000-8080"` (or `"!22"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PortSpec {
    Num(i64),
    Text(String),
}

/// Every key the file may hold, per table: for "did you mean" hints.
pub const LAB_KEYS: &[&str] = &[
    "name",
    "pool",
    "pool6",
    "routing",
    "summarize",
    "ssh",
    "tmpfs_size",
    "log_size",
    "root",
    "cpu",
    "memory",
    "pids",
    "host_pool",
    "mgmt",
    "checks",
];
pub const NODE_KEYS: &[&str] = &[
    "kind",
    "exec",
    "sysctl",
    "files",
    "private",
    "routes",
    "gateway",
    "ssh",
    "firewall",
    "tmpfs_size",
    "privileged",
    "stp",
    "root",
    "tree",
    "services",
    "cpu",
    "memory",
    "pids",
    "loopback",
    "ipv6",
    "after",
    "env",
    "binds",
    "uplink",
    "ports",
    "host_ifaces",
    "host",
];
pub const HOST_IFACE_KEYS: &[&str] = &["host", "name", "addresses", "force", "macvlan"];
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
    "l2",
    "segment",
    "family",
];
pub const ROUTE_KEYS: &[&str] = &["to", "via", "dev"];
pub const ENDPOINT_KEYS: &[&str] = &["node", "iface", "mac", "address", "addresses"];
pub const TOP_KEYS: &[&str] = &["lab", "nodes", "links", "checks", "scenarios"];
pub const FIREWALL_KEYS: &[&str] = &["input", "forward", "output", "rules"];
pub const RULE_KEYS: &[&str] = &[
    "chain", "src", "dst", "proto", "sport", "dport", "iif", "oif", "state", "action", "to", "nth",
    "random", "limit", "burst", "log",
];
pub const NTH_KEYS: &[&str] = &["every", "packet"];
