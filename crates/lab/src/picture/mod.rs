//! Pictures of a lab: SVG, and a self-contained HTML page around it, with live state laid
//! over the plan when the lab runs. Nodes are drawn by kind (hosts as boxes, routers as
//! ellipses, switches as bars: a segment), links with their interfaces and addresses at
//! each end; links down, links impaired and dead nodes are marked with CSS classes and
//! `data-` attributes, so a person sees them and a program (a test in a browser) reads them.
//!
//! Positions come from a [`Layout`]: Graphviz's (`layout::graphviz_input`, then the caller
//! runs `dot`, `sfdp` or `neato` and hands `-Tplain` to `layout::parse_plain`), or nsnet's
//! own (`layout::builtin`), linear in the lab's size. This crate runs no program: the
//! binary does.

pub mod layout;
mod svg;

pub use layout::Layout;
pub use svg::{html, svg};

use crate::impair::Impair;
use crate::plan::{LinkPlan, Plan};
use std::collections::HashSet;

/// A link's state as the kernels of its two ends report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkLook {
    /// Both ends up, with carrier.
    Up,
    /// Both ends up, no carrier.
    NoCarrier,
    /// Both ends set down.
    Down,
    /// One end set down.
    EndDown,
    /// An end's node is dead: nothing to read.
    Unknown,
}

impl LinkLook {
    /// The word in `data-state` and CSS classes.
    pub fn word(self) -> &'static str {
        match self {
            LinkLook::Up => "up",
            LinkLook::NoCarrier => "no-carrier",
            LinkLook::Down => "down",
            LinkLook::EndDown => "end-down",
            LinkLook::Unknown => "unknown",
        }
    }

    /// Whether the link carries no traffic.
    pub fn is_down(self) -> bool {
        matches!(
            self,
            LinkLook::NoCarrier | LinkLook::Down | LinkLook::EndDown
        )
    }
}

/// One link as it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLink {
    /// Its state.
    pub look: LinkLook,
    /// Each end's impairments as its kernel's qdiscs have them (a's, then b's).
    pub impair: [Impair; 2],
}

/// What a running lab's kernels say, laid over its plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// When it was read (RFC 3339), shown on the page.
    pub read_at: String,
    /// Nodes whose init is gone.
    pub dead: HashSet<String>,
    /// One per `plan.links`, in order.
    pub links: Vec<LiveLink>,
}

/// The string a link is known by in the picture: `r1:eth1--r2:eth0`.
pub fn link_id(l: &LinkPlan) -> String {
    format!("{}--{}", l.a, l.b)
}

/// Both ends' impairments in words: once when they agree.
pub(crate) fn impair_words(l: &LinkPlan, imp: &[Impair; 2]) -> String {
    let [a, b] = imp;
    if a == b {
        a.to_string()
    } else if b.is_empty() {
        format!("{}: {a}", l.a)
    } else if a.is_empty() {
        format!("{}: {b}", l.b)
    } else {
        format!("{}: {a}; {}: {b}", l.a, l.b)
    }
}

/// Labs larger than this are drawn without the per-end labels (they stay in tooltips).
pub const LABELS_UP_TO: usize = 150;

/// What is drawn: the plan, where things are, and the live state if any.
#[derive(Debug, Clone, Copy)]
pub struct Picture<'a> {
    /// The lab.
    pub plan: &'a Plan,
    /// Its layout.
    pub layout: &'a Layout,
    /// Its live state, when it runs.
    pub live: Option<&'a Live>,
}
