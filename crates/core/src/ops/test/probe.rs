//! One attempt of each kind of check: real traffic from inside the node (ping, a Python
//! socket for TCP and UDP, traceroute, getent or dig, the user's command) or the node's
//! kernel read over netlink (routes, paths, firewall counters), and the verdict.

use super::exec::{run_in, Ran};
use crate::running::RunningLab;
use nsnet_lab::checks::{
    Check, CommandProbe, Expect, PathProbe, Ping, PortProbe, Probe, ResolveProbe, RouteProbe,
    RuleRef, Target,
};
use nsnet_lab::Plan;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How long past its own timeout a probe may run before it is killed. Ping, traceroute, the
/// socket probes and dig each wait for an answer only as long as the check's `timeout`, and
/// that decides the verdict; the grace covers starting `nsnet exec` and the program on a
/// machine under load (a second or more when many labs come and go at once) and only cuts
/// off a probe that hangs.
const GRACE: Duration = Duration::from_secs(20);

/// What one attempt saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub ok: bool,
    /// What the check expects, in words.
    pub expected: String,
    /// What it saw instead (or too, when it passed).
    pub seen: String,
    /// The output of the programs it ran.
    pub output: String,
}

/// What the probes of one run share: the lab, its plan with routes, the nsnet to run
/// `nsnet exec` with.
pub struct Ctx<'a> {
    /// The lab when it is up on this machine; None for a spread lab, whose kernels are
    /// reached through nsnet's own commands.
    pub lab: Option<&'a RunningLab>,
    pub name: String,
    pub plan: Plan,
    pub exe: PathBuf,
}

/// A route as `nsnet __routes` prints it for a check of a spread lab.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RouteRow {
    pub dst: IpAddr,
    pub prefix: u8,
    pub protocol: u8,
    /// (gateway, interface) of each next hop.
    pub nexthops: Vec<(Option<IpAddr>, Option<String>)>,
}

impl RouteRow {
    pub fn of(r: &nsnet_netcfg::RouteInfo) -> RouteRow {
        RouteRow {
            dst: r.dst,
            prefix: r.prefix,
            protocol: r.protocol,
            nexthops: r.nexthops.iter().map(|h| (h.via, h.dev.clone())).collect(),
        }
    }

    fn info(self) -> nsnet_netcfg::RouteInfo {
        nsnet_netcfg::RouteInfo {
            dst: self.dst,
            prefix: self.prefix,
            protocol: self.protocol,
            table: 254,
            nexthops: self
                .nexthops
                .into_iter()
                .map(|(via, dev)| nsnet_netcfg::NextHopInfo {
                    via,
                    ifindex: 0,
                    dev,
                    weight: 1,
                })
                .collect(),
        }
    }
}

