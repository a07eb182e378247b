//! `nsnet capture NODE:IFACE`: packets of a node's interface, as pcap or one line each.
use clap::Args;
use nsnet_core::ops::capture::{self, CaptureError, Sink};
use std::io::Write;

#[derive(Args, Debug)]
pub struct CaptureCmd {
    /// NODE:IFACE, e.g. h1:eth0
    pub target: String,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
    /// Write a pcap file (tcpdump -r, Wireshark); `-` for stdout
    #[arg(short = 'w', value_name = "FILE")]
    pub write: Option<String>,
    /// Stop after this many packets
    #[arg(short = 'c', value_name = "COUNT")]
    pub count: Option<u64>,
}

impl CaptureCmd {
    pub fn run(self) -> super::CmdResult {
        let (node, iface) = match self.target.split_once(':') {
            Some((n, i)) if !n.is_empty() && !i.is_empty() => (n, i),
            _ => return Err(CaptureError::Usage(self.target.clone()).into()),
        };
        let sink = match self.write.as_deref() {
            Some("-") => Sink::Pcap(Box::new(std::io::stdout())),
            Some(path) => {
                let f = anyhow::Context::with_context(std::fs::File::create(path), || {
                    format!("creating {path}")
                })?;
                Sink::Pcap(Box::new(std::io::BufWriter::new(f)))
            }
            None => Sink::Text(Box::new(std::io::stdout())),
        };
        let target = self.target.clone();
        let n = capture::capture(self.lab.as_deref(), node, iface, sink, self.count, || {
            eprintln!("capturing on {target}");
            let _ = std::io::stderr().flush();
        })?;
        eprintln!("{n} packet(s) captured");
        Ok(0)
    }
}
