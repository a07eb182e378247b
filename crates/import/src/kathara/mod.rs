//! Kathará lab directories as nsnet labs.
//!
//! Kathará starts every device as a container of an image (`kathara/base` unless
//! `dev[image]` says), wires `ethN` into collision domains (Linux bridges), forwards IPv4 with
//! rp_filter and ICMP rate limits off, lays the device's folder over its root, and then runs,
//! with the device's shell (`/bin/bash`), `shared.startup` and `DEV.startup` from `/hostlab`
//! (output into /var/log/shared.log and /var/log/startup.log) and then the `dev[exec]` lines.
//! `/hostlab` holds the lab's files and `/shared` is the lab's `shared/`. Here each becomes
//! the nsnet key that does the same; what has no such key is a note.

mod conf;

use crate::names::{lab_name as valid_lab_name, Taken};
use crate::out::{EndOut, Kind, LabOut, Line, LinkOut, NodeOut};
use crate::pos::At;
use crate::{Options, Source};
use conf::{Conf, Device, Opt};
use nsnet_lab::{LabError, LabErrors};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Kathará's image when a device names none.
const DEFAULT_IMAGE: &str = "kathara/base";
/// Kathará's device shell (`device_shell` in kathara.conf).
const DEFAULT_SHELL: &str = "/bin/bash";

/// The name a Kathará lab gets: its directory's.
pub(crate) fn lab_name(src: &Source) -> String {
    let dir = src
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    valid_lab_name(&dir, "kathara")
}

/// Convert the Kathará lab at `src`: the lab, and its notes.
pub(crate) fn convert(src: &Source, opts: &Options) -> Result<(LabOut, Vec<String>), LabErrors> {
    let shown = src.file.display().to_string();
    let text = crate::read_small(&src.file, &shown)?;
    let conf = conf::parse(&text, &shown)?;
    if conf.devices.is_empty() {
        return Err(At::file(&shown)
            .error(
                "declares no device",
                "connect devices to collision domains: r1[0]=\"A\"",
            )
            .into());
    }
    let dep_shown = src.file.with_file_name("lab.dep").display().to_string();
    let dep_path = src.dir.join("lab.dep");
    let rules = if dep_path.is_file() {
        conf::parse_dep(&crate::read_small(&dep_path, &dep_shown)?, &dep_shown)?
    } else {
        Vec::new()
    };
    Mapper::new(src, opts, &conf).run(&rules)
}

struct Mapper<'a> {
    src: &'a Source,
    opts: &'a Options,
    conf: &'a Conf,
    notes: Vec<String>,
    errors: Vec<LabError>,
    /// Images with no root in the map, and how many devices use each.
    unmapped: BTreeMap<String, usize>,
}

