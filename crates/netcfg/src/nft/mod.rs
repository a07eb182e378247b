//! nftables over NETLINK_NETFILTER: one `inet` table of base chains and rules, written as
//! one atomic batch (BATCH_BEGIN, table, chains, rules, BATCH_END), and the rules'
//! counters read back. The rule model ([`NftRule`], [`Match`], [`Action`] …) is what
//! callers build; it is lowered to typed expressions (`expr`) that the hand encoder
//! writes, since no crate of ours encodes nftables.
//!
//! The bytes follow what nft 1.0.6 sends for the same ruleset (attribute order included);
//! the tests compare against captures of `nft -f`. Control integers (registers, keys,
//! lengths, verdicts) are big-endian; packet fields are in network order; meta and ct
//! values (l4proto, nfproto, ct state bits) are in host order, as the kernel loads them.

mod expr;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_expr;

use std::net::IpAddr;
use std::ops::ControlFlow;
use std::time::Duration;

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REQUEST};

use self::expr::{cstr, Data, Expr, NESTED, NFT_REG_1, NFT_REG_2, NFT_REG_VERDICT};
use crate::netlink::{sealed, Nftables, Request, Socket};
use crate::wire::{attrs, Writer};
use crate::{NetError, Op};

// nfnetlink (linux/netfilter/nfnetlink.h, nf_tables.h).
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_GETRULE: u16 = 7;
const NLM_F_APPEND: u16 = 0x800;

const NFPROTO_UNSPEC: u8 = 0;
const NFPROTO_INET: u8 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
const NFTA_TABLE_USERDATA: u16 = 6;
/// libnftnl's table comment in NFTA_TABLE_USERDATA: a (type, len, value) TLV.
const NFTNL_UDATA_TABLE_COMMENT: u8 = 0;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_HANDLE: u16 = 3;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_RULE_USERDATA: u16 = 7;
/// libnftnl's rule comment in NFTA_RULE_USERDATA: a (type, len, value) TLV.
const NFTNL_UDATA_RULE_COMMENT: u8 = 0;

const NFT_META_IIFNAME: u32 = 6;
const NFT_META_OIFNAME: u32 = 7;
const NFT_META_NFPROTO: u32 = 15;
const NFT_META_L4PROTO: u32 = 16;
const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_NEQ: u32 = 1;
const NFT_CMP_LT: u32 = 2;
const NFT_CMP_LTE: u32 = 3;
const NFT_CMP_GTE: u32 = 5;
const NFT_RANGE_NEQ: u32 = 1;
const NFT_NG_INCREMENTAL: u32 = 0;
const NFT_NG_RANDOM: u32 = 1;
const NFT_BYTEORDER_HTON: u32 = 1;
const NFT_LIMIT_PKTS: u32 = 0;
const NFT_LIMIT_F_INV: u32 = 1;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_CT_STATE: u32 = 0;
const NFT_REJECT_TCP_RST: u32 = 1;
const NFT_REJECT_ICMPX_UNREACH: u32 = 2;
const NFT_REJECT_ICMPX_PORT_UNREACH: u8 = 1;
const NFT_NAT_SNAT: u32 = 0;
const NFT_NAT_DNAT: u32 = 1;
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;

/// ct state bits (NF_CT_STATE_BIT), host order: invalid.
pub const CT_INVALID: u32 = 1;
/// ct state: established.
pub const CT_ESTABLISHED: u32 = 2;
/// ct state: related.
pub const CT_RELATED: u32 = 4;
/// ct state: new.
pub const CT_NEW: u32 = 8;

/// The netfilter hook a base chain is attached to (NF_INET_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Before routing.
    Prerouting = 0,
    /// To this node.
    Input = 1,
    /// Through this node.
    Forward = 2,
    /// From this node.
    Output = 3,
    /// After routing.
    Postrouting = 4,
}

