use clap::Args;

#[derive(Args, Debug)]
pub struct ProxyCmd {
    /// The node
    pub node: String,
    /// The TCP port on the node's loopback
    pub port: u16,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
}

impl ProxyCmd {
    pub fn run(self) -> super::CmdResult {
        let target = nsnet_core::locate_node(self.lab.as_deref(), &self.node)?;
        nsnet_core::ops::ssh::proxy(&target, self.port)?;
        Ok(0)
    }
}
