//! containerlab topology files as nsnet labs.
//!
//! containerlab reads `NAME.clab.yml` strictly (an unknown key is an error), expands
//! environment variables, and gives each node the values of its own definition, else of its
//! group, else of its kind (`topology.kinds`), else of `topology.defaults`; `exec`, `binds`,
//! `env` and `sysctls` are merged over those levels instead. Kinds `linux` (a container) and
//! `bridge` (a Linux bridge) become an nsnet router and switch; every other kind is a vendor
//! system nsnet cannot run, and is refused. Links are veth pairs, `mtu` 9500 unless given.

mod links;
mod node;

use crate::envsubst;
use crate::names::lab_name as valid_lab_name;
use crate::out::{Kind, LabOut, NodeOut};
use crate::pos::At;
use crate::yaml::{self, Node, V};
use crate::{Options, Source};
use nsnet_lab::model::suggest;
use nsnet_lab::{LabError, LabErrors};
use std::collections::{BTreeMap, BTreeSet};

/// Every key of a node definition (defaults, kinds, groups and nodes share them).
const NODE_KEYS: &[&str] = &[
    "aliases",
    "auto-remove",
    "binds",
    "cap-add",
    "certificate",
    "cgroup-parent",
    "cgroupns-mode",
    "cmd",
    "components",
    "config",
    "cpu",
    "cpu-set",
    "credentials",
    "devices",
    "dns",
    "enforce-startup-config",
    "entrypoint",
    "env",
    "env-files",
    "exec",
    "extras",
    "group",
    "healthcheck",
    "hostname",
    "image",
    "image-pull-policy",
    "kind",
    "labels",
    "license",
    "link-apply-mode",
    "memory",
    "mgmt-ipv4",
    "mgmt-ipv6",
    "network-mode",
    "pid-mode",
    "ports",
    "position",
    "privileged",
    "restart-policy",
    "runtime",
    "security-opts",
    "shm-size",
    "stages",
    "startup-config",
    "startup-delay",
    "suppress-startup-config",
    "sysctls",
    "tmpfs",
    "type",
    "user",
    "volumes",
];

/// Keys nsnet honours (the others get a note where they are written).
const HONOURED: &[&str] = &[
    "kind",
    "group",
    "image",
    "exec",
    "binds",
    "env",
    "sysctls",
    "cpu",
    "memory",
    "stages",
    "privileged",
    "network-mode",
];

/// Why a key is not honoured.
fn reason(key: &str) -> &'static str {
    match key {
        "type" | "startup-config" | "enforce-startup-config" | "suppress-startup-config"
        | "license" | "config" | "components" | "credentials" | "extras" => {
            "for vendor kinds: ignored for linux nodes, as containerlab does"
        }
        "startup-delay" => "not honoured: nodes start together (stages: wait-for orders them)",
        "auto-remove" | "restart-policy" => "not honoured: nsnet restarts no node",
        "image-pull-policy" => "nsnet pulls no images",
        "position" | "labels" => "metadata: ignored",
        "hostname" => "not honoured: a node's hostname is its name",
        "entrypoint" | "cmd" => {
            "not run: an nsnet node runs no image entrypoint (start it with exec, or give the image's services in the image map)"
        }
        "volumes" => "not honoured: nsnet has no container volumes (binds are)",
        "devices" => "not honoured: no host devices are passed into nodes",
        "cap-add" => "not needed: nsnet nodes keep every capability but 8 (privileged: true keeps those too)",
        "cgroupns-mode" | "cgroup-parent" | "pid-mode" | "runtime" | "security-opts" => {
            "container runtime setting: ignored"
        }
        "cpu-set" => "not honoured: nsnet limits a share of CPUs (cpu), not which ones",
        "shm-size" | "tmpfs" => "not honoured: a node's /dev/shm, /run and /tmp are its tmpfs (tmpfs_size)",
        "dns" => "not honoured: nodes use this machine's resolver configuration",
        "user" => "not honoured: a node's commands run as root",
        "aliases" | "mgmt-ipv4" | "mgmt-ipv6" => "not honoured: there is no management network",
        "healthcheck" => "not run: a node is healthy once its exec lines have run",
        "certificate" => "not honoured: nsnet makes no TLS certificates",
        "link-apply-mode" => "ignored: nsnet rebuilds a lab at up",
        "env-files" => "not read: give the variables under env",
        "ports" => "not honoured: nsnet publishes no ports of a node yet",
        _ => "not honoured",
    }
}

