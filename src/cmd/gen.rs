use clap::{Args, Subcommand};
use nsnet_lab::gen::{generate, Shape};

#[derive(Args, Debug)]
pub struct GenCmd {
    #[command(subcommand)]
    pub shape: ShapeArg,
    /// The lab's name (default: from the shape, e.g. line10)
    #[arg(long, global = true)]
    pub name: Option<String>,
    /// Run sshd in every node (off by default: at scale a daemon per node costs more than the node)
    #[arg(long, global = true)]
    pub ssh: bool,
}

#[derive(Subcommand, Debug)]
pub enum ShapeArg {
    /// N routers in a line, a host at each end (Mininet's --topo linear)
    Line { n: usize },
    /// N routers in a ring, a host on each
    Ring { n: usize },
    /// One switch with N hosts
    Star { n: usize },
    /// Switches DEPTH levels deep, FANOUT children each, hosts at the leaves
    Tree { depth: usize, fanout: usize },
    /// A k-ary fat-tree of routers with ECMP (k even): k³/4 hosts
    FatTree { k: usize },
    /// W×H routers in a grid, hosts at two opposite corners
    Grid { w: usize, h: usize },
}

impl GenCmd {
    pub fn run(self) -> super::CmdResult {
        let shape = match self.shape {
            ShapeArg::Line { n } => Shape::Line(n),
            ShapeArg::Ring { n } => Shape::Ring(n),
            ShapeArg::Star { n } => Shape::Star(n),
            ShapeArg::Tree { depth, fanout } => Shape::Tree(depth, fanout),
            ShapeArg::FatTree { k } => Shape::FatTree(k),
            ShapeArg::Grid { w, h } => Shape::Grid(w, h),
        };
        print!("{}", generate(shape, self.name.as_deref(), self.ssh)?);
        Ok(0)
    }
}
