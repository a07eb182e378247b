//! JUnit XML, as CI systems read test reports (Jenkins, GitLab, GitHub Actions' reporters):
//! `<testsuites>`, a `<testsuite>` per lab or scenario, a `<testcase>` per check, with a
//! `<failure>` (message: what was expected and seen; text: that and the programs' output)
//! or `<skipped>`. Small enough to write here rather than take a crate for.

use nsnet_core::ops::test::{Status, Suite};
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The report of `suites` of lab `lab`, started at `started`.
pub fn report(lab: &str, suites: &[Suite], started: SystemTime) -> String {
    let count = |s: &Suite, st: Status| s.results.iter().filter(|r| r.status == st).count();
    let all = |st: Status| suites.iter().map(|s| count(s, st)).sum::<usize>();
    let tests: usize = suites.iter().map(|s| s.results.len()).sum();
    let time: f64 = suites.iter().map(|s| s.seconds).sum();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{time:.3}\">",
        attr(&format!("nsnet test {lab}")),
        all(Status::Failed),
        all(Status::Skipped),
    );
    for s in suites {
        let name = if s.scenario {
            format!("{lab}: {}", s.name)
        } else {
            lab.to_string()
        };
        let class = if s.scenario {
            format!("{lab}.{}", s.name)
        } else {
            lab.to_string()
        };
        let _ = writeln!(
            o,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\" hostname=\"{}\">",
            attr(&name),
            s.results.len(),
            count(s, Status::Failed),
            count(s, Status::Skipped),
            s.seconds,
            timestamp(started),
            attr(host),
        );
        for r in &s.results {
            let head = format!(
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                attr(&r.name),
                attr(&class),
                r.seconds
            );
            match r.status {
                Status::Passed if r.output.is_empty() => {
                    let _ = writeln!(o, "{head}/>");
                }
                Status::Passed => {
                    let _ = writeln!(o, "{head}>");
                    let _ = writeln!(o, "      <system-out>{}</system-out>", text(&r.output));
                    let _ = writeln!(o, "    </testcase>");
                }
                Status::Skipped => {
                    let _ = writeln!(o, "{head}>");
                    let _ = writeln!(o, "      <skipped message=\"{}\"/>", attr(&r.seen));
                    let _ = writeln!(o, "    </testcase>");
                }
                Status::Failed => {
                    let message = format!("expected {}; saw {}", r.expected, r.seen);
                    let mut body = format!(
                        "node: {}\nexpected: {}\nseen: {}\nattempts: {}",
                        r.node, r.expected, r.seen, r.attempts
                    );
                    if !r.output.is_empty() {
                        body.push_str("\noutput:\n");
                        body.push_str(&r.output);
                    }
                    let _ = writeln!(o, "{head}>");
                    let _ = writeln!(
                        o,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        attr(&message),
                        attr(&r.kind),
                        text(&body)
                    );
                    if !r.output.is_empty() {
                        let _ = writeln!(o, "      <system-out>{}</system-out>", text(&r.output));
                    }
                    let _ = writeln!(o, "    </testcase>");
                }
            }
        }
        let _ = writeln!(o, "  </testsuite>");
    }
    o.push_str("</testsuites>\n");
    o
}

/// Text content: `&`, `<`, `>` escaped; characters XML 1.0 forbids (most control
/// characters, which a program's output may hold) shown as `\u{..}`.
fn text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(o, "\\u{{{:x}}}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// An attribute value: as text, with quotes and line breaks escaped too.
fn attr(s: &str) -> String {
    text(s)
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

/// `2026-11-22T10:04:05` (UTC), as JUnit's timestamp attribute has it.
fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsnet_core::ops::test::CheckResult;
    use std::time::Duration;

    #[test]
    fn escapes_and_dates() {
        assert_eq!(text("a<b & \u{1b}[0m"), "a&lt;b &amp; \\u{1b}[0m");
        assert_eq!(attr("say \"hi\"\nthere"), "say &quot;hi&quot;&#10;there");
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(timestamp(t), "2023-11-14T22:13:20");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00");
    }

    #[test]
    fn a_failing_check_is_a_failure() {
        let r = |name: &str, status| CheckResult {
            name: name.into(),
            kind: "tcp".into(),
            node: "h1".into(),
            status,
            seconds: 0.5,
            attempts: 1,
            expected: "tcp h2:80 open".into(),
            seen: "closed".into(),
            output: String::new(),
        };
        let suites = [Suite {
            name: "lab".into(),
            scenario: false,
            seconds: 1.0,
            results: vec![r("good", Status::Passed), r("bad <one>", Status::Failed)],
        }];
        let x = report("lab", &suites, UNIX_EPOCH);
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert!(
            x.contains("<testcase name=\"good\" classname=\"lab\" time=\"0.500\"/>"),
            "{x}"
        );
        assert!(
            x.contains("<failure message=\"expected tcp h2:80 open; saw closed\" type=\"tcp\">"),
            "{x}"
        );
        assert!(x.contains("name=\"bad &lt;one&gt;\""), "{x}");
    }
}
