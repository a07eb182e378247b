//! Live counters of a running lab (`nsnet top`): every interface's packets, bytes, drops and
//! errors, read from each node's kernel (IFLA_STATS64 of a link dump, one per node per
//! sample, on sockets opened once), and the rates between two samples.

use crate::running::{NodeError, RunningLab};
use crate::state::StateError;
use nsnet_netcfg::{LinkStats, NetError, RtSocket};
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum TopError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("{node}: {source}")]
    Net { node: String, source: NetError },
    #[error("lab '{0}': none of its nodes runs")]
    NoneRunning(String),
}

/// One interface's counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceCounters {
    pub node: String,
    pub iface: String,
    pub up: bool,
    pub carrier: bool,
    pub stats: LinkStats,
}

/// Every interface of the lab's running nodes (loopback left out), in node then interface
/// order, at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub ifaces: Vec<IfaceCounters>,
}

/// One interface between two samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IfaceRate {
    pub node: String,
    pub iface: String,
    pub up: bool,
    pub carrier: bool,
    pub rx_pps: f64,
    pub tx_pps: f64,
    /// Bits per second.
    pub rx_bps: f64,
    pub tx_bps: f64,
    /// Totals since the interface was made.
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Dropped packets (received and sent), in all, and per second.
    pub drops: u64,
    pub drops_ps: f64,
    pub errors: u64,
}

/// A lab's nodes with a socket each, sampled again and again.
pub struct Sampler {
    lab: String,
    socks: Vec<(String, RtSocket)>,
}

impl Sampler {
    /// A socket in every running node of the lab `given` names (or of the only lab up).
    pub fn open(given: Option<&str>) -> Result<Sampler, TopError> {
        let lab = RunningLab::open(given)?;
        let _ = crate::build::limits::raise_nofile(lab.plan());
        let mut socks = Vec::new();
        for rec in &lab.state.nodes {
            match lab.node(&rec.name) {
                Ok(live) => socks.push((rec.name.clone(), live.rt_socket()?)),
                Err(NodeError::Dead { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if socks.is_empty() {
            return Err(TopError::NoneRunning(lab.name.to_string()));
        }
        socks.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Sampler {
            lab: lab.name.to_string(),
            socks,
        })
    }

    pub fn lab(&self) -> &str {
        &self.lab
    }

    /// Every interface's counters now.
    pub fn sample(&mut self) -> Result<Sample, TopError> {
        let mut ifaces = Vec::new();
        for (node, sock) in &mut self.socks {
            let mut links = sock.links().map_err(|source| TopError::Net {
                node: node.clone(),
                source,
            })?;
            links.sort_by(|a, b| a.name.cmp(&b.name));
            ifaces.extend(
                links
                    .into_iter()
                    .filter(|l| l.name != "lo")
                    .map(|l| IfaceCounters {
                        node: node.clone(),
                        iface: l.name,
                        up: l.up,
                        carrier: l.oper_up,
                        stats: l.stats.unwrap_or_default(),
                    }),
            );
        }
        Ok(Sample {
            at: Instant::now(),
            ifaces,
        })
    }
}

/// The rates of every interface of `cur` since `prev` (an interface new in `cur` counts
/// from zero; counters that went backwards, a link made anew, count as zero).
pub fn rates(prev: &Sample, cur: &Sample) -> Vec<IfaceRate> {
    let secs = cur.at.duration_since(prev.at).as_secs_f64().max(1e-3);
    let before: std::collections::HashMap<(&str, &str), &LinkStats> = prev
        .ifaces
        .iter()
        .map(|i| ((i.node.as_str(), i.iface.as_str()), &i.stats))
        .collect();
    cur.ifaces
        .iter()
        .map(|i| {
            let s = &i.stats;
            let p = before
                .get(&(i.node.as_str(), i.iface.as_str()))
                .copied()
                .copied()
                .unwrap_or_default();
            let per_s = |now: u64, then: u64| now.saturating_sub(then) as f64 / secs;
            let drops = s.rx_dropped + s.tx_dropped;
            IfaceRate {
                node: i.node.clone(),
                iface: i.iface.clone(),
                up: i.up,
                carrier: i.carrier,
                rx_pps: per_s(s.rx_packets, p.rx_packets),
                tx_pps: per_s(s.tx_packets, p.tx_packets),
                rx_bps: 8.0 * per_s(s.rx_bytes, p.rx_bytes),
                tx_bps: 8.0 * per_s(s.tx_bytes, p.tx_bytes),
                rx_packets: s.rx_packets,
                tx_packets: s.tx_packets,
                rx_bytes: s.rx_bytes,
                tx_bytes: s.tx_bytes,
                drops,
                drops_ps: per_s(drops, p.rx_dropped + p.tx_dropped),
                errors: s.rx_errors + s.tx_errors,
            }
        })
        .collect()
}

/// The rows and columns of the terminal on `fd`, or None when it is none.
pub fn terminal_size(fd: std::os::fd::BorrowedFd<'_>) -> Option<(u16, u16)> {
    crate::sys::terminal_size(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(at: Instant, rx: u64, tx: u64) -> Sample {
        Sample {
            at,
            ifaces: vec![IfaceCounters {
                node: "h1".into(),
                iface: "eth0".into(),
                up: true,
                carrier: true,
                stats: LinkStats {
                    rx_packets: rx,
                    tx_packets: tx,
                    rx_bytes: rx * 100,
                    tx_bytes: tx * 100,
                    rx_dropped: 1,
                    ..LinkStats::default()
                },
            }],
        }
    }

    #[test]
    fn rates_are_differences_over_time() {
        let t = Instant::now();
        let a = sample(t, 10, 20);
        let b = sample(t + Duration::from_secs(2), 30, 20);
        let r = &rates(&a, &b)[0];
        assert_eq!((r.rx_pps, r.tx_pps), (10.0, 0.0));
        assert_eq!(r.rx_bps, 8000.0);
        assert_eq!((r.rx_packets, r.drops, r.drops_ps), (30, 1, 0.0));
        // A counter that went back (the link was made anew) is no negative rate.
        let c = sample(t + Duration::from_secs(3), 5, 20);
        assert_eq!(rates(&b, &c)[0].rx_pps, 0.0);
    }
}
