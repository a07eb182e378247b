//! One lab over several machines: the hosts file, where each node goes, and each host's part
//! of the plan.
//!
//! The plan stays global (addresses and routes exactly as one machine would have them); a
//! host's part is a plan of the nodes placed there, in which every link that crosses to
//! another host is a tunnel end ([`Tunnel`]): a VXLAN device in place of the veth end, with
//! its own VNI. A switch whose ports sit on several hosts is one bridge per host (a copy of
//! the switch, holding the ports of that host's nodes) joined to the switch's own host by one
//! tunnel, a trunk: traffic between two nodes of one host never leaves it.

use crate::error::{Invalid, LabError, LabErrors, Source};
use crate::partition::{self, Graph};
use crate::plan::{Endpoint, Interface, LinkPlan, Plan, Tunnel};
use crate::values::Kind;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use toml::Spanned as S;

/// The UDP port of the tunnels unless the hosts file gives one (IANA's VXLAN port).
pub const DEFAULT_PORT: u16 = 4789;

/// Bytes a VXLAN adds to a frame over IPv4 (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet
/// 14); over IPv6, 20 more.
pub const VXLAN_OVERHEAD_V4: u32 = 50;

/// Whether `s` can name a host: 1-32 characters of a-z, 0-9 and `-`, not starting with `-`.
pub fn valid_host_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The machines a lab is spread over, as a hosts file gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hosts {
    /// The UDP port every tunnel uses.
    pub port: u16,
    /// The first VNI of the lab's tunnels (each link that crosses takes the next); None:
    /// derived from the lab's name.
    pub vni: Option<u32>,
    /// An ssh_config file passed to every ssh (`ssh -F`), absolute.
    pub ssh_config: Option<PathBuf>,
    /// The hosts, sorted by name.
    pub hosts: Vec<Host>,
}

