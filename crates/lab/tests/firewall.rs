//! Firewall rules in lab files: planned as written, or refused with file:line:column and a
//! way to fix it. No root needed.

use nsnet_lab::firewall::{Action, Chain, CtState, Field, Limit, Nth, Per, Policy, Ports, Proto};
mod common;

use common::lab as load;
use nsnet_lab::Plan;

/// r1 routes between h1 (r1:eth0) and h2 (r1:eth1); s1 is a switch; `fw` follows r1's table.
fn lab_with(fw: &str) -> String {
    format!(
        "[lab]\nname = \"t\"\n\n[nodes.h1]\n[nodes.h2]\n[nodes.s1]\nkind = \"switch\"\n\n\
         [nodes.r1]\nkind = \"router\"\n\n{fw}\n\n\
         [[links]]\nendpoints = [\"h1\", \"r1\"]\n[[links]]\nendpoints = [\"r1\", \"h2\"]\n\
         [[links]]\nendpoints = [\"h2\", \"s1\"]\n"
    )
}

fn rule(body: &str) -> String {
    lab_with(&format!("[[nodes.r1.firewall.rules]]\n{body}"))
}

/// 1-based line and column of the first `marker` in `text`.
fn place(text: &str, marker: &str) -> (usize, usize) {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in the text"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// The lab must fail with an error at `marker`'s place whose text contains `msg` (and, when
/// given, a fix containing `hint`).
#[track_caller]
fn refused(text: &str, marker: &str, msg: &str, hint: Option<&str>) {
    let e = load(text).expect_err("expected an error");
    let (line, col) = place(text, marker);
    let head = format!("t.toml:{line}:{col}: ");
    let lines: Vec<&str> = e.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with(&head) && l.contains(msg))
        .unwrap_or_else(|| panic!("no error at {line}:{col} with {msg:?}:\n{e}"));
    if let Some(h) = hint {
        let fix = lines.get(i + 1).copied().unwrap_or("");
        assert!(
            fix.starts_with("  fix: ") && fix.contains(h),
            "fix {fix:?} lacks {h:?}:\n{e}"
        );
    }
}

#[test]
fn a_full_firewall_is_planned_in_file_order() {
    let text = lab_with(
        r#"[nodes.r1.firewall]
input = "accept"
forward = "drop"

[[nodes.r1.firewall.rules]]
chain = "forward"
state = ["established", "related"]
action = "accept"

[[nodes.r1.firewall.rules]]
chain = "forward"
iif = "eth0"
src = "10.0.1.0/24"
dst = "10.0.3.10"
proto = "tcp"
dport = 22
action = "accept"

[[nodes.r1.firewall.rules]]
chain = "postrouting"
oif = "eth1"
action = "masquerade"

[[nodes.r1.firewall.rules]]
chain = "prerouting"
proto = "tcp"
dport = "8000-8080"
action = "dnat"
to = "10.0.3.10:80"

[[nodes.r1.firewall.rules]]
chain = "input"
src = "fd00:1::/48"
proto = "icmpv6"
action = "reject"
"#,
    );
    let p = load(&text).unwrap();
    let fw = p
        .node("r1")
        .unwrap()
        .firewall
        .as_ref()
        .expect("r1 has a firewall");
    assert_eq!(
        (fw.input, fw.forward, fw.output),
        (Policy::Accept, Policy::Drop, Policy::Accept)
    );
    let shown: Vec<String> = fw
        .rules
        .iter()
        .map(|r| format!("{} {r}", r.chain))
        .collect();
    assert_eq!(
        shown,
        [
            "forward state established,related accept",
            "forward iif eth0 tcp 10.0.1.0/24 -> 10.0.3.10 dport 22 accept",
            "postrouting oif eth1 masquerade",
            "prerouting tcp dport 8000-8080 dnat to 10.0.3.10:80",
            "input icmpv6 fd00:1::/48 -> any reject",
        ]
    );
    let r = &fw.rules[0];
    assert_eq!((r.chain, r.action), (Chain::Forward, Action::Accept));
    assert_eq!(r.state, [CtState::Established, CtState::Related]);
    assert_eq!(fw.rules[1].proto, Some(Proto::Tcp));
    assert_eq!(fw.rules[3].dport, Some(Ports { lo: 8000, hi: 8080 }));
    assert_eq!(fw.rules[3].v6(), Some(false));
    assert_eq!(fw.rules[4].v6(), Some(true));
    assert_eq!(fw.rules[0].v6(), None);
    // Nodes without a firewall table have none, and the plan round-trips through JSON.
    assert!(p.node("h1").unwrap().firewall.is_none());
    let back: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}

