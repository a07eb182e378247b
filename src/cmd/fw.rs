use clap::Args;

#[derive(Args, Debug)]
pub struct FwCmd {
    /// The node
    pub node: String,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
}

impl FwCmd {
    pub fn run(self) -> super::CmdResult {
        let node = &self.node;
        let Some((fw, rules)) = nsnet_core::firewall::counters(self.lab.as_deref(), node)? else {
            println!("{node} has no firewall in its lab file");
            return Ok(0);
        };
        println!(
            "{node}: policy input {}, forward {}, output {}",
            fw.input, fw.forward, fw.output
        );
        let texts: Vec<String> = rules.iter().map(|r| r.rule.to_string()).collect();
        let width = texts.iter().map(String::len).max().unwrap_or(0);
        let mut missing = 0;
        for (r, text) in rules.iter().zip(&texts) {
            let counts = match r.counts {
                Some((pkts, bytes)) => format!("{pkts:>8} pkts {bytes:>10} bytes"),
                None => {
                    missing += 1;
                    "not in the kernel".to_string()
                }
            };
            println!("{:<11} {text:<width$}  {counts}", r.rule.chain.to_string());
        }
        if missing > 0 {
            eprintln!(
                "nsnet: {missing} rule(s) of {node} are missing from its nftables table inet {}",
                nsnet_core::firewall::TABLE
            );
            return Ok(1);
        }
        Ok(0)
    }
}
