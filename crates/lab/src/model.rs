//! The validated lab: the file's structs resolved into names that exist, kinds that are known,
//! interface names filled in, values parsed, each with the place it came from. Errors found
//! here point at the offending value; errors that need the whole network (addresses, routes)
//! are found by the planner, with the same spans.

use crate::cidr::Cidr;
use crate::error::{LabError, LabErrors, Source};
use crate::plan::{FileCopy, Kind, Routing, Sysctl};
use crate::spec::{self, FileSpec, S};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A link's two ends (node, explicit interface name, span) with its spec.
type ParsedLink = ([(usize, Option<String>, usize); 2], S<spec::LinkSpec>);

pub const DEFAULT_POOL: &str = "10.0.0.0/16";
/// The bridge inside a switch's netns that all its ports join.
pub const BRIDGE_NAME: &str = "br0";

#[derive(Debug, Clone)]
pub struct Lab {
    pub name: String,
    /// The lab file, absolute, when read from disk.
    pub file: Option<PathBuf>,
    pub pool: Cidr,
    pub pool6: Option<Cidr>,
    pub routing: Routing,
    /// Summarize routers' computed routes within the pools.
    pub summarize: bool,
    pub ssh: bool,
    /// Sorted by name.
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    pub(crate) src: Source,
    /// Where `pool` / `pool6` were written (or the [lab] table, or 0).
    pub(crate) pool_at: usize,
    pub(crate) pool6_at: usize,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub kind: Kind,
    pub ssh: bool,
    pub exec: Vec<String>,
    pub sysctls: Vec<Sysctl>,
    pub files: Vec<FileCopy>,
    pub private: Vec<String>,
    pub routes: Vec<StaticRoute>,
    pub gateway: Option<(IpAddr, usize)>,
    pub firewall: Option<crate::firewall::Firewall>,
}

#[derive(Debug, Clone)]
pub struct StaticRoute {
    pub to: Cidr,
    pub via: IpAddr,
    pub(crate) at: usize,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub ends: [End; 2],
    pub subnet: Option<(Cidr, usize)>,
    /// One per non-switch endpoint, in endpoint order: (end index, address, span).
    pub addresses: Vec<(usize, Cidr, usize)>,
    pub mtu: Option<u32>,
    pub cost: u32,
    /// Rate limit, delay, jitter, loss (each direction).
    pub impair: crate::impair::Impair,
}

#[derive(Debug, Clone)]
pub struct End {
    /// Index into `Lab::nodes`.
    pub node: usize,
    pub iface: String,
}

impl Lab {
    /// Read and validate a lab file.
    pub fn load(path: &Path) -> Result<Lab, LabErrors> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LabError {
            file: shown.clone(),
            line: 0,
            col: 0,
            message: format!("cannot read the lab file: {e}"),
            hint: None,
        })?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let dir = abs.parent().map(Path::to_path_buf);
        let mut lab = Lab::from_toml(&text, &shown, stem.as_deref(), dir.as_deref())?;
        lab.file = Some(abs);
        Ok(lab)
    }

    /// Validate lab-file text. `file` names it in errors, `stem` is the default lab name and
    /// `dir` is where `files` sources are looked up (None: not checked).
    pub fn from_toml(
        text: &str,
        file: &str,
        stem: Option<&str>,
        dir: Option<&Path>,
    ) -> Result<Lab, LabErrors> {
        let src = Source::new(file, text);
        let spec: FileSpec = toml::from_str(text).map_err(|e| toml_error(&src, &e))?;
        Resolver {
            src,
            errors: Vec::new(),
        }
        .resolve(spec, stem, dir)
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
    }
}

struct Resolver {
    src: Source,
    errors: Vec<LabError>,
}

impl Resolver {
    fn err(&mut self, at: usize, msg: impl Into<String>, hint: impl Into<Option<String>>) {
        let e = self.src.error(at, msg, hint.into());
        self.errors.push(e);
    }

