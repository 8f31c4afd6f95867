//! Hosts on one machine: each a network namespace with its own address, joined by a bridge
//! that the test process reaches too, as a LAN of separate machines would be. Needs root and
//! `ip` (iproute2).
//!
//! - [`Lan`]: the bridge, its hosts, and cutting a host's link; all removed on drop.
//! - [`Process`]: a program run inside a host, killed on drop, its output kept in a file.

#![allow(dead_code, unreachable_pub)] // each test uses a different part of the harness

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};

/// Numbers the LANs of one test process, so that tests run one after another in it never
/// reuse a name or an address.
static NEXT_LAN: AtomicU8 = AtomicU8::new(0);

/// A bridge with an address of its own (the test process's way in) and the hosts on it.
///
/// Names carry the test process's pid and the LAN's number, so neither a run beside this
/// one nor the leftovers of a run that was killed before its drop collide with it (the
/// leftovers of an earlier process with the same pid are removed first). Addresses come
/// from the pid too: two runs at once share them only when their pids differ by a multiple
/// of 512.
pub struct Lan {
    prefix: String,
    bridge: String,
    /// The LAN's first address (its /28's network address); hosts count up from it.
    base: Ipv4Addr,
    hosts: Vec<Host>,
}

/// One host: a network namespace holding one end of a veth pair, the other end on the
/// bridge.
#[derive(Debug, Clone)]
pub struct Host {
    /// What the test calls it (`redis`, `sup-a`, `r1`…).
    pub name: String,
    /// The network namespace (`ip netns exec NS …`).
    pub ns: String,
    /// The host's address on the LAN.
    pub ip: Ipv4Addr,
    /// The bridge's end of its link: down means the host is cut off.
    link: String,
}

impl Lan {
    /// Creates the bridge and gives the test process the LAN's first address.
    ///
    /// # Panics
    ///
    /// When not root, `ip` is missing, or the kernel refuses a step.
    pub fn new() -> Self {
        let pid = std::process::id();
        let number = NEXT_LAN.fetch_add(1, Ordering::Relaxed);
        assert!(number < 16, "at most 16 LANs per test process");
        // Interface names are at most 15 bytes: "hm" + 7 pid digits + a letter + 2 digits.
        let prefix = format!("hm{pid}{}", char::from(b'a' + number));
        // A /28 per LAN (the bridge and up to 13 hosts) in 198.18.0.0/15, the range set aside
        // for network tests (RFC 2544), so no real network on the machine is shadowed.
        let block = (pid % 512) * 16 + u32::from(number);
        let base = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + block * 16);
        let lan = Self {
            bridge: format!("{prefix}br"),
            prefix,
            base,
            hosts: Vec::new(),
        };
        // A crashed run with the same pid may have left these behind.
        quietly(&["link", "del", &lan.bridge]);
        ip(&["link", "add", &lan.bridge, "type", "bridge"]);
        let address = format!("{}/28", lan.address(1));
        ip(&["addr", "add", &address, "dev", &lan.bridge]);
        ip(&["link", "set", &lan.bridge, "up"]);
        lan
    }

    /// Adds a host named `name` with the next free address, its link up.
    ///
    /// # Panics
    ///
    /// When the LAN is full or the kernel refuses a step.
    pub fn host(&mut self, name: &str) -> Host {
        let index = u8::try_from(self.hosts.len()).expect("few hosts") + 2;
        assert!(index < 15, "a LAN holds at most 13 hosts");
        let host = Host {
            name: name.to_owned(),
            ns: format!("{}-{name}", self.prefix),
            ip: self.address(index),
            link: format!("{}{index:02}", self.prefix),
        };
        let inside = format!("{}{index:02}x", self.prefix);
        quietly(&["link", "del", &host.link]);
        quietly(&["netns", "del", &host.ns]);
        ip(&["netns", "add", &host.ns]);
        // Listed before its link exists, so that a failure below still removes it.
        self.hosts.push(host.clone());
        ip(&[
            "link", "add", &host.link, "type", "veth", "peer", "name", &inside,
        ]);
        ip(&["link", "set", &inside, "netns", &host.ns]);
        let address = format!("{}/28", host.ip);
        let within = |args: &[&str]| {
            let mut full = vec!["-n", host.ns.as_str()];
            full.extend_from_slice(args);
            ip(&full);
        };
        within(&["link", "set", &inside, "name", "eth0"]);
        within(&["addr", "add", &address, "dev", "eth0"]);
        within(&["link", "set", "eth0", "up"]);
        within(&["link", "set", "lo", "up"]);
        ip(&["link", "set", &host.link, "master", &self.bridge, "up"]);
        host
    }

    /// Cuts `host` off: its link goes down, and every packet to or from it is lost until
    /// [`restore`](Self::restore), as when a machine's cable is pulled. Its processes run on.
    pub fn cut(&self, host: &Host) {
        ip(&["link", "set", &host.link, "down"]);
    }

    /// Brings the link of `host` back up.
    pub fn restore(&self, host: &Host) {
        ip(&["link", "set", &host.link, "up"]);
    }

    fn address(&self, index: u8) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + u32::from(index))
    }
}

