//! `nsnet doctor`: what this machine offers nsnet, each finding with what it serves and, when
//! it is missing, the fix. The kernel's parts are not guessed from its config: a child
//! process (`nsnet __doctor-probe`) makes a network namespace of its own — inside a user
//! namespace of its own when it is not root — and builds in it what `up` builds (a veth, a
//! bridge, a macvlan, qdiscs, an nftables table with NAT). The namespace goes when the child
//! exits: the host keeps nothing of it.

use crate::build::cgroups::Layout;
use nsnet_netcfg::nft::{Action, Hook, NftChain, NftRule};
use nsnet_netcfg::{Netem, NftSocket, RtSocket, Tbf, VethEnd};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Command;

/// How a finding came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Missing,
}

/// One thing looked at.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// privileges, kernel, filesystems, limits, programs.
    pub group: &'static str,
    pub name: String,
    pub verdict: Verdict,
    /// Whether labs cannot be built without it (else only what it serves is refused).
    pub needed: bool,
    /// What nsnet uses it for.
    pub serves: String,
    /// What was seen.
    pub detail: String,
    /// What to do when it is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Everything `doctor` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every needed finding is Ok: labs can be built here.
    pub ready: bool,
    pub kernel: String,
    pub findings: Vec<Finding>,
}

/// The probes the child runs, in order: (name, what it serves, needed, the fix).
const KERNEL: &[(&str, &str, bool, &str)] = &[
    (
        "network namespaces",
        "every node",
        true,
        "a kernel with CONFIG_NET_NS (as root); without root, user namespaces must be allowed \
         (sysctl user.max_user_namespaces > 0, and kernel.unprivileged_userns_clone=1 or \
         kernel.apparmor_restrict_unprivileged_userns=0 where the kernel has them)",
    ),
    (
        "veth",
        "every link",
        true,
        "`modprobe veth`, or a kernel with CONFIG_VETH",
    ),
    (
        "bridge",
        "switches",
        true,
        "`modprobe bridge`, or a kernel with CONFIG_BRIDGE",
    ),
    (
        "macvlan",
        "host interfaces given as macvlan",
        false,
        "`modprobe macvlan`, or a kernel with CONFIG_MACVLAN",
    ),
    (
        "nftables",
        "firewalls",
        false,
        "`modprobe nf_tables`, or a kernel with CONFIG_NF_TABLES and CONFIG_NF_TABLES_INET",
    ),
    (
        "nftables NAT",
        "nat rules and uplinks",
        false,
        "`modprobe nft_masq`, or a kernel with CONFIG_NFT_NAT and CONFIG_NFT_MASQ",
    ),
    (
        "tbf",
        "link rates (`rate`)",
        false,
        "`modprobe sch_tbf`, or a kernel with CONFIG_NET_SCH_TBF",
    ),
    (
        "netem",
        "link delay, jitter and loss (rates work without it)",
        false,
        "`modprobe sch_netem`; without such a module, a kernel built with CONFIG_NET_SCH_NETEM \
         (Ubuntu: the package linux-modules-extra-$(uname -r))",
    ),
];

/// What the probe child prints: each kernel probe's error, None when it worked.
pub type ProbeResults = BTreeMap<String, Option<String>>;

/// The probe child: run as `nsnet __doctor-probe`, single-threaded, before anything else.
/// Prints the results as JSON on stdout and exits.
pub fn probe_main() -> ! {
    let mut results = ProbeResults::new();
    let mut put = |name: &str, r: Result<(), String>| {
        results.insert(name.to_string(), r.err());
    };
    match private_netns() {
        Err(e) => {
            put("network namespaces", Err(e));
            for (name, ..) in &KERNEL[1..] {
                put(
                    name,
                    Err("not tried: no network namespace to try it in".into()),
                );
            }
        }
        Ok(()) => {
            put("network namespaces", Ok(()));
            for (name, r) in probe_kernel() {
                put(name, r);
            }
        }
    }
    println!("{}", serde_json::to_string(&results).unwrap_or_default());
    std::process::exit(0)
}

/// Moves this (single-threaded) process into a network namespace of its own: as root
/// directly, otherwise inside a user namespace that maps this user to root.
fn private_netns() -> Result<(), String> {
    use nix::sched::{unshare, CloneFlags};
    let root = nix::unistd::geteuid().is_root();
    if root {
        return unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("unshare(CLONE_NEWNET): {e}"));
    }
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)
        .map_err(crate::sandbox::why_no_userns)?;
    let write = |f: &str, s: String| fs::write(f, s).map_err(|e| format!("writing {f}: {e}"));
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    Ok(())
}