    fn resolve(
        mut self,
        spec: FileSpec,
        stem: Option<&str>,
        dir: Option<&Path>,
    ) -> Result<Lab, LabErrors> {
        let lab_at = spec.lab.as_ref().map_or(0, |l| l.span().start);
        let lab = spec.lab.map(S::into_inner).unwrap_or_default();

        let name = match &lab.name {
            Some(n) => {
                if let Err(why) = check_name(n.get_ref(), 12) {
                    self.err(
                        n.span().start,
                        format!("lab name `{}` {why}", n.get_ref()),
                        "use 1-12 characters of a-z, 0-9 and -, starting with a letter".to_string(),
                    );
                }
                n.get_ref().clone()
            }
            None => {
                let stem = stem.unwrap_or("lab");
                if check_name(stem, 12).is_err() {
                    self.err(
                        lab_at,
                        format!("the file name `{stem}` is not a valid lab name, and [lab] sets none"),
                        "set `name` under [lab]: 1-12 characters of a-z, 0-9 and -, starting with a letter".to_string(),
                    );
                }
                stem.to_string()
            }
        };

        let (pool, pool_at) = match &lab.pool {
            Some(p) => (
                self.network(p, true, "pool").unwrap_or_else(default_pool),
                p.span().start,
            ),
            None => (default_pool(), lab_at),
        };
        let (pool6, pool6_at) = match &lab.pool6 {
            Some(p) => (self.network(p, false, "pool6"), p.span().start),
            None => (None, lab_at),
        };
        let routing = match &lab.routing {
            None => Routing::Static,
            Some(r) => match r.get_ref().as_str() {
                "static" => Routing::Static,
                "none" => Routing::None,
                other => {
                    self.err(
                        r.span().start,
                        format!("unknown routing `{other}`"),
                        suggest(other, &["static", "none"]).or(Some(
                            "use \"static\" (nsnet installs shortest-path routes) or \"none\" (routing daemons do it)".into(),
                        )),
                    );
                    Routing::Static
                }
            },
        };
        let ssh = lab.ssh.is_none_or(|s| *s.get_ref());
        let summarize = lab.summarize.as_ref().is_some_and(|s| *s.get_ref());

        // Nodes, sorted by name (BTreeMap order).
        let nodes_spec = match spec.nodes {
            Some(n) if !n.get_ref().is_empty() => n.into_inner(),
            other => {
                let at = other.map_or(self.src.text().len(), |n| n.span().start);
                self.err(
                    at,
                    "the lab has no nodes",
                    "add nodes, e.g.\n  [nodes]\n  h1 = {}\n  h2 = {}".to_string(),
                );
                return Err(LabErrors(self.errors));
            }
        };
        let mut nodes = Vec::with_capacity(nodes_spec.len());
        let mut firewalls = Vec::with_capacity(nodes_spec.len());
        for (name, mut ns) in nodes_spec {
            firewalls.push(ns.get_mut().firewall.take());
            let node = self.node(name, ns, ssh, dir);
            nodes.push(node);
        }
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();

        let links = self.links(spec.links, &nodes, &index, &names);
        crate::firewall::resolve(&self.src, &mut self.errors, &mut nodes, &links, firewalls);

        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| (e.line, e.col));
            return Err(LabErrors(self.errors));
        }
        Ok(Lab {
            name,
            file: None,
            pool,
            pool6,
            routing,
            summarize,
            ssh,
            nodes,
            links,
            src: self.src,
            pool_at,
            pool6_at,
        })
    }

    /// Parse a network (host bits clear) of the given family.
    fn network(&mut self, s: &S<String>, v4: bool, what: &str) -> Option<Cidr> {
        let at = s.span().start;
        let c = self.cidr(s)?;
        let fam = if v4 { "IPv4" } else { "IPv6" };
        if c.is_v4() != v4 {
            self.err(
                at,
                format!("`{what}` must be an {fam} network, not {c}"),
                None,
            );
            return None;
        }
        if !c.is_network() {
            self.err(
                at,
                format!("`{c}` has host bits set"),
                format!("write the network address: {}", c.network()),
            );
            return None;
        }
        Some(c)
    }

    fn cidr(&mut self, s: &S<String>) -> Option<Cidr> {
        match s.get_ref().parse::<Cidr>() {
            Ok(c) => Some(c),
            Err(e) => {
                self.err(s.span().start, format!("malformed CIDR: {e}"), None);
                None
            }
        }
    }

    fn ip(&mut self, s: &S<String>, what: &str) -> Option<IpAddr> {
        match s.get_ref().parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.err(
                    s.span().start,
                    format!("{what} `{}` is not an IP address", s.get_ref()),
                    "write a plain IPv4 or IPv6 address, e.g. 10.0.1.1 (no prefix length)"
                        .to_string(),
                );
                None
            }
        }
    }

    fn node(
        &mut self,
        name: S<String>,
        ns: S<spec::NodeSpec>,
        lab_ssh: bool,
        dir: Option<&Path>,
    ) -> Node {
        let at = name.span().start;
        let name = name.into_inner();
        if let Err(why) = check_name(&name, 15) {
            self.err(
                at,
                format!("node name `{name}` {why}"),
                "use 1-15 characters of a-z, 0-9 and -, starting with a letter".to_string(),
            );
        }
        let ns = ns.into_inner();
        let kind = match &ns.kind {
            None => Kind::Host,
            Some(k) => match k.get_ref().as_str() {
                "host" => Kind::Host,
                "router" => Kind::Router,
                "switch" => Kind::Switch,
                other => {
                    self.err(
                        k.span().start,
                        format!("unknown kind `{other}` for node {name}"),
                        suggest(other, &["host", "router", "switch"])
                            .or(Some("use \"host\", \"router\" or \"switch\"".into())),
                    );
                    Kind::Host
                }
            },
        };
        let mut exec = Vec::new();
        for e in &ns.exec {
            if e.get_ref().trim().is_empty() {
                self.err(
                    e.span().start,
                    "an empty `exec` command",
                    "remove it".to_string(),
                );
            }
            exec.push(e.get_ref().clone());
        }
        let mut sysctls = Vec::new();
        for (k, v) in &ns.sysctl {
            let key = k.get_ref();
            if !key.starts_with("net.") {
                self.err(
                    k.span().start,
                    format!("sysctl `{key}` is not per-network-namespace: setting it would change the host"),
                    "only net.* sysctls can be set for a node".to_string(),
                );
            } else if key.is_empty()
                || key.contains("..")
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                self.err(
                    k.span().start,
                    format!("`{key}` is not a sysctl name"),
                    "write it dotted, e.g. net.ipv4.tcp_syncookies".to_string(),
                );
            }
            let value = v.get_ref().render();
            if value.contains('\n') {
                self.err(v.span().start, "a sysctl value cannot span lines", None);
            }
            sysctls.push(Sysctl {
                key: key.clone(),
                value,
            });
        }
        let mut files = Vec::new();
        for (target, source) in &ns.files {
            if let Some(path) = self.abs_path(target, "file path in the node") {
                let src_rel = Path::new(source.get_ref());
                let source_path = match dir {
                    Some(d) => d.join(src_rel),
                    None => src_rel.to_path_buf(),
                };
                if dir.is_some() && !source_path.is_file() {
                    self.err(
                        source.span().start,
                        format!(
                            "`files` source `{}` does not exist ({})",
                            source.get_ref(),
                            source_path.display()
                        ),
                        "the source path is relative to the lab file's directory".to_string(),
                    );
                }
                files.push(FileCopy {
                    path,
                    source: source_path,
                });
            }
        }
        let mut private = Vec::new();
        for p in &ns.private {
            if let Some(path) = self.abs_path(p, "private directory") {
                if path == "/" {
                    self.err(p.span().start, "`/` cannot be private", None);
                }
                private.push(path);
            }
        }
        let mut routes = Vec::new();
        for r in &ns.routes {
            let r = r.get_ref();
            let to = self.cidr(&r.to);
            let via = self.ip(&r.via, "route `via`");
            if let (Some(to), Some(via)) = (to, via) {
                if !to.is_network() {
                    self.err(
                        r.to.span().start,
                        format!("route destination `{to}` has host bits set"),
                        format!("write the network address: {}", to.network()),
                    );
                } else if to.is_v4() != via.is_ipv4() {
                    self.err(
                        r.via.span().start,
                        format!("route to {to} via {via}: the gateway is of the other IP family"),
                        None,
                    );
                }
                routes.push(StaticRoute {
                    to,
                    via,
                    at: r.via.span().start,
                });
            }
        }
        if kind == Kind::Switch {
            if let Some(r) = ns.routes.first() {
                self.err(
                    r.span().start,
                    format!("switch {name} has `routes`, but a switch has no IP layer"),
                    "make it a router, or move the routes to a router".to_string(),
                );
            }
        }
        let gateway = match &ns.gateway {
            None => None,
            Some(g) => {
                if kind != Kind::Host {
                    self.err(
                        g.span().start,
                        format!("`gateway` is for hosts only, and {name} is a {kind}"),
                        "give a router `routes = [{ to = \"0.0.0.0/0\", via = \"…\" }]` instead"
                            .to_string(),
                    );
                }
                self.ip(g, "gateway").map(|a| (a, g.span().start))
            }
        };
        Node {
            name,
            kind,
            ssh: ns.ssh.map_or(lab_ssh, |s| *s.get_ref()),
            exec,
            sysctls,
            files,
            private,
            routes,
            gateway,
            firewall: None,
        }
    }

    fn abs_path(&mut self, p: &S<String>, what: &str) -> Option<String> {
        let s = p.get_ref();
        if !s.starts_with('/') || s.split('/').any(|c| c == "..") || s.contains('\0') {
            self.err(
                p.span().start,
                format!("{what} `{s}` must be an absolute path without `..`"),
                None,
            );
            return None;
        }
        let trimmed = s.trim_end_matches('/');
        Some(if trimmed.is_empty() {
            "/".into()
        } else {
            trimmed.into()
        })
    }

    fn links(
        &mut self,
        specs: Vec<S<spec::LinkSpec>>,
        nodes: &[Node],
        index: &HashMap<&str, usize>,
        names: &[&str],
    ) -> Vec<Link> {
        // Explicit interface names first, so automatic ones can skip them.
        let mut taken: Vec<BTreeSet<String>> = vec![BTreeSet::new(); nodes.len()];
        let mut parsed: Vec<Option<ParsedLink>> = Vec::with_capacity(specs.len());
        for ls in specs {
            let at = ls.span().start;
            let eps = ls.get_ref().endpoints.get_ref();
            if eps.len() != 2 {
                self.err(
                    ls.get_ref().endpoints.span().start,
                    format!("a link has exactly two endpoints, this one has {}", eps.len()),
                    "write endpoints = [\"a\", \"b\"]; for more than two nodes on one segment use a switch".to_string(),
                );
                parsed.push(None);
                continue;
            }
            let mut ends = Vec::with_capacity(2);
            for ep in eps {
                let eat = ep.span().start;
                let (n, iface) = match ep.get_ref().split_once(':') {
                    Some((n, i)) => (n, Some(i.to_string())),
                    None => (ep.get_ref().as_str(), None),
                };
                let Some(&ni) = index.get(n) else {
                    self.err(
                        eat,
                        format!("unknown node `{n}` in link"),
                        suggest(n, names)
                            .or(Some(format!("declare it under [nodes], e.g. {n} = {{}}"))),
                    );
                    continue;
                };
                if let Some(i) = &iface {
                    if let Err(why) = check_ifname(i, nodes[ni].kind) {
                        self.err(eat, format!("interface name `{i}` {why}"), None);
                    } else if !taken[ni].insert(i.clone()) {
                        self.err(
                            eat,
                            format!("interface {n}:{i} is used by two links"),
                            "give each link its own interface name, or leave it out to get eth0, eth1 …".to_string(),
                        );
                    }
                }
                ends.push((ni, iface, eat));
            }
            if ends.len() != 2 {
                parsed.push(None);
                continue;
            }
            if ends[0].0 == ends[1].0 {
                self.err(
                    at,
                    format!("link from {} to itself", nodes[ends[0].0].name),
                    "a link joins two different nodes".to_string(),
                );
                parsed.push(None);
                continue;
            }
            let b = ends.pop().unwrap();
            let a = ends.pop().unwrap();
            parsed.push(Some(([a, b], ls)));
        }

        let mut next_eth = vec![0usize; nodes.len()];
        let mut links = Vec::with_capacity(parsed.len());
        for (ends, ls) in parsed.into_iter().flatten() {
            let ls = ls.into_inner();
            let ends = ends.map(|(ni, iface, _)| {
                let iface = iface.unwrap_or_else(|| loop {
                    let cand = format!("eth{}", next_eth[ni]);
                    next_eth[ni] += 1;
                    if !taken[ni].contains(&cand) {
                        break cand;
                    }
                });
                End { node: ni, iface }
            });
            let subnet = ls.subnet.as_ref().and_then(|s| {
                let c = self.cidr(s)?;
                if !c.is_network() {
                    self.err(
                        s.span().start,
                        format!("subnet `{c}` has host bits set"),
                        format!("write the network address: {}", c.network()),
                    );
                    return None;
                }
                Some((c, s.span().start))
            });
            let mut addresses = Vec::new();
            if let Some(addrs) = &ls.addresses {
                let l3: Vec<usize> = (0..2)
                    .filter(|&i| nodes[ends[i].node].kind != Kind::Switch)
                    .collect();
                let list = addrs.get_ref();
                if list.len() == 2 && l3.len() < 2 {
                    let sw = ends
                        .iter()
                        .find(|e| nodes[e.node].kind == Kind::Switch)
                        .map_or("", |e| nodes[e.node].name.as_str());
                    self.err(
                        addrs.span().start,
                        format!(
                            "addresses on a switch's port: {sw} is a switch and has no IP layer"
                        ),
                        "give one address, for the endpoint that is not a switch".to_string(),
                    );
                } else if list.len() != l3.len() {
                    let want = l3.len();
                    self.err(
                        addrs.span().start,
                        format!("`addresses` has {} entries, the link needs {want}", list.len()),
                        Some(format!("give one address per endpoint that is not a switch ({want}), in endpoint order")),
                    );
                } else {
                    for (k, a) in list.iter().enumerate() {
                        if let Some(c) = self.cidr(a) {
                            if c.is_network() && c.prefix < c.max_prefix() - 1 {
                                self.err(
                                    a.span().start,
                                    format!("`{c}` is a network address, not an interface address"),
                                    format!(
                                        "e.g. {}",
                                        c.host(0).map(|h| h.to_string()).unwrap_or_default()
                                    ),
                                );
                            }
                            addresses.push((l3[k], c, a.span().start));
                        }
                    }
                }
            }
            let mtu = ls.mtu.as_ref().and_then(|m| {
                let v = *m.get_ref();
                if !(68..=u32::MAX as i64).contains(&v) {
                    self.err(
                        m.span().start,
                        format!("MTU {v} is out of range"),
                        "an MTU is at least 68 (IPv4's minimum); 1500 is Ethernet's".to_string(),
                    );
                    None
                } else {
                    Some(v as u32)
                }
            });
            let cost = match &ls.cost {
                None => 1,
                Some(c) => {
                    let v = *c.get_ref();
                    if !(1..=1_000_000).contains(&v) {
                        self.err(
                            c.span().start,
                            format!("cost {v} is out of range"),
                            "a cost is a whole number from 1 to 1000000".to_string(),
                        );
                        1
                    } else {
                        v as u32
                    }
                }
            };
            let impair = self.impair(&ls);
            links.push(Link {
                ends,
                subnet,
                addresses,
                mtu,
                cost,
                impair,
            });
        }
        links
    }
}

