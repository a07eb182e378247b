//! One lab over several machines, driven from here over plain SSH (no daemon): the same
//! nsnet on every host builds its part of the plan (`__part-up`), tunnels join the parts, and
//! every later command about a node is forwarded to the node's host.
//!
//! What this machine keeps of a spread lab is one record, `/run/nsnet/<lab>.spread` (made
//! exclusively: one `up` of a name at a time): the hosts, where each node runs and which
//! hosts may still hold a part. `down` removes the lab from every host and the record once
//! every host said so.

use anyhow::{anyhow, bail, Context};
use nsnet_lab::spread::{self, Hosts};
use nsnet_lab::Plan;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

/// What `up` keeps of a spread lab on the machine that ran it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The lab's name.
    pub lab: String,
    /// The hosts as the hosts file gave them.
    pub hosts: Hosts,
    /// nsnet's path on each host.
    pub bins: Vec<String>,
    /// Whether `up` copied nsnet there (then `down` removes it).
    pub copied: Vec<bool>,
    /// Each node and its host, sorted by node name.
    pub nodes: Vec<(String, usize)>,
    /// Hosts that may hold a part of the lab.
    pub pending: Vec<usize>,
    /// Whether every part is built.
    pub up: bool,
    /// The whole lab's plan, without its routes (`nsnet test`, `nsnet link`).
    #[serde(default)]
    pub plan: Option<Plan>,
}

fn record_name(lab: &str) -> String {
    format!("{lab}.spread")
}

impl Record {
    /// The record of `lab`, if it is a spread lab.
    pub fn load(lab: &str) -> anyhow::Result<Option<Record>> {
        let Ok(Some(store)) = nsnet_core::state::Store::open() else {
            return Ok(None);
        };
        match store.read_file(&record_name(lab)) {
            Ok(None) => Ok(None),
            Ok(Some(b)) => {
                Ok(Some(serde_json::from_slice(&b).with_context(|| {
                    format!("the record of spread lab {lab} is damaged")
                })?))
            }
            Err(e) => Err(anyhow!(
                "{}/{}: {e}",
                nsnet_core::state::state_root().display(),
                record_name(lab)
            )),
        }
    }

    fn save(&self) -> anyhow::Result<()> {
        let store = nsnet_core::state::Store::create()?;
        let bytes = nsnet_lab::plan::without_routes(|| serde_json::to_vec(self))?;
        store
            .replace_file(&record_name(&self.lab), &bytes)
            .context("saving the spread lab's record")
    }

    fn remove(&self) {
        if let Ok(Some(store)) = nsnet_core::state::Store::open() {
            let _ = store.remove_file(&record_name(&self.lab));
        }
    }

    /// The whole lab's plan with its routes.
    pub fn planned(&self) -> anyhow::Result<Plan> {
        let mut plan = self
            .plan
            .clone()
            .ok_or_else(|| anyhow!("the record of lab {} has no plan", self.lab))?;
        plan.restore_routes();
        Ok(plan)
    }

    /// How many nodes each host runs.
    pub fn nodes_per_host(&self) -> Vec<usize> {
        let mut per = vec![0; self.hosts.hosts.len()];
        for (_, h) in &self.nodes {
            per[*h] += 1;
        }
        per
    }

    /// The hosts that run nodes of the lab.
    fn hosts_in_use(&self) -> Vec<usize> {
        let per = self.nodes_per_host();
        (0..per.len()).filter(|&h| per[h] > 0).collect()
    }

    /// The host of `node`.
    pub fn host_of(&self, node: &str) -> Option<usize> {
        self.nodes
            .binary_search_by(|(n, _)| n.as_str().cmp(node))
            .ok()
            .map(|i| self.nodes[i].1)
    }
}

