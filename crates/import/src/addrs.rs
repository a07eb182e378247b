//! Addresses and MACs as nsnet's planner takes them: one subnet per segment (all of its
//! addresses inside the widest one), no two segments overlapping, each address and each MAC
//! once in the lab, no loopback or multicast. The other tools set whatever they are given, so
//! a lab may break these rules and still run there; here, what breaks them is set by an
//! exec line instead (`ip addr add`, `ip link set … address`), with a note, and the lab file
//! stays one nsnet builds.

use crate::out::{Kind, Line, LinkOut, NodeOut};
use nsnet_lab::Cidr;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

/// Ranges no interface may use (nsnet's own list).
const RESERVED: &[&str] = &["127.0.0.0/8", "224.0.0.0/4", "ff00::/8"];

/// One address of one end: (link, end, index in the end's list).
type Slot = (usize, usize, usize);

/// The links' segments: links joined by a switch (or switches linked together) are one.
fn segments(links: &[LinkOut], nodes: &[NodeOut]) -> Vec<usize> {
    let switch: HashSet<&str> = nodes
        .iter()
        .filter(|n| n.kind == Kind::Switch)
        .map(|n| n.name.as_str())
        .collect();
    let mut parent: Vec<usize> = (0..links.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (li, l) in links.iter().enumerate() {
        for e in &l.ends {
            if switch.contains(e.node.as_str()) {
                match first.get(e.node.as_str()) {
                    Some(&f) => {
                        let (a, b) = (find(&mut parent, li), find(&mut parent, f));
                        parent[a] = b;
                    }
                    None => {
                        first.insert(&e.node, li);
                    }
                }
            }
        }
    }
    (0..links.len()).map(|li| find(&mut parent, li)).collect()
}

/// Why nsnet would refuse `c` beside the segment's `accepted` addresses, the lab's `used`
/// ones and the other segments' subnets `others`; None when it takes it.
fn refusal(
    c: &Cidr,
    accepted: &[Cidr],
    used: &HashSet<IpAddr>,
    others: &[Cidr],
) -> Option<&'static str> {
    if RESERVED
        .iter()
        .any(|r| r.parse::<Cidr>().is_ok_and(|r| r.overlaps(c)))
    {
        return Some("it lies in a loopback or multicast range");
    }
    if c.is_network() && c.prefix + 1 < c.max_prefix() {
        return Some("it is a network's own address");
    }
    if used.contains(&c.addr) {
        return Some("another interface of the lab has it");
    }
    let subnet = widest(accepted.iter().chain(std::iter::once(c)));
    if !accepted
        .iter()
        .chain(std::iter::once(c))
        .all(|a| subnet.contains(&a.addr))
    {
        return Some("it is outside the subnet of its segment's other addresses");
    }
    if others.iter().any(|o| o.overlaps(&subnet)) {
        return Some("its subnet overlaps another segment's");
    }
    None
}

/// The widest network among `cidrs` (the first of the shortest prefix).
fn widest<'a>(cidrs: impl Iterator<Item = &'a Cidr>) -> Cidr {
    cidrs
        .min_by_key(|c| c.prefix)
        .map(|c| c.network())
        .expect("at least one address")
}