/// A base chain: `type filter|nat hook HOOK priority P; policy accept|drop;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftChain {
    /// Its name.
    pub name: String,
    /// A nat chain (else filter).
    pub nat: bool,
    /// Where it hooks in.
    pub hook: Hook,
    /// Its priority among the hook's chains.
    pub priority: i32,
    /// Its policy: accept (else drop).
    pub accept: bool,
}

/// One match of a rule; all of a rule's matches must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// `meta nfproto ipv4|ipv6` (true: IPv6).
    Family(bool),
    /// `iifname NAME`.
    IifName(String),
    /// `oifname NAME`.
    OifName(String),
    /// `ip[6] saddr ADDR/PREFIX` (the address family picks the header offsets).
    Saddr(IpAddr, u8),
    /// `ip[6] daddr ADDR/PREFIX`.
    Daddr(IpAddr, u8),
    /// `meta l4proto N` (IPPROTO_*).
    L4Proto(u8),
    /// `th sport LO-HI` (LO == HI: one port).
    Sport(u16, u16),
    /// `th dport LO-HI`.
    Dport(u16, u16),
    /// `ct state` with any of these bits (CT_*).
    CtState(u32),
    /// `numgen inc mod EVERY == PACKET`: one packet in EVERY, by a counter of the rule's
    /// own that counts the packets reaching it (iptables' `-m statistic --mode nth`).
    Nth {
        /// How many packets make a round (at least 1).
        every: u32,
        /// Which of them matches, below `every`.
        packet: u32,
    },
    /// `numgen random mod MODULUS < BELOW`: each packet with probability BELOW/MODULUS
    /// (iptables' `-m statistic --mode random`).
    Random {
        /// The range of the random number (at least 1).
        modulus: u32,
        /// Numbers below this match.
        below: u32,
    },
    /// `limit rate RATE/PER burst BURST packets`: packets while a token bucket refilled at
    /// RATE per PER holds any; `Not` of it is `limit rate over`.
    Limit {
        /// Packets per `per`.
        rate: u64,
        /// The rate's time unit.
        per: Per,
        /// Packets the bucket holds (at least 1: the kernel turns 0 into 5).
        burst: u32,
    },
    /// The match negated: `!=`, outside a range, `limit rate over`.
    Not(Box<Match>),
}

/// The time unit of a [`Match::Limit`] rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
    /// Per day.
    Day,
    /// Per week.
    Week,
}

impl Per {
    /// The unit in seconds, as NFTA_LIMIT_UNIT carries it.
    pub fn seconds(self) -> u64 {
        match self {
            Per::Second => 1,
            Per::Minute => 60,
            Per::Hour => 3600,
            Per::Day => 86400,
            Per::Week => 604800,
        }
    }
}

/// What a rule does with a packet that matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `reject with icmpx port-unreachable`.
    Reject,
    /// `reject with tcp reset` (the rule must match tcp).
    RejectTcpReset,
    /// `masquerade`.
    Masquerade,
    /// `snat to ADDR[:PORT]`.
    Snat(IpAddr, Option<u16>),
    /// `dnat to ADDR[:PORT]`.
    Dnat(IpAddr, Option<u16>),
    /// No verdict: the packet goes on to the next rule (a rule that only logs).
    Continue,
}

/// A rule: matches, a counter, maybe a log, an action, and a comment (stored as rule
/// userdata, shown by `nft list ruleset`, and read back to know which rule is which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftRule {
    /// The chain it is appended to.
    pub chain: String,
    /// What a packet must match, all of it.
    pub matches: Vec<Match>,
    /// `log [prefix PREFIX]` before the action ("": no prefix); None: no log.
    pub log: Option<String>,
    /// What is done with a matching packet.
    pub action: Action,
    /// Stored with the rule (at most 250 bytes).
    pub comment: String,
    /// How errors name this rule ("rule 3 (forward tcp dport 22 accept)").
    pub desc: String,
}

/// A rule as read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleInfo {
    /// Its chain.
    pub chain: String,
    /// Its handle in the table.
    pub handle: u64,
    /// Its comment, if any.
    pub comment: Option<String>,
    /// Packets its counter saw.
    pub packets: u64,
    /// Bytes its counter saw.
    pub bytes: u64,
    /// Its expressions; None for one nsnet does not know.
    exprs: Vec<Option<Expr>>,
}

