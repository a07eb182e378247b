//! Container images as node roots, with no engine and no registry: a `docker save` tarball
//! (`manifest.json`) or an OCI image layout (`index.json`) as a tarball, its layers applied in
//! order, whiteouts included, into one tree in the lab dir. Nodes share that tree read-only as
//! the lowest layer of their overlay root; it goes with the lab dir at `down`.
//!
//! Nothing in an image is trusted: paths that leave the tree are refused, links are never
//! followed when writing, devices and FIFOs are not made, and the whole is bounded.

use flate2::read::GzDecoder;
use serde::Deserialize;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image {}: {why}", .image.display())]
    Bad { image: PathBuf, why: String },
    #[error("image {}: {op}: {source}", .image.display())]
    Io {
        image: PathBuf,
        op: String,
        source: io::Error,
    },
}

/// `docker save`'s manifest.json: one entry per image.
#[derive(Deserialize)]
struct DockerManifest {
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// An OCI descriptor (in index.json and in a manifest).
#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
}

#[derive(Deserialize)]
struct OciIndex {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct OciManifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
    /// An image index points at manifests instead.
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// The largest JSON member read (manifests, indexes).
const MAX_JSON: u64 = 4 << 20;

/// Unpacks `image` into `dest` (made), at most `limit` bytes of files.
pub fn unpack(image: &Path, dest: &Path, limit: u64) -> Result<(), ImageError> {
    let bad = |why: String| ImageError::Bad {
        image: image.to_path_buf(),
        why,
    };
    let layers = layer_names(image)?;
    if layers.is_empty() {
        return Err(bad("it has no layers".into()));
    }
    fs::create_dir_all(dest).map_err(io_err(image, format!("creating {}", dest.display())))?;
    let mut budget = limit;
    for name in &layers {
        let found = with_member(image, name, |r| apply_layer(image, r, dest, &mut budget))?;
        if !found {
            return Err(bad(format!("its layer {name} is missing")));
        }
    }
    Ok(())
}

fn io_err(image: &Path, op: String) -> impl FnOnce(io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        image: image.to_path_buf(),
        op,
        source,
    }
}

/// The outer tarball, decompressed when it is gzipped.
fn open_outer(image: &Path) -> Result<Box<dyn Read>, ImageError> {
    let f = File::open(image).map_err(io_err(image, "opening".into()))?;
    maybe_gunzip(Box::new(BufReader::new(f))).map_err(io_err(image, "reading".into()))
}

