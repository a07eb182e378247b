//! nftables expressions as typed values: each one the byte fields the kernel reads (emit)
//! and the same fields read back from a dump (parse), as smoltcp's `wire` modules do for
//! packet headers. Control integers (registers, keys, lengths, verdicts) are big-endian;
//! data values are bytes as the kernel compares them.

use netlink_packet_core::{parse_string, parse_u32_be, parse_u64_be, parse_u8};

use crate::wire::{attrs, Writer};

/// NLA_F_NESTED: nftables marks its nests.
pub(super) const NESTED: u16 = 0x8000;

pub(super) const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;

const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_CT_DREG: u16 = 1;
const NFTA_CT_KEY: u16 = 2;
const NFTA_COUNTER_BYTES: u16 = 1;
const NFTA_COUNTER_PACKETS: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_REJECT_TYPE: u16 = 1;
const NFTA_REJECT_ICMP_CODE: u16 = 2;
const NFTA_NAT_TYPE: u16 = 1;
const NFTA_NAT_FAMILY: u16 = 2;
const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
const NFTA_NAT_FLAGS: u16 = 7;
const NF_NAT_RANGE_PROTO_SPECIFIED: u32 = 2;
const NFTA_RANGE_SREG: u16 = 1;
const NFTA_RANGE_OP: u16 = 2;
const NFTA_RANGE_FROM_DATA: u16 = 3;
const NFTA_RANGE_TO_DATA: u16 = 4;
const NFTA_NG_DREG: u16 = 1;
const NFTA_NG_MODULUS: u16 = 2;
const NFTA_NG_TYPE: u16 = 3;
const NFTA_NG_OFFSET: u16 = 4;
const NFTA_BYTEORDER_SREG: u16 = 1;
const NFTA_BYTEORDER_DREG: u16 = 2;
const NFTA_BYTEORDER_OP: u16 = 3;
const NFTA_BYTEORDER_LEN: u16 = 4;
const NFTA_BYTEORDER_SIZE: u16 = 5;
const NFTA_LIMIT_RATE: u16 = 1;
const NFTA_LIMIT_UNIT: u16 = 2;
const NFTA_LIMIT_BURST: u16 = 3;
const NFTA_LIMIT_TYPE: u16 = 4;
const NFTA_LIMIT_FLAGS: u16 = 5;
const NFTA_LOG_PREFIX: u16 = 2;
const NFTA_LOG_LEVEL: u16 = 5;
/// The level the kernel gives a log expression sent without one, and dumps.
const NFT_LOGLEVEL_WARNING: u32 = 4;

/// The verdict register and the first two data registers (16 bytes each).
pub(super) const NFT_REG_VERDICT: u32 = 0;
pub(super) const NFT_REG_1: u32 = 1;
pub(super) const NFT_REG_2: u32 = 2;

/// Where an immediate's value goes: data, or a verdict (NF_ACCEPT, NF_DROP …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Data {
    Value(Vec<u8>),
    Verdict(u32),
}

/// One expression of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    /// Load a meta key (NFT_META_*) into `dreg`.
    Meta { key: u32, dreg: u32 },
    /// Load a conntrack key (NFT_CT_*) into `dreg`.
    Ct { key: u32, dreg: u32 },
    /// Load `len` bytes at `offset` of a header (NFT_PAYLOAD_*_HEADER) into `dreg`.
    Payload {
        dreg: u32,
        base: u32,
        offset: u32,
        len: u32,
    },
    /// `dreg = (sreg & mask) ^ xor`, as long as `mask`.
    Bitwise {
        sreg: u32,
        dreg: u32,
        mask: Vec<u8>,
        xor: Vec<u8>,
    },
    /// Compare `sreg` with `data` (NFT_CMP_*); the rule stops when false.
    Cmp { sreg: u32, op: u32, data: Vec<u8> },
    /// Whether `sreg` lies within `from..=to` (NFT_RANGE_EQ) or outside (NFT_RANGE_NEQ).
    Range {
        sreg: u32,
        op: u32,
        from: Vec<u8>,
        to: Vec<u8>,
    },
    /// A number below `modulus`, plus `offset`, into `dreg` as a host-order u32: the next
    /// of a counter of its own (NFT_NG_INCREMENTAL) or a random one (NFT_NG_RANDOM).
    Numgen {
        dreg: u32,
        modulus: u32,
        kind: u32,
        offset: u32,
    },
    /// `dreg` = `len` bytes of `sreg` turned to (NFT_BYTEORDER_HTON) or from network order,
    /// in words of `size` bytes.
    Byteorder {
        sreg: u32,
        dreg: u32,
        op: u32,
        len: u32,
        size: u32,
    },
    /// A token bucket of `rate` per `unit` seconds holding `burst` (`kind`: NFT_LIMIT_PKTS
    /// or _PKT_BYTES); the rule stops when it is empty, or with NFT_LIMIT_F_INV in `flags`,
    /// while it is not.
    Limit {
        rate: u64,
        unit: u64,
        burst: u32,
        kind: u32,
        flags: u32,
    },
    /// A line in the kernel log with `prefix`, at syslog `level` (None: the kernel's
    /// default, warning, which it dumps as Some(4)).
    Log {
        prefix: Option<String>,
        level: Option<u32>,
    },
    /// Packets and bytes; sent empty (a new counter starts at zero), read back with values.
    Counter { bytes: u64, packets: u64 },
    /// Load a value or a verdict into `dreg`.
    Immediate { dreg: u32, data: Data },
    /// Reject with `kind` (NFT_REJECT_*) and an ICMP code.
    Reject { kind: u32, code: u8 },
    /// Masquerade behind the outgoing interface's address.
    Masq,
    /// Source or destination NAT (`kind`: NFT_NAT_*) of `family` to the address in
    /// `addr_reg`, and the port in `proto_reg` when there is one.
    Nat {
        kind: u32,
        family: u32,
        addr_reg: u32,
        proto_reg: Option<u32>,
    },
}

