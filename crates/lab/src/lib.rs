//! What the user asked for: the lab file's schema, its validation with precise errors, and
//! the plan of the whole network. Pure: no syscalls, no root.
//!
//! Text becomes a plan in three steps, each module using only those before it:
//! - `spec` (private): serde structs that mirror the lab file, every value with its span;
//! - `model`: resolves them into a checked `Lab` (names known, values parsed, firewalls
//!   checked), every mistake reported at its file:line:column (`error`);
//! - `plan`: turns the `Lab` into a `Plan` (segments, subnets, addresses, MACs, routes,
//!   sysctls), finding what needs the whole network (overlaps, exhausted pools); also
//!   `plan::routes`, the routes around links that are down.
//!
//! Beside them, used by them and using none of the three:
//! - `values`: Kind, Routing, Sysctl, FileCopy, shared by the model and the plan;
//! - `limits`: defaults and bounds (sizes, MTUs, bridge ports, the lab file's size);
//! - `firewall`: a node's checked firewall (chains, rules, NAT) as `core` applies it;
//! - `outside`: links to the host, published ports, host interfaces (what leaves the lab);
//! - `cidr`, `size`, `impair`: prefixes, byte sizes and link impairments, each parsed and
//!   printed in one place;
//! - `error`: `Invalid` (what is wrong with a value) and `LabError`/`LabErrors` (where);
//! - `checks`: the `[[checks]]` and `[[scenarios]]` that `nsnet test` runs.
//!
//! And after the plan: `render` prints it (text, Graphviz, Mermaid); `picture` draws it
//! (SVG, a self-contained HTML page, with a running lab's state laid over it); `gen` writes
//! lab files for common shapes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checks;
pub mod cidr;
pub mod error;
pub mod firewall;
pub mod gen;
pub mod impair;
pub mod limits;
pub mod model;
pub mod outside;
pub mod partition;
pub mod picture;
pub mod plan;
pub mod render;
pub mod size;
mod spec;
pub mod spread;
pub mod values;

pub use cidr::Cidr;
pub use error::{Invalid, LabError, LabErrors};
pub use firewall::Firewall;
pub use impair::Impair;
pub use model::Lab;
pub use plan::{
    plan, Endpoint, Interface, LinkPlan, Mac, NextHop, NodePlan, Plan, Route, Segment, Tunnel,
};
pub use values::{Bind, FileCopy, Kind, Limits, PrivateDir, Root, Routing, Sysctl};

/// Read, validate and plan a lab file in one step.
pub fn load_plan(path: &std::path::Path) -> Result<Plan, LabErrors> {
    let lab = Lab::load(path)?;
    plan(&lab)
}
