//! The user's image map: which root filesystem stands in for a container image that a
//! Kathará or containerlab lab names, and what to start in it in place of the image's own
//! entrypoint. nsnet pulls no images; this file says what the machine has instead.
//!
//! ```toml
//! [images]
//! # a directory tree or an image tarball (docker save, OCI layout), relative to this file
//! "kathara/frr" = "/srv/nsnet/kathara-frr.tar"
//! # this machine's own software, copy-on-write, with the services the image would start
//! "quay.io/frrouting/frr:8.4.1" = { root = "overlay", services = ["frr"] }
//! ```

use crate::pos::line_col;
use nsnet_lab::{LabError, LabErrors};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the image map is read from unless `NSNET_IMAGES` names another file.
pub const DEFAULT_FILE: &str = "/etc/nsnet/images.toml";

/// What stands in for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRoot {
    /// `"overlay"` (this machine's `/`, copy-on-write) or an absolute path: a directory tree
    /// or an image tarball.
    pub root: String,
    /// Services to start, as the image's entrypoint would (`frr`).
    pub services: Vec<String>,
    /// Commands to run before the lab's own, as the image's entrypoint would.
    pub exec: Vec<String>,
}

/// Image references (normalized: `docker.io/library/alpine:latest` is `alpine`) and what
/// stands in for each.
#[derive(Debug, Clone, Default)]
pub struct ImageMap {
    entries: BTreeMap<String, ImageRoot>,
    /// The file it was read from.
    pub file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    images: BTreeMap<String, toml::Spanned<EntrySpec>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EntrySpec {
    Root(String),
    Table(TableSpec),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSpec {
    root: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    exec: Vec<String>,
}

impl ImageMap {
    /// No image known: every image stands for this machine's own software.
    pub fn empty() -> ImageMap {
        ImageMap::default()
    }

    /// Read the map in `path`.
    pub fn load(path: &Path) -> Result<ImageMap, LabErrors> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LabError {
            file: shown.clone(),
            line: 0,
            col: 0,
            message: format!("cannot read the image map: {e}"),
            hint: Some(
                "check the path (NSNET_IMAGES names the file, else /etc/nsnet/images.toml)"
                    .to_string(),
            ),
        })?;
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let dir = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut map = ImageMap::from_toml(&text, &shown, &dir)?;
        map.file = Some(abs);
        Ok(map)
    }

    /// Parse a map's text; relative roots are relative to `dir`, and must exist.
    pub fn from_toml(text: &str, shown: &str, dir: &Path) -> Result<ImageMap, LabErrors> {
        let err = |at: usize, message: String, hint: &str| {
            let (line, col) = line_col(text, at);
            LabError {
                file: shown.to_string(),
                line,
                col,
                message,
                hint: Some(hint.to_string()),
            }
        };
        let spec: FileSpec = toml::from_str(text).map_err(|e| {
            err(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
                "write [images] \"IMAGE\" = \"ROOT\" or { root = \"ROOT\", services = [...], exec = [...] }",
            )
        })?;
        let mut entries = BTreeMap::new();
        let mut errors = Vec::new();
        for (image, entry) in spec.images {
            let at = entry.span().start;
            let (root, services, exec) = match entry.into_inner() {
                EntrySpec::Root(r) => (r, Vec::new(), Vec::new()),
                EntrySpec::Table(t) => (
                    t.root.unwrap_or_else(|| "overlay".to_string()),
                    t.services,
                    t.exec,
                ),
            };
            let root = match root.as_str() {
                "overlay" => root,
                "host" => {
                    errors.push(err(
                        at,
                        format!("image {image}: root \"host\" would let the lab's software write this machine's files"),
                        "use \"overlay\" (this machine's software, copy-on-write), a directory or an image tarball",
                    ));
                    continue;
                }
                path => {
                    let full = dir.join(path);
                    if !full.exists() {
                        errors.push(err(
                            at,
                            format!("image {image}: root {} does not exist", full.display()),
                            "give a directory tree or an image tarball (relative to this file), or \"overlay\"",
                        ));
                        continue;
                    }
                    full.to_string_lossy().into_owned()
                }
            };
            entries.insert(
                normalize(&image),
                ImageRoot {
                    root,
                    services,
                    exec,
                },
            );
        }
        if !errors.is_empty() {
            return Err(LabErrors(errors));
        }
        Ok(ImageMap {
            entries,
            file: None,
        })
    }

    /// What stands in for `image`, if the map says.
    pub fn get(&self, image: &str) -> Option<&ImageRoot> {
        self.entries.get(&normalize(image))
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// An image reference without what Docker adds by default: the `docker.io/` registry, the
/// `library/` repository and the `:latest` tag.
fn normalize(image: &str) -> String {
    let mut s = image.trim();
    s = s.strip_prefix("docker.io/").unwrap_or(s);
    s = s.strip_prefix("index.docker.io/").unwrap_or(s);
    s = s.strip_prefix("library/").unwrap_or(s);
    let s = s.strip_suffix(":latest").unwrap_or(s);
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize("docker.io/library/alpine:latest"), "alpine");
        assert_eq!(normalize("alpine"), "alpine");
        assert_eq!(normalize("kathara/frr:latest"), "kathara/frr");
        assert_eq!(
            normalize("quay.io/frrouting/frr:8.4.1"),
            "quay.io/frrouting/frr:8.4.1"
        );
    }

    #[test]
    fn entries() {
        let dir = std::env::temp_dir().join(format!("nsnet-images-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("frr-root")).unwrap();
        let map = ImageMap::from_toml(
            r#"
[images]
"kathara/frr" = "frr-root"
"kathara/base" = "overlay"
"quay.io/frrouting/frr:8.4.1" = { services = ["frr"] }
"#,
            "images.toml",
            &dir,
        )
        .unwrap();
        assert_eq!(
            map.get("kathara/frr:latest").unwrap().root,
            dir.join("frr-root").to_string_lossy()
        );
        assert_eq!(map.get("docker.io/kathara/base").unwrap().root, "overlay");
        let frr = map.get("quay.io/frrouting/frr:8.4.1").unwrap();
        assert_eq!(
            (frr.root.as_str(), frr.services.as_slice()),
            ("overlay", &["frr".to_string()][..])
        );
        assert!(map.get("kathara/quagga").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_have_places() {
        let dir = Path::new("/nonexistent-nsnet");
        let e = ImageMap::from_toml("[images]\n\"a\" = \"gone\"\n", "i.toml", dir).unwrap_err();
        assert_eq!((e.0[0].line, e.0[0].col), (2, 7));
        assert!(e.0[0].message.contains("does not exist"), "{e}");
        let e = ImageMap::from_toml("[images]\n\"a\" = \"host\"\n", "i.toml", dir).unwrap_err();
        assert!(e.0[0].message.contains("host"), "{e}");
        let e = ImageMap::from_toml("[image]\n", "i.toml", dir).unwrap_err();
        assert_eq!(e.0[0].line, 1, "{e}");
        let e =
            ImageMap::from_toml("[images]\n\"a\" = { rot = \"x\" }\n", "i.toml", dir).unwrap_err();
        assert_eq!(e.0[0].line, 2, "{e}");
    }
}