impl Ctx<'_> {
    /// `nsnet ARGS --lab NAME`, its stdout (for a spread lab: nsnet takes it to the node's
    /// host).
    pub fn cli(&self, args: &[String]) -> Result<String, String> {
        self.cli_with(args, 0)
    }

    /// [`Ctx::cli`], its stdout taken too when it exits with `also` (`path`: 1 when a
    /// branch breaks).
    fn cli_with(&self, args: &[String], also: i32) -> Result<String, String> {
        let o = std::process::Command::new(&self.exe)
            .args(args)
            .args(["--lab", &self.name])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", self.exe.display()))?;
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        if o.status.success() || (o.status.code() == Some(also) && !out.trim().is_empty()) {
            return Ok(out);
        }
        let e = String::from_utf8_lossy(&o.stderr);
        Err(e.trim().trim_start_matches("nsnet: ").to_string())
    }

    /// A node's routes of one family, from its kernel.
    fn routes(&self, node: &str, v6: bool) -> Result<Vec<nsnet_netcfg::RouteInfo>, String> {
        let Some(lab) = self.lab else {
            let mut args = vec!["__routes".to_string(), node.to_string()];
            if v6 {
                args.push("--v6".into());
            }
            let rows: Vec<RouteRow> =
                serde_json::from_str(&self.cli(&args)?).map_err(|e| e.to_string())?;
            return Ok(rows.into_iter().map(RouteRow::info).collect());
        };
        lab.node(node)
            .map_err(|e| e.to_string())
            .and_then(|n| n.rt_socket().map_err(|e| e.to_string()))
            .and_then(|mut s| s.routes(v6).map_err(|e| e.to_string()))
    }

    fn run(&self, node: &str, argv: &[&str], probe: bool, limit: Duration) -> Result<Ran, String> {
        run_in(&self.exe, &self.name, node, argv, probe, limit)
    }

    /// The address traffic goes to: a node's first of the family (IPv4 first), an address,
    /// or a name for the node to resolve.
    fn addr_of(&self, t: &Target, family: Option<u8>) -> Result<String, String> {
        match t {
            Target::Node(n) => {
                let node = self
                    .plan
                    .node(n)
                    .ok_or_else(|| format!("lab {} has no node {n}", self.name))?;
                let mut addrs: Vec<IpAddr> = node
                    .addrs()
                    .map(|c| c.addr)
                    .filter(|a| family.is_none_or(|f| a.is_ipv4() == (f == 4)))
                    .collect();
                addrs.sort_by_key(|a| !a.is_ipv4());
                addrs
                    .first()
                    .map(|a| a.to_string())
                    .ok_or_else(|| match family {
                        Some(f) => format!("{n} has no IPv{f} address"),
                        None => format!("{n} has no address"),
                    })
            }
            Target::Addr(a) => Ok(a.to_string()),
            Target::Name(n) => Ok(n.clone()),
        }
    }

    /// The node an address belongs to (or the address itself).
    fn owner(&self, a: &str) -> String {
        let Ok(ip) = a.parse::<IpAddr>() else {
            return a.to_string();
        };
        self.plan
            .nodes
            .iter()
            .find(|n| n.addrs().any(|c| c.addr == ip))
            .map_or_else(|| a.to_string(), |n| n.name.clone())
    }

    /// A firewall rule's packet counter.
    pub fn counter(&self, r: &RuleRef) -> Result<u64, String> {
        if self.lab.is_none() {
            let counts: Vec<Option<u64>> =
                serde_json::from_str(&self.cli(&["__fw-counts".into(), r.node.clone()])?)
                    .map_err(|e| e.to_string())?;
            return counts
                .get(r.rule - 1)
                .copied()
                .flatten()
                .ok_or_else(|| format!("rule {r} is not in {}'s kernel", r.node));
        }
        let (_, rules) = crate::ops::fw::counters(Some(&self.name), &r.node)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} has no firewall", r.node))?;
        rules
            .get(r.rule - 1)
            .and_then(|c| c.counts)
            .map(|(p, _)| p)
            .ok_or_else(|| format!("rule {r} is not in {}'s kernel", r.node))
    }

    /// One attempt of `c`.
    pub fn attempt(&self, c: &Check) -> Seen {
        let limit = Duration::from_micros(u64::from(c.timeout));
        let counted_by = match &c.probe {
            Probe::Ping(p) => p.counted_by.as_ref(),
            Probe::Tcp(p) | Probe::Udp(p) => p.counted_by.as_ref(),
            _ => None,
        };
        let before = counted_by.map(|r| self.counter(r));
        let mut seen = match &c.probe {
            Probe::Ping(p) => self.ping(&c.node, p, limit),
            Probe::Tcp(p) => self.port(&c.node, p, true, limit),
            Probe::Udp(p) => self.port(&c.node, p, false, limit),
            Probe::Path(p) => self.path(&c.node, p, limit),
            Probe::Route(r) => self.route(&c.node, r),
            Probe::Rule(r) => {
                let rr = RuleRef {
                    node: c.node.clone(),
                    rule: r.rule,
                };
                let expected = format!("rule {rr} counted ≥ {} packet(s)", r.packets);
                match self.counter(&rr) {
                    Ok(n) => Seen {
                        ok: n >= r.packets,
                        expected,
                        seen: format!("{n} packet(s)"),
                        output: String::new(),
                    },
                    Err(e) => failed(expected, e),
                }
            }
            Probe::Resolve(r) => self.resolve(&c.node, r, limit),
            Probe::Command(cmd) => self.command(&c.node, cmd, limit),
        };
        if let (Some(r), Some(before)) = (counted_by, before) {
            let after = self.counter(r);
            seen.expected.push_str(&format!(", counted by rule {r}"));
            match (before, after) {
                (Ok(b), Ok(a)) => {
                    seen.ok &= a > b;
                    seen.seen
                        .push_str(&format!("; rule {r} counted {} packet(s)", a - b.min(a)));
                }
                (Err(e), _) | (_, Err(e)) => {
                    seen.ok = false;
                    seen.seen.push_str(&format!("; {e}"));
                }
            }
        }
        seen
    }

    fn ping(&self, node: &str, p: &Ping, limit: Duration) -> Seen {
        let expected = match (p.expect, p.rtt, p.loss) {
            (Expect::Unreachable, ..) => format!("{} unreachable", p.to),
            (_, rtt, loss) => {
                let mut s = format!("{} reachable", p.to);
                let t = nsnet_lab::impair::format_time;
                let l = nsnet_lab::impair::format_loss;
                if let Some(lo) = rtt.0 {
                    s.push_str(&format!(", rtt ≥ {}", t(lo)));
                }
                if let Some(hi) = rtt.1 {
                    s.push_str(&format!(", rtt ≤ {}", t(hi)));
                }
                if let Some(lo) = loss.0 {
                    s.push_str(&format!(", loss ≥ {}", l(lo)));
                }
                if let Some(hi) = loss.1 {
                    s.push_str(&format!(", loss ≤ {}", l(hi)));
                }
                s
            }
        };
        let dst = match self.addr_of(&p.to, p.family) {
            Ok(d) => d,
            Err(e) => return failed(expected, e),
        };
        let wait = limit.as_secs_f64().ceil().max(1.0) as u64;
        let (count, wait_s) = (p.count.to_string(), wait.to_string());
        let size = p.size.map(|s| s.to_string());
        let mut argv = vec!["ping", "-n", "-c", &count, "-i", "0.05", "-W", &wait_s];
        if let Some(s) = &size {
            argv.extend(["-s", s]);
        }
        match p.family {
            Some(4) => argv.push("-4"),
            Some(6) => argv.push("-6"),
            _ => {}
        }
        argv.push(&dst);
        let total = limit + Duration::from_millis(60 * u64::from(p.count)) + GRACE;
        let ran = match self.run(node, &argv, true, total) {
            Ok(r) => r,
            Err(e) => return failed(expected, e),
        };
        let (sent, got) = ping_counts(&ran.stdout);
        let rtt = ping_rtt(&ran.stdout);
        // No summary: ping could not send (no route: "connect: Network is unreachable"),
        // or did not run at all.
        let complaint = ran.stderr.lines().next().unwrap_or("").trim().to_string();
        let cannot_send = sent.is_none() && complaint.contains("unreachable");
        let mut seen = match (sent, got) {
            (Some(s), Some(0)) => format!("no reply to {s} ping(s) to {dst}"),
            (Some(s), Some(g)) => format!("{g}/{s} replies from {dst}"),
            _ if !complaint.is_empty() => complaint,
            _ => format!("ping gave no summary (status {})", status_word(&ran)),
        };
        let mut ok = match p.expect {
            Expect::Unreachable => got == Some(0) || cannot_send,
            _ => got.is_some_and(|g| g > 0),
        };
        if let Some(avg) = rtt {
            seen.push_str(&format!(", rtt avg {:.1}ms", avg as f64 / 1000.0));
            ok &= p.rtt.0.is_none_or(|lo| avg >= lo) && p.rtt.1.is_none_or(|hi| avg <= hi);
        } else if p.rtt != (None, None) {
            ok = false;
        }
        if let (Some(s), Some(g)) = (sent, got) {
            if s > 0 && p.loss != (None, None) {
                let loss = ((s - g.min(s)) as u64 * 1_000_000 / s as u64) as u32;
                seen.push_str(&format!(", loss {}", nsnet_lab::impair::format_loss(loss)));
                ok &= p.loss.0.is_none_or(|lo| loss >= lo) && p.loss.1.is_none_or(|hi| loss <= hi);
            }
        }
        Seen {
            ok,
            expected,
            seen,
            output: ran.output(),
        }
    }

    fn port(&self, node: &str, p: &PortProbe, tcp: bool, limit: Duration) -> Seen {
        let proto = if tcp { "tcp" } else { "udp" };
        let expected = format!("{proto} {}:{} {}", p.to, p.port, p.expect);
        let dst = match self.addr_of(&p.to, p.family) {
            Ok(d) => d,
            Err(e) => return failed(expected, e),
        };
        let fam = match p.family {
            Some(4) => "4",
            Some(6) => "6",
            _ => "0",
        };
        let secs = format!("{:.3}", limit.as_secs_f64());
        let payload = p.send.clone().unwrap_or_else(|| "\n".into());
        let script = if tcp { TCP_PY } else { UDP_PY };
        let port = p.port.to_string();
        let argv = ["python3", "-c", script, &dst, &port, fam, &secs, &payload];
        let ran = match self.run(node, &argv, true, limit + GRACE) {
            Ok(r) => r,
            Err(e) => return failed(expected, e),
        };
        let line = ran.stdout.lines().next().unwrap_or("").trim().to_string();
        let word = line
            .split(|c: char| c == ':' || c.is_whitespace())
            .next()
            .unwrap_or("");
        let ok = word == p.expect.word();
        let seen = if line.is_empty() {
            format!("no verdict (status {})", status_word(&ran))
        } else {
            line
        };
        Seen {
            ok,
            expected,
            seen,
            output: if ok { String::new() } else { ran.output() },
        }
    }

    fn path(&self, node: &str, p: &PathProbe, limit: Duration) -> Seen {
        let mut expected = format!("path to {} {}", p.to, p.expect);
        if !p.via.is_empty() {
            expected.push_str(&format!(" via {}", p.via.join(", ")));
        }
        let dst = match (&p.to, self.addr_of(&p.to, p.family)) {
            (Target::Name(n), _) => {
                return failed(
                    expected,
                    format!("`{n}` is a name: a path needs a node or an address"),
                )
            }
            (_, Ok(d)) => d,
            (_, Err(e)) => return failed(expected, e),
        };
        let walked = if self.lab.is_some() {
            crate::ops::path::path(Some(&self.name), node, &dst).map_err(|e| e.to_string())
        } else {
            // A spread lab: `nsnet path` walks it across its hosts.
            let args = [
                "path".into(),
                node.to_string(),
                dst.clone(),
                "--json".into(),
            ];
            self.cli_with(&args, 1)
                .and_then(|out| serde_json::from_str(&out).map_err(|e| e.to_string()))
        };
        let branches = match walked {
            Ok(b) => b,
            Err(e) => return failed(expected, e.to_string()),
        };
        let through = |nodes: &[String]| is_subsequence(&p.via, nodes);
        let mut ok = match p.expect {
            Expect::Breaks => branches.iter().any(|b| b.broken.is_some()),
            _ => {
                !branches.is_empty()
                    && branches.iter().all(|b| {
                        let hops: Vec<String> = b.hops.iter().map(|h| h.node.clone()).collect();
                        b.broken.is_none() && through(&hops)
                    })
            }
        };
        let mut seen: Vec<String> = branches.iter().map(|b| b.to_string()).collect();
        let mut output = String::new();
        if p.traceroute {
            // One probe at a time (-N 1): parallel probes that all reach the destination
            // meet its ICMP rate limit, and the hop it answers is not the first.
            let argv = [
                "traceroute",
                "-n",
                "-N",
                "1",
                "-q",
                "1",
                "-w",
                "1",
                "-m",
                "20",
                &dst,
            ];
            match self.run(node, &argv, true, limit) {
                Ok(ran) => {
                    let hops = traceroute_hops(&ran.stdout);
                    let reached = hops
                        .last()
                        .is_some_and(|h| h.as_deref() == Some(dst.as_str()));
                    let mut nodes = vec![node.to_string()];
                    nodes.extend(
                        hops.iter()
                            .map(|h| h.as_deref().map_or("*".into(), |a| self.owner(a))),
                    );
                    let t_ok = match p.expect {
                        Expect::Breaks => !reached,
                        _ => reached && through(&nodes),
                    };
                    seen.push(format!("traceroute: {}", nodes.join(" → ")));
                    ok &= t_ok;
                    output = ran.output();
                }
                Err(e) => {
                    ok = false;
                    seen.push(e);
                }
            }
        }
        Seen {
            ok,
            expected,
            seen: seen.join("; "),
            output,
        }
    }

    fn route(&self, node: &str, r: &RouteProbe) -> Seen {
        let mut expected = format!("route {}", r.to);
        if let Some(v) = r.via {
            expected.push_str(&format!(" via {v}"));
        }
        if let Some(d) = &r.dev {
            expected.push_str(&format!(" dev {d}"));
        }
        if let Some((_, p)) = &r.proto {
            expected.push_str(&format!(" proto {p}"));
        }
        expected.push_str(&format!(" {}", r.expect));
        let routes = self.routes(node, !r.to.is_v4());
        let routes = match routes {
            Ok(rs) => rs,
            Err(e) => return failed(expected, e),
        };
        let same: Vec<_> = routes
            .iter()
            .filter(|x| x.dst == r.to.addr && x.prefix == r.to.prefix)
            .collect();
        let fits = |x: &&nsnet_netcfg::RouteInfo| {
            r.via
                .is_none_or(|v| x.nexthops.iter().any(|h| h.via == Some(v)))
                && r.dev
                    .as_ref()
                    .is_none_or(|d| x.nexthops.iter().any(|h| h.dev.as_deref() == Some(d)))
                && r.proto.as_ref().is_none_or(|(p, _)| x.protocol == *p)
        };
        let found = same.iter().any(fits);
        let ok = found == (r.expect == Expect::Present);
        let seen = if same.is_empty() {
            format!("{node} has no route to {}", r.to)
        } else {
            same.iter()
                .map(|x| route_words(x))
                .collect::<Vec<_>>()
                .join("; ")
        };
        Seen {
            ok,
            expected,
            seen,
            output: String::new(),
        }
    }

    fn resolve(&self, node: &str, r: &ResolveProbe, limit: Duration) -> Seen {
        let mut expected = format!("{} {}", r.name, r.expect);
        if let Some(a) = r.address {
            expected.push_str(&format!(" to {a}"));
        }
        let secs = limit.as_secs().max(1);
        let time = format!("+time={secs}");
        // getent asks the node's resolver, which waits as its resolv.conf says (5 s, twice,
        // by default): the check's timeout goes to glibc through RES_OPTIONS.
        let res_options = format!("RES_OPTIONS=timeout:{secs} attempts:1");
        let server = r.server.map(|s| format!("@{s}"));
        let argv: Vec<&str> = match &server {
            Some(s) => {
                let mut v = vec!["dig", "+short", "+tries=1", &time, s];
                if r.family != Some(6) {
                    v.extend([r.name.as_str(), "A"]);
                }
                if r.family != Some(4) {
                    v.extend([r.name.as_str(), "AAAA"]);
                }
                v
            }
            None => {
                let db = match r.family {
                    Some(4) => "ahostsv4",
                    Some(6) => "ahostsv6",
                    _ => "ahosts",
                };
                vec!["env", &res_options, "getent", db, &r.name]
            }
        };
        let ran = match self.run(node, &argv, true, limit + GRACE) {
            Ok(r) => r,
            Err(e) => return failed(expected, e),
        };
        let mut addrs: Vec<IpAddr> = Vec::new();
        for l in ran.stdout.lines() {
            if let Some(a) = l.split_whitespace().next().and_then(|w| w.parse().ok()) {
                if !addrs.contains(&a) {
                    addrs.push(a);
                }
            }
        }
        let ok = match r.expect {
            Expect::Fails => addrs.is_empty(),
            _ => !addrs.is_empty() && r.address.is_none_or(|a| addrs.contains(&a)),
        };
        let how = r.server.map_or("the node's resolver".to_string(), |s| {
            format!("DNS server {s}")
        });
        let seen = if addrs.is_empty() {
            format!("{how} gives no address (status {})", status_word(&ran))
        } else {
            let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
            format!("{how} gives {}", list.join(", "))
        };
        Seen {
            ok,
            expected,
            seen,
            output: if ok { String::new() } else { ran.output() },
        }
    }

    fn command(&self, node: &str, c: &CommandProbe, limit: Duration) -> Seen {
        let mut want = vec![format!("status {}", c.status)];
        want.extend(
            c.contains
                .iter()
                .map(|t| format!("output containing {t:?}")),
        );
        if let Some(m) = &c.matches {
            want.push(format!("output matching /{m}/"));
        }
        if let Some(j) = &c.json {
            want.push(format!("JSON containing {j}"));
        }
        let expected = want.join(", ");
        let ran = match self.run(node, &["/bin/sh", "-c", &c.command], false, limit) {
            Ok(r) => r,
            Err(e) => return failed(expected, e),
        };
        let mut wrong = Vec::new();
        match ran.status {
            None => wrong.push(format!("killed after {:.1}s", limit.as_secs_f64())),
            Some(s) if s != c.status => wrong.push(format!("status {s}")),
            _ => {}
        }
        for t in &c.contains {
            if !ran.stdout.contains(t.as_str()) {
                wrong.push(format!("no {t:?} in the output"));
            }
        }
        if let Some(m) = &c.matches {
            match regex::Regex::new(m) {
                Ok(re) if re.is_match(&ran.stdout) => {}
                Ok(_) => wrong.push(format!("nothing matching /{m}/ in the output")),
                Err(e) => wrong.push(e.to_string()),
            }
        }
        if let Some(j) = &c.json {
            match serde_json::from_str::<serde_json::Value>(&ran.stdout) {
                Ok(got) if json_subset(j, &got) => {}
                Ok(_) => wrong.push(format!("the JSON output does not contain {j}")),
                Err(e) => wrong.push(format!("the output is not JSON ({e})")),
            }
        }
        let ok = wrong.is_empty();
        Seen {
            ok,
            expected,
            seen: if ok {
                format!("status {}", status_word(&ran))
            } else {
                wrong.join(", ")
            },
            output: ran.output(),
        }
    }
}

