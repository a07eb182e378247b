//! One error type for the crate, carrying what was being done as a typed [`Op`], so that a
//! failure reads `adding 10.0.12.1/30 to eth1: File exists (os error 17); …` and the hint
//! for an errno is chosen from the operation, not guessed from its words.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::RouteSpec;

/// A failed network configuration step.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The kernel refused a netlink request.
    #[error("{op}: {}{}", std::io::Error::from_raw_os_error(*errno), Hint { op, errno: *errno })]
    Kernel {
        /// What was being done.
        op: Op,
        /// The errno the kernel answered with.
        errno: i32,
    },
    /// A system call or file operation failed (socket, setns, /proc/sys …).
    #[error("{op}: {source}{}", Hint { op, errno: source.raw_os_error().unwrap_or(0) })]
    Io {
        /// What was being done.
        op: Op,
        /// What the system call said.
        #[source]
        source: std::io::Error,
    },
}

impl NetError {
    /// The errno behind the failure, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Kernel { errno, .. } => Some(*errno),
            NetError::Io { source, .. } => source.raw_os_error(),
        }
    }

    /// What was being done (displays as "creating veth eth0/eth1" …).
    pub fn op(&self) -> &Op {
        match self {
            NetError::Kernel { op, .. } | NetError::Io { op, .. } => op,
        }
    }

    pub(crate) fn io(op: Op, source: std::io::Error) -> NetError {
        NetError::Io { op, source }
    }

    /// A reply that does not decode, as an I/O error of `op`.
    pub(crate) fn decode(op: Op, e: impl std::fmt::Display) -> NetError {
        let source = std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string());
        NetError::Io { op, source }
    }
}

