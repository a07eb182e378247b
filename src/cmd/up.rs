use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct UpCmd {
    /// The lab file (TOML)
    pub lab: PathBuf,
    /// Print how long each phase took (plan, spawn inits, links, addresses and routes …)
    #[arg(long)]
    pub timings: bool,
    /// Run the lab under this name instead of the file's (to run one lab file twice)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// First tear down whatever of this lab is there (up, or left over by a killed `up`)
    #[arg(long)]
    pub force: bool,
}

impl UpCmd {
    pub fn run(self) -> super::CmdResult {
        nsnet_core::up::check_privileges()?;
        let mut t = nsnet_core::Timings::default();
        let mut lab = nsnet_lab::Lab::load(&self.lab)?;
        if let Some(name) = self.name {
            nsnet_lab::model::check_name(&name, 12)
                .map_err(|why| format!("--name `{name}` {why}: use 1-12 characters of a-z, 0-9 and -, starting with a letter"))?;
            lab.name = name;
        }
        let plan = nsnet_lab::plan(&lab)?;
        t.lap("plan");
        // A progress bar on a terminal, for labs that take more than a moment.
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        t.set_progress(tty && plan.nodes.len() >= 50);
        // ^C, SIGTERM or SIGHUP from here on: roll back, then exit as if killed by it.
        nsnet_core::interrupt::block();
        let st = nsnet_core::up::up_with(&plan, self.force, &mut t);
        t.finish();
        let st = match st {
            Err(nsnet_core::UpError::Interrupted(sig)) => {
                eprintln!(
                    "nsnet: up {sig}; lab {} is rolled back, nothing of it is left",
                    plan.lab
                );
                return Ok(sig.exit_code());
            }
            st => st?,
        };
        println!("lab {} is up: {} node(s)", plan.lab, st.nodes.len());
        println!("{:<16} {:<7} {:>8}  ADDRESSES", "NODE", "KIND", "PID");
        for (rec, node) in st.nodes.iter().zip(&plan.nodes) {
            let addrs: Vec<String> = node.addrs().map(|a| a.to_string()).collect();
            println!(
                "{:<16} {:<7} {:>8}  {}",
                rec.name,
                node.kind,
                rec.pid,
                addrs.join(" ")
            );
        }
        if self.timings {
            t.eprint();
        }
        Ok(0)
    }
}
