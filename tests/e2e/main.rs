//! End-to-end tests of the `nsnet` binary: real namespaces, real processes, run as root.
//! Each test uses its own lab name and brings it down on drop, also when it fails; when not
//! root, each test says "skipped: needs root" and returns.

mod checks;
mod cli;
mod doctor;
mod experiments;
mod firewall;
mod hardening;
mod import;
mod l2;
mod labs;
mod nodes;
mod observe;
mod outside;
mod robust;
mod rootless;
mod services;
mod software;
mod spread;
mod ssh;
mod startup;
mod util;
mod wiring;