/// Keep the addresses nsnet's planner takes; set the others with exec lines. The notes.
pub(crate) fn place(links: &mut [LinkOut], nodes: &mut [NodeOut]) -> Vec<String> {
    let seg = segments(links, nodes);
    // Each segment's addresses by family, in file order.
    let mut by_seg: BTreeMap<(usize, bool), Vec<(Slot, Cidr)>> = BTreeMap::new();
    let mut order: Vec<usize> = Vec::new();
    for (li, l) in links.iter().enumerate() {
        if !order.contains(&seg[li]) {
            order.push(seg[li]);
        }
        for (ei, e) in l.ends.iter().enumerate() {
            for (k, a) in e.addrs.iter().flatten().enumerate() {
                if let Ok(c) = a.parse::<Cidr>() {
                    by_seg
                        .entry((seg[li], c.is_v4()))
                        .or_default()
                        .push(((li, ei, k), c));
                }
            }
        }
    }
    let mut used: HashSet<IpAddr> = HashSet::new();
    let mut subnets: [Vec<Cidr>; 2] = [Vec::new(), Vec::new()];
    let mut moved: Vec<(Slot, &'static str)> = Vec::new();
    let mut kept: BTreeMap<(usize, bool), Vec<(Slot, Cidr)>> = BTreeMap::new();
    for s in &order {
        for v4 in [true, false] {
            let mut accepted: Vec<(Slot, Cidr)> = Vec::new();
            for &(slot, c) in by_seg.get(&(*s, v4)).into_iter().flatten() {
                let mine: Vec<Cidr> = accepted.iter().map(|(_, c)| *c).collect();
                match refusal(&c, &mine, &used, &subnets[v4 as usize]) {
                    Some(why) => moved.push((slot, why)),
                    None => {
                        used.insert(c.addr);
                        accepted.push((slot, c));
                    }
                }
            }
            if !accepted.is_empty() {
                subnets[v4 as usize].push(widest(accepted.iter().map(|(_, c)| c)));
            }
            kept.insert((*s, v4), accepted);
        }
    }
    // Each subnet holds an address for every interface of its segment that has one.
    loop {
        let mut shrunk = false;
        for s in &order {
            let members: HashSet<(usize, usize)> = [true, false]
                .iter()
                .flat_map(|v4| kept.get(&(*s, *v4)).into_iter().flatten())
                .map(|((li, ei, _), _)| (*li, *ei))
                .collect();
            for v4 in [true, false] {
                let list = kept.entry((*s, v4)).or_default();
                if list.is_empty() {
                    continue;
                }
                let subnet = widest(list.iter().map(|(_, c)| c));
                if members.len() as u128 > subnet.host_capacity() {
                    moved.extend(list.drain(..).map(|(slot, _)| {
                        (slot, "its subnet is too small for its segment's interfaces")
                    }));
                    shrunk = true;
                }
            }
        }
        if !shrunk {
            break;
        }
    }
    moved.sort();
    let mut notes = Vec::new();
    let mut lines: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    // Take them out from the end, so that indices stay right.
    for &((li, ei, k), why) in moved.iter().rev() {
        let e = &mut links[li].ends[ei];
        let Some(addrs) = e.addrs.as_mut() else {
            continue;
        };
        let a = addrs.remove(k);
        let at = (k < e.at.len()).then(|| e.at.remove(k));
        let iface = e.iface.clone().unwrap_or_default();
        let text = format!(
            "{}:{iface} {a}: set by an exec line, not planned: {why} (nsnet plans one subnet per segment, each address once)",
            e.node
        );
        notes.push(match at {
            Some(at) => at.note(text),
            None => text,
        });
        lines
            .entry(e.node.clone())
            .or_default()
            .insert(0, Line::new(format!("ip addr add {a} dev {iface}"), None));
    }
    notes.reverse();
    prepend(
        nodes,
        lines,
        "addresses nsnet does not plan (see the notes)",
    );
    notes
}

/// MACs given twice: the first is kept, the others are set by exec lines. The notes.
pub(crate) fn unique_macs(links: &mut [LinkOut], nodes: &mut [NodeOut]) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut notes = Vec::new();
    let mut lines: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    for l in links.iter_mut() {
        for e in l.ends.iter_mut() {
            let Some(mac) = e.mac.clone() else { continue };
            if seen.insert(mac.to_ascii_lowercase()) {
                continue;
            }
            e.mac = None;
            let iface = e.iface.clone().unwrap_or_default();
            notes.push(format!(
                "{}:{iface}: MAC {mac} is another interface's too: set by an exec line (nsnet gives each MAC once)",
                e.node
            ));
            lines.entry(e.node.clone()).or_default().push(Line::new(
                format!("ip link set dev {iface} down && ip link set dev {iface} address {mac} && ip link set dev {iface} up"),
                None,
            ));
        }
    }
    prepend(nodes, lines, "MACs nsnet does not plan (see the notes)");
    notes
}