impl Expr {
    fn name(&self) -> &'static str {
        match self {
            Expr::Meta { .. } => "meta",
            Expr::Ct { .. } => "ct",
            Expr::Payload { .. } => "payload",
            Expr::Bitwise { .. } => "bitwise",
            Expr::Cmp { .. } => "cmp",
            Expr::Range { .. } => "range",
            Expr::Numgen { .. } => "numgen",
            Expr::Byteorder { .. } => "byteorder",
            Expr::Limit { .. } => "limit",
            Expr::Log { .. } => "log",
            Expr::Counter { .. } => "counter",
            Expr::Immediate { .. } => "immediate",
            Expr::Reject { .. } => "reject",
            Expr::Masq => "masq",
            Expr::Nat { .. } => "nat",
        }
    }

    /// One element of NFTA_RULE_EXPRESSIONS: the expression's name and its attributes, in
    /// the order nft sends them.
    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        let el = w.nest_begin(NFTA_LIST_ELEM | NESTED);
        w.attr_str(NFTA_EXPR_NAME, self.name());
        let data = w.nest_begin(NFTA_EXPR_DATA | NESTED);
        match self {
            Expr::Meta { key, dreg } => {
                w.attr_be32(NFTA_META_KEY, *key);
                w.attr_be32(NFTA_META_DREG, *dreg);
            }
            Expr::Ct { key, dreg } => {
                w.attr_be32(NFTA_CT_KEY, *key);
                w.attr_be32(NFTA_CT_DREG, *dreg);
            }
            Expr::Payload {
                dreg,
                base,
                offset,
                len,
            } => {
                w.attr_be32(NFTA_PAYLOAD_DREG, *dreg);
                w.attr_be32(NFTA_PAYLOAD_BASE, *base);
                w.attr_be32(NFTA_PAYLOAD_OFFSET, *offset);
                w.attr_be32(NFTA_PAYLOAD_LEN, *len);
            }
            Expr::Bitwise {
                sreg,
                dreg,
                mask,
                xor,
            } => {
                w.attr_be32(NFTA_BITWISE_SREG, *sreg);
                w.attr_be32(NFTA_BITWISE_DREG, *dreg);
                w.attr_be32(NFTA_BITWISE_LEN, mask.len() as u32);
                data_value(w, NFTA_BITWISE_MASK, mask);
                data_value(w, NFTA_BITWISE_XOR, xor);
            }
            Expr::Cmp { sreg, op, data } => {
                w.attr_be32(NFTA_CMP_SREG, *sreg);
                w.attr_be32(NFTA_CMP_OP, *op);
                data_value(w, NFTA_CMP_DATA, data);
            }
            Expr::Range { sreg, op, from, to } => {
                w.attr_be32(NFTA_RANGE_SREG, *sreg);
                w.attr_be32(NFTA_RANGE_OP, *op);
                data_value(w, NFTA_RANGE_FROM_DATA, from);
                data_value(w, NFTA_RANGE_TO_DATA, to);
            }
            Expr::Numgen {
                dreg,
                modulus,
                kind,
                offset,
            } => {
                w.attr_be32(NFTA_NG_DREG, *dreg);
                w.attr_be32(NFTA_NG_MODULUS, *modulus);
                w.attr_be32(NFTA_NG_TYPE, *kind);
                w.attr_be32(NFTA_NG_OFFSET, *offset);
            }
            Expr::Byteorder {
                sreg,
                dreg,
                op,
                len,
                size,
            } => {
                w.attr_be32(NFTA_BYTEORDER_SREG, *sreg);
                w.attr_be32(NFTA_BYTEORDER_DREG, *dreg);
                w.attr_be32(NFTA_BYTEORDER_OP, *op);
                w.attr_be32(NFTA_BYTEORDER_LEN, *len);
                w.attr_be32(NFTA_BYTEORDER_SIZE, *size);
            }
            Expr::Limit {
                rate,
                unit,
                burst,
                kind,
                flags,
            } => {
                w.attr(NFTA_LIMIT_RATE, &rate.to_be_bytes());
                w.attr(NFTA_LIMIT_UNIT, &unit.to_be_bytes());
                w.attr_be32(NFTA_LIMIT_BURST, *burst);
                w.attr_be32(NFTA_LIMIT_TYPE, *kind);
                w.attr_be32(NFTA_LIMIT_FLAGS, *flags);
            }
            Expr::Log { prefix, level } => {
                if let Some(p) = prefix {
                    w.attr_str(NFTA_LOG_PREFIX, p);
                }
                if let Some(l) = level {
                    w.attr_be32(NFTA_LOG_LEVEL, *l);
                }
            }
            Expr::Counter { .. } | Expr::Masq => {}
            Expr::Immediate { dreg, data } => {
                w.attr_be32(NFTA_IMMEDIATE_DREG, *dreg);
                match data {
                    Data::Value(v) => data_value(w, NFTA_IMMEDIATE_DATA, v),
                    Data::Verdict(code) => {
                        let d = w.nest_begin(NFTA_IMMEDIATE_DATA | NESTED);
                        let v = w.nest_begin(NFTA_DATA_VERDICT | NESTED);
                        w.attr_be32(NFTA_VERDICT_CODE, *code);
                        w.nest_end(v);
                        w.nest_end(d);
                    }
                }
            }
            Expr::Reject { kind, code } => {
                w.attr_be32(NFTA_REJECT_TYPE, *kind);
                w.attr(NFTA_REJECT_ICMP_CODE, &[*code]);
            }
            Expr::Nat {
                kind,
                family,
                addr_reg,
                proto_reg,
            } => {
                w.attr_be32(NFTA_NAT_TYPE, *kind);
                w.attr_be32(NFTA_NAT_FAMILY, *family);
                w.attr_be32(NFTA_NAT_REG_ADDR_MIN, *addr_reg);
                if let Some(r) = proto_reg {
                    w.attr_be32(NFTA_NAT_REG_PROTO_MIN, *r);
                    w.attr_be32(NFTA_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
                }
            }
        }
        w.nest_end(data);
        w.nest_end(el);
    }

    /// One NFTA_LIST_ELEM's payload; None for an expression nsnet does not write.
    pub(crate) fn parse(el: &[u8]) -> Option<Expr> {
        let (mut name, mut data) = (String::new(), &[][..]);
        for (ty, v) in attrs(el) {
            match ty {
                NFTA_EXPR_NAME => name = parse_string(v).ok()?,
                NFTA_EXPR_DATA => data = v,
                _ => {}
            }
        }
        let f = Fields(attrs(data).collect());
        let be32 = |ty| f.get(ty).and_then(|v| parse_u32_be(v).ok());
        let be64 = |ty| f.get(ty).and_then(|v| parse_u64_be(v).ok());
        let value = |ty| f.get(ty).and_then(data_value_of);
        Some(match name.as_str() {
            "meta" => Expr::Meta {
                key: be32(NFTA_META_KEY)?,
                dreg: be32(NFTA_META_DREG)?,
            },
            "ct" => Expr::Ct {
                key: be32(NFTA_CT_KEY)?,
                dreg: be32(NFTA_CT_DREG)?,
            },
            "payload" => Expr::Payload {
                dreg: be32(NFTA_PAYLOAD_DREG)?,
                base: be32(NFTA_PAYLOAD_BASE)?,
                offset: be32(NFTA_PAYLOAD_OFFSET)?,
                len: be32(NFTA_PAYLOAD_LEN)?,
            },
            "bitwise" => Expr::Bitwise {
                sreg: be32(NFTA_BITWISE_SREG)?,
                dreg: be32(NFTA_BITWISE_DREG)?,
                mask: value(NFTA_BITWISE_MASK)?,
                xor: value(NFTA_BITWISE_XOR)?,
            },
            "cmp" => Expr::Cmp {
                sreg: be32(NFTA_CMP_SREG)?,
                op: be32(NFTA_CMP_OP)?,
                data: value(NFTA_CMP_DATA)?,
            },
            "range" => Expr::Range {
                sreg: be32(NFTA_RANGE_SREG)?,
                op: be32(NFTA_RANGE_OP)?,
                from: value(NFTA_RANGE_FROM_DATA)?,
                to: value(NFTA_RANGE_TO_DATA)?,
            },
            "numgen" => Expr::Numgen {
                dreg: be32(NFTA_NG_DREG)?,
                modulus: be32(NFTA_NG_MODULUS)?,
                kind: be32(NFTA_NG_TYPE)?,
                offset: be32(NFTA_NG_OFFSET).unwrap_or(0),
            },
            "byteorder" => Expr::Byteorder {
                sreg: be32(NFTA_BYTEORDER_SREG)?,
                dreg: be32(NFTA_BYTEORDER_DREG)?,
                op: be32(NFTA_BYTEORDER_OP)?,
                len: be32(NFTA_BYTEORDER_LEN)?,
                size: be32(NFTA_BYTEORDER_SIZE)?,
            },
            "limit" => Expr::Limit {
                rate: be64(NFTA_LIMIT_RATE)?,
                unit: be64(NFTA_LIMIT_UNIT)?,
                burst: be32(NFTA_LIMIT_BURST).unwrap_or(0),
                kind: be32(NFTA_LIMIT_TYPE).unwrap_or(0),
                flags: be32(NFTA_LIMIT_FLAGS).unwrap_or(0),
            },
            "log" => Expr::Log {
                prefix: f.get(NFTA_LOG_PREFIX).map(cstr),
                level: be32(NFTA_LOG_LEVEL),
            },
            "counter" => Expr::Counter {
                bytes: be64(NFTA_COUNTER_BYTES).unwrap_or(0),
                packets: be64(NFTA_COUNTER_PACKETS).unwrap_or(0),
            },
            "immediate" => {
                let d = f.get(NFTA_IMMEDIATE_DATA)?;
                let data = match data_value_of(d) {
                    Some(v) => Data::Value(v),
                    None => Data::Verdict(verdict_of(d)?),
                };
                Expr::Immediate {
                    dreg: be32(NFTA_IMMEDIATE_DREG)?,
                    data,
                }
            }
            // The kernel dumps no ICMP code for a TCP reset.
            "reject" => Expr::Reject {
                kind: be32(NFTA_REJECT_TYPE)?,
                code: f
                    .get(NFTA_REJECT_ICMP_CODE)
                    .map_or(Some(0), |v| parse_u8(v).ok())?,
            },
            "masq" => Expr::Masq,
            "nat" => Expr::Nat {
                kind: be32(NFTA_NAT_TYPE)?,
                family: be32(NFTA_NAT_FAMILY)?,
                addr_reg: be32(NFTA_NAT_REG_ADDR_MIN)?,
                proto_reg: be32(NFTA_NAT_REG_PROTO_MIN),
            },
            _ => return None,
        })
    }

    /// This expression as the kernel dumps it back: with the defaults it fills in (a log's
    /// level) and with its counter at zero, so that a dump compares equal to what was sent.
    pub(crate) fn as_dumped(&self) -> Expr {
        match self {
            Expr::Counter { .. } => Expr::Counter {
                bytes: 0,
                packets: 0,
            },
            Expr::Log { prefix, level } => Expr::Log {
                prefix: prefix.clone(),
                level: Some(level.unwrap_or(NFT_LOGLEVEL_WARNING)),
            },
            x => x.clone(),
        }
    }
}