/// Brief endpoints' "nodes" that are the outside (`host:veth0`, `macvlan:eth0`).
const OUTSIDE_NODES: &[&str] = &["host", "mgmt-net", "macvlan"];

/// Kinds that are containerlab's own, not a vendor's.
const OWN_KINDS: &[&str] = &[
    "linux",
    "bridge",
    "ovs-bridge",
    "host",
    "ext-container",
    "k8s-kind",
];

/// The lab's name from its `name:`.
pub(crate) fn lab_name(src: &Source) -> Option<String> {
    let shown = src.file.display().to_string();
    let text = crate::read_small(&src.file, &shown).ok()?;
    let root = yaml::parse(&text, &shown).ok()?;
    let name = entries(&root)?
        .iter()
        .find(|(k, _)| k.key() == "name")
        .and_then(|(_, v)| match &v.v {
            V::Str(s) => Some(s.clone()),
            _ => None,
        })?;
    Some(valid_lab_name(&name, "clab"))
}

fn entries(n: &Node) -> Option<&[(Node, Node)]> {
    match &n.v {
        V::Map(items) => Some(items),
        V::Null => Some(&[]),
        _ => None,
    }
}

/// Every scalar of the tree with the environment's variables expanded.
fn expand_tree(n: &mut Node, env: &BTreeMap<String, String>) {
    match &mut n.v {
        V::Str(s) if s.contains('$') => *s = envsubst::expand(s, env),
        V::Seq(items) => items.iter_mut().for_each(|i| expand_tree(i, env)),
        V::Map(items) => items.iter_mut().for_each(|(k, v)| {
            expand_tree(k, env);
            expand_tree(v, env);
        }),
        _ => {}
    }
}

/// Convert the containerlab file at `src`: the lab, and its notes.
pub(crate) fn convert(src: &Source, opts: &Options) -> Result<(LabOut, Vec<String>), LabErrors> {
    let shown = src.file.display().to_string();
    let text = crate::read_small(&src.file, &shown)?;
    if let Some(at) = text.find("{{") {
        let (line, col) = crate::pos::line_col(&text, at);
        return Err(At::new(&shown, line, col)
            .error(
                "a Go template: containerlab renders this file with variables before reading it",
                "render it first (containerlab's --export-template / the rendered topology it saves), and convert that",
            )
            .into());
    }
    let mut root = yaml::parse(&text, &shown)?;
    expand_tree(&mut root, &opts.env);
    let mut c = Conv {
        file: shown,
        src,
        opts,
        notes: Vec::new(),
        errors: Vec::new(),
        refused: BTreeSet::new(),
        long: String::new(),
    };
    let lab = c.lab(&root);
    if !c.errors.is_empty() {
        return Err(LabErrors(c.errors));
    }
    Ok((lab, c.notes))
}

/// The converter's state: the file's name, what it found.
pub(super) struct Conv<'a> {
    pub file: String,
    pub src: &'a Source,
    pub opts: &'a Options,
    pub notes: Vec<String>,
    pub errors: Vec<LabError>,
    /// Nodes refused for their kind: links to them need no error of their own.
    pub refused: BTreeSet<String>,
    /// containerlab's long lab name (`clab-NAME`), for `__clabLabName__`.
    pub long: String,
}

/// A node definition's entries by key.
#[derive(Default, Clone, Copy)]
struct Def<'t> {
    items: &'t [(Node, Node)],
}

impl<'t> Def<'t> {
    fn get(&self, key: &str) -> Option<&'t Node> {
        self.items
            .iter()
            .find(|(k, _)| k.key() == key)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v.v, V::Null))
    }
}

