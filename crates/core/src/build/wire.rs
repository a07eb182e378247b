//! The network step of `nsnet up`: runs between "every init is ready" and "go-ahead", and
//! writes the plan's links, addresses, routes and sysctls into the nodes' netns (with
//! `nsnet_netcfg`). Kept apart so `up`'s orchestration does not care how the wiring is done.
//!
//! Two phases, each spread over a few threads: first every veth pair (one message each,
//! both ends created directly in their nodes' netns), then per node — inside its netns —
//! sysctls, the bridge of a switch, and one batch of addresses, links up and routes; last,
//! a wait until the kernel has put every link in service.

use crate::build::timings::Timings;
use crate::netplan::routes::route_spec;
use nsnet_lab::{Kind, NodePlan, Plan, Sysctl};
use nsnet_netcfg::{in_netns, NetError, Netns, RtSocket, VethEnd};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A running node as the network step sees it.
#[derive(Debug)]
pub struct NodeHandle {
    /// The node's name (same order as `Plan::nodes`).
    pub name: String,
    /// The init's PID in the host's PID namespace.
    pub pid: i32,
    /// An open fd of the node's network namespace (`/proc/<pid>/ns/net`).
    pub netns: OwnedFd,
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// `r1: adding 10.0.12.1/30 to eth1: File exists (os error 17)`
    #[error("{node}: {source}{}", more_errors(*.more))]
    Node {
        node: String,
        source: NetError,
        /// How many more requests of the same node failed.
        more: usize,
    },
    #[error(transparent)]
    Interrupted(#[from] crate::build::interrupt::Interrupted),
    #[error(transparent)]
    Outside(#[from] crate::outside::OutsideError),
}

fn more_errors(n: usize) -> String {
    match n {
        0 => String::new(),
        n => format!(" (and {n} more errors)"),
    }
}

impl WireError {
    fn node(node: &str, mut errs: Vec<NetError>) -> WireError {
        let more = errs.len().saturating_sub(1);
        WireError::Node {
            node: node.to_string(),
            source: errs.swap_remove(0),
            more,
        }
    }
}

/// Configures the network of every node. `nodes` is in `plan.nodes` order; each phase's
/// time goes to `t`. `host_links` runs once the nodes' own links exist and before their
/// addresses and routes: it makes the links that end on the host (see `outside`).
pub fn configure(
    plan: &Plan,
    nodes: &[NodeHandle],
    t: &mut Timings,
    host_links: impl FnOnce() -> Result<(), WireError>,
) -> Result<(), WireError> {
    assert_eq!(plan.nodes.len(), nodes.len(), "one handle per planned node");
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let netns = |i: usize| -> Result<Netns, WireError> {
        let fd = nodes[i].netns.try_clone().map_err(|e| {
            WireError::node(
                &nodes[i].name,
                vec![NetError::Io {
                    op: nsnet_netcfg::Op::DupNetnsFd,
                    source: e,
                }],
            )
        })?;
        Ok(Netns::from(fd))
    };
    // Node-wide sysctls before any link exists: `default.*` values then apply to every
    // interface made afterwards (no IPv6 where none is used, no DAD).
    parallel(plan.nodes.len(), threads, |i| {
        let node = &plan.nodes[i];
        let early = node.sysctls.iter().filter(|s| s.interface().is_none());
        write_sysctls(node, &netns(i)?, nodes[i].pid, early)
    })?;
    t.lap("sysctls");
    crate::build::interrupt::check()?;
    create_links(plan, nodes, threads)?;
    host_links()?;
    t.lap("links");
    crate::build::interrupt::check()?;
    parallel(plan.nodes.len(), threads, |i| {
        configure_node(&plan.nodes[i], &netns(i)?, nodes[i].pid)
    })?;
    t.lap("addresses, routes");
    // The lab file's impairments (tbf, netem) at both ends of the links that have them.
    let impaired = |n: &NodePlan| {
        n.interfaces
            .iter()
            .any(|i| !plan.links[i.link].impair.is_empty())
    };
    if plan.nodes.iter().any(impaired) {
        parallel(plan.nodes.len(), threads, |i| {
            let node = &plan.nodes[i];
            if !impaired(node) {
                return Ok(());
            }
            let fail = |e: NetError| WireError::node(&node.name, vec![e]);
            let mut sock = RtSocket::open_in(&netns(i)?).map_err(fail)?;
            crate::netplan::impair::impair_node(plan, i, &mut sock).map_err(fail)
        })?;
        t.lap("impairments");
    }
    wait_carrier(plan, threads, netns)?;
    t.lap("carrier");
    Ok(())
}

/// How long `up` waits at most for the kernel to put every link of the lab in service.
const CARRIER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Returns once every veth and tunnel of the lab is operationally up (or after
/// `CARRIER_WAIT`). A veth's carrier is on as soon as both ends are up, but the kernel's
/// link watcher attaches its queue and marks it up later: at once as a rule, up to a second
/// later when many devices change at the same time on the machine (it works through at most
/// 200 of them at a time, the rest once a second). Until then the link drops what is sent on
/// it, so a lab reported up could not yet carry a ping.
fn wait_carrier(
    plan: &Plan,
    threads: usize,
    netns: impl Fn(usize) -> Result<Netns, WireError> + Sync,
) -> Result<(), WireError> {
    let deadline = std::time::Instant::now() + CARRIER_WAIT;
    parallel(plan.nodes.len(), threads, |i| {
        let node = &plan.nodes[i];
        let fail = |e: NetError| WireError::node(&node.name, vec![e]);
        // The host's own interfaces given to a node are left out: their carrier is a cable's.
        let want: Vec<&str> = node
            .interfaces
            .iter()
            .map(|i| i.name.as_str())
            .chain(node.host_link.iter().map(|h| h.iface.as_str()))
            .collect();
        if want.is_empty() {
            return Ok(());
        }
        let mut sock = RtSocket::open_in(&netns(i)?).map_err(fail)?;
        loop {
            let links = sock.links().map_err(fail)?;
            let ready = want
                .iter()
                .all(|w| links.iter().any(|l| l.name == *w && l.oper_up));
            if ready || std::time::Instant::now() >= deadline {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    })
}

/// Run `f(0..n)` on `threads` threads; the first error wins (the others stop picking work).
fn parallel<F>(n: usize, threads: usize, f: F) -> Result<(), WireError>
where
    F: Fn(usize) -> Result<(), WireError> + Sync,
{
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<WireError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.min(n.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || failed.lock().map_or(true, |g| g.is_some()) {
                    return;
                }
                if let Err(e) = f(i) {
                    let mut g = failed.lock().unwrap_or_else(|p| p.into_inner());
                    g.get_or_insert(e);
                    return;
                }
            });
        }
    });
    match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Veth ifindexes start here (1 is the loopback; a switch's bridge takes a free one).
const FIRST_IFINDEX: u32 = 10;

/// Every veth pair, each end straight into its node's netns with its final name, MAC, MTU.
fn create_links(plan: &Plan, nodes: &[NodeHandle], threads: usize) -> Result<(), WireError> {
    let index = |name: &str| {
        plan.node_index(name)
            .expect("link endpoints are planned nodes")
    };
    // A spread lab's links to other hosts: one VXLAN each, made in this host's netns (where
    // its UDP socket stays) straight into the node's.
    let tunneled: std::collections::HashSet<usize> = plan.tunnels.iter().map(|t| t.link).collect();
    if !plan.tunnels.is_empty() {
        let mut sock = RtSocket::open().map_err(|e| WireError::node(&plan.lab, vec![e]))?;
        let mut b = sock.batch();
        for t in &plan.tunnels {
            let ni = index(&t.node);
            let i = plan.nodes[ni]
                .interface(&t.iface)
                .expect("a tunnel's interface is planned");
            b.create_vxlan(&nsnet_netcfg::Vxlan {
                name: &i.name,
                vni: t.vni,
                local: Some(t.local),
                remote: t.remote,
                port: t.port,
                mtu: i.mtu,
                mac: Some(i.mac.0),
                netns: Some(nodes[ni].netns.as_fd()),
                index: None,
            });
        }
        b.commit()
            .map_err(|errs| WireError::node(&plan.lab, errs))?;
    }
    // Chunks of links per thread, one socket each (opened in our own netns: the veth ends
    // are created directly in the target namespaces, nothing lands here).
    let chunks = plan.links.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<_> = plan.links.chunks(chunks).collect();
    parallel(parts.len(), threads, |p| {
        let mut sock = RtSocket::open().map_err(|e| WireError::node(&plan.lab, vec![e]))?;
        for (k, l) in parts[p].iter().enumerate() {
            // Lab-unique ifindexes, so no veth has its peer's index (see VethEnd::index).
            let li = (p * chunks + k) as u32;
            if tunneled.contains(&(li as usize)) {
                continue;
            }
            let (ai, bi) = (index(&l.a.node), index(&l.b.node));
            let (na, nb) = (&plan.nodes[ai], &plan.nodes[bi]);
            let ia = na.interface(&l.a.iface).expect("planned interface");
            let ib = nb.interface(&l.b.iface).expect("planned interface");
            let a = VethEnd {
                index: Some(FIRST_IFINDEX + 2 * li),
                name: &ia.name,
                mac: Some(ia.mac.0),
                mtu: ia.mtu,
                netns: nodes[ai].netns.as_fd(),
            };
            let b = VethEnd {
                index: Some(FIRST_IFINDEX + 2 * li + 1),
                name: &ib.name,
                mac: Some(ib.mac.0),
                mtu: ib.mtu,
                netns: nodes[bi].netns.as_fd(),
            };
            sock.create_veth(&a, &b)
                .map_err(|e| WireError::node(&na.name, vec![e]))?;
        }
        Ok(())
    })
}

/// Write sysctls from inside the node's netns (/proc/sys/net follows the writer's netns).
fn write_sysctls<'a>(
    node: &NodePlan,
    ns: &Netns,
    pid: i32,
    sysctls: impl Iterator<Item = &'a Sysctl>,
) -> Result<(), WireError> {
    let fail = |e: NetError| WireError::node(&node.name, vec![e]);
    let mut sysctls = sysctls.peekable();
    if sysctls.peek().is_none() {
        return Ok(());
    }
    // Through the node's own /proc (its init mounted it before it said ready): the host's
    // would make every lookup compare the entries of every netns on the machine.
    let base = std::path::PathBuf::from(format!("/proc/{pid}/root/proc/sys"));
    in_netns(ns, || {
        for s in sysctls {
            nsnet_netcfg::write_sysctl_under(&base, &s.key, &s.value).map_err(fail)?;
        }
        Ok(())
    })
    .map_err(fail)?
}

/// Inside one node's netns: its interfaces' sysctls, the bridge (switches), then one batch
/// of addresses, links up and routes — in that order, which the kernel keeps in a batch.
fn configure_node(node: &NodePlan, ns: &Netns, pid: i32) -> Result<(), WireError> {
    let fail = |e: NetError| WireError::node(&node.name, vec![e]);
    write_sysctls(
        node,
        ns,
        pid,
        node.sysctls.iter().filter(|s| s.interface().is_some()),
    )?;
    in_netns(ns, || -> Result<(), WireError> {
        let mut sock = RtSocket::open().map_err(fail)?;
        if let Some(br) = &node.bridge {
            let mtu = node.interfaces.iter().filter_map(|i| i.mtu).min();
            sock.create_bridge(br, None, mtu, node.stp).map_err(fail)?;
        }
        let mut b = sock.batch();
        b.set_link_up("lo");
        for a in &node.loopback {
            b.add_addr("lo", a.addr, a.prefix);
        }
        for i in &node.interfaces {
            for a in &i.addrs {
                b.add_addr(&i.name, a.addr, a.prefix);
            }
            if let Some(br) = &node.bridge {
                b.set_master(&i.name, br);
            }
            b.set_link_up(&i.name);
        }
        // Its link to the host and the host interfaces it was given (see `outside`).
        if let Some(h) = &node.host_link {
            b.add_addr(&h.iface, h.addr.addr, h.addr.prefix);
            b.set_link_up(&h.iface);
        }
        for h in &node.host_ifaces {
            for a in &h.addrs {
                b.add_addr(&h.name, a.addr, a.prefix);
            }
            b.set_link_up(&h.name);
        }
        if let Some(br) = &node.bridge {
            b.set_link_up(br);
        }
        if node.kind != Kind::Switch {
            for r in &node.routes {
                b.add_route(&route_spec(r));
            }
        }
        b.commit()
            .map_err(|errs| WireError::node(&node.name, errs))?;
        // Firewall last, once its interfaces and addresses exist: one nftables batch.
        if let Some(fw) = &node.firewall {
            crate::netplan::firewall::apply(fw)
                .map_err(|errs| WireError::node(&node.name, errs))?;
        }
        if let Some(h) = node.host_link.as_ref().filter(|h| h.nat) {
            let (chains, rules) = crate::outside::node_nat(&h.iface);
            let mut nft = nsnet_netcfg::NftSocket::open().map_err(fail)?;
            nft.apply(crate::outside::NODE_TABLE, &chains, &rules)
                .map_err(|errs| WireError::node(&node.name, errs))?;
        }
        Ok(())
    })
    .map_err(fail)?
}
