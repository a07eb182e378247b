use clap::Args;
use std::io::Write;

#[derive(Args, Debug)]
pub struct LogsCmd {
    /// The node
    pub node: String,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
}

impl LogsCmd {
    pub fn run(self) -> super::CmdResult {
        let lab = nsnet_core::state::resolve_lab(self.lab.as_deref())?;
        nsnet_core::LabState::load(&lab)?.node(&self.node)?;
        let path = nsnet_core::state::log_path(&lab, &self.node);
        let text = nsnet_core::state::read_private(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        std::io::stdout().write_all(&text)?;
        Ok(0)
    }
}
