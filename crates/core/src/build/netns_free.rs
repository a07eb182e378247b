//! Making `down` return when the kernel has freed the lab's network namespaces, not just
//! dismantled them.
//!
//! The kernel dismantles a dead netns in a work item (`cleanup_net`) that handles every
//! netns queued by then, and since 6.x it frees their memory only at the start of the
//! *next* such run (`net_complete_free`, after an RCU barrier it needs anyway). With no
//! further netns dying, a whole lab's namespaces — ~4 KiB of `struct net` each and
//! everything they pin — stay allocated for as long as nothing else on the machine
//! destroys one: measured here, 9,000 of a 10,000-node lab for minutes, and an `up`
//! meanwhile ran up to 6× slower.
//!
//! So `down` gives each of the lab's namespaces an id in a netns of its own before letting
//! go of them ([`nsnet_netcfg::NsidWatch`]), waits for the kernel to announce each one's end,
//! then destroys one more netns and waits for *its* end: the run that takes it apart starts
//! by freeing the lab's. Where that cannot be set up, it falls back to watching the
//! `net_namespace` slab count (approximate: SLUB counts per-CPU slabs as in use).

use std::time::{Duration, Instant};

/// How long `down` waits for the kernel at most.
const LIMIT: Duration = Duration::from_secs(30);

/// The `net_namespace` objects in use, if the kernel shows them: SLUB's count of that one
/// cache (cheap), else /proc/slabinfo (which walks every cache with interrupts off, too
/// costly to read often).
fn netns_in_use() -> Option<u64> {
    if let Ok(text) = std::fs::read_to_string("/sys/kernel/slab/net_namespace/objects") {
        if let Some(n) = text.split_whitespace().next().and_then(|n| n.parse().ok()) {
            return Some(n);
        }
    }
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("net_namespace "))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One netns made and dropped by a short-lived thread: its end queues a cleanup run,
/// which frees what the run before it dismantled.
fn kick() {
    let _ = std::thread::spawn(|| {
        let _ = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET);
    })
    .join();
}

/// The lab's namespaces being let go of; see the module doc.
pub struct Freeing {
    watch: Option<nsnet_netcfg::NsidWatch>,
    before: Option<u64>,
}

impl Freeing {
    /// Starts watching `nets` (the lab's namespaces, still held by the caller).
    pub fn start(nets: &[std::os::fd::OwnedFd]) -> Freeing {
        use std::os::fd::AsFd;
        let fds: Vec<_> = nets.iter().map(|f| f.as_fd()).collect();
        let watch = if fds.is_empty() {
            None
        } else {
            nsnet_netcfg::NsidWatch::new(&fds).ok()
        };
        Freeing {
            watch,
            before: netns_in_use(),
        }
    }

    /// Waits until the `count` namespaces let go of since [`Freeing::start`] are freed:
    /// announced dismantled, then one more cleanup run; at most 30 s, and no longer than 5 s
    /// without progress (something else holds the rest).
    pub fn wait(self, count: usize) {
        let deadline = Instant::now() + LIMIT;
        let idle = Duration::from_secs(5);
        let before = self.before;
        if let Some(mut w) = self.watch {
            match w.wait(idle, deadline) {
                Ok(true) => {
                    if let Ok(k) = nsnet_netcfg::Netns::create() {
                        if w.add(&[std::os::fd::AsFd::as_fd(&k)]).is_ok() {
                            drop(k);
                            let _ = w.wait(idle, deadline);
                            slab_settles(before, count);
                            return;
                        }
                    }
                    kick();
                    return;
                }
                Ok(false) => return,
                // Announcements lost: count the slab instead.
                Err(_) => {}
            }
        }
        wait_freed(self.before, count);
    }
}

/// The memory itself goes after an RCU grace period: until the slab count shows it (give or
/// take what SLUB counts in per-CPU slabs), at most half a second.
fn slab_settles(before: Option<u64>, count: usize) {
    let Some(before) = before else {
        return;
    };
    let target = before.saturating_sub(count as u64) + 64;
    let until = Instant::now() + Duration::from_millis(500);
    while netns_in_use().is_some_and(|n| n > target) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the kernel has freed the `count` network namespaces of the inits just
/// stopped (`before`: the count in use while they ran), driving its cleanup on: until
/// `count` fewer are in use, or — with other labs coming and going meanwhile — until
/// ten cleanup runs in a row (a second) freed nothing; at most 30 s. Without the slab count
/// (a kernel that merges the cache, or no access), two cleanup runs are queued and not waited
/// for.
fn wait_freed(before: Option<u64>, count: usize) {
    if count == 0 {
        return;
    }
    let (Some(before), Some(mut last)) = (before, netns_in_use()) else {
        kick();
        kick();
        return;
    };
    // Two more: the netns of our own last kicks, freed only by the run after theirs.
    let target = before.saturating_sub(count as u64) + 2;
    let deadline = Instant::now() + LIMIT;
    let mut idle = 0;
    while idle < 10 && Instant::now() < deadline {
        kick();
        // A cleanup run takes a while (an RCU barrier at least): look a few times before
        // queuing the next.
        let mut now = last;
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(10));
            now = netns_in_use().unwrap_or(0);
            if now <= target {
                return;
            }
        }
        // The thread's own netns is one more in use until the next run frees it.
        if now + 1 >= last {
            idle += 1;
        } else {
            idle = 0;
        }
        last = now;
    }
}
