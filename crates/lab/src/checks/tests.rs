use crate::checks::*;
use crate::Lab;

const HEAD: &str = r#"
[nodes]
h1 = {}
h2 = {}
r2 = { kind = "router" }
s1 = { kind = "switch" }

[nodes.r1]
kind = "router"
[nodes.r1.firewall]
forward = "drop"
[[nodes.r1.firewall.rules]]
chain = "forward"
action = "accept"

[[links]]
endpoints = ["h1", "s1"]
[[links]]
endpoints = ["r1", "s1"]
[[links]]
endpoints = ["r1", "r2"]
[[links]]
endpoints = ["r2", "h2"]
"#;

fn load(checks: &str) -> Result<Checks, String> {
    Lab::from_toml(&format!("{HEAD}{checks}"), "t.toml", Some("t"), None)
        .map(|l| l.checks)
        .map_err(|e| e.to_string())
}

/// The error of `checks`, whose first line must start with `line:col`.
#[track_caller]
fn error(checks: &str, line: usize, col: usize, has: &str) {
    let e = load(checks).unwrap_err();
    let head_lines = HEAD.lines().count();
    let place = format!("t.toml:{}:{col}:", head_lines + line);
    assert!(e.starts_with(&place), "want {place}\n{e}");
    assert!(e.contains(has), "want {has:?}\n{e}");
}

#[test]
fn every_kind_parses() {
    let c = load(
        r#"
[[checks]]
name = "ping"
node = "h1"
ping = "h2"
count = 5
max_rtt = "50ms"
max_loss = "10%"
counted_by = "r1:1"
wait = "10s"

[[checks]]
name = "tcp"
node = "h1"
tcp = "[fd00::2]:80"
expect = "filtered"

[[checks]]
name = "udp"
node = "h1"
udp = "h2:53"
expect = "closed"
send = "hi"

[[checks]]
name = "path"
node = "h1"
path = "h2"
via = ["r1", "r2"]
traceroute = true

[[checks]]
name = "route"
node = "r1"
route = "10.0.0.0/24"
via = "10.0.1.2"
proto = "ospf"
expect = "absent"

[[checks]]
name = "rule"
node = "r1"
rule = 1
packets = 3

[[checks]]
name = "resolve"
node = "h1"
resolve = "www.lab.test"
server = "10.0.0.53"
address = "10.0.0.80"

[[checks]]
name = "cmd"
node = "s1"
command = "bridge fdb show"
contains = ["master", "br0"]
matches = "^[0-9a-f:]+ dev"
json = { neighbors = { a = [{ state = "Full" }] } }

[[scenarios]]
name = "cut"
[[scenarios.checks]]
name = "h1 still reaches h2"
node = "h1"
ping = "h2"
wait = "10s"
[[scenarios.steps]]
link_down = ["r1", "r2"]
reroute = true
[[scenarios.steps]]
at = "2s"
impair = "r1:eth1"
delay = "20ms"
[[scenarios.steps]]
checks = ["h1 still reaches h2", "ping"]
[[scenarios.steps]]
restore = "r1:eth1"
[[scenarios.steps]]
exec = "true"
node = "r1"
[[scenarios.steps]]
sleep = "1s"
"#,
    )
    .unwrap();
    assert_eq!(c.checks.len(), 8);
    let Probe::Ping(p) = &c.checks[0].probe else {
        panic!()
    };
    assert_eq!(p.to, Target::Node("h2".into()));
    assert_eq!(
        (p.count, p.rtt, p.loss),
        (5, (None, Some(50_000)), (None, Some(100_000)))
    );
    assert_eq!(
        p.counted_by,
        Some(RuleRef {
            node: "r1".into(),
            rule: 1
        })
    );
    assert_eq!(c.checks[0].wait, Some(10_000_000));
    let Probe::Tcp(t) = &c.checks[1].probe else {
        panic!()
    };
    assert_eq!((t.port, t.expect), (80, Expect::Filtered));
    let Probe::Route(r) = &c.checks[4].probe else {
        panic!()
    };
    assert_eq!(r.proto, Some((188, "ospf".into())));
    let Probe::Command(cmd) = &c.checks[7].probe else {
        panic!()
    };
    assert_eq!(
        cmd.json.as_ref().unwrap()["neighbors"]["a"][0]["state"],
        "Full"
    );
    let s = &c.scenarios[0];
    assert_eq!(s.steps.len(), 6);
    assert_eq!(s.steps[1].at, Some(2_000_000));
    assert!(matches!(
        &s.steps[0].action,
        Action::LinkDown { reroute: true, .. }
    ));
    // The plan carries them, and prints them.
    let lab = Lab::from_toml(
        &format!("{HEAD}[[checks]]\nname = \"x\"\nnode = \"h1\"\nping = \"h2\"\n"),
        "t.toml",
        Some("t"),
        None,
    )
    .unwrap();
    let plan = crate::plan(&lab).unwrap();
    assert_eq!(plan.checks.checks.len(), 1);
    assert!(render(&plan.checks).contains("x: h1: ping h2 ×1 → reachable"));
}

