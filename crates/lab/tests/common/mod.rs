//! What the lab-file tests share: a lab file in, its plan or its error text out, and the
//! plan's parts as text. Each test file uses some of it.
#![allow(dead_code)]

use nsnet_lab::{plan, Lab, Plan};
use std::path::Path;

/// The plan of `text` as lab `t` from `t.toml`, relative paths from this dir; or the error.
pub fn lab(text: &str) -> Result<Plan, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    Lab::from_toml(text, "t.toml", Some("t"), Some(&dir))
        .and_then(|l| plan(&l))
        .map_err(|e| e.to_string())
}

#[track_caller]
pub fn ok(text: &str) -> Plan {
    lab(text).unwrap_or_else(|e| panic!("unexpected error:\n{e}"))
}

/// The error text, which must start with `t.toml:LINE:COL:` and contain `needle`.
#[track_caller]
pub fn err_at(text: &str, line: usize, col: usize, needle: &str) -> String {
    let e = lab(text).expect_err("expected an error");
    let want = format!("t.toml:{line}:{col}: ");
    assert!(
        e.lines()
            .any(|l| l.starts_with(&want) && l.contains(needle)),
        "expected an error at {line}:{col} containing {needle:?}, got:\n{e}"
    );
    e
}

/// The addresses of `node`'s `iface`, as text.
pub fn addrs(p: &Plan, node: &str, iface: &str) -> Vec<String> {
    p.node(node)
        .unwrap()
        .interface(iface)
        .unwrap()
        .addrs
        .iter()
        .map(|a| a.to_string())
        .collect()
}

/// `node`'s routes, as text.
pub fn routes(p: &Plan, node: &str) -> Vec<String> {
    p.node(node)
        .unwrap()
        .routes
        .iter()
        .map(|r| r.to_string())
        .collect()
}
