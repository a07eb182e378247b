use crate::out::outln;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct UpCmd {
    /// The lab file (TOML), a Kathará lab directory (or its lab.conf), or a containerlab file (*.clab.yml)
    pub lab: PathBuf,
    /// Print how long each phase took (plan, spawn inits, links, addresses and routes …)
    #[arg(long)]
    pub timings: bool,
    /// Run the lab under this name instead of the file's (to run one lab file twice)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// First tear down whatever of this lab is there (up, or left over by a killed `up`)
    #[arg(long)]
    pub force: bool,
    /// Return once every node's startup has ended (the nodes it waits for, then
    /// its `exec` lines run in the foreground); exit 1 when a line failed or SECS (default
    /// 120) pass first. The lab stays up either way
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "120")]
    pub wait: Option<u64>,
    /// Spread the lab over the machines of this hosts file (driven over ssh, joined by VXLAN)
    #[arg(long, value_name = "FILE", conflicts_with = "wait")]
    pub hosts: Option<PathBuf>,
}

impl UpCmd {
    pub fn run(self) -> super::CmdResult {
        nsnet_core::build::up::check_privileges()?;
        let mut t = nsnet_core::Timings::default();
        t.start();
        // With --name, the file's stem need not be a valid lab name.
        let lab = crate::load::load(&self.lab, self.name.as_deref(), true)?.lab;
        let plan = nsnet_lab::plan(&lab)?;
        t.lap("plan");
        if let Some(hosts) = &self.hosts {
            let hosts = nsnet_lab::spread::Hosts::load(hosts)?;
            // ^C, SIGTERM or SIGHUP: every host's part is rolled back.
            nsnet_core::build::interrupt::block();
            let code = crate::spread::up(&plan, &hosts, self.force, true)?;
            if self.timings {
                t.lap("up on every host");
                crate::progress::eprint(&t);
            }
            return Ok(code);
        }
        // A progress bar on a terminal, for labs that take more than a moment.
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        if tty && plan.nodes.len() >= 50 {
            t.set_progress(Box::new(crate::progress::Bar::after_plan()));
        }
        if crate::spread::Record::load(&plan.lab)?.is_some() {
            anyhow::bail!(
                "lab {} is up across several hosts (nsnet status {} lists them)\n  fix: nsnet down {}, or give this one another --name",
                plan.lab,
                plan.lab,
                plan.lab
            );
        }
        // ^C, SIGTERM or SIGHUP from here on: roll back, then exit as if killed by it.
        nsnet_core::build::interrupt::block();
        if nsnet_core::state::paths().rootless() {
            for n in nsnet_core::build::rootless::notes(&plan) {
                eprintln!("nsnet: {n}");
            }
        }
        let st = nsnet_core::build::up::up_with(&plan, self.force, &mut t);
        // The bar goes (dropped with its observer) before the result is printed.
        let t = {
            let phases = t.clone();
            drop(t);
            phases
        };
        let st = match st {
            Err(nsnet_core::UpError::Interrupted(sig)) => {
                eprintln!(
                    "nsnet: up {sig}; lab {} is rolled back, nothing of it is left",
                    plan.lab
                );
                return Ok(sig.exit_code());
            }
            st => st?,
        };
        // The lab is up: a stdout that cannot take the table does not change that.
        crate::out::on_failure(0);
        outln!("lab {} is up: {} node(s)", plan.lab, st.nodes.len());
        outln!("{:<16} {:<7} {:>8}  ADDRESSES", "NODE", "KIND", "PID");
        for (rec, node) in st.nodes.iter().zip(&plan.nodes) {
            let addrs: Vec<String> = node.addrs().map(|a| a.to_string()).collect();
            outln!(
                "{:<16} {:<7} {:>8}  {}",
                rec.name,
                node.kind,
                rec.pid,
                addrs.join(" ")
            );
        }
        print_outside(&plan);
        if let Some(rec) = nsnet_core::LabName::new(&plan.lab)
            .ok()
            .and_then(|l| nsnet_core::outside::HostRecord::of(&l))
        {
            for n in &rec.notes {
                eprintln!("nsnet: note: {n}");
            }
        }
        if self.timings {
            crate::progress::eprint(&t);
        }
        match self.wait {
            Some(secs) => wait_startup(&plan.lab, secs),
            None => Ok(0),
        }
    }
}

/// `--wait`: every node's startup, its failures and the nodes still starting on stderr.
fn wait_startup(lab: &str, secs: u64) -> super::CmdResult {
    let lab = nsnet_core::RunningLab::open(Some(lab))?;
    let ends = lab.wait_startup(std::time::Duration::from_secs(secs));
    let mut bad = false;
    let mut pending = Vec::new();
    for (node, report) in &ends {
        match report {
            None => pending.push(node.as_str()),
            Some(r) => {
                for f in &r.failed {
                    eprintln!("nsnet: {node}: startup {f} (see nsnet logs {node})");
                    bad = true;
                }
            }
        }
    }
    if !pending.is_empty() {
        eprintln!(
            "nsnet: the startup of {} has not ended after {secs} s (a line in the foreground that never exits? end it with ` &` to run it in the background)",
            pending.join(", ")
        );
        bad = true;
    }
    if bad {
        eprintln!("nsnet: lab {} stays up", lab.name);
        return Ok(1);
    }
    outln!("startup done on every node");
    Ok(0)
}

/// What of the lab reaches outside it: links to the host, published ports, host interfaces.
fn print_outside(plan: &nsnet_lab::Plan) {
    for n in &plan.nodes {
        if let Some(h) = &n.host_link {
            let what = if h.nat { "uplink (NAT)" } else { "management" };
            outln!(
                "{}: {} {} <-> host {} {} ({what})",
                n.name,
                h.iface,
                h.addr.addr,
                h.host_iface,
                h.host_addr.addr
            );
        }
        for p in &n.ports {
            outln!("{}: port {p}", n.name);
        }
        for h in &n.host_ifaces {
            let what = if h.macvlan { "a macvlan on " } else { "" };
            outln!("{}: {} is {what}host interface {}", n.name, h.name, h.host);
        }
    }
}
