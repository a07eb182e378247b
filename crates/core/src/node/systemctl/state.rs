//! What a later `systemctl` needs to know about a service it did not start itself: one small
//! JSON file per service under `/run/nsnet/services/` (its phase, its supervisor and main
//! process, each named by PID *and* start time so a reused PID is never taken for it), a lock
//! per service, and the processes of the node read from /proc.

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// The services' state dir, in the node's private /run.
pub const SERVICES_DIR: &str = "/run/nsnet/services";

/// A process, by PID and start time (clock ticks after boot, /proc/PID/stat's 22nd field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcId {
    pub pid: i32,
    pub start: u64,
}

impl ProcId {
    pub fn of(pid: i32) -> Option<ProcId> {
        let s = stat(pid)?;
        Some(ProcId {
            pid,
            start: s.start,
        })
    }

    /// Still this process, and not a zombie.
    pub fn alive(&self) -> bool {
        stat(self.pid).is_some_and(|s| s.start == self.start && s.state != 'Z' && s.state != 'X')
    }
}

/// Where a service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Activating,
    /// Running: its supervisor watches its processes.
    Active,
    /// Active with no process left (a oneshot or init script that remains after exit).
    Exited,
    Deactivating,
    Inactive,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub unit: String,
    pub path: String,
    pub phase: Phase,
    /// Why it failed: `exit-code`, `signal`, `timeout`, `resources` …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// How: `status=1/FAILURE`, `signal=KILL` …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Seconds since the epoch of the last change of phase.
    pub since: u64,
    /// The supervisor (see `service`) of this run of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<ProcId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<ProcId>,
    /// The service's STATUS= notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What `status` and `is-active` say about a service, from its state and /proc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// `active`, `inactive`, `failed`, `activating`, `deactivating`.
    pub active: &'static str,
    /// `running`, `exited`, `dead`, `failed`, `start`, `stop-sigterm`.
    pub sub: &'static str,
    pub main: Option<i32>,
    pub since: Option<u64>,
    pub result: Option<String>,
}

/// Reads `state` against the live processes: a run whose supervisor is gone without saying
/// so is over, unless its main process still runs.
pub fn observe(state: Option<&State>) -> Observed {
    let Some(st) = state else {
        return Observed {
            active: "inactive",
            sub: "dead",
            main: None,
            since: None,
            result: None,
        };
    };
    let sup = st.supervisor.is_some_and(|s| s.alive());
    let main = st.main.filter(|m| m.alive());
    let (active, sub) = match st.phase {
        Phase::Activating if sup => ("activating", "start"),
        Phase::Deactivating if sup || main.is_some() => ("deactivating", "stop-sigterm"),
        Phase::Active if sup || main.is_some() => ("active", "running"),
        Phase::Exited => ("active", "exited"),
        Phase::Inactive => ("inactive", "dead"),
        Phase::Deactivating => ("inactive", "dead"),
        _ => ("failed", "failed"),
    };
    let result = match (st.phase, active) {
        (Phase::Failed, _) => st.result.clone(),
        (_, "failed") => Some("the service's supervisor is gone".into()),
        _ => None,
    };
    Observed {
        active,
        sub,
        main: main.map(|m| m.pid),
        since: Some(st.since),
        result,
    }
}

/// The state files of one node (`/run/nsnet/services`; a temp dir in tests).
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    pub fn node() -> Store {
        Store {
            dir: SERVICES_DIR.into(),
        }
    }

    fn ensure(&self) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&self.dir)
    }

    fn file(&self, unit: &str) -> PathBuf {
        self.dir.join(format!("{unit}.json"))
    }

    /// The datagram socket a notify service reports on.
    pub fn notify_path(&self, unit: &str) -> PathBuf {
        self.dir.join(format!("{unit}.notify"))
    }

    pub fn read(&self, unit: &str) -> Option<State> {
        let text = fs::read(self.file(unit)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Replaces the state file at once (written aside, then renamed over it).
    pub fn write(&self, st: &State) -> io::Result<()> {
        self.ensure()?;
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", st.unit, std::process::id()));
        let text = serde_json::to_vec(st).map_err(io::Error::other)?;
        fs::write(&tmp, text)?;
        fs::rename(&tmp, self.file(&st.unit))
    }

    /// Writes `st` only if the file still belongs to `supervisor`'s run (a newer start has
    /// its own); returns whether it did.
    pub fn write_if_ours(&self, st: &State, supervisor: ProcId) -> bool {
        match self.read(&st.unit) {
            Some(cur) if cur.supervisor != Some(supervisor) => false,
            _ => self.write(st).is_ok(),
        }
    }

    /// Serialises the commands that change `unit` (start, stop, restart, reload).
    pub fn lock(&self, unit: &str) -> io::Result<Flock<File>> {
        self.ensure()?;
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(format!("{unit}.lock")))?;
        Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))
    }

    /// Every service with a state file, by name.
    pub fn list(&self) -> Vec<State> {
        let mut out: Vec<State> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                self.read(n.strip_suffix(".json")?)
            })
            .collect();
        out.sort_by(|a, b| a.unit.cmp(&b.unit));
        out
    }
}

