//! What changes in a running lab, as it happens (`nsnet events`): every live node's kernel
//! announces its link, address, route and neighbour changes on rtnetlink's multicast groups
//! (a [`Monitor`] per node), and its init's pidfd becomes readable when the node exits. One
//! thread polls them all, so a 1000-node lab costs one `poll` set, not 1000 threads.
//!
//! The kernel's announcements are not the events people want: a link message comes for any
//! change of a link, an address message for a flag. So every node keeps what it last knew
//! (links, addresses, routes, neighbours) and an event is a change of that. Some changes are
//! never announced: the IPv4 routes the kernel flushes when a link goes down vanish
//! silently. After a link change (and after lost announcements), the node's tables are
//! dumped again a moment later and compared, so those show up too.

use crate::running::{NodeError, RunningLab};
use crate::state::{LabName, StateError};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nsnet_lab::Cidr;
use nsnet_netcfg::{
    route_protocol_name, AddrInfo, Change, Group, LinkInfo, Monitor, NeighInfo, NeighState,
    NetError, RouteInfo, RtEvent, RtSocket,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime};

/// How long after a link change a node's tables are dumped again: long enough for the
/// kernel to have flushed what it flushes, short enough to be read as one moment.
const SETTLE: Duration = Duration::from_millis(100);

/// How often the lab's own state is looked at (is the lab still up?).
const STATE_CHECK: Duration = Duration::from_secs(1);

/// The main routing table: the one `ip route` shows, where daemons put their routes.
const RT_TABLE_MAIN: u32 = 254;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("{node}: {source}")]
    Net { node: String, source: NetError },
    #[error("lab '{0}': none of its nodes runs")]
    NoneRunning(String),
    #[error("waiting for events: {0}")]
    Poll(nix::errno::Errno),
}

/// One change in a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it was seen (the system clock).
    pub time: SystemTime,
    /// The node it happened in (empty for [`EventKind::LabDown`]).
    pub node: String,
    /// The interface, when it is about one.
    pub iface: Option<String>,
    pub kind: EventKind,
}

/// A next hop as events show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Hop {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    pub dev: String,
}

/// What happened. Serialized as the JSON lines' `event` and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    /// The interface was set administratively up (IFF_UP).
    LinkUp,
    /// The interface was set administratively down.
    LinkDown,
    /// An interface that is up got its carrier (its peer is up).
    CarrierUp,
    /// An interface that is up lost its carrier.
    CarrierDown,
    /// An interface appeared.
    LinkAdded,
    /// An interface went away.
    LinkRemoved,
    AddrAdded {
        addr: Cidr,
    },
    AddrRemoved {
        addr: Cidr,
    },
    RouteAdded {
        dst: Cidr,
        via: Vec<Hop>,
        protocol: String,
    },
    /// A route to the same destination with other next hops or another protocol.
    RouteChanged {
        dst: Cidr,
        via: Vec<Hop>,
        protocol: String,
    },
    RouteRemoved {
        dst: Cidr,
        via: Vec<Hop>,
        protocol: String,
    },
    /// A neighbour was resolved.
    NeighAdded {
        addr: IpAddr,
        lladdr: String,
        state: &'static str,
    },
    /// A resolved neighbour's link-layer address changed.
    NeighChanged {
        addr: IpAddr,
        lladdr: String,
        state: &'static str,
    },
    /// Resolving a neighbour failed.
    NeighFailed {
        addr: IpAddr,
    },
    NeighRemoved {
        addr: IpAddr,
    },
    /// The node's init exited: the node is dead.
    NodeExited {
        pid: i32,
    },
    /// The kernel dropped announcements (the socket's buffer was full); the node's tables
    /// were read again, and the differences are the events that follow.
    EventsLost,
    /// The lab is down (every node exited, or its state is gone): the stream ends.
    LabDown,
}

/// A route's identity in a table: the kernel replaces by destination.
type RouteKey = (IpAddr, u8);

#[derive(Debug, Clone, PartialEq, Eq)]
struct RouteVal {
    via: Vec<Hop>,
    protocol: u8,
}