#[test]
fn unknown_keys_get_a_did_you_mean() {
    refused(
        &rule("chain = \"input\"\nprot = \"tcp\"\naction = \"drop\""),
        "prot =",
        "unknown field `prot`",
        Some("did you mean `proto`?"),
    );
    refused(
        &lab_with("[nodes.r1.firewall]\nfoward = \"drop\""),
        "foward",
        "unknown field `foward`",
        Some("did you mean `forward`?"),
    );
}

#[test]
fn unknown_values_get_a_did_you_mean() {
    let cases = [
        (
            "chain = \"foward\"\naction = \"drop\"",
            "\"foward\"",
            "unknown chain `foward`",
            "did you mean `forward`?",
        ),
        (
            "chain = \"input\"\naction = \"acept\"",
            "\"acept\"",
            "unknown action `acept`",
            "did you mean `accept`?",
        ),
        (
            "chain = \"input\"\nproto = \"tpc\"\naction = \"drop\"",
            "\"tpc\"",
            "unknown proto `tpc`",
            "did you mean `tcp`?",
        ),
        (
            "chain = \"input\"\nstate = [\"new\", \"establised\"]\naction = \"drop\"",
            "\"establised\"",
            "unknown connection state `establised`",
            "did you mean `established`?",
        ),
    ];
    for (body, marker, msg, hint) in cases {
        refused(&rule(body), marker, msg, Some(hint));
    }
    refused(
        &lab_with("[nodes.r1.firewall]\nforward = \"dorp\""),
        "\"dorp\"",
        "unknown policy `dorp`",
        Some("did you mean `drop`?"),
    );
}

#[test]
fn nat_actions_only_in_their_chains() {
    refused(
        &rule("chain = \"forward\"\naction = \"dnat\"\nto = \"10.0.3.10\""),
        "\"dnat\"",
        "dnat in chain forward",
        None,
    );
    refused(
        &rule("chain = \"prerouting\"\naction = \"masquerade\""),
        "\"masquerade\"",
        "masquerade in chain prerouting: masquerade works in chain postrouting only",
        None,
    );
    refused(
        &rule("chain = \"input\"\naction = \"snat\"\nto = \"10.0.3.1\""),
        "\"snat\"",
        "snat in chain input",
        None,
    );
    refused(
        &rule("chain = \"postrouting\"\naction = \"reject\""),
        "\"reject\"",
        "reject in chain postrouting",
        None,
    );
    // dnat in output is fine (locally sent connections).
    load(&rule("chain = \"output\"\nproto = \"tcp\"\ndport = 80\naction = \"dnat\"\nto = \"10.0.3.10:8080\"")).unwrap();
}

#[test]
fn ports_need_tcp_or_udp() {
    refused(
        &rule("chain = \"input\"\ndport = 22\naction = \"drop\""),
        "22",
        "a port match needs `proto = \"tcp\"` or `\"udp\"`",
        Some("add proto = \"tcp\""),
    );
    refused(
        &rule("chain = \"input\"\nproto = \"icmp\"\nsport = 7\naction = \"drop\""),
        "7\n",
        "a port match needs",
        None,
    );
    refused(
        &rule("chain = \"prerouting\"\naction = \"dnat\"\nto = \"10.0.3.10:80\""),
        "\"10.0.3.10:80\"",
        "a port in `to` needs",
        None,
    );
}

#[test]
fn bad_ports_are_refused() {
    let cases = [
        ("0", "ports are 1 to 65535"),
        ("70000", "ports are 1 to 65535"),
        ("\"9000-8000\"", "the range 9000-8000 is empty"),
        ("\"ssh\"", "is not a port or a port range"),
    ];
    for (v, msg) in cases {
        let body = format!("chain = \"input\"\nproto = \"tcp\"\ndport = {v}\naction = \"drop\"");
        refused(&rule(&body), &format!("{v}\n"), msg, None);
    }
}

