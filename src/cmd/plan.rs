use crate::out::{out, outln};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PlanCmd {
    /// The lab file, a Kathará lab directory (or its lab.conf), or a containerlab file (*.clab.yml)
    pub lab: PathBuf,
    /// Print the plan as JSON
    #[arg(long)]
    pub json: bool,
    /// Place the nodes on the machines of this hosts file: each host's nodes and load, the
    /// links that cross
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,
}

impl PlanCmd {
    pub fn run(self) -> super::CmdResult {
        let plan = nsnet_lab::plan(&crate::load::load(&self.lab, None, false)?.lab)?;
        if let Some(hosts) = &self.hosts {
            let hosts = nsnet_lab::spread::Hosts::load(hosts)?;
            crate::spread::print_placement(&plan, &hosts)?;
            return Ok(0);
        }
        if self.json {
            outln!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            out!("{}", nsnet_lab::render::text(&plan));
            out!("{}", nsnet_lab::checks::render(&plan.checks));
        }
        Ok(0)
    }
}
