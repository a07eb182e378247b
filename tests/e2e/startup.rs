//! A node's startup as a script: `exec` lines in order (a trailing `&` runs one in the
//! background), `after` between nodes, `env`, `binds`, and `up --wait`.

use crate::util::*;

/// A host dir both the test and the nodes see (bound in), removed on drop.
struct Shared(std::path::PathBuf);

impl Shared {
    fn new(tag: &str) -> Shared {
        let d = std::env::temp_dir().join(format!("nsnet-e2e-shared-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Shared(d)
    }
    fn read(&self, f: &str) -> String {
        std::fs::read_to_string(self.0.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .trim()
            .to_string()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn lines_run_in_order_and_nodes_wait_for_the_nodes_they_come_after() {
    as_root(|| {
        let shared = Shared::new("order");
        let s = shared.0.display();
        // a takes a while; b comes after a and must see a's last line done; c comes after
        // b. Each line of a depends on the one before; a background line does not hold the
        // next one back.
        let lab = Lab::new(
            "t-st-order",
            &format!(
                r#"
[nodes]
a = {{ binds = ["{s}:/tmp/shared"], exec = [
  "sleep 60 &",
  "sleep 0.5; echo 1 > /tmp/shared/a",
  "echo $(cat /tmp/shared/a)2 > /tmp/shared/a",
  "echo $(cat /tmp/shared/a)3 > /tmp/shared/a",
] }}
b = {{ binds = ["{s}:/tmp/shared"], after = ["a"], env = {{ GREETING = "hello there" }}, exec = [
  "cat /tmp/shared/a > /tmp/shared/b-saw",
  "echo \"$GREETING\" > /tmp/shared/b-env",
] }}
c = {{ binds = ["{s}:/tmp/shared"], after = ["b"], exec = ["cat /tmp/shared/b-env > /tmp/shared/c-saw"] }}

[[links]]
endpoints = ["a", "b"]
[[links]]
endpoints = ["b", "c"]
"#
            ),
        );
        let out = nsnet_ok(&["up", "--wait", "30", lab.path()]);
        assert!(out.contains("startup done on every node"), "{out}");
        // --wait returned after every startup: no polling needed.
        assert_eq!(shared.read("a"), "123");
        assert_eq!(shared.read("b-saw"), "123", "b started before a was done");
        assert_eq!(shared.read("b-env"), "hello there");
        assert_eq!(
            shared.read("c-saw"),
            "hello there",
            "c started before b was done"
        );
        // The background line still runs (it did not hold the startup back).
        let ps = lab.exec_ok(
            "a",
            &["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"],
        );
        assert!(ps.contains("sleep 60"), "{ps}");
        let log = nsnet_ok(&["logs", "b", "--lab", &lab.name]);
        assert!(log.contains("waiting for a to start"), "{log}");
    });
}

#[test]
fn up_wait_reports_a_failed_line_and_a_startup_that_never_ends() {
    as_root(|| {
        let lab = Lab::new(
            "t-st-fail",
            r#"
[nodes]
a = { exec = ["true", "exit 3", "true"] }
b = { exec = ["sleep 1000"] }
"#,
        );
        let o = nsnet(&["up", "--wait", "2", lab.path()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("a: startup line 2: `exit 3` exited with status 3"),
            "{err}"
        );
        assert!(
            err.contains("the startup of b has not ended after 2 s"),
            "{err}"
        );
        assert!(err.contains("stays up"), "{err}");
        // `status` tells the same: b still starting, a's failed line.
        let st = nsnet_ok(&["status", &lab.name]);
        assert!(
            st.contains("[startup: line 2: `exit 3` exited with status 3]"),
            "{st}"
        );
        assert!(
            st.lines()
                .any(|l| l.trim_start().starts_with("b ") && l.contains("starting")),
            "{st}"
        );
        // It did stay up, and line 3 ran after the failed one.
        assert!(lab.status().iter().all(|(_, _, alive)| *alive));
        let log = nsnet_ok(&["logs", "a", "--lab", &lab.name]);
        assert_eq!(log.matches("started `true`").count(), 2, "{log}");
    });
}

#[test]
fn binds_share_host_dirs_read_write_or_read_only() {
    as_root(|| {
        let rw = Shared::new("rw");
        let ro = Shared::new("ro");
        std::fs::write(ro.0.join("given"), "from the host\n").unwrap();
        let lab = Lab::new(
            "t-st-binds",
            &format!(
                r#"
[nodes]
h1 = {{ root = "overlay", binds = ["{}:/data", "{}:/etc/given:ro"] }}
h2 = {{ binds = ["{}:/tmp/data"] }}
"#,
                rw.0.display(),
                ro.0.join("given").display(),
                rw.0.display()
            ),
        );
        lab.up();
        assert_eq!(lab.exec_ok("h1", &["cat", "/etc/given"]), "from the host");
        let o = lab.exec("h1", &["sh", "-c", "echo x > /etc/given"]);
        assert!(!o.status.success(), "a read-only bind took a write");
        lab.exec_ok("h1", &["sh", "-c", "echo from-h1 > /data/note"]);
        // h2 (the host's root, its bind under its own /tmp) sees it, and so does the host.
        assert_eq!(lab.exec_ok("h2", &["cat", "/tmp/data/note"]), "from-h1");
        assert_eq!(rw.read("note"), "from-h1");
        assert_eq!(ro.read("given"), "from the host");
        // The overlay root made /data in the node's own layer, not on the host.
        assert!(!std::path::Path::new("/data").exists());
    });
}
