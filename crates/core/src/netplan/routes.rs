//! Planned routes as netcfg requests, and a node's static routes made what a plan says.

use nsnet_lab::Route;
use nsnet_netcfg::{NetError, NextHopSpec, RouteSpec, RtSocket, RTPROT_STATIC};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

/// A planned route as netcfg takes it.
pub fn route_spec(r: &Route) -> RouteSpec {
    RouteSpec {
        dst: r.to.addr,
        prefix: r.to.prefix,
        nexthops: r
            .via
            .iter()
            .map(|h| NextHopSpec {
                via: Some(h.via),
                dev: h.dev.clone(),
            })
            .collect(),
    }
}

/// A route's next hops as a comparable set of (gateway, device).
type HopSet = BTreeSet<(Option<IpAddr>, String)>;

fn hop_set(hops: impl Iterator<Item = (Option<IpAddr>, String)>) -> HopSet {
    hops.collect()
}

/// Make the node's static routes (ours: protocol static, main table) what `want` says:
/// replace those that differ, add the missing, delete the extra. Returns (set, deleted).
pub fn sync_routes(
    sock: &mut RtSocket,
    dual_stack: bool,
    want: &[Route],
) -> Result<(usize, usize), NetError> {
    let mut have = sock.routes(false)?;
    if dual_stack {
        have.extend(sock.routes(true)?);
    }
    have.retain(|r| r.protocol == RTPROT_STATIC);
    let key = |dst: IpAddr, prefix: u8| (dst, prefix);
    let mut by_key: HashMap<(IpAddr, u8), HopSet> = HashMap::new();
    let mut kernel_hops = HashMap::new();
    for r in &have {
        let hops = hop_set(
            r.nexthops
                .iter()
                .map(|h| (h.via, h.dev.clone().unwrap_or_default())),
        );
        by_key.insert(key(r.dst, r.prefix), hops);
        kernel_hops.insert(key(r.dst, r.prefix), r.nexthops.clone());
    }
    let (mut set, mut deleted) = (0, 0);
    let mut wanted = HashSet::new();
    for r in want {
        let k = key(r.to.addr, r.to.prefix);
        wanted.insert(k);
        let hops = hop_set(r.via.iter().map(|h| (Some(h.via), h.dev.clone())));
        if by_key.get(&k) != Some(&hops) {
            sock.replace_route(&route_spec(r))?;
            set += 1;
        }
    }
    for (k, hops) in kernel_hops {
        if wanted.contains(&k) {
            continue;
        }
        let nexthops: Vec<NextHopSpec> = hops
            .iter()
            .filter_map(|h| {
                Some(NextHopSpec {
                    via: h.via,
                    dev: h.dev.clone()?,
                })
            })
            .collect();
        let r = RouteSpec {
            dst: k.0,
            prefix: k.1,
            nexthops,
        };
        match sock.del_route(&r) {
            Err(e) if e.errno() != Some(libc::ESRCH) => return Err(e),
            _ => deleted += 1,
        }
    }
    Ok((set, deleted))
}
