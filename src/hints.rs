//! The advice the command line adds to an error: what to run next. The libraries say what
//! happened; only the CLI knows its own commands and flags.

use nsnet_core::{NodeError, StateError, UpError};

/// A line of advice for `err`, when nsnet has one.
pub fn for_error(err: &anyhow::Error) -> Option<String> {
    if let Some(e) = err.downcast_ref::<UpError>() {
        return up(e);
    }
    if let Some(e) = err.downcast_ref::<NodeError>() {
        return node(e);
    }
    if let Some(e) = err.downcast_ref::<StateError>() {
        return state(e);
    }
    if let Some(nsnet_core::EnterError::Node(e)) = err.downcast_ref::<nsnet_core::EnterError>() {
        return node(e);
    }
    None
}

fn up(e: &UpError) -> Option<String> {
    Some(match e {
        UpError::AlreadyUp { lab, .. } => format!("run `nsnet down {lab}` first"),
        UpError::DeadNodes { lab, .. } => {
            format!("`nsnet down {lab}` removes the rest, or `nsnet up --force` rebuilds it")
        }
        UpError::Leftovers { lab, .. } => format!("run `nsnet down {lab}`, or `nsnet up --force`"),
        UpError::NetnsTaken { path } => format!(
            "remove it (`ip netns del {}`), or run the lab under another name with --name",
            path.file_name()?.to_string_lossy()
        ),
        UpError::State(s) => return state(s),
        UpError::Outside(o) | UpError::Wire(nsnet_core::build::wire::WireError::Outside(o)) => {
            return outside(o)
        }
        _ => return None,
    })
}

fn outside(e: &nsnet_core::outside::OutsideError) -> Option<String> {
    use nsnet_core::outside::OutsideError as O;
    Some(match e {
        O::Overlap { .. } => {
            "set [lab] host_pool to a range the host uses nowhere, e.g. host_pool = \"100.126.0.0/16\"".into()
        }
        O::NameTaken { .. } => {
            "another lab with the same name hash is up: `nsnet down` it, or rename this lab".into()
        }
        O::NoHostIface { .. } => "check the name with `ip link`; host_ifaces names the host's own interfaces".into(),
        O::DefaultRoute { .. } => {
            "give another interface, or write { host = \"…\", force = true } if the host may lose its default route".into()
        }
        O::TableTaken { table } => format!(
            "a table of that name is left from elsewhere: look at it with `nft list table inet {table}`, and delete it if it is junk"
        ),
        O::Bind { .. } => "publish another host port, or stop what listens there".into(),
        _ => return None,
    })
}

fn node(e: &NodeError) -> Option<String> {
    match e {
        NodeError::Dead { lab, .. } => Some(format!("`nsnet down {lab}` removes what is left")),
        NodeError::State(s) => state(s),
        _ => None,
    }
}

fn state(e: &StateError) -> Option<String> {
    match e {
        StateError::Ambiguous(_) => Some("pick one with --lab".into()),
        StateError::NoLab => Some("bring one up with `nsnet up LAB.toml`".into()),
        _ => None,
    }
}
