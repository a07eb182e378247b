//! `nsnet link down|up|set|show`: link failures and impairments at run time.
use clap::{Args, Subcommand};
use nsnet_core::link::{self, LinkSel};
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
    parse_rate(s).map_err(|(m, h)| h.map_or(m.clone(), |h| format!("{m}; {h}")))
}

fn time(s: &str) -> Result<u32, String> {
    parse_time(s).map_err(|(m, h)| h.map_or(m.clone(), |h| format!("{m}; {h}")))
}

fn loss(s: &str) -> Result<u32, String> {
    parse_loss(s).map_err(|(m, h)| h.map_or(m.clone(), |h| format!("{m}; {h}")))
}

#[derive(Args, Debug)]
pub struct ShowCmd {
    #[arg(long)]
    pub lab: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
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
        let sel = LinkSel::parse(&self.link)?;
        let r = link::set_link(self.lab.as_deref(), &sel, up, self.reroute)?;
        println!("link {} {}", r.link, if up { "up" } else { "down" });
        for (node, set, del) in &r.routes {
            println!("  {node}: {set} route(s) set, {del} deleted");
        }
        if r.rerouted && r.routes.is_empty() {
            println!("  rerouted: no route changed");
        }
        Ok(0)
    }
}

impl SetCmd {
    fn run(self) -> super::CmdResult {
        let sel = LinkSel::parse(&self.link)?;
        let given = Impair {
            rate: self.rate,
            delay: self.delay,
            jitter: self.jitter,
            loss: self.loss,
        };
        if given.is_empty() && !self.clear {
            return Err("give --rate, --delay, --jitter or --loss (or --clear)".into());
        }
        let clear = self.clear;
        let mut bad = None;
        let (l, now) = link::set_impair(self.lab.as_deref(), &sel, |cur| {
            let base = if clear { Impair::default() } else { cur };
            let merged = Impair {
                rate: given.rate.or(base.rate),
                delay: given.delay.or(base.delay),
                jitter: given.jitter.or(base.jitter),
                loss: given.loss.or(base.loss),
            };
            if merged.jitter.is_some() && merged.delay.is_none() {
                bad = Some("a jitter needs a delay to vary: add --delay");
                return cur;
            }
            merged
        })?;
        if let Some(b) = bad {
            return Err(b.into());
        }
        if now.is_empty() {
            println!("link {l}: no impairments");
        } else {
            println!("link {l}: {now}");
        }
        Ok(0)
    }
}

impl ShowCmd {
    fn run(self) -> super::CmdResult {
        let links = link::show(self.lab.as_deref())?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&links)?);
            return Ok(0);
        }
        let w = links
            .iter()
            .map(|l| l.a.len() + l.b.len() + 3)
            .max()
            .unwrap_or(4)
            .max(4);
        println!("{:<w$}  {:<18} IMPAIRMENTS", "LINK", "STATE");
        for l in &links {
            let ends = format!("{} — {}", l.a, l.b);
            let mut state = l.state.clone();
            if l.rerouted_around {
                state.push_str(" (rerouted)");
            }
            println!("{ends:<w$}  {state:<18} {}", l.impair);
        }
        Ok(0)
    }
}
