//! What a lab changes on the host, and how every change is undone: links from nodes to the
//! host (uplinks, management addresses), the NAT of uplinks (nsnet's own nftables table and
//! per-interface forwarding sysctls), host interfaces moved into nodes, and the relay of
//! published ports ([`relay`]).
//!
//! Each change is written to the lab's `outside.json` *before* it is made, so `down` undoes
//! exactly what was done, also after an `up` that was killed or a nsnet that crashed:
//! - a link to the host is a veth whose host end goes with the node's namespace: nothing is
//!   left of it once the node is gone (`down` waits until it is);
//! - the nftables table `inet nsnet-<lab>` carries the comment `nsnet lab <lab>`, and only a
//!   table with that comment is deleted;
//! - each sysctl is recorded with the value it had and the one written, and put back only
//!   while it still holds ours;
//! - each host interface is recorded with its index, MAC, MTU, state and addresses, moved back
//!   at `down` before its node stops (a physical interface that the kernel gave back when its
//!   node died is found by index and MAC and renamed; a veth end dies with the node).

pub mod relay;

use crate::state::{self, LabDir, LabName, StateError};
use nsnet_lab::outside::HostLink;
use nsnet_lab::{Cidr, Plan};
use nsnet_netcfg::nft::{Action, Hook, Match, NftChain, NftRule};
use nsnet_netcfg::{NetError, Netns, NftSocket, RtSocket};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The lab's record of what it changed on the host, in its state dir.
pub const RECORD: &str = "outside.json";
/// The table of NAT rules in a node with an uplink.
pub const NODE_TABLE: &str = "nsnet-uplink";

#[derive(Debug, thiserror::Error)]
pub enum OutsideError {
    #[error("{what}: {source}")]
    Net {
        what: String,
        #[source]
        source: NetError,
    },
    #[error(
        "the link of {node} to the host would take {subnet}, which the host uses ({why}); \
         nsnet changes nothing of the host's"
    )]
    Overlap {
        node: String,
        subnet: Cidr,
        why: String,
    },
    #[error(
        "host interface {name} exists and is not this lab's (another lab's link to the host?)"
    )]
    NameTaken { name: String },
    #[error("the host has no interface {name} to give to node {node}")]
    NoHostIface { name: String, node: String },
    #[error(
        "host interface {name} carries the host's default route: giving it to node {node} \
         would cut the host off"
    )]
    DefaultRoute { name: String, node: String },
    #[error("{name} is the host's own or another lab's interface, not one to give away")]
    NotGivable { name: String },
    #[error("nftables table inet {table} exists and is not this lab's: nsnet will not touch it")]
    TableTaken { table: String },
    #[error("publishing port {port} of node {node}: {source}")]
    Bind {
        port: String,
        node: String,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the port relay: {0}")]
    Relay(std::io::Error),
    #[error(transparent)]
    State(#[from] StateError),
}

fn net(what: impl Into<String>) -> impl FnOnce(NetError) -> OutsideError {
    let what = what.into();
    move |source| OutsideError::Net { what, source }
}

/// A sysctl of the host nsnet changed: the value it had and the one written. `ifindex` is the
/// interface's for a per-interface key (it is put back only on that very interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysctlChange {
    pub key: String,
    pub before: String,
    pub after: String,
    #[serde(default)]
    pub ifindex: u32,
}

/// A host interface given to a node, as it was on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    pub node: String,
    /// Its name on the host, and in the node.
    pub host: String,
    pub name: String,
    pub ifindex: u32,
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    pub up: bool,
    /// Its addresses on the host (link-local ones aside: the kernel makes those).
    pub addrs: Vec<Cidr>,
    /// The kernel's kind ("veth", …; None for a physical device).
    pub kind: Option<String>,
}

/// The relay process of the lab's published ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayRecord {
    pub pid: i32,
    pub start_time: u64,
}

