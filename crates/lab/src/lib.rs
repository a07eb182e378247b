//! What the user asked for: the lab file's schema, its validation with precise errors, and
//! the plan of the whole network. Pure: no syscalls, no root.
#![forbid(unsafe_code)]

pub mod cidr;
pub mod error;
pub mod firewall;
pub mod gen;
pub mod impair;
pub mod model;
pub mod plan;
pub mod render;
mod spec;

pub use cidr::Cidr;
pub use error::{LabError, LabErrors};
pub use firewall::Firewall;
pub use impair::Impair;
pub use model::Lab;
pub use plan::{
    plan, Endpoint, FileCopy, Interface, Kind, LinkPlan, Mac, NextHop, NodePlan, Plan, Route,
    Routing, Segment, Sysctl,
};

/// Read, validate and plan a lab file in one step.
pub fn load_plan(path: &std::path::Path) -> Result<Plan, LabErrors> {
    let lab = Lab::load(path)?;
    plan(&lab)
}