/// The names of the spread labs this machine drives, sorted.
pub fn labs() -> Vec<String> {
    let Ok(Some(_)) = nsnet_core::state::Store::open() else {
        return Vec::new();
    };
    let mut out: Vec<String> = std::fs::read_dir(nsnet_core::state::state_root())
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let n = e.file_name().into_string().ok()?;
                    let lab = n.strip_suffix(".spread")?;
                    nsnet_core::LabName::new(lab).ok()?;
                    Some(lab.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The spread lab a command is about: the one named, or the only lab there is when it is a
/// spread one.
pub fn resolve(given: Option<&str>) -> anyhow::Result<Option<Record>> {
    match given {
        Some(arg) => {
            let Ok(name) = nsnet_core::LabName::from_arg(arg) else {
                return Ok(None);
            };
            Record::load(name.as_str())
        }
        None => {
            let spread = labs();
            if spread.len() == 1 && nsnet_core::state::list_labs().is_empty() {
                Record::load(&spread[0])
            } else {
                Ok(None)
            }
        }
    }
}

/// The spread lab a command about `node` is for: the one named, or, with none named, the
/// only spread lab when it has the node and no lab of this machine could be meant.
pub fn resolve_for_node(given: Option<&str>, node: &str) -> anyhow::Result<Option<Record>> {
    if given.is_some() {
        return resolve(given);
    }
    let spread = labs();
    if spread.len() != 1 {
        return Ok(None);
    }
    let Some(rec) = Record::load(&spread[0])? else {
        return Ok(None);
    };
    let local = nsnet_core::state::list_labs();
    let here = local.len() == 1
        && nsnet_core::RunningLab::open(Some(local[0].as_str()))
            .is_ok_and(|l| l.plan().node(node).is_some());
    Ok(
        (rec.host_of(node).is_some() && (local.is_empty() || local.len() == 1 && !here))
            .then_some(rec),
    )
}

/// `s` quoted for a POSIX shell (what ssh hands the remote command to).
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `ssh` to host `h` running `args` (quoted); `tty`: ask for a terminal.
fn ssh(hosts: &Hosts, h: usize, args: &[String], tty: bool) -> Command {
    let mut c = Command::new("ssh");
    c.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]);
    if let Some(cfg) = &hosts.ssh_config {
        c.arg("-F").arg(cfg);
    }
    c.arg(if tty { "-t" } else { "-T" });
    c.arg(&hosts.hosts[h].ssh).arg("--");
    c.arg(args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "));
    c
}

/// What a command on a host said: its status, and its stdout and stderr.
struct Said {
    code: Option<i32>,
    out: Vec<u8>,
    err: String,
}

impl Said {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }
    /// ssh's own failure (it exits 255): the host was not reached.
    fn unreachable(&self) -> bool {
        self.code == Some(255)
    }
    fn why(&self) -> String {
        let e = self.err.trim();
        let e = e.strip_prefix("nsnet: ").unwrap_or(e);
        if e.is_empty() {
            format!("exit status {:?}", self.code)
        } else {
            e.to_string()
        }
    }
}

/// Runs `args` on host `h`, `input` on its stdin; collects what it says.
fn run_on(hosts: &Hosts, h: usize, args: &[String], input: Option<&[u8]>) -> Said {
    let mut c = ssh(hosts, h, args, false);
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            return Said {
                code: Some(255),
                out: Vec::new(),
                err: format!("running ssh: {e}"),
            }
        }
    };
    let feeder = input.map(|data| {
        let mut stdin = child.stdin.take().expect("piped");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        })
    });
    let out = child.wait_with_output();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    match out {
        Ok(o) => Said {
            code: o.status.code(),
            out: o.stdout,
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Err(e) => Said {
            code: Some(255),
            out: Vec::new(),
            err: e.to_string(),
        },
    }
}

/// Runs `f(h)` for every host in `hs` at once.
fn each<T: Send>(hs: &[usize], f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = hs.iter().map(|&h| s.spawn(move || f(h))).collect();
        handles
            .into_iter()
            .map(|j| j.join().expect("no panic"))
            .collect()
    })
}

