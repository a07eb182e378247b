//! Where the time of `nsnet up` goes, phase by phase (`nsnet up --timings`), and the
//! progress bar a terminal shows meanwhile.

use std::io::Write;
use std::time::{Duration, Instant};

/// The phases of `up` in order, with their usual share of its time (for the bar).
const PHASES: &[(&str, f64)] = &[
    ("plan", 0.05),
    ("state", 0.02),
    ("spawn inits", 0.45),
    ("register netns", 0.10),
    ("sysctls", 0.05),
    ("links", 0.10),
    ("addresses, routes", 0.18),
    ("start services", 0.04),
    ("release inits", 0.01),
];

#[derive(Debug, Clone)]
pub struct Timings {
    pub phases: Vec<(&'static str, Duration)>,
    last: Instant,
    start: Instant,
    /// Draw a progress bar on stderr (a terminal).
    progress: bool,
}

impl Default for Timings {
    fn default() -> Self {
        let now = Instant::now();
        Timings {
            phases: Vec::new(),
            last: now,
            start: now,
            progress: false,
        }
    }
}

impl Timings {
    /// Draw (or not) a progress bar on stderr from now on.
    pub fn set_progress(&mut self, progress: bool) {
        self.progress = progress;
    }

    /// Ends the current phase, naming it.
    pub fn lap(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.phases.push((phase, now - self.last));
        self.last = now;
        self.draw(0.0);
    }

    /// Progress within the current phase: `done` of `total` items.
    pub fn tick(&self, done: usize, total: usize) {
        if self.progress && total > 0 && done % 16 == 0 {
            self.draw(done as f64 / total as f64);
        }
    }

    /// Clears the progress bar (before printing the result).
    pub fn finish(&self) {
        if self.progress {
            eprint!("\r\x1b[K");
            let _ = std::io::stderr().flush();
        }
    }

    /// Prints every phase and the total on stderr.
    pub fn eprint(&self) {
        eprintln!("timings:");
        for (phase, d) in &self.phases {
            eprintln!("  {phase:<18} {:>8.3} s", d.as_secs_f64());
        }
        eprintln!("  {:<18} {:>8.3} s", "total", self.total().as_secs_f64());
    }

    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.1).sum()
    }

    fn draw(&self, within: f64) {
        if !self.progress {
            return;
        }
        let done = self.phases.len();
        let share = |i: usize| PHASES.get(i).map_or(0.0, |p| p.1);
        let frac = ((0..done).map(share).sum::<f64>() + share(done) * within).min(1.0);
        let next = PHASES.get(done).map_or("done", |p| p.0);
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
