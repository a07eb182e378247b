use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PlanCmd {
    /// The lab file
    pub lab: PathBuf,
    /// Print the plan as JSON
    #[arg(long)]
    pub json: bool,
}

impl PlanCmd {
    pub fn run(self) -> super::CmdResult {
        let plan = nsnet_lab::load_plan(&self.lab)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print!("{}", nsnet_lab::render::text(&plan));
        }
        Ok(0)
    }
}
