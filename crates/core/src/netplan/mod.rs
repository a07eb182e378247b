//! Plan values as netcfg requests: used by `build::wire` at `up` and by `ops` at run time,
//! so neither depends on the other.

pub mod firewall;
pub mod impair;
pub mod routes;
