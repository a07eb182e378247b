use crate::out::outln;
use clap::Args;
use nsnet_core::LabName;

#[derive(Args, Debug)]
pub struct DownCmd {
    /// The lab's name, or its lab file (a Kathará lab directory or a containerlab file too)
    #[arg(conflicts_with = "all")]
    pub lab: Option<String>,
    /// Tear down every lab that is up
    #[arg(long)]
    pub all: bool,
    /// Print how long each phase took (on stderr)
    #[arg(long)]
    pub timings: bool,
    /// A lab spread over several hosts: drop HOST without asking it (a host gone for good)
    #[arg(long, value_name = "HOST")]
    pub forget: Vec<String>,
}

impl DownCmd {
    pub fn run(self) -> super::CmdResult {
        // A lab spread over several hosts: down on every host, here nothing but its record.
        let spread = match &self.lab {
            Some(arg) => crate::spread::resolve(Some(arg))?.into_iter().collect(),
            None if self.all => crate::spread::labs()
                .iter()
                .filter_map(|l| crate::spread::Record::load(l).ok().flatten())
                .collect(),
            None => crate::spread::resolve(None)?
                .into_iter()
                .collect::<Vec<_>>(),
        };
        if !spread.is_empty() {
            let mut failed = false;
            for rec in spread {
                let lab = rec.lab.clone();
                match crate::spread::down(rec, &self.forget) {
                    Ok(said) => {
                        for s in said {
                            outln!("{s}");
                        }
                        outln!("lab {lab} is down on every host");
                    }
                    Err(e) => {
                        eprintln!("nsnet: {e:#}");
                        failed = true;
                    }
                }
            }
            if self.lab.is_some() || !self.all {
                return Ok(i32::from(failed));
            }
        } else if !self.forget.is_empty() {
            anyhow::bail!("--forget is for a lab spread over several hosts");
        }
        let labs = if self.all {
            nsnet_core::labs_present()
        } else if let Some(arg) = &self.lab {
            vec![lab_name(arg)?]
        } else {
            let mut present = nsnet_core::labs_present();
            match present.len() {
                0 => {
                    outln!("no lab is up");
                    return Ok(0);
                }
                1 => vec![present.remove(0)],
                _ => {
                    let names: Vec<&str> = present.iter().map(|l| l.as_str()).collect();
                    anyhow::bail!(
                        "several labs are up ({}): name one, or use --all",
                        names.join(", ")
                    );
                }
            }
        };
        let mut failed = false;
        crate::out::on_failure(0);
        for lab in labs {
            match nsnet_core::down(&lab) {
                Ok(r) => {
                    if let Some(pid) = r.stopped_up {
                        outln!("stopped the `nsnet up` (pid {pid}) that was building lab {lab}");
                    }
                    for why in &r.left_alone {
                        eprintln!("nsnet: lab {lab}: left alone: {why}");
                    }
                    outln!(
                        "lab {lab} is down ({} init(s) stopped, {} netns entr{} removed)",
                        r.stopped,
                        r.unregistered,
                        if r.unregistered == 1 { "y" } else { "ies" }
                    );
                    if self.timings {
                        crate::progress::eprint(&r.timings);
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

/// The lab `arg` names: a lab name, a lab file, or another tool's lab (named as `up` names it).
fn lab_name(arg: &str) -> anyhow::Result<LabName> {
    let path = std::path::Path::new(arg);
    if LabName::new(arg).is_err() {
        if let Some(src) = nsnet_import::detect(path) {
            let name = nsnet_import::lab_name(&src).ok_or_else(|| {
                anyhow::anyhow!("{arg}: its name cannot be read\n  fix: name the lab instead (`nsnet status` lists them)")
            })?;
            return Ok(LabName::new(&name)?);
        }
    }
    Ok(LabName::from_arg(arg)?)
}
