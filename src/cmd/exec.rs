use clap::Args;

#[derive(Args, Debug)]
pub struct ExecCmd {
    /// The node (leave out with --all)
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub node: Option<String>,
    /// Run on every node of the lab
    #[arg(long)]
    pub all: bool,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
    /// The command and its arguments (after `--`)
    #[arg(last = true, required = true)]
    pub cmd: Vec<String>,
}

impl ExecCmd {
    pub fn run(self) -> super::CmdResult {
        if self.all {
            let mut out = std::io::stdout().lock();
            return Ok(nsnet_core::exec_all(
                self.lab.as_deref(),
                &self.cmd,
                &mut out,
            )?);
        }
        let node = self.node.unwrap_or_default();
        let target = nsnet_core::locate_node(self.lab.as_deref(), &node)?;
        Ok(nsnet_core::exec_in_node(&target, &self.cmd)?)
    }
}
