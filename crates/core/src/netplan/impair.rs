//! Link impairments as qdiscs: a rate as a token bucket (tbf), delay, jitter and loss with
//! netem (a tbf below it for a rate too), at both ends of a link so in both directions.

use nsnet_lab::{Impair, Plan};
use nsnet_netcfg::{NetError, Netem, RtSocket, Tbf};

/// The token bucket nsnet uses for a rate: a bucket of 4 ms at the rate (at least one
/// full-size frame and 4 KiB), a queue of 50 ms.
pub fn tbf_for(rate: u64, mtu: Option<u32>) -> Tbf {
    let frame = mtu.unwrap_or(1500) + 14;
    let burst = (rate / 8 / 250).min(u32::MAX as u64) as u32;
    Tbf {
        rate,
        burst: burst.max(frame).max(4096),
        latency_us: 50_000,
    }
}

/// Put `imp` on one interface: tbf for a rate alone, netem (with a tbf below) otherwise,
/// the device's default when empty.
pub fn apply_impair(
    sock: &mut RtSocket,
    ifname: &str,
    imp: &Impair,
    mtu: Option<u32>,
) -> Result<(), NetError> {
    if imp.is_empty() {
        return sock.del_qdisc_root(ifname).map(|_| ());
    }
    let tbf = imp.rate.map(|r| tbf_for(r, mtu));
    if imp.needs_netem() {
        let n = Netem {
            delay_us: imp.delay.unwrap_or(0),
            jitter_us: imp.jitter.unwrap_or(0),
            loss_ppm: imp.loss.unwrap_or(0),
            limit: 1000,
        };
        sock.set_qdisc_netem(ifname, &n, tbf.as_ref())
    } else {
        sock.set_qdisc_tbf(ifname, tbf.as_ref().expect("a rate"))
    }
}

/// At `up`: the lab file's impairments on the node's interfaces (each end does its own).
pub fn impair_node(plan: &Plan, node: usize, sock: &mut RtSocket) -> Result<(), NetError> {
    for i in &plan.nodes[node].interfaces {
        let l = &plan.links[i.link];
        if !l.impair.is_empty() {
            apply_impair(sock, &i.name, &l.impair, l.mtu)?;
        }
    }
    Ok(())
}
