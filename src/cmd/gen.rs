use crate::out::out;
use clap::{Args, Subcommand};
use nsnet_lab::gen::{generate, Shape};

/// `nsnet gen`: a lab file for a shape. Long paths and limits are explained in AFTER_HELP.
#[derive(Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
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
    /// N routers in a line, a host at each end; TTL 255 from 60 routers on; ping cannot cross
    /// more than 254 routers
    Line { n: usize },
    /// N routers in a ring, a host on each
    Ring { n: usize },
    /// One switch with N hosts (Mininet's --topo single)
    Star { n: usize },
    /// N switches in a chain, a host on each: one L2 segment (Mininet's --topo linear)
    Linear { n: usize },
    /// Switches DEPTH levels deep, FANOUT children each, hosts at the leaves
    Tree { depth: usize, fanout: usize },
    /// A k-ary fat-tree of routers with ECMP (k even): k³/4 hosts
    FatTree { k: usize },
    /// W×H routers in a grid, hosts at two opposite corners; TTL 255 when W+H is above 60;
    /// ping cannot cross it when W+H is above 255
    Grid { w: usize, h: usize },
}

const AFTER_HELP: &str = "\
Long paths: each router takes one off a packet's TTL, and a node sends with TTL 64 by default. \
Shapes whose longest path is more than 60 hops (a line of 60 routers or more, a grid with W+H \
above 60, a ring of 120 routers or more) set net.ipv4.ip_default_ttl = 255 in every host and \
router, so that pings and their replies get through (IPv4 only: the IPv6 hop limit stays 64). \
255 is the most a TTL can be, so ping crosses at most 254 routers: a line of more than 254 \
routers (a grid with W+H above 255, a ring of more than 507) cannot be crossed by ping end to \
end at all.

Every shape makes at most 100000 nodes, counted before anything is generated, and a lab file \
of at most 4 MiB (what `nsnet up` reads: about 35000 routers in a line); a switch has at most \
1023 ports (a Linux bridge's limit).";

impl GenCmd {
    pub fn run(self) -> super::CmdResult {
        let shape = match self.shape {
            ShapeArg::Line { n } => Shape::Line(n),
            ShapeArg::Ring { n } => Shape::Ring(n),
            ShapeArg::Star { n } => Shape::Star(n),
            ShapeArg::Linear { n } => Shape::Linear(n),
            ShapeArg::Tree { depth, fanout } => Shape::Tree(depth, fanout),
            ShapeArg::FatTree { k } => Shape::FatTree(k),
            ShapeArg::Grid { w, h } => Shape::Grid(w, h),
        };
        out!(
            "{}",
            generate(shape, self.name.as_deref(), self.ssh).map_err(anyhow::Error::msg)?
        );
        Ok(0)
    }
}
