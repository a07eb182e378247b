//! Published ports: `up` binds every port's socket on the host (so a port in use fails the
//! `up`, which rolls back), then hands them to one relay process per lab — the `nsnet`
//! binary re-executed as `nsnet-relay <lab>` — together with the nodes' network namespaces.
//! For each connection (TCP) or client (UDP) the relay makes a socket inside the node's
//! namespace (a socket keeps the namespace it was made in) and copies between the two.
//! Nothing of the host's firewall changes. Every resource is bounded: connections, UDP
//! sessions (ended after a minute without traffic), buffers, threads.
//!
//! `down` stops it through a pidfd once it is proved to be the lab's relay: root's, with the
//! command line `nsnet-relay <lab>` exactly, started at the recorded time when there is a
//! record (one found without a record — an `up` killed right after starting it — is the lab's
//! by its command line).

use super::{OutsideError, RelayRecord};
use crate::state::{self, LabDir, LabName};
use nsnet_lab::outside::Port;
use nsnet_lab::Plan;
use nsnet_netcfg::Netns;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `argv[0]` of the relay.
pub const ARGV0: &str = "nsnet-relay";
/// Its configuration (JSON) in its environment.
const CONFIG_ENV: &str = "NSNET_RELAY";
/// TCP connections open at once, over all of a lab's ports; more are closed at once.
pub const MAX_CONNECTIONS: usize = 256;
/// UDP clients with a session at once, per port; datagrams of more are dropped.
pub const MAX_SESSIONS: usize = 256;
/// A UDP session without traffic for this long ends.
pub const SESSION_IDLE: Duration = Duration::from_secs(60);
/// The buffer of each direction of a connection, and of a datagram.
const BUF: usize = 64 << 10;
/// The stack of each relay thread.
const STACK: usize = 256 << 10;
/// How long a connection to the node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One published port as the relay gets it: the listening socket's fd and the node's netns
/// fd, both inherited.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RelayPort {
    fd: RawFd,
    netns_fd: RawFd,
    node: String,
    port: Port,
}

/// A port's socket, bound by `up`.
#[derive(Debug)]
pub struct Bound {
    socket: OwnedFd,
    node: usize,
    port: Port,
}

/// Binds every published port of the plan on the host. A TCP port listens; a UDP port is
/// bound. Fails on the first port that cannot be had (in use, an address the host lacks).
pub fn bind(plan: &Plan) -> Result<Vec<Bound>, OutsideError> {
    let mut out = Vec::new();
    for (i, n) in plan.nodes.iter().enumerate() {
        for p in &n.ports {
            let addr = SocketAddr::new(p.host, p.host_port);
            let fail = |source| OutsideError::Bind {
                port: p.to_string(),
                node: n.name.clone(),
                source,
            };
            let socket: OwnedFd = if p.udp {
                UdpSocket::bind(addr).map_err(fail)?.into()
            } else {
                TcpListener::bind(addr).map_err(fail)?.into()
            };
            out.push(Bound {
                socket,
                node: i,
                port: *p,
            });
        }
    }
    Ok(out)
}

/// Starts the relay of `bound` (the nodes' network namespaces in `netns`, in plan order),
/// its output going to the lab's `logs/relay.log`.
pub fn spawn(
    lab: &LabName,
    dir: &LabDir,
    bound: Vec<Bound>,
    netns: &[BorrowedFd<'_>],
    names: &[String],
) -> Result<RelayRecord, OutsideError> {
    use std::os::unix::process::CommandExt;
    let err = OutsideError::Relay;
    let mut keep: Vec<OwnedFd> = Vec::new();
    let mut ports = Vec::new();
    for b in bound {
        let ns = netns[b.node].try_clone_to_owned().map_err(err)?;
        ports.push(RelayPort {
            fd: b.socket.as_raw_fd(),
            netns_fd: ns.as_raw_fd(),
            node: names[b.node].clone(),
            port: b.port,
        });
        keep.push(b.socket);
        keep.push(ns);
    }
    // The child inherits exactly these: every other fd of ours (those `up` itself inherited
    // too: a caller's lock, a pipe) is close-on-exec, these not (nothing else of ours starts
    // a process meanwhile).
    crate::sys::cloexec_from(3);
    for fd in &keep {
        set_cloexec(fd.as_fd(), false).map_err(err)?;
    }
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.path().join("logs/relay.log"))
        .map_err(err)?;
    let config = serde_json::to_string(&ports).map_err(|e| err(io::Error::other(e)))?;
    let child = std::process::Command::new("/proc/self/exe")
        .arg0(ARGV0)
        .arg(lab.as_str())
        .env(CONFIG_ENV, config)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .current_dir("/")
        .process_group(0)
        .spawn()
        .map_err(err)?;
    drop(keep);
    let pid = child.id() as i32;
    let start_time = state::read_stat(pid).map_or(0, |s| s.start_time);
    Ok(RelayRecord { pid, start_time })
}

fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    let flags = if on {
        FdFlag::FD_CLOEXEC
    } else {
        FdFlag::empty()
    };
    fcntl(fd, FcntlArg::F_SETFD(flags))
        .map(drop)
        .map_err(io::Error::from)
}

/// Whether this process was started as the relay.
pub fn is_relay_invocation() -> bool {
    std::env::args_os().next().is_some_and(|a| a == ARGV0)
}

/// The relay's processes of lab `lab`: root's, with the command line `nsnet-relay <lab>`.
fn find(lab: &LabName) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if is_relay_of(pid, lab) {
            if let Some(st) = state::read_stat(pid) {
                out.push((pid, st.start_time));
            }
        }
    }
    out
}

fn is_relay_of(pid: i32, lab: &LabName) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = format!("{ARGV0}\0{lab}\0");
    cmdline == want.as_bytes()
        && std::fs::metadata(format!("/proc/{pid}"))
            .is_ok_and(|m| m.uid() == 0 && m.uid() == nix::unistd::geteuid().as_raw())
}

/// Stops the lab's relay: the recorded one (when it still is the relay that started at the
/// recorded time) and any other found by its command line. SIGTERM, then SIGKILL.
pub fn stop(lab: &LabName, rec: Option<RelayRecord>, errors: &mut Vec<String>) {
    let mut targets = find(lab);
    if let Some(r) = rec {
        targets.retain(|&(pid, st)| pid != r.pid || st == r.start_time);
    }
    let mut fds = Vec::new();
    for (pid, start) in targets {
        let Ok(fd) = crate::sys::pidfd_open(pid) else {
            continue;
        };
        // Checked again through the pidfd's process: the same start, the same command.
        if !state::is_running(pid, start) || !is_relay_of(pid, lab) {
            continue;
        }
        if let Err(e) = crate::sys::pidfd_send_signal(&fd, nix::sys::signal::Signal::SIGTERM) {
            errors.push(format!("stopping the port relay (pid {pid}): {e}"));
            continue;
        }
        fds.push((pid, start, fd));
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while fds.iter().any(|(p, s, _)| state::is_running(*p, *s)) && Instant::now() < deadline {
        // Our own child (a rollback of the `up` that started it): reap it.
        for (p, _, _) in &fds {
            let _ = nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(*p),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for (p, s, fd) in &fds {
        if state::is_running(*p, *s) {
            let _ = crate::sys::pidfd_send_signal(fd, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// The relay process: serves every port it was given until it is stopped.
pub fn main() -> ! {
    let _ = nix::unistd::setsid();
    let ports: Vec<RelayPort> = match std::env::var(CONFIG_ENV)
        .map_err(|e| e.to_string())
        .and_then(|c| serde_json::from_str(&c).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("nsnet-relay: bad configuration: {e}");
            std::process::exit(2);
        }
    };
    let conns = Arc::new(AtomicUsize::new(0));
    let mut spaces: HashMap<RawFd, Arc<Netns>> = HashMap::new();
    for p in ports {
        let ns = spaces
            .entry(p.netns_fd)
            .or_insert_with(|| Arc::new(Netns::from(owned(p.netns_fd))))
            .clone();
        let socket = owned(p.fd);
        let conns = conns.clone();
        let what = format!("{} → {}", p.port, p.node);
        let started = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                if p.port.udp {
                    serve_udp(UdpSocket::from(socket), &ns, p.port.node_port, &what);
                } else {
                    serve_tcp(
                        TcpListener::from(socket),
                        &ns,
                        p.port.node_port,
                        &conns,
                        &what,
                    );
                }
            });
        if let Err(e) = started {
            eprintln!("nsnet-relay: starting {}: {e}", p.port);
        }
    }
    loop {
        std::thread::park();
    }
}

/// An inherited fd as owned; the relay ends when one is missing.
fn owned(fd: RawFd) -> OwnedFd {
    crate::sys::take_inherited_fd(fd).unwrap_or_else(|| {
        eprintln!("nsnet-relay: fd {fd} was not inherited");
        std::process::exit(2);
    })
}

/// Accepts connections and relays each to `port` on the node's loopback.
fn serve_tcp(l: TcpListener, ns: &Arc<Netns>, port: u16, conns: &Arc<AtomicUsize>, what: &str) {
    let mut complained = false;
    loop {
        let client = match l.accept() {
            Ok((c, _)) => c,
            Err(e) => {
                // Out of fds or memory: wait a moment rather than spin.
                if !complained {
                    eprintln!("nsnet-relay: {what}: accepting: {e}");
                    complained = true;
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if conns.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            conns.fetch_sub(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        let (ns, count) = (ns.clone(), conns.clone());
        let spawned = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                if let Ok(server) = connect_in(&ns, port) {
                    pipe(client, server);
                }
                count.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            conns.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A TCP connection to `port` on the node's loopback, made inside its namespace (IPv4, then
/// IPv6 for a server that listens there only).
fn connect_in(ns: &Netns, port: u16) -> io::Result<TcpStream> {
    nsnet_netcfg::in_netns(ns, || {
        let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        TcpStream::connect_timeout(&v4, CONNECT_TIMEOUT).or_else(|e| {
            let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port);
            TcpStream::connect_timeout(&v6, CONNECT_TIMEOUT).map_err(|_| e)
        })
    })
    .map_err(|e| io::Error::other(e.to_string()))?
}

/// Copies both ways until both are closed; an end of one direction is passed on as a
/// half-close.
fn pipe(client: TcpStream, server: TcpStream) {
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || copy(c2, s2));
    copy(server, client);
    if let Ok(h) = up {
        let _ = h.join();
    }
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; BUF];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

/// A UDP client's session: a socket connected to the node's port, made in its namespace.
struct Session {
    up: UdpSocket,
    /// Milliseconds since the relay's start at the last datagram either way.
    last: Arc<AtomicU64>,
}

/// Relays datagrams: each client gets a session (its own socket toward the node, whose
/// answers go back to it) that ends after [`SESSION_IDLE`] without traffic.
fn serve_udp(sock: UdpSocket, ns: &Arc<Netns>, port: u16, what: &str) {
    let start = Instant::now();
    let now = move || start.elapsed().as_millis() as u64;
    let sessions: Arc<Mutex<HashMap<SocketAddr, Session>>> = Arc::default();
    let mut buf = vec![0u8; BUF];
    let mut complained = false;
    loop {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let mut map = sessions.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(&from) {
            if map.len() >= MAX_SESSIONS {
                continue;
            }
            let Ok(up) = udp_in(ns, port) else { continue };
            let (Ok(reader), Ok(back)) = (up.try_clone(), sock.try_clone()) else {
                continue;
            };
            let last = Arc::new(AtomicU64::new(now()));
            let (l2, s2) = (last.clone(), sessions.clone());
            let spawned = std::thread::Builder::new()
                .stack_size(STACK)
                .spawn(move || answer(reader, back, from, &l2, now, &s2));
            if spawned.is_err() {
                // Said once: the log stays small whatever the traffic.
                if !complained {
                    eprintln!("nsnet-relay: {what}: no thread for a session");
                    complained = true;
                }
                continue;
            }
            map.insert(from, Session { up, last });
        }
        if let Some(s) = map.get(&from) {
            s.last.store(now(), Ordering::Relaxed);
            let _ = s.up.send(&buf[..n]);
        }
    }
}

/// A UDP socket inside the node's namespace, connected to `port` on its loopback.
fn udp_in(ns: &Netns, port: u16) -> io::Result<UdpSocket> {
    nsnet_netcfg::in_netns(ns, || {
        let s = UdpSocket::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))?;
        s.connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))?;
        Ok(s)
    })
    .map_err(|e| io::Error::other(e.to_string()))?
}

/// A session's answers from the node, back to its client, until it has been idle.
fn answer(
    reader: UdpSocket,
    back: UdpSocket,
    client: SocketAddr,
    last: &AtomicU64,
    now: impl Fn() -> u64,
    sessions: &Mutex<HashMap<SocketAddr, Session>>,
) {
    let _ = reader.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = vec![0u8; BUF];
    loop {
        match reader.recv(&mut buf) {
            Ok(n) => {
                last.store(now(), Ordering::Relaxed);
                let _ = back.send_to(&buf[..n], client);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            // ECONNREFUSED: nothing listens in the node (yet); the session stays.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
        if now().saturating_sub(last.load(Ordering::Relaxed)) > SESSION_IDLE.as_millis() as u64 {
            sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&client);
            return;
        }
    }
}

/// The relay's record in the lab's host record, once started.
pub fn record(
    dir: &LabDir,
    rec: &mut super::HostRecord,
    r: RelayRecord,
) -> Result<(), OutsideError> {
    rec.relay = Some(r);
    rec.save(dir)
}