/// This build of nsnet: a hash of its own executable (one static file, the same bytes on
/// every host that runs the same build).
pub fn build_id() -> anyhow::Result<String> {
    let exe = std::fs::read("/proc/self/exe").context("reading /proc/self/exe")?;
    Ok(build_of(&exe))
}

/// The build whose executable is `exe`.
fn build_of(exe: &[u8]) -> String {
    let h = nsnet_lab::values::fnv1a(exe.iter().copied());
    format!("{}-{h:016x}", env!("CARGO_PKG_VERSION"))
}

/// What `__host-info` tells about a host.
#[derive(Debug, Serialize, Deserialize)]
pub struct HostInfo {
    /// Its nsnet's build.
    pub build: String,
    /// The MTU of the interface toward each address asked about (None: no route).
    pub mtu: Vec<Option<u32>>,
}

/// `__host-info`: this build, and the MTU toward each of `to`.
pub fn host_info(to: &[IpAddr]) -> anyhow::Result<HostInfo> {
    let mut sock = nsnet_netcfg::RtSocket::open()?;
    let links = sock.links()?;
    let mtu = to
        .iter()
        .map(|a| {
            let r = sock.route_get(*a).ok()?;
            let oif = r.nexthops.first()?.ifindex;
            links.iter().find(|l| l.index == oif).map(|l| l.mtu)
        })
        .collect();
    Ok(HostInfo {
        build: build_id()?,
        mtu,
    })
}

/// Where a copied nsnet lives on a host for lab `lab`'s lifetime.
fn copy_dir(lab: &str) -> String {
    format!("/run/nsnet.bin/{lab}")
}

/// The hosts' tunnel addresses: given, or ssh's HostName for them when that is an address.
fn addresses(hosts: &Hosts) -> anyhow::Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    for h in &hosts.hosts {
        if let Some(a) = h.address {
            out.push(a);
            continue;
        }
        let mut c = Command::new("ssh");
        if let Some(cfg) = &hosts.ssh_config {
            c.arg("-F").arg(cfg);
        }
        let o = c.arg("-G").arg(&h.ssh).output().context("running ssh -G")?;
        let text = String::from_utf8_lossy(&o.stdout);
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("hostname "))
            .unwrap_or("")
            .trim()
            .to_string();
        match name.parse::<IpAddr>() {
            Ok(a) => out.push(a),
            Err(_) => bail!(
                "host {}: its tunnels need an address, and ssh names it {name:?}\n  fix: give `address = \"…\"` under [hosts.{}] in the hosts file",
                h.name,
                h.name
            ),
        }
    }
    Ok(out)
}

