//! One file per subcommand: each a clap derive struct with a `run` method.
use clap::{Parser, Subcommand};

mod down;
mod enter;
mod exec;
mod gen;
mod graph;
mod logs;
mod plan;
mod status;
mod up;

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
    /// Print a generated lab file: line, ring, star, tree, fat-tree, grid (no root needed)
    Gen(gen::GenCmd),
    /// Build a lab: start its nodes, wire the network, start each node's commands (root)
    ///
    /// Build the lab described by a lab file: one node init per node in fresh namespaces, the
    /// network wired, each node's commands started. Prints a table of the nodes. Needs root
    /// (CAP_SYS_ADMIN and CAP_NET_ADMIN). On any failure everything built so far is torn down
    /// again.
    Up(up::UpCmd),
    /// Tear a lab down: stop its nodes, remove its netns entries and state (root)
    ///
    /// Stop every node of a lab (SIGTERM, then SIGKILL after a grace period), remove its
    /// /run/netns entries and its state under /run/nsnet. Idempotent, and works when the state is
    /// missing or damaged. With exactly one lab up, LAB may be left out.
    Down(down::DownCmd),
    /// Open an interactive shell inside a node (root)
    ///
    /// Start an interactive shell inside a node, in all of its namespaces (network, UTS, mount,
    /// PID, IPC): $SHELL, else bash, else sh. NSNET_LAB and NSNET_NODE are set and the prompt
    /// shows lab/node. Exits with the shell's status.
    Enter(enter::EnterCmd),
    /// Run a command inside a node, or on every node with --all (root)
    ///
    /// Run a command inside a node, in all of its namespaces. stdin, stdout and stderr pass
    /// through; nsnet exits with the command's status (128+N when killed by signal N). With --all
    /// the command runs on every node at once and each output line is prefixed with `node: `; the
    /// status is nonzero if it failed anywhere.
    Exec(exec::ExecCmd),
    /// Show the labs that are up: nodes, PIDs, liveness, addresses
    ///
    /// Show the labs that are up: each node's kind, init PID, whether the init still runs, and
    /// its addresses.
    Status(status::StatusCmd),
    /// Print a node's log (its init and its `exec` commands)
    ///
    /// Print a node's log: what its init reported and the output of the node's `exec` commands.
    Logs(logs::LogsCmd),
}

impl Cli {
    pub fn run(self) -> CmdResult {
        match self.cmd {
            Command::Plan(c) => c.run(),
            Command::Graph(c) => c.run(),
            Command::Gen(c) => c.run(),
            Command::Up(c) => c.run(),
            Command::Down(c) => c.run(),
            Command::Enter(c) => c.run(),
            Command::Exec(c) => c.run(),
            Command::Status(c) => c.run(),
            Command::Logs(c) => c.run(),
        }
    }
}