/// The fields of /proc/PID/stat that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub start: u64,
}

/// Parses /proc/PID/stat: the command name is in parentheses and may hold anything, so the
/// fields are counted after its last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_string();
    let f: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the comm: state(3) ppid(4) … starttime(22).
    Some(ProcStat {
        pid,
        comm,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

pub fn stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process of the node (its PID namespace's /proc).
pub fn processes() -> Vec<ProcStat> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// The PIDs of `root`'s descendants among `procs` (not `root` itself), zombies left out.
pub fn descendants(root: i32, procs: &[ProcStat]) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for c in procs.iter().filter(|c| c.ppid == p && c.pid != root) {
            if !out.contains(&c.pid) {
                todo.push(c.pid);
                if c.state != 'Z' {
                    out.push(c.pid);
                }
            }
        }
    }
    out.sort();
    out
}

/// A process's command line, spaces between the arguments.
pub fn cmdline(pid: i32) -> String {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let s: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    s.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps(pid: i32, ppid: i32, state: char) -> ProcStat {
        ProcStat {
            pid,
            comm: "x".into(),
            state,
            ppid,
            start: 1,
        }
    }

    #[test]
    fn stat_lines() {
        let line = "25 (apache2) S 1 25 25 0 -1 4194560 1 2 0 0 0 0 0 0 20 0 1 0 123456 1 2";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            (s.pid, s.comm.as_str(), s.state, s.ppid, s.start),
            (25, "apache2", 'S', 1, 123456)
        );
        // A command name with spaces and parentheses.
        let line = "7 (a) b) (c) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            (s.comm.as_str(), s.state, s.ppid, s.start),
            ("a) b) (c", 'Z', 3, 99)
        );
        assert!(parse_stat("garbage").is_none());
        // Our own stat parses, and we are alive.
        let me = ProcId::of(std::process::id() as i32).unwrap();
        assert!(me.alive());
        assert!(!ProcId {
            start: me.start + 1,
            ..me
        }
        .alive());
    }

    #[test]
    fn a_services_processes_are_its_supervisors_descendants() {
        let procs = [
            ps(1, 0, 'S'),
            ps(10, 1, 'S'),  // supervisor
            ps(11, 10, 'S'), // main
            ps(12, 11, 'S'), // worker
            ps(13, 10, 'Z'), // exited, not reaped yet
            ps(14, 13, 'S'), // (a zombie's child)
            ps(20, 1, 'S'),  // another service
        ];
        assert_eq!(descendants(10, &procs), vec![11, 12, 14]);
        assert_eq!(descendants(20, &procs), Vec::<i32>::new());
    }

    #[test]
    fn state_files_and_what_they_mean() {
        let dir = std::env::temp_dir().join(format!("nsnet-svstate-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = Store { dir: dir.clone() };
        let me = ProcId::of(std::process::id() as i32).unwrap();
        let gone = ProcId {
            pid: me.pid,
            start: me.start + 7,
        };
        let mut st = State {
            unit: "named.service".into(),
            path: "/lib/systemd/system/named.service".into(),
            phase: Phase::Active,
            result: None,
            detail: None,
            since: 5,
            supervisor: Some(me),
            main: Some(me),
            status: None,
        };
        assert!(store.read("named.service").is_none());
        store.write(&st).unwrap();
        assert_eq!(store.read("named.service").unwrap(), st);
        let _lock = store.lock("named.service").unwrap();
        assert_eq!(store.list().len(), 1);
        let o = observe(Some(&st));
        assert_eq!(
            (o.active, o.sub, o.main),
            ("active", "running", Some(me.pid))
        );
        // Supervisor and main gone without a word: failed.
        st.supervisor = Some(gone);
        st.main = Some(gone);
        let o = observe(Some(&st));
        assert_eq!((o.active, o.sub, o.main), ("failed", "failed", None));
        // A newer run's file is not overwritten by an older supervisor.
        store.write(&st).unwrap();
        assert!(!store.write_if_ours(&st, me));
        assert!(store.write_if_ours(&st, gone));
        st.phase = Phase::Exited;
        assert_eq!(observe(Some(&st)).active, "active");
        st.phase = Phase::Deactivating;
        assert_eq!(observe(Some(&st)).active, "inactive");
        assert_eq!(observe(None).sub, "dead");
        fs::remove_dir_all(&dir).unwrap();
    }
}
