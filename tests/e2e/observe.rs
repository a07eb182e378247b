//! Seeing a running lab: `nsnet events` streams what its kernels announce, `nsnet top` shows
//! its counters move, `nsnet graph` draws its state (checked in a real browser), and the shell
//! completion knows its nodes.

use crate::util::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A long-running `nsnet` whose stdout lines are read as they come; killed on drop.
struct Stream {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line so far, parsed.
    seen: Vec<serde_json::Value>,
    /// Where searches start: lines before it came before the action a test waits on.
    mark: usize,
}

impl Stream {
    /// Starts `nsnet ARGS` and waits until it says (on stderr) that it is watching.
    fn start(args: &[&str]) -> Stream {
        let mut child = Command::new(bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning nsnet");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        err.read_line(&mut first).unwrap();
        assert!(first.contains("watching"), "nsnet {args:?}: {first}");
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::stderr()));
        Stream {
            child,
            lines,
            seen: Vec::new(),
            mark: 0,
        }
    }

    /// Searches from now on start after the lines seen so far.
    fn mark(&mut self) {
        self.mark = self.seen.len();
    }

    /// The first line since the mark for which `pred` holds, waiting for it (within
    /// `limit`); events of different nodes may come in any order.
    #[track_caller]
    fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        if let Some(v) = self.seen[self.mark..].iter().find(|v| pred(v)) {
            return v.clone();
        }
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let v: serde_json::Value =
                        serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => {
                    let seen: Vec<String> = self.seen.iter().map(|v| v.to_string()).collect();
                    panic!(
                        "no {what} within {limit:?}; events seen:\n{}",
                        seen.join("\n")
                    )
                }
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An event line's `event`, `node` and `iface`.
fn is(v: &serde_json::Value, event: &str, node: &str, iface: &str) -> bool {
    v["event"] == event && v["node"] == node && v["iface"] == iface
}

/// RFC 3339 UTC with milliseconds: `2026-12-03T09:16:01.757Z`.
fn assert_time(v: &serde_json::Value) {
    let t = v["time"].as_str().unwrap();
    let b = t.as_bytes();
    assert!(
        t.len() == 24
            && b[4] == b'-'
            && b[10] == b'T'
            && b[19] == b'.'
            && t.ends_with('Z')
            && t[..4].parse::<u32>().unwrap() >= 2024,
        "{t}"
    );
}

#[test]
fn events_show_a_link_going_down_and_up_at_both_ends() {
    as_root(|| {
        let lab = Lab::new("t-ev-link", PAIR);
        lab.up();
        let mut ev = Stream::start(&["events", "--lab", &lab.name, "--json"]);
        ev.mark();
        nsnet_ok(&["link", "down", "h1:eth0", "--lab", &lab.name]);
        let limit = Duration::from_secs(10);
        for node in ["h1", "h2"] {
            let v = ev.wait_for("link-down", limit, |v| is(v, "link-down", node, "eth0"));
            assert_eq!(v["lab"], lab.name.as_str());
            assert_time(&v);
        }
        ev.mark();
        nsnet_ok(&["link", "up", "h1:eth0", "--lab", &lab.name]);
        for node in ["h1", "h2"] {
            ev.wait_for("link-up", limit, |v| is(v, "link-up", node, "eth0"));
        }
        // Both ends up again: the carrier is back.
        ev.wait_for("carrier-up", limit, |v| v["event"] == "carrier-up");
        // Killing a node's init is an event of its own, and when every node is gone the
        // stream says so and ends.
        let pid = lab.pid("h2");
        let killed = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        ev.mark();
        let v = ev.wait_for("node-exited", limit, |v| {
            v["event"] == "node-exited" && v["node"] == "h2"
        });
        assert_eq!(v["pid"], pid);
        nsnet_ok(&["down", &lab.name]);
        ev.wait_for("lab-down", limit, |v| v["event"] == "lab-down");
        let status = ev.child.wait().unwrap();
        assert!(status.success(), "events ends with the lab: {status}");
    });
}

