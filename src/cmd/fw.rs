use crate::out::outln;
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
        let Some((fw, rules)) = nsnet_core::ops::fw::counters(self.lab.as_deref(), node)? else {
            outln!("{node} has no firewall in its lab file");
            return Ok(0);
        };
        outln!(
            "{node}: policy input {}, forward {}, output {}",
            fw.input,
            fw.forward,
            fw.output
        );
        let texts: Vec<String> = rules.iter().map(|r| r.rule.to_string()).collect();
        let width = texts.iter().map(String::len).max().unwrap_or(0);
        let (mut missing, mut changed) = (0, 0);
        for (r, text) in rules.iter().zip(&texts) {
            let counts = match r.counts {
                Some((pkts, bytes)) => format!("{pkts:>8} pkts {bytes:>10} bytes"),
                None => {
                    missing += 1;
                    "not in the kernel".to_string()
                }
            };
            let mark = if r.counts.is_some() && !r.same {
                changed += 1;
                "  (the kernel's rule differs)"
            } else {
                ""
            };
            outln!(
                "{:<11} {text:<width$}  {counts}{mark}",
                r.rule.chain.to_string()
            );
        }
        let table = nsnet_core::netplan::firewall::TABLE;
        if missing > 0 {
            eprintln!("nsnet: {missing} rule(s) of {node} are missing from its nftables table inet {table}");
        }
        if changed > 0 {
            eprintln!(
                "nsnet: {changed} rule(s) of {node} in table inet {table} differ from the lab file's \
                 (changed since `up`, e.g. with nft)"
            );
        }
        Ok(if missing + changed > 0 { 1 } else { 0 })
    }
}
