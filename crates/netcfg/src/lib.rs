//! netlink (placeholder).