/// Everything the lab changed on the host (see the module's doc).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    /// Host ends of the links to the host, with their nodes.
    pub links: Vec<(String, String)>,
    /// The table `inet nsnet-<lab>`, once it is (about to be) made.
    pub table: Option<String>,
    pub sysctls: Vec<SysctlChange>,
    pub taken: Vec<Taken>,
    pub relay: Option<RelayRecord>,
    /// What `up` has to tell about the host (its firewall drops forwarded packets …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl HostRecord {
    pub fn load(dir: &LabDir) -> Option<HostRecord> {
        let text = dir.read(RECORD).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// The record of lab `lab` (none when it changed nothing on the host).
    pub fn of(lab: &LabName) -> Option<HostRecord> {
        let store = state::Store::open().ok()??;
        let dir = store.lab(lab).ok()??;
        HostRecord::load(&dir)
    }

    fn save(&self, dir: &LabDir) -> Result<(), OutsideError> {
        Ok(state::write_json(dir, RECORD, self)?)
    }
}

/// The host table of lab `lab`.
pub fn table_name(lab: &str) -> String {
    format!("nsnet-{lab}")
}

fn table_comment(lab: &str) -> String {
    format!("nsnet lab {lab}")
}

/// Whether the plan asks for anything on the host.
pub fn wanted(plan: &Plan) -> bool {
    plan.nodes
        .iter()
        .any(|n| n.host_link.is_some() || !n.ports.is_empty() || !n.host_ifaces.is_empty())
}

/// The host links of the plan, with their nodes.
fn host_links(plan: &Plan) -> impl Iterator<Item = (&str, &HostLink)> {
    plan.nodes
        .iter()
        .filter_map(|n| n.host_link.as_ref().map(|h| (n.name.as_str(), h)))
}

/// What the host has now: links, addresses, routes of every table (IPv4).
struct HostView {
    links: Vec<nsnet_netcfg::LinkInfo>,
    addrs: Vec<nsnet_netcfg::AddrInfo>,
    routes: Vec<nsnet_netcfg::RouteInfo>,
}

impl HostView {
    fn read(sock: &mut RtSocket) -> Result<HostView, OutsideError> {
        Ok(HostView {
            links: sock.links().map_err(net("reading the host's links"))?,
            addrs: sock.addrs().map_err(net("reading the host's addresses"))?,
            routes: sock
                .routes_all_tables(false)
                .map_err(net("reading the host's routes"))?,
        })
    }

    fn link(&self, name: &str) -> Option<&nsnet_netcfg::LinkInfo> {
        self.links.iter().find(|l| l.name == name)
    }
}

/// Before anything is built: refuses what would clash with the host (a host-link subnet the
/// host uses, a name taken, a host interface missing or carrying the default route, a table
/// of the lab's name), and notes what would stop an uplink (the host's firewall dropping
/// forwarded packets). Writes the empty record.
pub fn check(plan: &Plan, dir: &LabDir) -> Result<HostRecord, OutsideError> {
    let mut rec = HostRecord::default();
    if !wanted(plan) {
        return Ok(rec);
    }
    let mut sock = RtSocket::open().map_err(net("opening a netlink socket"))?;
    let host = HostView::read(&mut sock)?;
    for (node, h) in host_links(plan) {
        let subnet = h.addr.network();
        if let Some(a) = host.addrs.iter().find(|a| subnet.contains(&a.addr)) {
            return Err(OutsideError::Overlap {
                node: node.into(),
                subnet,
                why: format!("address {}/{} on {}", a.addr, a.prefix, a.ifname),
            });
        }
        if let Some(r) = host.routes.iter().find(|r| {
            r.prefix > 0 && Cidr::new(r.dst, r.prefix).is_some_and(|c| c.overlaps(&subnet))
        }) {
            let dev = r.nexthops.first().and_then(|h| h.dev.clone());
            return Err(OutsideError::Overlap {
                node: node.into(),
                subnet,
                why: format!(
                    "route {}/{}{} in table {}",
                    r.dst,
                    r.prefix,
                    dev.map(|d| format!(" dev {d}")).unwrap_or_default(),
                    r.table
                ),
            });
        }
        if host.link(&h.host_iface).is_some() {
            return Err(OutsideError::NameTaken {
                name: h.host_iface.clone(),
            });
        }
    }
    for n in &plan.nodes {
        for hi in &n.host_ifaces {
            let Some(l) = host.link(&hi.host) else {
                return Err(OutsideError::NoHostIface {
                    name: hi.host.clone(),
                    node: n.name.clone(),
                });
            };
            if l.name == "lo" || l.name.starts_with("nsu") || l.name.starts_with("nsm") {
                return Err(OutsideError::NotGivable {
                    name: hi.host.clone(),
                });
            }
            let default = host.routes.iter().any(|r| {
                r.prefix == 0 && r.table == 254 && r.nexthops.iter().any(|h| h.ifindex == l.index)
            });
            // A macvlan leaves the host its interface (and its default route).
            if default && !hi.force && !hi.macvlan {
                return Err(OutsideError::DefaultRoute {
                    name: hi.host.clone(),
                    node: n.name.clone(),
                });
            }
        }
    }
    if host_links(plan).any(|(_, h)| h.nat) {
        let mut nft = NftSocket::open().map_err(net("opening an nftables socket"))?;
        let table = table_name(&plan.lab);
        if nft
            .table_comment(&table)
            .map_err(net(format!("looking up table inet {table}")))?
            .is_some()
        {
            return Err(OutsideError::TableTaken { table });
        }
        let chains = nft
            .chains()
            .map_err(net("listing the host's nftables chains"))?;
        rec.notes.extend(forward_drops(&chains));
        if std::path::Path::new("/proc/net/ip_tables_names").exists()
            && std::fs::read_to_string("/proc/net/ip_tables_names")
                .is_ok_and(|t| t.lines().any(|l| l == "filter"))
        {
            rec.notes.push("the host has legacy iptables rules (table filter): if its FORWARD chain drops, an uplink reaches the host itself but nothing beyond it".into());
        }
    }
    rec.save(dir)?;
    Ok(rec)
}

