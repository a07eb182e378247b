//! `nsnet test`: run a lab's checks and scenarios, bringing it up and down around them.
use crate::out::outln;
use clap::Args;
use nsnet_core::ops::test::{self, CheckResult, Event, Status};
use nsnet_core::{LabName, RunningLab};
use nsnet_lab::checks::Checks;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

/// Exit statuses: every check passed, one failed, the lab could not be built or reached.
const PASSED: i32 = 0;
const FAILED: i32 = 1;
const NO_LAB: i32 = 2;

#[derive(Args, Debug)]
pub struct TestCmd {
    /// The lab file: brought up unless it is up, taken down afterwards unless --keep
    #[arg(required_unless_present = "lab", conflicts_with = "lab")]
    pub file: Option<PathBuf>,
    /// Test a lab that is up, with the checks its lab file had at `up`
    #[arg(long)]
    pub lab: Option<String>,
    /// Also run the checks and scenarios of this file (repeatable)
    #[arg(long, value_name = "FILE")]
    pub checks: Vec<PathBuf>,
    /// Run only the checks and scenarios whose names contain TEXT (repeatable)
    #[arg(long, short = 'f', value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Leave the lab up afterwards (when this command brought it up)
    #[arg(long)]
    pub keep: bool,
    /// Run the lab under this name instead of the file's (as `up --name`)
    #[arg(long, value_name = "NAME", conflicts_with = "lab")]
    pub name: Option<String>,
    /// Write a JUnit XML report to FILE
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print the results as JSON instead of one line per check
    #[arg(long)]
    pub json: bool,
    /// At most this many checks at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Bring the lab up spread over the machines of this hosts file (as `up --hosts`)
    #[arg(long, value_name = "FILE", conflicts_with = "lab")]
    pub hosts: Option<PathBuf>,
}

