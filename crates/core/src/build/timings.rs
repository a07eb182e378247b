//! Where the time of `up` and `down` goes, phase by phase (`--timings`), and a [`Progress`]
//! that is told as it goes (the CLI draws a bar from it on a terminal).

use std::time::{Duration, Instant};

/// Told of a long operation's progress as it happens.
pub trait Progress {
    /// The phase named `phase` has ended.
    fn phase_done(&mut self, _phase: &'static str) {}
    /// Within the current phase, `done` of `total` items are done.
    fn tick(&mut self, _done: usize, _total: usize) {}
}

/// The time of each phase, in order.
#[derive(Default)]
pub struct Timings {
    pub phases: Vec<(&'static str, Duration)>,
    last: Option<Instant>,
    progress: Option<Box<dyn Progress>>,
}

impl std::fmt::Debug for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timings")
            .field("phases", &self.phases)
            .finish()
    }
}

impl Clone for Timings {
    /// The phases; the progress observer stays with the original.
    fn clone(&self) -> Self {
        Timings {
            phases: self.phases.clone(),
            last: self.last,
            progress: None,
        }
    }
}

impl Timings {
    /// Timings that also tell `progress`.
    pub fn with_progress(progress: Box<dyn Progress>) -> Timings {
        Timings {
            progress: Some(progress),
            ..Timings::default()
        }
    }

    /// Ends the current phase, naming it. The first phase starts when the first lap or tick
    /// happens, or at [`Timings::start`].
    pub fn lap(&mut self, phase: &'static str) {
        let now = Instant::now();
        let since = self.last.unwrap_or(now);
        self.phases.push((phase, now - since));
        self.last = Some(now);
        if let Some(p) = &mut self.progress {
            p.phase_done(phase);
        }
    }

    /// Tells `progress` from now on.
    pub fn set_progress(&mut self, progress: Box<dyn Progress>) {
        self.progress = Some(progress);
    }

    /// Starts the clock of the first phase.
    pub fn start(&mut self) {
        self.last.get_or_insert_with(Instant::now);
    }

    /// Progress within the current phase: `done` of `total` items.
    pub fn tick(&mut self, done: usize, total: usize) {
        if let Some(p) = &mut self.progress {
            p.tick(done, total);
        }
    }

    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.1).sum()
    }
}
