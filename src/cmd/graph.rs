//! `nsnet graph`: a lab's topology as Graphviz dot, Mermaid, SVG or a self-contained HTML
//! page; pictures of a running lab show its live state.
use crate::out::out;
use anyhow::Context;
use clap::{Args, ValueEnum};
use nsnet_lab::picture::{self, layout, Layout, Live, Picture};
use nsnet_lab::Plan;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Args, Debug)]
pub struct GraphCmd {
    /// The lab file, a Kathará lab directory (or its lab.conf) or a containerlab file (*.clab.yml);
    /// leave it out to draw a running lab: --lab, or the only lab up
    #[arg(value_name = "LAB.toml")]
    pub file: Option<PathBuf>,
    /// A running lab to draw with its live state: its name or lab file (root)
    #[arg(long = "lab", value_name = "LAB")]
    pub running: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "dot")]
    pub format: Format,
    /// Who places the nodes of svg and html: auto is Graphviz's dot when installed (up to
    /// 2500 nodes), else nsnet itself
    #[arg(long, value_enum, default_value = "auto")]
    pub layout: LayoutChoice,
    /// Draw the plan only, even when the lab is up
    #[arg(long)]
    pub no_live: bool,
    /// Write to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Dot,
    Mermaid,
    Svg,
    Html,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutChoice {
    Auto,
    Dot,
    Sfdp,
    Neato,
    Builtin,
}

/// Labs up to this many nodes are laid out by `dot` (layered, left to right, ranked by
/// nsnet's layers: a 2000-node grid in 3.6 s); larger ones by nsnet's own linear layout.
/// (`sfdp` was slower than `dot` on every generated shape measured.)
const DOT_UP_TO: usize = 2500;

impl GraphCmd {
    pub fn run(self) -> super::CmdResult {
        let picture = matches!(self.format, Format::Svg | Format::Html);
        let (plan, live) = match &self.file {
            Some(file) if self.running.is_none() => {
                let plan = nsnet_lab::plan(&crate::load::load(file, None, false)?.lab)?;
                let live = if picture && !self.no_live {
                    live_of_file(&plan)
                } else {
                    None
                };
                (plan, live)
            }
            Some(_) => anyhow::bail!("give a lab file or --lab, not both"),
            None => {
                nsnet_core::build::up::require_privileges("graph --lab")?;
                let lab = nsnet_core::RunningLab::open(self.running.as_deref())?;
                let live = if picture && !self.no_live {
                    Some(nsnet_core::ops::picture::live(&lab, now())?)
                } else {
                    None
                };
                (lab.plan().clone(), live)
            }
        };
        let text = match self.format {
            Format::Dot => nsnet_lab::render::dot(&plan),
            Format::Mermaid => nsnet_lab::render::mermaid(&plan),
            Format::Svg | Format::Html => {
                let layout = lay_out(&plan, self.layout)?;
                let p = Picture {
                    plan: &plan,
                    layout: &layout,
                    live: live.as_ref(),
                };
                if matches!(self.format, Format::Svg) {
                    picture::svg(&p)
                } else {
                    picture::html(&p)
                }
            }
        };
        match &self.output {
            Some(path) => {
                std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
            }
            None => out!("{text}"),
        }
        Ok(0)
    }
}

fn now() -> String {
    super::events::rfc3339(std::time::SystemTime::now())
}

/// The live state of the lab a file describes, when it is up from that same plan and we
/// may read its state (root); else none, quietly: the file's picture is still right.
fn live_of_file(plan: &Plan) -> Option<Live> {
    // /proc/self belongs to the process's effective user.
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").ok()?) == 0;
    if !root {
        return None;
    }
    let name = nsnet_core::LabName::new(&plan.lab).ok()?;
    let lab = nsnet_core::RunningLab::open_name(&name).ok()?;
    let same = lab.plan().links == plan.links
        && lab
            .plan()
            .nodes
            .iter()
            .map(|n| &n.name)
            .eq(plan.nodes.iter().map(|n| &n.name));
    if !same {
        eprintln!(
            "nsnet: lab {} is up from another plan: drawing the file without its live state",
            plan.lab
        );
        return None;
    }
    match nsnet_core::ops::picture::live(&lab, now()) {
        Ok(live) => Some(live),
        Err(e) => {
            eprintln!("nsnet: lab {}: no live state: {e}", plan.lab);
            None
        }
    }
}

fn lay_out(plan: &Plan, choice: LayoutChoice) -> anyhow::Result<Layout> {
    let engine = match choice {
        LayoutChoice::Builtin => return Ok(layout::builtin(plan)),
        LayoutChoice::Dot => "dot",
        LayoutChoice::Sfdp => "sfdp",
        LayoutChoice::Neato => "neato",
        LayoutChoice::Auto if plan.nodes.len() <= DOT_UP_TO => "dot",
        LayoutChoice::Auto => return Ok(layout::builtin(plan)),
    };
    match graphviz(plan, engine) {
        Ok(l) => Ok(l),
        // Graphviz is optional: nsnet lays the lab out itself.
        Err(e) if choice == LayoutChoice::Auto => {
            if e.downcast_ref::<std::io::Error>()
                .is_none_or(|io| io.kind() != std::io::ErrorKind::NotFound)
            {
                eprintln!("nsnet: {engine} failed ({e:#}): laying the lab out without Graphviz");
            }
            Ok(layout::builtin(plan))
        }
        Err(e) => Err(e),
    }
}

/// Runs Graphviz's `engine -Tplain` on the lab and reads where it put everything.
fn graphviz(plan: &Plan, engine: &str) -> anyhow::Result<Layout> {
    let mut child = Command::new(engine)
        .arg("-Tplain")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let input = layout::graphviz_input(plan, engine);
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    if !out.status.success() {
        anyhow::bail!(
            "{engine} -Tplain: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    layout::parse_plain(plan, &String::from_utf8_lossy(&out.stdout), engine)
        .map_err(anyhow::Error::msg)
}
