//! Environment variables in a containerlab file, expanded as containerlab expands them
//! (envsubst, "restricted, no replace"): `$VAR` and `${VAR}` when VAR is set (left as written
//! when not), `${VAR:-default}` and kin, `$$` for a `$`; `$1` and other digits untouched.

use std::collections::BTreeMap;

/// `s` with the variables of `env` expanded.
pub(crate) fn expand(s: &str, env: &BTreeMap<String, String>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            let next = s[i..].find('$').map_or(s.len(), |j| i + j);
            out.push_str(&s[i..next]);
            i = next;
            continue;
        }
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => match s[i + 2..].find('}') {
                Some(len) => {
                    let inner = &s[i + 2..i + 2 + len];
                    match braced(inner, env) {
                        Some(v) => out.push_str(&v),
                        None => out.push_str(&s[i..i + 3 + len]),
                    }
                    i += 3 + len;
                }
                None => {
                    out.push_str(&s[i..]);
                    i = b.len();
                }
            },
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let end = s[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(s.len(), |j| i + 1 + j);
                let name = &s[i + 1..end];
                match env.get(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&s[i..end]),
                }
                i = end;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    out
}

/// `${…}`'s inside: its value, or None to leave it as written.
fn braced(inner: &str, env: &BTreeMap<String, String>) -> Option<String> {
    let end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, op) = inner.split_at(end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let val = env.get(name);
    let empty = val.is_none_or(|v| v.is_empty());
    let (op, word) = if let Some(w) = op.strip_prefix(":-").or(op.strip_prefix(":=")) {
        (":-", w)
    } else if let Some(w) = op.strip_prefix(":+") {
        (":+", w)
    } else if let Some(w) = op.strip_prefix('-').or(op.strip_prefix('=')) {
        ("-", w)
    } else if let Some(w) = op.strip_prefix('+') {
        ("+", w)
    } else if op.is_empty() {
        ("", "")
    } else {
        return None;
    };
    let word = || expand(word, env);
    match op {
        "" => val.cloned(),
        ":-" => Some(if empty {
            word()
        } else {
            val.cloned().unwrap_or_default()
        }),
        "-" => Some(val.cloned().unwrap_or_else(word)),
        ":+" => Some(if empty { String::new() } else { word() }),
        _ => Some(if val.is_some() { word() } else { String::new() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansions() {
        let env: BTreeMap<String, String> = [("A", "1"), ("E", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let x = |s: &str| expand(s, &env);
        assert_eq!(x("alpine:${A}"), "alpine:1");
        assert_eq!(x("$A/$B"), "1/$B");
        assert_eq!(x("${B}"), "${B}");
        assert_eq!(x("alpine:${V:=3}"), "alpine:3");
        assert_eq!(x("${E:-d}|${E-d}|${B-d}"), "d||d");
        assert_eq!(x("${A:+on}|${B:+on}|${E+set}"), "on||set");
        assert_eq!(x("ash -c 'echo $$FOO'"), "ash -c 'echo $FOO'");
        assert_eq!(x("$1 $ ${"), "$1 $ ${");
        assert_eq!(x("${A%x}"), "${A%x}");
        assert_eq!(x("${V:-$A}"), "1");
        assert_eq!(x("é$A"), "é1");
    }
}
