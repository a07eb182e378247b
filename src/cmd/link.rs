//! `nsnet link down|up|set|show`: link failures and impairments at run time.
use crate::out::outln;
use clap::{Args, Subcommand};
use nsnet_core::ops::link::{self, ImpairChange, LinkSel, LinkShow, LinkStatus};
use nsnet_lab::impair::{parse_loss, parse_rate, parse_time};
use nsnet_lab::Impair;

#[derive(Args, Debug)]
pub struct LinkCmd {
    #[command(subcommand)]
    pub cmd: LinkSub,
}

#[derive(Subcommand, Debug)]
pub enum LinkSub {
    /// Take a link down at both ends: NODE:IFACE, or the two nodes it joins
    Down(UpDown),
    /// Bring a link back up at both ends
    Up(UpDown),
    /// Impair a link in both directions: rate (tbf), delay, jitter, loss (netem)
    ///
    /// Options not given keep their current value; --clear removes every impairment first.
    /// Rates are tc's units (10mbit, 512kbit, 1gbit), times us/ms/s, loss a percentage.
    Set(SetCmd),
    /// List the lab's links: both ends, state and impairments, read from the kernel
    Show(ShowCmd),
}

#[derive(Args, Debug)]
pub struct UpDown {
    /// NODE:IFACE, or two node names
    #[arg(required = true, num_args = 1..=2)]
    pub link: Vec<String>,
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
    /// Recompute shortest-path routes without the links that are down and rewrite those that
    /// change (routing = "static" labs)
    #[arg(long)]
    pub reroute: bool,
}

#[derive(Args, Debug)]
pub struct SetCmd {
    /// NODE:IFACE, or two node names
    #[arg(required = true, num_args = 1..=2)]
    pub link: Vec<String>,
    #[arg(long)]
    pub lab: Option<String>,
    /// Rate limit, e.g. 1mbit
    #[arg(long, value_parser = rate)]
    pub rate: Option<u64>,
    /// One-way delay, e.g. 20ms (needs netem)
    #[arg(long, value_parser = time)]
    pub delay: Option<u32>,
    /// Delay variation, e.g. 5ms (needs netem and a delay)
    #[arg(long, value_parser = time)]
    pub jitter: Option<u32>,
    /// Loss, e.g. 1% (needs netem)
    #[arg(long, value_parser = loss)]
    pub loss: Option<u32>,
    /// Remove the link's impairments (before applying any given here)
    #[arg(long)]
    pub clear: bool,
}

fn rate(s: &str) -> Result<u64, String> {
    parse_rate(s).map_err(|e| e.to_string())
}

fn time(s: &str) -> Result<u32, String> {
    parse_time(s).map_err(|e| e.to_string())
}

fn loss(s: &str) -> Result<u32, String> {
    parse_loss(s).map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub struct ShowCmd {
    #[arg(long)]
    pub lab: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// A link as the command line names it: `NODE:IFACE`, or its two nodes.
fn selection(args: &[String]) -> anyhow::Result<LinkSel> {
    let usage = "name a link as NODE:IFACE (e.g. r1:eth1) or by its two nodes (r1 r2)";
    match args {
        [one] => match one.split_once(':') {
            Some((n, i)) if !n.is_empty() && !i.is_empty() => Ok(LinkSel::End {
                node: n.into(),
                iface: i.into(),
            }),
            _ => anyhow::bail!("`{one}`: {usage}"),
        },
        [a, b] => Ok(LinkSel::Between {
            a: a.clone(),
            b: b.clone(),
        }),
        _ => anyhow::bail!("{usage}"),
    }
}

/// A link's state in words: `up`, `up (no carrier)`, `down`, `r1:eth1 down`.
fn state_words(l: &LinkShow) -> String {
    match (l.state, &l.down_end) {
        (LinkStatus::Up, _) => "up".into(),
        (LinkStatus::NoCarrier, _) => "up (no carrier)".into(),
        (LinkStatus::Down, _) => "down".into(),
        (LinkStatus::EndDown, Some(end)) => format!("{end} down"),
        (LinkStatus::EndDown, None) => "one end down".into(),
        (LinkStatus::NodeDead, _) => "node dead".into(),
    }
}

/// Both ends' impairments: once when they agree, else each end's.
fn impair_words(l: &LinkShow) -> String {
    let [a, b] = &l.impair;
    if a == b {
        a.to_string()
    } else {
        format!("{}: {a}; {}: {b}", l.a, l.b)
    }
}

impl LinkCmd {
    pub fn run(self) -> super::CmdResult {
        match self.cmd {
            LinkSub::Down(c) => c.run(false),
            LinkSub::Up(c) => c.run(true),
            LinkSub::Set(c) => c.run(),
            LinkSub::Show(c) => c.run(),
        }
    }
}

impl UpDown {
    fn run(self, up: bool) -> super::CmdResult {
        let sel = selection(&self.link)?;
        let r = link::set_link(self.lab.as_deref(), &sel, up, self.reroute)?;
        crate::out::on_failure(0);
        outln!("link {} {}", r.link, if up { "up" } else { "down" });
        for (node, set, del) in &r.routes {
            outln!("  {node}: {set} route(s) set, {del} deleted");
        }
        if r.rerouted && r.routes.is_empty() {
            outln!("  rerouted: no route changed");
        }
        Ok(0)
    }
}

impl SetCmd {
    fn run(self) -> super::CmdResult {
        let sel = selection(&self.link)?;
        let change = ImpairChange {
            given: Impair {
                rate: self.rate,
                delay: self.delay,
                jitter: self.jitter,
                loss: self.loss,
            },
            clear: self.clear,
        };
        let (l, now) = link::set_impair(self.lab.as_deref(), &sel, &change)?;
        crate::out::on_failure(0);
        if now.is_empty() {
            outln!("link {l}: no impairments");
        } else {
            outln!("link {l}: {now}");
        }
        Ok(0)
    }
}

impl ShowCmd {
    fn run(self) -> super::CmdResult {
        let links = link::show(self.lab.as_deref())?;
        if self.json {
            outln!("{}", serde_json::to_string_pretty(&links)?);
            return Ok(0);
        }
        let w = links
            .iter()
            .map(|l| l.a.to_string().len() + l.b.to_string().len() + 3)
            .max()
            .unwrap_or(4)
            .max(4);
        outln!("{:<w$}  {:<18} IMPAIRMENTS", "LINK", "STATE");
        for l in &links {
            let ends = format!("{} — {}", l.a, l.b);
            let mut state = state_words(l);
            if l.rerouted_around {
                state.push_str(" (rerouted)");
            }
            outln!("{ends:<w$}  {state:<18} {}", impair_words(l));
        }
        Ok(0)
    }
}
