//! A linux node's software from its levels: root (the image map), commands, binds,
//! environment, sysctls and limits merged as containerlab merges them; `stages: wait-for` as
//! `after`; and a note for each key nsnet does not honour, where it is written.

use super::{reason, Conv, Def, Topo, HONOURED, NODE_KEYS};
use crate::out::{Kind, Line, NodeOut};
use crate::yaml::{Node, V};
use nsnet_lab::model::suggest;
use std::collections::{BTreeMap, BTreeSet};

impl Conv<'_> {
    /// A linux node's root, commands, binds, environment, sysctls and limits.
    pub(super) fn software(&mut self, n: &mut NodeOut, levels: &[Def]) {
        let first = |key: &str| levels.iter().find_map(|d| d.get(key));
        // The image: its stand-in from the map, else this machine's software.
        let image = first("image").and_then(|i| self.string(i, "image"));
        let entry = image.as_deref().and_then(|i| self.opts.images.get(i));
        match entry {
            Some(r) => {
                n.root = Some(r.root.clone());
                n.services = r.services.clone();
                let image = image.clone().unwrap_or_default();
                for e in &r.exec {
                    n.exec.push(Line::new(
                        e.clone(),
                        Some(format!("what image {image} starts (the image map)")),
                    ));
                }
            }
            None => {
                n.root = Some("overlay".to_string());
                let image = image.unwrap_or_else(|| "(none)".to_string());
                let map = self.opts.images.file.as_ref().map_or_else(
                    || crate::images::DEFAULT_FILE.to_string(),
                    |f| f.display().to_string(),
                );
                let note = format!(
                    "image {image}: no root in the image map ({map}): its nodes run this machine's own software, copy-on-write (root = \"overlay\"), and the image's entrypoint is not run",
                );
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
        }
        if let Some(p) = first("privileged") {
            if let Some(v) = self.string(p, "privileged") {
                match v.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" => n.privileged = true,
                    "false" | "no" | "off" => {}
                    _ => self.err(p, format!("privileged is `{v}`, not true or false"), ""),
                }
            }
        }
        if let Some(m) = first("network-mode") {
            if let Some(v) = self.string(m, "network-mode") {
                if v != "none" && v != "bridge" {
                    self.err(
                        m,
                        format!(
                            "{}: network-mode {v} shares another namespace, which nsnet cannot",
                            n.name
                        ),
                        "remove network-mode: every nsnet node has a network of its own",
                    );
                }
            }
        }
        if let Some(c) = first("cpu") {
            if let Some(v) = self.string(c, "cpu") {
                match v.parse::<f64>() {
                    Ok(x) if x > 0.0 && x.is_finite() => n.cpu = Some(x),
                    Ok(_) => {}
                    Err(_) => self.err(
                        c,
                        format!("cpu `{v}` is not a number of CPUs"),
                        "e.g. cpu: 1.5",
                    ),
                }
            }
        }
        if let Some(m) = first("memory") {
            if let Some(v) = self.string(m, "memory") {
                match memory(&v) {
                    Some(bytes) if bytes >= 4 << 20 => {
                        n.memory = Some(nsnet_lab::size::format_size(bytes))
                    }
                    Some(_) => self.err(
                        m,
                        format!("memory {v} is below 4 MiB, too little for a node"),
                        "give at least 4MiB",
                    ),
                    None => self.err(
                        m,
                        format!("`{v}` is not a memory size"),
                        "a number with b, kb, kib, mb, mib, gb or gib, e.g. 1GiB",
                    ),
                }
            }
        }
        // Merged over the levels, the least specific first, as containerlab merges them.
        let mut exec: Vec<String> = Vec::new();
        let mut binds: Vec<(String, &Node)> = Vec::new();
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let mut sysctls: BTreeMap<String, (String, &Node)> = BTreeMap::new();
        for d in levels.iter().rev() {
            if let Some(e) = d.get("exec") {
                for (line, at) in self.strings(e, "exec") {
                    let line = self.magic(&line, &n.name, at, "exec");
                    if !exec.contains(&line) {
                        exec.push(line);
                    }
                }
            }
            if let Some(b) = d.get("binds") {
                binds.extend(self.strings(b, "binds"));
            }
            if let Some(e) = d.get("env") {
                for (k, v) in self.map(e, "env") {
                    let val = match &v.v {
                        V::Null => String::new(),
                        _ => self.string(v, "an env value").unwrap_or_default(),
                    };
                    if k.key() == "__IMPORT_ENVS" {
                        if val == "true" {
                            env.extend(self.opts.env.clone());
                        }
                        continue;
                    }
                    env.insert(k.key().to_string(), self.magic(&val, &n.name, v, "env"));
                }
            }
            if let Some(s) = d.get("sysctls") {
                for (k, v) in self.map(s, "sysctls") {
                    let val = self.string(v, "a sysctl value").unwrap_or_default();
                    sysctls.insert(k.key().to_string(), (val, k));
                }
            }
        }
        n.exec.extend(exec.into_iter().map(|l| Line::new(l, None)));
        n.binds = self.binds(&n.name, binds);
        n.env = env.into_iter().collect();
        for (k, (v, at)) in sysctls {
            if k.starts_with("net.") {
                n.sysctl.push((k, v));
            } else {
                self.note(at, format!("sysctl {k}: not set: only net.* sysctls belong to a node (the others are this machine's)"));
            }
        }
    }

    /// `__clabNodeName__` and `__clabLabName__` replaced; the directories containerlab makes
    /// for a lab have no counterpart (a note).
    fn magic(&mut self, s: &str, node: &str, at: &Node, what: &str) -> String {
        let out = s
            .replace("__clabNodeName__", node)
            .replace("__clabLabName__", &self.long);
        if out.contains("__clabNodeDir__") || out.contains("__clabDir__") {
            self.note(at, format!("{what} uses containerlab's lab directory (__clabDir__, __clabNodeDir__), which nsnet does not make: dropped from {node}"));
        }
        out
    }

    /// `binds`: deduplicated by target (the most specific level wins), sorted, as
    /// containerlab does; options other than ro/rw noted.
    fn binds(&mut self, node: &str, list: Vec<(String, &Node)>) -> Vec<String> {
        let mut by_target: BTreeMap<String, String> = BTreeMap::new();
        for (b, at) in list {
            let b = self.magic(&b, node, at, "binds");
            if b.contains("__clabNodeDir__") || b.contains("__clabDir__") {
                continue;
            }
            let parts: Vec<&str> = b.split(':').collect();
            let (src, dst, opts) = match parts.as_slice() {
                [s, d] => (*s, *d, ""),
                [s, d, o] => (*s, *d, *o),
                _ => {
                    self.err(
                        at,
                        format!("`{b}` is not a bind"),
                        "write HOST_PATH:NODE_PATH or HOST_PATH:NODE_PATH:ro",
                    );
                    continue;
                }
            };
            let mut ro = false;
            for o in opts.split(',').filter(|o| !o.is_empty()) {
                match o {
                    "ro" => ro = true,
                    "rw" => {}
                    other => self.note(
                        at,
                        format!("bind option {other}: ignored (nsnet binds are ro or rw)"),
                    ),
                }
            }
            let src = match src.strip_prefix('~') {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    match self.opts.env.get("HOME") {
                        Some(home) => format!("{home}{rest}"),
                        None => {
                            self.err(
                                at,
                                "a bind from ~ with no HOME to expand it to",
                                "write the full path",
                            );
                            continue;
                        }
                    }
                }
                _ => src.to_string(),
            };
            let suffix = if ro { ":ro" } else { "" };
            by_target.insert(dst.to_string(), format!("{src}:{dst}{suffix}"));
        }
        let mut out: Vec<String> = by_target.into_values().collect();
        out.sort();
        out
    }

    /// `stages: … wait-for:` as `after`, where nsnet can say it.
    pub(super) fn wait_for(&mut self, n: &mut NodeOut, levels: &[Def], names: &BTreeSet<String>) {
        const STAGES: &[&str] = &["create", "create-links", "configure", "healthy", "exit"];
        for d in levels.iter().rev() {
            let Some(stages) = d.get("stages") else {
                continue;
            };
            for (stage, body) in self.map(stages, "stages") {
                if !STAGES.contains(&stage.key()) {
                    let hint = suggest(stage.key(), STAGES)
                        .unwrap_or_else(|| format!("the stages are {}", STAGES.join(", ")));
                    self.err(stage, format!("unknown stage `{}`", stage.key()), hint);
                    continue;
                }
                let items = self.map(body, "a stage");
                self.known_keys(items, &["wait-for", "exec"], "a stage");
                for (k, v) in items {
                    if k.key() == "exec" {
                        self.note(k, format!("stages.{}.exec: not run (nsnet runs a node's commands once, after up: move them to exec)", stage.key()));
                        continue;
                    }
                    if k.key() != "wait-for" {
                        continue;
                    }
                    let V::Seq(list) = &v.v else {
                        self.err(v, "wait-for is a list of { node, stage }", "");
                        continue;
                    };
                    for w in list {
                        let items = self.map(w, "a wait-for entry");
                        self.known_keys(items, &["node", "stage"], "a wait-for entry");
                        let field =
                            |f: &str| items.iter().find(|(k, _)| k.key() == f).map(|(_, v)| v);
                        let Some(other) = field("node").and_then(|x| self.string(x, "node")) else {
                            self.err(w, "a wait-for entry names no node", "write - node: NAME");
                            continue;
                        };
                        let their = field("stage")
                            .and_then(|x| self.string(x, "stage"))
                            .unwrap_or_else(|| "create".into());
                        if !names.contains(&other) {
                            let all: Vec<&str> = names.iter().map(String::as_str).collect();
                            self.err(
                                w,
                                format!("wait-for: no node {other}"),
                                suggest(&other, &all).unwrap_or_default(),
                            );
                            continue;
                        }
                        if other == n.name {
                            self.err(
                                w,
                                format!("{} waits for itself", n.name),
                                "remove the entry",
                            );
                            continue;
                        }
                        match their.as_str() {
                            // Every node is created and wired before any runs a command.
                            "create" | "create-links" => {}
                            "configure" | "healthy" => {
                                if their == "healthy" {
                                    self.note(w, format!("wait-for {other} healthy: nsnet has no health checks: this waits for {other}'s commands to finish"));
                                }
                                if !n.after.contains(&other) {
                                    n.after.push(other);
                                }
                            }
                            "exit" => self.note(w, format!("wait-for {other} exit: not honoured")),
                            bad => self.err(
                                w,
                                format!("unknown stage `{bad}`"),
                                format!("the stages are {}", STAGES.join(", ")),
                            ),
                        }
                    }
                }
            }
        }
    }

    /// A note for each key that nsnet does not honour, where it is written: on the nodes,
    /// and on the groups, kinds and defaults that linux nodes use.
    pub(super) fn unhonoured(&mut self, topo: &Topo, out: &[NodeOut]) {
        let linux: BTreeSet<&str> = out
            .iter()
            .filter(|n| n.kind != Kind::Switch)
            .map(|n| n.name.as_str())
            .collect();
        let mut defs: Vec<(String, Def)> = Vec::new();
        let mut kinds_used = BTreeSet::new();
        let mut groups_used = BTreeSet::new();
        for (key, def) in &topo.nodes {
            if !linux.contains(key.key()) {
                continue;
            }
            let (kind, group) = self.kind_and_group(topo, def);
            if let Some(V::Str(k)) = kind.map(|k| &k.v) {
                kinds_used.insert(k.clone());
            }
            groups_used.insert(group);
            defs.push((key.key().to_string(), *def));
        }
        if !linux.is_empty() {
            defs.push(("defaults".to_string(), topo.defaults));
        }
        for k in kinds_used {
            if let Some(d) = topo.kinds.get(&k) {
                defs.push((format!("kinds.{k}"), *d));
            }
        }
        for g in groups_used {
            if let Some(d) = topo.groups.get(&g) {
                defs.push((format!("groups.{g}"), *d));
            }
        }
        for (who, def) in defs {
            for (k, _) in def.items {
                if NODE_KEYS.contains(&k.key()) && !HONOURED.contains(&k.key()) {
                    self.note(k, format!("{who}: {}: {}", k.key(), reason(k.key())));
                }
            }
        }
        if !linux.is_empty() {
            self.notes.push(
                "containerlab's management network (eth0 of every node on 172.20.20.0/24, NATed to the outside) is not built: nodes have no eth0 and no way out of the lab"
                    .to_string(),
            );
        }
    }
}

/// A memory size as containerlab reads it (go-humanize): `1GiB`, `512mb`, `1.5 GB`, bytes.
pub(super) fn memory(v: &str) -> Option<u64> {
    let t = v.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (&t[..end], t[end..].trim().to_ascii_lowercase());
    let num: f64 = num.parse().ok()?;
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" | "ki" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" | "mi" => 1048576.0,
        "g" | "gb" => 1e9,
        "gib" | "gi" => 1073741824.0,
        "t" | "tb" => 1e12,
        "tib" | "ti" => 1099511627776.0,
        _ => return None,
    };
    let bytes = num * mult;
    (0.0..1.8e19).contains(&bytes).then_some(bytes as u64)
}
