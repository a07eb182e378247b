//! sshd in every node: `nsnet ssh` from the host (which has no interface in the lab), ssh
//! between nodes across routers, the stock client and scp with `nsnet ssh-config`, key-only
//! logins, and no sshd left after `down` or started with `ssh = false`.

use crate::util::*;
use std::process::Command;
use std::time::Duration;

/// The shape of labs/two-routers.toml.
const TWO_ROUTERS: &str = r#"
[nodes]
h1 = {}
h2 = {}
h3 = {}
h4 = {}
r1 = { kind = "router" }
r2 = { kind = "router" }
s1 = { kind = "switch" }
s2 = { kind = "switch" }

[[links]]
endpoints = ["h1", "s1"]
[[links]]
endpoints = ["h2", "s1"]
[[links]]
endpoints = ["r1", "s1"]
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "s2"]
[[links]]
endpoints = ["h3", "s2"]
[[links]]
endpoints = ["h4", "s2"]
"#;

/// Runs a program on the host with a 30 s limit.
fn host(prog: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(prog);
    cmd.args(args);
    run_with_timeout(cmd, None, Duration::from_secs(30))
}

/// `nsnet ssh NODE --lab LAB -- ARGS`.
fn nsnet_ssh(lab: &Lab, node: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["ssh", node, "--lab", &lab.name, "--"];
    all.extend_from_slice(args);
    nsnet(&all)
}

/// The sshd processes whose parent is one of the lab's inits, as (node, pid).
fn sshd_of(lab: &Lab) -> Vec<(String, i32)> {
    let inits = lab.status();
    processes(|a| a[0].contains("sshd"))
        .into_iter()
        .filter_map(|(pid, _)| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let ppid: i32 = status
                .lines()
                .find_map(|l| l.strip_prefix("PPid:"))?
                .trim()
                .parse()
                .ok()?;
            let (node, _, _) = inits.iter().find(|(_, p, _)| *p == ppid)?;
            Some((node.clone(), pid))
        })
        .collect()
}

/// What the host has of its own ssh files, to prove a lab never touches them.
fn host_ssh_files() -> Vec<(String, Option<Vec<u8>>)> {
    let mut paths = vec!["/root/.ssh".to_string(), "/root/.ssh/known_hosts".into()];
    for e in std::fs::read_dir("/etc/ssh")
        .into_iter()
        .flatten()
        .flatten()
    {
        paths.push(e.path().display().to_string());
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let data = match meta {
                Some(m) if m.is_file() => std::fs::read(&p).ok(),
                Some(_) => Some(b"dir".to_vec()),
                None => None,
            };
            (p, data)
        })
        .collect()
}

#[test]
fn ssh_from_the_host_and_between_nodes_with_keys_only() {
    as_root(|| {
        let before = host_ssh_files();
        let lab = Lab::with_ssh("t-ssh-login", TWO_ROUTERS);
        lab.up();

        // From the host, which has no interface in the lab.
        let o = nsnet_ssh(&lab, "h1", &["hostname"]);
        assert!(o.status.success(), "nsnet ssh h1: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), "h1");
        // Exit status and stdin pass through.
        assert_eq!(nsnet_ssh(&lab, "r2", &["exit", "3"]).status.code(), Some(3));

        // Node to node across both routers, by name and by address, with no prompt.
        assert_eq!(
            lab.exec_ok("h1", &["ssh", "-o", "BatchMode=yes", "h4", "hostname"]),
            "h4"
        );
        let h4_addr = lab.exec_ok("h4", &["sh", "-c", "getent hosts h4 | cut -d' ' -f1"]);
        assert_eq!(
            lab.exec_ok("h1", &["ssh", "-o", "BatchMode=yes", &h4_addr, "hostname"]),
            "h4"
        );
        assert_eq!(
            lab.exec_ok("h3", &["ssh", "-o", "BatchMode=yes", "r1", "hostname"]),
            "r1"
        );

        // Passwords are refused, and sshd says so itself.
        let pw = lab.exec(
            "h1",
            &[
                "ssh",
                "-o",
                "BatchMode=yes",
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
                "-o",
                "PubkeyAuthentication=no",
                "h4",
                "true",
            ],
        );
        assert!(!pw.status.success(), "a password login got in");
        assert!(
            stderr(&pw).contains("Permission denied (publickey)"),
            "{}",
            stderr(&pw)
        );
        let t = lab.exec_ok("h4", &["sshd", "-T", "-f", "/run/nsnet/ssh/sshd_config"]);
        for line in [
            "passwordauthentication no",
            "kbdinteractiveauthentication no",
            "usepam no",
            "permitrootlogin without-password",
            "pidfile /run/nsnet/ssh/sshd.pid",
        ] {
            assert!(t.lines().any(|l| l == line), "sshd -T lacks `{line}`:\n{t}");
        }

        // Switches run no sshd.
        let sw = nsnet_ssh(&lab, "s1", &["true"]);
        assert!(!sw.status.success());
        assert!(stderr(&sw).contains("runs no sshd"), "{}", stderr(&sw));

        // The lab's keys are root's only; the host's own ssh files are as they were.
        let dir = format!("/run/nsnet/{}/ssh", lab.name);
        let mode = |p: &str| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode(&dir), 0o700);
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path().display().to_string();
            assert_eq!(mode(&p), 0o600, "{p}");
        }
        drop(lab);
        assert_eq!(host_ssh_files(), before, "the host's ssh files changed");
    });
}

