use crate::out::out;
use clap::Args;
use std::path::PathBuf;

/// `nsnet convert`: another tool's lab as an nsnet lab file.
#[derive(Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct ConvertCmd {
    /// A Kathará lab directory (or its lab.conf), or a containerlab file (*.clab.yml, *.clab.yaml)
    pub lab: PathBuf,
}

const AFTER_HELP: &str = "\
The lab file goes to stdout, each note (what nsnet cannot honour, where the input says it) to \
stderr. Paths in it are relative to the input's directory, so write it there:

  nsnet convert labs/bgp > labs/bgp/lab.toml && nsnet up labs/bgp/lab.toml
  nsnet convert srl.clab.yml > srl.toml

`nsnet up`, `plan`, `graph` and `down` also take the input itself and convert it on the way.

Images: a lab's images (Kathará's dev[image], containerlab's image) become the root \
filesystem the image map gives them, else this machine's own software, copy-on-write. The map \
is NSNET_IMAGES, else /etc/nsnet/images.toml:

  [images]
  \"kathara/frr\" = \"/srv/nsnet/kathara-frr.tar\"   # a directory tree or an image tarball
  \"quay.io/frrouting/frr:8.4.1\" = { root = \"overlay\", services = [\"frr\"] }

The second form says what the image's entrypoint would start: services and exec lines.";

impl ConvertCmd {
    pub fn run(self) -> super::CmdResult {
        let Some(src) = crate::load::source(&self.lab)? else {
            anyhow::bail!(
                "{} is neither a Kathará lab (a directory holding lab.conf, or lab.conf) nor a containerlab file (*.clab.yml)\n  fix: an nsnet lab file needs no conversion: `nsnet plan {}` checks it",
                self.lab.display(),
                self.lab.display()
            );
        };
        let conv = nsnet_import::convert(&src, &crate::load::options()?)?;
        crate::load::print_notes(&conv.notes);
        out!("{}", conv.toml);
        // What it wrote must be a lab nsnet builds: checked as `up` would check it.
        let checked = nsnet_lab::Lab::from_toml(
            &conv.toml,
            "the converted lab file",
            Some(&conv.name),
            Some(&src.dir),
        )
        .and_then(|lab| nsnet_lab::plan(&lab));
        if let Err(e) = checked {
            eprintln!("nsnet: the converted lab file does not check out:\n{e}");
            return Ok(1);
        }
        Ok(0)
    }
}
