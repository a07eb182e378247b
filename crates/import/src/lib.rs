//! Labs written for other tools, as nsnet lab files: Kathará lab directories (`lab.conf`,
//! `lab.dep`, `DEV.startup`, `DEV/` folders) and containerlab topology files (`*.clab.yml`).
//!
//! An importer reads the other tool's files as that tool does, and writes the text of an
//! nsnet lab file that builds the same network and starts the same software: nothing is left
//! out in silence. What nsnet cannot do is a note (one line each, placed in the input); what
//! cannot be converted at all is an error at its file:line:column, with a fix. The text is
//! then validated and planned by `nsnet-lab` like any lab file, relative to the input's
//! directory, so `nsnet convert DIR > DIR/lab.toml` gives a file that `nsnet up` runs the
//! same as `nsnet up DIR`.
//!
//! - `kathara`: `lab.conf` and its companions;
//! - `clab` (with `yaml`, a YAML tree with places, and `envsubst`): containerlab files;
//! - `images`: the user's map from image names to root filesystems;
//! - `addrs`: addresses and MACs nsnet's planner takes, the others set by exec lines;
//! - `out`: the lab as data, and its text; `names`, `pos`: valid names, places in files.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod addrs;
mod clab;
mod envsubst;
pub mod images;
mod kathara;
mod names;
mod out;
mod pos;
mod yaml;

#[cfg(test)]
mod testutil;

pub use images::{ImageMap, ImageRoot};

use nsnet_lab::LabErrors;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The largest file of another tool's lab read (a topology file, `lab.conf`, `lab.dep`).
const MAX_FILE: u64 = 4 << 20;

/// Reads a small text file of the lab (at most [`MAX_FILE`] bytes), or says why not;
/// `shown` is its name in messages.
fn read_small(path: &Path, shown: &str) -> Result<String, nsnet_lab::LabError> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE).read_to_string(&mut text))
        .map_err(|e| {
            pos::At::file(shown).error(
                format!("cannot read it: {e}"),
                "check the path, and that the user running nsnet may read it",
            )
        })?;
    Ok(text)
}

/// Which tool a lab was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Kathará lab directory (`lab.conf`).
    Kathara,
    /// A containerlab topology file (`*.clab.yml`).
    Containerlab,
}

impl Format {
    /// The tool's name.
    pub fn tool(self) -> &'static str {
        match self {
            Format::Kathara => "Kathará",
            Format::Containerlab => "containerlab",
        }
    }
}

/// A lab written for another tool, found at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Its tool.
    pub format: Format,
    /// Its main file, as the user named it: `DIR/lab.conf` or `NAME.clab.yml`.
    pub file: PathBuf,
    /// The directory that its relative paths are relative to (absolute).
    pub dir: PathBuf,
}

/// The lab at `path`, when it is another tool's: a directory holding `lab.conf`, a file
/// named `lab.conf`, or a file named `*.clab.yml` / `*.clab.yaml`. Anything else is not
/// (an nsnet lab file, or nothing).
pub fn detect(path: &Path) -> Option<Source> {
    let (format, file) = if path.is_dir() {
        let conf = path.join("lab.conf");
        if !conf.is_file() {
            return None;
        }
        (Format::Kathara, conf)
    } else {
        let name = path.file_name()?.to_string_lossy();
        if name == "lab.conf" {
            (Format::Kathara, path.to_path_buf())
        } else if name.ends_with(".clab.yml") || name.ends_with(".clab.yaml") {
            (Format::Containerlab, path.to_path_buf())
        } else {
            return None;
        }
    };
    let abs = std::path::absolute(&file).unwrap_or_else(|_| file.clone());
    // The directory by its real name: `.` has none to name the lab after.
    let dir = abs.parent().unwrap_or(Path::new("/"));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    Some(Source { format, file, dir })
}

/// What an importer needs besides the files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Roots for the images the lab names.
    pub images: ImageMap,
    /// The environment containerlab files may refer to (`${VAR}`, `~` in binds).
    pub env: BTreeMap<String, String>,
}

/// A lab converted to nsnet's lab file.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The lab file's text: a header saying where it came from and the notes, then the lab.
    pub toml: String,
    /// What could not be honoured, one line each (`lab.conf:7: r1[bridged]: …`).
    pub notes: Vec<String>,
    /// The lab's name (`[lab] name`).
    pub name: String,
    /// Where it came from; relative paths in `toml` are relative to `source.dir`.
    pub source: Source,
}

/// Read the lab at `src` and convert it.
pub fn convert(src: &Source, opts: &Options) -> Result<Converted, LabErrors> {
    let (lab, notes) = match src.format {
        Format::Kathara => kathara::convert(src, opts)?,
        Format::Containerlab => clab::convert(src, opts)?,
    };
    Ok(Converted {
        toml: lab.render(),
        name: lab.name.clone(),
        notes,
        source: src.clone(),
    })
}

/// The name the lab at `src` gets, read as cheaply as possible (for `nsnet down`): None when
/// its files cannot say.
pub fn lab_name(src: &Source) -> Option<String> {
    match src.format {
        Format::Kathara => Some(kathara::lab_name(src)),
        Format::Containerlab => clab::lab_name(src),
    }
}