fn failed(expected: String, why: String) -> Seen {
    Seen {
        ok: false,
        expected,
        seen: why,
        output: String::new(),
    }
}

fn status_word(r: &Ran) -> String {
    r.status
        .map_or_else(|| "killed at its limit".into(), |s| s.to_string())
}

/// `10.0.2.0/24 via 10.0.12.2 dev eth1 proto ospf`, the next hops' words repeated.
fn route_words(r: &nsnet_netcfg::RouteInfo) -> String {
    let mut s = format!("{}/{}", r.dst, r.prefix);
    for h in &r.nexthops {
        if let Some(v) = h.via {
            s.push_str(&format!(" via {v}"));
        }
        if let Some(d) = &h.dev {
            s.push_str(&format!(" dev {d}"));
        }
    }
    let names: HashMap<u8, &str> = [
        (2, "kernel"),
        (3, "boot"),
        (4, "static"),
        (11, "zebra"),
        (186, "bgp"),
        (187, "isis"),
        (188, "ospf"),
        (189, "rip"),
    ]
    .into_iter()
    .collect();
    match names.get(&r.protocol) {
        Some(n) => s.push_str(&format!(" proto {n}")),
        None => s.push_str(&format!(" proto {}", r.protocol)),
    }
    s
}

/// `5 packets transmitted, 4 received, …`
fn ping_counts(out: &str) -> (Option<u32>, Option<u32>) {
    for l in out.lines() {
        if let Some((a, rest)) = l.split_once(" packets transmitted, ") {
            let sent = a.trim().parse().ok();
            let got = rest.split_whitespace().next().and_then(|w| w.parse().ok());
            return (sent, got);
        }
    }
    (None, None)
}