/// A neighbour as events track it: unresolved entries are remembered silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NeighClass {
    Unresolved,
    Failed,
    Valid([u8; 6]),
}

/// What a node's kernel last told: events are changes of this.
#[derive(Debug, Default)]
struct Known {
    /// ifindex → (name, admin up, carrier).
    links: HashMap<u32, (String, bool, bool)>,
    /// (ifindex, address, prefix) → interface name.
    addrs: HashMap<(u32, IpAddr, u8), String>,
    routes: HashMap<RouteKey, RouteVal>,
    /// (ifindex, address) → (interface name, class, state).
    neighs: HashMap<(u32, IpAddr), (String, NeighClass, NeighState)>,
}

/// A watched node.
struct Watched {
    name: String,
    pid: i32,
    monitor: Monitor,
    sock: RtSocket,
    pidfd: OwnedFd,
    known: Known,
    /// When its tables are to be dumped again.
    resync_at: Option<Instant>,
}

/// A lab being watched: every live node subscribed, its tables known.
pub struct Watcher {
    lab: LabName,
    nodes: Vec<Watched>,
    last_state_check: Instant,
}

fn net(node: &str) -> impl FnOnce(NetError) -> EventsError + '_ {
    move |source| EventsError::Net {
        node: node.to_string(),
        source,
    }
}

