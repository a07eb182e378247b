//! nftables against the real kernel, each test inside a throwaway network namespace made by
//! a fresh thread's unshare(CLONE_NEWNET), so the host's firewall is never touched.

use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

use nsnet_netcfg::nft::{Action, Hook, Match, NftChain, NftRule, Per};
use nsnet_netcfg::{NftSocket, RtSocket};

fn in_throwaway_netns(f: impl FnOnce() + Send + 'static) {
    if !nix::unistd::geteuid().is_root() {
        // CI sets NSNET_REQUIRE_ROOT: there a skip is a failure.
        assert!(
            std::env::var_os("NSNET_REQUIRE_ROOT").is_none(),
            "this kernel test needs root"
        );
        eprintln!("skipped: needs root");
        return;
    }
    let t = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        RtSocket::open().unwrap().set_link_up("lo").unwrap();
        f();
    });
    if let Err(panic) = t.join() {
        std::panic::resume_unwind(panic);
    }
}

fn chain(name: &str, hook: Hook, nat: bool) -> NftChain {
    NftChain {
        name: name.into(),
        nat,
        hook,
        priority: if nat { -100 } else { 0 },
        accept: true,
    }
}

fn rule(n: usize, chain: &str, matches: Vec<Match>, action: Action) -> NftRule {
    NftRule {
        chain: chain.into(),
        matches,
        log: None,
        action,
        comment: format!("nsnet rule {n}"),
        desc: format!("rule {n}"),
    }
}

fn udp(port: u16) -> Vec<Match> {
    vec![
        Match::Family(false),
        Match::Daddr("127.0.0.1".parse::<IpAddr>().unwrap(), 32),
        Match::L4Proto(17),
        Match::Dport(port, port),
    ]
}

#[test]
fn rules_count_and_drop_real_packets() {
    in_throwaway_netns(|| {
        let mut nft = NftSocket::open().unwrap();
        let chains = [
            chain("input", Hook::Input, false),
            chain("output", Hook::Output, false),
        ];
        let rules = [
            rule(1, "output", udp(9999), Action::Accept),
            rule(2, "input", udp(9998), Action::Drop),
        ];
        nft.apply("nsnet", &chains, &rules).unwrap();

        let rx = UdpSocket::bind("127.0.0.1:9998").unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..3 {
            tx.send_to(b"x", "127.0.0.1:9999").unwrap();
        }
        tx.send_to(b"dropped", "127.0.0.1:9998").unwrap();
        assert!(
            rx.recv(&mut [0; 16]).is_err(),
            "the drop rule let a datagram in"
        );

        let got = nft.rules("nsnet").unwrap();
        let counts: Vec<(&str, Option<&str>, u64, u64)> = got
            .iter()
            .map(|r| (r.chain.as_str(), r.comment.as_deref(), r.packets, r.bytes))
            .collect();
        // 1 byte of payload + 8 UDP + 20 IPv4 = 29 bytes a datagram.
        assert_eq!(
            counts,
            [
                ("input", Some("nsnet rule 2"), 1, 35),
                ("output", Some("nsnet rule 1"), 3, 87),
            ]
        );
    });
}

fn not(m: Match) -> Match {
    Match::Not(Box::new(m))
}