#[test]
fn events_show_ospf_routes_arrive_then_withdrawn() {
    as_root(|| {
        if !std::path::Path::new("/usr/lib/frr/ospfd").exists() {
            panic!("FRRouting is not installed: run scripts/setup");
        }
        let name = "t-ev-ospf";
        let _ = nsnet(&["down", name]);
        let path = format!("{}/labs/ospf.toml", env!("CARGO_MANIFEST_DIR"));
        nsnet_ok(&["up", "--name", name, &path]);
        struct Down(&'static str);
        impl Drop for Down {
            fn drop(&mut self) {
                let _ = nsnet(&["down", self.0]);
            }
        }
        let _down = Down(name);
        let mut ev = Stream::start(&["events", "--lab", name, "--json"]);
        // routing = "none": r1 learns r2's LAN only from OSPF, as it converges.
        let ospf_route = |node: &'static str, dst: &'static str, event: &'static str| {
            move |v: &serde_json::Value| {
                v["event"] == event
                    && v["node"] == node
                    && v["dst"] == dst
                    && v["protocol"] == "ospf"
            }
        };
        let v = ev.wait_for(
            "r1's OSPF route to 10.0.2.0/24",
            Duration::from_secs(60),
            ospf_route("r1", "10.0.2.0/24", "route-added"),
        );
        assert_eq!(v["via"][0]["via"], "10.0.12.2", "{v}");
        assert_eq!(v["via"][0]["dev"], "eth1", "{v}");
        ev.wait_for(
            "r2's OSPF route to 10.0.1.0/24",
            Duration::from_secs(30),
            ospf_route("r2", "10.0.1.0/24", "route-added"),
        );
        // The r1–r2 link fails: the routes through it are withdrawn (the kernel flushes
        // IPv4 routes of a link set down without a word: events reads the table again).
        ev.mark();
        nsnet_ok(&["link", "down", "r1:eth1", "--lab", name]);
        ev.wait_for("r1:eth1 link-down", Duration::from_secs(10), |v| {
            is(v, "link-down", "r1", "eth1")
        });
        ev.wait_for(
            "r1 withdrawing 10.0.2.0/24",
            Duration::from_secs(30),
            ospf_route("r1", "10.0.2.0/24", "route-removed"),
        );
        ev.wait_for(
            "r2 withdrawing 10.0.1.0/24",
            Duration::from_secs(30),
            ospf_route("r2", "10.0.1.0/24", "route-removed"),
        );
    });
}

