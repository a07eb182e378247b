//! `lab.conf` and `lab.dep` read as Kathará reads them (its LabParser and DepParser): the
//! same line syntax, the same checks, each mistake at its line and column.

use crate::pos::At;
use nsnet_lab::{LabError, LabErrors};
use std::collections::BTreeMap;

/// Kathará's lab metadata lines (`LAB_NAME="…"`).
const METADATA: &[&str] = &[
    "LAB_NAME",
    "LAB_DESCRIPTION",
    "LAB_VERSION",
    "LAB_AUTHOR",
    "LAB_EMAIL",
    "LAB_WEB",
];

/// Device names Kathará keeps for itself.
const RESERVED: &[&str] = &["shared", "_test"];

/// A `lab.conf`, parsed.
#[derive(Debug, Default)]
pub(crate) struct Conf {
    /// `LAB_NAME`, `LAB_DESCRIPTION` … with their values, in file order.
    pub meta: Vec<(String, String)>,
    /// In order of first appearance.
    pub devices: Vec<Device>,
    /// Collision domains, in order of first appearance.
    pub cds: Vec<Cd>,
}

/// A device: its interfaces by number and its options in file order.
#[derive(Debug)]
pub(crate) struct Device {
    pub name: String,
    pub ifaces: BTreeMap<u32, Iface>,
    pub options: Vec<Opt>,
}

/// Interface `ethN` of a device.
#[derive(Debug)]
pub(crate) struct Iface {
    pub mac: Option<String>,
    pub at: At,
}

/// A collision domain: its name and the (device index, interface number) on it, in order.
#[derive(Debug)]
pub(crate) struct Cd {
    pub name: String,
    pub members: Vec<(usize, u32)>,
}

/// `dev[option]="value"`, where it is written (the column is the value's).
#[derive(Debug, Clone)]
pub(crate) struct Opt {
    pub key: String,
    pub value: String,
    pub at: At,
}

/// One `dev[arg]=value` line, as Kathará's pattern takes it apart:
/// `^([a-z0-9_]{1,30})\[(\w+)\]=(["']?)([^"']+)\3(\s+#.*)?$` on the trimmed line.
struct Assignment<'a> {
    device: &'a str,
    arg: &'a str,
    value: &'a str,
    /// Byte offset of the value in the trimmed line.
    value_at: usize,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn assignment(t: &str) -> Option<Assignment<'_>> {
    let open = t.find('[')?;
    let device = &t[..open];
    if device.is_empty()
        || device.len() > 30
        || !device
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let rest = &t[open + 1..];
    let close = rest.find(']')?;
    let arg = &rest[..close];
    if arg.is_empty() || !arg.chars().all(is_word) {
        return None;
    }
    let rest = rest[close + 1..].strip_prefix('=')?;
    let mut value_at = t.len() - rest.len();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
    let body = match quote {
        Some(q) => {
            value_at += 1;
            &rest[q.len_utf8()..]
        }
        None => rest,
    };
    let end = body.find(['"', '\'']).unwrap_or(body.len());
    let value = &body[..end];
    if value.is_empty() {
        return None;
    }
    let after = &body[end..];
    let after = match quote {
        // Unquoted, the value runs to the end of the line (a `#` after it is part of it, as
        // in Kathará), and a quote anywhere is a mistake.
        None => after,
        Some(q) => after.strip_prefix(q)?,
    };
    let comment_ok = after.is_empty()
        || (after.starts_with(char::is_whitespace) && after.trim_start().starts_with('#'));
    comment_ok.then_some(Assignment {
        device,
        arg,
        value,
        value_at,
    })
}