#[test]
fn mistakes_are_placed_and_explained() {
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h3\"\nping = \"h2\"\n",
        3,
        8,
        "unknown node `h3`",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\nping = \"h9\"\n",
        4,
        8,
        "unknown node `h9`",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\n",
        1,
        1,
        "says nothing to do",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\nping = \"h2\"\ntcp = \"h2:1\"\n",
        5,
        7,
        "both `ping` and `tcp`",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\ntcp = \"h2:70000\"\n",
        4,
        7,
        "not 1-65535",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\ntcp = \"h2:80\"\nexpect = \"reachable\"\n",
        5,
        10,
        "cannot expect `reachable`",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\ntcp = \"h2:80\"\ncount = 3\n",
        5,
        9,
        "`count` does not apply to a tcp check",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\nping = \"h2\"\nwait = \"10\"\n",
        5,
        8,
        "wait: time `10` has no unit",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"r2\"\nrule = 1\n",
        4,
        8,
        "r2 has no firewall rules",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"r1\"\nrule = 2\n",
        4,
        8,
        "no rule 2",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\ncommand = \"x\"\nmatches = \"(\"\n",
        5,
        11,
        "not a regular expression",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"r1\"\nroute = \"10.0.0.0/24\"\nproto = \"ospd\"\n",
        5,
        9,
        "did you mean `ospf`?",
    );
    error(
        "[[checks]]\nname = \"a\"\nnode = \"s1\"\nping = \"h1\"\n",
        3,
        8,
        "s1 is a switch",
    );
    error("[[checks]]\nname = \"a\"\nnode = \"h1\"\nping = \"h2\"\n[[checks]]\nname = \"a\"\nnode = \"h1\"\nping = \"h2\"\n", 6, 8, "two checks are named `a`");
    error(
        "[[checks]]\nname = \"a\"\nnode = \"h1\"\npng = \"h2\"\n",
        4,
        1,
        "did you mean `ping`?",
    );
    error(
        "[[scenarios]]\nname = \"s\"\n[[scenarios.steps]]\nlink_down = [\"h1\", \"r2\"]\n",
        4,
        13,
        "no link joins h1 and r2",
    );
    error(
        "[[scenarios]]\nname = \"s\"\n[[scenarios.steps]]\nlink_up = \"r1:eth7\"\n",
        4,
        11,
        "r1 has no link at `eth7`",
    );
    error(
        "[[scenarios]]\nname = \"s\"\n[[scenarios.steps]]\ncheck = \"nope\"\n",
        4,
        9,
        "no check is named `nope`",
    );
    error(
        "[[scenarios]]\nname = \"s\"\n[[scenarios.steps]]\nsleep = \"1s\"\nreroute = true\n",
        5,
        11,
        "`reroute` does not apply to a sleep step",
    );
    error(
        "[[scenarios]]\nname = \"s\"\n[[scenarios.steps]]\nimpair = \"r1:eth1\"\ndelay = \"5\"\n",
        5,
        9,
        "delay: time `5` has no unit",
    );
    error(
        "[[scenarios]]\nname = \"s\"\n[[scenarios.steps]]\nexec = \"true\"\n",
        3,
        1,
        "names no node",
    );
}

#[test]
fn a_checks_file_beside_the_lab() {
    let dir = std::env::temp_dir().join(format!("nsnet-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lab.checks.toml"),
        "[[checks]]\nname = \"b\"\nnode = \"h1\"\nping = \"h2\"\n",
    )
    .unwrap();
    let text = format!("[lab]\nchecks = \"lab.checks.toml\"\n{HEAD}[[checks]]\nname = \"a\"\nnode = \"h1\"\nping = \"h2\"\n");
    let lab = Lab::from_toml(&text, "t.toml", Some("t"), Some(&dir)).unwrap();
    let names: Vec<&str> = lab.checks.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    // Its errors name it, at their place; against a plan's topology too.
    std::fs::write(
        dir.join("bad.toml"),
        "[[checks]]\nname = \"b\"\nnode = \"h7\"\nping = \"h2\"\n",
    )
    .unwrap();
    let plan = crate::plan(&lab).unwrap();
    let e = Checks::load(&dir.join("bad.toml"), &plan.topology())
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.toml:3:8: unknown node `h7`"), "{e}");
    let text = format!("[lab]\nchecks = \"missing.toml\"\n{HEAD}");
    let e = Lab::from_toml(&text, "t.toml", Some("t"), Some(&dir))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:2:10: missing.toml: cannot read the checks file"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
