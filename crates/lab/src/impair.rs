//! Link impairments: a rate limit (the kernel's tbf) and delay, jitter and loss (netem),
//! written the way `tc` users write them (`rate = "10mbit"`, `delay = "20ms"`,
//! `loss = "1%"`), parsed here once for the lab file and for `nsnet link set`.

use crate::error::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest delay or jitter accepted: netem counts in 64 ns ticks of a u32.
pub const MAX_DELAY_US: u32 = 60_000_000;

/// What a link does to the packets crossing it, in each direction. Empty: nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Impair {
    /// Bits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
    /// One-way delay, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<u32>,
    /// Random variation of the delay (±), microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<u32>,
    /// Loss probability in millionths (1% = 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<u32>,
}

impl Impair {
    /// True when the link is left as it is.
    pub fn is_empty(&self) -> bool {
        *self == Impair::default()
    }

    /// True when netem is needed (anything but a rate).
    pub fn needs_netem(&self) -> bool {
        self.delay.is_some() || self.jitter.is_some() || self.loss.is_some()
    }

    /// Parse the four values as written (each optional). Errors name the field; the first
    /// is returned.
    pub fn parse(
        rate: Option<&str>,
        delay: Option<&str>,
        jitter: Option<&str>,
        loss: Option<&str>,
    ) -> Result<Impair, ImpairError> {
        let (imp, errors) = Impair::parse_all(rate, delay, jitter, loss);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(imp),
        }
    }

    /// Parse the four values as written (each optional): what parses, and every error, in
    /// field order.
    pub fn parse_all(
        rate: Option<&str>,
        delay: Option<&str>,
        jitter: Option<&str>,
        loss: Option<&str>,
    ) -> (Impair, Vec<ImpairError>) {
        fn field<T>(
            errors: &mut Vec<ImpairError>,
            field: &'static str,
            v: Option<&str>,
            parse: fn(&str) -> Result<T, Invalid>,
        ) -> Option<T> {
            let e = match parse(v?) {
                Ok(t) => return Some(t),
                Err(error) => ImpairError { field, error },
            };
            errors.push(e);
            None
        }
        let mut errors = Vec::new();
        let imp = Impair {
            rate: field(&mut errors, "rate", rate, parse_rate),
            delay: field(&mut errors, "delay", delay, parse_time),
            jitter: field(&mut errors, "jitter", jitter, parse_time),
            loss: field(&mut errors, "loss", loss, parse_loss),
        };
        // A jitter varies a delay, so it needs one.
        if jitter.is_some() && delay.is_none() {
            errors.push(ImpairError {
                field: "jitter",
                error: Invalid::new("a jitter needs a delay to vary")
                    .hint("add a delay, e.g. delay = \"20ms\", jitter = \"5ms\""),
            });
        }
        (imp, errors)
    }
}

/// A value that does not parse, and which field it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpairError {
    /// `rate`, `delay`, `jitter` or `loss`.
    pub field: &'static str,
    /// What is wrong with it.
    pub error: Invalid,
}

/// `field: message (hint)`.
impl fmt::Display for ImpairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.error.message)?;
        if let Some(h) = &self.error.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImpairError {}

/// Split "10.5mbit" into (10.5, "mbit").
fn number_unit(s: &str) -> Option<(f64, String)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..end].parse().ok()?;
    Some((n, s[end..].trim().to_ascii_lowercase()))
}

const RATE_UNITS: &[(&str, f64)] = &[
    ("bit", 1.0),
    ("kbit", 1e3),
    ("mbit", 1e6),
    ("gbit", 1e9),
    ("tbit", 1e12),
    ("kibit", 1024.0),
    ("mibit", 1048576.0),
    ("gibit", 1073741824.0),
    ("bps", 8.0),
    ("kbps", 8e3),
    ("mbps", 8e6),
    ("gbps", 8e9),
];