/// The average of `rtt min/avg/max/mdev = 0.05/0.06/0.08/0.01 ms`, microseconds.
fn ping_rtt(out: &str) -> Option<u32> {
    let l = out
        .lines()
        .find(|l| l.starts_with("rtt ") || l.starts_with("round-trip"))?;
    let nums = l.split('=').nth(1)?.trim();
    let avg: f64 = nums.split('/').nth(1)?.trim().parse().ok()?;
    Some((avg * 1000.0).round() as u32)
}

/// Each hop's address (None: `*`), from `traceroute -n -q 1`.
fn traceroute_hops(out: &str) -> Vec<Option<String>> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.next()?.parse::<u32>().ok()?;
            let a = w.next()?;
            Some((a != "*").then(|| a.to_string()))
        })
        .collect()
}

/// True when `want` appears in `have` in order (others may lie between).
fn is_subsequence(want: &[String], have: &[String]) -> bool {
    let mut it = have.iter();
    want.iter().all(|w| it.any(|h| h == w))
}

/// True when `got` holds `want`: objects the keys given (with values that hold theirs),
/// arrays an element holding each one given, numbers equal as numbers, the rest equal.
pub fn json_subset(want: &serde_json::Value, got: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (want, got) {
        (V::Object(w), V::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| json_subset(v, gv))),
        (V::Array(w), V::Array(g)) => w.iter().all(|wv| g.iter().any(|gv| json_subset(wv, gv))),
        (V::Number(a), V::Number(b)) => a.as_f64() == b.as_f64(),
        _ => want == got,
    }
}