impl Resolver {
    /// A link's impairments, each value checked where it is written.
    fn impair(&mut self, ls: &spec::LinkSpec) -> crate::impair::Impair {
        use crate::impair::{parse_loss, parse_rate, parse_time, Impair};
        fn one<T>(
            r: &mut Resolver,
            v: &Option<S<String>>,
            what: &str,
            parse: fn(&str) -> Result<T, crate::impair::Bad>,
        ) -> Option<T> {
            let v = v.as_ref()?;
            parse(v.get_ref())
                .map_err(|(msg, hint)| r.err(v.span().start, format!("{what}: {msg}"), hint))
                .ok()
        }
        let imp = Impair {
            rate: one(self, &ls.rate, "rate", parse_rate),
            delay: one(self, &ls.delay, "delay", parse_time),
            jitter: one(self, &ls.jitter, "jitter", parse_time),
            loss: one(self, &ls.loss, "loss", parse_loss),
        };
        if let (Some(j), None) = (&ls.jitter, &ls.delay) {
            self.err(
                j.span().start,
                "jitter: a jitter needs a delay to vary",
                "add a delay, e.g. delay = \"20ms\", jitter = \"5ms\"".to_string(),
            );
        }
        imp
    }
}

fn default_pool() -> Cidr {
    DEFAULT_POOL.parse().expect("valid default pool")
}

