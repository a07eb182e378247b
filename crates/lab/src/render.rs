//! Printing plans for people (text), and topologies for Graphviz (dot) and Mermaid.

use crate::limits::{DEFAULT_LOG_SIZE, DEFAULT_TMPFS_SIZE};
use crate::plan::Plan;
use crate::size::format_size;
use crate::values::{Kind, Word};
use std::fmt::Write;

/// The plan as `nsnet plan` prints it: nodes with their interfaces, addresses and routes.
pub fn text(plan: &Plan) -> String {
    let mut o = String::new();
    let routers = plan.nodes.iter().filter(|n| n.kind == Kind::Router).count();
    let switches = plan.nodes.iter().filter(|n| n.kind == Kind::Switch).count();
    let _ = writeln!(
        o,
        "lab {}: {} nodes ({} hosts, {routers} routers, {switches} switches), {} links, {} segments, routing {}{}",
        plan.lab,
        plan.nodes.len(),
        plan.nodes.len() - routers - switches,
        plan.links.len(),
        plan.segments.len(),
        plan.routing.word(),
        if plan.dual_stack { ", dual-stack" } else { "" },
    );
    if plan.log_size != DEFAULT_LOG_SIZE {
        let _ = writeln!(o, "log_size {}", format_size(plan.log_size));
    }
    let impaired: Vec<String> = plan
        .links
        .iter()
        .filter(|l| !l.impair.is_empty())
        .map(|l| format!("  {} -- {}: {}", l.a, l.b, l.impair))
        .collect();
    if !impaired.is_empty() {
        let _ = writeln!(o, "impaired links:\n{}", impaired.join("\n"));
    }
    for n in &plan.nodes {
        let _ = writeln!(o, "\n{} ({})", n.name, n.kind);
        if n.tmpfs_size != DEFAULT_TMPFS_SIZE {
            let _ = writeln!(o, "  tmpfs_size {}", format_size(n.tmpfs_size));
        }
        if n.privileged {
            let _ = writeln!(o, "  privileged");
        }
        if n.stp {
            let _ = writeln!(o, "  stp");
        }
        match &n.root {
            crate::values::Root::Host => {}
            crate::values::Root::Overlay => {
                let _ = writeln!(o, "  root overlay of the host's /");
            }
            crate::values::Root::Dir(d) => {
                let _ = writeln!(o, "  root {} (overlay)", d.display());
            }
            crate::values::Root::Image(i) => {
                let _ = writeln!(o, "  root image {} (overlay)", i.display());
            }
        }
        if let Some(t) = &n.tree {
            let _ = writeln!(o, "  tree {}", t.display());
        }
        let l = &n.limits;
        if let Some(m) = l.millicpu {
            let _ = writeln!(o, "  cpu {}", m as f64 / 1000.0);
        }
        if let Some(m) = l.memory {
            let _ = writeln!(o, "  memory {}", format_size(m));
        }
        if let Some(p) = l.pids {
            let _ = writeln!(o, "  pids {p}");
        }
        for p in &n.private {
            let mut extra = String::new();
            if let Some(m) = p.mode {
                extra.push_str(&format!(" mode {m:04o}"));
            }
            if let Some(u) = &p.owner {
                extra.push_str(&format!(" owner {u}"));
            }
            if let Some(g) = &p.group {
                extra.push_str(&format!(" group {g}"));
            }
            let _ = writeln!(o, "  private {}{extra}", p.path);
        }
        for f in &n.files {
            let _ = writeln!(o, "  file {} <- {}", f.path, f.source.display());
        }
        for b in &n.binds {
            let ro = if b.read_only { " (read-only)" } else { "" };
            let _ = writeln!(o, "  bind {} <- {}{ro}", b.path, b.source.display());
        }
        for (k, v) in &n.env {
            let _ = writeln!(o, "  env {k}={v}");
        }
        if !n.after.is_empty() {
            let _ = writeln!(o, "  after {}", n.after.join(" "));
        }
        for s in &n.services {
            let _ = writeln!(o, "  service {s}");
        }
        if let Some(b) = &n.bridge {
            let ports: Vec<&str> = n.interfaces.iter().map(|i| i.name.as_str()).collect();
            let _ = writeln!(o, "  bridge {b}: {}", ports.join(" "));
        }
        if !n.loopback.is_empty() {
            let addrs: Vec<String> = n.loopback.iter().map(|a| a.to_string()).collect();
            let _ = writeln!(o, "  {:<6} {}", "lo", addrs.join(" "));
        }
        for i in &n.interfaces {
            let addrs: Vec<String> = i.addrs.iter().map(|a| a.to_string()).collect();
            let mtu = i.mtu.map(|m| format!(" mtu {m}")).unwrap_or_default();
            let _ = writeln!(
                o,
                "  {:<6} {} {:<20} -> {}{mtu}",
                i.name,
                i.mac,
                if addrs.is_empty() {
                    "-".to_string()
                } else {
                    addrs.join(" ")
                },
                i.peer,
            );
        }
        if let Some(h) = &n.host_link {
            let what = if h.nat {
                "uplink: the host masquerades it, forwarding on"
            } else {
                "management"
            };
            let _ = writeln!(
                o,
                "  {:<6} {:<38} -> host {} {} ({what})",
                h.iface, h.addr, h.host_iface, h.host_addr
            );
        }
        for h in &n.host_ifaces {
            let addrs: Vec<String> = h.addrs.iter().map(|a| a.to_string()).collect();
            let _ = writeln!(
                o,
                "  {:<6} {:<38} <- {}host interface {}{}",
                h.name,
                if addrs.is_empty() {
                    "-".to_string()
                } else {
                    addrs.join(" ")
                },
                if h.macvlan { "a macvlan on " } else { "" },
                h.host,
                if h.force { " (forced)" } else { "" }
            );
        }
        for p in &n.ports {
            let _ = writeln!(o, "  port {p} (relayed from the host)");
        }
        for r in &n.routes {
            let _ = writeln!(o, "  route {r}");
        }
        if let Some(fw) = &n.firewall {
            let _ = writeln!(
                o,
                "  firewall: input {}, forward {}, output {}",
                fw.input, fw.forward, fw.output
            );
            for r in &fw.rules {
                let _ = writeln!(o, "    {:<11} {r}", r.chain.to_string());
            }
        }
        for s in &n.sysctls {
            let _ = writeln!(o, "  sysctl {}={}", s.key, s.value);
        }
        for e in &n.exec {
            let _ = writeln!(o, "  exec {e}");
        }
    }
    o
}

