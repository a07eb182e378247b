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
                "  {:<16} {:<7} {:>8} {:<6} INTERFACES",
                "NODE", "KIND", "PID", "STATE"
            );
            for n in &lab.nodes {
                let state = if n.alive { "up" } else { "dead" };
                let ifaces: Vec<String> = n
                    .interfaces
                    .iter()
                    .map(|i| {
                        let down = match (i.up, i.carrier) {
                            (false, _) => " DOWN",
                            (true, false) => " NO-CARRIER",
                            _ => "",
                        };
                        let addrs = if i.addrs.is_empty() {
                            String::new()
                        } else {
                            format!(" {}", i.addrs.join(" "))
                        };
                        format!("{}{down}{addrs}", i.name)
                    })
                    .collect();
                let shown = if n.alive {
                    ifaces.join(", ")
                } else {
                    n.addrs.join(" ")
                };
                println!(
                    "  {:<16} {:<7} {:>8} {:<6} {shown}",
                    n.name, n.kind, n.pid, state
                );
            }
        }
        Ok(0)
    }
}
