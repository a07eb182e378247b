use crate::testutil::{check, lab_dir, node, parse, TempLab};
use crate::{convert, ImageMap, Options};

/// Three routers in a line, two PCs, a LAN of three with a MAC, startup files, folders,
/// lab.dep and options of every sort.
const LAB_CONF: &str = r#"LAB_DESCRIPTION="three routers, two pcs"
# a comment
r1[0]="A/02:42:ac:11:00:02"
r1[1]="B"
r2[0]="B"
r2[1]="C"
r3[0]="C"
r3[1]="D"
pc1[0]="A"
pc2[0]="D"
lan3[0]="A"
r1[sysctl]="net.ipv4.conf.all.forwarding=1"
r1[exec]="echo ready"
r1[ipv6]="true"
r1[mem]="256m"
r1[cpus]="0.5"
pc1[bridged]="true"
pc1[port]="8080:80/tcp"
pc1[num_terms]="2"
pc1[shell]="/bin/sh"
pc1[env]="GREETING=hello world"
pc1[colour]="blue"
pc2[image]="kathara/frr"
"#;

fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("lab.conf", LAB_CONF),
        ("lab.dep", "pc1: r1\npc2: r3 r2\n"),
        (
            "r1.startup",
            "ip addr add 10.0.1.1/24 dev eth0\nsystemctl start frr\n",
        ),
        ("pc1.startup", "ip addr add 10.0.1.10/24 dev eth0\n"),
        ("shared.startup", "echo shared\n"),
        ("r1.shutdown", "echo bye\n"),
        ("r1/etc/frr/frr.conf", "router ospf\n"),
        ("r1/etc/frr/daemons", "ospfd=yes\n"),
        ("pc2/etc/hostname.note", "x\n"),
        ("lab.ext", "r1 eth9\n"),
    ]
}

