//! One file per subcommand: each a clap derive struct with a `run` method.
use clap::{Parser, Subcommand};

mod capture;
mod completions;
mod convert;
mod doctor;
mod down;
mod enter;
mod events;
mod exec;
mod fw;
mod gen;
mod graph;
mod inventory;
mod link;
mod logs;
mod path;
mod plan;
mod proxy;
mod spread;
mod ssh;
mod ssh_config;
mod status;
mod test;
mod top;
mod up;

pub type CmdResult = anyhow::Result<i32>;

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
    /// As root: act as user nobody, whose labs are rootless (a lab you do not trust, whose
    /// nodes may touch the machine no more than nobody may); give it to every command of
    /// that lab
    #[arg(long, global = true)]
    pub rootless: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the plan of a lab file: nodes, interfaces, addresses, routes (no root needed)
    Plan(plan::PlanCmd),
    /// Print a lab's topology as Graphviz dot, Mermaid, SVG or an HTML page (live state: root)
    ///
    /// Print the topology of a lab file as Graphviz dot or Mermaid, or draw it as SVG or a
    /// self-contained HTML page (no network fetches; zoom and pan): nodes by kind, switches as
    /// segments, links with interface names and addresses. Drawing a lab that is up (--lab, or a
    /// lab file whose lab is up, as root) marks what its kernels say: links down, impaired links
    /// with their settings, dead nodes. Layout by Graphviz's dot when installed, else by nsnet.
    Graph(graph::GraphCmd),
    /// Print a generated lab file: line, ring, star, tree, fat-tree, grid (no root needed)
    Gen(gen::GenCmd),
    /// Print a Kathará lab or a containerlab file as an nsnet lab file (no root needed)
    ///
    /// Read a Kathará lab directory (lab.conf, lab.dep, DEV.startup, DEV/ folders) or a
    /// containerlab topology file (*.clab.yml) as that tool does, and print an nsnet lab file that
    /// builds the same network and starts the same software. What nsnet cannot honour is a note,
    /// one line each, on stderr and in the file's header; what cannot be converted at all is an
    /// error at its file:line:column.
    Convert(convert::ConvertCmd),
    /// Build a lab: start its nodes, wire the network, start each node's commands
    ///
    /// Build the lab described by a lab file: one node init per node in fresh namespaces, the
    /// network wired, each node's commands started. Prints a table of the nodes. As root
    /// (CAP_SYS_ADMIN and CAP_NET_ADMIN), or as any user: then the lab is rootless, in a
    /// sandbox of the user's (no sshd, limits or links to the machine). On any failure, and
    /// on ^C, SIGTERM or SIGHUP, everything built so far is torn down again. A Kathará lab
    /// directory or a containerlab
    /// file is converted first (as `nsnet convert` prints it), its notes printed on stderr.
    Up(up::UpCmd),
    /// Tear a lab down: stop its nodes, remove its netns entries and state
    ///
    /// Stop every node of a lab (SIGTERM, then SIGKILL after a grace period), remove its
    /// /run/netns entries and its state under /run/nsnet. Idempotent, and works when the state is
    /// missing or damaged. An `nsnet up` still building the lab is stopped first (it rolls
    /// back). With exactly one lab up, LAB may be left out.
    Down(down::DownCmd),
    /// Open an interactive shell inside a node
    ///
    /// Start an interactive shell inside a node, in all of its namespaces (network, UTS, mount,
    /// PID, IPC): $SHELL, else bash, else sh. NSNET_LAB and NSNET_NODE are set and the prompt
    /// shows lab/node. Exits with the shell's status.
    Enter(enter::EnterCmd),
    /// Run a command inside a node, or on every node with --all
    ///
    /// Run a command inside a node, in all of its namespaces. stdin, stdout and stderr pass
    /// through; nsnet exits with the command's status (128+N when killed by signal N). With --all
    /// the command runs on every node at once and each output line is prefixed with `node: `; the
    /// status is nonzero if it failed anywhere.
    Exec(exec::ExecCmd),
    /// Show a node's firewall rules with their packet and byte counters
    ///
    /// Print the firewall of a running node as its lab file gives it, one line per rule in file
    /// order, with the packets and bytes each rule has matched, read from the kernel (the node's
    /// nftables table inet nsnet). Each kernel rule is checked against the file's, expression by
    /// expression (log prefixes, limits and all): the status is 1 when one is missing or differs.
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
    /// Print an Ansible inventory of the lab's nodes (INI or YAML), by management address
    ///
    /// Print an Ansible inventory of every node that runs sshd, grouped into `hosts` and
    /// `routers`: a node with a management address (`[lab] mgmt = true`) or an uplink is reached
    /// there, any other through `nsnet proxy`; as root with the lab's key and known_hosts:
    /// `ansible all -i <(nsnet inventory) -m ping`.
    Inventory(inventory::InventoryCmd),
    /// Run a lab's checks and scenarios: up (unless up), check, down (unless --keep)
    ///
    /// Bring the lab of a lab file up (unless it is up already), run its `[[checks]]` (in
    /// parallel) and `[[scenarios]]` (step by step), print one line per check, and take the lab
    /// down again (unless --keep). With --lab, test a lab that is up. --junit writes a JUnit
    /// XML report, --json prints the results as JSON. Exits 0 when every check passed, 1
    /// when one failed, 2 when the lab could not be built or reached.
    Test(test::TestCmd),
    /// Stream what changes in a running lab: links, addresses, routes, neighbours, node exits
    ///
    /// Follow every node's kernel (rtnetlink announcements in each node's network namespace) and
    /// the nodes' inits: links set up or down and carrier gained or lost, addresses and routes
    /// added or removed (with the route's protocol, so a routing daemon's routes show up as they
    /// converge), neighbours resolved or failed, nodes exiting. One line per event, or JSON lines
    /// with --json; each with its node, interface and an RFC 3339 UTC time. Ends when the lab
    /// goes down.
    Events(events::EventsCmd),
    /// Show every interface's packet and byte rates and drops, refreshed in place
    ///
    /// Read each running node's interface counters every --interval seconds and show the rates
    /// between two readings (packets and bits per second each way), the totals and the drops.
    /// On a terminal the table is redrawn in place, busiest interfaces first; piped, one plain
    /// snapshot per interval (all interfaces, by node), --count times or until stopped.
    Top(top::TopCmd),
    /// Check what this machine offers nsnet, and how to fix what is missing (no root needed)
    ///
    /// Look at this machine as `up` would use it: root, the kernel's parts (tried for real in a
    /// network namespace of a child's own, gone when it ends: veth, bridge, macvlan, nftables
    /// and its NAT, tbf, netem), overlayfs and the cgroup controllers, how many nodes fit, and
    /// the programs nodes run. One line per finding, with the fix under each missing one. Exits
    /// 0 when labs can be built here, 1 when something they need is missing.
    Doctor(doctor::DoctorCmd),
    /// Print a completion script for bash, zsh or fish (installed by scripts/quickstart)
    #[command(hide = true)]
    Completions(completions::CompletionsCmd),
    /// Print the man page, or write every page into a directory (installed by
    /// scripts/quickstart)
    #[command(hide = true)]
    Man(completions::ManCmd),
    /// List labs, nodes or node:iface of the labs that are up, for completion scripts
    #[command(hide = true, name = "__complete")]
    Complete(completions::CompleteCmd),
    /// The probe child of `doctor`: tries the kernel's parts in a netns of its own
    #[command(hide = true, name = "__doctor-probe")]
    DoctorProbe(doctor::DoctorProbeCmd),
    /// A spread lab's host: this build and the MTU toward the other hosts
    #[command(hide = true, name = "__host-info")]
    HostInfo(spread::HostInfoCmd),
    /// A spread lab's host: build this host's part (a plan on stdin)
    #[command(hide = true, name = "__part-up")]
    PartUp(spread::PartUpCmd),
    /// A node's routes as JSON (checks of a spread lab)
    #[command(hide = true, name = "__routes")]
    Routes(spread::RoutesCmd),
    /// A node's firewall counters as JSON (checks of a spread lab)
    #[command(hide = true, name = "__fw-counts")]
    FwCounts(spread::FwCountsCmd),
}

