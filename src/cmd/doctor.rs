use crate::out::out;
use clap::Args;

#[derive(Args, Debug)]
pub struct DoctorCmd {
    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,
}

impl DoctorCmd {
    pub fn run(self) -> super::CmdResult {
        let exe = std::env::current_exe()?;
        let report = nsnet_core::ops::doctor::doctor(&exe);
        if self.json {
            out!("{}\n", serde_json::to_string_pretty(&report)?);
        } else {
            out!("{}", nsnet_core::ops::doctor::render(&report));
        }
        Ok(if report.ready { 0 } else { 1 })
    }
}

/// The probe child of `doctor` (see nsnet_core::ops::doctor).
#[derive(Args, Debug)]
pub struct DoctorProbeCmd {}

impl DoctorProbeCmd {
    pub fn run(self) -> super::CmdResult {
        nsnet_core::ops::doctor::probe_main()
    }
}
