use clap::Args;

#[derive(Args, Debug)]
pub struct EnterCmd {
    /// The node
    pub node: String,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
}

impl EnterCmd {
    pub fn run(self) -> super::CmdResult {
        let target = nsnet_core::locate_node(self.lab.as_deref(), &self.node)?;
        Ok(nsnet_core::enter_node(&target)?)
    }
}
