use crate::out::out;
use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Ini,
    Yaml,
}

#[derive(Args, Debug)]
pub struct InventoryCmd {
    /// The lab (may be left out when only one lab is up)
    pub lab: Option<String>,
    /// The inventory's format
    #[arg(long, value_enum, default_value = "ini")]
    pub format: Format,
}

impl InventoryCmd {
    pub fn run(self) -> super::CmdResult {
        let st = nsnet_core::ops::ssh::ssh_lab(self.lab.as_deref(), None)?;
        let nsnet = std::env::current_exe()?;
        let yaml = matches!(self.format, Format::Yaml);
        out!("{}", nsnet_core::ops::ssh::inventory(&st, &nsnet, yaml));
        Ok(0)
    }
}
