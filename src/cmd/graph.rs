use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct GraphCmd {
    /// The lab file
    pub lab: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "dot")]
    pub format: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Dot,
    Mermaid,
}

impl GraphCmd {
    pub fn run(self) -> super::CmdResult {
        let plan = nsnet_lab::load_plan(&self.lab)?;
        match self.format {
            Format::Dot => print!("{}", nsnet_lab::render::dot(&plan)),
            Format::Mermaid => print!("{}", nsnet_lab::render::mermaid(&plan)),
        }
        Ok(0)
    }
}