/// A host ssh could not reach: nothing of the lab went there.
#[derive(Debug)]
struct Unreachable(String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

/// Makes sure host `h` runs this build (`exe`, whose build is `me`) at `rec.bins[h]`: asks
/// it, and copies `exe` there when it has none or another (when the hosts file names no
/// nsnet for it). Returns what it says of itself.
fn ensure_build(
    rec: &Record,
    h: usize,
    (exe, me): (&[u8], &str),
    to: &[IpAddr],
) -> anyhow::Result<HostInfo> {
    let hosts = &rec.hosts;
    let host = &hosts.hosts[h];
    let ask = |path: &str| -> anyhow::Result<Result<HostInfo, Said>> {
        let mut args = vec![path.to_string(), "__host-info".to_string()];
        args.extend(to.iter().map(|a| a.to_string()));
        let said = run_on(hosts, h, &args, None);
        if said.unreachable() {
            return Err(Unreachable(format!(
                "host {} ({}): cannot reach it: {}",
                host.name,
                host.ssh,
                said.why()
            ))
            .into());
        }
        if !said.ok() {
            return Ok(Err(said));
        }
        Ok(Ok(serde_json::from_slice(&said.out).with_context(
            || format!("host {}: {path} __host-info said something else", host.name),
        )?))
    };
    let path = &rec.bins[h];
    if !rec.copied[h] {
        return match ask(path)? {
            Ok(info) if info.build == me => Ok(info),
            Ok(info) => bail!(
                "host {}: {path} is build {}, and this nsnet is {me}\n  fix: install this build there, or leave `nsnet` out of [hosts.{}] to have it copied for the lab",
                host.name,
                info.build,
                host.name
            ),
            Err(said) => bail!("host {}: {path} does not run: {}", host.name, said.why()),
        };
    }
    let dir = copy_dir(&rec.lab);
    if let Ok(info) = ask(path)? {
        if info.build == me {
            return Ok(info);
        }
    }
    let script = format!(
        "umask 077 && mkdir -p {dir} && cat > {path}.tmp && chmod 700 {path}.tmp && mv -f {path}.tmp {path}"
    );
    let said = run_on(hosts, h, &["sh".into(), "-c".into(), script], Some(exe));
    if !said.ok() {
        bail!(
            "host {}: copying nsnet to {path}: {}",
            host.name,
            said.why()
        );
    }
    match ask(path)? {
        Ok(info) if info.build == me => Ok(info),
        Ok(info) => bail!(
            "host {}: the copy of nsnet at {path} says build {}",
            host.name,
            info.build
        ),
        Err(said) => bail!(
            "host {}: the copy of nsnet at {path} does not run: {}",
            host.name,
            said.why()
        ),
    }
}

/// The largest MTU every tunnel carries: the smallest underlay MTU toward another host,
/// less the VXLAN overhead.
fn tunnel_mtu(infos: &[HostInfo], addrs: &[IpAddr], hosts: &Hosts) -> anyhow::Result<u32> {
    let mut mtu = u32::MAX;
    for (h, info) in infos.iter().enumerate() {
        for (o, m) in info.mtu.iter().enumerate() {
            if o == h {
                continue;
            }
            let Some(m) = m else {
                bail!(
                    "host {} has no route to host {}'s address {}\n  fix: give each host an `address` the others reach",
                    hosts.hosts[h].name,
                    hosts.hosts[o].name,
                    addrs[o]
                );
            };
            let over = if addrs[o].is_ipv6() {
                spread::VXLAN_OVERHEAD_V4 + 20
            } else {
                spread::VXLAN_OVERHEAD_V4
            };
            mtu = mtu.min(m.saturating_sub(over));
        }
    }
    if mtu == u32::MAX {
        mtu = 1500;
    }
    if mtu < 1280 {
        bail!("the underlay between the hosts carries frames of {mtu} bytes in tunnels, fewer than the 1280 a lab needs\n  fix: raise the hosts' MTU");
    }
    Ok(mtu)
}

/// What `nsnet plan --hosts` prints: each host's nodes and load, the links that cross.
pub fn print_placement(plan: &Plan, hosts: &Hosts) -> anyhow::Result<()> {
    let place = spread::place(plan, hosts)?;
    let cost = spread::cost(plan, hosts, &place);
    let total: f64 = hosts.hosts.iter().map(|h| h.capacity).sum();
    for (h, host) in hosts.hosts.iter().enumerate() {
        let names: Vec<&str> = plan
            .nodes
            .iter()
            .zip(&place.host_of)
            .filter(|(_, &p)| p == h)
            .map(|(n, _)| n.name.as_str())
            .collect();
        crate::out::outln!(
            "host {} ({}): {} node(s), {:.1}% of the lab (share {:.1}%)",
            host.name,
            host.ssh,
            cost.nodes[h],
            100.0 * cost.nodes[h] as f64 / plan.nodes.len().max(1) as f64,
            100.0 * host.capacity / total
        );
        if !names.is_empty() {
            crate::out::outln!("  {}", names.join(" "));
        }
    }
    crate::out::outln!(
        "{} link(s) cross hosts (one tunnel each), {} switch(es) stretched (one trunk each):",
        cost.crossing.len(),
        cost.copies.len()
    );
    for (a, b, ha, hb) in &cost.crossing {
        crate::out::outln!("  {a} ({ha}) -- {b} ({hb})");
    }
    for (sw, h) in &cost.copies {
        crate::out::outln!("  switch {sw}: a bridge on {h} too");
    }
    Ok(())
}

/// `nsnet up LAB --hosts FILE`: places, checks every host's nsnet, builds every part at once;
/// a part that fails rolls the lab back on every host. `table`: print the nodes.
pub fn up(plan: &Plan, hosts: &Hosts, force: bool, table: bool) -> anyhow::Result<i32> {
    if nsnet_core::state::paths().rootless() {
        bail!("a lab spread over several hosts is built as root: its tunnels are made in each host's own network");
    }
    let lab = nsnet_core::LabName::new(&plan.lab)?;
    let store = nsnet_core::state::Store::create()?;
    if force {
        if let Some(rec) = Record::load(lab.as_str())? {
            down(rec, &[])?;
        }
    }
    if matches!(store.lab(&lab), Ok(Some(_))) {
        bail!(
            "lab {lab} is up on this machine\n  fix: nsnet down {lab}, or give this one another --name"
        );
    }
    match store.create_file_new(&record_name(lab.as_str())) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "lab {lab} is already up across hosts (or being built, or left over)\n  fix: nsnet down {lab}"
        ),
        Err(e) => return Err(e).context("making the spread lab's record"),
    }
    let mut rec = Record {
        lab: lab.to_string(),
        hosts: hosts.clone(),
        bins: vec![String::new(); hosts.hosts.len()],
        copied: vec![false; hosts.hosts.len()],
        nodes: Vec::new(),
        pending: Vec::new(),
        up: false,
        plan: None,
    };
    match build(plan, hosts, &mut rec, table) {
        Ok(()) => Ok(0),
        Err(e) => {
            let undo = down(rec, &[]);
            match undo {
                Ok(_) => Err(anyhow!(
                    "{e:#}\nlab {lab} is rolled back on every host, nothing of it is left"
                )),
                Err(u) => Err(anyhow!("{e:#}\nrolling back: {u:#}")),
            }
        }
    }
}