#[test]
fn stock_ssh_and_scp_with_ssh_config() {
    as_root(|| {
        let lab = Lab::with_ssh("t-ssh-cfg", TWO_ROUTERS);
        lab.up();
        let text = nsnet_ok(&["ssh-config", &lab.name]);
        assert!(text.contains("Host h3.t-ssh-cfg\n"), "{text}");
        assert!(
            !text.contains("Host s1."),
            "switches have no entry:\n{text}"
        );
        let cfg = lab.dir.join("ssh_config");
        std::fs::write(&cfg, &text).unwrap();
        let cfg = cfg.to_str().unwrap();

        let o = host(
            "ssh",
            &["-F", cfg, "-o", "BatchMode=yes", "h3.t-ssh-cfg", "hostname"],
        );
        assert!(o.status.success(), "ssh -F: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), "h3");

        // A file there and back with scp: big enough to take many round trips through the relay.
        let mut x: u32 = 12345;
        let data: Vec<u8> = (0..300_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let src = lab.dir.join("payload");
        std::fs::write(&src, &data).unwrap();
        let o = host(
            "scp",
            &[
                "-F",
                cfg,
                "-o",
                "BatchMode=yes",
                src.to_str().unwrap(),
                "h3.t-ssh-cfg:/tmp/x",
            ],
        );
        assert!(o.status.success(), "scp to h3: {}", stderr(&o));
        let sum = |s: &str| s.split_whitespace().next().unwrap_or("").to_string();
        let local = stdout(&host("sha256sum", &[src.to_str().unwrap()]));
        assert_eq!(
            sum(&lab.exec_ok("h3", &["sha256sum", "/tmp/x"])),
            sum(&local)
        );
        let back = lab.dir.join("back");
        let o = host(
            "scp",
            &[
                "-F",
                cfg,
                "-o",
                "BatchMode=yes",
                "h3.t-ssh-cfg:/tmp/x",
                back.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "scp from h3: {}", stderr(&o));
        assert_eq!(std::fs::read(&back).unwrap(), data);
    });
}

#[test]
fn no_sshd_after_down_nor_with_ssh_false() {
    as_root(|| {
        // A node may turn ssh off on its own.
        let body = TWO_ROUTERS.replace("h2 = {}", "h2 = { ssh = false }");
        let lab = Lab::with_ssh("t-ssh-down", &body);
        lab.up();
        let sshd = sshd_of(&lab);
        let mut nodes: Vec<&str> = sshd.iter().map(|(n, _)| n.as_str()).collect();
        nodes.sort();
        assert_eq!(nodes, ["h1", "h3", "h4", "r1", "r2"]);
        let off = nsnet_ssh(&lab, "h2", &["true"]);
        assert!(stderr(&off).contains("ssh = false"), "{}", stderr(&off));
        // An open session at `down` time: sshd's session processes must go too.
        let mut session = Command::new(bin());
        session.args(["ssh", "h1", "--lab", &lab.name, "--", "sleep", "61"]);
        let mut session = session
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !lab.exec_ok("h1", &["ps", "-eo", "comm"]).contains("sleep") {
            assert!(std::time::Instant::now() < deadline, "no session on h1");
            std::thread::sleep(Duration::from_millis(50));
        }
        let name = lab.name.clone();
        drop(lab);
        assert_nothing_left(&name);
        for (node, pid) in &sshd {
            let alive = std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("sshd"));
            assert!(!alive, "sshd of {node} (pid {pid}) left after down");
        }
        let sleeps = processes(|a| a == ["sleep", "61"]);
        assert!(
            sleeps.is_empty(),
            "the session's command is left: {sleeps:?}"
        );
        // The client sees its connection end (the proxy relays the close).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while session.try_wait().unwrap().is_none() {
            if std::time::Instant::now() >= deadline {
                let _ = session.kill();
                panic!("nsnet ssh still runs after down");
            }
            std::thread::sleep(Duration::from_millis(50));
        }

        let lab = Lab::new("t-ssh-off", TWO_ROUTERS);
        lab.up();
        assert!(sshd_of(&lab).is_empty(), "ssh = false runs sshd");
        assert!(!std::path::Path::new(&format!("/run/nsnet/{}/ssh", lab.name)).exists());
        let o = nsnet_ssh(&lab, "h1", &["true"]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("runs no sshd"), "{}", stderr(&o));
        assert!(!nsnet(&["ssh-config", &lab.name]).status.success());
    });
}
