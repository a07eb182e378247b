//! The one hand encoder, for what netlink-packet-route and its siblings cannot write: tc
//! qdisc options and nftables messages. Attributes are appended to a caller-owned buffer and
//! padded to 4 bytes from where the writer started; nests are closed by patching their
//! length. Everything rtnetlink proper sends is built from netlink-packet-route's types.

use netlink_packet_core::{NetlinkBuffer, NLA_HEADER_SIZE};

/// Appends attributes (and, for hand-written messages, the netlink header) to a buffer.
pub(crate) struct Writer<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Writer<'a> {
    /// Attributes from the end of `buf` on (which must be 4-byte aligned).
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Writer<'a> {
        let start = buf.len();
        Writer { buf, start }
    }

    /// Start a netlink message: its header with a zero length, patched by
    /// [`Writer::finish`].
    pub(crate) fn message(buf: &'a mut Vec<u8>, ty: u16, flags: u16, seq: u32) -> Writer<'a> {
        let start = buf.len();
        buf.resize(start + 16, 0);
        let mut h = NetlinkBuffer::new(&mut buf[start..]);
        h.set_message_type(ty);
        h.set_flags(flags);
        h.set_sequence_number(seq);
        Writer { buf, start }
    }

    /// Raw bytes (a fixed struct such as nfgenmsg or tc_netem_qopt).
    pub(crate) fn bytes(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// An attribute with a raw payload, padded to 4 bytes.
    pub(crate) fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = NLA_HEADER_SIZE + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    /// A host-order u32 attribute.
    pub(crate) fn attr_u32(&mut self, ty: u16, v: u32) {
        self.attr(ty, &v.to_ne_bytes());
    }

    /// A big-endian u32 attribute (nftables' control integers).
    pub(crate) fn attr_be32(&mut self, ty: u16, v: u32) {
        self.attr(ty, &v.to_be_bytes());
    }

    /// A NUL-terminated string attribute.
    pub(crate) fn attr_str(&mut self, ty: u16, s: &str) {
        let len = NLA_HEADER_SIZE + s.len() + 1;
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.pad();
    }

    /// Open a nested attribute; close it with [`Writer::nest_end`] and the returned offset.
    pub(crate) fn nest_begin(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        at
    }

    /// Close a nested attribute.
    pub(crate) fn nest_end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn pad(&mut self) {
        let rem = (self.buf.len() - self.start) % 4;
        if rem != 0 {
            self.buf.resize(self.buf.len() + 4 - rem, 0);
        }
    }

    /// Write the message's length into its header.
    pub(crate) fn finish(self) {
        let len = (self.buf.len() - self.start) as u32;
        NetlinkBuffer::new(&mut self.buf[self.start..]).set_length(len);
    }
}

/// The attributes in `buf` as (type without flag bits, payload), through
/// netlink-packet-core's NlasIterator; stops at the first malformed one.
pub(crate) fn attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    netlink_packet_core::NlasIterator::new(buf)
        .map_while(Result::ok)
        .map(|nla| {
            let (kind, len) = (nla.kind(), usize::from(nla.length()));
            (kind, &nla.into_inner()[NLA_HEADER_SIZE..len])
        })
}