/// Lab and node names: `max` chars of [a-z0-9-], starting with a letter.
pub fn check_name(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() || s.len() > max {
        return Err(format!("must be 1-{max} characters long"));
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("contains `{c}`: only a-z, 0-9 and - are allowed"));
    }
    Ok(())
}

/// A Linux interface name: 1-15 bytes, no '/', ':' or whitespace, not `.`/`..`; `lo` is the
/// loopback and `br0` is a switch's bridge.
pub fn check_ifname(s: &str, kind: Kind) -> Result<(), String> {
    if s.is_empty() || s.len() > 15 {
        return Err("must be 1-15 characters long".into());
    }
    if s == "."
        || s == ".."
        || s.chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err("is not a valid Linux interface name (no /, :, spaces)".into());
    }
    if s == "lo" {
        return Err("is the loopback's name".into());
    }
    if kind == Kind::Switch && s == BRIDGE_NAME {
        return Err(format!(
            "is the name of the switch's bridge ({BRIDGE_NAME})"
        ));
    }
    Ok(())
}

/// A "did you mean" for `word` among `candidates`, when one is close.
pub fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    let best = candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .min()?;
    let limit = (word.len().max(best.1.len()) / 3).max(1);
    (best.0 <= limit).then(|| format!("did you mean `{}`?", best.1))
}

