//! What the command line shows while `up` runs: a progress bar on a terminal, and with
//! `--timings` each phase's time once it is done.

use nsnet_core::build::timings::Progress;
use nsnet_core::Timings;
use std::io::Write;
use std::time::Instant;

/// The phases of `up` in order, with their usual share of its time (for the bar).
const PHASES: &[(&str, f64)] = &[
    ("plan", 0.05),
    ("images", 0.0),
    ("state", 0.02),
    ("spawn inits", 0.45),
    ("register netns", 0.10),
    ("sysctls", 0.05),
    ("links", 0.10),
    ("addresses, routes", 0.18),
    ("start services", 0.04),
    ("release inits", 0.01),
];

/// A bar on stderr: `[#####     ] links 1.2s`.
pub struct Bar {
    start: Instant,
    done: usize,
}

impl Bar {
    /// A bar for an `up` that has planned its lab already (its first phase).
    pub fn after_plan() -> Bar {
        Bar {
            start: Instant::now(),
            done: 1,
        }
    }

    fn draw(&self, within: f64) {
        let share = |i: usize| PHASES.get(i).map_or(0.0, |p| p.1);
        let frac = ((0..self.done).map(share).sum::<f64>() + share(self.done) * within).min(1.0);
        let next = PHASES.get(self.done).map_or("done", |p| p.0);
        const WIDTH: usize = 30;
        let filled = (frac * WIDTH as f64).round() as usize;
        eprint!(
            "\r\x1b[K[{}{}] {next} {:.1}s",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            self.start.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
    }
}

impl Progress for Bar {
    fn phase_done(&mut self, _phase: &'static str) {
        self.done += 1;
        self.draw(0.0);
    }

    fn tick(&mut self, done: usize, total: usize) {
        if total > 0 && done % 16 == 0 {
            self.draw(done as f64 / total as f64);
        }
    }
}

impl Drop for Bar {
    /// The bar goes before anything else is printed.
    fn drop(&mut self) {
        eprint!("\r\x1b[K");
        let _ = std::io::stderr().flush();
    }
}

/// Every phase and the total, on stderr.
pub fn eprint(t: &Timings) {
    eprintln!("timings:");
    for (phase, d) in &t.phases {
        eprintln!("  {phase:<18} {:>8.3} s", d.as_secs_f64());
    }
    eprintln!("  {:<18} {:>8.3} s", "total", t.total().as_secs_f64());
}