/// What to say of the host's firewall: each IPv4 forward chain whose policy drops (an uplink
/// then reaches the host, and nothing beyond it).
pub fn forward_drops(chains: &[nsnet_netcfg::nft::ChainInfo]) -> Vec<String> {
    chains
        .iter()
        // NF_INET_FORWARD, in a table of family inet or ip.
        .filter(|c| c.hook == Some(2) && !c.accept && matches!(c.family, 1 | 2))
        .map(|c| format!(
            "the host's firewall drops forwarded packets (chain {}, policy drop): an uplink reaches the host itself, but nothing beyond it until that chain accepts what comes in on the uplinks (iifname \"nsu*\") and their replies; nsnet does not change the host's own tables",
            c.describe()
        ))
        .collect()
}

/// The host's network namespace (ours), for links that end on the host.
fn host_netns() -> Result<Netns, OutsideError> {
    Netns::current().map_err(net("opening the host's network namespace"))
}

/// Writes sysctl `key` to `value` on the host, recording the value it had first (skipped when
/// it already holds it).
fn set_sysctl(
    rec: &mut HostRecord,
    dir: &LabDir,
    key: String,
    value: &str,
    ifindex: u32,
) -> Result<(), OutsideError> {
    let before = nsnet_netcfg::read_sysctl(&key).map_err(net("reading a host sysctl"))?;
    if before == value {
        return Ok(());
    }
    rec.sysctls.push(SysctlChange {
        key: key.clone(),
        before,
        after: value.to_string(),
        ifindex,
    });
    rec.save(dir)?;
    nsnet_netcfg::write_sysctl(&key, value).map_err(net("writing a host sysctl"))
}

