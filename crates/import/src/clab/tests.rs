use crate::testutil::{check, node, parse, TempLab};
use crate::{convert, ImageMap, Options};
use std::collections::BTreeMap;

const TOPO: &str = r#"name: FRR Lab
mgmt:
  network: custom
topology:
  defaults:
    kind: linux
    image: ${IMG:=quay.io/frrouting/frr:8.4.1}
    exec:
      - echo defaults
    env:
      LEVEL: defaults
      ONLY_DEFAULTS: 1
  kinds:
    linux:
      exec:
        - echo kind
      env:
        LEVEL: kind
      sysctls:
        net.ipv4.ip_forward: 1
        kernel.panic: 10
  groups:
    routers:
      exec:
        - echo group __clabNodeName__
      binds:
        - cfg/group.conf:/etc/app.conf:ro
        - cfg/__clabNodeName__/frr.conf:/etc/frr/frr.conf
  nodes:
    r1:
      group: routers
      binds:
        - cfg/r1-own.conf:/etc/app.conf
        - __clabDir__/topology-data.json:/data.json
      exec:
        - echo defaults
        - ip addr add 192.168.1.1/24 dev eth1
      ports:
        - 8080:80
      mgmt-ipv4: 172.20.20.11
    r2:
      group: routers
      memory: 1GiB
      cpu: 1.5
      stages:
        configure:
          wait-for:
            - node: r1
              stage: configure
            - node: br1
              stage: create
        create:
          wait-for:
            - node: h1
              stage: healthy
            - node: h2
              stage: exit
    h1:
      image: alpine:3
      cmd: sleep infinity
      env:
        LEVEL: node
    h2:
      privileged: true
    br1:
      kind: bridge
  links:
    - endpoints: ["r1:eth1", "r2:eth1"]
      ipv4: ["10.0.12.1/30", ""]
    - type: veth
      mtu: 1500
      endpoints:
        - node: r2
          interface: eth2
          mac: 02:00:00:00:02:02
          ipv4: 10.0.23.1/24
          ipv6: fd00:23::1/64
        - node: h1
          interface: eth1
    - endpoints: ["h2:eth1", "br1:port1"]
    - endpoints: ["r1:eth2", "br1:port2"]
    - endpoints: ["host:veth-r1", "r1:eth3"]
    - type: mgmt-net
      endpoint:
        node: r2
        interface: eth9
      host-interface: r2-mgmt
"#;

