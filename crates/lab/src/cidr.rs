//! IP prefixes: one small type for both families, so the planner can treat v4 and v6 alike.

use crate::error::Invalid;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address with a prefix length: `10.0.1.1/24` (an interface address) or `10.0.1.0/24`
/// (a network). Which one is meant depends on where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    /// The address, host bits and all.
    pub addr: IpAddr,
    /// The prefix length: at most 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

impl Cidr {
    /// `addr/prefix`; None when the prefix is too long for the family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        (prefix <= max_prefix(&addr)).then_some(Cidr { addr, prefix })
    }

    /// True for IPv4.
    pub fn is_v4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// The family's longest prefix: 32 or 128.
    pub fn max_prefix(&self) -> u8 {
        max_prefix(&self.addr)
    }

    /// The network this address belongs to (host bits cleared).
    pub fn network(&self) -> Cidr {
        Cidr {
            addr: from_bits(&self.addr, to_bits(&self.addr) & self.mask()),
            prefix: self.prefix,
        }
    }

    /// True when the host bits are zero.
    pub fn is_network(&self) -> bool {
        self.network().addr == self.addr
    }

    fn mask(&self) -> u128 {
        let width = self.max_prefix() as u32;
        let host_bits = width - self.prefix as u32;
        let all = if width == 128 {
            u128::MAX
        } else {
            (1u128 << width) - 1
        };
        if host_bits >= 128 {
            0
        } else {
            all & !((1u128 << host_bits) - 1) & all
        }
    }

    /// True when `addr` lies in this network.
    pub fn contains(&self, addr: &IpAddr) -> bool {
        addr.is_ipv4() == self.is_v4()
            && (to_bits(addr) & self.mask()) == to_bits(&self.network().addr)
    }

    /// True when the two networks share an address (one holds the other: CIDRs nest).
    pub fn overlaps(&self, other: &Cidr) -> bool {
        if self.is_v4() != other.is_v4() {
            return false;
        }
        let p = self.prefix.min(other.prefix);
        let a = Cidr {
            addr: self.addr,
            prefix: p,
        }
        .network();
        let b = Cidr {
            addr: other.addr,
            prefix: p,
        }
        .network();
        a == b
    }

    /// Number of addresses in the prefix, saturating at u128::MAX.
    pub fn size(&self) -> u128 {
        let host_bits = (self.max_prefix() - self.prefix) as u32;
        if host_bits >= 128 {
            u128::MAX
        } else {
            1u128 << host_bits
        }
    }

    /// Usable host addresses: v4 excludes network and broadcast (except /31, /32); v6 excludes
    /// the subnet-router anycast address ::0.
    pub fn host_capacity(&self) -> u128 {
        match self.addr {
            IpAddr::V4(_) if self.prefix >= 31 => self.size(),
            IpAddr::V4(_) => self.size() - 2,
            IpAddr::V6(_) => self.size().saturating_sub(1),
        }
    }

    /// The `i`-th host address of this network (i from 0), as an interface address with this
    /// prefix. None when out of range.
    pub fn host(&self, i: u128) -> Option<Cidr> {
        if i >= self.host_capacity() {
            return None;
        }
        let bits = to_bits(&self.network().addr) + self.first_host() + i;
        Some(Cidr {
            addr: from_bits(&self.addr, bits),
            prefix: self.prefix,
        })
    }

    /// Index of `addr` as a host of this network (inverse of `host`).
    pub fn host_index(&self, addr: &IpAddr) -> Option<u128> {
        if !self.contains(addr) {
            return None;
        }
        let off = to_bits(addr) - to_bits(&self.network().addr);
        let i = off.checked_sub(self.first_host())?;
        (i < self.host_capacity()).then_some(i)
    }

    /// The offset of host 0 from the network address: v4's /31 and /32 use every address.
    fn first_host(&self) -> u128 {
        match self.addr {
            IpAddr::V4(_) if self.prefix >= 31 => 0,
            _ => 1,
        }
    }

    /// The `i`-th subnet of length `prefix` inside this network.
    pub fn subnet(&self, prefix: u8, i: u128) -> Option<Cidr> {
        if prefix < self.prefix || prefix > self.max_prefix() {
            return None;
        }
        let bits = (prefix - self.prefix) as u32;
        if bits < 128 && i >= (1u128 << bits) {
            return None;
        }
        let step_bits = (self.max_prefix() - prefix) as u32;
        let step = if step_bits >= 128 {
            0
        } else {
            1u128 << step_bits
        };
        let base = to_bits(&self.network().addr);
        Some(Cidr {
            addr: from_bits(&self.addr, base + i * step),
            prefix,
        })
    }

    /// The default route's destination for this family.
    pub fn default_route(v4: bool) -> Cidr {
        if v4 {
            Cidr {
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                prefix: 0,
            }
        } else {
            Cidr {
                addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                prefix: 0,
            }
        }
    }
}

