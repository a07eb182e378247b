//! Labs as `up`, `plan`, `graph` and `down` take them: an nsnet lab file, or a lab written
//! for another tool (a Kathará directory or `lab.conf`, a containerlab `*.clab.yml`),
//! converted on the way in. The image map comes from `NSNET_IMAGES`, else
//! /etc/nsnet/images.toml when there is one.

use nsnet_import::{Format, ImageMap, Options, Source};
use nsnet_lab::Lab;
use std::path::Path;

/// A lab read from the command line's path (a converted one's notes printed on stderr).
pub struct Loaded {
    pub lab: Lab,
}

/// The user's image map.
pub fn images() -> anyhow::Result<ImageMap> {
    Ok(match std::env::var_os("NSNET_IMAGES") {
        Some(p) => ImageMap::load(Path::new(&p))?,
        None if Path::new(nsnet_import::images::DEFAULT_FILE).exists() => {
            ImageMap::load(Path::new(nsnet_import::images::DEFAULT_FILE))?
        }
        None => ImageMap::empty(),
    })
}

/// What an importer needs from the environment.
pub fn options() -> anyhow::Result<Options> {
    Ok(Options {
        images: images()?,
        env: std::env::vars().collect(),
    })
}

/// The other tool's lab at `path`, if it is one; a directory that is none is an error.
pub fn source(path: &Path) -> anyhow::Result<Option<Source>> {
    let src = nsnet_import::detect(path);
    if src.is_none() && path.is_dir() {
        anyhow::bail!(
            "{} is a directory without a lab.conf\n  fix: give an nsnet lab file (TOML), a Kathará lab directory (holding lab.conf) or a containerlab file (*.clab.yml)",
            path.display()
        );
    }
    Ok(src)
}

/// Read, convert when needed, and validate the lab at `path`, named `name` when given.
/// `up` is true for `nsnet up`, which makes what the other tool makes when it starts a lab
/// (a Kathará lab's shared/).
pub fn load(path: &Path, name: Option<&str>, up: bool) -> anyhow::Result<Loaded> {
    let Some(src) = source(path)? else {
        return Ok(Loaded {
            lab: Lab::load_named(path, name)?,
        });
    };
    if up && src.format == Format::Kathara {
        make_shared(&src.dir)?;
    }
    let conv = nsnet_import::convert(&src, &options()?)?;
    print_notes(&conv.notes);
    // Errors in the converted text point into it: `nsnet convert` shows it.
    let shown = format!(
        "{} (as `nsnet convert {}` prints it)",
        src.file.display(),
        path.display()
    );
    let mut lab = Lab::from_toml_named(&conv.toml, &shown, Some(&conv.name), Some(&src.dir), name)?;
    lab.file = Some(std::path::absolute(&src.file).unwrap_or(src.file));
    Ok(Loaded { lab })
}

/// A Kathará lab's shared/, made as `kathara lstart` makes it, owned like the lab's directory.
fn make_shared(dir: &Path) -> anyhow::Result<()> {
    let shared = dir.join("shared");
    if std::fs::symlink_metadata(&shared).is_ok() {
        return Ok(());
    }
    std::fs::create_dir(&shared)
        .map_err(|e| anyhow::anyhow!("making {}: {e}", shared.display()))?;
    let meta = std::fs::metadata(dir)?;
    use std::os::unix::fs::MetadataExt;
    std::os::unix::fs::chown(&shared, Some(meta.uid()), Some(meta.gid()))
        .map_err(|e| anyhow::anyhow!("giving {} its lab's owner: {e}", shared.display()))?;
    eprintln!(
        "nsnet: made {} (Kathará's /shared), as kathara lstart does",
        shared.display()
    );
    Ok(())
}

/// Each note on its own line on stderr.
pub fn print_notes(notes: &[String]) {
    for n in notes {
        eprintln!("note: {n}");
    }
}
