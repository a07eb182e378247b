//! The `nsnet` command line: parses arguments, prints, and wires the crates together.
#![forbid(unsafe_code)]

mod cmd;
mod hints;
mod junit;
mod load;
mod out;
mod progress;
mod spread;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // The node init is this same binary started as `nsnet-init`: no clap, no allocation churn.
    if nsnet_core::node::is_init_invocation() {
        nsnet_core::node::main();
    }
    // So is the relay of a lab's published ports (`nsnet-relay <lab>`).
    if nsnet_core::outside::relay::is_relay_invocation() {
        nsnet_core::outside::relay::main();
    }
    // And the keeper of a user's rootless labs (`nsnet-keeper`).
    if nsnet_core::sandbox::is_keeper_invocation() {
        nsnet_core::sandbox::keeper_main();
    }
    // Inside a node the binary is also `systemctl` (bound at /run/nsnet/bin/systemctl).
    if nsnet_core::node::systemctl::is_invocation() {
        nsnet_core::node::systemctl::main();
    }
    let cli = cmd::Cli::parse();
    match cli.run() {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("nsnet: {e}");
            if let Some(fix) = hints::for_error(&e) {
                eprintln!("  fix: {fix}");
            }
            ExitCode::FAILURE
        }
    }
}
