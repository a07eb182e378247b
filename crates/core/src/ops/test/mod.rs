//! `nsnet test`: a lab's checks and scenarios (`nsnet_lab::checks`) run against the running
//! lab. Independent checks run in parallel, a bounded number at once (they mostly wait on
//! the network); checks that watch a firewall counter move run alone afterwards, so no other
//! check's traffic moves it. Scenarios run after them, one at a time, step by step, and
//! each puts back what it changed (links it took down, impairments it set) when it ends.
//!
//! Results are values: what was expected, what was seen, the programs' output. The CLI
//! words them (text, JSON, JUnit XML).

mod exec;
mod probe;

pub use probe::{json_subset, RouteRow};

use crate::ops::link::{self, ImpairChange, LinkSel};
use crate::running::RunningLab;
use nsnet_lab::checks::{Action, Check, Checks, LinkRef, Probe, Scenario};
use nsnet_lab::{Impair, Plan};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    /// Not run: an earlier step of its scenario failed.
    Skipped,
}

/// One check's result (or a scenario step's, when the step failed).
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    /// `ping`, `tcp` … or `step`.
    pub kind: String,
    pub node: String,
    pub status: Status,
    /// From its first attempt to its verdict.
    pub seconds: f64,
    pub attempts: u32,
    /// What it expected, in words.
    pub expected: String,
    /// What its last attempt saw.
    pub seen: String,
    /// The output of the programs its last attempt ran.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub output: String,
}

/// The lab's checks, or one scenario: their results in file order.
#[derive(Debug, Clone, Serialize)]
pub struct Suite {
    /// The lab's name, or the scenario's.
    pub name: String,
    /// True for a scenario.
    pub scenario: bool,
    pub seconds: f64,
    pub results: Vec<CheckResult>,
}

/// What the runner reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// A suite begins.
    Suite { name: &'a str, scenario: bool },
    /// A check ended.
    Result(&'a CheckResult),
    /// A scenario's step was done.
    Step { text: String, seconds: f64 },
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The nsnet binary (`nsnet exec` runs programs in nodes).
    pub exe: PathBuf,
    /// At most this many checks at once.
    pub jobs: usize,
    /// Run only the checks and scenarios whose names contain one of these (all when empty).
    pub filter: Vec<String>,
}

/// The lab a test runs against: one of this machine, or one spread over several hosts,
/// reached through nsnet's own commands (which go to each node's host).
pub enum Target<'a> {
    /// A lab up on this machine.
    Here(&'a RunningLab),
    /// A spread lab: its name and its whole plan (with routes).
    Spread { name: String, plan: Box<Plan> },
}

/// Runs `checks` against `target`; `on` hears each suite, result and step as it happens.
pub fn run(
    target: Target<'_>,
    checks: &Checks,
    opts: &Options,
    on: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<Suite> {
    let ctx = match target {
        Target::Here(lab) => probe::Ctx {
            lab: Some(lab),
            name: lab.name.to_string(),
            plan: lab.planned(),
            exe: opts.exe.clone(),
        },
        Target::Spread { name, plan } => probe::Ctx {
            lab: None,
            name,
            plan: *plan,
            exe: opts.exe.clone(),
        },
    };
    let r = Runner {
        ctx,
        jobs: opts.jobs.max(1),
        on,
    };
    let wanted = |name: &str| {
        opts.filter.is_empty() || opts.filter.iter().any(|f| name.contains(f.as_str()))
    };
    let mut suites = Vec::new();
    let top: Vec<&Check> = checks.checks.iter().filter(|c| wanted(&c.name)).collect();
    if !top.is_empty() {
        let name = r.ctx.name.clone();
        on(Event::Suite {
            name: &name,
            scenario: false,
        });
        let t = Instant::now();
        let results = r.many(&top);
        suites.push(Suite {
            name,
            scenario: false,
            seconds: t.elapsed().as_secs_f64(),
            results,
        });
    }
    for s in checks.scenarios.iter().filter(|s| wanted(&s.name)) {
        on(Event::Suite {
            name: &s.name,
            scenario: true,
        });
        suites.push(r.scenario(s, checks));
    }
    suites
}

struct Runner<'a> {
    ctx: probe::Ctx<'a>,
    jobs: usize,
    on: &'a (dyn Fn(Event<'_>) + Sync),
}

/// Whether a check watches a firewall counter move (and so must run alone).
fn watches_counter(c: &Check) -> bool {
    match &c.probe {
        Probe::Ping(p) => p.counted_by.is_some(),
        Probe::Tcp(p) | Probe::Udp(p) => p.counted_by.is_some(),
        _ => false,
    }
}

