//! What of a lab reaches outside it, as values: links from nodes to the host (an uplink with
//! NAT, a management address), ports published on the host, host interfaces taken into a
//! node. Each parsed and printed in one place; `model` checks them, `plan` places them.

use crate::cidr::Cidr;
use crate::error::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// `[lab] host_pool`'s default: where the /30 of each link to the host comes from. Shared
/// address space (RFC 6598), which hosts seldom route; each lab takes a block of it chosen by
/// its name, so labs up at once rarely meet (and `up` refuses when they, or the host, do).
pub const DEFAULT_HOST_POOL: &str = "100.127.0.0/16";
/// The prefix of one link to the host.
pub const HOST_LINK_PREFIX: u8 = 30;
/// The name of a node's uplink interface.
pub const UPLINK_IFACE: &str = "uplink";
/// The name of a node's management interface (when it has no uplink, which serves as one).
pub const MGMT_IFACE: &str = "mgmt0";
/// The most ports one lab publishes.
pub const MAX_PORTS: usize = 256;

/// A node's link to the host: a veth pair, one end in the node, the other in the host's
/// network namespace, a /30 between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLink {
    /// The node's end: [`UPLINK_IFACE`] or [`MGMT_IFACE`].
    pub iface: String,
    /// The host's end (`nsu…` for an uplink, `nsm…` for management: a hash of lab and node,
    /// 11 characters).
    pub host_iface: String,
    /// The node's address, with the link's prefix.
    pub addr: Cidr,
    /// The host's address, with the link's prefix.
    pub host_addr: Cidr,
    /// An uplink: the node's default route goes to the host, which masquerades what the
    /// node sends on (forwarding on). Else management only: no route, no NAT.
    pub nat: bool,
}

/// The host-side name of node `node`'s link to the host in lab `lab`: `nsu`/`nsm` and 8 hex
/// digits of an FNV-1a hash of both names, as short as the kernel's 15 bytes need.
pub fn host_iface_name(lab: &str, node: &str, nat: bool) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in lab.bytes().chain([0]).chain(node.bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{}{h:08x}", if nat { "nsu" } else { "nsm" })
}

/// Where in `pool` lab `lab` takes `count` host links from: the block of the smallest aligned
/// size (at least a /24) that holds them, picked by a hash of the lab's name. None when the
/// pool is too small.
pub fn host_block(pool: &Cidr, lab: &str, count: usize) -> Option<Cidr> {
    let need = (count.max(1) as u128) * 4;
    let mut prefix = 24u8.max(pool.prefix);
    while prefix > pool.prefix && (1u128 << (32 - prefix)) < need {
        prefix -= 1;
    }
    if prefix < pool.prefix || (1u128 << (32 - prefix)) < need {
        return None;
    }
    let blocks = 1u128 << (prefix - pool.prefix);
    let h = crate::values::fnv1a(lab.bytes());
    pool.network().subnet(prefix, u128::from(h) % blocks)
}

/// A port published on the host: `[HOST_IP:]HOST_PORT:NODE_PORT[/tcp|/udp]`, as Docker
/// writes them. The relay listens on the host and connects inside the node to its loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// The host address listened on (0.0.0.0: every address of the host).
    pub host: IpAddr,
    /// The host port.
    pub host_port: u16,
    /// The node's port (on its loopback).
    pub node_port: u16,
    /// UDP (else TCP).
    pub udp: bool,
}

impl Port {
    /// `"8080:80"`, `"127.0.0.1:2222:22"`, `"5353:53/udp"`, `"[::1]:8080:80"`.
    pub fn parse(s: &str) -> Result<Port, Invalid> {
        let bad = || {
            Invalid::new(format!("`{s}` is not a port to publish")).hint(
                "write \"HOST_PORT:NODE_PORT\", \"HOST_IP:HOST_PORT:NODE_PORT\", with /udp for UDP: \"8080:80\", \"127.0.0.1:2222:22\", \"5353:53/udp\"",
            )
        };
        let (rest, udp) = match s.rsplit_once('/') {
            Some((r, "udp")) => (r, true),
            Some((r, "tcp")) => (r, false),
            Some(_) => return Err(bad()),
            None => (s, false),
        };
        let (host, ports) = if let Some(r) = rest.strip_prefix('[') {
            let (ip, after) = r.split_once("]:").ok_or_else(bad)?;
            (Some(ip), after)
        } else {
            match rest.matches(':').count() {
                1 => (None, rest),
                2 => {
                    let (ip, after) = rest.split_once(':').ok_or_else(bad)?;
                    (Some(ip), after)
                }
                _ => return Err(bad()),
            }
        };
        let host = match host {
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Some(ip) => ip.parse::<IpAddr>().map_err(|_| {
                Invalid::new(format!("`{ip}` in `{s}` is not an IP address"))
                    .hint("write the host address to listen on, e.g. 127.0.0.1, or leave it out (every address)")
            })?,
        };
        let (hp, np) = ports.split_once(':').ok_or_else(bad)?;
        let port = |p: &str| match p.parse::<u16>() {
            Ok(0) | Err(_) => {
                Err(Invalid::new(format!("`{p}` in `{s}` is not a port")).hint("ports are 1-65535"))
            }
            Ok(n) => Ok(n),
        };
        Ok(Port {
            host,
            host_port: port(hp)?,
            node_port: port(np)?,
            udp,
        })
    }

