//! Where the time of `nsnet up` goes, phase by phase (`nsnet up --timings`).

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Timings {
    pub phases: Vec<(&'static str, Duration)>,
    last: Instant,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            phases: Vec::new(),
            last: Instant::now(),
        }
    }
}

impl Timings {
    /// Ends the current phase, naming it.
    pub fn lap(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.phases.push((phase, now - self.last));
        self.last = now;
    }

    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.1).sum()
    }
}