/// A step of network configuration, in the user's terms. Its `Display` is the text errors
/// start with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Opening a namespace file (`/run/netns/x`, `/proc/<pid>/ns/net`).
    OpenNetns {
        /// The file.
        path: PathBuf,
    },
    /// Opening a node's netns through its init.
    OpenNodeNetns,
    /// Duplicating a node's netns fd.
    DupNetnsFd,
    /// setns(2) into a network namespace.
    EnterNetns,
    /// unshare(2) of a fresh network namespace.
    CreateNetns,
    /// Opening a netlink socket of a family ("rtnetlink", "netfilter netlink").
    OpenSocket {
        /// The family's name.
        family: &'static str,
    },
    /// Sending or receiving a batch of rtnetlink requests.
    SendBatch,
    /// Creating a veth pair.
    CreateVeth {
        /// One end's name.
        a: String,
        /// The other end's name.
        b: String,
        /// The MTU asked for, if any.
        mtu: Option<u32>,
    },
    /// Creating a bridge.
    CreateBridge {
        /// Its name.
        name: String,
        /// The MTU asked for, if any.
        mtu: Option<u32>,
        /// With the kernel's spanning tree.
        stp: bool,
    },
    /// Enslaving a link to a bridge.
    SetMaster {
        /// The port.
        ifname: String,
        /// The bridge.
        master: String,
    },
    /// Bringing a link administratively up.
    SetLinkUp {
        /// The link.
        ifname: String,
    },
    /// Bringing a link administratively down.
    SetLinkDown {
        /// The link.
        ifname: String,
    },
    /// Setting a link's MTU.
    SetMtu {
        /// The link.
        ifname: String,
        /// The MTU.
        mtu: u32,
    },
    /// Deleting a link.
    DelLink {
        /// The link.
        ifname: String,
    },
    /// Adding an address to a link.
    AddAddr {
        /// The link.
        ifname: String,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix: u8,
    },
    /// Adding a route.
    AddRoute {
        /// The route.
        route: RouteSpec,
    },
    /// Deleting a route.
    DelRoute {
        /// The route.
        route: RouteSpec,
    },
    /// Adding or replacing a route.
    ReplaceRoute {
        /// The route.
        route: RouteSpec,
    },
    /// Looking up a link's index by name.
    LookupInterface {
        /// The name.
        ifname: String,
    },
    /// The interface an operation names does not resolve.
    FindInterface {
        /// The name that did not resolve.
        ifname: String,
        /// The operation that needed it.
        during: Box<Op>,
    },
    /// Dumping the links.
    ListLinks,
    /// Dumping the addresses.
    ListAddrs,
    /// Giving a network namespace an id to watch it by (RTM_NEWNSID).
    WatchNetns,
    /// Dumping the neighbour (ARP, NDP) entries.
    ListNeighbours,
    /// Opening a socket joined to rtnetlink's multicast groups.
    JoinGroups,
    /// Reading rtnetlink announcements.
    ReadEvents,
    /// Dumping the main table's routes of one family.
    ListRoutes {
        /// IPv6 (else IPv4).
        v6: bool,
    },
    /// Asking the kernel which route it uses for a destination.
    GetRoute {
        /// The destination.
        dst: IpAddr,
    },
    /// Making a tbf the root qdisc of a link.
    SetTbf {
        /// The link.
        ifname: String,
        /// Bits per second.
        rate: u64,
    },
    /// Hanging a tbf below a root netem.
    SetTbfBelowNetem {
        /// The link.
        ifname: String,
    },
    /// Making a netem the root qdisc of a link.
    SetNetem {
        /// The link.
        ifname: String,
    },
    /// Removing the root qdisc of a link.
    DelRootQdisc {
        /// The link.
        ifname: String,
    },
    /// Dumping the qdiscs.
    ListQdiscs,
    /// Writing a sysctl.
    WriteSysctl {
        /// The key as given ("net.ipv4.ip_forward").
        key: String,
        /// The value.
        value: String,
    },
    /// Reading a sysctl.
    ReadSysctl {
        /// The key as given.
        key: String,
    },
    /// Adding an nftables table.
    AddNftTable {
        /// Its name (family inet).
        table: String,
    },
    /// Adding an nftables base chain.
    AddNftChain {
        /// Its name.
        chain: String,
    },
    /// Adding an nftables rule.
    AddNftRule {
        /// The rule as the caller names it ("rule 3 (forward tcp dport 22 accept)").
        desc: String,
    },
    /// Sending or receiving an nftables batch as a whole.
    ApplyNftBatch,
    /// Dumping an nftables table's rules.
    ListNftRules {
        /// The table (family inet).
        table: String,
    },
    /// Deleting an nftables table with everything in it.
    DelNftTable {
        /// Its name (family inet).
        table: String,
    },
    /// Looking up an nftables table.
    GetNftTable {
        /// Its name (family inet).
        table: String,
    },
    /// Dumping the chains of every nftables table.
    ListNftChains,
    /// Moving a link to another network namespace (and naming it there).
    MoveLink {
        /// The link.
        ifname: String,
        /// Its name in the other namespace.
        to: String,
    },
    /// Creating a macvlan on a link.
    CreateMacvlan {
        /// The macvlan.
        name: String,
        /// The link it is on.
        parent: String,
    },
    /// Creating a VXLAN device.
    CreateVxlan {
        /// Its name.
        name: String,
        /// Its VXLAN network identifier.
        vni: u32,
        /// The remote VTEP.
        remote: IpAddr,
        /// The MTU asked for, if any.
        mtu: Option<u32>,
    },
    /// Renaming a link.
    RenameLink {
        /// The link.
        ifname: String,
        /// Its new name.
        to: String,
    },
    /// Dumping the routes of every table.
    ListAllRoutes {
        /// IPv6 (else IPv4).
        v6: bool,
    },
}

impl Op {
    /// Whether the operation is about IPv6 (so EAFNOSUPPORT means no CONFIG_IPV6).
    fn is_ipv6(&self) -> bool {
        match self {
            Op::AddAddr { addr, .. } | Op::GetRoute { dst: addr } => addr.is_ipv6(),
            Op::AddRoute { route } | Op::DelRoute { route } | Op::ReplaceRoute { route } => {
                route.dst.is_ipv6()
                    || route
                        .nexthops
                        .iter()
                        .any(|h| h.via.is_some_and(|v| v.is_ipv6()))
            }
            Op::ListRoutes { v6 } => *v6,
            Op::FindInterface { during, .. } => during.is_ipv6(),
            _ => false,
        }
    }

    fn is_route(&self) -> bool {
        matches!(
            self,
            Op::AddRoute { .. }
                | Op::DelRoute { .. }
                | Op::ReplaceRoute { .. }
                | Op::GetRoute { .. }
                | Op::ListRoutes { .. }
        )
    }

