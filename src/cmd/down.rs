use clap::Args;
use std::path::Path;

#[derive(Args, Debug)]
pub struct DownCmd {
    /// The lab's name, or its lab file
    #[arg(conflicts_with = "all")]
    pub lab: Option<String>,
    /// Tear down every lab that is up
    #[arg(long)]
    pub all: bool,
    /// Print how long each phase took (on stderr)
    #[arg(long)]
    pub timings: bool,
}

impl DownCmd {
    pub fn run(self) -> super::CmdResult {
        let labs = if self.all {
            nsnet_core::down::labs_present()
        } else if let Some(arg) = &self.lab {
            vec![lab_name(arg)?]
        } else {
            let mut present = nsnet_core::down::labs_present();
            match present.len() {
                0 => {
                    println!("no lab is up");
                    return Ok(0);
                }
                1 => vec![present.remove(0)],
                _ => {
                    return Err(format!(
                        "several labs are up ({}): name one, or use --all",
                        present.join(", ")
                    )
                    .into())
                }
            }
        };
        let mut failed = false;
        for lab in labs {
            match nsnet_core::down(&lab) {
                Ok(r) => {
                    if let Some(pid) = r.stopped_up {
                        println!("stopped the `nsnet up` (pid {pid}) that was building lab {lab}");
                    }
                    println!(
                        "lab {lab} is down ({} init(s) stopped, {} netns entr{} removed)",
                        r.stopped,
                        r.unregistered,
                        if r.unregistered == 1 { "y" } else { "ies" }
                    );
                    if self.timings {
                        r.timings.eprint();
                    }
                }
                Err(errors) => {
                    eprintln!("nsnet: lab {lab}: teardown left problems:\n{errors}");
                    failed = true;
                }
            }
        }
        Ok(i32::from(failed))
    }
}

/// A lab name, or the name inside a lab file.
fn lab_name(arg: &str) -> Result<String, Box<dyn std::error::Error>> {
    let path = Path::new(arg);
    if arg.ends_with(".toml") || path.is_file() {
        Ok(nsnet_lab::load_plan(path)?.lab)
    } else {
        Ok(arg.to_string())
    }
}