/// `lines` before each node's own, the first with `comment`.
fn prepend(nodes: &mut [NodeOut], lines: BTreeMap<String, Vec<Line>>, comment: &str) {
    for (node, mut list) in lines {
        if let Some(n) = nodes.iter_mut().find(|n| n.name == node) {
            if let Some(first) = list.first_mut() {
                first.comment = Some(comment.to_string());
            }
            list.append(&mut n.exec);
            n.exec = list;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::out::EndOut;

    fn end(node: &str, iface: &str, addrs: &[&str]) -> EndOut {
        EndOut {
            addrs: Some(addrs.iter().map(|a| a.to_string()).collect()),
            ..EndOut::bare(node, iface, None)
        }
    }

    fn node(name: &str, kind: Kind) -> NodeOut {
        NodeOut {
            name: name.into(),
            kind,
            ..Default::default()
        }
    }

    #[test]
    fn what_nsnet_refuses_becomes_exec_lines() {
        let mut nodes = vec![
            node("a", Kind::Router),
            node("b", Kind::Router),
            node("c", Kind::Router),
            node("sw", Kind::Switch),
        ];
        let link = |x: EndOut, y: EndOut| LinkOut {
            comment: None,
            ends: [x, y],
            mtu: None,
        };
        let mut links = vec![
            // Fine: one subnet, prefixes of their own.
            link(
                end("a", "eth1", &["10.0.0.1/24"]),
                end("b", "eth1", &["10.0.0.2/16", "fd00::2/64"]),
            ),
            // On one switch: 10.4.0.2 is outside 10.3.0.0/24.
            link(end("a", "eth2", &["10.3.0.1/24"]), EndOut::port("sw", None)),
            link(end("b", "eth2", &["10.4.0.2/24"]), EndOut::port("sw", None)),
            // 10.0.0.1 again, and a subnet overlapping the first link's.
            link(
                end("c", "eth1", &["10.0.0.1/24"]),
                end("a", "eth3", &["10.0.5.1/24"]),
            ),
            // /32s for two interfaces, loopback, a network's address.
            link(
                end("b", "eth3", &["10.9.0.1/32", "127.0.0.2/8"]),
                end("c", "eth2", &["10.9.0.2/32", "10.8.0.0/24"]),
            ),
        ];
        let notes = place(&mut links, &mut nodes);
        let addrs = |li: usize, ei: usize| links[li].ends[ei].addrs.clone().unwrap();
        assert_eq!(addrs(0, 1), ["10.0.0.2/16", "fd00::2/64"]);
        assert_eq!(addrs(1, 0), ["10.3.0.1/24"]);
        assert!(addrs(2, 0).is_empty());
        assert!(addrs(3, 0).is_empty() && addrs(3, 1).is_empty());
        // The first /32 is its segment's subnet; the second is outside it.
        assert_eq!(addrs(4, 0), ["10.9.0.1/32"]);
        assert!(addrs(4, 1).is_empty());
        let exec =
            |n: usize| -> Vec<String> { nodes[n].exec.iter().map(|l| l.cmd.clone()).collect() };
        assert_eq!(
            exec(1),
            [
                "ip addr add 10.4.0.2/24 dev eth2",
                "ip addr add 127.0.0.2/8 dev eth3"
            ]
        );
        assert_eq!(
            exec(2),
            [
                "ip addr add 10.0.0.1/24 dev eth1",
                "ip addr add 10.9.0.2/32 dev eth2",
                "ip addr add 10.8.0.0/24 dev eth2"
            ]
        );
        assert_eq!(exec(0), ["ip addr add 10.0.5.1/24 dev eth3"]);
        assert_eq!(notes.len(), 6, "{notes:#?}");
        assert!(notes.iter().any(
            |n| n.contains("10.0.0.1/24: set by an exec line, not planned: another interface")
        ));
        assert!(notes
            .iter()
            .any(|n| n.contains("10.9.0.2/32") && n.contains("outside")));
    }

    #[test]
    fn a_mac_given_twice() {
        let mut nodes = vec![node("a", Kind::Router), node("b", Kind::Router)];
        let mac = Some("02:00:00:00:00:01".to_string());
        let mut links = vec![LinkOut {
            comment: None,
            ends: [
                EndOut::bare("a", "eth0", mac.clone()),
                EndOut::bare("b", "eth0", mac),
            ],
            mtu: None,
        }];
        let notes = unique_macs(&mut links, &mut nodes);
        assert_eq!(notes.len(), 1);
        assert!(links[0].ends[1].mac.is_none());
        assert!(nodes[1].exec[0].cmd.contains("address 02:00:00:00:00:01"));
    }
}
