//! `nsnet top`: per-interface packet and byte rates and drops of a running lab, refreshed in
//! place on a terminal, one plain snapshot per interval when piped.
use crate::out::{out, outln};
use clap::Args;
use nsnet_core::ops::top::{rates, terminal_size, IfaceRate, Sampler};
use std::io::IsTerminal;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct TopCmd {
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
    /// Seconds between refreshes
    #[arg(long, short = 'i', default_value = "1", value_parser = interval)]
    pub interval: f64,
    /// Stop after this many refreshes
    #[arg(long, short = 'n', value_name = "N")]
    pub count: Option<u64>,
}

fn interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.05..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}`: give seconds between 0.05 and 3600")),
    }
}

impl TopCmd {
    pub fn run(self) -> super::CmdResult {
        let mut sampler = Sampler::open(self.lab.as_deref())?;
        let tty = std::io::stdout().is_terminal();
        let every = Duration::from_secs_f64(self.interval);
        let mut prev = sampler.sample()?;
        let mut shown = 0;
        while self.count.is_none_or(|n| shown < n) {
            std::thread::sleep(every);
            let cur = sampler.sample()?;
            let mut rows = rates(&prev, &cur);
            prev = cur;
            let time = super::events::rfc3339(std::time::SystemTime::now());
            let title = format!("lab {} at {time}, every {}s", sampler.lab(), self.interval);
            if tty {
                // Busiest first, as many as the screen holds.
                rows.sort_by(|a, b| {
                    let load = |r: &IfaceRate| r.rx_pps + r.tx_pps;
                    load(b).total_cmp(&load(a))
                });
                let height = terminal_size(std::os::fd::AsFd::as_fd(&std::io::stdout()))
                    .map_or(24, |(r, _)| usize::from(r));
                let room = height.saturating_sub(3).max(1);
                let hidden = rows.len().saturating_sub(room);
                rows.truncate(room);
                let more = if hidden > 0 {
                    format!(" ({hidden} quieter interfaces not shown)")
                } else {
                    String::new()
                };
                out!("\x1b[H\x1b[2J{title}{more}; ^C to quit\n{}", table(&rows));
            } else {
                if shown > 0 {
                    outln!();
                }
                outln!("# {title}");
                out!("{}", table(&rows));
            }
            shown += 1;
        }
        Ok(0)
    }
}

/// `1.2k`, `34.5M`: a rate in three significant digits.
fn si(v: f64) -> String {
    let (v, unit) = match v {
        v if v >= 1e9 => (v / 1e9, "G"),
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e3 => (v / 1e3, "k"),
        v => (v, ""),
    };
    if unit.is_empty() {
        format!("{v:.0}")
    } else if v >= 100.0 {
        format!("{v:.0}{unit}")
    } else {
        format!("{v:.1}{unit}")
    }
}

fn table(rows: &[IfaceRate]) -> String {
    let mut o = format!(
        "{:<16} {:<8} {:<10} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10} {:>7}\n",
        "NODE",
        "IFACE",
        "STATE",
        "RX pkt/s",
        "TX pkt/s",
        "RX bit/s",
        "TX bit/s",
        "RX pkts",
        "TX pkts",
        "DROPS"
    );
    for r in rows {
        let state = match (r.up, r.carrier) {
            (false, _) => "down",
            (true, false) => "no-carrier",
            _ => "up",
        };
        o.push_str(&format!(
            "{:<16} {:<8} {:<10} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10} {:>7}\n",
            r.node,
            r.iface,
            state,
            si(r.rx_pps),
            si(r.tx_pps),
            si(r.rx_bps),
            si(r.tx_bps),
            r.rx_packets,
            r.tx_packets,
            r.drops
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::si;

    #[test]
    fn rates_in_three_digits() {
        assert_eq!(si(0.0), "0");
        assert_eq!(si(999.4), "999");
        assert_eq!(si(1234.0), "1.2k");
        assert_eq!(si(123_456.0), "123k");
        assert_eq!(si(45_600_000.0), "45.6M");
        assert_eq!(si(2.5e9), "2.5G");
    }
}