fn build(plan: &Plan, hosts: &Hosts, rec: &mut Record, table: bool) -> anyhow::Result<()> {
    let place = spread::place(plan, hosts)?;
    let addrs = addresses(hosts)?;
    let exe = std::fs::read("/proc/self/exe").context("reading /proc/self/exe")?;
    let me = build_of(&exe);
    let all: Vec<usize> = (0..hosts.hosts.len()).collect();
    // The record names every host before any is touched: a `down` after a kill finds them.
    rec.pending = all.clone();
    rec.bins = hosts
        .hosts
        .iter()
        .map(|h| {
            h.nsnet
                .clone()
                .unwrap_or_else(|| format!("{}/nsnet", copy_dir(&plan.lab)))
        })
        .collect();
    rec.copied = hosts.hosts.iter().map(|h| h.nsnet.is_none()).collect();
    rec.nodes = plan
        .nodes
        .iter()
        .zip(&place.host_of)
        .map(|(n, &h)| (n.name.clone(), h))
        .collect();
    rec.plan = Some(plan.clone());
    rec.save()?;
    let infos = each(&all, |h| ensure_build(rec, h, (&exe, &me), &addrs));
    // A host never reached holds nothing of the lab: the rollback need not ask it.
    for (h, r) in infos.iter().enumerate() {
        if r.as_ref()
            .is_err_and(|e| e.downcast_ref::<Unreachable>().is_some())
        {
            rec.pending.retain(|&p| p != h);
        }
    }
    let mut got = Vec::new();
    for r in infos {
        got.push(r?);
    }
    let mtu = tunnel_mtu(&got, &addrs, hosts)?;
    let parts = spread::split(plan, hosts, &place, &addrs, mtu)?;
    let jsons: Vec<Vec<u8>> = parts
        .iter()
        .map(|p| serde_json::to_vec(&p.plan))
        .collect::<Result<_, _>>()?;
    let idx: Vec<usize> = (0..parts.len()).collect();
    let results = each(&idx, |k| {
        let h = parts[k].host;
        let args = vec![rec.bins[h].clone(), "__part-up".to_string()];
        (h, run_on(hosts, h, &args, Some(&jsons[k])))
    });
    let mut errs = Vec::new();
    for (h, said) in results {
        if !said.ok() {
            errs.push(format!("host {}: {}", hosts.hosts[h].name, said.why()));
        }
    }
    if let Err(sig) = nsnet_core::build::interrupt::check() {
        errs.push(format!("up {sig}"));
    }
    if !errs.is_empty() {
        bail!("{}", errs.join("\n"));
    }
    rec.up = true;
    rec.save()?;
    if !table {
        return Ok(());
    }
    crate::out::on_failure(0);
    crate::out::outln!(
        "lab {} is up on {} host(s): {} node(s), {} tunnel(s)",
        plan.lab,
        parts.len(),
        plan.nodes.len(),
        parts.iter().map(|p| p.plan.tunnels.len()).sum::<usize>() / 2
    );
    crate::out::outln!("{:<16} {:<7} {:<12} ADDRESSES", "NODE", "KIND", "HOST");
    for (n, &h) in plan.nodes.iter().zip(&place.host_of) {
        let addrs: Vec<String> = n.addrs().map(|a| a.to_string()).collect();
        crate::out::outln!(
            "{:<16} {:<7} {:<12} {}",
            n.name,
            n.kind,
            hosts.hosts[h].name,
            addrs.join(" ")
        );
    }
    Ok(())
}