#[test]
fn interfaces_must_be_the_nodes_own() {
    refused(
        &rule("chain = \"forward\"\niif = \"eth3\"\naction = \"drop\""),
        "\"eth3\"",
        "`iif`: r1 has no interface `eth3`",
        Some("did you mean `eth0`?"),
    );
    refused(
        &rule("chain = \"forward\"\noif = \"wan\"\naction = \"drop\""),
        "\"wan\"",
        "r1 has no interface `wan`",
        Some("r1's interfaces: eth0, eth1"),
    );
    refused(
        &rule("chain = \"output\"\niif = \"eth0\"\naction = \"drop\""),
        "\"eth0\"",
        "`iif` never matches in chain output",
        None,
    );
    refused(
        &rule("chain = \"input\"\noif = \"eth0\"\naction = \"drop\""),
        "\"eth0\"",
        "`oif` never matches in chain input",
        None,
    );
    load(&rule(
        "chain = \"input\"\niif = \"lo\"\naction = \"accept\"",
    ))
    .unwrap();
}

#[test]
fn one_ip_family_per_rule() {
    refused(
        &rule("chain = \"forward\"\nsrc = \"10.0.1.0/24\"\ndst = \"fd00::/64\"\naction = \"drop\""),
        "\"fd00::/64\"",
        "`dst` is IPv6, but `src` makes this an IPv4 rule",
        Some("write a second rule"),
    );
    refused(
        &rule("chain = \"forward\"\nsrc = \"fd00::/64\"\nproto = \"icmp\"\naction = \"drop\""),
        "\"icmp\"",
        "proto icmp is IPv4, but `src` makes this an IPv6 rule",
        None,
    );
    refused(
        &rule("chain = \"forward\"\ndst = \"10.0.3.0/24\"\nproto = \"icmpv6\"\naction = \"drop\""),
        "\"icmpv6\"",
        "proto icmpv6 is IPv6, but `dst` makes this an IPv4 rule",
        None,
    );
    refused(
        &rule(
            "chain = \"postrouting\"\nsrc = \"10.0.1.0/24\"\naction = \"snat\"\nto = \"fd00::1\"",
        ),
        "\"fd00::1\"",
        "the `to` address is IPv6, but `src` makes this an IPv4 rule",
        None,
    );
}

#[test]
fn to_is_for_snat_and_dnat_only() {
    refused(
        &rule("chain = \"prerouting\"\naction = \"dnat\""),
        "\"dnat\"",
        "dnat needs `to`",
        Some("to = \"10.0.3.10:80\""),
    );
    refused(
        &rule("chain = \"forward\"\naction = \"accept\"\nto = \"10.0.3.10\""),
        "\"10.0.3.10\"",
        "`to` is for snat and dnat, not accept",
        Some("remove `to`"),
    );
    refused(
        &rule("chain = \"postrouting\"\naction = \"snat\"\nto = \"10.0.3\""),
        "\"10.0.3\"",
        "`to` `10.0.3` is not an address with an optional port",
        None,
    );
}

#[test]
fn addresses_are_networks() {
    refused(
        &rule("chain = \"forward\"\nsrc = \"10.0.1.5/24\"\naction = \"drop\""),
        "\"10.0.1.5/24\"",
        "`src` `10.0.1.5/24` has host bits set",
        Some("10.0.1.0/24"),
    );
    refused(
        &rule("chain = \"forward\"\ndst = \"10.0.1\"\naction = \"drop\""),
        "\"10.0.1\"",
        "is not an address or network",
        None,
    );
    refused(
        &rule("chain = \"forward\"\nstate = []\naction = \"drop\""),
        "[]",
        "`state` is empty",
        None,
    );
}

#[test]
fn a_switch_has_no_firewall() {
    let text = lab_with("[nodes.s1.firewall]\nforward = \"drop\"");
    refused(
        &text,
        "[nodes.s1.firewall]",
        "switch s1 has a `firewall`",
        Some("router or host"),
    );
}

#[test]
fn every_mistake_is_reported_in_file_order() {
    let text = lab_with(
        "[[nodes.r1.firewall.rules]]\nchain = \"foward\"\naction = \"drop\"\n\n\
         [[nodes.r1.firewall.rules]]\nchain = \"input\"\naction = \"acept\"",
    );
    let e = load(&text).unwrap_err();
    let heads: Vec<&str> = e.lines().filter(|l| l.starts_with("t.toml:")).collect();
    assert_eq!(heads.len(), 2, "{e}");
    assert!(
        heads[0].contains("foward") && heads[1].contains("acept"),
        "{e}"
    );
}