impl RuleInfo {
    /// Whether this rule of the kernel is `rule` as nsnet writes it: the same chain and
    /// the same expressions, counters' values aside and the kernel's defaults filled in.
    pub fn holds(&self, rule: &NftRule) -> bool {
        let ours = rule.exprs();
        self.chain == rule.chain
            && self.exprs.len() == ours.len()
            && self.exprs.iter().zip(&ours).all(|(got, ours)| {
                got.as_ref()
                    .is_some_and(|got| got.as_dumped() == ours.as_dumped())
            })
    }
}

fn nft_type(msg: u16) -> u16 {
    NFNL_SUBSYS_NFTABLES << 8 | msg
}

/// An nfnetlink message: header and struct nfgenmsg (family, version 0, res_id big-endian).
fn message<'a>(buf: &'a mut Vec<u8>, ty: u16, flags: u16, seq: u32, family: u8) -> Writer<'a> {
    let mut w = Writer::message(buf, ty, flags, seq);
    let res_id: u16 = if family == NFPROTO_UNSPEC {
        NFNL_SUBSYS_NFTABLES
    } else {
        0
    };
    w.bytes(&[family, 0]);
    w.bytes(&res_id.to_be_bytes());
    w
}

fn octets(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn meta(key: u32) -> Expr {
    Expr::Meta {
        key,
        dreg: NFT_REG_1,
    }
}

fn cmp(op: u32, data: impl Into<Vec<u8>>) -> Expr {
    Expr::Cmp {
        sreg: NFT_REG_1,
        op,
        data: data.into(),
    }
}

fn payload(base: u32, offset: u32, len: u32) -> Expr {
    Expr::Payload {
        dreg: NFT_REG_1,
        base,
        offset,
        len,
    }
}

/// reg 1 = (reg 1 & mask) ^ 0.
fn bitwise(mask: Vec<u8>) -> Expr {
    Expr::Bitwise {
        sreg: NFT_REG_1,
        dreg: NFT_REG_1,
        xor: vec![0; mask.len()],
        mask,
    }
}

fn verdict(code: u32) -> Expr {
    Expr::Immediate {
        dreg: NFT_REG_VERDICT,
        data: Data::Verdict(code),
    }
}

fn numgen(kind: u32, modulus: u32) -> Expr {
    Expr::Numgen {
        dreg: NFT_REG_1,
        modulus,
        kind,
        offset: 0,
    }
}

impl Match {
    /// The expressions of this match, as nft writes them; `not`: of its negation.
    fn lower(&self, not: bool, out: &mut Vec<Expr>) {
        let eq = if not { NFT_CMP_NEQ } else { NFT_CMP_EQ };
        match self {
            Match::Not(m) => m.lower(!not, out),
            Match::Family(v6) => {
                out.push(meta(NFT_META_NFPROTO));
                out.push(cmp(eq, [if *v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 }]));
            }
            Match::IifName(n) => ifname(out, eq, NFT_META_IIFNAME, n),
            Match::OifName(n) => ifname(out, eq, NFT_META_OIFNAME, n),
            Match::Saddr(a, p) => addr(out, not, a, *p, true),
            Match::Daddr(a, p) => addr(out, not, a, *p, false),
            Match::L4Proto(p) => {
                out.push(meta(NFT_META_L4PROTO));
                out.push(cmp(eq, [*p]));
            }
            Match::Sport(lo, hi) => port(out, not, 0, *lo, *hi),
            Match::Dport(lo, hi) => port(out, not, 2, *lo, *hi),
            Match::CtState(bits) => {
                out.push(Expr::Ct {
                    key: NFT_CT_STATE,
                    dreg: NFT_REG_1,
                });
                out.push(bitwise(bits.to_ne_bytes().to_vec()));
                // Some of the bits are set; negated: none is.
                let op = if not { NFT_CMP_EQ } else { NFT_CMP_NEQ };
                out.push(cmp(op, 0u32.to_ne_bytes()));
            }
            Match::Nth { every, packet } => {
                out.push(numgen(NFT_NG_INCREMENTAL, *every));
                out.push(cmp(eq, packet.to_ne_bytes()));
            }
            Match::Random { modulus, below } => {
                // cmp compares bytes as memcmp does: nft turns the host-order number
                // big-endian first, so that "less" is less.
                out.push(numgen(NFT_NG_RANDOM, *modulus));
                out.push(Expr::Byteorder {
                    sreg: NFT_REG_1,
                    dreg: NFT_REG_1,
                    op: NFT_BYTEORDER_HTON,
                    len: 4,
                    size: 4,
                });
                let op = if not { NFT_CMP_GTE } else { NFT_CMP_LT };
                out.push(cmp(op, below.to_be_bytes()));
            }
            Match::Limit { rate, per, burst } => out.push(Expr::Limit {
                rate: *rate,
                unit: per.seconds(),
                burst: *burst,
                kind: NFT_LIMIT_PKTS,
                flags: if not { NFT_LIMIT_F_INV } else { 0 },
            }),
        }
    }
}

