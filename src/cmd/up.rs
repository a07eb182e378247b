use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct UpCmd {
    /// The lab file (TOML)
    pub lab: PathBuf,
}

impl UpCmd {
    pub fn run(self) -> super::CmdResult {
        nsnet_core::up::check_privileges()?;
        let plan = nsnet_lab::load_plan(&self.lab)?;
        let st = nsnet_core::up(&plan)?;
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
        Ok(0)
    }
}