/// Removes a spread lab from every host that may hold a part of it (all at once), then the
/// copies of nsnet, then the record. `forget`: hosts dropped without being asked (gone for
/// good). Returns what it says per host.
pub fn down(mut rec: Record, forget: &[String]) -> anyhow::Result<Vec<String>> {
    for f in forget {
        let Some(h) = rec.hosts.index(f) else {
            bail!("--forget {f}: lab {} has no host {f}", rec.lab);
        };
        rec.pending.retain(|&p| p != h);
    }
    let pending = rec.pending.clone();
    let results = each(&pending, |h| {
        let said = run_on(
            &rec.hosts,
            h,
            &[rec.bins[h].clone(), "down".into(), rec.lab.clone()],
            None,
        );
        // A copy that never arrived, or a host that has no such lab: nothing of it there.
        let gone = said.code == Some(127)
            || said.why().contains("is not up")
            || said.why().contains("no lab");
        if !said.ok() && !gone {
            return (h, Err(said));
        }
        if rec.copied[h] {
            let script = format!(
                "rm -rf {} && {{ rmdir /run/nsnet.bin 2>/dev/null; true; }}",
                copy_dir(&rec.lab)
            );
            let s = run_on(&rec.hosts, h, &["sh".into(), "-c".into(), script], None);
            if !s.ok() {
                return (h, Err(s));
            }
        }
        (h, Ok(String::from_utf8_lossy(&said.out).trim().to_string()))
    });
    let mut said = Vec::new();
    let mut failed = Vec::new();
    for (h, r) in results {
        let name = &rec.hosts.hosts[h].name;
        match r {
            Ok(s) => {
                rec.pending.retain(|&p| p != h);
                said.push(format!("host {name}: {s}"));
            }
            Err(s) if s.unreachable() => failed.push(format!(
                "host {name} ({}) is unreachable: {}",
                rec.hosts.hosts[h].ssh,
                s.why()
            )),
            Err(s) => failed.push(format!("host {name}: {}", s.why())),
        }
    }
    if failed.is_empty() {
        rec.remove();
        return Ok(said);
    }
    rec.up = false;
    rec.save()?;
    bail!(
        "lab {} is not down everywhere:\n  {}\n  fix: run nsnet down {} again once the host is reachable, or nsnet down {} --forget HOST for a host gone for good",
        rec.lab,
        failed.join("\n  "),
        rec.lab,
        rec.lab
    )
}

