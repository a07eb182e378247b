//! Scale runs: `cargo bench` (up to 1000 nodes), `cargo bench -- --quick` (N ≤ 100),
//! `cargo bench -- --big` (also the 10,000-node cases; minutes, not for CI).
//!
//! For star (Mininet's single), linear (Mininet's), tree, line and fat-tree labs of about 10,
//! 100, 1000 (and 10,000) nodes: `nsnet up`, one ping across the longest path, `nsnet down` —
//! and, in the same run, the floor: the same parts made the usual hand-made way. Each node
//! of the floor is a minimal static process (busybox's sleep) holding five fresh namespaces
//! (net, UTS, mount, PID, IPC), as an nsnet node's init does; the veths, bridges, addresses
//! and routes are made with `ip -batch` (one batch for the veths, namespaces named by pid,
//! then one `nsenter -t PID -n ip -batch` per namespace). The product never runs ip; the
//! bench may. Every `up`, ours and the floor's, starts on a kernel that has
//! finished freeing the namespaces of the run before. Needs root.
//!
//! Rootless against root: `up` and `down` of a 1000-host star, as root and as an unprivileged
//! user (a rootless lab, in that user's sandbox), alternated, medians of three each
//! (`cargo bench -- --rootless` runs only that).
//!
//! Spread: a 931-node fat-tree on this machine, then over 2 and 4 simulated hosts (nodes of
//! an underlay lab running nsnet, over ssh): links that cross, up and down
//! (`cargo bench -- --spread` runs only that).

use nsnet_lab::gen::{generate, Shape};
use nsnet_lab::{Kind, Lab, Plan};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The nsnet measured: the one that ships (scripts/build-static, built now unless
/// `$NSNET_BIN` names one).
fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(b) = std::env::var("NSNET_BIN") {
            return b;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-static");
        let o = Command::new("bash")
            .args([script, "-q"])
            .stderr(Stdio::inherit())
            .output()
            .expect("running scripts/build-static");
        assert!(o.status.success(), "scripts/build-static failed");
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    })
}