#[test]
fn a_kathara_lab_maps_key_by_key() {
    let t = TempLab::new("kmap", &files());
    let c = convert(&t.src(), &Options::default()).unwrap();
    let doc = parse(&c.toml);
    assert_eq!(c.name, "kmap");
    assert_eq!(doc["lab"]["routing"].as_str(), Some("none"));
    assert_eq!(doc["lab"]["pool"].as_str(), Some("none"));
    assert_eq!(doc["lab"]["ssh"].as_bool(), Some(false));
    // Devices forward, with Kathará's sysctls and the file's.
    let r1 = node(&doc, "r1");
    assert_eq!(r1["kind"].as_str(), Some("router"));
    assert_eq!(r1["root"].as_str(), Some("overlay"));
    assert_eq!(r1["tree"].as_str(), Some("r1"));
    assert_eq!(r1["ipv6"].as_bool(), Some(true));
    assert_eq!(r1["memory"].as_str(), Some("256M"));
    assert_eq!(r1["cpu"].as_float(), Some(0.5));
    assert_eq!(
        r1["sysctl"]["net.ipv4.conf.all.rp_filter"].as_integer(),
        Some(0)
    );
    assert_eq!(
        r1["sysctl"]["net.ipv4.icmp_ratelimit"].as_integer(),
        Some(0)
    );
    assert_eq!(
        r1["sysctl"]["net.ipv4.conf.all.forwarding"].as_integer(),
        Some(1)
    );
    let binds: Vec<&str> = r1["binds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(binds, [".:/hostlab:ro"], "no shared/ yet");
    // Its folder's FRR files are prepared as Kathará does, then the startup files run.
    let exec: Vec<&str> = r1["exec"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        exec,
        [
            "if [ -d /etc/frr ]; then chown -R frr:frr /etc/frr/; chmod 640 /etc/frr/*; fi",
            "cd / && /bin/bash -x /hostlab/shared.startup > /var/log/shared.log 2>&1",
            "cd / && /bin/bash -x /hostlab/r1.startup > /var/log/startup.log 2>&1",
            "echo ready",
        ]
    );
    // pc1: its shell runs its startup; env; after from lab.dep.
    let pc1 = node(&doc, "pc1");
    assert!(pc1.get("tree").is_none());
    assert_eq!(
        pc1["exec"][1].as_str(),
        Some("cd / && /bin/sh -x /hostlab/pc1.startup > /var/log/startup.log 2>&1")
    );
    assert_eq!(pc1["env"]["GREETING"].as_str(), Some("hello world"));
    assert_eq!(pc1["after"].as_array().unwrap()[0].as_str(), Some("r1"));
    let pc2 = node(&doc, "pc2");
    let after: Vec<&str> = pc2["after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(after, ["r3", "r2"]);
    assert!(pc2.get("ipv6").is_none());
    // Collision domains: A has three interfaces (a switch named A), the others two.
    let a = node(&doc, "A");
    assert_eq!(a["kind"].as_str(), Some("switch"));
    assert!(a.get("root").is_none() && a.get("exec").is_none());
    let links = doc["links"].as_array().unwrap();
    assert_eq!(links.len(), 3 + 3);
    let eps = |i: usize| links[i]["endpoints"].clone();
    assert_eq!(eps(0)[0]["node"].as_str(), Some("r1"));
    assert_eq!(eps(0)[0]["iface"].as_str(), Some("eth0"));
    assert_eq!(eps(0)[0]["mac"].as_str(), Some("02:42:ac:11:00:02"));
    assert_eq!(eps(0)[1].as_str(), Some("A"));
    assert!(links.iter().all(|l| l["l2"].as_bool() == Some(true)));
    assert_eq!(eps(3)[0].as_str(), Some("r1:eth1"));
    assert_eq!(eps(3)[1].as_str(), Some("r2:eth0"));
    assert_eq!(eps(5)[1].as_str(), Some("pc2:eth0"));
    // Every option that nsnet cannot honour is a note of its own, and in the file.
    let expect = [
        "lab.conf:17: pc1[bridged]: not honoured",
        "lab.conf:18: pc1[port]=\"8080:80/tcp\": not honoured",
        "lab.conf:19: pc1[num_terms]",
        "lab.conf:20: pc1[shell]=\"/bin/sh\": runs the device's startup files",
        "lab.conf:22: pc1[colour]: not a Kathará option",
        "r1.shutdown: not run",
        "images kathara/base (5 devices), kathara/frr (1 device): no root in the image map",
        "shared/: missing",
        "lab.ext: not honoured",
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
    assert!(c.toml.starts_with("# Converted by `nsnet convert` from the Kathará lab kmap/ (lab.conf, lab.dep) as lab kmap.\n# LAB_DESCRIPTION: three routers, two pcs\n"));
}

#[test]
fn shared_and_images() {
    let mut f = files();
    f.push(("shared/.keep", ""));
    let t = TempLab::new("kimg", &f);
    let dir = t.0.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(dir.join("frr-root")).unwrap();
    let images = ImageMap::from_toml(
        "[images]\n\"kathara/frr\" = { root = \"frr-root\", services = [\"frr\"], exec = [\"echo image\"] }\n\"kathara/base\" = \"overlay\"\n",
        "images.toml",
        &dir,
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
    let pc2 = node(&doc, "pc2");
    assert_eq!(
        pc2["root"].as_str(),
        Some(dir.join("frr-root").to_str().unwrap())
    );
    assert_eq!(pc2["services"][0].as_str(), Some("frr"));
    assert_eq!(pc2["exec"][0].as_str(), Some("echo image"));
    assert_eq!(pc2["binds"][1].as_str(), Some("shared:/shared"));
    assert_eq!(node(&doc, "r1")["root"].as_str(), Some("overlay"));
    assert!(
        !c.notes.iter().any(|n| n.starts_with("images")),
        "{:#?}",
        c.notes
    );
    assert!(
        !c.notes.iter().any(|n| n.starts_with("shared/")),
        "{:#?}",
        c.notes
    );
}

#[test]
fn switch_names_are_valid_and_free() {
    let t = TempLab::new(
        "knames",
        &[(
            "lab.conf",
            "a[0]=\"a\"\nb[0]=\"a\"\nc[0]=\"a\"\nc[1]=\"_lan\"\nd[0]=\"B\"\nd[1]=\"F/02:00:00:00:00:0d\"\ne[0]=\"F\"\n",
        )],
    );
    let c = convert(&t.src(), &Options::default()).unwrap();
    let doc = parse(&c.toml);
    assert_eq!(node(&doc, "cd-a")["kind"].as_str(), Some("switch"));
    assert_eq!(node(&doc, "cd-_lan")["kind"].as_str(), Some("switch"));
    // One interface: a switch with one port; B is b's name but for case (hostnames are
    // not told apart by case).
    assert_eq!(node(&doc, "cd-B")["kind"].as_str(), Some("switch"));
    let links = doc["links"].as_array().unwrap();
    assert_eq!(links.len(), 6);
    assert_eq!(links[4]["endpoints"][1].as_str(), Some("cd-B"));
    // A direct link with a MAC: pure L2, the MAC's end a table.
    assert_eq!(links[5]["l2"].as_bool(), Some(true));
    assert_eq!(
        links[5]["endpoints"][0]["mac"].as_str(),
        Some("02:00:00:00:00:0d")
    );
    assert_eq!(links[5]["endpoints"][1].as_str(), Some("e:eth0"));
    check(&c);
}

#[test]
fn errors_name_the_file_line_and_column() {
    let bad = |conf: &str, dep: Option<&str>| {
        let mut f = vec![("lab.conf", conf)];
        if let Some(d) = dep {
            f.push(("lab.dep", d));
        }
        let t = TempLab::new("kerr", &f);
        let e = convert(&t.src(), &Options::default()).unwrap_err();
        e.0[0].clone()
    };
    let e = bad("a[0]=A\nb[0]=A\n", Some("a: b\nb: a\n"));
    assert!(e.file.ends_with("lab.dep"), "{e}");
    assert_eq!((e.line, e.col), (1, 1));
    assert!(e.message.contains("a → b → a"), "{e}");
    let e = bad("a[0]=A\na[sysctl]=\"kernel.panic=1\"\n", None);
    assert_eq!((e.line, e.col), (2, 12));
    assert!(e.hint.unwrap().contains("net."));
    let e = bad("a[0]=A\na[mem]=\"2k\"\n", None);
    assert!(e.message.contains("at least 4m"), "{e}");
    let e = bad("a[0]=A\na[cpus]=\"lots\"\n", None);
    assert_eq!(e.line, 2);
    let e = bad("a[0]=A\na[volume]=\"/x\"\n", None);
    assert!(e.message.contains("HOST|GUEST|MODE"), "{e}");
    let e = bad("# nothing\n", None);
    assert!(e.message.contains("no device"), "{e}");
    let e = bad("a[0]=A\nb[0]=A\n", Some("a: a\n"));
    assert!(e.message.contains("itself"), "{e}");
}

#[test]
fn lab_dep_about_unknown_devices_is_a_note() {
    let t = TempLab::new(
        "kdep",
        &[
            ("lab.conf", "a[0]=A\nb[0]=A\n"),
            ("lab.dep", "a: b zz\nqq: a\n"),
        ],
    );
    let c = convert(&t.src(), &Options::default()).unwrap();
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("lab.dep:1: zz is no device")),
        "{:#?}",
        c.notes
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("lab.dep:2: qq is no device")),
        "{:#?}",
        c.notes
    );
    assert_eq!(node(&parse(&c.toml), "a")["after"][0].as_str(), Some("b"));
    check(&c);
}

#[test]
fn volumes_are_binds() {
    let t = TempLab::new(
        "kvol",
        &[(
            "lab.conf",
            "a[0]=A\na[volume]=\"/srv/data|/data|rw\"\na[volume]=\"conf|/conf\"\na[volume]=\"/x|/y|rx\"\n",
        )],
    );
    let c = convert(&t.src(), &Options::default()).unwrap();
    let doc = parse(&c.toml);
    let binds: Vec<&str> = node(&doc, "a")["binds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(
        binds,
        [
            ".:/hostlab:ro",
            "/srv/data:/data",
            "conf:/conf:ro",
            "/x:/y:ro"
        ]
    );
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("relative to the lab's directory")));
    assert!(c.notes.iter().any(|n| n.contains("mode rx")));
}

