//! One file per subcommand: each a clap derive struct with a `run` method.
use clap::{Parser, Subcommand};

mod capture;
mod down;
mod enter;
mod exec;
mod fw;
mod gen;
mod graph;
mod link;
mod logs;
mod path;
mod plan;
mod proxy;
mod ssh;
mod ssh_config;
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
    /// (CAP_SYS_ADMIN and CAP_NET_ADMIN). On any failure, and on ^C, SIGTERM or SIGHUP,
    /// everything built so far is torn down again.
    Up(up::UpCmd),
    /// Tear a lab down: stop its nodes, remove its netns entries and state (root)
    ///
    /// Stop every node of a lab (SIGTERM, then SIGKILL after a grace period), remove its
    /// /run/netns entries and its state under /run/nsnet. Idempotent, and works when the state is
    /// missing or damaged. An `nsnet up` still building the lab is stopped first (it rolls
    /// back). With exactly one lab up, LAB may be left out.
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
    /// Show a node's firewall rules with their packet and byte counters (root)
    ///
    /// Print the firewall of a running node as its lab file gives it, one line per rule in file
    /// order, with the packets and bytes each rule has matched, read from the kernel (the node's
    /// nftables table inet nsnet).
    Fw(fw::FwCmd),
    /// Show the labs that are up: nodes, PIDs, liveness, addresses
    ///
    /// Show the labs that are up: each node's kind, init PID, whether the init still runs, and
    /// its addresses.
    Status(status::StatusCmd),
    /// Print a node's log (its init and its `exec` commands)
    ///
    /// Print a node's log: what its init reported and the output of the node's `exec` commands.
    Logs(logs::LogsCmd),
    /// Take links down or up (with --reroute: routes heal around them), impair them, list them
    ///
    /// `nsnet link down r1:eth1` (or `nsnet link down r1 r2`) sets both ends of the link down;
    /// `up` brings them back. With --reroute a routing = "static" lab recomputes its shortest
    /// paths without the links that are down and rewrites the routes that change. `link set`
    /// limits a link's rate (tbf) or adds delay, jitter and loss (netem) in both directions;
    /// `link show` lists every link with its state and impairments as the kernel has them.
    Link(link::LinkCmd),
    /// Capture packets on a node's interface: pcap (-w FILE, -w - for stdout) or one line each
    ///
    /// Capture the frames a node's interface sends and receives, from a packet socket inside the
    /// node's network namespace. With -w, a classic pcap file (tcpdump -r, Wireshark; `-w -`
    /// streams to stdout, e.g. into `wireshark -k -i -`); without, one line per packet. Stops
    /// after -c COUNT packets, on ^C, or when the reader goes away.
    Capture(capture::CaptureCmd),
    /// Show the hops a packet takes from a node to a node or address, and where it breaks
    ///
    /// Follow the way from SRC to DST through each node's own kernel routing table (every branch
    /// of a multipath route), with the interfaces and next hops, and say where and why it breaks:
    /// no route, a link down, a node that does not forward. Exits 1 when a branch breaks.
    Path(path::PathCmd),
    /// Log into a node with ssh, or run a command there; the host needs no interface in the lab
    ///
    /// Run the stock ssh client as root into a node: through `nsnet proxy` (a connection made
    /// inside the node's network namespace), with the lab's key and known_hosts, so the host
    /// needs no interface in the lab. Without a command after `--`, a login shell. Exits with
    /// ssh's status.
    Ssh(ssh::SshCmd),
    /// Relay stdin/stdout to a TCP port on a node's loopback (an ssh ProxyCommand)
    ///
    /// Connect to 127.0.0.1:PORT inside the node's network namespace and relay stdin to it and
    /// it to stdout until both sides are closed. This is the ProxyCommand of `nsnet ssh` and of
    /// `nsnet ssh-config`.
    Proxy(proxy::ProxyCmd),
    /// Print an ssh_config with a `Host <node>.<lab>` entry per node (for ssh, scp, Ansible)
    ///
    /// Print an ssh_config snippet with a `Host <node>.<lab>` entry for every node that runs
    /// sshd, reached through `nsnet proxy`: `ssh -F <(nsnet ssh-config) h1.<lab>`, scp, rsync and
    /// Ansible work from the host.
    SshConfig(ssh_config::SshConfigCmd),
}

impl Command {
    /// The subcommand's name when it needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN): every one
    /// that touches a lab or the state under /run/nsnet.
    fn privileged(&self) -> Option<&'static str> {
        Some(match self {
            Command::Plan(_) | Command::Graph(_) | Command::Gen(_) => return None,
            Command::Up(_) => "up",
            Command::Down(_) => "down",
            Command::Enter(_) => "enter",
            Command::Exec(_) => "exec",
            Command::Fw(_) => "fw",
            Command::Status(_) => "status",
            Command::Logs(_) => "logs",
            Command::Link(_) => "link",
            Command::Capture(_) => "capture",
            Command::Path(_) => "path",
            Command::Ssh(_) => "ssh",
            Command::Proxy(_) => "proxy",
            Command::SshConfig(_) => "ssh-config",
        })
    }
}

impl Cli {
    pub fn run(self) -> CmdResult {
        // One clear line before anything is read or touched.
        if let Some(name) = self.cmd.privileged() {
            nsnet_core::up::require_privileges(name)?;
        }
        // Commands that only print end quietly when their reader goes away (`| head`);
        // the others handle a closed output themselves (capture) or have work to finish.
        if matches!(
            self.cmd,
            Command::Plan(_)
                | Command::Graph(_)
                | Command::Gen(_)
                | Command::Fw(_)
                | Command::Status(_)
                | Command::Logs(_)
                | Command::Path(_)
                | Command::SshConfig(_)
        ) {
            nsnet_core::interrupt::default_sigpipe();
        }
        match self.cmd {
            Command::Plan(c) => c.run(),
            Command::Graph(c) => c.run(),
            Command::Gen(c) => c.run(),
            Command::Up(c) => c.run(),
            Command::Down(c) => c.run(),
            Command::Enter(c) => c.run(),
            Command::Exec(c) => c.run(),
            Command::Fw(c) => c.run(),
            Command::Status(c) => c.run(),
            Command::Logs(c) => c.run(),
            Command::Link(c) => c.run(),
            Command::Capture(c) => c.run(),
            Command::Path(c) => c.run(),
            Command::Ssh(c) => c.run(),
            Command::Proxy(c) => c.run(),
            Command::SshConfig(c) => c.run(),
        }
    }
}