#[test]
fn every_kind_of_rule_reads_back_as_written() {
    in_throwaway_netns(|| {
        let mut nft = NftSocket::open().unwrap();
        let chains = [
            chain("input", Hook::Input, false),
            chain("prerouting", Hook::Prerouting, true),
            NftChain {
                priority: 100,
                ..chain("postrouting", Hook::Postrouting, true)
            },
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut logged = rule(
            5,
            "input",
            vec![Match::Limit {
                rate: 5,
                per: Per::Minute,
                burst: 5,
            }],
            Action::Drop,
        );
        logged.log = Some("fw in: ".into());
        let mut only_logs = rule(
            6,
            "input",
            vec![not(Match::Limit {
                rate: 3,
                per: Per::Hour,
                burst: 1,
            })],
            Action::Continue,
        );
        only_logs.log = Some(String::new());
        let rules = [
            rule(
                1,
                "postrouting",
                vec![
                    Match::Family(false),
                    not(Match::Daddr(ip("192.168.0.0"), 24)),
                ],
                Action::Masquerade,
            ),
            rule(
                2,
                "input",
                vec![
                    not(Match::IifName("eth0".into())),
                    Match::Family(false),
                    not(Match::Saddr(ip("10.0.16.0"), 20)),
                    Match::L4Proto(6),
                    not(Match::Dport(22, 22)),
                    not(Match::Sport(8000, 8080)),
                    Match::CtState(nsnet_netcfg::nft::CT_NEW),
                ],
                Action::RejectTcpReset,
            ),
            rule(
                3,
                "prerouting",
                vec![
                    Match::Family(false),
                    Match::L4Proto(6),
                    Match::Dport(80, 80),
                    Match::Nth {
                        every: 3,
                        packet: 0,
                    },
                ],
                Action::Dnat(ip("10.0.3.10"), Some(8080)),
            ),
            rule(
                4,
                "prerouting",
                vec![
                    Match::Family(true),
                    Match::Random {
                        modulus: 1_000_000,
                        below: 250_000,
                    },
                ],
                Action::Dnat(ip("fd00::1"), None),
            ),
            logged,
            only_logs,
            rule(7, "input", udp(7), Action::Reject),
        ];
        nft.apply("nsnet", &chains, &rules).unwrap();
        let got = nft.rules("nsnet").unwrap();
        assert_eq!(got.len(), rules.len());
        for r in &rules {
            let k = got
                .iter()
                .find(|g| g.comment.as_deref() == Some(&r.comment))
                .unwrap();
            assert!(k.holds(r), "{} reads back otherwise: {k:?}", r.desc);
        }
    });
}

#[test]
fn nth_and_limit_pick_real_packets() {
    in_throwaway_netns(|| {
        let mut nft = NftSocket::open().unwrap();
        let chains = [chain("input", Hook::Input, false)];
        let nth = |port, every, packet| {
            let mut m = udp(port);
            m.push(Match::Nth { every, packet });
            rule(usize::from(port), "input", m, Action::Accept)
        };
        let mut limited = udp(9002);
        limited.push(Match::Limit {
            rate: 1,
            per: Per::Minute,
            burst: 4,
        });
        let rules = [
            nth(9000, 3, 0),
            rule(1, "input", udp(9000), Action::Drop),
            rule(9002, "input", limited, Action::Accept),
            rule(2, "input", udp(9002), Action::Drop),
        ];
        nft.apply("nsnet", &chains, &rules).unwrap();
        let rx = |port| {
            let s = UdpSocket::bind(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            s
        };
        let (rx0, rx2) = (rx(9000), rx(9002));
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..30 {
            tx.send_to(b"x", "127.0.0.1:9000").unwrap();
            tx.send_to(b"x", "127.0.0.1:9002").unwrap();
        }
        let count = |s: &UdpSocket| (0..).take_while(|_| s.recv(&mut [0; 4]).is_ok()).count();
        // One in three exactly; the bucket's burst, then nothing at one a minute.
        assert_eq!(count(&rx0), 10);
        assert_eq!(count(&rx2), 4);
    });
}

#[test]
fn a_rejected_rule_is_named_and_nothing_is_applied() {
    in_throwaway_netns(|| {
        let mut nft = NftSocket::open().unwrap();
        let chains = [chain("input", Hook::Input, false)];
        let rules = [
            rule(1, "input", udp(1), Action::Accept),
            // dnat in a filter chain: the kernel refuses it.
            rule(
                2,
                "input",
                udp(2),
                Action::Dnat("10.0.0.1".parse().unwrap(), None),
            ),
        ];
        let errs = nft.apply("nsnet", &chains, &rules).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].to_string().starts_with("adding firewall rule 2: "),
            "{}",
            errs[0]
        );
        // All or nothing: the first rule is not there either.
        assert_eq!(nft.rules("nsnet").unwrap(), []);
    });
}