#[test]
fn top_under_a_terminal_shows_counters_rising_during_a_ping_flood() {
    as_root(|| {
        let lab = Lab::new("t-top", PAIR);
        lab.up();
        // A flood for a few seconds (bounded by -w), in the background.
        let mut flood = Command::new(bin())
            .args(["exec", "h1", "--lab", &lab.name, "--"])
            .args(["ping", "-q", "-f", "-c", "2000000", "-w", "4", "h2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        // Under a pseudo-terminal (script(1)): redrawn in place.
        let mut cmd = Command::new("script");
        let top = format!("{} top --lab {} --count 3 --interval 0.5", bin(), lab.name);
        cmd.args(["-qfec", &top, "/dev/null"]);
        let o = run_with_timeout(cmd, None, Duration::from_secs(30));
        let _ = flood.wait();
        let screen = stdout(&o);
        assert!(o.status.success(), "{screen}{}", stderr(&o));
        let frames: Vec<&str> = screen.split("\x1b[H\x1b[2J").skip(1).collect();
        assert_eq!(frames.len(), 3, "three redraws in place:\n{screen}");
        // h1's eth0: TX pkts (the 9th column) grows frame by frame, at a flood's rate.
        let mut sent = Vec::new();
        for f in &frames {
            let row: Vec<&str> = f
                .lines()
                .find(|l| l.starts_with("h1 ") && l.split_whitespace().nth(1) == Some("eth0"))
                .unwrap_or_else(|| panic!("no h1 eth0 row:\n{f}"))
                .split_whitespace()
                .collect();
            assert_eq!(row[2], "up", "{row:?}");
            sent.push(row[8].parse::<u64>().unwrap());
            assert!(
                row[4] != "0" && row[6] != "0",
                "a flood is sending: {row:?}"
            );
        }
        assert!(sent.windows(2).all(|w| w[1] > w[0] + 100), "{sent:?}");
        // Piped: plain snapshots, no terminal codes.
        let plain = nsnet_ok(&[
            "top",
            "--lab",
            &lab.name,
            "--count",
            "2",
            "--interval",
            "0.2",
        ]);
        assert!(!plain.contains('\x1b'), "{plain}");
        assert_eq!(plain.matches("\nNODE ").count(), 2, "{plain}");
        assert_eq!(
            plain
                .lines()
                .filter(|l| l.starts_with("# lab t-top"))
                .count(),
            2
        );
    });
}

/// The start tags (`<g …>`, `<tr …>`) of `dom` that contain `needle`.
fn tags_with<'a>(dom: &'a str, needle: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find(needle) {
        let start = rest[..at].rfind('<').unwrap_or(0);
        let end = at + rest[at..].find('>').unwrap_or(rest.len() - at);
        out.push(&rest[start..=end.min(rest.len() - 1)]);
        rest = &rest[end.min(rest.len() - 1) + 1..];
    }
    out
}

/// Runs Debian's Chromium headless as root on `page` with `what` (`--dump-dom`,
/// `--screenshot=FILE`); returns its stdout.
fn chromium(page: &std::path::Path, what: &str) -> String {
    let profile = tempdir("chromium-profile");
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,800",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    // Its crash reports and dconf cache go to the profile, not root's home.
    .env("HOME", &profile)
    .env("XDG_CONFIG_HOME", profile.join("config"))
    .env("XDG_CACHE_HOME", profile.join("cache"))
    .arg(what)
    .arg(format!("file://{}", page.display()));
    let o = run_with_timeout(cmd, None, Duration::from_secs(90));
    let _ = std::fs::remove_dir_all(&profile);
    assert!(o.status.success(), "chromium {what}: {}", stderr(&o));
    stdout(&o)
}

fn tempdir(what: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("nsnet-e2e-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn graph_page_in_a_real_browser_shows_every_node_and_the_down_link() {
    as_root(|| {
        assert!(
            Command::new("chromium").arg("--version").output().is_ok(),
            "Chromium is not installed: run scripts/setup"
        );
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/two-routers.toml"
        ))
        .unwrap();
        let body = &text[text.find("[nodes]").unwrap()..];
        let lab = Lab::new("t-graph", body);
        lab.up();
        nsnet_ok(&["link", "down", "r1", "r2", "--lab", &lab.name]);
        // Also an impaired link and a dead node, each to be marked.
        nsnet_ok(&[
            "link", "set", "r2", "s2", "--rate", "10mbit", "--lab", &lab.name,
        ]);
        let killed = Command::new("kill")
            .args(["-KILL", &lab.pid("h4").to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        std::thread::sleep(Duration::from_millis(200));
        let page = lab.dir.join("two-routers.html");
        nsnet_ok(&[
            "graph",
            "--lab",
            &lab.name,
            "--format",
            "html",
            "-o",
            page.to_str().unwrap(),
        ]);
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            !html.contains("http:") && !html.contains("https:"),
            "no fetches"
        );
        // The DOM after Chromium ran the page's script (which measures what it drew).
        let dom = chromium(&page, "--dump-dom");
        assert!(
            dom.contains(r#"data-ready="1""#),
            "the page's script ran:\n{dom}"
        );
        for node in ["h1", "h2", "h3", "h4", "r1", "r2", "s1", "s2"] {
            let g = tags_with(&dom, &format!(r#"data-node="{node}" data-kind"#));
            assert_eq!(g.len(), 1, "{node}: {g:?}");
            let state = if node == "h4" { "dead" } else { "up" };
            assert!(
                g[0].contains(&format!(r#"data-state="{state}""#)),
                "{}",
                g[0]
            );
            assert!(
                g[0].contains(r#"data-rendered="1""#),
                "{node} drawn: {}",
                g[0]
            );
        }
        assert!(
            tags_with(&dom, r#"data-node="h4" data-kind"#)[0].contains("class=\"node host dead\"")
        );
        let slow = tags_with(&dom, r#"data-link="r2:eth1--s2:eth0""#);
        assert!(
            slow[0].contains("impaired") && slow[0].contains(r#"data-impair="rate 10mbit""#),
            "{}",
            slow[0]
        );
        let down = tags_with(&dom, r#"data-link="r1:eth1--r2:eth0""#);
        assert_eq!(
            down.len(),
            2,
            "the link in the drawing and in the table: {down:?}"
        );
        for t in &down {
            assert!(t.contains(r#"data-state="down""#), "{t}");
        }
        assert!(down[0].contains("class=\"link down\""), "{}", down[0]);
        let others = tags_with(&dom, r#"data-link="h1:eth0--s1:eth0""#);
        assert!(others[0].contains(r#"data-state="up""#), "{}", others[0]);
        let summary = tags_with(&dom, r#"id="summary""#);
        assert!(
            summary[0].contains(r#"data-rendered="8""#)
                && summary[0].contains(r#"data-down-links="1""#)
                && summary[0].contains(r#"data-dead-nodes="1""#),
            "{}",
            summary[0]
        );
        // A screenshot, kept as the test's artifact.
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        let shot = dir.join("two-routers-link-down.png");
        // (the link down, r2–s2 rate-limited, h4 dead)
        let _ = std::fs::remove_file(&shot);
        chromium(&page, &format!("--screenshot={}", shot.display()));
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{}",
            png.len()
        );
        eprintln!("screenshot: {}", shot.display());
    });
}

#[test]
fn bash_completion_completes_subcommands_and_a_running_labs_nodes() {
    as_root(|| {
        let lab = Lab::new("t-compl", PAIR);
        lab.up();
        let script = lab.dir.join("nsnet.bash");
        std::fs::write(&script, nsnet_ok(&["completions", "bash"])).unwrap();
        // The nsnet under test as `nsnet` on PATH: the script calls back into it.
        let bindir = tempdir("compl-bin");
        std::os::unix::fs::symlink(bin(), bindir.join("nsnet")).unwrap();
        let probe = format!(
            r#"source {}
f=$(complete -p nsnet | sed -E 's/.* -F ([^ ]+) .*/\1/')
c() {{
    COMP_WORDS=("$@"); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
    COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
    "$f" nsnet "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    echo "${{COMPREPLY[*]}}"
}}
c nsnet ''
c nsnet e
c nsnet exec --lab t-compl ''
c nsnet enter --lab t-compl h
c nsnet capture --lab t-compl h2 : ''
c nsnet down ''
"#,
            script.display()
        );
        let mut cmd = Command::new("bash");
        cmd.args(["--norc", "--noprofile", "-c", &probe]).env(
            "PATH",
            format!("{}:{}", bindir.display(), std::env::var("PATH").unwrap()),
        );
        let o = run_with_timeout(cmd, None, Duration::from_secs(30));
        let _ = std::fs::remove_dir_all(&bindir);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "{out}");
        let subcommands: Vec<&str> = lines[0].split_whitespace().collect();
        for s in ["up", "down", "exec", "graph", "events", "top", "link"] {
            assert!(subcommands.contains(&s), "{s} in {subcommands:?}");
        }
        assert!(
            !subcommands
                .iter()
                .any(|s| ["__complete", "completions", "man"].contains(s)),
            "hidden ones stay hidden: {subcommands:?}"
        );
        assert_eq!(lines[1], "enter exec events");
        assert_eq!(lines[2], "h1 h2", "the running lab's nodes");
        assert_eq!(lines[3], "h1 h2");
        assert_eq!(lines[4], "eth0", "h2:<TAB> gives its interfaces");
        assert!(
            lines[5].split_whitespace().any(|l| l == "t-compl"),
            "{}",
            lines[5]
        );
    });
}

#[test]
fn zsh_and_fish_completions_and_man_pages_come_from_the_cli() {
    // Generation needs no root and no lab.
    let zsh = nsnet_ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef nsnet"), "{}", &zsh[..40]);
    assert!(
        zsh.contains(":node -- The node:_nsnet_values nodes"),
        "nodes from nsnet"
    );
    assert!(zsh.contains("_nsnet_values() {"));
    assert!(
        !zsh.contains("'__complete:"),
        "hidden subcommands stay hidden"
    );
    let fish = nsnet_ok(&["completions", "fish"]);
    assert!(fish.contains("-a \"events\"") && fish.contains("(__nsnet_dynamic nodes)"));
    assert!(!fish.contains("-a \"__complete\""));
    let man = nsnet_ok(&["man"]);
    assert!(
        man.contains(".TH nsnet 1") && man.contains("nsnet\\-events(1)"),
        "{man}"
    );
    let dir = tempdir("man");
    nsnet_ok(&["man", "--dir", dir.to_str().unwrap()]);
    for page in [
        "nsnet.1",
        "nsnet-events.1",
        "nsnet-top.1",
        "nsnet-graph.1",
        "nsnet-link-down.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