/// A NUL-terminated string attribute.
pub(super) fn cstr(v: &[u8]) -> String {
    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// An expression's attributes by type.
struct Fields<'a>(Vec<(u16, &'a [u8])>);

impl<'a> Fields<'a> {
    fn get(&self, ty: u16) -> Option<&'a [u8]> {
        self.0.iter().find(|(t, _)| *t == ty).map(|(_, v)| *v)
    }
}

/// A nested NFTA_DATA_VALUE: the payload of cmp data, bitwise masks, immediate values.
fn data_value(w: &mut Writer<'_>, ty: u16, value: &[u8]) {
    let n = w.nest_begin(ty | NESTED);
    w.attr(NFTA_DATA_VALUE, value);
    w.nest_end(n);
}

fn data_value_of(nest: &[u8]) -> Option<Vec<u8>> {
    attrs(nest)
        .find(|(ty, _)| *ty == NFTA_DATA_VALUE)
        .map(|(_, v)| v.to_vec())
}

fn verdict_of(nest: &[u8]) -> Option<u32> {
    let (_, v) = attrs(nest).find(|(ty, _)| *ty == NFTA_DATA_VERDICT)?;
    let (_, code) = attrs(v).find(|(ty, _)| *ty == NFTA_VERDICT_CODE)?;
    parse_u32_be(code).ok()
}
