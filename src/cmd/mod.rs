//! One file per subcommand: each a clap derive struct with a `run` method.
use clap::{Parser, Subcommand};

mod graph;
mod plan;

pub type CmdResult = Result<i32, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(
    name = "nsnet",
    version,
    about = "Build virtual IP networks on one Linux machine out of raw kernel parts",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the plan of a lab file: nodes, interfaces, addresses, routes (no root needed)
    Plan(plan::PlanCmd),
    /// Print a lab's topology as Graphviz dot or Mermaid (no root needed)
    Graph(graph::GraphCmd),
}

impl Cli {
    pub fn run(self) -> CmdResult {
        match self.cmd {
            Command::Plan(c) => c.run(),
            Command::Graph(c) => c.run(),
        }
    }
}