/// One machine of a spread lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// Its name in the hosts file (and in pins: `host = "m2"`).
    pub name: String,
    /// Its SSH destination (`user@host`, or a `Host` of the ssh config); the name by default.
    pub ssh: String,
    /// The address its tunnels use; None: ssh's `HostName` for it, which must then be an
    /// address.
    pub address: Option<IpAddr>,
    /// Its relative share of the nodes.
    pub capacity: f64,
    /// Where nsnet is on it; None: this nsnet is copied there for the lab's lifetime.
    pub nsnet: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostsSpec {
    port: Option<S<i64>>,
    vni: Option<S<i64>>,
    ssh_config: Option<S<String>>,
    #[serde(default)]
    hosts: BTreeMap<S<String>, S<HostSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostSpec {
    ssh: Option<S<String>>,
    address: Option<S<String>>,
    capacity: Option<S<f64>>,
    nsnet: Option<S<String>>,
}

impl Hosts {
    /// Reads and checks a hosts file; every mistake at its line and column.
    pub fn load(path: &Path) -> Result<Hosts, LabErrors> {
        let file = path.display().to_string();
        let text = crate::model::read_lab_file(path).map_err(|e| LabError::in_file(&file, e))?;
        let dir = path
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        Hosts::parse(&file, &text, &dir)
    }

    /// Parses a hosts file's text; `dir` is where relative paths in it start.
    pub fn parse(file: &str, text: &str, dir: &Path) -> Result<Hosts, LabErrors> {
        let src = Source::new(file, text);
        let spec: HostsSpec = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            LabErrors::from(src.error(at, Invalid::new(e.message().trim().to_string())))
        })?;
        let mut errs = Vec::new();
        let mut err = |at: usize, e: Invalid| errs.push(src.error(at, e));
        let port = match &spec.port {
            None => DEFAULT_PORT,
            Some(p) => match u16::try_from(*p.get_ref()) {
                Ok(v) if v > 0 => v,
                _ => {
                    err(
                        p.span().start,
                        Invalid::new(format!("port {} is not a UDP port", p.get_ref()))
                            .hint(format!("give 1-65535 (VXLAN's own is {DEFAULT_PORT})")),
                    );
                    DEFAULT_PORT
                }
            },
        };
        let vni = spec.vni.as_ref().and_then(|v| {
            let n = *v.get_ref();
            if (1..=0xff_ffff).contains(&n) {
                Some(n as u32)
            } else {
                err(
                    v.span().start,
                    Invalid::new(format!("vni {n} is not a VXLAN network identifier"))
                        .hint("give 1-16777215: the lab's tunnels take that one and the next ones"),
                );
                None
            }
        });
        let ssh_config = spec.ssh_config.as_ref().map(|c| dir.join(c.get_ref()));
        let mut hosts = Vec::new();
        for (name, h) in &spec.hosts {
            let n = name.get_ref();
            if !valid_host_name(n) {
                err(
                    name.span().start,
                    Invalid::new(format!("{n:?} is not a host name"))
                        .hint("use 1-32 characters of a-z, 0-9 and -"),
                );
                continue;
            }
            let h = h.get_ref();
            let ssh = h
                .ssh
                .as_ref()
                .map_or_else(|| n.clone(), |s| s.get_ref().clone());
            if ssh.is_empty() || ssh.starts_with('-') || ssh.chars().any(char::is_whitespace) {
                let at = h.ssh.as_ref().map_or(name.span().start, |s| s.span().start);
                err(
                    at,
                    Invalid::new(format!("ssh destination {ssh:?} is not one"))
                        .hint("give `host`, `user@host` or a Host of your ssh config"),
                );
            }
            let address = h.address.as_ref().and_then(|a| match a.get_ref().parse() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    err(
                        a.span().start,
                        Invalid::new(format!("{:?} is not an IP address", a.get_ref()))
                            .hint("give the address the other hosts reach this one at"),
                    );
                    None
                }
            });
            let capacity = match &h.capacity {
                None => 1.0,
                Some(c) if c.get_ref().is_finite() && *c.get_ref() > 0.0 => *c.get_ref(),
                Some(c) => {
                    err(
                        c.span().start,
                        Invalid::new(format!("capacity {} is not a share", c.get_ref()))
                            .hint("give a positive number: hosts get nodes in proportion to it"),
                    );
                    1.0
                }
            };
            let nsnet = h.nsnet.as_ref().and_then(|p| {
                if p.get_ref().starts_with('/') && !p.get_ref().contains(['\n', '\'']) {
                    Some(p.get_ref().clone())
                } else {
                    err(
                        p.span().start,
                        Invalid::new(format!("{:?} is not an absolute path", p.get_ref()))
                            .hint("give where nsnet is on that host, or leave it out to have it copied there"),
                    );
                    None
                }
            });
            hosts.push(Host {
                name: n.clone(),
                ssh,
                address,
                capacity,
                nsnet,
            });
        }
        if hosts.is_empty() && errs.is_empty() {
            errs.push(
                src.error(
                    0,
                    Invalid::new("the hosts file names no host")
                        .hint("add one table per machine: [hosts.m1] ssh = \"root@m1\""),
                ),
            );
        }
        if !errs.is_empty() {
            return Err(LabErrors(errs));
        }
        Ok(Hosts {
            port,
            vni,
            ssh_config,
            hosts,
        })
    }

    /// The index of the host called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.name == name)
    }
}

/// Where each node of a plan runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The host (index into [`Hosts::hosts`]) of each node, in [`Plan::nodes`] order.
    pub host_of: Vec<usize>,
}

