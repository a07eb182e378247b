//! Scale runs: `cargo bench` (all sizes) or `cargo bench -- --quick` (N ≤ 100).
//!
//! For star, line and fat-tree labs of about 10, 100 and 1000 nodes: `nsnet up`, one ping
//! across the longest path, `nsnet down` — and, in the same run, the kernel floor: the same
//! namespaces, veths, bridges, addresses and routes made the usual hand-made way, with
//! `ip -batch` (one batch for namespaces and veths, then one `ip -n NS -batch` per
//! namespace). The product never runs ip; the bench may. Needs root.

use nsnet_lab::gen::{generate, Shape};
use nsnet_lab::{Kind, Lab, Plan};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NSNET: &str = env!("CARGO_BIN_EXE_nsnet");

struct Row {
    name: String,
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
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !is_root() {
        println!("scale bench: skipped: needs root");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let mut shapes = vec![
        Shape::Star(10),
        Shape::Line(8),
        Shape::FatTree(4),
        Shape::Star(100),
        Shape::Line(98),
        Shape::FatTree(8),
    ];
    if !quick {
        shapes.extend([Shape::Star(1000), Shape::Line(998), Shape::FatTree(12)]);
    }
    let dir = std::env::temp_dir().join(format!("nsnet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rows = Vec::new();
    for shape in shapes {
        let name = format!("b{}", shape.default_name().replace('-', ""));
        eprint!("{name}: ");
        match run(shape, &name, &dir) {
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
                let _ = Command::new(NSNET).args(["down", &name]).output();
                std::process::exit(1);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    print_table(&rows);
}

fn run(shape: Shape, name: &str, dir: &Path) -> Result<Row, String> {
    let text = generate(shape, Some(name), false)?;
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, &text).map_err(|e| e.to_string())?;
    let lab = Lab::from_toml(&text, "bench.toml", None, None).map_err(|e| e.to_string())?;
    let plan = nsnet_lab::plan(&lab).map_err(|e| e.to_string())?;
    let _ = Command::new(NSNET).args(["down", name]).output();

    settle();
    let before = Mem::now();
    let t = Instant::now();
    nsnet(&["up", file.to_str().unwrap()])?;
    let up = t.elapsed();
    settle();
    let mem = Mem::now().per_node_since(&before, plan.nodes.len());
    let pss = inits_pss(name) / plan.nodes.len() as u64;
    let ping = reach(&plan, name, shape)?;
    let t = Instant::now();
    nsnet(&["down", name])?;
    let down = t.elapsed();

    settle();
    let (floor_up, floor_down, floor_mem) = floor(&plan, dir)?;
    Ok(Row {
        name: name.to_string(),
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
    })
}

fn nsnet(args: &[&str]) -> Result<String, String> {
    let o = Command::new(NSNET)
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
        Shape::Star(n) => ("h1".to_string(), format!("h{n}")),
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

/// The same network made with ip: namespaces and veth pairs in one batch, then one batch
/// per namespace for bridges, addresses, links up and routes. Returns (up, down, KiB/node).
fn floor(plan: &Plan, dir: &Path) -> Result<(Duration, Duration, Mem), String> {
    let ns = |n: &str| format!("fl{}-{n}", plan.lab);
    let mut main = String::new();
    for n in &plan.nodes {
        let _ = writeln!(main, "netns add {}", ns(&n.name));
    }
    for l in &plan.links {
        let _ = writeln!(
            main,
            "link add {} netns {} type veth peer name {} netns {}",
            l.a.iface,
            ns(&l.a.node),
            l.b.iface,
            ns(&l.b.node)
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
        per_ns.push((ns(&n.name), b));
    }
    let main_file = dir.join("floor-main.batch");
    std::fs::write(&main_file, &main).map_err(|e| e.to_string())?;

    // `ip netns add` makes /run/netns a mount point and leaves it: undo that afterwards if
    // it was not one before, so the bench leaves the host as it found it.
    let was_mount = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/run/netns"));
    let before = Mem::now();
    let t = Instant::now();
    ip(&["-batch"], Some(&main_file), None)?;
    for (name, batch) in &per_ns {
        ip(&["-n", name, "-batch", "-"], None, Some(batch))?;
    }
    let up = t.elapsed();
    settle();
    let mem = Mem::now().per_node_since(&before, plan.nodes.len());

    let mut del = String::new();
    for n in &plan.nodes {
        let _ = writeln!(del, "netns del {}", ns(&n.name));
    }
    let del_file = dir.join("floor-del.batch");
    std::fs::write(&del_file, &del).map_err(|e| e.to_string())?;
    let t = Instant::now();
    ip(&["-batch"], Some(&del_file), None)?;
    let down = t.elapsed();
    if !was_mount && std::fs::read_dir("/run/netns").map_or(true, |mut d| d.next().is_none()) {
        let _ = Command::new("umount").arg("/run/netns").status();
    }
    Ok((up, down, mem))
}

fn ip(args: &[&str], file: Option<&PathBuf>, stdin: Option<&str>) -> Result<(), String> {
    let mut cmd = Command::new("ip");
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
        "\n{:<12} {:>5} {:>5} {:>6} {:>6} {:>8} {:>10} {:>8} {:>8} {:>11} {:>11} {:>10}  ping",
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
        "held/floor"
    );
    let kib = |ours: i64, floor: i64| format!("{ours}/{floor}");
    for r in rows {
        println!(
            "{:<12} {:>5} {:>5} {:>6.3} {:>6.3} {:>8.3} {:>10.3} {:>8.2} {:>4} KiB {:>11} {:>11} {:>10.2}  {}",
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
            r.ping
        );
    }
    println!(
        "\nmemory in KiB per node, nsnet/floor: \"avail drop\" is the drop of MemAvailable, \
         \"held\" the growth of unreclaimable slab, kernel stacks, page tables, per-cpu, anon \
         and shmem"
    );
}