fn max_prefix(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// The address as an integer (an IPv4 address in the low 32 bits).
pub(crate) fn to_bits(addr: &IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

/// The address of `like`'s family whose integer is `bits` (the inverse of `to_bits`).
pub(crate) fn from_bits(like: &IpAddr, bits: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(bits as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(bits)),
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `10.0.1.0/24`, `fd00:1::1/64`. The errors have no hint: they say what is wrong in full.
impl FromStr for Cidr {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Cidr, Invalid> {
        let (a, p) = s.split_once('/').ok_or_else(|| {
            Invalid::new(format!(
                "`{s}` has no prefix length: write it as address/length, e.g. 10.0.1.0/24"
            ))
        })?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| Invalid::new(format!("`{a}` is not an IPv4 or IPv6 address")))?;
        let prefix: u8 = p
            .parse()
            .map_err(|_| Invalid::new(format!("`{p}` is not a prefix length")))?;
        Cidr::new(addr, prefix).ok_or_else(|| {
            Invalid::new(format!(
                "prefix length /{prefix} is too long for {addr} (at most /{})",
                max_prefix(&addr)
            ))
        })
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(c("10.0.1.5/24").to_string(), "10.0.1.5/24");
        assert_eq!(c("fd00:1::/48").to_string(), "fd00:1::/48");
        assert!("10.0.0.0".parse::<Cidr>().is_err());
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("10.0.0/24".parse::<Cidr>().is_err());
    }

    #[test]
    fn network_and_contains() {
        assert_eq!(c("10.0.1.5/24").network(), c("10.0.1.0/24"));
        assert!(c("10.0.1.0/24").contains(&"10.0.1.200".parse().unwrap()));
        assert!(!c("10.0.1.0/24").contains(&"10.0.2.1".parse().unwrap()));
        assert!(c("10.0.0.0/16").overlaps(&c("10.0.3.0/24")));
        assert!(!c("10.0.0.0/24").overlaps(&c("10.0.1.0/24")));
        assert_eq!(c("0.0.0.0/0").network(), c("0.0.0.0/0"));
        assert!(c("::/0").contains(&"fd00::1".parse().unwrap()));
    }

    #[test]
    fn hosts_and_subnets() {
        let n = c("10.0.0.0/30");
        assert_eq!(n.host_capacity(), 2);
        assert_eq!(n.host(0), Some(c("10.0.0.1/30")));
        assert_eq!(n.host(1), Some(c("10.0.0.2/30")));
        assert_eq!(n.host(2), None);
        assert_eq!(n.host_index(&"10.0.0.2".parse().unwrap()), Some(1));
        assert_eq!(n.host_index(&"10.0.0.3".parse().unwrap()), None);
        let p = c("10.0.0.0/16");
        assert_eq!(p.subnet(24, 3), Some(c("10.0.3.0/24")));
        assert_eq!(p.subnet(24, 256), None);
        let v6 = c("fd00:1::/48");
        assert_eq!(v6.subnet(64, 2), Some(c("fd00:1:0:2::/64")));
        assert_eq!(c("fd00:1:0:2::/64").host(0), Some(c("fd00:1:0:2::1/64")));
    }
}
