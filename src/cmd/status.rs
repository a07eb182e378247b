use clap::Args;

#[derive(Args, Debug)]
pub struct StatusCmd {
    /// Only this lab
    pub lab: Option<String>,
    /// Print JSON (a list of labs)
    #[arg(long)]
    pub json: bool,
}

impl StatusCmd {
    pub fn run(self) -> super::CmdResult {
        let labs = match &self.lab {
            Some(lab) => vec![nsnet_core::status::lab_status(lab)?],
            None => nsnet_core::status::all_status()
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?,
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&labs)?);
            return Ok(0);
        }
        if labs.is_empty() {
            println!("no lab is up");
        }
        for lab in &labs {
            let dead = lab.nodes.iter().filter(|n| !n.alive).count();
            let source = lab
                .source
                .as_ref()
                .map(|s| format!(" ({})", s.display()))
                .unwrap_or_default();
            println!(
                "lab {}{source}: {} node(s), {dead} dead",
                lab.lab,
                lab.nodes.len()
            );
            println!(
                "  {:<16} {:<7} {:>8} {:<6} ADDRESSES",
                "NODE", "KIND", "PID", "STATE"
            );
            for n in &lab.nodes {
                println!(
                    "  {:<16} {:<7} {:>8} {:<6} {}",
                    n.name,
                    n.kind,
                    n.pid,
                    if n.alive { "up" } else { "dead" },
                    n.addrs.join(" ")
                );
            }
        }
        Ok(0)
    }
}