/// An address prefix match as nft writes it: a byte-aligned prefix loads and compares only
/// the bytes it covers; any other loads the whole address and masks it first. /0 matches
/// every address of the family, so it adds nothing (nft would load and mask with zeros);
/// negated, it matches none, and is written as nft writes it.
fn addr(out: &mut Vec<Expr>, not: bool, addr: &IpAddr, prefix: u8, src: bool) {
    let offset = match (addr.is_ipv4(), src) {
        (true, true) => 12,
        (true, false) => 16,
        (false, true) => 8,
        (false, false) => 24,
    };
    if prefix == 0 && !not {
        return;
    }
    let mut value = octets(addr);
    if prefix % 8 == 0 && prefix > 0 {
        value.truncate(usize::from(prefix / 8));
        out.push(payload(
            NFT_PAYLOAD_NETWORK_HEADER,
            offset,
            value.len() as u32,
        ));
    } else {
        let mask: Vec<u8> = (0..value.len())
            .map(|i| {
                let bits = (usize::from(prefix)).saturating_sub(i * 8).min(8);
                (0xff00u16 >> bits) as u8
            })
            .collect();
        for (v, k) in value.iter_mut().zip(&mask) {
            *v &= k;
        }
        out.push(payload(
            NFT_PAYLOAD_NETWORK_HEADER,
            offset,
            value.len() as u32,
        ));
        out.push(bitwise(mask));
    }
    out.push(cmp(if not { NFT_CMP_NEQ } else { NFT_CMP_EQ }, value));
}

/// A port or a range: a range is two comparisons, and negated one `range` expression.
fn port(out: &mut Vec<Expr>, not: bool, offset: u32, lo: u16, hi: u16) {
    out.push(payload(NFT_PAYLOAD_TRANSPORT_HEADER, offset, 2));
    if lo == hi {
        out.push(cmp(
            if not { NFT_CMP_NEQ } else { NFT_CMP_EQ },
            lo.to_be_bytes(),
        ));
    } else if not {
        out.push(Expr::Range {
            sreg: NFT_REG_1,
            op: NFT_RANGE_NEQ,
            from: lo.to_be_bytes().to_vec(),
            to: hi.to_be_bytes().to_vec(),
        });
    } else {
        out.push(cmp(NFT_CMP_GTE, lo.to_be_bytes()));
        out.push(cmp(NFT_CMP_LTE, hi.to_be_bytes()));
    }
}

fn ifname(out: &mut Vec<Expr>, op: u32, key: u32, name: &str) {
    out.push(meta(key));
    let mut v = [0u8; 16];
    let n = name.len().min(15);
    v[..n].copy_from_slice(&name.as_bytes()[..n]);
    out.push(cmp(op, v));
}

