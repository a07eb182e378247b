//! What a lab is in rootless mode (see [`crate::sandbox`]): everything but what needs the
//! machine itself. Node limits need cgroups delegated to the user; a root of a node's own
//! needs an overlay over mounts the kernel locks to the sandbox; a link to the host, a
//! published port or a host interface would end in the sandbox's own network namespace,
//! not the machine's; sshd's privilege separation needs more ids than the user's own (the
//! sandbox maps them when the user has a subordinate range, see [`crate::sandbox`]).

use nsnet_lab::Plan;

/// Why `plan` cannot run rootless, if it cannot.
#[derive(Debug, thiserror::Error)]
#[error(
    "lab {lab} cannot run rootless: {what} (a lab without it runs as any user; with it, run \
     nsnet as root)"
)]
pub struct RootlessError {
    pub lab: String,
    pub what: String,
}

/// The plan as it runs rootless: the same, with sshd off in every node. Refuses what
/// needs root.
pub fn adjust(plan: &Plan) -> Result<Plan, RootlessError> {
    let refuse = |what: String| RootlessError {
        lab: plan.lab.clone(),
        what,
    };
    for n in &plan.nodes {
        if !n.limits.is_empty() {
            return Err(refuse(format!(
                "node {} has resource limits (cgroups are root's)",
                n.name
            )));
        }
        if n.root != nsnet_lab::Root::Host || n.tree.is_some() {
            return Err(refuse(format!(
                "node {} has a root of its own (`root` or `tree`): rootless nodes share the \
                 machine's / (the kernel locks its mounts to the sandbox, so no overlay can \
                 take it as a layer, and no proc can be mounted in a root beside it)",
                n.name
            )));
        }
        if let Some(h) = &n.host_link {
            let what = if h.nat {
                "an uplink"
            } else {
                "a management address"
            };
            return Err(refuse(format!(
                "node {} has {what} (the machine's network is root's)",
                n.name
            )));
        }
        if !n.ports.is_empty() {
            return Err(refuse(format!(
                "node {} publishes ports (the machine's network is root's)",
                n.name
            )));
        }
        if !n.host_ifaces.is_empty() {
            return Err(refuse(format!(
                "node {} takes a host interface (the machine's interfaces are root's)",
                n.name
            )));
        }
    }
    let mut plan = plan.clone();
    if !crate::sandbox::maps_a_range() {
        for n in &mut plan.nodes {
            n.ssh = false;
        }
    }
    Ok(plan)
}

/// What a user should know before a rootless `up` of `plan`: one line each.
pub fn notes(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if plan.nodes.iter().any(|n| n.ssh) && !crate::sandbox::maps_a_range() {
        out.push(
            "rootless: no sshd in the nodes (its privilege separation needs ids beyond your \
             own: a range in /etc/subuid and /etc/subgid, and newuidmap from the package \
             uidmap); `nsnet exec` and `nsnet enter` reach every node"
                .into(),
        );
    }
    out
}