/// The topology's levels, resolved per node as containerlab does.
struct Topo<'t> {
    defaults: Def<'t>,
    kinds: BTreeMap<String, Def<'t>>,
    groups: BTreeMap<String, Def<'t>>,
    /// In file order: (key node, definition).
    nodes: Vec<(&'t Node, Def<'t>)>,
}

impl<'a> Conv<'a> {
    pub fn at(&self, n: &Node) -> At {
        n.at(&self.file)
    }

    pub fn err(&mut self, n: &Node, message: impl Into<String>, hint: impl Into<String>) {
        let e = self.at(n).error(message, hint);
        self.errors.push(e);
    }

    pub fn note(&mut self, n: &Node, text: impl AsRef<str>) {
        let note = self.at(n).note(text);
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// A scalar's text, or an error.
    pub fn string(&mut self, n: &Node, what: &str) -> Option<String> {
        match &n.v {
            V::Str(s) => Some(s.clone()),
            _ => {
                self.err(n, format!("{what} is {}, not a value", n.what()), "");
                None
            }
        }
    }

    /// A list of scalars (nothing: empty), each with its node.
    pub fn strings<'t>(&mut self, n: &'t Node, what: &str) -> Vec<(String, &'t Node)> {
        match &n.v {
            V::Null => Vec::new(),
            V::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(i, what).map(|s| (s, i)))
                .collect(),
            _ => {
                self.err(
                    n,
                    format!("{what} is {}, not a list", n.what()),
                    "write a list: `- item` lines, or [a, b]",
                );
                Vec::new()
            }
        }
    }

    /// A map's entries (nothing: none).
    pub fn map<'t>(&mut self, n: &'t Node, what: &str) -> &'t [(Node, Node)] {
        match &n.v {
            V::Map(items) => items,
            V::Null => &[],
            _ => {
                self.err(
                    n,
                    format!("{what} is {}, not a map", n.what()),
                    "write `key: value` lines",
                );
                &[]
            }
        }
    }

    /// Keys of `items` must be among `known` (containerlab reads strictly).
    fn known_keys(&mut self, items: &[(Node, Node)], known: &[&str], what: &str) {
        for (k, _) in items {
            if !known.contains(&k.key()) {
                let hint = suggest(k.key(), known)
                    .unwrap_or_else(|| format!("the keys of {what} are: {}", known.join(", ")));
                self.err(k, format!("unknown key `{}` in {what}", k.key()), hint);
            }
        }
    }

    fn lab(&mut self, root: &Node) -> LabOut {
        let top = match &root.v {
            V::Map(items) => items.as_slice(),
            _ => {
                self.err(
                    root,
                    "a topology file is a map with `name` and `topology`",
                    "start it with `name: mylab` and `topology:`",
                );
                return LabOut::default();
            }
        };
        self.known_keys(
            top,
            &["name", "prefix", "mgmt", "settings", "topology", "debug"],
            "the topology file",
        );
        let get = |k: &str| top.iter().find(|(key, _)| key.key() == k);
        let name = match get("name") {
            Some((_, v)) => self.string(v, "name").unwrap_or_default(),
            None => {
                self.err(
                    root,
                    "the topology has no name",
                    "add `name: mylab` at the top",
                );
                String::new()
            }
        };
        let lab_name = valid_lab_name(&name, "clab");
        self.long = format!("clab-{name}");
        if !name.is_empty() && lab_name != name {
            if let Some((k, _)) = get("name") {
                self.note(
                    k,
                    format!("name `{name}` is no nsnet lab name (1-12 of a-z, 0-9, -): the lab is {lab_name}"),
                );
            }
        }
        for key in ["prefix", "settings"] {
            if let Some((k, _)) = get(key) {
                self.note(k, format!("{key}: ignored (it names containers and certificates, which nsnet has none of)"));
            }
        }
        if let Some((k, _)) = get("mgmt") {
            self.note(k, "mgmt: there is no management network");
        }
        let Some((tk, tv)) = get("topology") else {
            self.err(
                root,
                "the topology file has no `topology`",
                "add `topology:` with `nodes:` and `links:`",
            );
            return LabOut::default();
        };
        let topo_items = self.map(tv, "topology");
        self.known_keys(
            topo_items,
            &["nodes", "kinds", "defaults", "groups", "links"],
            "topology",
        );
        let tget = |k: &str| {
            topo_items
                .iter()
                .find(|(key, _)| key.key() == k)
                .map(|(_, v)| v)
        };
        let defs = |c: &mut Self, k: &str| -> BTreeMap<String, Def> {
            tget(k).map_or_else(BTreeMap::new, |v| {
                c.map(v, k)
                    .iter()
                    .map(|(name, d)| (name.key().to_string(), Def { items: c.map(d, k) }))
                    .collect()
            })
        };
        let kinds = defs(self, "kinds");
        let groups = defs(self, "groups");
        let defaults = Def {
            items: tget("defaults").map_or(&[][..], |d| self.map(d, "defaults")),
        };
        let nodes: Vec<(&Node, Def)> = match tget("nodes") {
            Some(v) => self
                .map(v, "nodes")
                .iter()
                .map(|(k, d)| {
                    (
                        k,
                        Def {
                            items: self.map(d, "a node"),
                        },
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        if nodes.is_empty() {
            self.err(
                tk,
                "the topology has no nodes",
                "add nodes under topology.nodes",
            );
        }
        for d in std::iter::once(&defaults)
            .chain(kinds.values())
            .chain(groups.values())
            .chain(nodes.iter().map(|(_, d)| d))
        {
            self.known_keys(d.items, NODE_KEYS, "a node definition");
        }
        let topo = Topo {
            defaults,
            kinds,
            groups,
            nodes,
        };
        let mut out_nodes = self.nodes(&topo);
        let links = match tget("links") {
            Some(l) => self.links(l, &mut out_nodes),
            None => Vec::new(),
        };
        self.unhonoured(&topo, &out_nodes);
        crate::pos::sort_notes(&mut self.notes);
        let lab_notes = self.notes.clone();
        let mut header = vec![
            format!(
                "Converted by `nsnet convert` from the containerlab topology {} (name: {name}) as lab {lab_name}.",
                self.src.file.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned())
            ),
            String::new(),
            "As containerlab runs it: linux nodes forward (kind = \"router\": Docker turns forwarding\n\
             on) with IPv6 on; bridge nodes are switches (of their own: not this machine's\n\
             bridges); links are veth pairs with the interface names, MACs and MTU (9500 unless\n\
             given) of the file, addresses where ipv4/ipv6 give them; a node's exec lines run in\n\
             order once the lab is up; stages' wait-for on another node's configure or healthy\n\
             stage is `after`."
                .to_string(),
        ];
        if !lab_notes.is_empty() {
            header.push(String::new());
            header.push("Not honoured, or not as containerlab does:".to_string());
            for n in &lab_notes {
                header.push(format!("- {n}"));
            }
        }
        LabOut {
            header,
            name: lab_name,
            lab_keys: vec![
                (
                    "routing",
                    "\"none\"".into(),
                    "containerlab routes nothing: the nodes do",
                ),
                (
                    "pool",
                    "\"none\"".into(),
                    "no addresses but those the file gives",
                ),
                (
                    "ssh",
                    "false".into(),
                    "no sshd of nsnet's (a node may run its own)",
                ),
            ],
            nodes: out_nodes,
            links,
        }
    }

    /// The node's kind and group, as containerlab looks them up.
    fn kind_and_group<'t>(&mut self, topo: &Topo<'t>, def: &Def<'t>) -> (Option<&'t Node>, String) {
        let defaults_group = topo.defaults.get("group");
        let group_of = |d: Option<&'t Node>| match d.map(|g| &g.v) {
            Some(V::Str(g)) => topo.groups.get(g).copied(),
            _ => None,
        };
        let kind = def
            .get("kind")
            .or_else(|| group_of(def.get("group")).and_then(|g| g.get("kind")))
            .or_else(|| group_of(defaults_group).and_then(|g| g.get("kind")))
            .or_else(|| topo.defaults.get("kind"));
        let kind_name = match kind.map(|k| &k.v) {
            Some(V::Str(k)) => k.clone(),
            _ => String::new(),
        };
        let group = def
            .get("group")
            .or_else(|| topo.kinds.get(&kind_name).and_then(|k| k.get("group")))
            .or(defaults_group);
        let group = match group.map(|g| &g.v) {
            Some(V::Str(g)) => g.clone(),
            _ => String::new(),
        };
        (kind, group)
    }

    /// Each node's levels, most specific first: itself, its group, its kind, the defaults.
    fn levels<'t>(&self, topo: &Topo<'t>, def: Def<'t>, kind: &str, group: &str) -> Vec<Def<'t>> {
        let mut l = vec![def];
        if let Some(g) = topo.groups.get(group) {
            l.push(*g);
        }
        if let Some(k) = topo.kinds.get(kind) {
            l.push(*k);
        }
        l.push(topo.defaults);
        l
    }

    fn nodes(&mut self, topo: &Topo) -> Vec<NodeOut> {
        let names: BTreeSet<String> = topo
            .nodes
            .iter()
            .map(|(k, _)| k.key().to_string())
            .collect();
        let mut out = Vec::new();
        for (key, def) in &topo.nodes {
            let name = key.key().to_string();
            if let Err(why) = nsnet_lab::model::check_node_name(&name) {
                self.err(
                    key,
                    format!("node name `{name}` {} in nsnet", why.message),
                    "rename the node: 1-63 letters, digits, _ and -, starting with a letter or digit",
                );
                continue;
            }
            let (kind_node, group) = self.kind_and_group(topo, def);
            let Some(kind_node) = kind_node else {
                self.err(
                    key,
                    format!("node {name} has no kind"),
                    "give it `kind: linux` (or set defaults.kind)",
                );
                continue;
            };
            let Some(kind_name) = self.string(kind_node, "kind") else {
                continue;
            };
            let kind = match kind_name.as_str() {
                "linux" => Kind::Router,
                "bridge" => Kind::Switch,
                "ovs-bridge" => {
                    self.note(kind_node, format!("{name}: kind ovs-bridge is an nsnet switch (a Linux bridge of its own), not Open vSwitch"));
                    Kind::Switch
                }
                "host" | "ext-container" | "k8s-kind" => {
                    self.refused.insert(name.clone());
                    self.err(
                        kind_node,
                        format!(
                            "kind {kind_name} ({name}) reaches outside the lab, which nsnet cannot"
                        ),
                        "nsnet converts kinds linux and bridge: remove this node and its links",
                    );
                    continue;
                }
                other => {
                    self.refused.insert(name.clone());
                    let what = if OWN_KINDS.contains(&other) {
                        "a kind"
                    } else {
                        "a vendor system's kind"
                    };
                    self.err(
                        kind_node,
                        format!("kind {other} ({name}) is {what} nsnet cannot run: nsnet runs Linux nodes"),
                        "nsnet converts kinds linux and bridge: do the node's job with a linux node (FRR, BIRD …), or keep this lab on containerlab",
                    );
                    continue;
                }
            };
            let levels = self.levels(topo, *def, &kind_name, &group);
            let mut n = NodeOut {
                name: name.clone(),
                kind,
                ..Default::default()
            };
            if kind == Kind::Switch {
                for key in ["image", "exec", "binds", "env", "sysctls", "cpu", "memory"] {
                    if let Some(v) = def.get(key) {
                        self.note(
                            v,
                            format!("{name}: {key}: a bridge runs no software: ignored"),
                        );
                    }
                }
                out.push(n);
                continue;
            }
            n.ipv6 = Some(true);
            self.software(&mut n, &levels);
            self.wait_for(&mut n, &levels, &names);
            out.push(n);
        }
        out
    }
}

#[cfg(test)]
mod tests;
