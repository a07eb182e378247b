use clap::Args;

#[derive(Args, Debug)]
pub struct LogsCmd {
    /// The node
    pub node: String,
    /// The lab: its name or lab file (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
}

impl LogsCmd {
    pub fn run(self) -> super::CmdResult {
        let lab = nsnet_core::RunningLab::open(self.lab.as_deref())?;
        let mut out = std::io::stdout().lock();
        // Streamed, the rotated part first: a log is never read whole into memory.
        for mut f in lab.node_log(&self.node)? {
            std::io::copy(&mut f, &mut out)?;
        }
        Ok(0)
    }
}