/// Builds in this process's netns what `up` builds, one probe after another.
fn probe_kernel() -> Vec<(&'static str, Result<(), String>)> {
    let mut out = Vec::new();
    let mut rt = match RtSocket::open() {
        Ok(s) => s,
        Err(e) => {
            for (name, ..) in &KERNEL[1..] {
                out.push((*name, Err(format!("no rtnetlink socket: {e}"))));
            }
            return out;
        }
    };
    let own = fs::File::open("/proc/self/ns/net");
    let veth = match &own {
        Ok(ns) => {
            let end = |name| VethEnd {
                name,
                index: None,
                mac: None,
                mtu: None,
                netns: ns.as_fd(),
            };
            rt.create_veth(&end("dr0"), &end("dr1"))
                .and_then(|()| rt.set_link_up("dr0"))
                .and_then(|()| rt.set_link_up("dr1"))
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(format!("opening /proc/self/ns/net: {e}")),
    };
    let have_veth = veth.is_ok();
    out.push(("veth", veth));
    let needs_veth = || Err::<(), _>("not tried: it needs a veth".to_string());
    out.push((
        "bridge",
        rt.create_bridge("drbr", None, None, false)
            .and_then(|()| {
                if have_veth {
                    rt.set_master("dr0", "drbr")
                } else {
                    Ok(())
                }
            })
            .map_err(|e| e.to_string()),
    ));
    out.push((
        "macvlan",
        match (&own, have_veth) {
            (Ok(ns), true) => rt
                .link_index("dr1")
                .and_then(|i| rt.create_macvlan("drmv", "dr1", i, ns.as_fd()))
                .map_err(|e| e.to_string()),
            _ => needs_veth(),
        },
    ));
    let nft = NftSocket::open()
        .map_err(|e| e.to_string())
        .and_then(|mut s| {
            let chain = NftChain {
                name: "input".into(),
                nat: false,
                hook: Hook::Input,
                priority: 0,
                accept: true,
            };
            let rule = NftRule {
                chain: "input".into(),
                matches: vec![],
                log: None,
                action: Action::Accept,
                comment: "nsnet doctor".into(),
                desc: "an accept rule".into(),
            };
            s.apply("nsnet-doctor", &[chain], &[rule]).map_err(|e| {
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            Ok(s)
        });
    let nat = match nft {
        Ok(mut s) => {
            out.push(("nftables", Ok(())));
            // What an uplink's node gets.
            let (chains, rules) = crate::outside::node_nat("dr0");
            s.apply("nsnet-doctor-nat", &chains, &rules).map_err(|e| {
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        }
        Err(e) => {
            out.push(("nftables", Err(e)));
            Err("not tried: it needs nftables".into())
        }
    };
    out.push(("nftables NAT", nat));
    let qdisc_on = if have_veth { "dr0" } else { "lo" };
    let tbf = Tbf {
        rate: 1_000_000,
        burst: 4096,
        latency_us: 50_000,
    };
    out.push((
        "tbf",
        rt.set_qdisc_tbf(qdisc_on, &tbf).map_err(|e| e.to_string()),
    ));
    let netem = Netem {
        delay_us: 1000,
        jitter_us: 0,
        loss_ppm: 0,
        limit: 1000,
    };
    out.push((
        "netem",
        rt.set_qdisc_netem(if have_veth { "dr1" } else { "lo" }, &netem, None)
            .map_err(|e| e.to_string()),
    ));
    out
}

/// Runs the probe child and reads what it found.
fn run_probe(exe: &Path) -> Result<ProbeResults, String> {
    let out = Command::new(exe)
        .arg("__doctor-probe")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("starting {} __doctor-probe: {e}", exe.display()))?;
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "the probe ended with {} and printed no result ({e}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

/// Looks at the machine: `exe` is the nsnet binary to run the probe child with.
pub fn doctor(exe: &Path) -> Report {
    let mut f = Vec::new();
    let root = crate::build::up::require_privileges("up");
    let is_root = root.is_ok();
    f.push(Finding {
        group: "privileges",
        name: "root".into(),
        verdict: if root.is_ok() {
            Verdict::Ok
        } else {
            Verdict::Missing
        },
        // Without it labs run rootless: then the namespaces (tried in a user namespace)
        // are what decides.
        needed: false,
        serves: "labs with limits or links to the machine (without root: rootless labs)".into(),
        detail: match &root {
            Ok(()) => "CAP_SYS_ADMIN and CAP_NET_ADMIN".into(),
            Err(e) => format!(
                "missing {}: labs run rootless, in a user namespace of yours",
                e.missing.join(", ")
            ),
        },
        fix: root.err().map(|_| {
            "for limits, uplinks, management addresses, ports or host interfaces: run as root"
                .into()
        }),
    });
    if !is_root {
        let uid = nix::unistd::geteuid().as_raw();
        let range = crate::sandbox::subordinate_ranges(uid);
        f.push(Finding {
            group: "privileges",
            name: "subordinate ids".into(),
            verdict: if range.is_some() {
                Verdict::Ok
            } else {
                Verdict::Missing
            },
            needed: false,
            serves: "sshd and daemons with users of their own in rootless nodes".into(),
            detail: match range {
                Some((u, g)) => format!("uids from {u}, gids from {g}, newuidmap"),
                None => format!(
                    "no range of 65536 ids for uid {uid} in /etc/subuid and /etc/subgid, or no \
                     newuidmap"
                ),
            },
            fix: range.is_none().then(|| {
                "apt-get install uidmap; usermod --add-subuids 100000-165535 --add-subgids \
                 100000-165535 USER (as root)"
                    .into()
            }),
        });
    }
    kernel_findings(exe, &mut f);
    filesystem_findings(&mut f);
    f.push(capacity());
    program_findings(&mut f);
    Report {
        ready: f.iter().all(|x| !x.needed || x.verdict == Verdict::Ok),
        kernel: nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default(),
        findings: f,
    }
}

fn kernel_findings(exe: &Path, f: &mut Vec<Finding>) {
    let probed = run_probe(exe);
    for (name, serves, needed, fix) in KERNEL {
        let r = match &probed {
            Ok(m) => m
                .get(*name)
                .cloned()
                .unwrap_or_else(|| Some("the probe did not say".into())),
            Err(e) => Some(e.clone()),
        };
        f.push(Finding {
            group: "kernel",
            name: name.to_string(),
            verdict: if r.is_none() {
                Verdict::Ok
            } else {
                Verdict::Missing
            },
            needed: *needed,
            serves: serves.to_string(),
            detail: r.clone().unwrap_or_else(|| "works (tried)".into()),
            fix: r.map(|_| fix.to_string()),
        });
    }
}

fn filesystem_findings(f: &mut Vec<Finding>) {
    let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    let registered = filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"));
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let module = ["ko", "ko.xz", "ko.zst", "ko.gz"].iter().any(|ext| {
        Path::new(&format!(
            "/lib/modules/{release}/kernel/fs/overlayfs/overlay.{ext}"
        ))
        .exists()
    });
    f.push(Finding {
        group: "filesystems",
        name: "overlayfs".into(),
        verdict: if registered || module {
            Verdict::Ok
        } else {
            Verdict::Missing
        },
        needed: false,
        serves: "copy-on-write roots (`root = \"overlay\"`) and image layers".into(),
        detail: if registered {
            "in /proc/filesystems".into()
        } else if module {
            "a module, loaded on first use".into()
        } else {
            "not in /proc/filesystems, no module".into()
        },
        fix: (!registered && !module)
            .then(|| "a kernel with CONFIG_OVERLAY_FS (`modprobe overlay`)".into()),
    });
    let layout = Layout::detect();
    for (c, serves) in [
        ("cpu", "cpu limits (`cpu`)"),
        ("memory", "memory limits (`memory`)"),
        ("pids", "process limits (`pids`)"),
    ] {
        let has = layout.has(c);
        f.push(Finding {
            group: "filesystems",
            name: format!("cgroup controller {c}"),
            verdict: if has { Verdict::Ok } else { Verdict::Missing },
            needed: false,
            serves: serves.into(),
            detail: match (&layout, has) {
                (Layout::V2 { root, .. }, true) => format!("cgroup v2 at {}", root.display()),
                (Layout::V1 { .. }, true) => "cgroup v1".into(),
                _ => "not mounted or not enabled".into(),
            },
            fix: (!has).then(|| {
                format!(
                    "mount cgroup v2 at /sys/fs/cgroup with the {c} controller (systemd does by \
                     default; on the kernel command line: cgroup_no_v1=all)"
                )
            }),
        });
    }
}

/// About how many nodes fit, by the tightest of the machine's limits.
fn capacity() -> Finding {
    let mut bounds: Vec<(u64, String)> = Vec::new();
    use crate::build::limits::{mem_available_kib, read_u64, threads_running};
    let running = threads_running();
    // A node runs its init and sshd at least.
    for (file, what) in [
        ("/proc/sys/kernel/pid_max", "kernel.pid_max"),
        ("/proc/sys/kernel/threads-max", "kernel.threads-max"),
    ] {
        if let Some(max) = read_u64(file) {
            bounds.push((max.saturating_sub(running) / 2, format!("{what} {max}")));
        }
    }
    if let Some(max) = read_u64("/proc/sys/user/max_net_namespaces") {
        bounds.push((max, format!("user.max_net_namespaces {max}")));
    }
    if let Ok((_, hard)) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
    {
        bounds.push((
            hard.saturating_sub(crate::build::limits::FILES_BASE)
                / crate::build::limits::FILES_PER_NODE,
            format!("open files (hard) {hard}"),
        ));
    }
    if let Some(kib) = mem_available_kib() {
        bounds.push((
            (kib << 10) / crate::build::limits::MEMORY_PER_NODE,
            format!("{} MiB of memory available", kib >> 10),
        ));
    }
    let tightest = bounds.iter().min_by_key(|b| b.0).cloned();
    Finding {
        group: "limits",
        name: "nodes".into(),
        verdict: Verdict::Ok,
        needed: false,
        serves: "how big a lab fits (nodes with daemons need more memory)".into(),
        detail: match tightest {
            Some((n, why)) => format!("room for about {n} nodes; the tightest bound: {why}"),
            None => "no limits readable".into(),
        },
        fix: None,
    }
}

/// The programs nsnet runs in nodes, looked up where nodes look them up.
fn program_findings(f: &mut Vec<Finding>) {
    for (prog, serves, package) in [
        (
            "sshd",
            "sshd in nodes (`ssh`, on by default)",
            "openssh-server",
        ),
        ("ping", "ping checks of `nsnet test`", "iputils-ping"),
        ("python3", "tcp and udp checks of `nsnet test`", "python3"),
        (
            "traceroute",
            "path checks with `traceroute = true`",
            "traceroute",
        ),
        (
            "dig",
            "resolve checks that ask a `server`",
            "bind9-dnsutils",
        ),
        (
            "dot",
            "Graphviz layout of `nsnet graph` (else nsnet's own)",
            "graphviz",
        ),
    ] {
        let found = crate::node::sshd::find_program(prog);
        f.push(Finding {
            group: "programs",
            name: prog.into(),
            verdict: if found.is_some() {
                Verdict::Ok
            } else {
                Verdict::Missing
            },
            needed: false,
            serves: serves.into(),
            fix: found
                .is_none()
                .then(|| format!("apt-get install {package}")),
            detail: found.map_or("not found".into(), |p| p.display().to_string()),
        });
    }
}

/// The report for people: one line per finding, the fix under each missing one.
pub fn render(r: &Report) -> String {
    let mut s = format!(
        "nsnet doctor: what this machine (kernel {}) offers nsnet\n",
        r.kernel
    );
    let mut group = "";
    for x in &r.findings {
        if x.group != group {
            group = x.group;
            let note = if group == "kernel" {
                " (tried for real in namespaces of the probe's own, gone when it ends)"
            } else {
                ""
            };
            s.push_str(&format!("\n{group}{note}\n"));
        }
        let word = match (x.verdict, x.needed) {
            (Verdict::Ok, _) => "ok",
            (Verdict::Missing, true) => "MISSING",
            (Verdict::Missing, false) => "missing",
        };
        s.push_str(&format!("  {word:<8} {:<26} {}\n", x.name, x.serves));
        if x.verdict == Verdict::Missing || x.group == "limits" {
            s.push_str(&format!("  {:<8} {:<26} {}\n", "", "", x.detail));
        }
        if let Some(fix) = &x.fix {
            s.push_str(&format!("  {:<8} {:<26} fix: {fix}\n", "", ""));
        }
    }
    let missing: Vec<&str> = r
        .findings
        .iter()
        .filter(|x| !x.needed && x.verdict == Verdict::Missing && x.name != "root")
        .map(|x| x.name.as_str())
        .collect();
    s.push('\n');
    let root = r
        .findings
        .iter()
        .any(|x| x.name == "root" && x.verdict == Verdict::Ok);
    if r.ready && root {
        s.push_str("nsnet doctor: labs can be built here");
    } else if r.ready {
        s.push_str("nsnet doctor: rootless labs can be built here (as root, every lab)");
    } else {
        let needed: Vec<&str> = r
            .findings
            .iter()
            .filter(|x| x.needed && x.verdict == Verdict::Missing)
            .map(|x| x.name.as_str())
            .collect();
        s.push_str(&format!(
            "nsnet doctor: labs cannot be built here: {} missing",
            needed.join(", ")
        ));
    }
    if !missing.is_empty() {
        s.push_str(&format!(
            "; without {}, what they serve is refused with its reason",
            missing.join(", ")
        ));
    }
    s.push('\n');
    s
}