impl Runner<'_> {
    /// The checks, independent ones in parallel; results in the order given.
    fn many(&self, checks: &[&Check]) -> Vec<CheckResult> {
        let slots: Mutex<Vec<Option<CheckResult>>> = Mutex::new(vec![None; checks.len()]);
        let parallel: Vec<usize> = (0..checks.len())
            .filter(|&i| !watches_counter(checks[i]))
            .collect();
        let next = AtomicUsize::new(0);
        let workers = self.jobs.min(parallel.len());
        std::thread::scope(|sc| {
            for _ in 0..workers {
                sc.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = parallel.get(k) else {
                        break;
                    };
                    let res = self.one(checks[i]);
                    (self.on)(Event::Result(&res));
                    slots.lock().expect("no panics hold it")[i] = Some(res);
                });
            }
        });
        for (i, c) in checks.iter().enumerate() {
            if watches_counter(c) {
                let res = self.one(c);
                (self.on)(Event::Result(&res));
                slots.lock().expect("no panics hold it")[i] = Some(res);
            }
        }
        slots
            .into_inner()
            .expect("no panics hold it")
            .into_iter()
            .flatten()
            .collect()
    }

    /// One check, attempted again every `every` until it holds or its `wait` has passed.
    fn one(&self, c: &Check) -> CheckResult {
        let t = Instant::now();
        let wait = c.wait.map(|w| Duration::from_micros(u64::from(w)));
        let every = Duration::from_micros(u64::from(c.every));
        let mut attempts = 0;
        let seen = loop {
            attempts += 1;
            let seen = self.ctx.attempt(c);
            match wait {
                Some(w) if !seen.ok && t.elapsed() + every < w => std::thread::sleep(every),
                _ => break seen,
            }
        };
        let mut seen_words = seen.seen;
        if !seen.ok && attempts > 1 {
            seen_words.push_str(&format!(
                " (after {attempts} attempts in {:.1}s)",
                t.elapsed().as_secs_f64()
            ));
        }
        CheckResult {
            name: c.name.clone(),
            kind: c.probe.kind().to_string(),
            node: c.node.clone(),
            status: if seen.ok {
                Status::Passed
            } else {
                Status::Failed
            },
            seconds: t.elapsed().as_secs_f64(),
            attempts,
            expected: seen.expected,
            seen: seen_words,
            output: seen.output,
        }
    }

    fn scenario(&self, s: &Scenario, checks: &Checks) -> Suite {
        let start = Instant::now();
        let mut results = Vec::new();
        let mut undo = Undo::default();
        let mut failed = false;
        for (i, st) in s.steps.iter().enumerate() {
            let named = |names: &[String]| -> Vec<&Check> {
                names.iter().filter_map(|n| checks.find(s, n)).collect()
            };
            if failed {
                if let Action::Checks { names } = &st.action {
                    for c in named(names) {
                        let res = CheckResult {
                            name: c.name.clone(),
                            kind: c.probe.kind().to_string(),
                            node: c.node.clone(),
                            status: Status::Skipped,
                            seconds: 0.0,
                            attempts: 0,
                            expected: String::new(),
                            seen: "not run: an earlier step failed".into(),
                            output: String::new(),
                        };
                        (self.on)(Event::Result(&res));
                        results.push(res);
                    }
                }
                continue;
            }
            if let Some(at) = st.at {
                let at = Duration::from_micros(u64::from(at));
                if let Some(rest) = at.checked_sub(start.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            if let Action::Checks { names } = &st.action {
                results.extend(self.many(&named(names)));
                continue;
            }
            let t = Instant::now();
            let text = format!("step {}: {}", i + 1, st.action);
            match self.act(&st.action, &mut undo) {
                Ok(()) => (self.on)(Event::Step {
                    text,
                    seconds: start.elapsed().as_secs_f64(),
                }),
                Err(e) => {
                    let res = step_failure(text, t, e);
                    (self.on)(Event::Result(&res));
                    results.push(res);
                    failed = true;
                }
            }
        }
        let t = Instant::now();
        let errors = self.undo(undo);
        if !errors.is_empty() {
            let res = step_failure(
                "putting the lab back after the scenario".into(),
                t,
                errors.join("; "),
            );
            (self.on)(Event::Result(&res));
            results.push(res);
        }
        Suite {
            name: s.name.clone(),
            scenario: true,
            seconds: start.elapsed().as_secs_f64(),
            results,
        }
    }

    fn lab(&self) -> Option<&str> {
        Some(&self.ctx.name)
    }

    /// A link down or up: directly here, through `nsnet link` for a spread lab.
    fn set_link(&self, l: &LinkRef, up: bool, reroute: bool) -> Result<(), String> {
        if self.ctx.lab.is_some() {
            return link::set_link(self.lab(), &sel(l), up, reroute)
                .map(|_| ())
                .map_err(|e| e.to_string());
        }
        let mut args = vec!["link".to_string(), if up { "up" } else { "down" }.into()];
        args.extend(link_words(l));
        if reroute {
            args.push("--reroute".into());
        }
        self.ctx.cli(&args).map(|_| ())
    }

    /// A link's impairments replaced by `imp`: directly here, through `nsnet link set` for
    /// a spread lab.
    fn set_impair(&self, l: &LinkRef, imp: Impair) -> Result<(), String> {
        if self.ctx.lab.is_some() {
            let change = ImpairChange {
                given: imp,
                clear: true,
            };
            return link::set_impair(self.lab(), &sel(l), &change)
                .map(|_| ())
                .map_err(|e| e.to_string());
        }
        let mut args = vec!["link".to_string(), "set".into()];
        args.extend(link_words(l));
        args.push("--clear".into());
        if let Some(r) = imp.rate {
            args.extend(["--rate".into(), format!("{r}bit")]);
        }
        if let Some(d) = imp.delay {
            args.extend(["--delay".into(), format!("{d}us")]);
        }
        if let Some(j) = imp.jitter {
            args.extend(["--jitter".into(), format!("{j}us")]);
        }
        if let Some(p) = imp.loss {
            args.extend(["--loss".into(), format!("{}%", f64::from(p) / 10_000.0)]);
        }
        self.ctx.cli(&args).map(|_| ())
    }

    fn link_index(&self, l: &LinkRef) -> Result<usize, String> {
        link::find_link(&self.ctx.plan, &sel(l)).map_err(|e| e.to_string())
    }

    /// Does a step's action, noting in `undo` what to put back.
    fn act(&self, a: &Action, undo: &mut Undo) -> Result<(), String> {
        match a {
            Action::LinkDown { link: l, reroute } => {
                self.set_link(l, false, *reroute)?;
                undo.down.insert(self.link_index(l)?, (l.clone(), *reroute));
            }
            Action::LinkUp { link: l, reroute } => {
                self.set_link(l, true, *reroute)?;
                undo.down.remove(&self.link_index(l)?);
            }
            Action::Impair { link: l, impair } => {
                self.set_impair(l, *impair)?;
                undo.impaired.insert(self.link_index(l)?, l.clone());
            }
            Action::Restore { link: l } => {
                self.restore(l)?;
                undo.impaired.remove(&self.link_index(l)?);
            }
            Action::Exec { node, command } => {
                let limit = Duration::from_secs(60);
                let ran = exec::run_in(
                    &self.ctx.exe,
                    &self.ctx.name,
                    node,
                    &["/bin/sh", "-c", command],
                    false,
                    limit,
                )?;
                match ran.status {
                    Some(0) => {}
                    Some(s) if ran.output().is_empty() => return Err(format!("exited {s}")),
                    Some(s) => return Err(format!("exited {s}: {}", ran.output())),
                    None => return Err(format!("still running after {limit:?}: killed")),
                }
            }
            Action::Sleep { us } => std::thread::sleep(Duration::from_micros(u64::from(*us))),
            Action::Checks { .. } => {}
        }
        Ok(())
    }

    /// The link's impairments as the lab file gives them.
    fn restore(&self, l: &LinkRef) -> Result<(), String> {
        let li = self.link_index(l)?;
        self.set_impair(l, self.ctx.plan.links[li].impair)
    }

    /// Links the scenario left down come back up, impairments it left are restored.
    fn undo(&self, undo: Undo) -> Vec<String> {
        let mut errors = Vec::new();
        for (l, reroute) in undo.down.into_values() {
            if let Err(e) = self.set_link(&l, true, reroute) {
                errors.push(format!("link_up {l}: {e}"));
            }
        }
        for l in undo.impaired.into_values() {
            if let Err(e) = self.restore(&l) {
                errors.push(format!("restore {l}: {e}"));
            }
        }
        errors
    }
}

/// What a scenario changed, by link index.
#[derive(Default)]
struct Undo {
    down: BTreeMap<usize, (LinkRef, bool)>,
    impaired: BTreeMap<usize, LinkRef>,
}

/// A link as `nsnet link` takes it on its command line.
fn link_words(l: &LinkRef) -> Vec<String> {
    match l {
        LinkRef::End { node, iface } => vec![format!("{node}:{iface}")],
        LinkRef::Between { a, b } => vec![a.clone(), b.clone()],
    }
}

fn sel(l: &LinkRef) -> LinkSel {
    match l {
        LinkRef::End { node, iface } => LinkSel::End {
            node: node.clone(),
            iface: iface.clone(),
        },
        LinkRef::Between { a, b } => LinkSel::Between {
            a: a.clone(),
            b: b.clone(),
        },
    }
}

fn step_failure(name: String, t: Instant, why: String) -> CheckResult {
    CheckResult {
        name,
        kind: "step".into(),
        node: String::new(),
        status: Status::Failed,
        seconds: t.elapsed().as_secs_f64(),
        attempts: 1,
        expected: "the step to succeed".into(),
        seen: why,
        output: String::new(),
    }
}