impl Drop for Lan {
    /// Removes every link, namespace and the bridge, whatever state a failed test left them
    /// in. The processes inside must be gone first: a [`Process`] is dropped before its LAN.
    fn drop(&mut self) {
        for host in &self.hosts {
            // Deleting one end of a veth pair deletes both.
            quietly(&["link", "del", &host.link]);
            quietly(&["netns", "del", &host.ns]);
        }
        quietly(&["link", "del", &self.bridge]);
    }
}

/// A program running inside a host, its stdout and stderr in one file; killed (SIGKILL) and
/// waited for on drop, as a crashed machine's processes would be.
pub struct Process {
    /// What the test calls it, in failure reports.
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `program` with `args` and `envs` inside `host`, its output appended to `log`.
    ///
    /// # Panics
    ///
    /// When the log file cannot be created or `ip netns exec` cannot start.
    pub fn start(
        host: &Host,
        name: &str,
        program: &Path,
        args: &[String],
        envs: &[(&str, String)],
        log: PathBuf,
    ) -> Self {
        let out = std::fs::File::create(&log).expect("the process log is created");
        let err = out.try_clone().expect("the log file is cloned");
        // `ip netns exec` enters the namespace and then execs the program: the child is the
        // program itself, so killing it kills the program.
        let child = Command::new("ip")
            .args(["netns", "exec", &host.ns])
            .arg(program)
            .args(args)
            .envs(envs.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("ip netns exec starts");
        Self {
            name: name.to_owned(),
            child,
            log,
        }
    }

    /// Its output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = i32::try_from(self.child.id()).expect("pids fit in i32");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
            .expect("the process can be signalled");
    }

    /// SIGKILLs the process and waits for it.
    pub fn kill(&mut self) {
        // Already gone is fine: the point is that it no longer runs.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it has exited, and whether cleanly; `None` while it runs.
    pub fn exited(&mut self) -> Option<bool> {
        self.child
            .try_wait()
            .expect("the child can be waited for")
            .map(|status| status.success())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let running = self.child.try_wait().ok().flatten().is_none();
        self.kill();
        // A failing test shows what its processes said, the only trace they leave.
        if std::thread::panicking() && running {
            let output = self.output();
            let tail: Vec<&str> = output.lines().rev().take(30).collect();
            eprintln!("--- last lines of {} ---", self.name);
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Runs `ip ARGS`, panicking with its error output when it fails.
fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .expect("`ip` runs (apt-get install iproute2)");
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

/// Runs `ip ARGS` where failing is expected and harmless: removing what may not exist.
fn quietly(args: &[&str]) {
    // Nothing to remove is the usual case; anything else would show in the next `ip` step.
    let _ = Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