/// Parse `lab.conf`'s text; `shown` names it in errors.
pub(crate) fn parse(text: &str, shown: &str) -> Result<Conf, LabErrors> {
    let mut conf = Conf::default();
    let mut errors: Vec<LabError> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut cd_index: BTreeMap<String, usize> = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let col_of = |byte: usize| raw[..indent + byte].chars().count() + 1;
        let Some(a) = assignment(t) else {
            if let Some(key) = METADATA.iter().find(|k| t.starts_with(&format!("{k}="))) {
                let v = t[key.len() + 1..].replace(['"', '\''], "");
                conf.meta.push((key.to_string(), v.trim().to_string()));
                continue;
            }
            errors.push(At::new(shown, line, indent + 1).error(
                format!("`{t}` is not a Kathará line"),
                "write DEVICE[N]=\"CD\", DEVICE[N]=\"CD/MAC\" or DEVICE[OPTION]=\"VALUE\" (device names: 1-30 of a-z, 0-9 and _), or a # comment",
            ));
            continue;
        };
        let dev_at = At::new(shown, line, indent + 1);
        let val_at = At::new(shown, line, col_of(a.value_at));
        if RESERVED.contains(&a.device) {
            errors.push(dev_at.error(
                format!("`{}` is a reserved name, not a device's", a.device),
                "rename the device",
            ));
            continue;
        }
        let di = *index.entry(a.device.to_string()).or_insert_with(|| {
            conf.devices.push(Device {
                name: a.device.to_string(),
                ifaces: BTreeMap::new(),
                options: Vec::new(),
            });
            conf.devices.len() - 1
        });
        if !a.arg.chars().all(|c| c.is_ascii_digit()) {
            conf.devices[di].options.push(Opt {
                key: a.arg.to_string(),
                value: a.value.to_string(),
                at: val_at,
            });
            continue;
        }
        let Ok(num) = a.arg.parse::<u32>() else {
            errors.push(dev_at.error(
                format!("interface number {} is too large", a.arg),
                "number a device's interfaces 0, 1, 2 …",
            ));
            continue;
        };
        let (cd, mac) = match cd_and_mac(a.value) {
            Ok(v) => v,
            Err((message, hint)) => {
                errors.push(val_at.error(message, hint));
                continue;
            }
        };
        let dev = &conf.devices[di];
        if let Some(prev) = dev.ifaces.get(&num) {
            errors.push(dev_at.error(
                format!(
                    "interface {num} of `{}` is set twice (also at line {})",
                    dev.name, prev.at.line
                ),
                "give each interface number one collision domain",
            ));
            continue;
        }
        let ci = *cd_index.entry(cd.to_string()).or_insert_with(|| {
            conf.cds.push(Cd {
                name: cd.to_string(),
                members: Vec::new(),
            });
            conf.cds.len() - 1
        });
        if let Some(&(_, other)) = conf.cds[ci].members.iter().find(|(d, _)| *d == di) {
            errors.push(val_at.error(
                format!(
                    "device `{}` is already connected to collision domain `{cd}` (interface {other})",
                    dev.name
                ),
                "connect a device to a collision domain once",
            ));
            continue;
        }
        conf.cds[ci].members.push((di, num));
        conf.devices[di].ifaces.insert(
            num,
            Iface {
                mac: mac.map(str::to_string),
                at: dev_at,
            },
        );
    }
    if errors.is_empty() {
        Ok(conf)
    } else {
        Err(LabErrors(errors))
    }
}

/// `CD` or `CD/MAC`, checked as Kathará checks them.
fn cd_and_mac(v: &str) -> Result<(&str, Option<&str>), (String, &'static str)> {
    let (cd, mac) = if v.contains('/') {
        let parts: Vec<&str> = v.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() != 2 {
            return Err((
                format!("`{v}` is not an interface definition"),
                "write \"CD\" or \"CD/MAC\", e.g. \"A/02:42:ac:11:00:02\"",
            ));
        }
        (parts[0], Some(parts[1]))
    } else {
        (v, None)
    };
    if !cd.chars().all(is_word) {
        return Err((
            format!("collision domain `{cd}` contains characters other than letters, digits and _"),
            "name collision domains with letters, digits and _",
        ));
    }
    if let Some(m) = mac {
        crate::names::check_mac(m)?;
    }
    Ok((cd, mac))
}

/// One `lab.dep` rule: the device, the devices it starts after, where it is written.
#[derive(Debug)]
pub(crate) struct Rule {
    pub device: String,
    pub after: Vec<String>,
    pub at: At,
}