/// TCP: `python3 -c TCP_PY HOST PORT FAMILY TIMEOUT PAYLOAD` prints open, closed, filtered
/// (no answer, or an ICMP host unreachable / administratively prohibited) or unreachable
/// (no route).
const TCP_PY: &str = r#"
import errno, socket, sys
host, port, fam, t = sys.argv[1], int(sys.argv[2]), {"0": 0, "4": socket.AF_INET, "6": socket.AF_INET6}[sys.argv[3]], float(sys.argv[4])
try:
    ai = socket.getaddrinfo(host, port, fam, socket.SOCK_STREAM)[0]
except OSError as e:
    print("unresolved", e); sys.exit(0)
s = socket.socket(ai[0], socket.SOCK_STREAM)
s.settimeout(t)
try:
    s.connect(ai[4]); print("open", ai[4][0])
except socket.timeout:
    print("filtered: no answer within", t, "s")
except ConnectionRefusedError:
    print("closed: connection refused")
except OSError as e:
    if e.errno == errno.EHOSTUNREACH:
        print("filtered: host unreachable or prohibited")
    else:
        print("unreachable:", e.strerror)
"#;

/// UDP: sends PAYLOAD and prints open (an answer came), closed (ICMP port unreachable),
/// filtered (nothing within the timeout) or unreachable.
const UDP_PY: &str = r#"
import errno, socket, sys
host, port, fam, t, data = sys.argv[1], int(sys.argv[2]), {"0": 0, "4": socket.AF_INET, "6": socket.AF_INET6}[sys.argv[3]], float(sys.argv[4]), sys.argv[5]
try:
    ai = socket.getaddrinfo(host, port, fam, socket.SOCK_DGRAM)[0]
