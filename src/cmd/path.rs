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
}

impl PathCmd {
    pub fn run(self) -> super::CmdResult {
        let branches = nsnet_core::ops::path::path(self.lab.as_deref(), &self.src, &self.dst)?;
        let mut ok = true;
        for b in &branches {
            outln!("{b}");
            ok &= b.broken.is_none();
        }
        Ok(if ok { 0 } else { 1 })
    }
}