/// Parse `lab.dep`'s text: `DEVICE: DEV1 DEV2 …` lines and `#` comments. A device's later
/// rule replaces its earlier one, as in Kathará.
pub(crate) fn parse_dep(text: &str, shown: &str) -> Result<Vec<Rule>, LabErrors> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut errors = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let at = At::new(shown, n + 1, raw.len() - raw.trim_start().len() + 1);
        let parsed = t.split_once(':').and_then(|(k, deps)| {
            let deps: Vec<String> = deps.split_whitespace().map(str::to_string).collect();
            let ok = !k.is_empty()
                && k.chars().all(is_word)
                && !deps.is_empty()
                && deps.iter().all(|d| d.chars().all(is_word));
            ok.then(|| (k.to_string(), deps))
        });
        match parsed {
            Some((device, after)) => {
                rules.retain(|r| r.device != device);
                rules.push(Rule { device, after, at });
            }
            None => errors.push(at.error(
                format!("`{t}` is not a lab.dep rule"),
                "write DEVICE: DEV1 DEV2 … (DEVICE starts after DEV1, DEV2 …)",
            )),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(LabErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(t: &str) -> Option<(String, String, String, usize)> {
        assignment(t).map(|a| {
            (
                a.device.to_string(),
                a.arg.to_string(),
                a.value.to_string(),
                a.value_at,
            )
        })
    }

    #[test]
    fn lines_as_kathara_takes_them() {
        assert_eq!(
            one("pc1[0]=\"A\""),
            Some(("pc1".into(), "0".into(), "A".into(), 8))
        );
        assert_eq!(one("pc1[0]='A'      # a comment").unwrap().2, "A");
        assert_eq!(one("pc1[0]=A").unwrap().2, "A");
        // Unquoted, a `#` is part of the value (Kathará's pattern is greedy).
        assert_eq!(one("pc1[0]=A # c").unwrap().2, "A # c");
        assert_eq!(
            one("r1[exec]=\"ip link set eth0 up\"").unwrap().2,
            "ip link set eth0 up"
        );
        for bad in [
            "PC1[0]=A",
            "pc1[0]=\"A'",
            "pc1[0]=\"A",
            "pc1[0]=\"A\"x",
            "pc1[0]=",
            "pc1[]=A",
            "pc1[a.b]=A",
            "pc1 [0]=A",
            "pc1[0]=\"a \"b\"\"",
            &format!("{}[0]=A", "a".repeat(31)),
        ] {
            assert!(one(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_lab_conf() {
        let text = "LAB_NAME=\"demo\"\n# comment\n\nr1[0]=\"A/02:42:ac:11:00:02\"\nr1[1]=B\n  pc1[0]=\"A\"\npc1[image]=\"kathara/base\"\npc1[exec]=\"echo 1\"\npc1[exec]=\"echo 2\"\n";
        let c = parse(text, "lab.conf").unwrap();
        assert_eq!(c.meta, vec![("LAB_NAME".to_string(), "demo".to_string())]);
        assert_eq!(c.devices.len(), 2);
        assert_eq!(
            c.devices[0].ifaces[&0].mac.as_deref(),
            Some("02:42:ac:11:00:02")
        );
        assert_eq!(c.cds.len(), 2);
        assert_eq!(c.cds[0].members, vec![(0, 0), (1, 0)]);
        let opts = &c.devices[1].options;
        assert_eq!(opts.len(), 3);
        assert_eq!((opts[0].at.line, opts[0].at.col), (7, 13));
        assert_eq!(opts[2].value, "echo 2");
        assert_eq!(c.devices[1].ifaces[&0].at.col, 3);
    }

    #[test]
    fn mistakes_have_places() {
        let e = parse("r1[0]=A\nr1[0]=B\n", "lab.conf").unwrap_err();
        assert_eq!((e.0[0].line, e.0[0].col), (2, 1));
        assert!(e.0[0].message.contains("set twice"), "{e}");
        let e = parse("r1[0]=A\nr1[1]=A\n", "lab.conf").unwrap_err();
        assert!(e.0[0].message.contains("already connected"), "{e}");
        assert_eq!((e.0[0].line, e.0[0].col), (2, 7));
        let e = parse("pc1[0]=\"A/00:00:00:00:00\"\n", "lab.conf").unwrap_err();
        assert!(e.0[0].message.contains("not a MAC"), "{e}");
        assert_eq!(e.0[0].col, 9);
        let e = parse("pc1[0]=\"A/03:00:00:00:00:01\"\n", "lab.conf").unwrap_err();
        assert!(e.0[0].message.contains("multicast"), "{e}");
        let e = parse("pc1[0]=\"A/B/C\"\n", "lab.conf").unwrap_err();
        assert!(e.0[0].message.contains("not an interface"), "{e}");
        let e = parse("pc1[0]=\"A-1\"\n", "lab.conf").unwrap_err();
        assert!(e.0[0].message.contains("collision domain"), "{e}");
        let e = parse("shared[0]=A\n", "lab.conf").unwrap_err();
        assert!(e.0[0].message.contains("reserved"), "{e}");
        let e = parse("ok[0]=A\nWhat is this\nPC[0]=A\n", "lab.conf").unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert_eq!(e.0[1].line, 3);
        assert!(e.0[1].hint.as_ref().unwrap().contains("a-z"), "{e}");
    }

    #[test]
    fn lab_dep() {
        let r = parse_dep("# c\n\npc1: pc2 pc3\npc3:pc2\npc1: r1\n", "lab.dep").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].device.as_str(), r[0].after.clone()),
            ("pc3", vec!["pc2".to_string()])
        );
        assert_eq!((r[1].device.as_str(), r[1].at.line), ("pc1", 5));
        let e = parse_dep("pc1 pc2\n", "lab.dep").unwrap_err();
        assert_eq!(e.0[0].line, 1);
        assert!(parse_dep("pc1:\n", "lab.dep").is_err());
    }
}