impl Command {
    /// The subcommand's name when it needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN): every one
    /// that touches a lab or the state under /run/nsnet.
    fn privileged(&self) -> Option<&'static str> {
        Some(match self {
            Command::Plan(_)
            | Command::Graph(_)
            | Command::Gen(_)
            | Command::Convert(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Complete(_)
            | Command::Doctor(_)
            | Command::DoctorProbe(_)
            | Command::HostInfo(_) => return None,
            Command::Up(_) | Command::PartUp(_) => "up",
            Command::Routes(_) => "path",
            Command::FwCounts(_) => "fw",
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
            Command::Inventory(_) => "inventory",
            Command::Test(_) => "test",
            Command::Events(_) => "events",
            Command::Top(_) => "top",
        })
    }
}

impl Command {
    /// A command about a node of a lab spread over several hosts runs on the node's host
    /// (its status, its output, its terminal); `status` asks every host. None: not such a
    /// command or lab.
    fn forward(&self) -> anyhow::Result<Option<i32>> {
        use crate::spread::{forward, resolve, status};
        let tty = || {
            std::io::IsTerminal::is_terminal(&std::io::stdin())
                && std::io::IsTerminal::is_terminal(&std::io::stdout())
        };
        let (lab, node, sub, tty) = match self {
            Command::Exec(c) if !c.all => {
                (&c.lab, c.node.clone().unwrap_or_default(), "exec", tty())
            }
            Command::Exec(c) => {
                return match resolve(c.lab.as_deref())? {
                    Some(rec) => crate::spread::on_every_host(&rec, &["exec"]).map(Some),
                    None => Ok(None),
                };
            }
            Command::Link(c) => {
                use link::LinkSub;
                let (lab, sub) = match &c.cmd {
                    LinkSub::Down(u) => (&u.lab, "down"),
                    LinkSub::Up(u) => (&u.lab, "up"),
                    LinkSub::Set(s) => (&s.lab, "set"),
                    LinkSub::Show(s) => (&s.lab, "show"),
                };
                let Some(rec) = resolve(lab.as_deref())? else {
                    return Ok(None);
                };
                return match &c.cmd {
                    LinkSub::Down(u) | LinkSub::Up(u) => {
                        crate::spread::link(&rec, sub, &u.link, u.reroute).map(Some)
                    }
                    LinkSub::Set(s) => crate::spread::link(&rec, sub, &s.link, false).map(Some),
                    LinkSub::Show(_) => {
                        crate::spread::on_every_host(&rec, &["link", "show"]).map(Some)
                    }
                };
            }
            Command::Enter(c) => (&c.lab, c.node.clone(), "enter", true),
            Command::Ssh(c) => (&c.lab, c.node.clone(), "ssh", c.cmd.is_empty()),
            Command::Logs(c) => (&c.lab, c.node.clone(), "logs", false),
            Command::Fw(c) => (&c.lab, c.node.clone(), "fw", false),
            Command::Routes(c) => (&c.lab, c.node.clone(), "__routes", false),
            Command::FwCounts(c) => (&c.lab, c.node.clone(), "__fw-counts", false),
            Command::Capture(c) => (
                &c.lab,
                c.target.split(':').next().unwrap_or_default().to_string(),
                "capture",
                false,
            ),
            Command::Path(c) => {
                return match crate::spread::resolve_for_node(c.lab.as_deref(), &c.src)? {
                    Some(rec) => crate::spread::path(&rec, &c.src, &c.dst, c.json).map(Some),
                    None => Ok(None),
                };
            }
            Command::Status(c) if c.lab.is_some() => {
                return match resolve(c.lab.as_deref())? {
                    Some(rec) => status(&rec).map(Some),
                    None => Ok(None),
                };
            }
            _ => return Ok(None),
        };
        match crate::spread::resolve_for_node(lab.as_deref(), &node)? {
            Some(rec) => forward(&rec, &node, sub, tty).map(Some),
            None => Ok(None),
        }
    }
}

