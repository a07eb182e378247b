//! `nsnet path SRC DST`: the hops a packet takes, from each node's kernel FIB.
use crate::out::outln;
use clap::Args;

#[derive(Args, Debug)]
pub struct PathCmd {
    /// The node the packet starts from
    pub src: String,
    /// A node (its first address) or an IP address
    pub dst: String,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
    /// Print the branches as JSON
    #[arg(long)]
    pub json: bool,
    /// A spread lab's walk that goes on here: the address SRC was reached at
    #[arg(long, hide = true, requires = "iif")]
    pub at: Option<std::net::IpAddr>,
    /// … the interface it was reached by
    #[arg(long, hide = true, requires = "at")]
    pub iif: Option<String>,
    /// … and the branch's source address
    #[arg(long, hide = true, requires = "at")]
    pub src_ip: Option<std::net::IpAddr>,
}

impl PathCmd {
    pub fn run(self) -> super::CmdResult {
        let go_on = self.at.map(|at| nsnet_core::ops::path::GoOn {
            at,
            iif: self.iif.clone().unwrap_or_default(),
            src: self.src_ip,
        });
        let branches =
            nsnet_core::ops::path::path_from(self.lab.as_deref(), &self.src, &self.dst, go_on)?;
        if self.json {
            outln!("{}", serde_json::to_string(&branches)?);
            return Ok(i32::from(branches.iter().any(|b| b.broken.is_some())));
        }
        let mut ok = true;
        for b in &branches {
            outln!("{b}");
            ok &= b.broken.is_none();
        }
        Ok(if ok { 0 } else { 1 })
    }
}