/// The value of an option as Kathará takes booleans (`strtobool`).
fn truth(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Some(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

impl<'a> Mapper<'a> {
    fn new(src: &'a Source, opts: &'a Options, conf: &'a Conf) -> Mapper<'a> {
        Mapper {
            src,
            opts,
            conf,
            notes: Vec::new(),
            errors: Vec::new(),
            unmapped: BTreeMap::new(),
        }
    }

    fn file_exists(&self, name: &str) -> bool {
        self.src.dir.join(name).is_file()
    }

    fn run(mut self, rules: &[conf::Rule]) -> Result<(LabOut, Vec<String>), LabErrors> {
        let conf = self.conf;
        let mut taken = Taken::default();
        for d in &conf.devices {
            if let Err(why) = nsnet_lab::model::check_node_name(&d.name) {
                let at = d
                    .options
                    .first()
                    .map(|o| o.at.clone())
                    .or_else(|| d.ifaces.values().next().map(|i| i.at.clone()))
                    .unwrap_or_else(|| At::file(&self.src.file.display().to_string()));
                self.errors.push(at.error(
                    format!("device name `{}` {} in nsnet", d.name, why.message),
                    "rename the device (its folder and startup files too)",
                ));
            }
            taken.insert(&d.name);
        }
        let after = self.dependencies(rules);
        let shared = self.src.dir.join("shared").is_dir();
        let mut nodes: Vec<NodeOut> = conf
            .devices
            .iter()
            .map(|d| self.device(d, shared, after.get(&d.name).cloned().unwrap_or_default()))
            .collect();
        let (switches, mut links) = self.collision_domains(&mut taken);
        nodes.extend(switches);
        let macs = crate::addrs::unique_macs(&mut links, &mut nodes);
        self.notes.extend(macs);
        self.lab_notes(shared);
        crate::pos::sort_notes(&mut self.notes);
        if !self.errors.is_empty() {
            return Err(LabErrors(self.errors));
        }
        let name = lab_name(self.src);
        let lab = LabOut {
            header: self.header(&name),
            name,
            lab_keys: vec![
                (
                    "routing",
                    "\"none\"".into(),
                    "Kathará routes nothing: the devices' daemons do",
                ),
                (
                    "pool",
                    "\"none\"".into(),
                    "no addresses but those the startup files set",
                ),
                (
                    "ssh",
                    "false".into(),
                    "no sshd of nsnet's (a device may run its own)",
                ),
            ],
            nodes,
            links,
        };
        Ok((lab, self.notes))
    }

    /// `lab.dep` as each device's `after`, checked: known devices, no loop.
    fn dependencies(&mut self, rules: &[conf::Rule]) -> BTreeMap<String, Vec<String>> {
        let known: BTreeSet<&str> = self.conf.devices.iter().map(|d| d.name.as_str()).collect();
        let mut after: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rules {
            if !known.contains(r.device.as_str()) {
                self.notes.push(r.at.note(format!(
                    "{} is no device of lab.conf: its rule is ignored, as Kathará does",
                    r.device
                )));
                continue;
            }
            let mut list = Vec::new();
            for d in &r.after {
                if !known.contains(d.as_str()) {
                    self.notes.push(r.at.note(format!(
                        "{d} is no device of lab.conf: {} does not wait for it",
                        r.device
                    )));
                } else if d == &r.device {
                    self.errors.push(r.at.error(
                        format!("{d} waits for itself"),
                        "remove it from its own rule",
                    ));
                } else if !list.contains(d) {
                    list.push(d.clone());
                }
            }
            after.insert(r.device.clone(), list);
        }
        if let Some(cycle) = find_cycle(&after) {
            let at = rules
                .iter()
                .find(|r| r.device == cycle[0])
                .map(|r| r.at.clone())
                .unwrap_or_else(|| At::file("lab.dep"));
            self.errors.push(at.error(
                format!(
                    "the devices wait for each other in a loop: {}",
                    cycle.join(" → ")
                ),
                "break the loop: one of them must start first",
            ));
        }
        after
    }

    /// One device as a node.
    fn device(&mut self, d: &Device, shared: bool, after: Vec<String>) -> NodeOut {
        let mut n = NodeOut {
            name: d.name.clone(),
            kind: Kind::Router,
            after,
            ..Default::default()
        };
        // Kathará's own sysctls for every device (ip_forward is the router kind's).
        for k in [
            "net.ipv4.conf.all.rp_filter",
            "net.ipv4.conf.default.rp_filter",
            "net.ipv4.icmp_ratelimit",
        ] {
            n.sysctl.push((k.to_string(), "0".to_string()));
        }
        let mut image: Option<&Opt> = None;
        let mut shell: Option<&Opt> = None;
        let mut singles: BTreeMap<&str, &Opt> = BTreeMap::new();
        let mut exec_lines = Vec::new();
        for o in &d.options {
            match o.key.as_str() {
                "exec" => exec_lines.push(Line::new(
                    o.value.clone(),
                    Some(format!("lab.conf:{}: {}[exec]", o.at.line, d.name)),
                )),
                "sysctl" => self.sysctl(&mut n, o),
                "env" => self.env(&mut n, o),
                "volume" => self.volume(&mut n, o),
                "port" => self.notes.push(o.at.note(format!(
                    "{}[port]=\"{}\": not honoured: nsnet publishes no ports of a node yet",
                    d.name, o.value
                ))),
                "ulimit" => self.notes.push(o.at.note(format!(
                    "{}[ulimit]=\"{}\": not honoured: nsnet sets no limits per process (it has cpu, memory and pids)",
                    d.name, o.value
                ))),
                _ => {
                    if let Some(prev) = singles.insert(o.key.as_str(), o) {
                        self.notes.push(o.at.note(format!(
                            "{}[{}] is set again: this value replaces line {}'s, as in Kathará",
                            d.name, o.key, prev.at.line
                        )));
                    }
                }
            }
        }
        for (key, o) in singles {
            match key {
                "image" => image = Some(o),
                "shell" => shell = Some(o),
                "mem" => n.memory = self.memory(o, &d.name),
                "cpus" => match o.value.trim().parse::<f64>() {
                    Ok(c) if c > 0.0 && c.is_finite() => n.cpu = Some(c),
                    _ => self.errors.push(o.at.error(
                        format!("{}[cpus]=\"{}\" is not a share of CPUs", d.name, o.value),
                        "give a positive number, e.g. \"0.5\" (half a CPU)",
                    )),
                },
                "ipv6" => match truth(&o.value) {
                    Some(v) => n.ipv6 = Some(v),
                    None => self.errors.push(o.at.error(
                        format!("{}[ipv6]=\"{}\" is not true or false", d.name, o.value),
                        "write \"true\" or \"false\"",
                    )),
                },
                "privileged" => match truth(&o.value) {
                    Some(v) => n.privileged = v,
                    None => self.errors.push(o.at.error(
                        format!("{}[privileged]=\"{}\" is not true or false", d.name, o.value),
                        "write \"true\" or \"false\"",
                    )),
                },
                "bridged" => {
                    if truth(&o.value) != Some(false) {
                        self.notes.push(o.at.note(format!(
                            "{}[bridged]: not honoured: nsnet has no way out of the lab yet (no interface NATed to this machine's network)",
                            d.name
                        )));
                    }
                }
                "num_terms" => self.notes.push(o.at.note(format!(
                    "{}[num_terms]: nsnet opens no terminals: `nsnet enter {}` opens a shell in it",
                    d.name, d.name
                ))),
                "entrypoint" | "args" => self.notes.push(o.at.note(format!(
                    "{}[{key}]=\"{}\": not run: an nsnet node runs no image entrypoint (start it from {}.startup or {}[exec])",
                    d.name, o.value, d.name, d.name
                ))),
                other => self.notes.push(o.at.note(format!(
                    "{}[{other}]: not a Kathará option: ignored, as Kathará does",
                    d.name
                ))),
            }
        }
        // Its root: the image's stand-in, or this machine's own software.
        let image_name = image.map_or(DEFAULT_IMAGE, |o| o.value.as_str());
        match self.opts.images.get(image_name) {
            Some(r) => {
                n.root = Some(r.root.clone());
                n.services = r.services.clone();
                for e in &r.exec {
                    n.exec.push(Line::new(
                        e.clone(),
                        Some(format!("what image {image_name} starts (the image map)")),
                    ));
                }
            }
            None => {
                n.root = Some("overlay".to_string());
                *self.unmapped.entry(image_name.to_string()).or_default() += 1;
            }
        }
        // Its folder, laid over its root.
        let folder = self.src.dir.join(&d.name);
        if folder.is_dir() {
            n.tree = Some(d.name.clone());
            let prep = preparation(&folder);
            if !prep.is_empty() {
                n.exec.push(Line::new(
                    prep,
                    Some("Kathará's preparation of the files the device's folder brings".into()),
                ));
            }
        }
        // /hostlab and /shared first, then the device's own volumes.
        let mut binds = vec![".:/hostlab:ro".to_string()];
        if shared {
            binds.push("shared:/shared".to_string());
        }
        binds.append(&mut n.binds);
        n.binds = binds;
        // The startup files, as Kathará runs them.
        let shell_cmd = shell.map_or(DEFAULT_SHELL, |o| o.value.as_str());
        if let Some(s) = shell {
            self.notes.push(s.at.note(format!(
                "{}[shell]=\"{}\": runs the device's startup files; `nsnet enter {}` opens $SHELL, else bash, else sh",
                d.name, s.value, d.name
            )));
        }
        for (file, log) in [
            ("shared.startup".to_string(), "shared.log"),
            (format!("{}.startup", d.name), "startup.log"),
        ] {
            if self.file_exists(&file) {
                self.crlf_note(&file);
                n.exec.push(Line::new(
                    format!("cd / && {shell_cmd} -x /hostlab/{file} > /var/log/{log} 2>&1"),
                    Some(format!(
                        "{file}, run as Kathará runs it (output in /var/log/{log})"
                    )),
                ));
            }
        }
        n.exec.extend(exec_lines);
        if self.file_exists(&format!("{}.shutdown", d.name)) {
            self.notes
                .push(At::file(&format!("{}.shutdown", d.name)).note(
                "not run: nsnet stops a node's processes at `nsnet down` without a shutdown script",
            ));
        }
        n
    }

    /// A note when a startup file has Windows line ends (Kathará converts them).
    fn crlf_note(&mut self, file: &str) {
        let text = std::fs::read(self.src.dir.join(file)).unwrap_or_default();
        if text.windows(2).any(|w| w == b"\r\n") {
            self.notes.push(At::file(file).note(
                "has Windows line ends (\\r\\n): Kathará converts them, nsnet runs the file as it is: convert it (dos2unix)",
            ));
        }
    }

    /// `dev[sysctl]="net.KEY=VALUE"`: net.* only, as Kathará checks.
    fn sysctl(&mut self, n: &mut NodeOut, o: &Opt) {
        let ok = o.value.split_once('=').filter(|(k, v)| {
            let parts: Vec<&str> = k.split('.').collect();
            parts.len() >= 3
                && parts[0] == "net"
                && parts[1..].iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                })
                && !v.contains('=')
        });
        match ok {
            Some((k, v)) => {
                let (k, v) = (k.trim().to_string(), v.trim().to_string());
                n.sysctl.retain(|(key, _)| *key != k);
                n.sysctl.push((k, v));
            }
            None => self.errors.push(o.at.error(
                format!("{}[sysctl]=\"{}\" is not a net.* sysctl", n.name, o.value),
                "write \"net.KEY=VALUE\", e.g. \"net.ipv4.conf.all.forwarding=1\" (other sysctls are the machine's)",
            )),
        }
    }

    /// `dev[env]="NAME=VALUE"`.
    fn env(&mut self, n: &mut NodeOut, o: &Opt) {
        match o.value.split_once('=') {
            Some((k, v))
                if !k.trim().is_empty()
                    && k.trim()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.trim().starts_with(|c: char| c.is_ascii_digit()) =>
            {
                let k = k.trim().to_string();
                n.env.retain(|(key, _)| *key != k);
                n.env.push((k, v.trim().to_string()));
            }
            _ => self.errors.push(o.at.error(
                format!("{}[env]=\"{}\" is not NAME=VALUE", n.name, o.value),
                "write \"NAME=VALUE\", the name of letters, digits and _",
            )),
        }
    }

    /// `dev[volume]="HOST|GUEST|MODE"` as a bind.
    fn volume(&mut self, n: &mut NodeOut, o: &Opt) {
        let parts: Vec<&str> = o.value.split('|').filter(|p| !p.is_empty()).collect();
        let (host, guest, mode) = match parts.as_slice() {
            [h, g] => (*h, *g, "ro"),
            [h, g, m] => (*h, *g, *m),
            _ => {
                self.errors.push(o.at.error(
                    format!("{}[volume]=\"{}\" is not HOST|GUEST|MODE", n.name, o.value),
                    "write \"HOST_PATH|DEVICE_PATH|MODE\", MODE ro, rw or rx",
                ));
                return;
            }
        };
        if host.contains(':') || guest.contains(':') {
            self.errors.push(o.at.error(
                format!(
                    "{}[volume]: a path with `:` cannot be bound by nsnet",
                    n.name
                ),
                "move or link the directory to a path without `:`",
            ));
            return;
        }
        let suffix = match mode {
            "rw" => "",
            "ro" => ":ro",
            "rx" => {
                self.notes.push(o.at.note(format!(
                    "{}[volume] mode rx: bound read-only (nsnet binds are ro or rw)",
                    n.name
                )));
                ":ro"
            }
            other => {
                self.errors.push(o.at.error(
                    format!("{}[volume]: unknown mode `{other}`", n.name),
                    "use ro, rw or rx",
                ));
                return;
            }
        };
        if !Path::new(host).is_absolute() {
            self.notes.push(o.at.note(format!(
                "{}[volume]: {host} is taken relative to the lab's directory (Kathará takes it relative to where it is started)",
                n.name
            )));
        }
        n.binds.push(format!("{host}:{guest}{suffix}"));
    }

    /// `dev[mem]`: Kathará's (Docker's) units, a plain number being megabytes.
    fn memory(&mut self, o: &Opt, dev: &str) -> Option<String> {
        let v = o.value.trim();
        let (num, mult) = match v.chars().last().map(|c| c.to_ascii_lowercase()) {
            Some('b') => (&v[..v.len() - 1], 1u64),
            Some('k') => (&v[..v.len() - 1], 1 << 10),
            Some('m') => (&v[..v.len() - 1], 1 << 20),
            Some('g') => (&v[..v.len() - 1], 1 << 30),
            _ => (v, 1 << 20),
        };
        match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
            Some(bytes) if bytes >= 4 << 20 => Some(nsnet_lab::size::format_size(bytes)),
            _ => {
                self.errors.push(o.at.error(
                    format!("{dev}[mem]=\"{v}\" is not a memory size of at least 4m"),
                    "write a whole number with b, k, m or g, e.g. \"256m\"",
                ));
                None
            }
        }
    }

    /// Collision domains: of two interfaces, a direct link; else a switch of their own.
    fn collision_domains(&mut self, taken: &mut Taken) -> (Vec<NodeOut>, Vec<LinkOut>) {
        let conf = self.conf;
        let mut switches = Vec::new();
        let mut links = Vec::new();
        let end = |(di, num): (usize, u32)| {
            let d = &conf.devices[di];
            EndOut::bare(&d.name, &format!("eth{num}"), d.ifaces[&num].mac.clone())
        };
        for cd in &conf.cds {
            if cd.members.len() == 2 {
                links.push(LinkOut {
                    comment: Some(format!("collision domain {}", cd.name)),
                    ends: [end(cd.members[0]), end(cd.members[1])],
                    mtu: None,
                });
                continue;
            }
            let sw = taken.fresh(&cd.name, "cd");
            let members: Vec<String> = cd
                .members
                .iter()
                .map(|&(di, num)| format!("{}:eth{num}", conf.devices[di].name))
                .collect();
            switches.push(NodeOut {
                name: sw.clone(),
                comment: vec![format!(
                    "collision domain {}: {}",
                    cd.name,
                    members.join(", ")
                )],
                kind: Kind::Switch,
                ..Default::default()
            });
            for (i, &m) in cd.members.iter().enumerate() {
                links.push(LinkOut {
                    comment: (i == 0).then(|| format!("collision domain {}", cd.name)),
                    ends: [end(m), EndOut::port(&sw, None)],
                    mtu: None,
                });
            }
        }
        // Gaps in a device's numbering: Kathará refuses them, nsnet names interfaces freely.
        for d in &conf.devices {
            let nums: Vec<u32> = d.ifaces.keys().copied().collect();
            if nums.iter().enumerate().any(|(i, &n)| n != i as u32) {
                let at = d.ifaces.values().next().map(|i| i.at.clone());
                if let Some(at) = at {
                    self.notes.push(at.note(format!(
                        "{}'s interfaces are not numbered 0, 1, 2 … without a gap: Kathará refuses that, nsnet builds them as numbered",
                        d.name
                    )));
                }
            }
        }
        (switches, links)
    }

    /// Notes about the lab as a whole.
    fn lab_notes(&mut self, shared: bool) {
        if !self.unmapped.is_empty() {
            let list: Vec<String> = self
                .unmapped
                .iter()
                .map(|(i, n)| format!("{i} ({n} device{})", if *n == 1 { "" } else { "s" }))
                .collect();
            let map = self.opts.images.file.as_ref().map_or_else(
                || crate::images::DEFAULT_FILE.to_string(),
                |f| f.display().to_string(),
            );
            self.notes.push(format!(
                "images {}: no root in the image map ({map}): these devices run this machine's own software, copy-on-write (root = \"overlay\"), so what they use must be installed here",
                list.join(", ")
            ));
        }
        if !shared {
            self.notes.push(
                "shared/: missing, so devices get no /shared (Kathará makes it at lstart, and so does `nsnet up` of the lab's directory): mkdir it and convert again".to_string(),
            );
        }
        if self.file_exists("lab.ext") {
            self.notes.push(At::file("lab.ext").note(
                "not honoured: nsnet does not attach this machine's interfaces to a lab yet",
            ));
        }
        for f in ["shared.shutdown"] {
            if self.file_exists(f) {
                self.notes.push(
                    At::file(f).note("not run: nsnet runs no shutdown scripts at `nsnet down`"),
                );
            }
        }
    }

    /// The header: where the lab came from, what Kathará's defaults became, the notes.
    fn header(&self, name: &str) -> Vec<String> {
        let dir = self
            .src
            .dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut files = vec!["lab.conf".to_string()];
        if self.file_exists("lab.dep") {
            files.push("lab.dep".into());
        }
        let mut h = vec![format!(
            "Converted by `nsnet convert` from the Kathará lab {dir}/ ({}) as lab {name}.",
            files.join(", ")
        )];
        for (k, v) in &self.conf.meta {
            h.push(format!("{k}: {v}"));
        }
        h.push(String::new());
        h.push(
            "As Kathará runs it: every device forwards IPv4 (kind = \"router\") with rp_filter and\n\
             ICMP rate limits off; its ethN join collision domains (a direct link, or a switch\n\
             named after the domain) with no address until the startup files set them; its folder\n\
             is laid over its root; /hostlab is the lab's directory (read-only) and /shared is its\n\
             shared/; its startup files run at up, then its [exec] lines. Devices of lab.dep wait\n\
             for those they depend on (`after`)."
                .to_string(),
        );
        if !self.notes.is_empty() {
            h.push(String::new());
            h.push("Not honoured, or not as Kathará does:".to_string());
            for n in &self.notes {
                h.push(format!("- {n}"));
            }
        }
        h
    }
}

/// Kathará's preparation of a device's files, for the parts its folder brings: FRR's and
/// Quagga's configuration owned by their daemons' users, /var/www open to all.
fn preparation(folder: &Path) -> String {
    let mut steps = Vec::new();
    for d in ["frr", "quagga"] {
        if folder.join("etc").join(d).is_dir() {
            steps.push(format!(
                "if [ -d /etc/{d} ]; then chown -R {d}:{d} /etc/{d}/; chmod 640 /etc/{d}/*; fi"
            ));
        }
    }
    if folder.join("var/www").is_dir() {
        steps.push("if [ -d /var/www ]; then chmod -R 777 /var/www/*; fi".to_string());
    }
    steps.join("; ")
}

/// A loop in `after` (device → devices it waits for), as the devices on it.
fn find_cycle(after: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    // 0: unseen, 1: on the current path, 2: done.
    fn visit(
        n: &str,
        after: &BTreeMap<String, Vec<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n).copied().unwrap_or(0) {
            1 => {
                let start = path.iter().position(|p| p == n).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            2 => return None,
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in after.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, after, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in after.keys() {
        let mut path = Vec::new();
        if let Some(c) = visit(n, after, &mut state, &mut path) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests;
