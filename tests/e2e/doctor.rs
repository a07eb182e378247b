//! `nsnet doctor`: its verdict on each of the kernel's parts is what `ip`, `tc` and `nft` get
//! trying the same part in a network namespace of their own; it leaves nothing on the host;
//! without root it says so and still tries the kernel, in a user namespace.

use crate::util::*;
use std::process::Command;

/// Whether `script` succeeds in a network namespace of its own (gone when it ends).
fn tried(script: &str) -> bool {
    Command::new("unshare")
        .args(["--net", "sh", "-ec", script])
        .output()
        .expect("running unshare")
        .status
        .success()
}

fn findings(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}: {}{}", stdout(o), stderr(o)))
}

fn verdict<'a>(v: &'a serde_json::Value, name: &str) -> &'a str {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no finding {name}: {v:#}"))["verdict"]
        .as_str()
        .expect("a verdict")
}

const VETH: &str =
    "ip link add dv0 type veth peer name dv1; ip link set dv0 up; ip link set dv1 up";

#[test]
fn doctor_agrees_with_ip_tc_and_nft_and_leaves_nothing() {
    as_root(|| {
        let o = nsnet(&["doctor", "--json"]);
        let v = findings(&o);
        let macvlan = format!("{VETH}; ip link add link dv1 name dvmv type macvlan mode bridge");
        let parts: [(&str, &str); 8] = [
            ("network namespaces", "true"),
            ("veth", VETH),
            ("bridge", "ip link add dvbr type bridge"),
            ("macvlan", &macvlan),
            (
                "nftables",
                "nft add table inet t; nft 'add chain inet t c { type filter hook input priority 0; }'",
            ),
            (
                "nftables NAT",
                "nft add table inet t; nft 'add chain inet t p { type nat hook postrouting priority 100; }'; nft add rule inet t p masquerade",
            ),
            ("tbf", "tc qdisc add dev lo root tbf rate 1mbit burst 4k latency 50ms"),
            ("netem", "tc qdisc add dev lo root netem delay 1ms"),
        ];
        for (name, script) in parts {
            let want = if tried(script) { "ok" } else { "missing" };
            assert_eq!(
                verdict(&v, name),
                want,
                "{name}: doctor and `{script}` disagree\n{v:#}"
            );
        }
        for prog in ["sshd", "ping", "python3", "dig", "dot"] {
            let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                .iter()
                .any(|d| std::path::Path::new(d).join(prog).is_file());
            let want = if found { "ok" } else { "missing" };
            assert_eq!(verdict(&v, prog), want, "{prog}\n{v:#}");
        }
        // The suite builds labs on this machine: it is ready, and says so with its status.
        assert_eq!(v["ready"], true, "{v:#}");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        // Every missing part comes with its fix, in the text too.
        let text = nsnet(&["doctor"]);
        let text = stdout(&text);
        for f in v["findings"].as_array().unwrap() {
            if f["verdict"] == "missing" {
                let fix = f["fix"].as_str().unwrap_or_else(|| panic!("no fix: {f}"));
                assert!(
                    text.contains(fix),
                    "the fix of {} is not printed:\n{text}",
                    f["name"]
                );
            }
        }
        // What the probe made was in its own namespace: none of it is on the host.
        for dev in ["dr0", "dr1", "drbr", "drmv"] {
            let o = Command::new("ip")
                .args(["link", "show", dev])
                .output()
                .unwrap();
            assert!(!o.status.success(), "{dev} is on the host after doctor");
        }
        for table in ["nsnet-doctor", "nsnet-doctor-nat"] {
            let o = Command::new("nft")
                .args(["list", "table", "inet", table])
                .output()
                .unwrap();
            assert!(
                !o.status.success(),
                "table {table} is on the host after doctor"
            );
        }
    });
}

#[test]
fn without_root_doctor_tries_the_kernel_in_a_user_namespace_for_rootless_labs() {
    as_root(|| {
        // Root is needed only to become nobody.
        let o = nsnet_setpriv(&NOBODY, &["doctor", "--json"]);
        let v = findings(&o);
        assert_eq!(verdict(&v, "root"), "missing", "{v:#}");
        // What an unprivileged user may do here, as unshare finds it: rootless labs need
        // exactly that.
        let mut cmd = Command::new("setpriv");
        cmd.args(NOBODY)
            .args(["unshare", "--user", "--map-root-user", "--net", "true"]);
        let userns = cmd.output().unwrap().status.success();
        let want = if userns { "ok" } else { "missing" };
        assert_eq!(verdict(&v, "network namespaces"), want, "{v:#}");
        assert_eq!(v["ready"], userns, "{v:#}");
        assert_eq!(o.status.code(), Some(if userns { 0 } else { 1 }));
        let text = stdout(&nsnet_setpriv(&NOBODY, &["doctor"]));
        assert!(text.contains("labs run rootless"), "{text}");
        assert!(text.contains("fix: for limits"), "no fix for root:\n{text}");
        // nobody has no subordinate ids: the fix says how to give a user some.
        assert_eq!(verdict(&v, "subordinate ids"), "missing", "{v:#}");
        assert!(text.contains("usermod --add-subuids"), "{text}");
    });
}