    fn sets_mtu(&self) -> bool {
        matches!(
            self,
            Op::SetMtu { .. }
                | Op::CreateVeth { mtu: Some(_), .. }
                | Op::CreateBridge { mtu: Some(_), .. }
                | Op::CreateVxlan { mtu: Some(_), .. }
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::OpenNetns { path } => write!(f, "opening netns {}", path.display()),
            Op::OpenNodeNetns => f.write_str("opening its netns"),
            Op::DupNetnsFd => f.write_str("duplicating the netns fd"),
            Op::EnterNetns => f.write_str("entering network namespace"),
            Op::CreateNetns => f.write_str("creating network namespace"),
            Op::OpenSocket { family } => write!(f, "opening {family} socket"),
            Op::SendBatch => f.write_str("sending a netlink batch"),
            Op::CreateVeth { a, b, mtu } => {
                write!(f, "creating veth {a}/{b}")?;
                match mtu {
                    Some(mtu) => write!(f, " with mtu {mtu}"),
                    None => Ok(()),
                }
            }
            Op::CreateBridge { name, mtu, stp } => {
                write!(f, "creating bridge {name}")?;
                if *stp {
                    f.write_str(" with STP")?;
                }
                match mtu {
                    Some(mtu) => write!(f, " with mtu {mtu}"),
                    None => Ok(()),
                }
            }
            Op::SetMaster { ifname, master } => write!(f, "attaching {ifname} to {master}"),
            Op::SetLinkUp { ifname } => write!(f, "bringing {ifname} up"),
            Op::SetLinkDown { ifname } => write!(f, "bringing {ifname} down"),
            Op::SetMtu { ifname, mtu } => write!(f, "setting mtu {mtu} on {ifname}"),
            Op::DelLink { ifname } => write!(f, "deleting link {ifname}"),
            Op::AddAddr {
                ifname,
                addr,
                prefix,
            } => write!(f, "adding {addr}/{prefix} to {ifname}"),
            Op::AddRoute { route } => describe_route(f, "adding", route),
            Op::DelRoute { route } => describe_route(f, "deleting", route),
            Op::ReplaceRoute { route } => describe_route(f, "replacing", route),
            Op::LookupInterface { ifname } => write!(f, "looking up interface {ifname}"),
            Op::FindInterface { ifname, during } => {
                write!(f, "{during}: interface {ifname} not found")
            }
            Op::ListLinks => f.write_str("listing links"),
            Op::ListNeighbours => f.write_str("listing neighbours"),
            Op::JoinGroups => f.write_str("joining rtnetlink's multicast groups"),
            Op::ReadEvents => f.write_str("reading rtnetlink announcements"),
            Op::ListAddrs => f.write_str("listing addresses"),
            Op::WatchNetns => f.write_str("giving a network namespace an id"),
            Op::ListRoutes { v6: true } => f.write_str("listing IPv6 routes"),
            Op::ListRoutes { v6: false } => f.write_str("listing IPv4 routes"),
            Op::GetRoute { dst } => write!(f, "looking up the route to {dst}"),
            Op::SetTbf { ifname, rate } => {
                write!(f, "setting a tbf qdisc (rate {rate}bit/s) on {ifname}")
            }
            Op::SetTbfBelowNetem { ifname } => {
                write!(f, "setting a tbf qdisc below netem on {ifname}")
            }
            Op::SetNetem { ifname } => write!(f, "setting a netem qdisc on {ifname}"),
            Op::DelRootQdisc { ifname } => write!(f, "removing the root qdisc of {ifname}"),
            Op::ListQdiscs => f.write_str("listing qdiscs"),
            Op::WriteSysctl { key, value } => write!(f, "writing sysctl {key}={value}"),
            Op::ReadSysctl { key } => write!(f, "reading sysctl {key}"),
            Op::AddNftTable { table } => write!(f, "adding table inet {table}"),
            Op::AddNftChain { chain } => write!(f, "adding chain {chain}"),
            Op::AddNftRule { desc } => write!(f, "adding firewall {desc}"),
            Op::ApplyNftBatch => f.write_str("applying the nftables batch"),
            Op::ListNftRules { table } => write!(f, "listing the rules of table inet {table}"),
            Op::DelNftTable { table } => write!(f, "deleting table inet {table}"),
            Op::GetNftTable { table } => write!(f, "looking up table inet {table}"),
            Op::ListNftChains => f.write_str("listing the nftables chains"),
            Op::MoveLink { ifname, to } => {
                write!(f, "moving {ifname} to another network namespace as {to}")
            }
            Op::RenameLink { ifname, to } => write!(f, "renaming {ifname} to {to}"),
            Op::CreateMacvlan { name, parent } => {
                write!(f, "creating macvlan {name} on {parent}")
            }
            Op::CreateVxlan {
                name,
                vni,
                remote,
                mtu,
            } => {
                write!(f, "creating vxlan {name} (vni {vni}, remote {remote})")?;
                match mtu {
                    Some(mtu) => write!(f, " with mtu {mtu}"),
                    None => Ok(()),
                }
            }
            Op::ListAllRoutes { v6 } => write!(
                f,
                "listing the {} routes of every table",
                if *v6 { "IPv6" } else { "IPv4" }
            ),
        }
    }
}

