//! Printing plans for people (text), and topologies for Graphviz (dot) and Mermaid.

use crate::plan::{Kind, Plan};
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
        match plan.routing {
            crate::plan::Routing::Static => "static",
            crate::plan::Routing::None => "none",
        },
        if plan.dual_stack { ", dual-stack" } else { "" },
    );
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
        if let Some(b) = &n.bridge {
            let ports: Vec<&str> = n.interfaces.iter().map(|i| i.name.as_str()).collect();
            let _ = writeln!(o, "  bridge {b}: {}", ports.join(" "));
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
