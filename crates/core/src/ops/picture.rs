//! What a picture of a running lab shows beyond its plan (`nsnet graph` of a lab that is
//! up): each link's state and impairments as its two kernels report them (as `nsnet link
//! show` reads them) and which nodes are dead.

use crate::ops::link::{show_in, LinkError, LinkStatus};
use crate::running::{NodeError, RunningLab};
use nsnet_lab::picture::{LinkLook, Live, LiveLink};

/// The live state of `lab`; `read_at` is when, as the page shows it.
pub fn live(lab: &RunningLab, read_at: String) -> Result<Live, LinkError> {
    let links = show_in(lab, true)?
        .into_iter()
        .map(|s| LiveLink {
            look: match s.state {
                LinkStatus::Up => LinkLook::Up,
                LinkStatus::NoCarrier => LinkLook::NoCarrier,
                LinkStatus::Down => LinkLook::Down,
                LinkStatus::EndDown => LinkLook::EndDown,
                LinkStatus::NodeDead => LinkLook::Unknown,
            },
            impair: s.impair,
        })
        .collect();
    let dead = lab
        .state
        .nodes
        .iter()
        .filter(|r| matches!(lab.node(&r.name), Err(NodeError::Dead { .. })))
        .map(|r| r.name.clone())
        .collect();
    Ok(Live {
        read_at,
        dead,
        links,
    })
}