/// A rate in tc's units (`10mbit`, `512kbit`, `1gbit`; `…bps` are bytes per second).
pub fn parse_rate(s: &str) -> Result<u64, Invalid> {
    let bad = |what: String| {
        Invalid::new(what).hint(
            "write a number and a unit: bit, kbit, mbit, gbit (or kbps, mbps: bytes/s), e.g. \"10mbit\"",
        )
    };
    let Some((n, unit)) = number_unit(s) else {
        return Err(bad(format!("`{s}` is not a rate")));
    };
    let Some(&(_, mult)) = RATE_UNITS.iter().find(|(u, _)| *u == unit) else {
        let what = if unit.is_empty() {
            format!("rate `{s}` has no unit")
        } else {
            format!("unknown rate unit `{unit}`")
        };
        return Err(bad(what));
    };
    let bits = (n * mult).round();
    if !(8.0..=1e15).contains(&bits) {
        return Err(Invalid::new(format!("rate `{s}` is out of range"))
            .hint("a rate is from 8bit to 1000tbit"));
    }
    Ok(bits as u64)
}

/// A time (`20ms`, `1.5s`, `500us`) in microseconds.
pub fn parse_time(s: &str) -> Result<u32, Invalid> {
    let bad = |what: String| {
        Invalid::new(what).hint("write a number and a unit: us, ms or s, e.g. \"20ms\"")
    };
    let Some((n, unit)) = number_unit(s) else {
        return Err(bad(format!("`{s}` is not a time")));
    };
    let mult = match unit.as_str() {
        "us" | "usec" | "usecs" => 1.0,
        "ms" | "msec" | "msecs" => 1e3,
        "s" | "sec" | "secs" => 1e6,
        "" => return Err(bad(format!("time `{s}` has no unit"))),
        other => return Err(bad(format!("unknown time unit `{other}`"))),
    };
    let us = (n * mult).round();
    if us > MAX_DELAY_US as f64 {
        return Err(Invalid::new(format!("time `{s}` is out of range")).hint("at most 60s"));
    }
    Ok(us as u32)
}

/// A loss percentage (`1%`, `0.5%`) in millionths.
pub fn parse_loss(s: &str) -> Result<u32, Invalid> {
    let bad = |what: String| Invalid::new(what).hint("write a percentage, e.g. \"1%\" or \"0.5%\"");
    let Some(p) = s
        .trim()
        .strip_suffix('%')
        .and_then(|num| num.trim().parse::<f64>().ok())
    else {
        return Err(bad(format!("loss `{s}` is not a percentage")));
    };
    if !(0.0..=100.0).contains(&p) {
        return Err(
            Invalid::new(format!("loss `{s}` is out of range")).hint("a loss is from 0% to 100%")
        );
    }
    Ok((p * 10_000.0).round() as u32)
}

/// `10mbit`, `1500kbit`, `1234bit`: the largest unit that divides the rate evenly.
pub fn format_rate(bits: u64) -> String {
    for (unit, m) in [
        ("gbit", 1_000_000_000),
        ("mbit", 1_000_000),
        ("kbit", 1_000),
    ] {
        if bits >= m && bits % m == 0 {
            return format!("{}{unit}", bits / m);
        }
    }
    format!("{bits}bit")
}

/// `20ms`, `1500us`, `2s`.
pub fn format_time(us: u32) -> String {
    if us >= 1_000_000 && us % 1_000_000 == 0 {
        format!("{}s", us / 1_000_000)
    } else if us >= 1000 && us % 1000 == 0 {
        format!("{}ms", us / 1000)
    } else {
        format!("{us}us")
    }
}

