use crate::out::outln;
use clap::Args;

#[derive(Args, Debug)]
pub struct StatusCmd {
    /// Only this lab (its name or lab file)
    pub lab: Option<String>,
    /// Print JSON (a list of labs)
    #[arg(long)]
    pub json: bool,
}

impl StatusCmd {
    pub fn run(self) -> super::CmdResult {
        let mut damaged = false;
        let labs = match &self.lab {
            Some(lab) => {
                let name = nsnet_core::LabName::from_arg(lab)?;
                vec![nsnet_core::ops::status::lab_status(&name)?]
            }
            // One damaged lab is reported on its own line; the others are still shown.
            None => nsnet_core::ops::status::all_status()
                .into_iter()
                .filter_map(|(name, st)| match st {
                    Ok(st) => Some(st),
                    Err(e) => {
                        eprintln!("nsnet: lab {name}: {e} (`nsnet down {name}` removes it)");
                        damaged = true;
                        None
                    }
                })
                .collect(),
        };
        if self.json {
            outln!("{}", serde_json::to_string_pretty(&labs)?);
            return Ok(i32::from(damaged));
        }
        let spread = if self.lab.is_none() {
            crate::spread::labs()
        } else {
            Vec::new()
        };
        if labs.is_empty() && !damaged && spread.is_empty() {
            outln!("no lab is up");
        }
        for lab in &spread {
            if let Ok(Some(rec)) = crate::spread::Record::load(lab) {
                let per = rec.nodes_per_host();
                let hosts: Vec<String> = rec
                    .hosts
                    .hosts
                    .iter()
                    .zip(&per)
                    .filter(|(_, n)| **n > 0)
                    .map(|(h, n)| format!("{} ({n})", h.name))
                    .collect();
                outln!(
                    "lab {lab}: {} node(s) spread over {}{} (nsnet status {lab} asks them)",
                    rec.nodes.len(),
                    hosts.join(", "),
                    if rec.up { "" } else { ", not fully up" }
                );
            }
        }
        for lab in &labs {
            let dead = lab.nodes.iter().filter(|n| !n.alive).count();
            let source = lab
                .source
                .as_ref()
                .map(|s| format!(" ({})", s.display()))
                .unwrap_or_default();
            outln!(
                "lab {}{source}: {} node(s), {dead} dead",
                lab.lab,
                lab.nodes.len()
            );
            outln!(
                "  {:<16} {:<7} {:>8} {:<8} INTERFACES",
                "NODE",
                "KIND",
                "PID",
                "STATE"
            );
            for n in &lab.nodes {
                let state = match (n.alive, n.startup) {
                    (false, _) => "dead",
                    (true, "starting") => "starting",
                    _ => "up",
                };
                let ifaces: Vec<String> = n
                    .interfaces
                    .iter()
                    .map(|i| {
                        let down = match (i.up, i.carrier) {
                            (false, _) => " DOWN",
                            (true, false) => " NO-CARRIER",
                            _ => "",
                        };
                        let addrs = if i.addrs.is_empty() {
                            String::new()
                        } else {
                            let a: Vec<String> = i.addrs.iter().map(|a| a.to_string()).collect();
                            format!(" {}", a.join(" "))
                        };
                        format!("{}{down}{addrs}", i.name)
                    })
                    .collect();
                let usage = n
                    .usage
                    .as_ref()
                    .map(|u| {
                        let mut parts = Vec::new();
                        if let Some(c) = u.cpu_usec {
                            parts.push(format!("cpu {:.2}s", c as f64 / 1e6));
                        }
                        if let Some(m) = u.memory {
                            parts.push(format!("mem {}K", m >> 10));
                        }
                        if let Some(p) = u.pids {
                            parts.push(format!("pids {p}"));
                        }
                        format!(" [{}]", parts.join(", "))
                    })
                    .unwrap_or_default();
                let failed = if n.startup_failed.is_empty() {
                    String::new()
                } else {
                    format!(" [startup: {}]", n.startup_failed.join("; "))
                };
                let usage = format!("{usage}{failed}");
                let shown = if n.alive {
                    ifaces.join(", ")
                } else {
                    let a: Vec<String> = n.addrs.iter().map(|a| a.to_string()).collect();
                    a.join(" ")
                };
                outln!(
                    "  {:<16} {:<7} {:>8} {:<8} {shown}{usage}",
                    n.name,
                    n.kind.map_or_else(|| "?".to_string(), |k| k.to_string()),
                    n.pid,
                    state
                );
            }
            if let Some(o) = &lab.outside {
                print_outside(o);
            }
        }
        Ok(i32::from(damaged))
    }
}

/// The lab's links to the host, ports, host interfaces, and what it changed on the host.
fn print_outside(o: &nsnet_core::ops::status::OutsideStatus) {
    outln!("  outside:");
    for (node, h) in &o.host_links {
        let what = if h.nat { "uplink, NAT" } else { "management" };
        outln!(
            "    {node}: {} {} <-> host {} {} ({what})",
            h.iface,
            h.addr.addr,
            h.host_iface,
            h.host_addr.addr
        );
    }
    for (node, p) in &o.ports {
        outln!("    {node}: port {p}");
    }
    for (node, h) in &o.host_ifaces {
        let what = if h.macvlan { "a macvlan on " } else { "" };
        outln!("    {node}: {} is {what}host interface {}", h.name, h.host);
    }
    if let Some((pid, running)) = o.relay {
        let state = if running { "runs" } else { "is gone" };
        outln!("    port relay: pid {pid} {state}");
    }
    if let Some(t) = &o.table {
        outln!("    host nftables table: inet {t}");
    }
    for (k, before, now) in &o.sysctls {
        outln!("    host sysctl {k} = {now} (was {before})");
    }
}
