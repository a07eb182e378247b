//! Addresses as the lab file writes them: CIDRs, plain addresses, pools; and the ranges a
//! lab may not use (loopback, multicast and the like).

use crate::cidr::Cidr;
use crate::error::Invalid;
use std::net::IpAddr;

/// Ranges a pool may neither lie in nor cover, and why.
const RESERVED_POOL4: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\""),
    ("127.0.0.0/8", "loopback"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
];
const RESERVED_POOL6: &[(&str, &str)] = &[
    ("::1/128", "loopback"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
];
/// Ranges an explicit subnet or address may not touch.
const RESERVED_ADDR: &[(&str, &str)] = &[
    ("127.0.0.0/8", "loopback"),
    ("224.0.0.0/4", "multicast"),
    ("ff00::/8", "multicast"),
];

/// "lies in 127.0.0.0/8 (loopback)" or "covers 224.0.0.0/4 (multicast)", for the first range
/// of `ranges` that `c` overlaps.
fn reserved_overlap(c: &Cidr, ranges: &[(&str, &str)]) -> Option<String> {
    ranges.iter().find_map(|&(r, name)| {
        let r: Cidr = r.parse().expect("valid reserved range");
        c.overlaps(&r).then(|| {
            if c.prefix >= r.prefix {
                format!("lies in {r} ({name})")
            } else {
                format!("covers {r} ({name})")
            }
        })
    })
}

/// `c` when its host bits are clear; else an error naming it by `what` ("subnet"; empty:
/// by itself).
pub(super) fn network_only(c: Cidr, what: &str) -> Result<Cidr, Invalid> {
    if c.is_network() {
        return Ok(c);
    }
    let what = if what.is_empty() {
        String::new()
    } else {
        format!("{what} ")
    };
    Err(Invalid::new(format!("{what}`{c}` has host bits set"))
        .hint(format!("write the network address: {}", c.network())))
}

/// A CIDR as written, host bits or not.
pub(super) fn parse_cidr(s: &str) -> Result<Cidr, Invalid> {
    s.parse::<Cidr>()
        .map_err(|e| Invalid::new(format!("malformed CIDR: {e}")))
}

/// A plain address, no prefix length (`what` names it: "gateway").
pub(super) fn parse_ip(s: &str, what: &str) -> Result<IpAddr, Invalid> {
    s.parse::<IpAddr>().map_err(|_| {
        Invalid::new(format!("{what} `{s}` is not an IP address"))
            .hint("write a plain IPv4 or IPv6 address, e.g. 10.0.1.1 (no prefix length)")
    })
}

/// A pool (`what`: `pool` or `pool6`, IPv4 when `v4`): a network of that family that holds
/// a segment's subnet and lies in no reserved range.
pub(super) fn check_pool(c: Cidr, v4: bool, what: &str) -> Result<Cidr, Invalid> {
    let fam = if v4 { "IPv4" } else { "IPv6" };
    if c.is_v4() != v4 {
        return Err(Invalid::new(format!(
            "`{what}` must be an {fam} network, not {c}"
        )));
    }
    let c = network_only(c, "")?;
    let fix = if v4 {
        "use a private range such as 10.0.0.0/16"
    } else {
        "use a unique local range such as fd00:1::/48"
    };
    let (reserved, least) = if v4 {
        (RESERVED_POOL4, 30)
    } else {
        (RESERVED_POOL6, 64)
    };
    let why = if c.prefix == 0 {
        Some(format!(
            "is the whole {fam} space (loopback, multicast and all)"
        ))
    } else if let Some(why) = reserved_overlap(&c, reserved) {
        Some(why)
    } else if c.prefix > least {
        Some(format!(
            "is too small to hold a /{least}, the least a segment gets"
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(Invalid::new(format!("`{what}` {c} {why}")).hint(fix)),
        None => Ok(c),
    }
}

/// An explicit subnet or address (`what`) outside the ranges no interface can use:
/// loopback, multicast.
pub(super) fn check_usable(c: &Cidr, what: &str) -> Result<(), Invalid> {
    let Some(why) = reserved_overlap(c, RESERVED_ADDR) else {
        return Ok(());
    };
    let fix = if c.is_v4() {
        "use a private range such as 10.0.0.0/16"
    } else {
        "use a unique local range such as fd00:1::/64"
    };
    Err(Invalid::new(format!("{what} {c} {why}, which no interface can use")).hint(fix))
}