/// `r`, through gzip when it starts with gzip's magic.
fn maybe_gunzip<'a>(mut r: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut r, &mut magic)?;
    let head = io::Cursor::new(magic[..n].to_vec()).chain(r);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(GzDecoder::new(head)))
    } else {
        Ok(Box::new(head))
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A member's name in the outer tar, normalized (`./x` is `x`).
fn member_name(p: &Path) -> String {
    p.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Runs `f` on the member `name` of the outer tarball; false when there is none.
fn with_member(
    image: &Path,
    name: &str,
    mut f: impl FnMut(&mut dyn Read) -> Result<(), ImageError>,
) -> Result<bool, ImageError> {
    let mut outer = tar::Archive::new(open_outer(image)?);
    let entries = outer.entries().map_err(io_err(image, "reading".into()))?;
    for e in entries {
        let mut e = e.map_err(io_err(image, "reading".into()))?;
        let path = e.path().map_err(io_err(image, "reading".into()))?;
        if member_name(&path) == name {
            f(&mut e)?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// A small JSON member of the outer tarball.
fn json_member<T: serde::de::DeserializeOwned>(
    image: &Path,
    name: &str,
) -> Result<Option<T>, ImageError> {
    let mut text = Vec::new();
    let found = with_member(image, name, |r| {
        r.take(MAX_JSON)
            .read_to_end(&mut text)
            .map(drop)
            .map_err(io_err(image, format!("reading {name}")))
    })?;
    if !found {
        return Ok(None);
    }
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| ImageError::Bad {
            image: image.to_path_buf(),
            why: format!("{name}: {e}"),
        })
}

/// `blobs/sha256/<hex>` for a digest.
fn blob(digest: &str) -> Result<String, String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("`{digest}` is not a digest"))?;
    if !alg.chars().all(|c| c.is_ascii_alphanumeric())
        || !hex.chars().all(|c| c.is_ascii_hexdigit())
    {
        return Err(format!("`{digest}` is not a digest"));
    }
    Ok(format!("blobs/{alg}/{hex}"))
}

/// The layers' member names, bottom first: from `docker save`'s manifest.json, else from
/// the OCI layout's index.json (following an image index to its first manifest).
fn layer_names(image: &Path) -> Result<Vec<String>, ImageError> {
    let bad = |why: String| ImageError::Bad {
        image: image.to_path_buf(),
        why,
    };
    if let Some(m) = json_member::<Vec<DockerManifest>>(image, "manifest.json")? {
        let first = m
            .into_iter()
            .next()
            .ok_or_else(|| bad("manifest.json names no image".into()))?;
        return Ok(first
            .layers
            .iter()
            .map(|l| member_name(Path::new(l)))
            .collect());
    }
    let index: OciIndex = json_member(image, "index.json")?.ok_or_else(|| {
        bad(
            "it is neither a `docker save` tarball (manifest.json) nor an OCI layout (index.json)"
                .into(),
        )
    })?;
    let mut desc = index
        .manifests
        .into_iter()
        .next()
        .ok_or_else(|| bad("index.json names no manifest".into()))?;
    for _ in 0..4 {
        let name = blob(&desc.digest).map_err(bad)?;
        let m: OciManifest = json_member(image, &name)?
            .ok_or_else(|| bad(format!("its manifest {name} is missing")))?;
        if m.manifests.is_empty() || desc.media_type.ends_with("manifest.v1+json") {
            return m
                .layers
                .iter()
                .map(|l| blob(&l.digest).map_err(bad))
                .collect();
        }
        desc = m.manifests.into_iter().next().expect("not empty");
    }
    Err(bad("its image indexes nest too deep".into()))
}

/// A path inside a layer, as components that stay inside the tree; None when it would leave.
fn inside(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Removes `p` (a file, link or whole dir) without following links.
fn remove(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether any ancestor of `rel` inside `dest` is a symlink: writing there would follow it.
fn through_link(dest: &Path, rel: &Path) -> bool {
    let mut at = dest.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for c in &parts[..parts.len().saturating_sub(1)] {
        at.push(c);
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
    }
    false
}

/// Applies one layer (a tar, maybe gzipped) onto `dest`.
fn apply_layer(
    image: &Path,
    r: &mut dyn Read,
    dest: &Path,
    budget: &mut u64,
) -> Result<(), ImageError> {
    let io = |op: &str| io_err(image, op.to_string());
    let reader = maybe_gunzip(Box::new(r)).map_err(io("reading a layer"))?;
    let mut layer = tar::Archive::new(reader);
    layer.set_preserve_permissions(true);
    layer.set_preserve_ownerships(true);
    layer.set_unpack_xattrs(false);
    layer.set_overwrite(true);
    // What this layer made: an opaque whiteout clears only what lower layers left.
    let mut made: HashSet<PathBuf> = HashSet::new();
    for e in layer.entries().map_err(io("reading a layer"))? {
        let mut e = e.map_err(io("reading a layer"))?;
        let raw = e.path().map_err(io("reading a layer"))?.into_owned();
        let Some(rel) = inside(&raw) else {
            return Err(ImageError::Bad {
                image: image.to_path_buf(),
                why: format!("a layer holds `{}`, which leaves the tree", raw.display()),
            });
        };
        if rel.as_os_str().is_empty() || through_link(dest, &rel) {
            continue;
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = rel.parent().unwrap_or(Path::new(""));
        if name == ".wh..wh..opq" {
            if let Ok(entries) = fs::read_dir(dest.join(parent)) {
                for en in entries.flatten() {
                    let p = parent.join(en.file_name());
                    if !made.contains(&p) {
                        remove(&en.path()).map_err(io("applying a whiteout"))?;
                    }
                }
            }
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            remove(&dest.join(parent).join(hidden)).map_err(io("applying a whiteout"))?;
            continue;
        }
        let kind = e.header().entry_type();
        if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            continue;
        }
        let size = e.header().size().unwrap_or(0);
        if size > *budget {
            return Err(ImageError::Bad {
                image: image.to_path_buf(),
                why: "it unpacks to more than nsnet allows for a lab's images".into(),
            });
        }
        *budget -= size;
        let at = dest.join(&rel);
        // A later layer's entry replaces what is there, unless both are dirs.
        if !kind.is_dir() || fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir()) {
            remove(&at).map_err(io("replacing a file"))?;
        }
        e.unpack_in(dest).map_err(io("unpacking"))?;
        made.insert(rel);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    }

    fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (p, d) in files {
            append(&mut b, p, d);
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn docker_save_layers_apply_in_order_with_whiteouts() {
        let dir = std::env::temp_dir().join(format!("nsnet-img-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let l1 = layer(&[
            ("bin/tool", b"one"),
            ("etc/a", b"a"),
            ("etc/b", b"b"),
            ("var/x/y", b"y"),
        ]);
        let l2 = layer(&[
            ("etc/.wh.a", b""),
            ("var/x/.wh..wh..opq", b""),
            ("var/x/z", b"z"),
            ("bin/tool", b"two"),
        ]);
        let mut outer = tar::Builder::new(Vec::new());
        append(&mut outer, "l1/layer.tar", &l1);
        append(&mut outer, "l2/layer.tar", &l2);
        append(
            &mut outer,
            "manifest.json",
            br#"[{"Config":"c.json","RepoTags":["t:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]"#,
        );
        let img = dir.join("img.tar");
        fs::write(&img, outer.into_inner().unwrap()).unwrap();
        let dest = dir.join("root");
        unpack(&img, &dest, 1 << 20).unwrap();
        assert_eq!(fs::read(dest.join("bin/tool")).unwrap(), b"two");
        assert!(!dest.join("etc/a").exists());
        assert_eq!(fs::read(dest.join("etc/b")).unwrap(), b"b");
        assert!(!dest.join("var/x/y").exists());
        assert_eq!(fs::read(dest.join("var/x/z")).unwrap(), b"z");
        // Bounded.
        let e = unpack(&img, &dir.join("small"), 4).unwrap_err();
        assert!(e.to_string().contains("more than nsnet allows"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_that_leave_the_tree_are_refused() {
        assert!(inside(Path::new("../etc/passwd")).is_none());
        assert!(inside(Path::new("/etc/passwd")).is_none());
        assert_eq!(inside(Path::new("./etc/x")), Some(PathBuf::from("etc/x")));
        assert!(blob("sha256:../../x").is_err());
        assert_eq!(blob("sha256:ab12").unwrap(), "blobs/sha256/ab12");
    }
}