fn env() -> BTreeMap<String, String> {
    [("HOME", "/home/me")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strs(v: &toml::Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn a_containerlab_file_maps_key_by_key() {
    let t = TempLab::new(
        "clab1",
        &[
            ("frr.clab.yml", TOPO),
            ("cfg/r1-own.conf", "own\n"),
            ("cfg/group.conf", "group\n"),
            ("cfg/r1/frr.conf", "!\n"),
            ("cfg/r2/frr.conf", "!\n"),
        ],
    );
    let c = convert(
        &t.src(),
        &Options {
            env: env(),
            ..Default::default()
        },
    )
    .unwrap();
    let doc = parse(&c.toml);
    assert_eq!(c.name, "frr-lab");
    assert_eq!(doc["lab"]["routing"].as_str(), Some("none"));
    assert_eq!(doc["lab"]["pool"].as_str(), Some("none"));
    // Levels: defaults, kind, group, node; exec merged in that order without repeats.
    let r1 = node(&doc, "r1");
    assert_eq!(r1["kind"].as_str(), Some("router"));
    assert_eq!(r1["root"].as_str(), Some("overlay"));
    assert_eq!(r1["ipv6"].as_bool(), Some(true));
    assert_eq!(
        strs(&r1["exec"]),
        [
            "echo defaults",
            "echo kind",
            "echo group r1",
            "ip addr add 192.168.1.1/24 dev eth1"
        ]
    );
    // Binds: one per target, the node's winning; sorted; containerlab's dir dropped.
    assert_eq!(
        strs(&r1["binds"]),
        [
            "cfg/r1-own.conf:/etc/app.conf",
            "cfg/r1/frr.conf:/etc/frr/frr.conf"
        ]
    );
    assert_eq!(r1["env"]["LEVEL"].as_str(), Some("kind"));
    assert_eq!(r1["env"]["ONLY_DEFAULTS"].as_str(), Some("1"));
    assert_eq!(r1["sysctl"]["net.ipv4.ip_forward"].as_integer(), Some(1));
    assert!(r1["sysctl"].get("kernel.panic").is_none());
    let r2 = node(&doc, "r2");
    assert_eq!(r2["memory"].as_str(), Some("1G"));
    assert_eq!(r2["cpu"].as_float(), Some(1.5));
    assert_eq!(strs(&r2["after"]), ["r1", "h1"]);
    let h1 = node(&doc, "h1");
    assert_eq!(h1["env"]["LEVEL"].as_str(), Some("node"));
    assert_eq!(strs(&h1["exec"]), ["echo defaults", "echo kind"]);
    assert_eq!(node(&doc, "h2")["privileged"].as_bool(), Some(true));
    let br1 = node(&doc, "br1");
    assert_eq!(br1["kind"].as_str(), Some("switch"));
    assert!(br1.get("exec").is_none() && br1.get("root").is_none());
    // Links: brief with an address list, extended with MAC and addresses, bridge ports.
    let links = doc["links"].as_array().unwrap();
    assert_eq!(links.len(), 4);
    let l0 = &links[0];
    assert_eq!(l0["mtu"].as_integer(), Some(9500));
    assert_eq!(l0["endpoints"][0]["address"].as_str(), Some("10.0.12.1/30"));
    assert_eq!(l0["endpoints"][1]["address"].as_str(), Some("none"));
    assert_eq!(l0["endpoints"][1]["iface"].as_str(), Some("eth1"));
    let l1 = &links[1];
    assert_eq!(l1["mtu"].as_integer(), Some(1500));
    assert_eq!(
        l1["endpoints"][0]["mac"].as_str(),
        Some("02:00:00:00:02:02")
    );
    assert_eq!(
        strs(&l1["endpoints"][0]["addresses"]),
        ["10.0.23.1/24", "fd00:23::1/64"]
    );
    assert_eq!(strs(&links[2]["endpoints"]), ["h2:eth1", "br1:port1"]);
    assert_eq!(links[2]["l2"].as_bool(), Some(true));
    // Notes, each where it is written.
    let expect = [
        "frr.clab.yml:1: name `FRR Lab` is no nsnet lab name",
        "frr.clab.yml:2: mgmt: there is no management network",
        "frr.clab.yml:21: sysctl kernel.panic: not set",
        "frr.clab.yml:34: binds uses containerlab's lab directory",
        "frr.clab.yml:38: r1: ports: not honoured",
        "frr.clab.yml:40: r1: mgmt-ipv4: not honoured",
        "frr.clab.yml:54: wait-for h1 healthy",
        "frr.clab.yml:56: wait-for h2 exit: not honoured",
        "frr.clab.yml:60: h1: cmd: not run",
        "frr.clab.yml:82: a link to host reaches outside the lab",
        "frr.clab.yml:83: a mgmt-net link reaches outside the lab",
        "image quay.io/frrouting/frr:8.4.1: no root in the image map",
        "image alpine:3: no root in the image map",
        "containerlab's management network",
    ];
    for e in expect {
        assert_eq!(
            c.notes.iter().filter(|n| n.starts_with(e)).count(),
            1,
            "{e} in {:#?}",
            c.notes
        );
        assert!(c.toml.contains(&format!("# - {e}")), "{e} in the file");
    }
    assert_eq!(c.notes.len(), expect.len(), "{:#?}", c.notes);
    check(&c);
}

#[test]
fn images_from_the_map() {
    let t = TempLab::new(
        "clab2",
        &[(
            "x.clab.yml",
            "name: x\ntopology:\n  nodes:\n    r1:\n      kind: linux\n      image: quay.io/frrouting/frr:8.4.1\n      exec: [\"ip link set eth1 up\"]\n",
        )],
    );
    let images = ImageMap::from_toml(
        "[images]\n\"quay.io/frrouting/frr:8.4.1\" = { services = [\"frr\"], exec = [\"echo first\"] }\n",
        "images.toml",
        &t.0,
    )
    .unwrap();
    let c = convert(
        &t.src(),
        &Options {
            images,
            ..Default::default()
        },
    )
    .unwrap();
    let doc = parse(&c.toml);
    let r1 = node(&doc, "r1");
    assert_eq!(r1["root"].as_str(), Some("overlay"));
    assert_eq!(strs(&r1["services"]), ["frr"]);
    assert_eq!(strs(&r1["exec"]), ["echo first", "ip link set eth1 up"]);
    assert_eq!(c.notes.len(), 1, "{:#?}", c.notes);
    check(&c);
}

#[test]
fn binds_from_home_and_with_options() {
    let t = TempLab::new(
        "clab3",
        &[(
            "x.clab.yml",
            "name: x\ntopology:\n  nodes:\n    r1:\n      kind: linux\n      binds:\n        - ~/.ssh/id_rsa:/root/.ssh/id_rsa:ro,z\n        - /srv:/srv:rw\n",
        )],
    );
    let c = convert(
        &t.src(),
        &Options {
            env: env(),
            ..Default::default()
        },
    )
    .unwrap();
    let r1 = node(&parse(&c.toml), "r1").clone();
    assert_eq!(
        strs(&r1["binds"]),
        ["/home/me/.ssh/id_rsa:/root/.ssh/id_rsa:ro", "/srv:/srv"]
    );
    assert!(
        c.notes.iter().any(|n| n.contains("bind option z")),
        "{:#?}",
        c.notes
    );
}

/// The first error converting `text`.
fn error(text: &str) -> nsnet_lab::LabError {
    let t = TempLab::new("claberr", &[("e.clab.yml", text)]);
    let e = convert(&t.src(), &Options::default()).unwrap_err();
    e.0[0].clone()
}

#[test]
fn mistakes_are_refused_at_their_place() {
    let e = error("name: x\ntopology:\n  nodes:\n    srl:\n      kind: nokia_srlinux\n    h:\n      kind: linux\n  links:\n    - endpoints: [\"srl:e1-1\", \"h:eth1\"]\n");
    assert_eq!((e.line, e.col), (5, 13), "{e}");
    assert!(e.message.contains("vendor"), "{e}");
    assert!(e.hint.as_ref().unwrap().contains("linux and bridge"), "{e}");
    let t = TempLab::new("clabv", &[("e.clab.yml", "name: x\ntopology:\n  nodes:\n    srl:\n      kind: nokia_srlinux\n    h:\n      kind: linux\n  links:\n    - endpoints: [\"srl:e1-1\", \"h:eth1\"]\n")]);
    assert_eq!(
        convert(&t.src(), &Options::default()).unwrap_err().0.len(),
        1,
        "no second error for the link"
    );
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n      exex: [a]\n");
    assert_eq!((e.line, e.col), (6, 7));
    assert_eq!(e.hint.as_deref(), Some("did you mean `exec`?"));
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n  links:\n    - endpoints: [\"h:eth1\", \"g:eth1\"]\n");
    assert_eq!((e.line, e.col), (7, 29), "{e}");
    assert!(e.message.contains("node g"), "{e}");
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n    g:\n      kind: linux\n  links:\n    - endpoints: [\"h:ethernet-1/1\", \"g:eth1\"]\n");
    assert!(e.message.contains("ethernet-1/1"), "{e}");
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n    g:\n      kind: linux\n  links:\n    - endpoints: [\"h:eth1\", \"g:eth1\"]\n    - endpoints: [\"h:eth1\", \"g:eth2\"]\n");
    assert_eq!(e.line, 10);
    assert!(e.message.contains("two links"), "{e}");
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n    g:\n      kind: linux\n  links:\n    - type: veth\n      endpoints:\n        - node: h\n          interface: eth1\n          mac: 01:00:00:00:00:01\n        - node: g\n          interface: eth1\n");
    assert_eq!((e.line, e.col), (13, 16));
    assert!(e.message.contains("multicast"), "{e}");
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n    g:\n      kind: linux\n  links:\n    - endpoints: [\"h:eth1\", \"g:eth1\"]\n      ipv4: [\"10.0.0.300/24\"]\n");
    assert_eq!(e.line, 10);
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: {{ .kind }}\n");
    assert_eq!((e.line, e.col), (5, 13));
    assert!(e.message.contains("Go template"), "{e}");
    let e = error("topology:\n  nodes:\n    h:\n      kind: linux\n");
    assert!(e.message.contains("no name"), "{e}");
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      image: alpine\n");
    assert!(e.message.contains("no kind"), "{e}");
    let e = error("name: x\ntopology:\n  nodes:\n    h.1:\n      kind: linux\n");
    assert_eq!((e.line, e.col), (4, 5));
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n      stages:\n        configure:\n          wait-for:\n            - node: zz\n");
    assert_eq!(e.line, 9);
    let e = error(
        "name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n      network-mode: host\n",
    );
    assert_eq!(e.line, 6);
    let e = error("name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n      memory: lots\n");
    assert!(e.message.contains("memory size"), "{e}");
}

#[test]
fn memory_sizes_as_containerlab_reads_them() {
    assert_eq!(super::node::memory("1GiB"), Some(1 << 30));
    assert_eq!(super::node::memory("1Gb"), Some(1_000_000_000));
    assert_eq!(super::node::memory("512mib"), Some(512 << 20));
    assert_eq!(super::node::memory("1.5 GB"), Some(1_500_000_000));
    assert_eq!(super::node::memory("4096"), Some(4096));
    assert_eq!(super::node::memory("x"), None);
}

#[test]
fn the_name_is_read_alone() {
    let t = TempLab::new(
        "clabname",
        &[("n.clab.yml", "name: Big_Lab-2\ntopology: {}\n")],
    );
    assert_eq!(crate::lab_name(&t.src()).as_deref(), Some("big-lab-2"));
}

#[test]
fn valid_containerlab_files_convert_to_valid_lab_files() {
    // Files containerlab takes, made at random: linux and bridge nodes through defaults,
    // kinds and groups, brief and extended links with MACs and addresses, binds, env,
    // sysctls, exec, and wait-for on earlier nodes (no loop).
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let names = ["r1", "R2", "leaf_1", "spine-1", "h1", "br0x", "n7", "PC1"];
    let (mut moved, mut macs, mut loops) = (0, 0, 0);
    for case in 0..300 {
        let n = 2 + rnd(names.len() - 1);
        let mut y = String::from("name: rand lab\ntopology:\n  defaults:\n    kind: linux\n");
        if rnd(2) == 0 {
            y.push_str("    env:\n      A: 1\n    sysctls:\n      net.ipv4.ip_forward: 1\n");
        }
        y.push_str(
            "  kinds:\n    linux:\n      image: alpine:3\n      exec:\n        - echo kind\n",
        );
        y.push_str("  groups:\n    g:\n      binds:\n        - files/conf:/etc/conf:ro\n");
        y.push_str("  nodes:\n");
        let mut bridges = Vec::new();
        for (i, name) in names[..n].iter().enumerate() {
            y.push_str(&format!("    {name}:\n"));
            if rnd(4) == 0 {
                y.push_str("      kind: bridge\n");
                bridges.push(i);
                continue;
            }
            if rnd(2) == 0 {
                y.push_str("      group: g\n");
            }
            if rnd(2) == 0 {
                y.push_str("      exec:\n        - ip link show\n");
            }
            if rnd(3) == 0 {
                y.push_str("      memory: 256MiB\n      cpu: 0.5\n");
            }
            let earlier: Vec<usize> = (0..i).filter(|j| !bridges.contains(j)).collect();
            if !earlier.is_empty() && rnd(2) == 0 {
                let j = earlier[rnd(earlier.len())];
                y.push_str(&format!(
                    "      stages:\n        configure:\n          wait-for:\n            - node: {}\n              stage: configure\n",
                    names[j]
                ));
            }
        }
        y.push_str("  links:\n");
        let mut next = vec![1usize; n];
        for l in 0..rnd(2 * n) + 1 {
            let (a, b) = (rnd(n), rnd(n));
            if a == b {
                continue;
            }
            let (ia, ib) = (next[a], next[b]);
            next[a] += 1;
            next[b] += 1;
            // Mostly a subnet per link; sometimes what nsnet plans differently (a /32,
            // a subnet reused, an address twice, IPv6).
            let style = rnd(6);
            let addr = |x: usize, host: usize| {
                if bridges.contains(&x) {
                    return String::new();
                }
                match style {
                    0 => format!("10.200.0.{host}/32"),
                    1 => format!("10.0.0.{host}/24"),
                    2 => "10.1.1.1/24".to_string(),
                    3 => format!("fd00:{l}::{host}/64"),
                    _ => format!("10.{l}.0.{host}/24"),
                }
            };
            if rnd(2) == 0 {
                y.push_str(&format!(
                    "    - endpoints: [\"{}:eth{ia}\", \"{}:eth{ib}\"]\n",
                    names[a], names[b]
                ));
                if rnd(2) == 0 {
                    y.push_str(&format!(
                        "      ipv4: [\"{}\", \"{}\"]\n",
                        addr(a, 1),
                        addr(b, 2)
                    ));
                }
            } else {
                y.push_str("    - type: veth\n");
                if rnd(2) == 0 {
                    y.push_str("      mtu: 1500\n");
                }
                y.push_str("      endpoints:\n");
                for (x, i, host) in [(a, ia, 1), (b, ib, 2)] {
                    y.push_str(&format!(
                        "        - node: {}\n          interface: eth{i}\n",
                        names[x]
                    ));
                    if rnd(2) == 0 && !bridges.contains(&x) {
                        let mac = if style == 2 { 1 } else { l };
                        y.push_str(&format!(
                            "          mac: 02:00:00:{mac:02x}:00:{host:02x}\n"
                        ));
                        y.push_str(&format!("          ipv4: {}\n", addr(x, host)));
                    }
                }
            }
        }
        let t = TempLab::new("clabrand", &[("r.clab.yml", &y), ("files/conf", "x\n")]);
        let c = convert(&t.src(), &Options::default())
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{y}"));
        check(&c);
        moved += c
            .notes
            .iter()
            .filter(|n| n.contains("set by an exec line, not planned"))
            .count();
        macs += c
            .notes
            .iter()
            .filter(|n| n.contains("is another interface's too"))
            .count();
        loops += c
            .notes
            .iter()
            .filter(|n| n.contains("linked in a loop"))
            .count();
    }
    // The cases did meet what nsnet plans differently.
    assert!(
        moved > 20 && macs > 5 && loops > 5,
        "{moved} {macs} {loops}"
    );
}