/// Runs `nsnet <args…> --lab <lab>` on the host of `node`, with the terminal when `tty`;
/// exits with its status.
pub fn forward(rec: &Record, node: &str, sub: &str, tty: bool) -> anyhow::Result<i32> {
    let Some(h) = rec.host_of(node) else {
        bail!("lab {} has no node {node}", rec.lab);
    };
    forward_to(rec, h, &[sub], tty)
}

/// Runs this command on host `h` (`path`: its subcommand, and subsubcommand, after which
/// `--lab <lab>` goes); returns its status.
fn forward_to(rec: &Record, h: usize, path: &[&str], tty: bool) -> anyhow::Result<i32> {
    let args = remote_args(rec, h, path);
    let status = ssh(&rec.hosts, h, &args, tty)
        .status()
        .context("running ssh")?;
    Ok(status.code().unwrap_or(1))
}

/// This command's own arguments after the subcommand `sub`, for nsnet on host `h`: with
/// `--lab <lab>` first and any `--lab` given here left out.
fn remote_args(rec: &Record, h: usize, path: &[&str]) -> Vec<String> {
    let argv: Vec<String> = std::env::args().collect();
    let mut start = 0;
    for p in path {
        start = argv[start..]
            .iter()
            .position(|a| a == p)
            .map_or(argv.len(), |i| start + i + 1);
    }
    let mut out = vec![rec.bins[h].clone()];
    out.extend(path.iter().map(|p| p.to_string()));
    out.extend(["--lab".to_string(), rec.lab.clone()]);
    let mut it = argv[start..].iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.push(a.clone());
            out.extend(it.cloned());
            break;
        }
        if a == "--lab" {
            it.next();
            continue;
        }
        if a.starts_with("--lab=") {
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// `nsnet link down|up|set LINK` of a spread lab: on the host of each of the link's ends.
pub fn link(rec: &Record, sub: &str, sel: &[String], reroute: bool) -> anyhow::Result<i32> {
    if reroute {
        bail!(
            "--reroute is not for a lab spread over several hosts (lab {}): each host holds a part of its plan",
            rec.lab
        );
    }
    let plan = rec
        .plan
        .as_ref()
        .ok_or_else(|| anyhow!("the record of lab {} has no plan", rec.lab))?;
    // `nodes` is in the plan's order (both by name): the placement `up` made.
    let place = spread::Placement {
        host_of: rec.nodes.iter().map(|(_, h)| *h).collect(),
    };
    let found: Vec<usize> = (0..plan.links.len())
        .filter(|&i| {
            let (a, b) = (&plan.links[i].a, &plan.links[i].b);
            match sel {
                [end] => [a, b].iter().any(|e| e.to_string() == *end),
                [x, y] => (a.node == *x && b.node == *y) || (a.node == *y && b.node == *x),
                _ => false,
            }
        })
        .collect();
    let li = match found.as_slice() {
        [li] => *li,
        [] => bail!("lab {} has no link {}", rec.lab, sel.join(" ")),
        _ => bail!(
            "{} are joined by {} links: name one end (NODE:IFACE)",
            sel.join(" and "),
            found.len()
        ),
    };
    let (ha, hb) = spread::link_hosts(plan, &place)[li];
    let mut code = 0;
    let hosts = if ha == hb { vec![ha] } else { vec![ha, hb] };
    for h in hosts {
        crate::out::outln!("host {}:", rec.hosts.hosts[h].name);
        code = code.max(forward_to(rec, h, &["link", sub], false)?);
    }
    Ok(code)
}

/// `nsnet link show` and `exec --all` of a spread lab: on every host that has nodes, one
/// after the other, each under its name.
pub fn on_every_host(rec: &Record, path: &[&str]) -> anyhow::Result<i32> {
    let mut code = 0;
    for h in rec.hosts_in_use() {
        crate::out::outln!("host {}:", rec.hosts.hosts[h].name);
        code = code.max(forward_to(rec, h, path, false)?);
    }
    Ok(code)
}

/// `nsnet path SRC DST` of a spread lab: the walk begins on SRC's host, and each branch
/// that reaches a node on another host goes on there, until it arrives or breaks.
pub fn path(rec: &Record, src: &str, dst: &str, json: bool) -> anyhow::Result<i32> {
    use nsnet_core::ops::path::{Branch, Hop};
    /// Hosts a branch may cross before it is taken for a loop.
    const MAX_HANDOFFS: usize = 64;
    let mut out: Vec<Branch> = Vec::new();
    // (prefix of hops, start node, handoff, source address)
    /// A walk to make: the hops so far, the node it starts at, how it got there (none
    /// at SRC), the branch's source address.
    type Walk = (
        Vec<Hop>,
        String,
        Option<nsnet_core::ops::path::Handoff>,
        Option<IpAddr>,
    );
    let mut todo: Vec<Walk> = vec![(Vec::new(), src.to_string(), None, None)];
    let mut handoffs = 0;
    while let Some((prefix, start, via, src_ip)) = todo.pop() {
        let Some(h) = rec.host_of(&start) else {
            bail!("lab {} has no node {start}", rec.lab);
        };
        let mut args = vec![
            rec.bins[h].clone(),
            "path".into(),
            "--lab".into(),
            rec.lab.clone(),
            start.clone(),
            dst.to_string(),
            "--json".into(),
        ];
        if let Some(v) = &via {
            args.extend([
                "--at".into(),
                v.at.to_string(),
                "--iif".into(),
                v.iif.clone(),
            ]);
            if let Some(s) = src_ip {
                args.extend(["--src-ip".into(), s.to_string()]);
            }
        }
        let said = run_on(&rec.hosts, h, &args, None);
        let branches: Vec<Branch> = match serde_json::from_slice(&said.out) {
            Ok(b) if said.code.is_some_and(|c| c <= 1) => b,
            _ => bail!("host {}: {}", rec.hosts.hosts[h].name, said.why()),
        };
        for b in branches {
            let mut hops = prefix.clone();
            hops.extend(b.hops);
            match b.handoff {
                Some(next) if hops.iter().any(|x| x.node == next.node) => out.push(Branch {
                    hops,
                    broken: Some(format!("routing loop: back at {}", next.node)),
                    handoff: None,
                    src: b.src,
                }),
                Some(_) if handoffs >= MAX_HANDOFFS => out.push(Branch {
                    hops,
                    broken: Some("too many hops: a routing loop".into()),
                    handoff: None,
                    src: b.src,
                }),
                Some(next) => {
                    handoffs += 1;
                    todo.push((hops, next.node.clone(), Some(next), b.src));
                }
                None => out.push(Branch {
                    hops,
                    broken: b.broken,
                    handoff: None,
                    src: b.src,
                }),
            }
        }
    }
    let ok = out.iter().all(|b| b.broken.is_none());
    if json {
        crate::out::outln!("{}", serde_json::to_string(&out)?);
    } else {
        for b in &out {
            crate::out::outln!("{b}");
        }
    }
    Ok(if ok { 0 } else { 1 })
}

/// `nsnet status LAB` of a spread lab: each host's part.
pub fn status(rec: &Record) -> anyhow::Result<i32> {
    let hs = rec.hosts_in_use();
    let results = each(&hs, |h| {
        run_on(
            &rec.hosts,
            h,
            &[rec.bins[h].clone(), "status".into(), rec.lab.clone()],
            None,
        )
    });
    crate::out::outln!(
        "lab {} is spread over {} host(s){}",
        rec.lab,
        hs.len(),
        if rec.up { "" } else { " (not fully up)" }
    );
    let mut code = 0;
    for (h, said) in hs.iter().zip(results) {
        let host = &rec.hosts.hosts[*h];
        crate::out::outln!("host {} ({}):", host.name, host.ssh);
        if said.ok() {
            for l in String::from_utf8_lossy(&said.out).lines() {
                crate::out::outln!("  {l}");
            }
        } else {
            code = 1;
            crate::out::outln!("  {}", said.why());
        }
    }
    Ok(code)
}
