use crate::out::out;
use clap::Args;

#[derive(Args, Debug)]
pub struct SshConfigCmd {
    /// The lab (may be left out when only one lab is up)
    pub lab: Option<String>,
}

impl SshConfigCmd {
    pub fn run(self) -> super::CmdResult {
        let st = nsnet_core::ops::ssh::ssh_lab(self.lab.as_deref(), None)?;
        let nsnet = std::env::current_exe()?;
        out!("{}", nsnet_core::ops::ssh::ssh_config(&st, &nsnet));
        Ok(0)
    }
}