struct Row {
    name: String,
    shape: Shape,
    overlay: bool,
    nodes: usize,
    links: usize,
    up: Duration,
    down: Duration,
    floor_up: Duration,
    floor_down: Duration,
    /// PSS of the node processes (the inits), per node, KiB.
    pss: u64,
    /// Memory per node, KiB: nsnet's lab and the floor's.
    mem: Mem,
    floor_mem: Mem,
    ping: String,
    /// Neighbour-table overflows (the kernel's `table_fulls`, ARP and NDISC) during our run.
    neigh_full: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !is_root() {
        println!("scale bench: skipped: needs root");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let big = args.iter().any(|a| a == "--big");
    eprintln!("nsnet: {}", bin());
    if args.iter().any(|a| a == "--rootless") {
        rootless_vs_root(1000);
        return;
    }
    if args.iter().any(|a| a == "--spread") {
        spread_vs_one(14);
        return;
    }
    // (shape, root): `None` is the host's own root; "overlay" a copy-on-write one per node.
    let mut shapes = vec![
        (Shape::Star(10), None),
        (Shape::Line(8), None),
        (Shape::FatTree(4), None),
        (Shape::Star(100), None),
        (Shape::Star(100), Some("overlay")),
        (Shape::Linear(50), None),
        (Shape::Tree(2, 10), None),
        (Shape::Line(98), None),
        (Shape::FatTree(8), None),
    ];
    if !quick {
        shapes.extend([
            (Shape::Star(1000), None),
            (Shape::Star(1000), Some("overlay")),
            (Shape::Linear(500), None),
            (Shape::Tree(2, 31), None),
            (Shape::Line(998), None),
            (Shape::FatTree(12), None),
        ]);
    }
    if big {
        shapes.extend([
            (Shape::Tree(2, 100), None),
            (Shape::Line(9998), None),
            (Shape::FatTree(32), None),
        ]);
    }
    let dir = std::env::temp_dir().join(format!("nsnet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rows = Vec::new();
    for (shape, root) in shapes {
        let mut name = format!("b{}", shape.default_name().replace('-', ""));
        if root.is_some() {
            name.push('o');
        }
        eprint!("{name}: ");
        match run(shape, &name, &dir, root) {
            Ok(row) => {
                eprintln!(
                    "up {:.2}s, floor {:.2}s",
                    row.up.as_secs_f64(),
                    row.floor_up.as_secs_f64()
                );
                rows.push(row);
            }
            Err(e) => {
                eprintln!("FAILED: {e}");
                let _ = Command::new(bin()).args(["down", &name]).output();
                std::process::exit(1);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    print_table(&rows);
    print_growth(&rows);
    if !quick {
        rootless_vs_root(1000);
        spread_vs_one(14);
    }
}

/// A fat-tree (k = 14: 931 nodes, the closest to 1000) on this machine alone, then spread
/// over 2 and over 4 simulated hosts: nodes of an underlay lab that run sshd, nsnet running
/// inside each, reached through `nsnet ssh-config`. Prints the links that cross, the
/// trunks, and `up`/`down` of each next to the one-machine run (the simulated hosts share
/// this machine's cores: the figures are what spreading costs, not what it gains).
fn spread_vs_one(k: usize) {
    let dir = std::env::temp_dir().join(format!("nsnet-bench-spread-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = generate(Shape::FatTree(k), Some("bsp"), false).unwrap();
    let file = dir.join("bsp.toml");
    std::fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap().to_string();
    let plan = nsnet_lab::plan(&Lab::from_toml(&text, "bench.toml", None, None).unwrap()).unwrap();
    let timed = |args: &[&str]| -> Result<Duration, String> {
        let t = Instant::now();
        nsnet(args)?;
        Ok(t.elapsed())
    };
    let mut rows = Vec::new();
    let _ = Command::new(bin()).args(["down", "bsp"]).output();
    kernel_idle();
    let up = timed(&["up", &file]).unwrap();
    reach(&plan, "bsp", Shape::FatTree(k)).unwrap();
    let down = timed(&["down", "bsp"]).unwrap();
    rows.push(("one machine".to_string(), 0, 0, up, down));
    for hosts in [2, 4] {
        let under = format!("bspu{hosts}");
        let _ = Command::new(bin()).args(["down", &under]).output();
        let mut u = format!(
            "[lab]\nname = \"{under}\"\nssh = true\ntmpfs_size = \"512M\"\n[nodes]\nsw = {{ kind = \"switch\" }}\n"
        );
        for i in 1..=hosts {
            u.push_str(&format!("m{i} = {{}}\n"));
        }
        for i in 1..=hosts {
            u.push_str(&format!(
                "[[links]]\nendpoints = [{{ node = \"m{i}\", address = \"10.77.0.{i}/24\" }}, \"sw\"]\n"
            ));
        }
        let ufile = dir.join(format!("{under}.toml"));
        std::fs::write(&ufile, u).unwrap();
        nsnet(&["up", ufile.to_str().unwrap()]).unwrap();
        let cfg = dir.join(format!("{under}.ssh_config"));
        std::fs::write(&cfg, nsnet(&["ssh-config", &under]).unwrap()).unwrap();
        let mut h = format!("ssh_config = \"{}\"\n", cfg.display());
        for i in 1..=hosts {
            h.push_str(&format!(
                "[hosts.m{i}]\nssh = \"m{i}.{under}\"\naddress = \"10.77.0.{i}\"\n"
            ));
        }
        let hfile = dir.join(format!("{under}.hosts.toml"));
        std::fs::write(&hfile, h).unwrap();
        let hfile = hfile.to_str().unwrap().to_string();
        let placed = nsnet(&["plan", &file, "--hosts", &hfile]).unwrap();
        // "N link(s) cross hosts (one tunnel each), M switch(es) stretched (one trunk each):"
        let line = placed
            .lines()
            .find(|l| l.contains("link(s) cross hosts"))
            .unwrap_or_default();
        let number = |part: Option<&str>| -> usize {
            part.and_then(|p| p.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let (cut, trunks) = (number(Some(line)), number(line.split("), ").nth(1)));
        kernel_idle();
        let result = timed(&["up", &file, "--hosts", &hfile]).and_then(|up| {
            reach(&plan, "bsp", Shape::FatTree(k))?;
            let down = timed(&["down", "bsp"])?;
            Ok((up, down))
        });
        let _ = Command::new(bin()).args(["down", "bsp"]).output();
        let _ = Command::new(bin()).args(["down", &under]).output();
        match result {
            Ok((up, down)) => rows.push((format!("{hosts} hosts"), cut, trunks, up, down)),
            Err(e) => {
                eprintln!("spread over {hosts}: FAILED: {e}");
                std::process::exit(1);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!(
        "| fat-tree k={k}, {} nodes, {} links | links that cross | trunks | up | down | up / one machine |",
        plan.nodes.len(),
        plan.links.len()
    );
    println!("|---|---|---|---|---|---|");
    let one = rows[0].3;
    for (what, cut, trunks, up, down) in &rows {
        println!(
            "| {what} | {cut} | {trunks} | {:.2} s | {:.2} s | {:.2}× |",
            up.as_secs_f64(),
            down.as_secs_f64(),
            up.as_secs_f64() / one.as_secs_f64()
        );
    }
}

/// The uid rootless runs use (no passwd entry needed).
const ROOTLESS_UID: &str = "64010";

/// `up` then `down` of a star of `n` hosts, as root and rootless, alternated; prints the
/// medians and their ratio.
fn rootless_vs_root(n: usize) {
    let dir = std::env::temp_dir().join(format!("nsnet-bench-rl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = generate(Shape::Star(n), Some("brl"), false).unwrap();
    let file = dir.join("brl.toml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap().to_string();
    let as_user = |args: &[&str]| -> Command {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={ROOTLESS_UID}"),
            &format!("--regid={ROOTLESS_UID}"),
            "--clear-groups",
            bin(),
        ])
        .args(args);
        c
    };
    let as_root = |args: &[&str]| -> Command {
        let mut c = Command::new(bin());
        c.args(args);
        c
    };
    let timed = |mut c: Command| -> Duration {
        let t = Instant::now();
        let o = c.stdin(Stdio::null()).output().expect("running nsnet");
        assert!(
            o.status.success(),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        t.elapsed()
    };
    let (mut root, mut rootless) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for (times, run) in [
            (&mut root, &as_root as &dyn Fn(&[&str]) -> Command),
            (&mut rootless, &as_user),
        ] {
            kernel_idle();
            let up = timed(run(&["up", &file]));
            let down = timed(run(&["down", "brl"]));
            times.push((up, down));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut ru, mut rd): (Vec<_>, Vec<_>) = root.into_iter().unzip();
    let (mut lu, mut ld): (Vec<_>, Vec<_>) = rootless.into_iter().unzip();
    let (ru, rd, lu, ld) = (
        median(&mut ru),
        median(&mut rd),
        median(&mut lu),
        median(&mut ld),
    );
    println!();
    println!("| star {n}, medians of 3 | up | down |");
    println!("|---|---|---|");
    println!(
        "| root | {:.2} s | {:.2} s |",
        ru.as_secs_f64(),
        rd.as_secs_f64()
    );
    println!(
        "| rootless | {:.2} s | {:.2} s |",
        lu.as_secs_f64(),
        ld.as_secs_f64()
    );
    println!(
        "| rootless / root | {:.2}× | {:.2}× |",
        lu.as_secs_f64() / ru.as_secs_f64(),
        ld.as_secs_f64() / rd.as_secs_f64()
    );
}

fn run(shape: Shape, name: &str, dir: &Path, root: Option<&str>) -> Result<Row, String> {
    let mut text = generate(shape, Some(name), false).map_err(|e| e.to_string())?;
    if let Some(root) = root {
        // Every host and router on a root of its own (`[lab] root`).
        text = text.replacen("[lab]\n", &format!("[lab]\nroot = \"{root}\"\n"), 1);
    }
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, &text).map_err(|e| e.to_string())?;
    let lab = Lab::from_toml(&text, "bench.toml", None, None).map_err(|e| e.to_string())?;
    let plan = nsnet_lab::plan(&lab).map_err(|e| e.to_string())?;
    let _ = Command::new(bin()).args(["down", name]).output();

    kernel_idle();
    let before = Mem::now();
    let full_before = neigh_table_fulls();
    let t = Instant::now();
    nsnet(&["up", file.to_str().unwrap()])?;
    let up = t.elapsed();
    settle();
    let mem = Mem::now().per_node_since(&before, plan.nodes.len());
    let pss = inits_pss(name) / plan.nodes.len() as u64;
    let ping = reach(&plan, name, shape)?;
    let neigh_full = neigh_table_fulls() - full_before;
    let t = Instant::now();
    nsnet(&["down", name])?;
    let down = t.elapsed();

    kernel_idle();
    let (floor_up, floor_down, floor_mem) = floor(&plan, dir)?;
    kernel_idle();
    Ok(Row {
        name: name.to_string(),
        shape,
        overlay: root.is_some(),
        nodes: plan.nodes.len(),
        links: plan.links.len(),
        up,
        down,
        floor_up,
        floor_down,
        pss,
        mem,
        floor_mem,
        ping,
        neigh_full,
    })
}

fn nsnet(args: &[&str]) -> Result<String, String> {
    let o = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(format!(
            "nsnet {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// One ping from the first host to the node farthest from it that IP's TTL can reach.
fn reach(plan: &Plan, lab: &str, shape: Shape) -> Result<String, String> {
    let (from, to) = match shape {
        Shape::Star(n) | Shape::Linear(n) => ("h1".to_string(), format!("h{n}")),
        Shape::Tree(d, f) => ("h1".to_string(), format!("h{}", f.pow(d as u32))),
        Shape::Line(n) if n < 250 => ("h1".into(), "h2".into()),
        Shape::Line(_) => ("h1".into(), "r250".into()),
        Shape::FatTree(k) => ("h1-1-1".into(), format!("h{k}-{}-{}", k / 2, k / 2)),
        _ => unreachable!("bench shapes"),
    };
    let addr = plan
        .node(&to)
        .and_then(|n| n.addrs().last())
        .ok_or("target has no address")?
        .addr
        .to_string();
    nsnet(&[
        "exec", "--lab", lab, &from, "--", "ping", "-c1", "-W5", "-t", "255", &addr,
    ])?;
    Ok(format!("{from}→{to}"))
}

/// The same network, made by hand: a process per node holding five fresh namespaces, the
/// veth pairs made in one ip batch (namespaces named by the processes' pids: naming them
/// with `ip netns attach` slows down with every mount, minutes at 10,000), then one batch per
/// namespace, run in it with nsenter, for bridges, addresses, links up and routes. Returns
/// (up, down, KiB/node).
fn floor(plan: &Plan, dir: &Path) -> Result<(Duration, Duration, Mem), String> {
    let before = Mem::now();
    let t = Instant::now();
    let mut holders = Holders(Vec::with_capacity(plan.nodes.len()));
    let mut pid = std::collections::HashMap::new();
    for n in &plan.nodes {
        let child = hold_namespaces()?;
        pid.insert(n.name.as_str(), child.id());
        holders.0.push(child);
    }
    let mut main = String::new();
    for l in &plan.links {
        let _ = writeln!(
            main,
            "link add {} netns {} type veth peer name {} netns {}",
            l.a.iface,
            pid[l.a.node.as_str()],
            l.b.iface,
            pid[l.b.node.as_str()]
        );
    }
    let mut per_ns = Vec::new();
    for n in &plan.nodes {
        let mut b = String::from("link set lo up\n");
        if let Some(br) = &n.bridge {
            let _ = writeln!(b, "link add {br} type bridge");
        }
        for i in &n.interfaces {
            if let Some(m) = i.mtu {
                let _ = writeln!(b, "link set {} mtu {m}", i.name);
            }
            for a in &i.addrs {
                let _ = writeln!(b, "addr add {a} dev {}", i.name);
            }
            if let Some(br) = &n.bridge {
                let _ = writeln!(b, "link set {} master {br}", i.name);
            }
            let _ = writeln!(b, "link set {} up", i.name);
        }
        if let Some(br) = &n.bridge {
            let _ = writeln!(b, "link set {br} up");
        }
        if n.kind != Kind::Switch {
            for r in &n.routes {
                let _ = write!(b, "route add {}", r.to);
                if r.via.len() == 1 {
                    let _ = write!(b, " via {} dev {}", r.via[0].via, r.via[0].dev);
                } else {
                    for h in &r.via {
                        let _ = write!(b, " nexthop via {} dev {}", h.via, h.dev);
                    }
                }
                b.push('\n');
            }
        }
        per_ns.push((pid[n.name.as_str()], b));
    }
    let main_file = dir.join("floor-main.batch");

    std::fs::write(&main_file, &main).map_err(|e| e.to_string())?;
    ip(&[], &["-batch"], Some(&main_file), None)?;
    for (pid, batch) in &per_ns {
        ip(
            &["-t", &pid.to_string(), "-n"],
            &["-batch", "-"],
            None,
            Some(batch),
        )?;
    }
    let up = t.elapsed();
    settle();
    let mem = Mem::now().per_node_since(&before, plan.nodes.len());

    // Their namespaces go with the processes.
    let t = Instant::now();
    holders.stop();
    let down = t.elapsed();
    Ok((up, down, mem))
}

/// A floor node: busybox's sleep (static), started in fresh net, UTS, mount, IPC and PID
/// namespaces (the PID one is its children's: unshare(2) makes the next child its PID 1),
/// IPv6 off as in nsnet's IPv4-only nodes.
#[allow(unsafe_code)]
fn hold_namespaces() -> Result<std::process::Child, String> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(["sleep", "100000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: unshare is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let flags = libc::CLONE_NEWNET
                | libc::CLONE_NEWUTS
                | libc::CLONE_NEWNS
                | libc::CLONE_NEWIPC
                | libc::CLONE_NEWPID;
            if libc::unshare(flags) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // IPv4-only labs: no IPv6 in the new netns either, as nsnet's nodes (else its
            // autoconfiguration floods every segment; a chain of 5,000 bridges for minutes).
            for path in [
                c"/proc/sys/net/ipv6/conf/all/disable_ipv6",
                c"/proc/sys/net/ipv6/conf/default/disable_ipv6",
            ] {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd >= 0 {
                    libc::write(fd, b"1".as_ptr().cast(), 1);
                    libc::close(fd);
                }
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| format!("starting the floor's /bin/busybox sleep: {e}"))
}

/// The floor's node processes: killed and reaped when stopped or dropped (a failed run too).
struct Holders(Vec<std::process::Child>);

impl Holders {
    fn stop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
        self.0.clear();
    }
}

impl Drop for Holders {
    fn drop(&mut self) {
        self.stop();
    }
}

/// ip with `args`; inside a process's namespaces (nsenter `enter`) when `enter` is given.
fn ip(
    enter: &[&str],
    args: &[&str],
    file: Option<&PathBuf>,
    stdin: Option<&str>,
) -> Result<(), String> {
    let mut cmd = if enter.is_empty() {
        Command::new("ip")
    } else {
        let mut c = Command::new("nsenter");
        c.args(enter).arg("ip");
        c
    };
    cmd.args(args);
    if let Some(f) = file {
        cmd.arg(f);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().map_err(|e| format!("ip: {e}"))?;
    if let (Some(s), Some(mut w)) = (stdin, child.stdin.take()) {
        w.write_all(s.as_bytes()).map_err(|e| e.to_string())?;
    }
    let st = child.wait().map_err(|e| e.to_string())?;
    if !st.success() {
        return Err(format!("ip {args:?} failed"));
    }
    Ok(())
}

/// Sum of the PSS of every init of `lab`, KiB.
fn inits_pss(lab: &str) -> u64 {
    let prefix = format!("nsnet-init\0{lab}/");
    let mut total = 0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        if !cmd.starts_with(prefix.as_bytes()) {
            continue;
        }
        let rollup = std::fs::read_to_string(e.path().join("smaps_rollup")).unwrap_or_default();
        total += rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

/// System memory, KiB: what is available, and what is held and cannot be reclaimed.
#[derive(Debug, Clone, Copy)]
struct Mem {
    /// MemAvailable (moves with page cache and reclaimable slab: noisy).
    avail: i64,
    /// Unreclaimable slab, kernel stacks, page tables, per-cpu, anonymous and shmem pages:
    /// what a lab holds for as long as it is up, and steadier than MemAvailable.
    held: i64,
}

impl Mem {
    fn now() -> Mem {
        let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |name: &str| -> i64 {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Mem {
            avail: field("MemAvailable"),
            held: [
                "SUnreclaim",
                "KernelStack",
                "PageTables",
                "Percpu",
                "AnonPages",
                "Shmem",
            ]
            .iter()
            .map(|f| field(f))
            .sum(),
        }
    }

    /// What was taken since `before`, per node.
    fn per_node_since(&self, before: &Mem, nodes: usize) -> Mem {
        let n = nodes.max(1) as i64;
        Mem {
            avail: (before.avail - self.avail) / n,
            held: (self.held - before.held) / n,
        }
    }
}

/// Let the kernel finish freeing namespaces (RCU, workqueues) before measuring memory.
fn settle() {
    std::thread::sleep(Duration::from_millis(1500));
}

/// Network namespaces the kernel has allocated (its slab count), if it shows them.
fn netns_allocated() -> Option<u64> {
    std::fs::read_to_string("/sys/kernel/slab/net_namespace/objects")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Waits until the kernel has freed what earlier runs let go of: the count of allocated
/// network namespaces still for a second, each round driving the kernel's cleanup on with a
/// namespace made and dropped (at most a minute). Then settles RCU.
fn kernel_idle() {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = netns_allocated();
    let mut still = 0;
    while still < 5 && Instant::now() < deadline {
        let _ = Command::new("unshare").args(["-n", "true"]).status();
        std::thread::sleep(Duration::from_millis(200));
        let now = netns_allocated();
        if now == last {
            still += 1;
        } else {
            still = 0;
            last = now;
        }
    }
    settle();
}

/// The neighbour tables' overflows so far (`table_fulls` of ARP and NDISC, every CPU).
fn neigh_table_fulls() -> u64 {
    let mut total = 0;
    for table in ["arp_cache", "ndisc_cache"] {
        let text = std::fs::read_to_string(format!("/proc/net/stat/{table}")).unwrap_or_default();
        let mut lines = text.lines();
        let Some(col) = lines
            .next()
            .and_then(|h| h.split_whitespace().position(|c| c == "table_fulls"))
        else {
            continue;
        };
        for l in lines {
            total += l
                .split_whitespace()
                .nth(col)
                .and_then(|v| u64::from_str_radix(v, 16).ok())
                .unwrap_or(0);
        }
    }
    total
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0")
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<12} {:>5} {:>5} {:>6} {:>6} {:>8} {:>10} {:>8} {:>8} {:>11} {:>11} {:>10} {:>9}  ping",
        "lab",
        "nodes",
        "links",
        "up s",
        "down s",
        "floor up",
        "floor down",
        "up/floor",
        "PSS/node",
        "avail drop",
        "held/node",
        "held/floor",
        "nbr full"
    );
    let kib = |ours: i64, floor: i64| format!("{ours}/{floor}");
    for r in rows {
        println!(
            "{:<12} {:>5} {:>5} {:>6.3} {:>6.3} {:>8.3} {:>10.3} {:>8.2} {:>4} KiB {:>11} {:>11} {:>10.2} {:>9}  {}",
            r.name,
            r.nodes,
            r.links,
            r.up.as_secs_f64(),
            r.down.as_secs_f64(),
            r.floor_up.as_secs_f64(),
            r.floor_down.as_secs_f64(),
            r.up.as_secs_f64() / r.floor_up.as_secs_f64(),
            r.pss,
            kib(r.mem.avail, r.floor_mem.avail),
            kib(r.mem.held, r.floor_mem.held),
            r.mem.held as f64 / r.floor_mem.held.max(1) as f64,
            r.neigh_full,
            r.ping
        );
    }
    println!(
        "\nmemory in KiB per node, nsnet/floor: \"avail drop\" is the drop of MemAvailable, \
         \"held\" the growth of unreclaimable slab, kernel stacks, page tables, per-cpu, anon \
         and shmem; \"nbr full\" the kernel's neighbour-table overflows during the lab"
    );
}

/// Time growth from one size of a shape to the next, ours and the floor's, also scaled to
/// 10× the nodes (the targets: at most 12× for 10× the nodes).
fn print_growth(rows: &[Row]) {
    let family = |s: &Shape| std::mem::discriminant(s);
    let mut printed = false;
    for (i, small) in rows.iter().enumerate() {
        if small.overlay {
            continue;
        }
        // The next larger row of the same shape.
        let Some(large) = rows[i + 1..].iter().find(|r| {
            !r.overlay && family(&r.shape) == family(&small.shape) && r.nodes > small.nodes
        }) else {
            continue;
        };
        if !printed {
            println!(
                "\n{:<26} {:>7} {:>8} {:>10} {:>8} {:>10} {:>9} {:>11}",
                "growth",
                "×nodes",
                "up ×",
                "up ×/10×n",
                "down ×",
                "down ×/10×n",
                "floor up ×",
                "floor ×/10×n"
            );
            printed = true;
        }
        let n = large.nodes as f64 / small.nodes as f64;
        let up = large.up.as_secs_f64() / small.up.as_secs_f64();
        let down = large.down.as_secs_f64() / small.down.as_secs_f64();
        let floor = large.floor_up.as_secs_f64() / small.floor_up.as_secs_f64();
        println!(
            "{:<26} {:>7.1} {:>8.1} {:>10.1} {:>8.1} {:>10.1} {:>9.1} {:>11.1}",
            format!("{} → {}", small.shape.command(), large.shape.command()),
            n,
            up,
            up * 10.0 / n,
            down,
            down * 10.0 / n,
            floor,
            floor * 10.0 / n
        );
    }
    if printed {
        println!("\n\"×/10×n\": the growth scaled to ten times the nodes");
    }
}