/// `1%`, `0.5%`.
pub fn format_loss(ppm: u32) -> String {
    let s = format!("{:.4}", ppm as f64 / 10_000.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

impl fmt::Display for Impair {
    /// `rate 10mbit delay 20ms jitter 5ms loss 1%` (empty when there is nothing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(r) = self.rate {
            parts.push(format!("rate {}", format_rate(r)));
        }
        if let Some(d) = self.delay {
            parts.push(format!("delay {}", format_time(d)));
        }
        if let Some(j) = self.jitter {
            parts.push(format!("jitter {}", format_time(j)));
        }
        if let Some(l) = self.loss {
            parts.push(format!("loss {}", format_loss(l)));
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10mbit"), Ok(10_000_000));
        assert_eq!(parse_rate("1.5Mbit"), Ok(1_500_000));
        assert_eq!(parse_rate("512kbit"), Ok(512_000));
        assert_eq!(parse_rate("1kibit"), Ok(1024));
        assert_eq!(parse_rate("1mbps"), Ok(8_000_000));
        assert!(parse_rate("10").unwrap_err().message.contains("no unit"));
        assert!(parse_rate("10mbits")
            .unwrap_err()
            .message
            .contains("unknown rate unit"));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0bit").is_err());
    }

    #[test]
    fn times_and_losses() {
        assert_eq!(parse_time("20ms"), Ok(20_000));
        assert_eq!(parse_time("1.5s"), Ok(1_500_000));
        assert_eq!(parse_time("250us"), Ok(250));
        assert!(parse_time("20").unwrap_err().message.contains("no unit"));
        assert!(parse_time("61s").is_err());
        assert_eq!(parse_loss("1%"), Ok(10_000));
        assert_eq!(parse_loss("0.5 %"), Ok(5_000));
        assert!(parse_loss("1").is_err());
        assert!(parse_loss("101%").is_err());
    }

    #[test]
    fn display_round_trips() {
        let i = Impair::parse(Some("10mbit"), Some("20ms"), Some("5ms"), Some("0.5%")).unwrap();
        assert_eq!(i.to_string(), "rate 10mbit delay 20ms jitter 5ms loss 0.5%");
        assert_eq!(format_rate(1_500_000), "1500kbit");
        assert_eq!(format_time(1_500), "1500us");
        assert!(Impair::default().to_string().is_empty());
    }

    #[test]
    fn jitter_needs_delay() {
        let e = Impair::parse(None, None, Some("5ms"), None).unwrap_err();
        assert_eq!(e.field, "jitter");
        assert!(e.error.message.contains("needs a delay"));
    }
}

#[cfg(test)]
mod lab_file_tests {
    use crate::{plan, Lab};

    fn load(text: &str) -> Result<crate::Plan, String> {
        Lab::from_toml(text, "t.toml", Some("t"), None)
            .and_then(|l| plan(&l))
            .map_err(|e| e.to_string())
    }

    const HEAD: &str = "[nodes]\na = {}\nb = {}\n[[links]]\nendpoints = [\"a\", \"b\"]\n";

    #[test]
    fn impairments_reach_the_plan() {
        let p = load(&format!(
            "{HEAD}rate = \"10mbit\"\ndelay = \"20ms\"\njitter = \"5ms\"\nloss = \"1%\"\n"
        ))
        .unwrap();
        let i = p.links[0].impair;
        assert_eq!(i.rate, Some(10_000_000));
        assert_eq!(i.delay, Some(20_000));
        assert_eq!(i.jitter, Some(5_000));
        assert_eq!(i.loss, Some(10_000));
        // Serialised only when set; old plans without the field still load.
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"impair\":{\"rate\":10000000"), "{json}");
        let bare = load(HEAD).unwrap();
        let json = serde_json::to_string(&bare).unwrap();
        assert!(!json.contains("impair"));
        let back: crate::Plan = serde_json::from_str(&json).unwrap();
        assert!(back.links[0].impair.is_empty());
    }

    #[test]
    fn errors_point_at_the_value() {
        let e = load(&format!("{HEAD}rate = \"10mbits\"\n")).unwrap_err();
        assert!(
            e.starts_with("t.toml:6:8: rate: unknown rate unit `mbits`"),
            "{e}"
        );
        assert!(e.contains("fix: write a number and a unit"), "{e}");
        let e = load(&format!("{HEAD}delay = \"20\"\n")).unwrap_err();
        assert!(
            e.starts_with("t.toml:6:9: delay: time `20` has no unit"),
            "{e}"
        );
        let e = load(&format!("{HEAD}loss = \"1\"\n")).unwrap_err();
        assert!(
            e.starts_with("t.toml:6:8: loss: loss `1` is not a percentage"),
            "{e}"
        );
        let e = load(&format!("{HEAD}jitter = \"5ms\"\n")).unwrap_err();
        assert!(
            e.starts_with("t.toml:6:10: jitter: a jitter needs a delay"),
            "{e}"
        );
        let e = load(&format!("{HEAD}dealy = \"5ms\"\n")).unwrap_err();
        assert!(e.starts_with("t.toml:6:1:"), "{e}");
        assert!(e.contains("did you mean `delay`?"), "{e}");
        let e = load(&format!("{HEAD}rate = 10\n")).unwrap_err();
        assert!(e.starts_with("t.toml:6:8:"), "{e}");
    }
}