except OSError as e:
    print("unresolved", e); sys.exit(0)
s = socket.socket(ai[0], socket.SOCK_DGRAM)
s.settimeout(t)
try:
    s.connect(ai[4]); s.send(data.encode())
    got = s.recv(65535); print("open: answered", len(got), "bytes")
except socket.timeout:
    print("filtered: no answer within", t, "s")
except ConnectionRefusedError:
    print("closed: ICMP port unreachable")
except OSError as e:
    if e.errno == errno.EHOSTUNREACH:
        print("filtered: host unreachable or prohibited")
    else:
        print("unreachable:", e.strerror)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_summary() {
        let out = "PING 10.0.1.3 (10.0.1.3) 56(84) bytes of data.\n\n--- 10.0.1.3 ping statistics ---\n5 packets transmitted, 4 received, 20% packet loss, time 4005ms\nrtt min/avg/max/mdev = 0.041/0.066/0.081/0.014 ms\n";
        assert_eq!(ping_counts(out), (Some(5), Some(4)));
        assert_eq!(ping_rtt(out), Some(66));
        assert_eq!(ping_counts("ping: unknown host"), (None, None));
    }

    #[test]
    fn traceroute_lines() {
        let out = "traceroute to 10.0.1.3 (10.0.1.3), 20 hops max, 60 byte packets\n 1  10.0.0.1  0.1 ms\n 2  *\n 3  10.0.1.3  0.2 ms\n";
        assert_eq!(
            traceroute_hops(out),
            [
                Some("10.0.0.1".to_string()),
                None,
                Some("10.0.1.3".to_string())
            ]
        );
    }

    #[test]
    fn subsets() {
        let got: serde_json::Value = serde_json::from_str(
            r#"{"neighbors": {"10.255.0.2": [{"nbrState": "Full/-", "priority": 1}]}, "x": 2.0}"#,
        )
        .unwrap();
        let yes =
            serde_json::json!({"neighbors": {"10.255.0.2": [{"nbrState": "Full/-"}]}, "x": 2});
        let no = serde_json::json!({"neighbors": {"10.255.0.2": [{"nbrState": "Init/-"}]}});
        assert!(json_subset(&yes, &got));
        assert!(!json_subset(&no, &got));
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_subsequence(
            &v(&["r1", "r3"]),
            &v(&["h1", "r1", "r2", "r3", "h4"])
        ));
        assert!(!is_subsequence(
            &v(&["r3", "r1"]),
            &v(&["h1", "r1", "r2", "r3", "h4"])
        ));
    }
}
