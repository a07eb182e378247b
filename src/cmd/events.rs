//! `nsnet events`: what changes in a running lab, one line per event (or JSON lines).
use crate::out::outln;
use clap::Args;
use nsnet_core::ops::events::{Event, EventKind, Hop, Watcher};
use std::ops::ControlFlow;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Args, Debug)]
pub struct EventsCmd {
    /// The lab (may be left out when only one lab is up)
    #[arg(long)]
    pub lab: Option<String>,
    /// Print JSON lines: time, lab, node, iface, event and its fields
    #[arg(long)]
    pub json: bool,
    /// Stop after this many events
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

impl EventsCmd {
    pub fn run(self) -> super::CmdResult {
        let watcher = Watcher::open(self.lab.as_deref())?;
        let lab = watcher.lab().to_string();
        eprintln!(
            "nsnet: watching lab {lab} ({} running nodes); ^C to stop",
            watcher.len()
        );
        let mut left = self.count;
        watcher.run(|e| {
            if self.json {
                outln!("{}", json_line(&lab, &e));
            } else {
                outln!("{}", text_line(&e));
            }
            match left.as_mut() {
                Some(n) => {
                    *n -= 1;
                    if *n == 0 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                }
                None => ControlFlow::Continue(()),
            }
        })?;
        Ok(0)
    }
}

/// One JSON object: `{"time":…,"lab":…,"node":…,"iface":…,"event":"link-down",…}`.
fn json_line(lab: &str, e: &Event) -> String {
    let mut v = serde_json::json!({
        "time": rfc3339(e.time),
        "lab": lab,
        "node": e.node,
        "iface": e.iface,
    });
    if let (Some(m), Ok(serde_json::Value::Object(k))) =
        (v.as_object_mut(), serde_json::to_value(&e.kind))
    {
        m.extend(k);
    }
    v.to_string()
}

fn hops(via: &[Hop]) -> String {
    via.iter()
        .map(|h| match h.via {
            Some(gw) => format!("via {gw} dev {}", h.dev),
            None => format!("dev {}", h.dev),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `2026-12-03T09:10:11.123Z r1:eth1 link-down`, with the event's details after it.
fn text_line(e: &Event) -> String {
    let at = match &e.iface {
        Some(i)
            if !matches!(
                e.kind,
                EventKind::RouteAdded { .. }
                    | EventKind::RouteChanged { .. }
                    | EventKind::RouteRemoved { .. }
            ) =>
        {
            format!("{}:{i}", e.node)
        }
        _ if e.node.is_empty() => "-".to_string(),
        _ => e.node.clone(),
    };
    let name = serde_json::to_value(&e.kind)
        .ok()
        .and_then(|v| v["event"].as_str().map(str::to_string))
        .unwrap_or_default();
    let details = match &e.kind {
        EventKind::AddrAdded { addr } | EventKind::AddrRemoved { addr } => format!(" {addr}"),
        EventKind::RouteAdded { dst, via, protocol }
        | EventKind::RouteChanged { dst, via, protocol }
        | EventKind::RouteRemoved { dst, via, protocol } => {
            format!(" {dst} {} proto {protocol}", hops(via))
        }
        EventKind::NeighAdded {
            addr,
            lladdr,
            state,
        }
        | EventKind::NeighChanged {
            addr,
            lladdr,
            state,
        } => format!(" {addr} lladdr {lladdr} {state}"),
        EventKind::NeighFailed { addr } | EventKind::NeighRemoved { addr } => format!(" {addr}"),
        EventKind::NodeExited { pid } => format!(" (init pid {pid})"),
        _ => String::new(),
    };
    format!("{} {at} {name}{details}", rfc3339(e.time))
}

/// RFC 3339 in UTC with milliseconds: `2026-12-03T09:10:11.123Z`. The civil date from days
/// since 1970 is Howard Hinnant's `civil_from_days`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_utc() {
        let at = |s: u64, ms: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        // `date -u -d @951782400`: a leap day of a century leap year.
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_767_225_599, 999), "2025-12-31T23:59:59.999Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn lines_for_people_and_machines() {
        let e = Event {
            time: UNIX_EPOCH,
            node: "r1".into(),
            iface: Some("eth1".into()),
            kind: EventKind::LinkDown,
        };
        assert_eq!(text_line(&e), "1970-01-01T00:00:00.000Z r1:eth1 link-down");
        let v: serde_json::Value = serde_json::from_str(&json_line("lab", &e)).unwrap();
        assert_eq!(v["event"], "link-down");
        assert_eq!(v["node"], "r1");
        assert_eq!(v["iface"], "eth1");
        let r = Event {
            kind: EventKind::RouteAdded {
                dst: "10.0.2.0/24".parse().unwrap(),
                via: vec![Hop {
                    via: Some("10.0.12.2".parse().unwrap()),
                    dev: "eth1".into(),
                }],
                protocol: "ospf".into(),
            },
            ..e
        };
        assert_eq!(
            text_line(&r),
            "1970-01-01T00:00:00.000Z r1 route-added 10.0.2.0/24 via 10.0.12.2 dev eth1 proto ospf"
        );
        let v: serde_json::Value = serde_json::from_str(&json_line("lab", &r)).unwrap();
        assert_eq!(v["protocol"], "ospf");
        assert_eq!(v["dst"], "10.0.2.0/24");
    }
}
