//! nftables against the real kernel, each test inside a throwaway network namespace made by
//! a fresh thread's unshare(CLONE_NEWNET), so the host's firewall is never touched.

use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

use nsnet_netcfg::nft::{Action, Hook, Match, NftChain, NftRule};
use nsnet_netcfg::{sys, NftSocket, RtSocket};

fn in_throwaway_netns(f: impl FnOnce() + Send + 'static) {
    if !sys::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = std::thread::spawn(move || {
        sys::unshare_netns().expect("unshare(CLONE_NEWNET)");
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
