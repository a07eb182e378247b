//! Labs written into temporary directories, and their converted text read back.

use crate::{detect, Source};
use std::path::PathBuf;

/// A lab directory `NAME` under a fresh temporary directory, removed on drop.
pub(crate) struct TempLab(pub PathBuf);

impl TempLab {
    /// `files`: (path relative to the lab's directory, content).
    pub fn new(name: &str, files: &[(&str, &str)]) -> TempLab {
        let top = std::env::temp_dir().join(format!("nsnet-import-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&top);
        let dir = top.join(name);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        TempLab(dir)
    }

    /// The lab as `detect` finds it: the directory (Kathará) or its one `*.clab.yml`.
    pub fn src(&self) -> Source {
        if let Some(s) = detect(&self.0) {
            return s;
        }
        let clab = std::fs::read_dir(&self.0)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().contains(".clab.y"))
            .expect("a lab.conf or a .clab.yml");
        detect(&clab).unwrap()
    }
}

impl Drop for TempLab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

/// The lab's directory, as `detect` names it (canonical).
pub(crate) fn lab_dir(t: &TempLab) -> PathBuf {
    std::fs::canonicalize(&t.0).unwrap()
}

/// The converted text as TOML.
pub(crate) fn parse(text: &str) -> toml::Table {
    toml::from_str(text).unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"))
}

/// `[nodes.NAME]`.
pub(crate) fn node<'a>(doc: &'a toml::Table, name: &str) -> &'a toml::Value {
    doc["nodes"].get(name).unwrap_or_else(|| {
        panic!(
            "no node {name} in {:?}",
            doc["nodes"]
                .as_table()
                .map(|t| t.keys().collect::<Vec<_>>())
        )
    })
}

/// The converted lab must be one nsnet builds: validated and planned, relative to its
/// source's directory, as `nsnet up` does it.
pub(crate) fn check(c: &crate::Converted) {
    let lab = nsnet_lab::Lab::from_toml(&c.toml, "converted", Some(&c.name), Some(&c.source.dir))
        .unwrap_or_else(|e| panic!("the converted lab does not validate:\n{e}\n{}", c.toml));
    if let Err(e) = nsnet_lab::plan(&lab) {
        panic!("the converted lab does not plan:\n{e}\n{}", c.toml);
    }
}
