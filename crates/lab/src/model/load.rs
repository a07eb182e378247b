//! Reading a lab file and parsing its TOML: the steps before `resolve`.

use super::names::suggest;
use super::resolve::Resolver;
use super::Lab;
use crate::error::{Invalid, LabError, LabErrors, Source};
use crate::limits::MAX_LAB_FILE;
use crate::spec::{self, FileSpec};
use std::path::Path;

impl Lab {
    /// Read and validate a lab file.
    pub fn load(path: &Path) -> Result<Lab, LabErrors> {
        Lab::load_named(path, None)
    }

    /// Read and validate a lab file, named `name` when given (checked like `[lab] name`)
    /// instead of by its `[lab] name` or its file's stem; the stem then need not be a valid
    /// name.
    pub fn load_named(path: &Path, name: Option<&str>) -> Result<Lab, LabErrors> {
        let shown = path.display().to_string();
        let text = read_lab_file(path).map_err(|e| LabError::in_file(&shown, e))?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let dir = abs.parent().map(Path::to_path_buf);
        let mut lab = Lab::from_toml_named(&text, &shown, stem.as_deref(), dir.as_deref(), name)?;
        lab.file = Some(abs);
        Ok(lab)
    }

    /// Validate lab-file text. `file` names it in errors, `stem` is the default lab name and
    /// `dir` is where `files` sources are looked up (None: not checked).
    pub fn from_toml(
        text: &str,
        file: &str,
        stem: Option<&str>,
        dir: Option<&Path>,
    ) -> Result<Lab, LabErrors> {
        Lab::from_toml_named(text, file, stem, dir, None)
    }

    /// `from_toml` with the lab's name given (see `load_named`).
    pub fn from_toml_named(
        text: &str,
        file: &str,
        stem: Option<&str>,
        dir: Option<&Path>,
        name: Option<&str>,
    ) -> Result<Lab, LabErrors> {
        let src = Source::new(file, text);
        let spec: FileSpec = toml::from_str(text).map_err(|e| toml_error(&src, &e))?;
        Resolver::new(src).resolve(spec, stem, dir, name)
    }
}

/// A lab file's text: a regular file (a symlink to one is fine) of at most MAX_LAB_FILE
/// bytes, read with that bound whatever its size claims.
pub(crate) fn read_lab_file(path: &Path) -> Result<String, Invalid> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| {
        Invalid::new(format!("cannot read the lab file: {e}"))
            .hint("check the path, and that the user running nsnet may read it")
    };
    let check = |m: &std::fs::Metadata| {
        if !m.is_file() {
            let what = if m.is_dir() {
                "a directory"
            } else {
                "a device, FIFO or socket"
            };
            return Err(Invalid::new(format!("not a regular file ({what})"))
                .hint("give the path of a lab file: TOML text, e.g. labs/two-routers.toml"));
        }
        if m.len() > MAX_LAB_FILE {
            return Err(too_big(m.len()));
        }
        Ok(())
    };
    // Checked before opening (opening a FIFO would block) and again on what was opened.
    check(&std::fs::metadata(path).map_err(unreadable)?)?;
    let f = std::fs::File::open(path).map_err(unreadable)?;
    check(&f.metadata().map_err(unreadable)?)?;
    let mut text = String::new();
    f.take(MAX_LAB_FILE + 1)
        .read_to_string(&mut text)
        .map_err(unreadable)?;
    if text.len() as u64 > MAX_LAB_FILE {
        return Err(too_big(text.len() as u64));
    }
    Ok(text)
}

fn too_big(len: u64) -> Invalid {
    Invalid::new(format!("is {len} bytes; a lab file is at most 4 MiB")).hint(
        "is it the file you meant? A lab file is TOML text; split a lab this large into several",
    )
}

/// Turn a TOML/serde error into a LabError with its place and, for unknown keys, a hint.
fn toml_error(src: &Source, e: &toml::de::Error) -> LabErrors {
    let at = e.span().map_or(0, |s| s.start);
    let msg = e.message().trim().to_string();
    let mut hint = None;
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let word = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        let pool: Vec<&str> = if expected.is_empty() {
            [
                spec::TOP_KEYS,
                spec::LAB_KEYS,
                spec::NODE_KEYS,
                spec::LINK_KEYS,
                spec::ROUTE_KEYS,
                spec::ENDPOINT_KEYS,
                spec::FIREWALL_KEYS,
                spec::RULE_KEYS,
                spec::NTH_KEYS,
                spec::HOST_IFACE_KEYS,
            ]
            .concat()
        } else {
            expected.clone()
        };
        hint = suggest(word, &pool).or_else(|| {
            (!expected.is_empty()).then(|| format!("the keys here are: {}", expected.join(", ")))
        });
    }
    src.error(at, Invalid { message: msg, hint }).into()
}
