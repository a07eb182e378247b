use clap::Args;

#[derive(Args, Debug)]
pub struct SshCmd {
    /// The node
    pub node: String,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
    /// A command to run instead of a login shell (after `--`)
    #[arg(last = true)]
    pub cmd: Vec<String>,
}

impl SshCmd {
    pub fn run(self) -> super::CmdResult {
        let st = nsnet_core::ops::ssh::ssh_lab(self.lab.as_deref(), Some(&self.node))?;
        let err = nsnet_core::ops::ssh::exec_ssh(&st.name, &self.node, &self.cmd);
        anyhow::bail!("running ssh: {err} (Debian: apt install openssh-client)")
    }
}
