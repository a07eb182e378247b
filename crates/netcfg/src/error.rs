//! One error type for the crate, carrying what was being done in the user's terms, so
//! that a failure reads `adding 10.0.12.1/30 to eth1: File exists (os error 17); …`.

use std::fmt;

/// A failed network configuration step.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The kernel refused a netlink request.
    #[error("{op}: {}{}", std::io::Error::from_raw_os_error(*errno), Hint { op, errno: *errno })]
    Kernel { op: String, errno: i32 },
    /// A system call or file operation failed (socket, setns, /proc/sys …).
    #[error("{op}: {source}{}", Hint { op, errno: source.raw_os_error().unwrap_or(0) })]
    Io {
        op: String,
        #[source]
        source: std::io::Error,
    },
}

impl NetError {
    /// The errno behind the failure, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Kernel { errno, .. } => Some(*errno),
            NetError::Io { source, .. } => source.raw_os_error(),
        }
    }

    /// What was being done ("creating veth eth0/eth1" …).
    pub fn op(&self) -> &str {
        match self {
            NetError::Kernel { op, .. } | NetError::Io { op, .. } => op,
        }
    }

    pub(crate) fn io(op: impl Into<String>, source: std::io::Error) -> NetError {
        NetError::Io {
            op: op.into(),
            source,
        }
    }
}

/// The advice appended to an error for the errno values users meet most.
struct Hint<'a> {
    op: &'a str,
    errno: i32,
}

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.op;
        let hint = match self.errno {
            libc::EEXIST => "already exists",
            libc::EPERM => "run as root (needs CAP_NET_ADMIN)",
            libc::ENOENT | libc::EOPNOTSUPP if op.contains("netem") => {
                "the kernel lacks netem (CONFIG_NET_SCH_NETEM is not set): delay, jitter and loss cannot be emulated"
            }
            libc::ENOENT | libc::EOPNOTSUPP if op.contains("tbf") => {
                "the kernel lacks tbf (CONFIG_NET_SCH_TBF is not set)"
            }
            libc::EOPNOTSUPP | libc::EAFNOSUPPORT => {
                if op.contains("veth") {
                    "the kernel lacks support (CONFIG_VETH)"
                } else if op.contains("bridge") {
                    "the kernel lacks support (CONFIG_BRIDGE)"
                } else if op.contains("IPv6") || op.contains(':') {
                    "the kernel lacks support (CONFIG_IPV6)"
                } else {
                    "the kernel lacks support (CONFIG_…)"
                }
            }
            libc::ENODEV => "no such device",
            libc::EINVAL if op.contains("mtu") => "the MTU is outside the device's allowed range",
            libc::ENOENT if op.contains("sysctl") => "no such sysctl",
            libc::ENETUNREACH if op.contains("route") => "the gateway is not on a connected subnet",
            _ => return Ok(()),
        };
        write!(f, "; {hint}")
    }
}

#[cfg(test)]
mod tests {
    use super::NetError;

    fn kernel(op: &str, errno: i32) -> String {
        NetError::Kernel {
            op: op.into(),
            errno,
        }
        .to_string()
    }

    #[test]
    fn kernel_errors_name_the_object_and_hint() {
        assert_eq!(
            kernel("adding 10.0.12.1/30 to eth1", libc::EEXIST),
            "adding 10.0.12.1/30 to eth1: File exists (os error 17); already exists"
        );
        assert!(kernel("creating veth a/b", libc::EPERM)
            .ends_with("; run as root (needs CAP_NET_ADMIN)"));
        assert!(kernel("creating veth a/b", libc::EOPNOTSUPP).contains("CONFIG_VETH"));
        assert!(kernel("bringing eth0 up", libc::ENODEV).ends_with("; no such device"));
        assert!(kernel("setting mtu 70000 on eth0", libc::EINVAL).contains("allowed range"));
        assert!(!kernel("adding route 10.0.0.0/8 dev eth0", libc::EINVAL).contains(';'));
    }

    #[test]
    fn io_errors_keep_errno() {
        let e = NetError::io(
            "writing sysctl net.ipv4.nope=1",
            std::io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert_eq!(e.errno(), Some(libc::ENOENT));
        assert!(
            e.to_string().ends_with("(os error 2); no such sysctl"),
            "{e}"
        );
        assert_eq!(e.op(), "writing sysctl net.ipv4.nope=1");
    }
}
