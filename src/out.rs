//! Printing that never panics: a closed pipe (`nsnet up lab.toml | true`) or a full disk
//! (`> /dev/full`) on stdout ends the command as an ordinary exit, not an abort. By then the
//! work is done (a lab built, a link changed): the exit status says so; a full disk is
//! reported on stderr.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicI32, Ordering};

/// The exit status when stdout fails: 1, or 0 once the command's work is done.
static ON_FAILURE: AtomicI32 = AtomicI32::new(1);

/// What to exit with if writing stdout fails from now on.
pub fn on_failure(code: i32) {
    ON_FAILURE.store(code, Ordering::Relaxed);
}

/// Writes to stdout; on failure, exits (quietly when the reader went away).
pub fn write(args: fmt::Arguments) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("nsnet: writing to stdout: {e}");
        }
        std::process::exit(ON_FAILURE.load(Ordering::Relaxed));
    }
}

/// `println!` that ends the process cleanly when stdout is closed or full.
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!`, likewise.
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*)) };
}

pub(crate) use {out, outln};
