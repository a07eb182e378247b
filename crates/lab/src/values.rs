//! Values the lab file sets and the plan carries unchanged: a node's kind, the routing
//! mode, sysctls and file copies. Both `model` and `plan` use them; they use nothing.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// An enum the lab file writes as one word per value (the same word serde uses).
pub(crate) trait Word: Copy + 'static {
    /// Every value, in the order hints list them.
    const ALL: &'static [Self];

    /// `router`, `postrouting`, `tcp`.
    fn word(self) -> &'static str;

    /// The value written `w`.
    fn from_word(w: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.word() == w)
    }

    /// Every value's word, for "did you mean" and "use one of".
    fn words() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.word()).collect()
    }
}

/// The bridge inside a switch's netns that all its ports join.
pub const BRIDGE_NAME: &str = "br0";

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Sends and receives; a default route via the nearest router.
    Host,
    /// Forwards between its interfaces; routes to every subnet.
    Router,
    /// A Linux bridge: no IP layer, its links make one segment.
    Switch,
}

impl Word for Kind {
    const ALL: &'static [Kind] = &[Kind::Host, Kind::Router, Kind::Switch];
    fn word(self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::Router => "router",
            Kind::Switch => "switch",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad, not write_str: tables format kinds in columns of a width.
        f.pad(self.word())
    }
}

/// `[lab] routing`: who installs routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// nsnet installs shortest-path routes.
    Static,
    /// No computed routes: routing daemons do it (explicit `routes`/`gateway` still apply).
    None,
}

impl Word for Routing {
    const ALL: &'static [Routing] = &[Routing::Static, Routing::None];
    fn word(self) -> &'static str {
        match self {
            Routing::Static => "static",
            Routing::None => "none",
        }
    }
}

/// A file copied from the host into a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCopy {
    /// Absolute path inside the node.
    pub path: String,
    /// Absolute path of the source on the host.
    pub source: PathBuf,
}

/// A sysctl written inside a node's netns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sysctl {
    /// Dotted: `net.ipv4.ip_forward`.
    pub key: String,
    /// As written to its /proc/sys file.
    pub value: String,
}

impl Sysctl {
    /// The interface this sysctl is about (`net.ipv4.conf.eth0.rp_filter` → eth0), if any:
    /// such sysctls can only be written once the interface exists; the others are written
    /// before any link is made, so that `default` values apply to every new interface.
    pub fn interface(&self) -> Option<&str> {
        let mut parts = self.key.splitn(5, '.');
        let (net, _family, table, dev) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        (net == "net" && matches!(table, "conf" | "neigh") && !matches!(dev, "all" | "default"))
            .then_some(dev)
    }
}

/// What a node's root filesystem is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Root {
    /// The host's own `/`, shared read-write (as every process of the host sees it).
    #[default]
    Host,
    /// A copy-on-write view of the host's `/`: an overlay whose upper layer is the node's and
    /// is gone at `down`.
    Overlay,
    /// A directory tree (debootstrap, an unpacked image) shared read-only by its nodes, each
    /// with an upper layer of its own.
    Dir(PathBuf),
    /// A container image tarball (`docker save`, or an OCI layout): unpacked at `up`, then
    /// as [`Root::Dir`].
    Image(PathBuf),
}

impl Root {
    /// The host's own `/`.
    pub fn is_host(&self) -> bool {
        matches!(self, Root::Host)
    }

    /// Whether the node's root is an overlay (anything but the host's own `/`).
    pub fn is_overlay(&self) -> bool {
        !matches!(self, Root::Host)
    }
}

/// A host path mounted into a node (`binds = ["/srv/data:/data:ro"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bind {
    /// The host's file or directory, absolute and with no symlink.
    pub source: std::path::PathBuf,
    /// Absolute path in the node.
    pub path: String,
    /// Mounted read-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// A directory the node gets its own empty, writable copy of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateDir {
    /// Absolute path in the node.
    pub path: String,
    /// Its mode; None: the host dir's (0755 when the host has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Its owner, a user name or id of the node's root; None: the host dir's (root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Its group, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A node's resource limits (a cgroup of its own when any is set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// CPU time, in thousandths of one CPU (`cpu = 0.1` is 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub millicpu: Option<u32>,
    /// Memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Processes and threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
}

impl Limits {
    /// No limit at all.
    pub fn is_empty(&self) -> bool {
        self.millicpu.is_none() && self.memory.is_none() && self.pids.is_none()
    }

    /// Each of `self`'s limits, else `defaults`'.
    pub fn or(self, defaults: Limits) -> Limits {
        Limits {
            millicpu: self.millicpu.or(defaults.millicpu),
            memory: self.memory.or(defaults.memory),
            pids: self.pids.or(defaults.pids),
        }
    }
}

/// FNV-1a of `bytes`: the one hash behind everything nsnet derives from names (MACs, a
/// lab's block of a pool, its VNIs), the same in every run and on every machine.
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