/// The nodes' links to the host (each veth made with one message, its host end configured
/// here; the node's end is configured with the rest of the node), then the host interfaces
/// moved into their nodes. `netns(i)` is node i's network namespace.
pub fn build_links(
    plan: &Plan,
    dir: &LabDir,
    rec: &mut HostRecord,
    netns: &[std::os::fd::BorrowedFd<'_>],
) -> Result<(), OutsideError> {
    if !wanted(plan) {
        return Ok(());
    }
    let here = host_netns()?;
    let mut sock = RtSocket::open().map_err(net("opening a netlink socket"))?;
    for (i, n) in plan.nodes.iter().enumerate() {
        let Some(h) = &n.host_link else { continue };
        rec.links.push((h.host_iface.clone(), n.name.clone()));
        rec.save(dir)?;
        let node_end = nsnet_netcfg::VethEnd {
            name: &h.iface,
            index: None,
            mac: None,
            mtu: None,
            netns: netns[i],
        };
        let host_end = nsnet_netcfg::VethEnd {
            name: &h.host_iface,
            index: None,
            mac: None,
            mtu: None,
            netns: here.as_fd(),
        };
        let what = format!("{}: its link to the host", n.name);
        sock.create_veth(&node_end, &host_end)
            .map_err(net(what.clone()))?;
        // No IPv6 on the host's end: no DAD, router solicitations or MLD from it. The key
        // goes with the interface (and is missing on a host without IPv6: nothing to do).
        let key = format!("net/ipv6/conf/{}/disable_ipv6", h.host_iface);
        let _ = nsnet_netcfg::write_sysctl(&key, "1");
        if h.nat {
            let key = format!("net/ipv4/conf/{}/forwarding", h.host_iface);
            nsnet_netcfg::write_sysctl(&key, "1").map_err(net(what.clone()))?;
        }
        let mut b = sock.batch();
        b.add_addr(&h.host_iface, h.host_addr.addr, h.host_addr.prefix);
        b.set_link_up(&h.host_iface);
        b.commit().map_err(|mut e| net(what)(e.swap_remove(0)))?;
    }
    // Host interfaces: recorded as they are, then moved (renamed) into their nodes.
    let host = HostView::read(&mut sock)?;
    for (i, n) in plan.nodes.iter().enumerate() {
        for hi in &n.host_ifaces {
            let Some(l) = host.link(&hi.host) else {
                return Err(OutsideError::NoHostIface {
                    name: hi.host.clone(),
                    node: n.name.clone(),
                });
            };
            if hi.macvlan {
                // Made in the node, it dies with it: nothing to record.
                sock.create_macvlan(&hi.name, &hi.host, l.index, netns[i])
                    .map_err(net(format!(
                        "{}: a macvlan on host interface {}",
                        n.name, hi.host
                    )))?;
                continue;
            }
            rec.taken.push(Taken {
                node: n.name.clone(),
                host: hi.host.clone(),
                name: hi.name.clone(),
                ifindex: l.index,
                mac: l.mac,
                mtu: l.mtu,
                up: l.up,
                addrs: host
                    .addrs
                    .iter()
                    .filter(|a| a.ifindex == l.index && !link_local(&a.addr))
                    .filter_map(|a| Cidr::new(a.addr, a.prefix))
                    .collect(),
                kind: l.kind.clone(),
            });
            rec.save(dir)?;
            // Down first: the kernel renames only a link that is down.
            sock.set_link_down(&hi.host)
                .and_then(|()| sock.move_link(&hi.host, l.index, netns[i], &hi.name))
                .map_err(net(format!(
                    "{}: taking host interface {}",
                    n.name, hi.host
                )))?;
        }
    }
    Ok(())
}

fn link_local(a: &IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// The NAT of the uplinks: the table `inet nsnet-<lab>` masquerading what each uplink's node
/// sends on, and forwarding on the host's interfaces that have an IPv4 address (replies come
/// back in through them), each recorded first.
pub fn build_nat(plan: &Plan, dir: &LabDir, rec: &mut HostRecord) -> Result<(), OutsideError> {
    let uplinks: Vec<&HostLink> = host_links(plan).map(|(_, h)| h).filter(|h| h.nat).collect();
    if uplinks.is_empty() {
        return Ok(());
    }
    let table = table_name(&plan.lab);
    rec.table = Some(table.clone());
    rec.save(dir)?;
    let chain = NftChain {
        name: "postrouting".into(),
        nat: true,
        hook: Hook::Postrouting,
        priority: 100,
        accept: true,
    };
    let rules: Vec<NftRule> = uplinks
        .iter()
        .map(|h| NftRule {
            chain: "postrouting".into(),
            matches: vec![
                Match::Family(false),
                Match::Saddr(h.addr.addr, 32),
                Match::Not(Box::new(Match::OifName(h.host_iface.clone()))),
            ],
            log: None,
            action: Action::Masquerade,
            comment: format!("nsnet uplink {}", h.host_iface),
            desc: format!("the masquerade of uplink {}", h.host_iface),
        })
        .collect();
    let mut nft = NftSocket::open().map_err(net("opening an nftables socket"))?;
    nft.apply_commented(&table, Some(&table_comment(&plan.lab)), &[chain], &rules)
        .map_err(|mut e| net(format!("adding table inet {table}"))(e.swap_remove(0)))?;
    let mut sock = RtSocket::open().map_err(net("opening a netlink socket"))?;
    // The lab's own host ends: an uplink's forwards already, a management link never does.
    let ours: Vec<&str> = host_links(plan)
        .map(|(_, h)| h.host_iface.as_str())
        .collect();
    let addrs = sock.addrs().map_err(net("reading the host's addresses"))?;
    let links = sock.links().map_err(net("reading the host's links"))?;
    for l in &links {
        let has_v4 = addrs
            .iter()
            .any(|a| a.ifindex == l.index && a.addr.is_ipv4());
        if l.name == "lo" || ours.contains(&l.name.as_str()) || !has_v4 {
            continue;
        }
        let key = format!("net/ipv4/conf/{}/forwarding", l.name);
        set_sysctl(rec, dir, key, "1", l.index)?;
    }
    Ok(())
}

/// Puts back what `rec` says was changed, as far as it is still ours, collecting what fails.
/// `node_netns(node)` opens a live node's network namespace (for host interfaces still in
/// it); call before the nodes are stopped, then [`restore_after`] once they are gone.
pub fn give_back(
    rec: &HostRecord,
    node_netns: &dyn Fn(&str) -> Option<Netns>,
    errors: &mut Vec<String>,
) {
    if rec.taken.is_empty() {
        return;
    }
    let Ok(here) = host_netns() else {
        errors.push("opening the host's network namespace".into());
        return;
    };
    for t in &rec.taken {
        let Some(ns) = node_netns(&t.node) else {
            continue;
        };
        let moved = nsnet_netcfg::in_netns(&ns, || -> Result<bool, NetError> {
            let mut sock = RtSocket::open()?;
            let links = sock.links()?;
            let Some(l) = links
                .iter()
                .find(|l| l.name == t.name && (t.mac.is_none() || l.mac == t.mac))
                .or_else(|| links.iter().find(|l| t.mac.is_some() && l.mac == t.mac))
            else {
                return Ok(false);
            };
            let _ = sock.set_link_down(&l.name);
            // Back under its own name; if that is taken now, under a name the kernel picks.
            sock.move_link(&l.name, l.index, here.as_fd(), &t.host)
                .or_else(|_| sock.move_link(&l.name, l.index, here.as_fd(), "nsnet%d"))?;
            Ok(true)
        });
        match moved {
            Ok(Ok(_)) => {}
            Ok(Err(e)) | Err(e) => errors.push(format!(
                "giving host interface {} back from node {}: {e}",
                t.host, t.node
            )),
        }
    }
}

/// After the nodes are gone: waits until the host ends of the links to the host are gone
/// with their nodes, restores the host interfaces given back (name, MTU, addresses, state),
/// deletes the table if it is the lab's, and puts back each sysctl that still holds ours.
pub fn restore_after(lab: &LabName, rec: &HostRecord, errors: &mut Vec<String>) {
    let Ok(mut sock) = RtSocket::open() else {
        errors.push("opening a netlink socket on the host".into());
        return;
    };
    // The host ends die with their nodes' namespaces, which the kernel frees a moment after
    // the nodes' last process exits.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let links = sock.links().unwrap_or_default();
        let left: Vec<&str> = rec
            .links
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| links.iter().any(|l| l.name == *n))
            .collect();
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            errors.push(format!(
                "the host end(s) {} of links to the host are still there (a process keeps their node's namespace)",
                left.join(", ")
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for t in &rec.taken {
        restore_taken(&mut sock, t, errors);
    }
    if let Some(table) = &rec.table {
        if let Ok(mut nft) = NftSocket::open() {
            match nft.table_comment(table) {
                Ok(Some(Some(c))) if c == table_comment(lab.as_str()) => {
                    if let Err(e) = nft.del_table(table) {
                        errors.push(format!("deleting table inet {table}: {e}"));
                    }
                }
                Ok(Some(_)) => errors.push(format!(
                    "table inet {table} is there but not the lab's (its comment differs): left alone"
                )),
                Ok(None) => {}
                Err(e) => errors.push(format!("looking up table inet {table}: {e}")),
            }
        }
    }
    let links = sock.links().unwrap_or_default();
    for s in rec.sysctls.iter().rev() {
        if s.ifindex != 0 {
            // Only on that very interface, if it is still there under that name.
            let name = s.key.split('/').nth(3).unwrap_or("");
            if !links.iter().any(|l| l.index == s.ifindex && l.name == name) {
                continue;
            }
        }
        match nsnet_netcfg::read_sysctl(&s.key) {
            Ok(v) if v == s.after => {
                if let Err(e) = nsnet_netcfg::write_sysctl(&s.key, &s.before) {
                    errors.push(format!("putting back sysctl {}: {e}", s.key));
                }
            }
            _ => {}
        }
    }
}

/// A host interface back on the host (given back, or returned by the kernel when its node
/// died): found by index and MAC, renamed, its MTU, addresses and state as they were.
fn restore_taken(sock: &mut RtSocket, t: &Taken, errors: &mut Vec<String>) {
    let Ok(links) = sock.links() else { return };
    let Some(l) = links
        .iter()
        .find(|l| l.index == t.ifindex && (t.mac.is_none() || l.mac == t.mac))
        .or_else(|| links.iter().find(|l| l.name == t.host && l.mac == t.mac))
    else {
        // Not on the host: a veth end dies with its node (and its peer with it).
        return;
    };
    let mut fail = |what: &str, e: NetError| {
        errors.push(format!("host interface {}: {what}: {e}", t.host));
    };
    if l.name != t.host {
        let _ = sock.set_link_down(&l.name);
        if let Err(e) = sock.rename_link(&l.name, l.index, &t.host) {
            fail("renaming it back", e);
            return;
        }
    }
    if l.mtu != t.mtu {
        if let Err(e) = sock.set_mtu(&t.host, t.mtu) {
            fail("putting its MTU back", e);
        }
    }
    let have = sock.addrs().unwrap_or_default();
    for a in &t.addrs {
        if have
            .iter()
            .any(|h| h.ifindex == l.index && h.addr == a.addr)
        {
            continue;
        }
        if let Err(e) = sock.add_addr(&t.host, a.addr, a.prefix) {
            fail("putting its addresses back", e);
        }
    }
    let r = if t.up {
        sock.set_link_up(&t.host)
    } else {
        sock.set_link_down(&t.host)
    };
    if let Err(e) = r {
        fail("putting its state back", e);
    }
}

/// The table of a node with an uplink: what it forwards out of its uplink leaves with the
/// uplink's address, so the host needs no route into the lab.
pub fn node_nat(iface: &str) -> (Vec<NftChain>, Vec<NftRule>) {
    let chain = NftChain {
        name: "postrouting".into(),
        nat: true,
        hook: Hook::Postrouting,
        priority: 100,
        accept: true,
    };
    let rule = NftRule {
        chain: "postrouting".into(),
        matches: vec![Match::Family(false), Match::OifName(iface.into())],
        log: None,
        action: Action::Masquerade,
        comment: "nsnet uplink".into(),
        desc: "the masquerade of the uplink".into(),
    };
    (vec![chain], vec![rule])
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsnet_netcfg::nft::ChainInfo;

    fn chain(family: u8, table: &str, name: &str, hook: Option<u32>, accept: bool) -> ChainInfo {
        ChainInfo {
            family,
            table: table.into(),
            name: name.into(),
            hook,
            accept,
        }
    }

    #[test]
    fn a_dropping_forward_chain_is_named() {
        let chains = [
            chain(2, "filter", "FORWARD", Some(2), false),
            chain(1, "fw", "forward", Some(2), true),
            chain(10, "filter6", "FORWARD", Some(2), false),
            chain(1, "fw", "input", Some(1), false),
            chain(1, "fw", "jump-target", None, true),
        ];
        let notes = forward_drops(&chains);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("chain ip filter FORWARD, policy drop"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn names() {
        assert_eq!(table_name("lab1"), "nsnet-lab1");
        assert_eq!(table_comment("lab1"), "nsnet lab lab1");
    }
}
