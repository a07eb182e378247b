//! End-to-end tests of the `nsnet` binary: real namespaces, real processes, run as root.
//! Each test uses its own lab name and brings it down on drop, also when it fails; when not
//! root, each test says "skipped: needs root" and returns.

mod cli;
mod experiments;
mod firewall;
mod labs;
mod nodes;
mod robust;
mod ssh;
mod util;
mod wiring;
