//! Neighbour entries over rtnetlink: the ARP and NDP caches, dumped (RTM_GETNEIGH) and
//! decoded. Bridge forwarding entries (AF_BRIDGE, also RTM_NEWNEIGH) are left out.

use std::net::IpAddr;
use std::ops::ControlFlow;

use netlink_packet_core::{Parseable, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::netlink::{Request, Rtnetlink, Socket};
use crate::rtnl::emit_rtnl;
use crate::{NeighInfo, NeighState, NetError, Op};

/// A dump of every neighbour entry (of every family: the bridge's are skipped on parsing).
struct DumpNeighbours;

impl Request for DumpNeighbours {
    fn op(&self) -> Op {
        Op::ListNeighbours
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        let m = RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default());
        emit_rtnl(buf, seq, NLM_F_REQUEST | NLM_F_DUMP, m);
    }
}

fn state(s: NeighbourState) -> NeighState {
    match s {
        NeighbourState::Incomplete => NeighState::Incomplete,
        NeighbourState::Reachable => NeighState::Reachable,
        NeighbourState::Stale => NeighState::Stale,
        NeighbourState::Delay => NeighState::Delay,
        NeighbourState::Probe => NeighState::Probe,
        NeighbourState::Failed => NeighState::Failed,
        NeighbourState::Noarp => NeighState::Noarp,
        NeighbourState::Permanent => NeighState::Permanent,
        _ => NeighState::Other,
    }
}

/// One RTM_NEWNEIGH (or RTM_DELNEIGH) payload: None for another family than IPv4 or IPv6
/// (a bridge's forwarding entries) or an entry without an address. The name is filled by
/// the caller.
pub(crate) fn parse_neigh(
    payload: &[u8],
) -> Result<Option<NeighInfo>, netlink_packet_core::DecodeError> {
    let msg = NeighbourMessage::parse(payload)?;
    if !matches!(
        msg.header.family,
        AddressFamily::Inet | AddressFamily::Inet6
    ) {
        return Ok(None);
    }
    let (mut addr, mut lladdr) = (None, None);
    for attr in msg.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                addr = Some(IpAddr::V4(a))
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                addr = Some(IpAddr::V6(a))
            }
            NeighbourAttribute::LinkLayerAddress(l) => lladdr = l.as_slice().try_into().ok(),
            _ => {}
        }
    }
    Ok(addr.map(|addr| NeighInfo {
        ifindex: msg.header.ifindex,
        ifname: String::new(),
        addr,
        lladdr,
        state: state(msg.header.state),
    }))
}

impl Socket<Rtnetlink> {
    /// Every IPv4 and IPv6 neighbour entry of this socket's netns, interfaces named.
    pub fn neighbours(&mut self) -> Result<Vec<NeighInfo>, NetError> {
        let names = self.names()?;
        let mut out = Vec::new();
        self.query(&DumpNeighbours, |_, p| {
            let parsed = parse_neigh(p).map_err(|e| NetError::decode(Op::ListNeighbours, e))?;
            if let Some(mut n) = parsed {
                n.ifname = names.get(&n.ifindex).cloned().unwrap_or_default();
                out.push(n);
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_neigh;
    use crate::netlink::testing::hex;
    use crate::NeighState;

    #[test]
    fn parses_an_arp_entry_as_the_kernel_sends_it() {
        // An RTM_NEWNEIGH payload laid out as linux/neighbour.h has it: AF_INET, ifindex 2,
        // NUD_REACHABLE, NDA_DST 10.0.0.2, NDA_LLADDR 02:00:00:00:00:02.
        let p = hex(&[
            "02000000",
            "02000000",
            "0200",
            "00",
            "01", // ndmsg: family, pad, index, state, flags, type
            "0800",
            "0100",
            "0a000002", // NDA_DST
            "0a00",
            "0200",
            "020000000002",
            "0000", // NDA_LLADDR, padded
        ]);
        let n = parse_neigh(&p).unwrap().unwrap();
        assert_eq!(n.ifindex, 2);
        assert_eq!(n.addr, "10.0.0.2".parse::<std::net::IpAddr>().unwrap());
        assert_eq!(n.lladdr, Some([2, 0, 0, 0, 0, 2]));
        assert_eq!(n.state, NeighState::Reachable);
    }

    #[test]
    fn bridge_forwarding_entries_are_skipped() {
        // AF_BRIDGE (7) fdb entry: NDA_LLADDR only.
        let p = hex(&[
            "07000000",
            "03000000",
            "8000",
            "02",
            "00",
            "0a00",
            "0200",
            "020000000009",
            "0000",
        ]);
        assert_eq!(parse_neigh(&p).unwrap(), None);
    }
}
