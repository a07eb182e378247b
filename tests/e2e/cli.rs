//! What needs no root works without it: plan, graph and gen, run as an unprivileged user.

use crate::util::*;
use std::process::Command;

/// `nsnet ARGS` as user nobody (65534), through setpriv.
fn as_nobody(args: &[&str]) -> std::process::Output {
    nsnet_setpriv(&NOBODY, args)
}

#[test]
fn plan_graph_and_gen_work_as_an_unprivileged_user() {
    as_root(|| {
        // Root is needed only to become nobody.
        let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/two-routers.toml");
        let o = as_nobody(&["plan", lab]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("route default via 10.0.0.1 dev eth0"),
            "{}",
            stdout(&o)
        );
        let o = as_nobody(&["plan", "--json", lab]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["nodes"].as_array().unwrap().len(), 8);
        let o = as_nobody(&["graph", "--format", "mermaid", lab]);
        assert!(stdout(&o).starts_with("graph LR"), "{}", stdout(&o));
        let o = as_nobody(&["gen", "fat-tree", "4"]);
        assert!(stdout(&o).contains("[[links]]"));
        // A lab command of a user with no rootless lab says so in one line.
        let o = nsnet_setpriv(&USER_64001, &["status"]);
        assert_eq!(stdout(&o).trim(), "no lab is up", "{}", stderr(&o));
        let o = nsnet_setpriv(&USER_64001, &["exec", "h1", "--", "true"]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("no rootless lab is up for uid 64001"),
            "{}",
            stderr(&o)
        );
    });
}

#[test]
fn printing_into_a_closed_pipe_ends_quietly() {
    // `nsnet plan big.toml | head -1`: ~250 KB of plan into a pipe whose reader is gone.
    let dir = std::env::temp_dir().join(format!("nsnet-e2e-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("line.toml");
    std::fs::write(&file, nsnet_ok(&["gen", "line", "400"])).unwrap();
    let mut child = Command::new(bin())
        .arg("plan")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(libc::SIGPIPE), "{:?}", o.status);
    assert_eq!(stderr(&o), "", "no panic, no message");
}