/// Places every node of `plan` on one of `hosts`: pins first (`host = "…"`), the rest so that
/// loads follow capacities and as few links as possible cross.
pub fn place(plan: &Plan, hosts: &Hosts) -> Result<Placement, Invalid> {
    let mut pins = Vec::with_capacity(plan.nodes.len());
    for n in &plan.nodes {
        pins.push(match &n.host {
            None => None,
            Some(h) => Some(hosts.index(h).ok_or_else(|| {
                Invalid::new(format!(
                    "node {} is pinned to host {h}, which the hosts file does not name",
                    n.name
                ))
                .hint(format!(
                    "name one of {} in its `host`, or add [hosts.{h}] to the hosts file",
                    hosts
                        .hosts
                        .iter()
                        .map(|h| h.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?),
        });
    }
    let g = graph(plan);
    let caps: Vec<f64> = hosts.hosts.iter().map(|h| h.capacity).collect();
    let host_of =
        partition::partition(&g, &caps, &pins).map_err(|e| Invalid::new(e.to_string()))?;
    Ok(Placement { host_of })
}

/// The plan as a graph: one vertex a node, one edge a link.
pub fn graph(plan: &Plan) -> Graph {
    let idx = |e: &Endpoint| plan.node_index(&e.node).expect("planned node");
    Graph {
        weights: vec![1; plan.nodes.len()],
        edges: plan
            .links
            .iter()
            .map(|l| (idx(&l.a), idx(&l.b), 1))
            .collect(),
    }
}

/// What a placement costs: nodes per host, and the tunnels it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// Nodes placed on each host (switch copies not counted).
    pub nodes: Vec<usize>,
    /// The links whose ends are on two hosts (each one tunnel), as `a -- b`.
    pub crossing: Vec<(Endpoint, Endpoint, String, String)>,
    /// Switches stretched over several hosts: each copy is one bridge and one trunk tunnel.
    pub copies: Vec<(String, String)>,
}

/// Where the interface of `end` on link `l` lives: a node's own host, or, for a switch port
/// of a node on another host, that node's host (the switch's copy there).
fn end_host(plan: &Plan, place: &Placement, l: &LinkPlan, a_side: bool) -> usize {
    let (me, other) = if a_side { (&l.a, &l.b) } else { (&l.b, &l.a) };
    let mi = plan.node_index(&me.node).expect("planned node");
    let oi = plan.node_index(&other.node).expect("planned node");
    let my_kind = plan.nodes[mi].kind;
    let other_kind = plan.nodes[oi].kind;
    if my_kind == Kind::Switch && other_kind != Kind::Switch {
        place.host_of[oi]
    } else {
        place.host_of[mi]
    }
}

/// The hosts of each link's two ends (a switch port of a node on another host is on that
/// host, in the switch's copy there), in [`Plan::links`] order.
pub fn link_hosts(plan: &Plan, place: &Placement) -> Vec<(usize, usize)> {
    plan.links
        .iter()
        .map(|l| {
            (
                end_host(plan, place, l, true),
                end_host(plan, place, l, false),
            )
        })
        .collect()
}

/// The switch copies `place` needs, as (the switch's index in [`Plan::nodes`], host): a
/// switch with a port whose interface lives on a host other than the switch's own.
fn switch_copies(
    plan: &Plan,
    place: &Placement,
    link_hosts: &[(usize, usize)],
) -> std::collections::BTreeSet<(usize, usize)> {
    let mut copies = std::collections::BTreeSet::new();
    for (l, &(ha, hb)) in plan.links.iter().zip(link_hosts) {
        for (end, h) in [(&l.a, ha), (&l.b, hb)] {
            let ni = plan.node_index(&end.node).expect("planned node");
            if plan.nodes[ni].kind == Kind::Switch && h != place.host_of[ni] {
                copies.insert((ni, h));
            }
        }
    }
    copies
}

/// The tunnels and switch copies `place` needs.
pub fn cost(plan: &Plan, hosts: &Hosts, place: &Placement) -> Cost {
    let mut nodes = vec![0; hosts.hosts.len()];
    for &h in &place.host_of {
        nodes[h] += 1;
    }
    let link_hosts = link_hosts(plan, place);
    let crossing = plan
        .links
        .iter()
        .zip(&link_hosts)
        .filter(|(_, (ha, hb))| ha != hb)
        .map(|(l, &(ha, hb))| {
            (
                l.a.clone(),
                l.b.clone(),
                hosts.hosts[ha].name.clone(),
                hosts.hosts[hb].name.clone(),
            )
        })
        .collect();
    let copies = switch_copies(plan, place, &link_hosts)
        .into_iter()
        .map(|(ni, h)| (plan.nodes[ni].name.clone(), hosts.hosts[h].name.clone()))
        .collect();
    Cost {
        nodes,
        crossing,
        copies,
    }
}

/// One host's part of a spread lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The host's index in [`Hosts::hosts`].
    pub host: usize,
    /// Its nodes (and switch copies), their local links and tunnel ends: a plan `up` builds.
    pub plan: Plan,
}

/// The first VNI of a lab's tunnels when the hosts file gives none: one of 240 blocks of
/// 65,536, picked by the lab's name (two labs on the same hosts rarely meet; the kernel
/// refuses a VNI that is taken, and `vni` in the hosts file picks another).
pub fn default_vni(lab: &str) -> u32 {
    let h = crate::values::fnv1a(lab.bytes());
    0x10_0000 + (h % 240) as u32 * 0x1_0000
}

/// A trunk's interface name in switch `sw` toward host `h`: `vxh<h>`, or with a suffix if
/// the switch already has a port of that name.
fn trunk_name(sw: &crate::plan::NodePlan, h: usize) -> String {
    let base = format!("vxh{h}");
    let mut name = base.clone();
    let mut k = 0;
    while sw.interface(&name).is_some() {
        k += 1;
        name = format!("{base}x{k}");
    }
    name
}

/// Splits `plan` into one part per host that has nodes. `addrs` are the hosts' tunnel
/// addresses; `mtu` is the largest MTU every tunnel carries (the underlay's, less the VXLAN
/// overhead): interfaces on a segment that crosses hosts get it when they have no MTU of
/// their own, and one that has a larger MTU is an error.
pub fn split(
    plan: &Plan,
    hosts: &Hosts,
    place: &Placement,
    addrs: &[IpAddr],
    mtu: u32,
) -> Result<Vec<Part>, Invalid> {
    let nh = hosts.hosts.len();
    assert_eq!(addrs.len(), nh, "one address per host");
    assert_eq!(place.host_of.len(), plan.nodes.len(), "one host per node");
    let vni0 = hosts.vni.unwrap_or_else(|| default_vni(&plan.lab));
    let link_hosts = link_hosts(plan, place);
    // Switch copies: (switch node index, host) -> its trunk's VNI, after the links' VNIs.
    let first_trunk = vni0 + plan.links.len() as u32;
    let copies: BTreeMap<(usize, usize), u32> = switch_copies(plan, place, &link_hosts)
        .into_iter()
        .zip(first_trunk..)
        .collect();
    let next = first_trunk + copies.len() as u32;
    if next > 0xff_ffff {
        return Err(Invalid::new(format!(
            "the lab's tunnels need VNIs {vni0}-{}, past the largest (16777215)",
            next - 1
        ))
        .hint("give a smaller `vni` in the hosts file"));
    }
    // Segments that cross hosts carry `mtu` at most.
    let mut crossing_segs = std::collections::BTreeSet::new();
    for (li, l) in plan.links.iter().enumerate() {
        if link_hosts[li].0 != link_hosts[li].1 {
            crossing_segs.insert(l.segment);
        }
    }
    for &(ni, _) in copies.keys() {
        for i in &plan.nodes[ni].interfaces {
            crossing_segs.insert(i.segment);
        }
    }
    for l in &plan.links {
        if let Some(m) = l
            .mtu
            .filter(|&m| m > mtu && crossing_segs.contains(&l.segment))
        {
            return Err(Invalid::new(format!(
                "link {} -- {} has MTU {m}, but its traffic crosses hosts in tunnels that carry {mtu} at most",
                l.a, l.b
            ))
            .hint(format!(
                "give it (and its segment) mtu = {mtu} or less, pin both ends to one host, or raise the underlay's MTU"
            )));
        }
    }
    // What a link or interface on `segment` with `own` MTU gets in a part: the tunnels' MTU
    // where its segment crosses hosts and it has none as small (or none: the default 1500).
    let lowered = |segment: usize, own: Option<u32>| {
        if crossing_segs.contains(&segment) && own.is_none_or(|m| m > mtu) && mtu < 1500 {
            Some(mtu)
        } else {
            own
        }
    };
    let hosts_file = plan.hosts_file();
    let mut parts = Vec::new();
    for h in 0..nh {
        let present: Vec<usize> = (0..plan.nodes.len())
            .filter(|&ni| place.host_of[ni] == h || copies.contains_key(&(ni, h)))
            .collect();
        if present.is_empty() {
            continue;
        }
        let mut links: Vec<LinkPlan> = Vec::new();
        let mut tunnels: Vec<Tunnel> = Vec::new();
        let mut link_map: HashMap<usize, usize> = HashMap::new();
        for (li, l) in plan.links.iter().enumerate() {
            let (ha, hb) = link_hosts[li];
            if ha != h && hb != h {
                continue;
            }
            let mut l2 = l.clone();
            l2.mtu = lowered(l.segment, l.mtu);
            link_map.insert(li, links.len());
            if ha != hb {
                let (me, other) = if ha == h { (&l.a, hb) } else { (&l.b, ha) };
                tunnels.push(Tunnel {
                    node: me.node.clone(),
                    iface: me.iface.clone(),
                    link: links.len(),
                    vni: vni0 + li as u32,
                    local: addrs[h],
                    remote: addrs[other],
                    port: hosts.port,
                });
            }
            links.push(l2);
        }
        let mut nodes = Vec::with_capacity(present.len());
        for &ni in &present {
            let n = &plan.nodes[ni];
            let mut n2 = n.clone();
            n2.interfaces.clear();
            for i in &n.interfaces {
                let Some(&pl) = link_map.get(&i.link) else {
                    continue;
                };
                let l = &plan.links[i.link];
                let on = if l.a.node == n.name && l.a.iface == i.name {
                    link_hosts[i.link].0
                } else {
                    link_hosts[i.link].1
                };
                if on != h {
                    continue;
                }
                let mut i2 = i.clone();
                i2.link = pl;
                i2.mtu = lowered(i2.segment, i2.mtu);
                n2.interfaces.push(i2);
            }
            if n.kind == Kind::Switch {
                // Trunks: from a copy to the switch's own host, from the switch to each copy.
                let trunks: Vec<(usize, u32)> = if place.host_of[ni] == h {
                    copies
                        .iter()
                        .filter(|((s, _), _)| *s == ni)
                        .map(|((_, c), v)| (*c, *v))
                        .collect()
                } else {
                    vec![(place.host_of[ni], copies[&(ni, h)])]
                };
                for (other, vni) in trunks {
                    let name = trunk_name(n, other);
                    let seg = n.interfaces.first().map_or(0, |i| i.segment);
                    let end = Endpoint {
                        node: n.name.clone(),
                        iface: name.clone(),
                    };
                    let mut i2 = Interface {
                        name: name.clone(),
                        mac: trunk_mac(&plan.lab, &n.name, h, other),
                        mtu: None,
                        link: links.len(),
                        segment: seg,
                        addrs: Vec::new(),
                        peer: end.clone(),
                    };
                    i2.mtu = lowered(i2.segment, i2.mtu);
                    tunnels.push(Tunnel {
                        node: n.name.clone(),
                        iface: name,
                        link: links.len(),
                        vni,
                        local: addrs[h],
                        remote: addrs[other],
                        port: hosts.port,
                    });
                    links.push(LinkPlan {
                        a: end.clone(),
                        b: end,
                        mtu: i2.mtu,
                        cost: 1,
                        segment: seg,
                        impair: Default::default(),
                    });
                    n2.interfaces.push(i2);
                }
            }
            nodes.push(n2);
        }
        parts.push(Part {
            host: h,
            plan: Plan {
                lab: plan.lab.clone(),
                source: plan.source.clone(),
                routing: plan.routing,
                dual_stack: plan.dual_stack,
                summarize: plan.summarize.clone(),
                nodes,
                links,
                segments: plan.segments.clone(),
                log_size: plan.log_size,
                checks: Default::default(),
                tunnels,
                etc_hosts: Some(hosts_file.clone()),
            },
        });
    }
    Ok(parts)
}

/// A trunk end's MAC: locally administered, from (lab, switch, this host, other host).
fn trunk_mac(lab: &str, sw: &str, h: usize, other: usize) -> crate::plan::Mac {
    let key = format!("{lab}/{sw}/trunk/{h}/{other}");
    let b = crate::values::fnv1a(key.bytes()).to_be_bytes();
    crate::plan::Mac([(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], b[4], b[5]])
}

/// Checks a part as a host receives it (on stdin, from whoever runs `up`): names that name
/// files and netns entries, nodes sorted, every index in range, every tunnel an interface
/// of a node of the part. `split` makes only parts that pass; anything else is refused
/// before a byte of it is acted on.
pub fn check_part(plan: &Plan) -> Result<(), Invalid> {
    let bad = |what: String| {
        Err(Invalid::new(format!(
            "the part is not one nsnet made: {what}"
        )))
    };
    crate::model::check_name(&plan.lab, 12)
        .map_err(|e| Invalid::new(format!("lab name {:?} {}", plan.lab, e.message)))?;
    if !plan.nodes.windows(2).all(|w| w[0].name < w[1].name) {
        return bad("its nodes are not sorted by name".into());
    }
    for n in &plan.nodes {
        if let Err(e) = crate::model::check_node_name(&n.name) {
            return bad(format!("node {:?} {}", n.name, e.message));
        }
        for i in &n.interfaces {
            if let Err(e) = crate::model::check_ifname(&i.name, n.kind) {
                return bad(format!("{}:{:?} {}", n.name, i.name, e.message));
            }
            if i.link >= plan.links.len() || i.segment >= plan.segments.len() {
                return bad(format!(
                    "{}:{} names a link or segment it has not",
                    n.name, i.name
                ));
            }
        }
    }
    for l in &plan.links {
        if l.segment >= plan.segments.len() {
            return bad(format!(
                "link {} -- {} names a segment it has not",
                l.a, l.b
            ));
        }
    }
    for t in &plan.tunnels {
        let ok = plan
            .node(&t.node)
            .and_then(|n| n.interface(&t.iface))
            .is_some_and(|i| i.link == t.link);
        if !ok || !(1..=0xff_ffff).contains(&t.vni) || t.port == 0 {
            return bad(format!("tunnel {}:{} (vni {})", t.node, t.iface, t.vni));
        }
    }
    Ok(())
}