impl Cli {
    pub fn run(self) -> CmdResult {
        // Rootless: into the user's sandbox first (started by `up`), where the rest runs as
        // it does for root. One clear line before anything is read or touched.
        if self.rootless {
            nsnet_core::sandbox::become_nobody()?;
        }
        let privileged = self.cmd.privileged();
        if let Some(name) = privileged {
            match nsnet_core::sandbox::enter(matches!(name, "up" | "test")) {
                // A user with no sandbox has no lab: `status` says so, as for root.
                Err(nsnet_core::sandbox::SandboxError::NoSandbox { .. }) if matches!(&self.cmd, Command::Status(c) if c.lab.is_none()) =>
                {
                    crate::out::outln!("no lab is up");
                    return Ok(0);
                }
                r => r?,
            }
            nsnet_core::build::up::require_privileges(name)?;
        }
        // Commands that only print end quietly when their reader goes away (`| head`);
        // the others handle a closed output themselves (capture) or have work to finish.
        if matches!(
            self.cmd,
            Command::Plan(_)
                | Command::Graph(_)
                | Command::Gen(_)
                | Command::Convert(_)
                | Command::Fw(_)
                | Command::Status(_)
                | Command::Logs(_)
                | Command::Path(_)
                | Command::SshConfig(_)
                | Command::Inventory(_)
                | Command::Events(_)
                | Command::Top(_)
                | Command::Doctor(_)
                | Command::Completions(_)
                | Command::Man(_)
                | Command::Complete(_)
        ) {
            nsnet_core::build::interrupt::default_sigpipe();
        }
        if let Some(code) = self.cmd.forward()? {
            return Ok(code);
        }
        let result = self.dispatch();
        if privileged.is_some() {
            nsnet_core::sandbox::release_if_empty();
        }
        result
    }

    fn dispatch(self) -> CmdResult {
        match self.cmd {
            Command::Plan(c) => c.run(),
            Command::Doctor(c) => c.run(),
            Command::DoctorProbe(c) => c.run(),
            Command::HostInfo(c) => c.run(),
            Command::PartUp(c) => c.run(),
            Command::Routes(c) => c.run(),
            Command::FwCounts(c) => c.run(),
            Command::Graph(c) => c.run(),
            Command::Gen(c) => c.run(),
            Command::Convert(c) => c.run(),
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
            Command::Inventory(c) => c.run(),
            Command::Test(c) => c.run(),
            Command::Events(c) => c.run(),
            Command::Top(c) => c.run(),
            Command::Completions(c) => c.run(),
            Command::Man(c) => c.run(),
            Command::Complete(c) => c.run(),
        }
    }
}
