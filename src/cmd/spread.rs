//! The hidden subcommands a spread lab's coordinator runs on each host over ssh.
use clap::Args;
use std::io::Read;

/// `__host-info ADDR…`: this build, and the MTU toward each address, as JSON.
#[derive(Args, Debug)]
pub struct HostInfoCmd {
    /// The other hosts' tunnel addresses
    pub to: Vec<std::net::IpAddr>,
}

impl HostInfoCmd {
    pub fn run(self) -> super::CmdResult {
        let info = crate::spread::host_info(&self.to)?;
        crate::out::outln!("{}", serde_json::to_string(&info)?);
        Ok(0)
    }
}

/// `__part-up`: builds this host's part of a spread lab, its plan as JSON on stdin.
#[derive(Args, Debug)]
pub struct PartUpCmd {}

/// The largest part read (a plan of 100,000 nodes is well under this).
const MAX_PART: u64 = 512 << 20;

impl PartUpCmd {
    pub fn run(self) -> super::CmdResult {
        let mut text = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_PART + 1)
            .read_to_end(&mut text)?;
        if text.len() as u64 > MAX_PART {
            anyhow::bail!("the part on stdin is larger than {MAX_PART} bytes");
        }
        let plan: nsnet_lab::Plan = serde_json::from_slice(&text)
            .map_err(|e| anyhow::anyhow!("the part on stdin is not a plan: {e}"))?;
        nsnet_lab::spread::check_part(&plan)?;
        nsnet_core::build::interrupt::block();
        let mut t = nsnet_core::Timings::default();
        let built = nsnet_core::build::up::up_with(&plan, false, &mut t)?;
        crate::out::outln!(
            "part of lab {} is up: {} node(s)",
            plan.lab,
            built.nodes.len()
        );
        Ok(0)
    }
}

/// `__routes NODE`: a node's routes of one family, as JSON (a spread lab's `nsnet test`
/// reads them through this, on the node's host).
#[derive(Args, Debug)]
pub struct RoutesCmd {
    pub node: String,
    #[arg(long)]
    pub lab: Option<String>,
    /// IPv6 routes (IPv4 by default)
    #[arg(long)]
    pub v6: bool,
}

impl RoutesCmd {
    pub fn run(self) -> super::CmdResult {
        let lab = nsnet_core::RunningLab::open(self.lab.as_deref())?;
        let mut sock = lab.node(&self.node)?.rt_socket()?;
        let rows: Vec<nsnet_core::ops::test::RouteRow> = sock
            .routes(self.v6)?
            .iter()
            .map(nsnet_core::ops::test::RouteRow::of)
            .collect();
        crate::out::outln!("{}", serde_json::to_string(&rows)?);
        Ok(0)
    }
}

/// `__fw-counts NODE`: the packets each firewall rule of a node matched, as JSON.
#[derive(Args, Debug)]
pub struct FwCountsCmd {
    pub node: String,
    #[arg(long)]
    pub lab: Option<String>,
}

impl FwCountsCmd {
    pub fn run(self) -> super::CmdResult {
        let counts: Vec<Option<u64>> =
            match nsnet_core::ops::fw::counters(self.lab.as_deref(), &self.node)? {
                Some((_, rules)) => rules.iter().map(|r| r.counts.map(|(p, _)| p)).collect(),
                None => Vec::new(),
            };
        crate::out::outln!("{}", serde_json::to_string(&counts)?);
        Ok(0)
    }
}