impl TestCmd {
    pub fn run(self) -> super::CmdResult {
        let started = SystemTime::now();
        let t = Instant::now();
        // The lab, and whether this command brings it up (and so takes it down).
        let (name, mut checks, ours) = match self.prepare() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("nsnet: {e}");
                return Ok(NO_LAB);
            }
        };
        // A lab spread over several hosts is tested through nsnet's own commands, which go
        // to each node's host; one of this machine directly.
        let spread = match crate::spread::Record::load(name.as_str()) {
            Ok(Some(rec)) => match rec.planned() {
                Ok(plan) => Some(plan),
                Err(e) => {
                    eprintln!("nsnet: {e}");
                    return Ok(self.finish(&name, ours, NO_LAB));
                }
            },
            _ => None,
        };
        let here;
        let (target, topology) = match spread {
            Some(plan) => {
                let topology = plan.topology();
                (
                    test::Target::Spread {
                        name: name.to_string(),
                        plan: Box::new(plan),
                    },
                    topology,
                )
            }
            None => {
                here = match RunningLab::open_name(&name) {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("nsnet: {e}");
                        return Ok(self.finish(&name, ours, NO_LAB));
                    }
                };
                (test::Target::Here(&here), here.plan().topology())
            }
        };
        for f in &self.checks {
            let more = Checks::load(f, &topology).and_then(|m| {
                checks
                    .clone()
                    .merge(m)
                    .map_err(|e| nsnet_lab::LabError::in_file(f.display().to_string(), e).into())
            });
            match more {
                Ok(all) => checks = all,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(self.finish(&name, ours, NO_LAB));
                }
            }
        }
        if checks.is_empty() {
            eprintln!("nsnet: lab {name} has no checks: add [[checks]] to its lab file");
        }
        let opts = test::Options {
            exe: std::env::current_exe().unwrap_or_else(|_| "nsnet".into()),
            jobs: usize::from(self.jobs),
            filter: self.filter.clone(),
        };
        let json = self.json;
        let this = &self;
        let on = |e: Event<'_>| {
            if nsnet_core::build::interrupt::check().is_err() {
                eprintln!("nsnet: test interrupted");
                std::process::exit(this.finish(&name, ours, 130));
            }
            if !json {
                print_event(&e);
            }
        };
        let suites = test::run(target, &checks, &opts, &on);
        let count = |st: Status| {
            suites
                .iter()
                .flat_map(|s| &s.results)
                .filter(|r| r.status == st)
                .count()
        };
        let (passed, failed, skipped) = (
            count(Status::Passed),
            count(Status::Failed),
            count(Status::Skipped),
        );
        let secs = t.elapsed().as_secs_f64();
        if let Some(path) = &self.junit {
            let xml = crate::junit::report(name.as_str(), &suites, started);
            if let Err(e) = std::fs::write(path, xml) {
                eprintln!("nsnet: writing {}: {e}", path.display());
            }
        }
        if json {
            let v = serde_json::json!({
                "lab": name.as_str(),
                "passed": passed,
                "failed": failed,
                "skipped": skipped,
                "seconds": secs,
                "suites": suites,
            });
            outln!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            let skip = if skipped > 0 {
                format!(", {skipped} skipped")
            } else {
                String::new()
            };
            outln!("{passed} passed, {failed} failed{skip} ({secs:.2}s)");
        }
        let code = if failed > 0 { FAILED } else { PASSED };
        Ok(self.finish(&name, ours, code))
    }

    /// The lab to test, its checks, and whether this command brought it up.
    fn prepare(&self) -> anyhow::Result<(LabName, Checks, bool)> {
        if let Some(l) = &self.lab {
            if let Some(rec) = crate::spread::resolve(Some(l))? {
                let plan = rec.planned()?;
                return Ok((LabName::new(&rec.lab)?, plan.checks, false));
            }
            let lab = RunningLab::open(Some(l))?;
            return Ok((lab.name.clone(), lab.plan().checks.clone(), false));
        }
        let file = self
            .file
            .as_ref()
            .expect("clap requires a file without --lab");
        let lab = nsnet_lab::Lab::load_named(file, self.name.as_deref())?;
        let plan = nsnet_lab::plan(&lab)?;
        let name = LabName::new(&plan.lab)?;
        if let Some(hosts) = &self.hosts {
            if crate::spread::Record::load(name.as_str())?.is_some() {
                eprintln!("nsnet: lab {name} is up: testing it as it is (and leaving it up)");
                return Ok((name, plan.checks.clone(), false));
            }
            let hosts = nsnet_lab::spread::Hosts::load(hosts)?;
            nsnet_core::build::interrupt::block();
            let t = Instant::now();
            crate::spread::up(&plan, &hosts, false, false)?;
            eprintln!(
                "nsnet: lab {name} is up on {} host(s) ({} nodes, {:.2}s)",
                hosts.hosts.len(),
                plan.nodes.len(),
                t.elapsed().as_secs_f64()
            );
            return Ok((name, plan.checks, true));
        }
        if RunningLab::open_name(&name).is_ok() {
            eprintln!("nsnet: lab {name} is up: testing it as it is (and leaving it up)");
            return Ok((name, plan.checks.clone(), false));
        }
        nsnet_core::build::up::check_privileges()?;
        // ^C, SIGTERM or SIGHUP: `up` rolls back; later, the lab is taken down.
        nsnet_core::build::interrupt::block();
        let mut timings = nsnet_core::Timings::default();
        let t = Instant::now();
        if nsnet_core::state::paths().rootless() {
            for n in nsnet_core::build::rootless::notes(&plan) {
                eprintln!("nsnet: {n}");
            }
        }
        nsnet_core::build::up::up_with(&plan, false, &mut timings)?;
        eprintln!(
            "nsnet: lab {name} is up ({} nodes, {:.2}s)",
            plan.nodes.len(),
            t.elapsed().as_secs_f64()
        );
        Ok((name, plan.checks, true))
    }

    /// Takes the lab down when this command brought it up (and --keep is not given).
    fn finish(&self, name: &LabName, ours: bool, code: i32) -> i32 {
        if !ours || self.keep {
            return code;
        }
        if let Ok(Some(rec)) = crate::spread::Record::load(name.as_str()) {
            return match crate::spread::down(rec, &[]) {
                Ok(_) => code,
                Err(e) => {
                    eprintln!("nsnet: {e:#}");
                    code.max(FAILED)
                }
            };
        }
        match nsnet_core::down(name) {
            Ok(_) => code,
            Err(errors) => {
                eprintln!("nsnet: lab {name}: teardown left problems:\n{errors}");
                code.max(FAILED)
            }
        }
    }
}

/// One line per check (and its expectation, what was seen and the output when it failed).
fn print_event(e: &Event<'_>) {
    match e {
        Event::Suite { name, scenario } => {
            if *scenario {
                outln!("scenario {name}:");
            }
        }
        Event::Step { text, seconds } => outln!("  ·   {text}  (at {seconds:.2}s)"),
        Event::Result(r) => print_result(r),
    }
}

fn print_result(r: &CheckResult) {
    let word = match r.status {
        Status::Passed => "PASS",
        Status::Failed => "FAIL",
        Status::Skipped => "SKIP",
    };
    let tries = if r.attempts > 1 {
        format!(", {} attempts", r.attempts)
    } else {
        String::new()
    };
    outln!("{word}  {}  ({:.2}s{tries})", r.name, r.seconds);
    if r.status == Status::Failed {
        outln!("        expected: {}", r.expected);
        outln!("        seen:     {}", r.seen);
        if !r.output.is_empty() {
            let out: Vec<&str> = r.output.lines().collect();
            let shown = out.len().min(20);
            outln!("        output:");
            for l in &out[..shown] {
                outln!("          {l}");
            }
            if out.len() > shown {
                outln!("          … ({} more lines)", out.len() - shown);
            }
        }
    }
}