#[test]
fn negation_picking_limits_and_logs_are_planned() {
    let text = lab_with(
        r#"[[nodes.r1.firewall.rules]]
chain = "postrouting"
oif = "!eth0"
dst = "!192.168.0.0/24"
action = "masquerade"

[[nodes.r1.firewall.rules]]
chain = "input"
iif = "! eth0"
proto = "!tcp"
action = "accept"

[[nodes.r1.firewall.rules]]
chain = "forward"
src = "!10.0.16.0/20"
proto = "tcp"
sport = "!8000-8080"
dport = "!22"
action = "reject"

[[nodes.r1.firewall.rules]]
chain = "prerouting"
proto = "tcp"
dport = 80
nth = { every = 3, packet = 2 }
action = "dnat"
to = "10.0.3.10"

[[nodes.r1.firewall.rules]]
chain = "prerouting"
nth = { every = 2 }
random = 0.25
action = "accept"

[[nodes.r1.firewall.rules]]
chain = "input"
proto = "icmp"
limit = "10/second"
burst = 20
log = "ping: "
action = "accept"

[[nodes.r1.firewall.rules]]
chain = "input"
limit = "3/min"
action = "log"
"#,
    );
    let text = text.replace("nth = { every = 2 }\n", "");
    let p = load(&text).unwrap();
    let fw = p.node("r1").unwrap().firewall.as_ref().unwrap();
    let shown: Vec<String> = fw.rules.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        shown,
        [
            "oif !eth0 any -> !192.168.0.0/24 masquerade",
            "iif !eth0 !tcp accept",
            "tcp !10.0.16.0/20 -> any sport !8000-8080 dport !22 reject",
            "tcp dport 80 nth every 3 packet 2 dnat to 10.0.3.10",
            "random 0.25 accept",
            "icmp limit 10/second burst 20 log \"ping: \" accept",
            "limit 3/minute burst 5 log",
        ]
    );
    let r = &fw.rules[0];
    assert_eq!(r.not, [Field::Dst, Field::Oif]);
    assert_eq!(r.v6(), Some(false));
    assert_eq!(fw.rules[1].only_proto(), None);
    assert_eq!(
        fw.rules[3].nth,
        Some(Nth {
            every: 3,
            packet: 2
        })
    );
    assert_eq!(fw.rules[4].random, Some(250_000));
    assert_eq!(
        fw.rules[5].limit,
        Some(Limit {
            rate: 10,
            per: Per::Second,
            burst: 20
        })
    );
    assert_eq!(fw.rules[6].action, Action::Log);
    assert_eq!(fw.rules[6].log.as_deref(), Some(""));
    // The new fields survive JSON, and plans without them read as before.
    let back: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
    let json = serde_json::to_string(&fw.rules[3]).unwrap();
    assert!(
        !json.contains("\"not\"") && !json.contains("\"limit\""),
        "{json}"
    );
}

#[test]
fn negations_are_checked() {
    refused(
        &rule("chain = \"forward\"\ndst = \"!\"\naction = \"drop\""),
        "\"!\"",
        "`dst` = \"!\" negates nothing",
        Some("dst = \"!10.0.0.0/8\""),
    );
    refused(
        &rule("chain = \"forward\"\nsrc = \"!0.0.0.0/0\"\naction = \"drop\""),
        "\"!0.0.0.0/0\"",
        "matches no packet",
        Some("remove the rule"),
    );
    refused(
        &rule("chain = \"forward\"\niif = \"!eth7\"\naction = \"drop\""),
        "\"!eth7\"",
        "`iif`: r1 has no interface `eth7`",
        Some("did you mean `eth0`?"),
    );
    refused(
        &rule("chain = \"output\"\niif = \"!eth0\"\naction = \"drop\""),
        "\"!eth0\"",
        "`iif` matches every packet in chain output",
        None,
    );
    refused(
        &rule("chain = \"input\"\nproto = \"!udp\"\ndport = 53\naction = \"drop\""),
        "53",
        "a port match needs `proto = \"tcp\"` or `\"udp\"`",
        Some("a negated `proto` matches protocols without ports too"),
    );
    refused(
        &rule("chain = \"input\"\nproto = \"!tpc\"\naction = \"drop\""),
        "\"!tpc\"",
        "unknown proto `tpc`",
        Some("did you mean `tcp`?"),
    );
    refused(
        &rule("chain = \"input\"\nproto = \"tcp\"\ndport = \"!ssh\"\naction = \"drop\""),
        "\"!ssh\"",
        "`dport` is not a port or a port range",
        Some("negated (`dport = \"!22\"`)"),
    );
    // A negated icmp does not make the rule IPv4; a negated address does.
    load(&rule(
        "chain = \"input\"\nsrc = \"fd00::/64\"\nproto = \"!icmp\"\naction = \"drop\"",
    ))
    .unwrap();
    refused(
        &rule("chain = \"forward\"\nsrc = \"!10.0.0.0/8\"\ndst = \"fd00::/64\"\naction = \"drop\""),
        "\"fd00::/64\"",
        "`dst` is IPv6, but `src` makes this an IPv4 rule",
        None,
    );
}