impl Watcher {
    /// Subscribe to every live node of the lab `given` names (or the only lab up) and read
    /// its tables. Events start from this moment.
    pub fn open(given: Option<&str>) -> Result<Watcher, EventsError> {
        let lab = RunningLab::open(given)?;
        // Four descriptors a node: its monitor, a socket, the init's pidfd and /proc dir.
        let _ = crate::build::limits::raise_nofile(lab.plan());
        let mut nodes = Vec::new();
        for rec in &lab.state.nodes {
            let live = match lab.node(&rec.name) {
                Ok(l) => l,
                Err(NodeError::Dead { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let ns = live.netns()?;
            let monitor = Monitor::open_in(&ns, &Group::ALL).map_err(net(&rec.name))?;
            let sock = RtSocket::open_in(&ns).map_err(net(&rec.name))?;
            let pidfd = live
                .init
                .pidfd()
                .try_clone()
                .map_err(|e| EventsError::Net {
                    node: rec.name.clone(),
                    source: NetError::Io {
                        op: nsnet_netcfg::Op::OpenNodeNetns,
                        source: e,
                    },
                })?;
            let mut w = Watched {
                name: rec.name.clone(),
                pid: live.init.pid,
                monitor,
                sock,
                pidfd,
                known: Known::default(),
                resync_at: None,
            };
            // The first reading is what is; it makes no events.
            let mut none = Vec::new();
            w.resync(&mut none).map_err(net(&rec.name))?;
            nodes.push(w);
        }
        if nodes.is_empty() {
            return Err(EventsError::NoneRunning(lab.name.to_string()));
        }
        Ok(Watcher {
            lab: lab.name.clone(),
            nodes,
            last_state_check: Instant::now(),
        })
    }

    pub fn lab(&self) -> &LabName {
        &self.lab
    }

    /// How many nodes are watched.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Hand every event to `sink` as it happens, until the lab is down (the last event is
    /// [`EventKind::LabDown`]) or `sink` breaks.
    pub fn run(
        mut self,
        mut sink: impl FnMut(Event) -> ControlFlow<()>,
    ) -> Result<(), EventsError> {
        let mut out = Vec::new();
        loop {
            let now = Instant::now();
            let next = self
                .nodes
                .iter()
                .filter_map(|n| n.resync_at)
                .chain([self.last_state_check + STATE_CHECK])
                .min()
                .unwrap_or(now);
            let wait = next.saturating_duration_since(now);
            let ready = self.wait(wait)?;
            for (i, (readable, exited)) in ready.into_iter().enumerate() {
                let n = &mut self.nodes[i];
                if readable {
                    n.read(&mut out).map_err(net(&n.name))?;
                }
                if exited {
                    out.push(n.event(None, EventKind::NodeExited { pid: n.pid }));
                }
            }
            let now = Instant::now();
            for n in &mut self.nodes {
                if n.resync_at.is_some_and(|t| t <= now) {
                    n.resync(&mut out).map_err(net(&n.name))?;
                }
            }
            // A dead node's sockets go: they would keep its netns alive after `down`.
            let before = self.nodes.len();
            let exited: HashSet<String> = out
                .iter()
                .filter(|e| matches!(e.kind, EventKind::NodeExited { .. }))
                .map(|e| e.node.clone())
                .collect();
            self.nodes.retain(|n| !exited.contains(&n.name));
            let mut down = self.nodes.is_empty() && before > 0;
            if now >= self.last_state_check + STATE_CHECK {
                self.last_state_check = now;
                down |= !crate::state::list_labs().contains(&self.lab);
            }
            if down {
                out.push(Event {
                    time: SystemTime::now(),
                    node: String::new(),
                    iface: None,
                    kind: EventKind::LabDown,
                });
            }
            for e in out.drain(..) {
                if sink(e).is_break() {
                    return Ok(());
                }
            }
            if down {
                return Ok(());
            }
        }
    }

    /// Poll every node's monitor and pidfd for at most `wait`: per node, (announcements
    /// waiting, init exited).
    fn wait(&self, wait: Duration) -> Result<Vec<(bool, bool)>, EventsError> {
        let mut fds = Vec::with_capacity(self.nodes.len() * 2);
        for n in &self.nodes {
            fds.push(PollFd::new(n.monitor.as_fd(), PollFlags::POLLIN));
            fds.push(PollFd::new(n.pidfd.as_fd(), PollFlags::POLLIN));
        }
        let ms = wait.as_millis().min(60_000) as u16;
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(EventsError::Poll(e)),
        }
        let hit = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
        Ok(fds.chunks(2).map(|p| (hit(&p[0]), hit(&p[1]))).collect())
    }
}

impl Watched {
    fn event(&self, iface: Option<&str>, kind: EventKind) -> Event {
        Event {
            time: SystemTime::now(),
            node: self.name.clone(),
            iface: iface.map(str::to_string),
            kind,
        }
    }

    /// Everything the monitor has queued, as events.
    fn read(&mut self, out: &mut Vec<Event>) -> Result<(), NetError> {
        for ev in self.monitor.read()? {
            match ev {
                RtEvent::Link(change, l) => self.link(change, &l, out),
                RtEvent::Addr(change, a) => self.addr(change, &a, out),
                RtEvent::Route(change, r) if r.table == RT_TABLE_MAIN => {
                    let (key, val) = route_entry(&r);
                    self.route(change, key, val, out)
                }
                RtEvent::Route(..) => {}
                RtEvent::Neigh(change, n) => self.neigh(change, &n, out),
                RtEvent::Lost => {
                    out.push(self.event(None, EventKind::EventsLost));
                    self.resync_at = Some(Instant::now());
                }
            }
        }
        Ok(())
    }

    fn link(&mut self, change: Change, l: &LinkInfo, out: &mut Vec<Event>) {
        if l.name == "lo" {
            return;
        }
        let name = Some(l.name.as_str());
        if change == Change::Del {
            if self.known.links.remove(&l.index).is_some() {
                out.push(self.event(name, EventKind::LinkRemoved));
            }
            self.resync_at = Some(Instant::now() + SETTLE);
            return;
        }
        let before = self
            .known
            .links
            .insert(l.index, (l.name.clone(), l.up, l.oper_up));
        let (was_up, had_carrier) = match before {
            Some((_, up, carrier)) => (up, carrier),
            None => {
                out.push(self.event(name, EventKind::LinkAdded));
                (false, false)
            }
        };
        if l.up != was_up {
            let kind = if l.up {
                EventKind::LinkUp
            } else {
                EventKind::LinkDown
            };
            out.push(self.event(name, kind));
        }
        // Carrier changes of a link that is up (one set down loses it as a matter of course).
        if l.up && l.oper_up != had_carrier {
            let kind = if l.oper_up {
                EventKind::CarrierUp
            } else {
                EventKind::CarrierDown
            };
            out.push(self.event(name, kind));
        }
        if before.is_none() || l.up != was_up || l.oper_up != had_carrier {
            self.resync_at = Some(Instant::now() + SETTLE);
        }
    }

    fn addr(&mut self, change: Change, a: &AddrInfo, out: &mut Vec<Event>) {
        let key = (a.ifindex, a.addr, a.prefix);
        let Some(cidr) = Cidr::new(a.addr, a.prefix) else {
            return;
        };
        let name = Some(a.ifname.as_str());
        match change {
            Change::New => {
                if self.known.addrs.insert(key, a.ifname.clone()).is_none() {
                    out.push(self.event(name, EventKind::AddrAdded { addr: cidr }));
                }
            }
            Change::Del => {
                if self.known.addrs.remove(&key).is_some() {
                    out.push(self.event(name, EventKind::AddrRemoved { addr: cidr }));
                }
            }
        }
    }

    fn route(&mut self, change: Change, key: RouteKey, val: RouteVal, out: &mut Vec<Event>) {
        let Some(dst) = Cidr::new(key.0, key.1) else {
            return;
        };
        let iface = |v: &RouteVal| match v.via.as_slice() {
            [one] => Some(one.dev.clone()),
            _ => None,
        };
        let fields = |v: &RouteVal| (dst, v.via.clone(), protocol(v.protocol));
        match change {
            Change::New => match self.known.routes.insert(key, val.clone()) {
                None => {
                    let (dst, via, protocol) = fields(&val);
                    let kind = EventKind::RouteAdded { dst, via, protocol };
                    out.push(self.event(iface(&val).as_deref(), kind));
                }
                Some(old) if old != val => {
                    let (dst, via, protocol) = fields(&val);
                    let kind = EventKind::RouteChanged { dst, via, protocol };
                    out.push(self.event(iface(&val).as_deref(), kind));
                }
                Some(_) => {}
            },
            Change::Del => {
                if let Some(old) = self.known.routes.remove(&key) {
                    let (dst, via, protocol) = fields(&old);
                    let kind = EventKind::RouteRemoved { dst, via, protocol };
                    out.push(self.event(iface(&old).as_deref(), kind));
                }
            }
        }
    }

    fn neigh(&mut self, change: Change, n: &NeighInfo, out: &mut Vec<Event>) {
        let key = (n.ifindex, n.addr);
        let name = Some(n.ifname.as_str());
        let before = self.known.neighs.get(&key).map(|(_, c, _)| *c);
        if change == Change::Del {
            if let Some((_, c, _)) = self.known.neighs.remove(&key) {
                if c != NeighClass::Unresolved {
                    out.push(self.event(name, EventKind::NeighRemoved { addr: n.addr }));
                }
            }
            return;
        }
        let class = match (n.state, n.lladdr) {
            (NeighState::Failed, _) => NeighClass::Failed,
            (NeighState::Incomplete | NeighState::Other, _) | (_, None) => NeighClass::Unresolved,
            (_, Some(mac)) => NeighClass::Valid(mac),
        };
        self.known
            .neighs
            .insert(key, (n.ifname.clone(), class, n.state));
        let kind = match (before, class) {
            (b, c) if b == Some(c) => return,
            (_, NeighClass::Unresolved) => return,
            (_, NeighClass::Failed) => EventKind::NeighFailed { addr: n.addr },
            (Some(NeighClass::Valid(_)), NeighClass::Valid(mac)) => EventKind::NeighChanged {
                addr: n.addr,
                lladdr: mac_string(mac),
                state: n.state.word(),
            },
            (_, NeighClass::Valid(mac)) => EventKind::NeighAdded {
                addr: n.addr,
                lladdr: mac_string(mac),
                state: n.state.word(),
            },
        };
        out.push(self.event(name, kind));
    }

    /// Read every table again and turn the differences into events.
    fn resync(&mut self, out: &mut Vec<Event>) -> Result<(), NetError> {
        self.resync_at = None;
        let links = self.sock.links()?;
        let addrs = self.sock.addrs()?;
        let mut routes = self.sock.routes(false)?;
        routes.extend(self.sock.routes(true)?);
        let neighs = self.sock.neighbours()?;
        // What is gone first, then what is new or changed.
        let now_links: HashSet<u32> = links.iter().map(|l| l.index).collect();
        let gone: Vec<(u32, String)> = self
            .known
            .links
            .iter()
            .filter(|(i, _)| !now_links.contains(i))
            .map(|(i, (name, _, _))| (*i, name.clone()))
            .collect();
        for (index, name) in gone {
            let l = LinkInfo {
                index,
                name,
                mac: None,
                mtu: 0,
                up: false,
                oper_up: false,
                master: None,
                kind: None,
                stats: None,
            };
            self.link(Change::Del, &l, out);
        }
        for l in &links {
            self.link(Change::New, l, out);
        }
        let now_addrs: HashSet<(u32, IpAddr, u8)> = addrs
            .iter()
            .map(|a| (a.ifindex, a.addr, a.prefix))
            .collect();
        let gone: Vec<AddrInfo> = self
            .known
            .addrs
            .iter()
            .filter(|(k, _)| !now_addrs.contains(k))
            .map(|(k, name)| AddrInfo {
                ifindex: k.0,
                ifname: name.clone(),
                addr: k.1,
                prefix: k.2,
            })
            .collect();
        for a in gone {
            self.addr(Change::Del, &a, out);
        }
        for a in &addrs {
            self.addr(Change::New, a, out);
        }
        let now_routes: HashMap<RouteKey, RouteVal> = routes.iter().map(route_entry).collect();
        let gone: Vec<RouteKey> = self
            .known
            .routes
            .keys()
            .filter(|k| !now_routes.contains_key(k))
            .copied()
            .collect();
        for k in gone {
            let v = self.known.routes[&k].clone();
            self.route(Change::Del, k, v, out);
        }
        for (k, v) in now_routes {
            self.route(Change::New, k, v, out);
        }
        let now_neighs: HashSet<(u32, IpAddr)> =
            neighs.iter().map(|n| (n.ifindex, n.addr)).collect();
        let gone: Vec<NeighInfo> = self
            .known
            .neighs
            .iter()
            .filter(|(k, _)| !now_neighs.contains(k))
            .map(|(k, (name, _, state))| NeighInfo {
                ifindex: k.0,
                ifname: name.clone(),
                addr: k.1,
                lladdr: None,
                state: *state,
            })
            .collect();
        for n in gone {
            self.neigh(Change::Del, &n, out);
        }
        for n in &neighs {
            self.neigh(Change::New, n, out);
        }
        Ok(())
    }
}

fn route_entry(r: &RouteInfo) -> (RouteKey, RouteVal) {
    let via = r
        .nexthops
        .iter()
        .map(|h| Hop {
            via: h.via,
            dev: h.dev.clone().unwrap_or_else(|| format!("if{}", h.ifindex)),
        })
        .collect();
    (
        (r.dst, r.prefix),
        RouteVal {
            via,
            protocol: r.protocol,
        },
    )
}

/// `ospf`, `static`, `kernel` … or the number.
fn protocol(p: u8) -> String {
    route_protocol_name(p).map_or_else(|| p.to_string(), str::to_string)
}

fn mac_string(m: [u8; 6]) -> String {
    nsnet_lab::Mac(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsnet_netcfg::NextHopInfo;

    /// A watched node whose sockets are the test's own (never read): the bookkeeping is
    /// fed announcements by hand.
    fn known_node() -> Watched {
        Watched {
            name: "r1".into(),
            pid: 42,
            monitor: Monitor::open(&[]).unwrap(),
            sock: RtSocket::open().unwrap(),
            pidfd: std::fs::File::open("/dev/null").unwrap().into(),
            known: Known::default(),
            resync_at: None,
        }
    }

    fn link(up: bool, carrier: bool) -> LinkInfo {
        LinkInfo {
            index: 3,
            name: "eth1".into(),
            mac: None,
            mtu: 1500,
            up,
            oper_up: carrier,
            master: None,
            kind: Some("veth".into()),
            stats: None,
        }
    }

    fn kinds(out: &[Event]) -> Vec<(Option<&str>, &EventKind)> {
        out.iter().map(|e| (e.iface.as_deref(), &e.kind)).collect()
    }

    #[test]
    fn link_messages_become_admin_and_carrier_changes() {
        let mut n = known_node();
        let mut out = Vec::new();
        n.known.links.insert(3, ("eth1".into(), true, true));
        // The peer went down: carrier lost, still up.
        n.link(Change::New, &link(true, false), &mut out);
        // Set down: one event, not a second carrier one.
        n.link(Change::New, &link(false, false), &mut out);
        // The same state announced again: nothing.
        n.link(Change::New, &link(false, false), &mut out);
        n.link(Change::New, &link(true, true), &mut out);
        let e = Some("eth1");
        assert_eq!(
            kinds(&out),
            [
                (e, &EventKind::CarrierDown),
                (e, &EventKind::LinkDown),
                (e, &EventKind::LinkUp),
                (e, &EventKind::CarrierUp)
            ]
        );
        assert!(
            n.resync_at.is_some(),
            "a link change reads the tables again"
        );
    }

    #[test]
    fn routes_are_added_changed_and_removed_once() {
        let mut n = known_node();
        let mut out = Vec::new();
        let r = |gw: &str, proto: u8| RouteInfo {
            dst: "10.0.2.0".parse().unwrap(),
            prefix: 24,
            nexthops: vec![NextHopInfo {
                via: Some(gw.parse().unwrap()),
                ifindex: 3,
                dev: Some("eth1".into()),
                weight: 1,
            }],
            protocol: proto,
            table: 254,
        };
        for (change, route) in [
            (Change::New, r("10.0.12.2", 188)),
            (Change::New, r("10.0.12.2", 188)),
            (Change::New, r("10.0.12.6", 188)),
            (Change::Del, r("10.0.12.6", 188)),
            (Change::Del, r("10.0.12.6", 188)),
        ] {
            let (k, v) = route_entry(&route);
            n.route(change, k, v, &mut out);
        }
        let names: Vec<&str> = out
            .iter()
            .map(|e| match &e.kind {
                EventKind::RouteAdded { protocol, .. } => {
                    assert_eq!(protocol, "ospf");
                    "added"
                }
                EventKind::RouteChanged { .. } => "changed",
                EventKind::RouteRemoved { .. } => "removed",
                k => panic!("{k:?}"),
            })
            .collect();
        assert_eq!(names, ["added", "changed", "removed"]);
        assert!(out.iter().all(|e| e.iface.as_deref() == Some("eth1")));
    }

    #[test]
    fn neighbours_report_resolution_not_every_state() {
        let mut n = known_node();
        let mut out = Vec::new();
        let ne = |state, mac: Option<[u8; 6]>| NeighInfo {
            ifindex: 3,
            ifname: "eth1".into(),
            addr: "10.0.12.2".parse().unwrap(),
            lladdr: mac,
            state,
        };
        let mac = Some([2, 0, 0, 0, 0, 2]);
        n.neigh(Change::New, &ne(NeighState::Incomplete, None), &mut out);
        n.neigh(Change::New, &ne(NeighState::Reachable, mac), &mut out);
        n.neigh(Change::New, &ne(NeighState::Stale, mac), &mut out);
        n.neigh(Change::New, &ne(NeighState::Delay, mac), &mut out);
        n.neigh(Change::New, &ne(NeighState::Failed, None), &mut out);
        n.neigh(Change::Del, &ne(NeighState::Failed, None), &mut out);
        let got: Vec<&str> = out
            .iter()
            .map(|e| match &e.kind {
                EventKind::NeighAdded { lladdr, .. } => {
                    assert_eq!(lladdr, "02:00:00:00:00:02");
                    "added"
                }
                EventKind::NeighFailed { .. } => "failed",
                EventKind::NeighRemoved { .. } => "removed",
                k => panic!("{k:?}"),
            })
            .collect();
        assert_eq!(got, ["added", "failed", "removed"]);
    }
}