/// Edit distance counting a swap of two neighbours as one edit (kidn → kind).
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, v) in d[0].iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let sub = (a[i - 1] != b[j - 1]) as usize;
            let mut v = (d[i - 1][j - 1] + sub)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// Turn a TOML/serde error into a LabError with its place and, for unknown keys, a hint.
fn toml_error(src: &Source, e: &toml::de::Error) -> LabErrors {
    let at = e.span().map_or(0, |s| s.start);
    let msg = e.message().trim().to_string();
    let mut hint = None;
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let word = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        let pool: Vec<&str> = if expected.is_empty() {
            [
                spec::TOP_KEYS,
                spec::LAB_KEYS,
                spec::NODE_KEYS,
                spec::LINK_KEYS,
                spec::ROUTE_KEYS,
                crate::firewall::FIREWALL_KEYS,
                crate::firewall::RULE_KEYS,
            ]
            .concat()
        } else {
            expected.clone()
        };
        hint = suggest(word, &pool).or_else(|| {
            (!expected.is_empty()).then(|| format!("the keys here are: {}", expected.join(", ")))
        });
    }
    src.error(at, msg, hint).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("r1", 15).is_ok());
        assert!(check_name("a-very-long-name", 15).is_err());
        assert!(check_name("1r", 15).is_err());
        assert!(check_name("R1", 15).is_err());
        assert!(check_ifname("eth0", Kind::Host).is_ok());
        assert!(check_ifname("br0", Kind::Switch).is_err());
        assert!(check_ifname("a/b", Kind::Host).is_err());
        assert!(check_ifname("abcdefghijklmnop", Kind::Host).is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("rooter", &["host", "router", "switch"]).as_deref(),
            Some("did you mean `router`?")
        );
        assert_eq!(suggest("xyz", &["host", "router", "switch"]), None);
    }
}