/// "adding route 10.0.3.0/24 via 10.0.12.2 dev eth1"; a route without next hops says so.
fn describe_route(f: &mut fmt::Formatter<'_>, verb: &str, route: &RouteSpec) -> fmt::Result {
    write!(f, "{verb} route {}/{}", route.dst, route.prefix)?;
    let multi = route.nexthops.len() > 1;
    for nh in &route.nexthops {
        if multi {
            f.write_str(" nexthop")?;
        }
        if let Some(via) = nh.via {
            write!(f, " via {via}")?;
        }
        write!(f, " dev {}", nh.dev)?;
    }
    if route.nexthops.is_empty() {
        f.write_str(" (no next hop)")?;
    }
    Ok(())
}

/// The advice appended to an error for the errno values users meet most.
struct Hint<'a> {
    op: &'a Op,
    errno: i32,
}

fn hint(op: &Op, errno: i32) -> Option<&'static str> {
    if let Op::FindInterface { during, .. } = op {
        if errno != libc::EEXIST && errno != libc::EPERM && errno != libc::ENODEV {
            return hint(during, errno);
        }
    }
    Some(match (errno, op) {
        (libc::EEXIST, _) => "already exists",
        (libc::EPERM, _) => "run as root (needs CAP_NET_ADMIN)",
        (libc::ENOENT | libc::EOPNOTSUPP, Op::SetNetem { .. }) => {
            "the kernel lacks netem (CONFIG_NET_SCH_NETEM is not set): delay, jitter and loss cannot be emulated"
        }
        (libc::ENOENT | libc::EOPNOTSUPP, Op::SetTbf { .. } | Op::SetTbfBelowNetem { .. }) => {
            "the kernel lacks tbf (CONFIG_NET_SCH_TBF is not set)"
        }
        (libc::EOPNOTSUPP | libc::EAFNOSUPPORT, Op::CreateVeth { .. }) => {
            "the kernel lacks support (CONFIG_VETH)"
        }
        (libc::EOPNOTSUPP | libc::EAFNOSUPPORT, Op::CreateBridge { .. }) => {
            "the kernel lacks support (CONFIG_BRIDGE)"
        }
        (libc::EOPNOTSUPP | libc::EAFNOSUPPORT, Op::CreateVxlan { .. }) => {
            "the kernel lacks support (CONFIG_VXLAN)"
        }
        (libc::ERANGE, Op::CreateVxlan { .. }) => "a VNI is 24 bits (at most 16777215)",
        (libc::EOPNOTSUPP | libc::EAFNOSUPPORT, op) if op.is_ipv6() => {
            "the kernel lacks support (CONFIG_IPV6)"
        }
        (libc::EOPNOTSUPP | libc::EAFNOSUPPORT, _) => "the kernel lacks support (CONFIG_…)",
        (libc::ENODEV, _) => "no such device",
        (libc::EINVAL, op) if op.sets_mtu() => "the MTU is outside the device's allowed range",
        (libc::ENOENT, Op::WriteSysctl { .. } | Op::ReadSysctl { .. }) => "no such sysctl",
        (libc::ENETUNREACH, op) if op.is_route() => "the gateway is not on a connected subnet",
        _ => return None,
    })
}

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match hint(self.op, self.errno) {
            Some(h) => write!(f, "; {h}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{NetError, Op};
    use crate::{NextHopSpec, RouteSpec};

    fn kernel(op: Op, errno: i32) -> String {
        NetError::Kernel { op, errno }.to_string()
    }

    fn veth() -> Op {
        Op::CreateVeth {
            a: "a".into(),
            b: "b".into(),
            mtu: None,
        }
    }

    #[test]
    fn kernel_errors_name_the_object_and_hint() {
        let add = Op::AddAddr {
            ifname: "eth1".into(),
            addr: "10.0.12.1".parse().unwrap(),
            prefix: 30,
        };
        assert_eq!(
            kernel(add, libc::EEXIST),
            "adding 10.0.12.1/30 to eth1: File exists (os error 17); already exists"
        );
        assert!(kernel(veth(), libc::EPERM).ends_with("; run as root (needs CAP_NET_ADMIN)"));
        assert!(kernel(veth(), libc::EOPNOTSUPP).contains("CONFIG_VETH"));
        let up = Op::SetLinkUp {
            ifname: "eth0".into(),
        };
        assert!(kernel(up, libc::ENODEV).ends_with("; no such device"));
        let mtu = Op::SetMtu {
            ifname: "eth0".into(),
            mtu: 70000,
        };
        assert_eq!(mtu.to_string(), "setting mtu 70000 on eth0");
        assert!(kernel(mtu, libc::EINVAL).contains("allowed range"));
        let route = Op::AddRoute {
            route: RouteSpec {
                dst: "10.0.0.0".parse().unwrap(),
                prefix: 8,
                nexthops: vec![NextHopSpec {
                    via: None,
                    dev: "eth0".into(),
                }],
            },
        };
        assert_eq!(route.to_string(), "adding route 10.0.0.0/8 dev eth0");
        assert!(!kernel(route, libc::EINVAL).contains(';'));
    }

    #[test]
    fn hints_come_from_the_typed_op() {
        let v6 = Op::AddAddr {
            ifname: "eth0".into(),
            addr: "fd00::5".parse().unwrap(),
            prefix: 64,
        };
        assert!(kernel(v6.clone(), libc::EAFNOSUPPORT).contains("CONFIG_IPV6"));
        let v4 = Op::AddAddr {
            ifname: "eth0".into(),
            addr: "10.0.0.1".parse().unwrap(),
            prefix: 24,
        };
        assert!(kernel(v4.clone(), libc::EAFNOSUPPORT).ends_with("(CONFIG_…)"));
        // A name that does not resolve keeps the words of the step that needed it.
        let missing = Op::FindInterface {
            ifname: "eth0".into(),
            during: Box::new(v6),
        };
        assert_eq!(
            kernel(missing, libc::ENODEV),
            "adding fd00::5/64 to eth0: interface eth0 not found: No such device (os error 19); \
             no such device"
        );
        let netem = Op::SetNetem {
            ifname: "eth0".into(),
        };
        assert!(kernel(netem, libc::ENOENT).contains("CONFIG_NET_SCH_NETEM"));
        let tbf = Op::SetTbfBelowNetem {
            ifname: "eth0".into(),
        };
        assert!(kernel(tbf, libc::ENOENT).contains("CONFIG_NET_SCH_TBF"));
        let bridge = Op::CreateBridge {
            name: "br0".into(),
            mtu: Some(1450),
            stp: true,
        };
        assert_eq!(
            bridge.to_string(),
            "creating bridge br0 with STP with mtu 1450"
        );
        assert!(kernel(bridge, libc::EOPNOTSUPP).contains("CONFIG_BRIDGE"));
        let vxlan = Op::CreateVxlan {
            name: "vx0".into(),
            vni: 1 << 24,
            remote: "192.0.2.2".parse().unwrap(),
            mtu: None,
        };
        assert_eq!(
            vxlan.to_string(),
            "creating vxlan vx0 (vni 16777216, remote 192.0.2.2)"
        );
        assert!(kernel(vxlan.clone(), libc::EOPNOTSUPP).contains("CONFIG_VXLAN"));
        assert!(kernel(vxlan, libc::ERANGE).ends_with("; a VNI is 24 bits (at most 16777215)"));
    }

    #[test]
    fn io_errors_keep_errno() {
        let op = Op::WriteSysctl {
            key: "net.ipv4.nope".into(),
            value: "1".into(),
        };
        let e = NetError::io(op, std::io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(e.errno(), Some(libc::ENOENT));
        assert!(
            e.to_string().ends_with("(os error 2); no such sysctl"),
            "{e}"
        );
        assert_eq!(e.op().to_string(), "writing sysctl net.ipv4.nope=1");
    }
}