fn nat(out: &mut Vec<Expr>, kind: u32, addr: &IpAddr, port: Option<u16>) {
    out.push(Expr::Immediate {
        dreg: NFT_REG_1,
        data: Data::Value(octets(addr)),
    });
    if let Some(p) = port {
        out.push(Expr::Immediate {
            dreg: NFT_REG_2,
            data: Data::Value(p.to_be_bytes().to_vec()),
        });
    }
    let family = if addr.is_ipv4() {
        NFPROTO_IPV4
    } else {
        NFPROTO_IPV6
    };
    out.push(Expr::Nat {
        kind,
        family: u32::from(family),
        addr_reg: NFT_REG_1,
        proto_reg: port.map(|_| NFT_REG_2),
    });
}

impl Action {
    fn lower(&self, out: &mut Vec<Expr>) {
        match self {
            Action::Accept => out.push(verdict(NF_ACCEPT)),
            Action::Drop => out.push(verdict(NF_DROP)),
            Action::Reject => out.push(Expr::Reject {
                kind: NFT_REJECT_ICMPX_UNREACH,
                code: NFT_REJECT_ICMPX_PORT_UNREACH,
            }),
            Action::RejectTcpReset => out.push(Expr::Reject {
                kind: NFT_REJECT_TCP_RST,
                code: 0,
            }),
            Action::Masquerade => out.push(Expr::Masq),
            Action::Snat(a, p) => nat(out, NFT_NAT_SNAT, a, *p),
            Action::Dnat(a, p) => nat(out, NFT_NAT_DNAT, a, *p),
            Action::Continue => {}
        }
    }
}

impl NftRule {
    /// The rule's expressions: matches, a counter, the log, the action. The counter comes
    /// after every match (a limit's too): it counts the packets the action gets.
    fn exprs(&self) -> Vec<Expr> {
        let mut out = Vec::with_capacity(4 * self.matches.len() + 4);
        for m in &self.matches {
            m.lower(false, &mut out);
        }
        out.push(Expr::Counter {
            bytes: 0,
            packets: 0,
        });
        if let Some(p) = &self.log {
            out.push(Expr::Log {
                prefix: (!p.is_empty()).then(|| p.clone()),
                level: None,
            });
        }
        self.action.lower(&mut out);
        out
    }
}

/// A base chain of any table, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainInfo {
    /// The table's family (NFPROTO_*: 1 inet, 2 ip, 10 ip6 …).
    pub family: u8,
    /// The table's name.
    pub table: String,
    /// The chain's name.
    pub name: String,
    /// Its hook (NF_INET_*), when it is a base chain.
    pub hook: Option<u32>,
    /// Its policy: accept (else drop), when it is a base chain.
    pub accept: bool,
}

impl ChainInfo {
    /// `ip filter FORWARD`, as nft names it.
    pub fn describe(&self) -> String {
        let family = match self.family {
            NFPROTO_INET => "inet",
            NFPROTO_IPV4 => "ip",
            NFPROTO_IPV6 => "ip6",
            3 => "arp",
            5 => "netdev",
            7 => "bridge",
            _ => "?",
        };
        format!("{family} {} {}", self.table, self.name)
    }
}

/// The comment TLV of a table's or rule's userdata: (type, len, value NUL-terminated).
fn comment_tlv(kind: u8, comment: &str) -> Vec<u8> {
    let c = &comment.as_bytes()[..comment.len().min(250)];
    let mut ud = vec![kind, c.len() as u8 + 1];
    ud.extend_from_slice(c);
    ud.push(0);
    ud
}

