//! The `nsnet` command line: parses arguments, prints, and wires the crates together.
#![forbid(unsafe_code)]

mod cmd;

use clap::Parser;

fn main() {
    // The node init is this same binary started as `nsnet-init`: no clap, no allocation churn.
    if nsnet_core::init::is_init_invocation() {
        nsnet_core::init::main();
    }
    let cli = cmd::Cli::parse();
    let code = match cli.run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nsnet: {e}");
            1
        }
    };
    std::process::exit(code);
}