#[test]
fn a_lab_conf_file_names_its_directory() {
    let t = TempLab::new("kfile", &[("lab.conf", "a[0]=A\n")]);
    let src = crate::detect(&t.0.join("lab.conf")).unwrap();
    assert_eq!(src.dir, lab_dir(&t));
    assert_eq!(crate::lab_name(&src).as_deref(), Some("kfile"));
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

#[test]
fn valid_kathara_labs_convert_to_valid_lab_files() {
    // Labs Kathará takes, made at random: devices named as Kathará allows, collision
    // domains of every size and case, MACs, options of every kind, lab.dep without loops.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let devs = ["r1", "r_2", "pc1", "a", "0x", "lan", "b", "srv_01", "x9"];
    let cds = ["A", "a", "lan", "LAN", "_x", "r1", "B2", "c_d", "Z"];
    let opts = [
        "exec=\"echo hi\"",
        "sysctl=\"net.ipv4.conf.all.forwarding=1\"",
        "ipv6=\"true\"",
        "ipv6=\"false\"",
        "mem=\"64m\"",
        "cpus=\"0.25\"",
        "env=\"K=v\"",
        "shell=\"/bin/sh\"",
        "bridged=\"true\"",
        "port=\"2000:80\"",
        "num_terms=\"0\"",
        "privileged=\"true\"",
        "image=\"kathara/frr\"",
        "ulimit=\"nofile=1024\"",
        "volume=\"/tmp|/data|ro\"",
    ];
    for case in 0..150 {
        let mut conf = String::new();
        let n = 1 + rng.below(devs.len());
        let used: Vec<&str> = devs[..n].to_vec();
        for (di, d) in used.iter().enumerate() {
            let mut seen = Vec::new();
            for i in 0..rng.below(4) {
                let cd = rng.pick(&cds);
                if seen.contains(&cd) {
                    continue;
                }
                seen.push(cd);
                if rng.below(3) == 0 {
                    // Now and then one MAC on two interfaces, which Kathará lets through.
                    let mac = if rng.below(4) == 0 {
                        "02:00:00:00:ff:ff".to_string()
                    } else {
                        format!("02:00:00:00:{di:02x}:{i:02x}")
                    };
                    conf.push_str(&format!("{d}[{i}]=\"{cd}/{mac}\"\n"));
                } else {
                    conf.push_str(&format!("{d}[{i}]={cd}\n"));
                }
            }
            for _ in 0..rng.below(3) {
                conf.push_str(&format!("{d}[{}\n", rng.pick(&opts).replacen('=', "]=", 1)));
            }
            if seen.is_empty() {
                conf.push_str(&format!("{d}[exec]=\"true\"\n"));
            }
        }
        // Each device waits only for devices before it: no loop.
        let mut dep = String::new();
        for (i, d) in used.iter().enumerate().skip(1) {
            if rng.below(2) == 0 {
                dep.push_str(&format!("{d}: {}\n", used[rng.below(i)]));
            }
        }
        let mut files = vec![("lab.conf", conf.as_str()), ("lab.dep", dep.as_str())];
        if rng.below(2) == 0 {
            files.push(("a.startup", "echo a\n"));
            files.push(("a/etc/frr/frr.conf", "!\n"));
        }
        if rng.below(2) == 0 {
            files.push(("shared/.keep", ""));
        }
        let t = TempLab::new("krand", &files);
        let c = convert(&t.src(), &Options::default())
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{conf}"));
        check(&c);
    }
}
