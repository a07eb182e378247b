//! A node's startup as a lab file says it: `after`, `env`, `binds`. No root needed.

mod common;

use common::{err_at, lab, ok};

#[test]
fn after_names_other_nodes_without_cycles() {
    let p = ok("[nodes]\na = {}\nb = { after = [\"a\"] }\nc = { after = [\"a\", \"b\"] }\n");
    assert_eq!(p.node("c").unwrap().after, ["a", "b"]);
    err_at(
        "[nodes]\na = { after = [\"x\"] }\n",
        2,
        16,
        "a waits for `x`, which is no node",
    );
    err_at(
        "[nodes]\na = { after = [\"a\"] }\n",
        2,
        16,
        "a waits for itself",
    );
    err_at(
        "[nodes]\na = { after = [\"b\"] }\nb = { after = [\"c\"] }\nc = { after = [\"a\"] }\n",
        4,
        16,
        "nodes wait for each other: a → b → c → a",
    );
    err_at(
        "[nodes]\na = {}\nb = { after = [\"a\", \"a\"] }\n",
        3,
        21,
        "a is named twice",
    );
    // A typo gets a suggestion.
    let e = lab("[nodes]\nrouter1 = {}\nb = { after = [\"routr1\"] }\n").unwrap_err();
    assert!(e.contains("router1"), "{e}");
}

#[test]
fn env_takes_shell_names() {
    let p = ok("[nodes]\na = { env = { FOO = \"1\", _BAR2 = \"x y\" } }\n");
    assert_eq!(
        p.node("a").unwrap().env,
        [
            ("FOO".to_string(), "1".to_string()),
            ("_BAR2".to_string(), "x y".to_string())
        ]
    );
    err_at(
        "[nodes]\na = { env = { 1X = \"1\" } }\n",
        2,
        15,
        "not an environment variable name",
    );
    err_at(
        "[nodes]\na = { env = { \"A-B\" = \"1\" } }\n",
        2,
        15,
        "not an environment variable name",
    );
    err_at(
        "[nodes]\ns = { kind = \"switch\", env = { A = \"1\" } }\n",
        2,
        1,
        "switch s runs no software",
    );
}

#[test]
fn binds_are_checked_sources_and_node_paths() {
    let src = std::env::temp_dir().join(format!("nsnet-bind-{}", std::process::id()));
    std::fs::create_dir_all(&src).unwrap();
    let s = src.display();
    let p = ok(&format!(
        "[nodes]\na = {{ root = \"overlay\", binds = [\"{s}:/shared\", \"{s}:/ro/x:ro\"] }}\n"
    ));
    let b = &p.node("a").unwrap().binds;
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].path, "/shared");
    assert_eq!(b[0].source, std::fs::canonicalize(&src).unwrap());
    assert!(!b[0].read_only && b[1].read_only);
    // With the host's root, a missing target would be made on the host: refused.
    err_at(
        &format!("[nodes]\na = {{ binds = [\"{s}:/nsnet-no-such-dir\"] }}\n"),
        2,
        16,
        "does not exist, and the node's root is the host's",
    );
    err_at(
        "[nodes]\na = { binds = [\"/nope-nsnet:/x\"] }\n",
        2,
        16,
        "bind source `/nope-nsnet` does not exist",
    );
    err_at(
        &format!("[nodes]\na = {{ binds = [\"{s}:/proc/x\"] }}\n"),
        2,
        16,
        "/proc is the node's own",
    );
    err_at(
        &format!("[nodes]\na = {{ binds = [\"{s}:/\"] }}\n"),
        2,
        16,
        "a bind on /",
    );
    err_at(
        &format!("[nodes]\na = {{ binds = [\"{s}:x\"] }}\n"),
        2,
        16,
        "must be an absolute path",
    );
    err_at(
        &format!("[nodes]\na = {{ binds = [\"{s}:/x:rx\"] }}\n"),
        2,
        16,
        "is not a bind",
    );
    let line = format!("a = {{ root = \"overlay\", binds = [\"{s}:/x\", \"{s}:/x/\"] }}");
    let col = line.rfind(&format!("\"{s}")).unwrap() + 1;
    err_at(&format!("[nodes]\n{line}\n"), 2, col, "two binds on /x");
    std::fs::remove_dir_all(&src).unwrap();
}