    /// Whether `self` and `o` cannot both listen: the same protocol and port, and the same
    /// address or one of them every address (of a family: :: takes IPv4 too on Linux).
    pub fn clashes(&self, o: &Port) -> bool {
        let any = |a: &IpAddr| a.is_unspecified();
        self.udp == o.udp
            && self.host_port == o.host_port
            && (self.host == o.host || any(&self.host) || any(&o.host))
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.host_port)?,
            IpAddr::V4(a) => write!(f, "{a}:{}", self.host_port)?,
        }
        write!(
            f,
            " → {}/{}",
            self.node_port,
            if self.udp { "udp" } else { "tcp" }
        )
    }
}

/// A host interface taken into a node: moved into its network namespace (renamed there when
/// `name` differs) and given back at `down` with its name, MTU, state and addresses; or, with
/// `macvlan`, left on the host with a macvlan on it in the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostIface {
    /// Its name on the host.
    pub host: String,
    /// Its name in the node.
    pub name: String,
    /// Addresses it gets in the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addrs: Vec<Cidr>,
    /// Taken even when the host's default route goes through it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    /// Not moved: a macvlan (bridge mode) made on it, in the node; the host keeps it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub macvlan: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_as_docker_writes_them() {
        let p = Port::parse("8080:80").unwrap();
        assert_eq!(
            (p.host, p.host_port, p.node_port, p.udp),
            ("0.0.0.0".parse().unwrap(), 8080, 80, false)
        );
        let p = Port::parse("127.0.0.1:2222:22").unwrap();
        assert_eq!(p.host, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert!(Port::parse("5353:53/udp").unwrap().udp);
        assert!(!Port::parse("5353:53/tcp").unwrap().udp);
        let p = Port::parse("[::1]:8080:80").unwrap();
        assert_eq!(p.host, "::1".parse::<IpAddr>().unwrap());
        for bad in [
            "80",
            "0:80",
            "8080:0",
            "70000:80",
            "x:80",
            "1.2.3:80:80",
            "80:80/sctp",
            "a:b:c:d",
            "",
        ] {
            assert!(Port::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Port::parse("127.0.0.1:53:53/udp").unwrap().to_string(),
            "127.0.0.1:53 → 53/udp"
        );
    }

    #[test]
    fn clashes() {
        let p = |s| Port::parse(s).unwrap();
        assert!(p("8080:80").clashes(&p("127.0.0.1:8080:81")));
        assert!(!p("8080:80").clashes(&p("8080:80/udp")));
        assert!(!p("127.0.0.1:8080:80").clashes(&p("127.0.0.2:8080:80")));
    }

    #[test]
    fn host_blocks_are_in_the_pool_and_names_short() {
        let pool: Cidr = DEFAULT_HOST_POOL.parse().unwrap();
        let b = host_block(&pool, "lab", 3).unwrap();
        assert_eq!(b.prefix, 24);
        assert!(pool.contains(&b.addr));
        assert_eq!(host_block(&pool, "lab", 100).unwrap().prefix, 23);
        let small: Cidr = "192.168.5.0/29".parse().unwrap();
        assert_eq!(host_block(&small, "lab", 2).unwrap(), small);
        assert_eq!(host_block(&small, "lab", 3), None);
        let n = host_iface_name("a-very-long1", "leaf_1_0_1_abcdefghij", true);
        assert!(n.len() <= 15 && n.starts_with("nsu"), "{n}");
        assert_ne!(
            host_iface_name("a", "b", true),
            host_iface_name("a", "c", true)
        );
    }
}