fn shape(k: Kind) -> &'static str {
    match k {
        Kind::Host => "box",
        Kind::Router => "ellipse",
        Kind::Switch => "diamond",
    }
}

fn subnet_label(plan: &Plan, seg: usize) -> String {
    let s = &plan.segments[seg];
    [s.subnet4, s.subnet6]
        .iter()
        .flatten()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("\\n")
}

/// Graphviz dot: nodes shaped by kind, edges labelled with interfaces and subnets.
pub fn dot(plan: &Plan) -> String {
    let mut o = format!(
        "graph \"{}\" {{\n  node [fontname=\"monospace\"];\n",
        plan.lab
    );
    for n in &plan.nodes {
        let _ = writeln!(o, "  \"{}\" [shape={}];", n.name, shape(n.kind));
    }
    for l in &plan.links {
        let _ = writeln!(
            o,
            "  \"{}\" -- \"{}\" [taillabel=\"{}\", headlabel=\"{}\", label=\"{}\"];",
            l.a.node,
            l.b.node,
            l.a.iface,
            l.b.iface,
            subnet_label(plan, l.segment)
        );
    }
    o.push_str("}\n");
    o
}

/// Mermaid flowchart: routers round, switches as rhombi, hosts as boxes.
pub fn mermaid(plan: &Plan) -> String {
    let mut o = String::from("graph LR\n");
    for n in &plan.nodes {
        let (l, r) = match n.kind {
            Kind::Host => ("[", "]"),
            Kind::Router => ("((", "))"),
            Kind::Switch => ("{", "}"),
        };
        let _ = writeln!(o, "  {}{l}{}{r}", mermaid_id(&n.name), n.name);
    }
    for l in &plan.links {
        let label = subnet_label(plan, l.segment).replace("\\n", " ");
        let _ = writeln!(
            o,
            "  {} ---|\"{}:{} {}\"| {}",
            mermaid_id(&l.a.node),
            l.a.iface,
            l.b.iface,
            label,
            mermaid_id(&l.b.node)
        );
    }
    o
}

/// Mermaid ids cannot hold `-`, and some words are reserved (`end`).
fn mermaid_id(name: &str) -> String {
    format!("n_{}", name.replace('-', "_"))
}
