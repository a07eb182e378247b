//! Byte sizes as lab files write them (`tmpfs_size = "64M"`, `log_size = "512K"`): one parser
//! and one printer, so that the file, `nsnet plan` and errors spell sizes alike.

use crate::error::Invalid;
use std::fmt;

/// A kibibyte: `K` in a size.
pub const KIB: u64 = 1 << 10;
/// A mebibyte: `M` in a size.
pub const MIB: u64 = 1 << 20;
/// A gibibyte: `G` in a size.
pub const GIB: u64 = 1 << 30;

/// A size written as a string (`"64M"`) or as a plain integer of bytes.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum SizeValue {
    /// `"64M"`.
    Str(String),
    /// Bytes.
    Int(i64),
}

impl fmt::Display for SizeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeValue::Str(s) => write!(f, "\"{s}\""),
            SizeValue::Int(i) => write!(f, "{i}"),
        }
    }
}

const HINT: &str = "write bytes, or a whole number with K, M or G (powers of 1024; KiB, MiB, GiB \
                    and k, m, g too), e.g. \"64M\"";

/// Bytes from `"512K"`, `"64M"`, `"1G"`, `"64MiB"`, `"100000"`. Errors say what is wrong and
/// how to write it.
pub fn parse_size(v: &SizeValue) -> Result<u64, Invalid> {
    let bad = |message: String| Invalid::new(message).hint(HINT);
    let s = match v {
        SizeValue::Int(i) => {
            return u64::try_from(*i).map_err(|_| bad(format!("size {i} is negative")))
        }
        SizeValue::Str(s) => s.trim(),
    };
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = (&s[..end], s[end..].trim());
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" | "kib" => KIB,
        "m" | "mib" => MIB,
        "g" | "gib" => GIB,
        _ => return Err(bad(format!("`{s}` is not a size"))),
    };
    if num.is_empty() {
        return Err(bad(format!("`{s}` is not a size")));
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| bad(format!("size `{s}` is too large")))
}

/// The size of the key `what` (`tmpfs_size`), within `min..=max`.
pub fn parse_size_within(v: &SizeValue, what: &str, min: u64, max: u64) -> Result<u64, Invalid> {
    let range = format!("from {} to {}", format_size(min), format_size(max));
    let n = parse_size(v).map_err(|e| Invalid {
        message: format!("{what}: {}", e.message),
        hint: Some(format!("{HINT}, {range}")),
    })?;
    if (min..=max).contains(&n) {
        return Ok(n);
    }
    let why = if n < min {
        format!("too small: at least {}", format_size(min))
    } else {
        format!("too large: at most {}", format_size(max))
    };
    Err(Invalid::new(format!("{what} {v} is {why}")).hint(format!(
        "give a size {range}, e.g. \"{}\"",
        format_size(n.clamp(min, max))
    )))
}

/// `64M`, `1G`, `512K`, `1000` (bytes): the largest unit that divides the size evenly.
pub fn format_size(bytes: u64) -> String {
    for (unit, m) in [("G", GIB), ("M", MIB), ("K", KIB)] {
        if bytes >= m && bytes % m == 0 {
            return format!("{}{unit}", bytes / m);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<u64, String> {
        parse_size(&SizeValue::Str(s.into())).map_err(|e| e.message)
    }

    #[test]
    fn sizes() {
        assert_eq!(p("64M"), Ok(64 * MIB));
        assert_eq!(p("64MiB"), Ok(64 * MIB));
        assert_eq!(p("64m"), Ok(64 * MIB));
        assert_eq!(p("1G"), Ok(GIB));
        assert_eq!(p("1gib"), Ok(GIB));
        assert_eq!(p("512K"), Ok(512 * KIB));
        assert_eq!(p("512k"), Ok(512 * KIB));
        assert_eq!(p(" 100000 "), Ok(100_000));
        assert_eq!(parse_size(&SizeValue::Int(4096)), Ok(4096));
        assert!(parse_size(&SizeValue::Int(-1)).is_err());
        for bad in ["", "M", "1.5G", "64MB", "64T", "-5M", "0x10", "64 M B"] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert!(p("99999999999999G").unwrap_err().contains("too large"));
        assert_eq!(format_size(64 * MIB), "64M");
        assert_eq!(format_size(GIB), "1G");
        assert_eq!(format_size(1536 * KIB), "1536K");
        assert_eq!(format_size(1000), "1000");
    }
}