#[test]
fn nth_and_random_are_checked() {
    let cases = [
        (
            "nth = { every = 1 }",
            "1 }",
            "`nth` with every = 1 matches every packet",
            "leave `nth` out",
        ),
        (
            "nth = { every = 0 }",
            "0 }",
            "a round is 2 to",
            "nth = { every = 3, packet = 0 }",
        ),
        (
            "nth = { every = 3, packet = 3 }",
            "3 }",
            "`packet` = 3 is not one of a round of 3",
            "numbered 0 to 2",
        ),
        (
            "random = 1",
            "1\n",
            "`random` = 1 is no probability between 0 and 1: it would match every packet",
            "random = 0.5",
        ),
        (
            "random = 0.0",
            "0.0",
            "it would match no packet",
            "random = 0.5",
        ),
        (
            "random = \"25%\"",
            "\"25%\"",
            "`random` = \"25%\" is not a number",
            "random = 0.5",
        ),
        (
            "random = 0.0000001",
            "0.0000001",
            "within a millionth of 0",
            "0.000001",
        ),
        (
            "nth = { every = 2 }\nrandom = 0.5",
            "0.5",
            "`nth` and `random` both pick packets",
            "write one rule",
        ),
    ];
    for (keys, marker, msg, hint) in cases {
        let body = format!("chain = \"prerouting\"\n{keys}\naction = \"accept\"");
        refused(&rule(&body), marker, msg, Some(hint));
    }
    refused(
        &rule("chain = \"input\"\nnth = { evry = 2 }\naction = \"drop\""),
        "evry",
        "unknown field `evry`",
        Some("did you mean `every`?"),
    );
}

#[test]
fn limits_and_logs_are_checked() {
    let cases = [
        (
            "limit = \"10\"",
            "\"10\"",
            "`limit` = \"10\" is not a rate",
            "limit = \"10/second\"",
        ),
        (
            "limit = \"10/secnd\"",
            "\"10/secnd\"",
            "unknown time unit `secnd`",
            "did you mean `second`?",
        ),
        (
            "limit = \"0/second\"",
            "\"0/second\"",
            "the rate `0` is not a number of packets, 1 or more",
            "limit = \"10/second\"",
        ),
        (
            "burst = 5",
            "5\n",
            "`burst` is for `limit`, and the rule has none",
            "limit = \"10/second\"",
        ),
        (
            "limit = \"1/second\"\nburst = 0",
            "0\n",
            "`burst` = 0: a burst is 1 or more packets",
            "the default, 5",
        ),
        (
            "limit = \"1/week\"\nburst = 100000",
            "100000",
            "more than the kernel's token bucket holds",
            "lower `burst`",
        ),
        ("log = \"\"", "\"\"", "`log` is empty", "action = \"log\""),
        (
            "log = \"a\\nb\"",
            "\"a\\nb\"",
            "control character",
            "one line",
        ),
    ];
    for (keys, marker, msg, hint) in cases {
        let body = format!("chain = \"input\"\n{keys}\naction = \"accept\"");
        refused(&rule(&body), marker, msg, Some(hint));
    }
    let long = "x".repeat(128);
    refused(
        &rule(&format!(
            "chain = \"input\"\nlog = \"{long}\"\naction = \"drop\""
        )),
        &format!("\"{long}\""),
        "the `log` prefix is 128 bytes; the kernel takes 127",
        Some("shorten it"),
    );
    refused(
        &rule("chain = \"input\"\naction = \"log\"\nto = \"10.0.3.1\""),
        "\"10.0.3.1\"",
        "`to` is for snat and dnat, not log",
        None,
    );
    refused(
        &rule("chain = \"input\"\nlimt = \"1/second\"\naction = \"drop\""),
        "limt",
        "unknown field `limt`",
        Some("did you mean `limit`?"),
    );
    // A rule may log and act, or only log; logging works in every chain.
    for chain in ["input", "forward", "output", "prerouting", "postrouting"] {
        load(&rule(&format!(
            "chain = \"{chain}\"\nlog = \"x: \"\naction = \"log\""
        )))
        .unwrap();
    }
}