/// A request of an nftables transaction.
enum NftRequest<'a> {
    /// NFT_MSG_NEWTABLE of an `inet` table (added, or kept if it exists, like `nft add`),
    /// with a comment when given.
    Table {
        name: &'a str,
        comment: Option<&'a str>,
    },
    /// NFT_MSG_DELTABLE of an `inet` table, with all it holds.
    DelTable { name: &'a str },
    /// NFT_MSG_GETTABLE of one `inet` table.
    GetTable { name: &'a str },
    /// NFT_MSG_GETCHAIN dump of every family's chains.
    GetChains,
    /// NFT_MSG_NEWCHAIN of a base chain in an `inet` table.
    Chain { table: &'a str, chain: &'a NftChain },
    /// NFT_MSG_NEWRULE appended to its chain: matches, counter, action, comment.
    Rule { table: &'a str, rule: &'a NftRule },
    /// NFT_MSG_GETRULE dump of one `inet` table's rules.
    GetRules { table: &'a str },
}

impl Request for NftRequest<'_> {
    fn op(&self) -> Op {
        match self {
            NftRequest::Table { name, .. } => Op::AddNftTable {
                table: (*name).into(),
            },
            NftRequest::DelTable { name } => Op::DelNftTable {
                table: (*name).into(),
            },
            NftRequest::GetTable { name } => Op::GetNftTable {
                table: (*name).into(),
            },
            NftRequest::GetChains => Op::ListNftChains,
            NftRequest::Chain { chain, .. } => Op::AddNftChain {
                chain: chain.name.clone(),
            },
            NftRequest::Rule { rule, .. } => Op::AddNftRule {
                desc: rule.desc.clone(),
            },
            NftRequest::GetRules { table } => Op::ListNftRules {
                table: (*table).into(),
            },
        }
    }

    fn emit(&self, buf: &mut Vec<u8>, seq: u32) {
        match self {
            NftRequest::Table { name, comment } => {
                let ty = nft_type(NFT_MSG_NEWTABLE);
                let mut m = message(buf, ty, NLM_F_REQUEST, seq, NFPROTO_INET);
                m.attr_str(NFTA_TABLE_NAME, name);
                m.attr_be32(NFTA_TABLE_FLAGS, 0);
                if let Some(c) = comment {
                    m.attr(
                        NFTA_TABLE_USERDATA,
                        &comment_tlv(NFTNL_UDATA_TABLE_COMMENT, c),
                    );
                }
                m.finish();
            }
            NftRequest::DelTable { name } => {
                let ty = nft_type(NFT_MSG_DELTABLE);
                let mut m = message(buf, ty, NLM_F_REQUEST, seq, NFPROTO_INET);
                m.attr_str(NFTA_TABLE_NAME, name);
                m.finish();
            }
            NftRequest::GetTable { name } => {
                let ty = nft_type(NFT_MSG_GETTABLE);
                let mut m = message(buf, ty, NLM_F_REQUEST | NLM_F_ACK, seq, NFPROTO_INET);
                m.attr_str(NFTA_TABLE_NAME, name);
                m.finish();
            }
            NftRequest::GetChains => {
                // As nft dumps: family AF_UNSPEC with res_id 0 (only a batch names the
                // subsystem there).
                let ty = nft_type(NFT_MSG_GETCHAIN);
                let mut m = Writer::message(buf, ty, NLM_F_REQUEST | NLM_F_DUMP, seq);
                m.bytes(&[NFPROTO_UNSPEC, 0, 0, 0]);
                m.finish();
            }
            NftRequest::Chain { table, chain: c } => {
                let (ty, flags) = (nft_type(NFT_MSG_NEWCHAIN), NLM_F_REQUEST | NLM_F_CREATE);
                let mut m = message(buf, ty, flags, seq, NFPROTO_INET);
                m.attr_str(NFTA_CHAIN_TABLE, table);
                m.attr_str(NFTA_CHAIN_NAME, &c.name);
                m.attr_str(NFTA_CHAIN_TYPE, if c.nat { "nat" } else { "filter" });
                m.attr_be32(
                    NFTA_CHAIN_POLICY,
                    if c.accept { NF_ACCEPT } else { NF_DROP },
                );
                let hook = m.nest_begin(NFTA_CHAIN_HOOK | NESTED);
                m.attr_be32(NFTA_HOOK_HOOKNUM, c.hook as u32);
                m.attr(NFTA_HOOK_PRIORITY, &c.priority.to_be_bytes());
                m.nest_end(hook);
                m.finish();
            }
            NftRequest::Rule { table, rule: r } => {
                let ty = nft_type(NFT_MSG_NEWRULE);
                let flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND;
                let mut m = message(buf, ty, flags, seq, NFPROTO_INET);
                m.attr_str(NFTA_RULE_TABLE, table);
                m.attr_str(NFTA_RULE_CHAIN, &r.chain);
                let list = m.nest_begin(NFTA_RULE_EXPRESSIONS | NESTED);
                for x in r.exprs() {
                    x.emit(&mut m);
                }
                m.nest_end(list);
                if !r.comment.is_empty() {
                    m.attr(
                        NFTA_RULE_USERDATA,
                        &comment_tlv(NFTNL_UDATA_RULE_COMMENT, &r.comment),
                    );
                }
                m.finish();
            }
            NftRequest::GetRules { table } => {
                let ty = nft_type(NFT_MSG_GETRULE);
                let mut m = message(buf, ty, NLM_F_REQUEST | NLM_F_DUMP, seq, NFPROTO_INET);
                m.attr_str(NFTA_RULE_TABLE, table);
                m.finish();
            }
        }
    }
}

/// NFNL_MSG_BATCH_BEGIN (or END): opens (closes) a transaction of the nftables subsystem.
fn frame(buf: &mut Vec<u8>, seq: u32, end: bool) {
    let ty = if end {
        NFNL_MSG_BATCH_END
    } else {
        NFNL_MSG_BATCH_BEGIN
    };
    message(buf, ty, NLM_F_REQUEST, seq, NFPROTO_UNSPEC).finish();
}

/// How long to wait for the kernel's answer before giving up.
const RECV_TIMEOUT: Duration = Duration::from_secs(10);

impl sealed::Family for Nftables {
    const PROTOCOL: isize = netlink_sys::protocols::NETLINK_NETFILTER;
    const NAME: &'static str = "netfilter netlink";
    const ATOMIC: bool = true;
    const CHUNKED: bool = false;
    const RECV_TIMEOUT: Option<Duration> = Some(RECV_TIMEOUT);
    const BATCH_OP: Op = Op::ApplyNftBatch;
    type Cache = ();

    fn frame(buf: &mut Vec<u8>, seq: u32, end: bool) {
        frame(buf, seq, end)
    }
}

/// The libnftnl userdata TLVs of a rule (type u8, len u8, value): its comment.
fn comment_of(mut u: &[u8]) -> Option<String> {
    while u.len() >= 2 {
        let (t, l) = (u[0], usize::from(u[1]));
        let val = u.get(2..2 + l)?;
        if t == NFTNL_UDATA_RULE_COMMENT {
            return Some(cstr(val));
        }
        u = &u[2 + l..];
    }
    None
}

/// One NFT_MSG_NEWCHAIN payload (after the netlink header): family, table, name, hook and
/// policy.
fn parse_chain(payload: &[u8]) -> ChainInfo {
    let mut c = ChainInfo {
        family: payload.first().copied().unwrap_or(0),
        table: String::new(),
        name: String::new(),
        hook: None,
        accept: true,
    };
    for (ty, v) in attrs(payload.get(4..).unwrap_or_default()) {
        match ty {
            NFTA_CHAIN_TABLE => c.table = cstr(v),
            NFTA_CHAIN_NAME => c.name = cstr(v),
            NFTA_CHAIN_POLICY => {
                c.accept = v
                    .try_into()
                    .map_or(true, |b| u32::from_be_bytes(b) != NF_DROP)
            }
            NFTA_CHAIN_HOOK => {
                for (t, hv) in attrs(v) {
                    if t == NFTA_HOOK_HOOKNUM {
                        c.hook = hv.try_into().ok().map(u32::from_be_bytes);
                    }
                }
            }
            _ => {}
        }
    }
    c
}

/// One NFT_MSG_NEWRULE payload (after the netlink header): chain, handle, comment, the
/// first counter's values, and its expressions.
fn parse_rule(payload: &[u8]) -> RuleInfo {
    let mut info = RuleInfo::default();
    let mut exprs = Vec::new();
    for (ty, v) in attrs(payload.get(4..).unwrap_or_default()) {
        match ty {
            NFTA_RULE_CHAIN => info.chain = cstr(v),
            NFTA_RULE_HANDLE => info.handle = v.try_into().map_or(0, u64::from_be_bytes),
            NFTA_RULE_USERDATA => info.comment = comment_of(v).or(info.comment),
            NFTA_RULE_EXPRESSIONS => exprs.extend(attrs(v).map(|(_, el)| Expr::parse(el))),
            _ => {}
        }
    }
    if let Some((bytes, packets)) = exprs.iter().find_map(|x| match x {
        Some(Expr::Counter { bytes, packets }) => Some((*bytes, *packets)),
        _ => None,
    }) {
        (info.bytes, info.packets) = (bytes, packets);
    }
    info.exprs = exprs;
    info
}

impl Socket<Nftables> {
    /// Create table `inet TABLE` with `chains` and `rules` in one atomic batch: the kernel
    /// applies all of it or nothing. Each failure names its object (a rule by its `desc`).
    pub fn apply(
        &mut self,
        table: &str,
        chains: &[NftChain],
        rules: &[NftRule],
    ) -> Result<(), Vec<NetError>> {
        self.apply_commented(table, None, chains, rules)
    }

    /// [`Socket::apply`] with the table's comment (NFTA_TABLE_USERDATA, as `nft add table
    /// inet T { comment "…"; }` writes it), by which [`Socket::table_comment`] tells a table
    /// it made from one of the same name.
    pub fn apply_commented(
        &mut self,
        table: &str,
        comment: Option<&str>,
        chains: &[NftChain],
        rules: &[NftRule],
    ) -> Result<(), Vec<NetError>> {
        let mut b = self.batch();
        b.push(&NftRequest::Table {
            name: table,
            comment,
        });
        for chain in chains {
            b.push(&NftRequest::Chain { table, chain });
        }
        for rule in rules {
            b.push(&NftRequest::Rule { table, rule });
        }
        b.commit()
    }

    /// Deletes table `inet TABLE` with its chains and rules, in one transaction.
    pub fn del_table(&mut self, table: &str) -> Result<(), NetError> {
        let mut b = self.batch();
        b.push(&NftRequest::DelTable { name: table });
        b.commit().map_err(|mut e| e.swap_remove(0))
    }

    /// Whether table `inet TABLE` exists, and its comment: None when there is no such
    /// table, Some(None) for one without a comment.
    pub fn table_comment(&mut self, table: &str) -> Result<Option<Option<String>>, NetError> {
        let mut found = None;
        let got = self.query(&NftRequest::GetTable { name: table }, |ty, p| {
            if ty == nft_type(NFT_MSG_NEWTABLE) {
                let mut comment = None;
                for (t, v) in attrs(p.get(4..).unwrap_or_default()) {
                    if t == NFTA_TABLE_USERDATA {
                        comment = comment_of(v);
                    }
                }
                found = Some(comment);
            }
            Ok(ControlFlow::Continue(()))
        });
        match got {
            Ok(_) => Ok(found),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every chain of every table of this socket's netns, with its hook and policy.
    pub fn chains(&mut self) -> Result<Vec<ChainInfo>, NetError> {
        let mut out = Vec::new();
        self.query(&NftRequest::GetChains, |ty, p| {
            if ty == nft_type(NFT_MSG_NEWCHAIN) {
                out.push(parse_chain(p));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    /// Every rule of table `inet TABLE`, per chain in chain order, with its counter.
    pub fn rules(&mut self, table: &str) -> Result<Vec<RuleInfo>, NetError> {
        let mut out = Vec::new();
        self.query(&NftRequest::GetRules { table }, |ty, p| {
            if ty == nft_type(NFT_MSG_NEWRULE) {
                out.push(parse_rule(p));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }
}