#[test]
fn twenty_thousand_rules_go_in_as_one_batch() {
    in_throwaway_netns(|| {
        let mut nft = NftSocket::open().unwrap();
        let chains = [chain("input", Hook::Input, false)];
        let rules: Vec<NftRule> = (0..20_000)
            .map(|i| rule(i, "input", udp(1 + (i % 60_000) as u16), Action::Drop))
            .collect();
        nft.apply("nsnet", &chains, &rules).unwrap();
        let got = nft.rules("nsnet").unwrap();
        assert_eq!(got.len(), 20_000);
        assert_eq!(got[19_999].comment.as_deref(), Some("nsnet rule 19999"));
    });
}

#[test]
fn a_refused_rule_amid_thousands_is_named_first() {
    in_throwaway_netns(|| {
        let mut nft = NftSocket::open().unwrap();
        let chains = [chain("input", Hook::Input, false)];
        // Refused early, not at the end, where the only ack is asked for. The kernel then
        // refuses every later rule of the chain too: 2990 reports, more than a default
        // receive buffer holds.
        let rules: Vec<NftRule> = (0..3000)
            .map(|i| {
                let action = if i == 10 {
                    Action::Dnat("10.0.0.1".parse().unwrap(), None)
                } else {
                    Action::Accept
                };
                rule(i, "input", udp(1 + i as u16), action)
            })
            .collect();
        let errs = nft.apply("nsnet", &chains, &rules).unwrap_err();
        let first = errs[0].to_string();
        assert!(first.starts_with("adding firewall rule 10: "), "{first}");
        let rule_no = |e: &nsnet_netcfg::NetError| -> usize {
            let t = e.to_string();
            let t = t
                .strip_prefix("adding firewall rule ")
                .unwrap_or_else(|| panic!("{t}"));
            t.split(':').next().unwrap().parse().unwrap()
        };
        assert!(errs.iter().all(|e| rule_no(e) >= 10), "{errs:?}");
        // All or nothing, and the socket is clean for the next request.
        assert_eq!(nft.rules("nsnet").unwrap(), []);
    });
}

#[test]
fn a_commented_table_is_found_listed_and_deleted() {
    in_throwaway_netns(|| {
        let mut nft = NftSocket::open().unwrap();
        assert_eq!(nft.table_comment("t-owned").unwrap(), None);
        let mut fwd = chain("fwd", Hook::Forward, false);
        fwd.accept = false;
        nft.apply_commented("t-owned", Some("nsnet lab x"), &[fwd], &[])
            .unwrap();
        nft.apply("t-plain", &[chain("post", Hook::Postrouting, true)], &[])
            .unwrap();
        assert_eq!(
            nft.table_comment("t-owned").unwrap(),
            Some(Some("nsnet lab x".to_string()))
        );
        assert_eq!(nft.table_comment("t-plain").unwrap(), Some(None));
        let chains = nft.chains().unwrap();
        let f = chains.iter().find(|c| c.name == "fwd").expect("listed");
        assert_eq!((f.family, f.hook, f.accept), (1, Some(2), false));
        assert_eq!(f.describe(), "inet t-owned fwd");
        let p = chains.iter().find(|c| c.name == "post").expect("listed");
        assert_eq!((p.hook, p.accept), (Some(4), true));
        nft.del_table("t-owned").unwrap();
        assert_eq!(nft.table_comment("t-owned").unwrap(), None);
        assert!(nft.del_table("t-owned").is_err());
        assert!(nft.chains().unwrap().iter().all(|c| c.table != "t-owned"));
    });
}
