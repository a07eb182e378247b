//! systemd's command lines and environment: `ExecStart=` split into commands with their
//! prefixes, `$VAR`/`${VAR}` expanded at run time, `Environment=` assignments and
//! `EnvironmentFile=` files, each quoted the way systemd quotes them.

/// One command of an `Exec*=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    /// `-`: a failure (non-zero exit, missing program) is ignored.
    pub ignore_failure: bool,
    /// `@`: the second word is `argv[0]`, the first only the program.
    pub argv0: bool,
    /// `:`: no environment variable expansion.
    pub no_expand: bool,
    /// `+`, `!`, `!!`: run with full privileges (User= and Group= do not apply).
    pub privileged: bool,
    /// The words after unquoting: the program first.
    pub words: Vec<String>,
}

impl ExecCommand {
    /// The program and its argv with `env` expanded (`$VAR` as a word of its own splits into
    /// words, `${VAR}` stays inside its word, `$$` is a dollar).
    pub fn expand(&self, env: &[(String, String)]) -> (String, Vec<String>) {
        let program = self.words.first().cloned().unwrap_or_default();
        let rest = if self.argv0 {
            &self.words[1.min(self.words.len())..]
        } else {
            &self.words[..]
        };
        let mut argv = Vec::new();
        for w in rest {
            if self.no_expand {
                argv.push(w.clone());
            } else if let Some(name) = w.strip_prefix('$').filter(|n| valid_name(n)) {
                argv.extend(lookup(env, name).split_whitespace().map(String::from));
            } else {
                argv.push(expand_braced(w, env));
            }
        }
        (program, argv)
    }

    /// The line as systemd would show it (words joined by spaces).
    pub fn display(&self) -> String {
        self.words.join(" ")
    }
}

fn lookup<'a>(env: &'a [(String, String)], name: &str) -> &'a str {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `${NAME}` replaced by its value inside a word; `$$` is `$`.
fn expand_braced(word: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after
            .strip_prefix('{')
            .and_then(|a| a.split_once('}'))
            .filter(|(n, _)| valid_name(n))
        {
            out.push_str(lookup(env, name));
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// A word as systemd's `extract_first_word` with unquoting and C escapes gives it, and
/// whether it was the bare separator `;`.
#[derive(Debug)]
struct Word {
    text: String,
    bare_semicolon: bool,
}

/// Splits `s` into words: whitespace separates, single and double quotes group (also
/// inside a word: `a"b c"` is `ab c`), backslash escapes work inside and outside quotes.
fn split_words(s: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut text = String::new();
        let mut quote: Option<char> = None;
        let mut plain = true;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '\'' | '"') => {
                    quote = Some(c);
                    plain = false;
                }
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    plain = false;
                    match chars.next() {
                        Some(e) => unescape(e, &mut chars, &mut text),
                        None => return Err("a trailing backslash".into()),
                    }
                }
                (_, c) => text.push(c),
            }
        }
        if quote.is_some() {
            return Err(format!("unbalanced quotes in `{s}`"));
        }
        words.push(Word {
            bare_semicolon: plain && text == ";",
            text,
        });
    }
}

/// The C escape after a backslash (`\n`, `\t`, `\xNN`, `\NNN`, `\uXXXX` …); an unknown
/// one is the character itself.
fn unescape(e: char, chars: &mut std::iter::Peekable<std::str::Chars>, out: &mut String) {
    let mut take_digits = |n: usize, radix: u32| -> Option<char> {
        let mut v = 0u32;
        for _ in 0..n {
            let d = chars.peek()?.to_digit(radix)?;
            chars.next();
            v = v * radix + d;
        }
        char::from_u32(v)
    };
    let c = match e {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        's' => ' ',
        'x' => take_digits(2, 16).unwrap_or('x'),
        'u' => take_digits(4, 16).unwrap_or('u'),
        'U' => take_digits(8, 16).unwrap_or('U'),
        '0'..='7' => {
            let first = e.to_digit(8).unwrap_or(0);
            let rest = take_digits(2, 8).map_or(0, |c| c as u32);
            char::from_u32(first * 64 + rest).unwrap_or('?')
        }
        other => other,
    };
    out.push(c);
}

/// Parses one `Exec*=` value: one or more commands separated by a bare `;`, each with its
/// prefixes (`-`, `@`, `:`, `+`, `!`, `!!`) on the first word.
pub fn parse_exec(value: &str) -> Result<Vec<ExecCommand>, String> {
    let mut cmds = Vec::new();
    let mut words = split_words(value)?.into_iter().peekable();
    while words.peek().is_some() {
        let mut cmd = ExecCommand {
            ignore_failure: false,
            argv0: false,
            no_expand: false,
            privileged: false,
            words: Vec::new(),
        };
        for w in words.by_ref() {
            if w.bare_semicolon {
                break;
            }
            if cmd.words.is_empty() {
                let mut first = w.text.as_str();
                while let Some(c) = first.chars().next().filter(|c| "-@:+!".contains(*c)) {
                    match c {
                        '-' => cmd.ignore_failure = true,
                        '@' => cmd.argv0 = true,
                        ':' => cmd.no_expand = true,
                        _ => cmd.privileged = true,
                    }
                    first = &first[1..];
                }
                if first.is_empty() {
                    return Err(format!("no program in `{value}`"));
                }
                cmd.words.push(first.to_string());
            } else {
                cmd.words.push(w.text);
            }
        }
        if cmd.argv0 && cmd.words.len() < 2 {
            return Err(format!("`@` without an argv[0] in `{value}`"));
        }
        if !cmd.words.is_empty() {
            cmds.push(cmd);
        }
    }
    Ok(cmds)
}

/// `Environment=` assignments: quoted words of `NAME=VALUE` (others are ignored, as systemd
/// ignores them with a warning).
pub fn parse_environment(value: &str) -> Vec<(String, String)> {
    split_words(value)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|w| {
            let (k, v) = w.text.split_once('=')?;
            valid_name(k).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// An `EnvironmentFile=`'s assignments: `NAME=VALUE` lines, `#` and `;` comments, values
/// single-quoted (literal), double-quoted (`\"`, `\\`, `` \` ``, `\$` escaped) or bare
/// (backslash escapes the next character; trailing blanks dropped); a backslash at the end of a
/// line continues it. An `export ` before the name is allowed.
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        // Start of a line: blanks, then a comment, an empty line or a name.
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return out;
        };
        if first == '#' || first == ';' || first == '\n' || first == '\r' {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == '\n' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let name = name.trim().trim_start_matches("export ").trim().to_string();
        if chars.next() != Some('=') {
            continue;
        }
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut value = String::new();
        // Bytes of `value` that may be trimmed as trailing blanks (not quoted, not escaped).
        let mut keep = 0;
        while let Some(c) = chars.next() {
            match c {
                '\n' => break,
                '\'' => {
                    for c in chars.by_ref() {
                        if c == '\'' {
                            break;
                        }
                        value.push(c);
                    }
                    keep = value.len();
                }
                '"' => {
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => match chars.next() {
                                Some('\n') => {}
                                Some(e @ ('"' | '\\' | '`' | '$')) => value.push(e),
                                Some(e) => {
                                    value.push('\\');
                                    value.push(e);
                                }
                                None => break,
                            },
                            c => value.push(c),
                        }
                    }
                    keep = value.len();
                }
                '\\' => match chars.next() {
                    Some('\n') | None => {}
                    Some(e) => {
                        value.push(e);
                        keep = value.len();
                    }
                },
                c => {
                    value.push(c);
                    if !c.is_whitespace() {
                        keep = value.len();
                    }
                }
            }
        }
        value.truncate(keep);
        if valid_name(&name) {
            out.push((name, value));
        }
    }
}

/// Sets `name` in `env` (replacing an earlier value, keeping the order of first setting).
pub fn set_env(env: &mut Vec<(String, String)>, name: &str, value: &str) {
    match env.iter_mut().find(|(k, _)| k == name) {
        Some(e) => e.1 = value.to_string(),
        None => env.push((name.to_string(), value.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn exec_lines_split_with_prefixes_quotes_and_escapes() {
        let c = parse_exec("-/usr/sbin/named -f $OPTIONS").unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].ignore_failure && !c[0].argv0);
        assert_eq!(c[0].words, ["/usr/sbin/named", "-f", "$OPTIONS"]);

        let c = parse_exec(r#"@/bin/sh  my-sh -c "echo 'a  b'; exit 0" x\ty it\'s"#).unwrap();
        assert!(c[0].argv0);
        assert_eq!(
            c[0].words,
            [
                "/bin/sh",
                "my-sh",
                "-c",
                "echo 'a  b'; exit 0",
                "x\ty",
                "it's"
            ]
        );
        let (prog, argv) = c[0].expand(&[]);
        assert_eq!(prog, "/bin/sh");
        assert_eq!(argv[0], "my-sh");

        // A bare `;` separates commands; an escaped or quoted one does not.
        let c = parse_exec(r#"/bin/a 1 ; +/bin/b \; ";""#).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].words, ["/bin/a", "1"]);
        assert!(c[1].privileged);
        assert_eq!(c[1].words, ["/bin/b", ";", ";"]);

        // Quotes inside a word, C escapes, all prefixes at once.
        let c = parse_exec(r#"-:!!/bin/x a"b c"d \x41\101\u00e9 \s"#).unwrap();
        assert!(c[0].ignore_failure && c[0].no_expand && c[0].privileged);
        assert_eq!(c[0].words, ["/bin/x", "ab cd", "AAé", " "]);

        assert!(parse_exec("/bin/x 'open").is_err());
        assert!(parse_exec("@/bin/x").is_err());
        assert!(parse_exec("-").is_err());
        assert!(parse_exec("").unwrap().is_empty());
    }

    #[test]
    fn variables_expand_as_systemd_expands_them() {
        let e = env(&[("OPTIONS", "-u bind  -4"), ("D", "/var/x y"), ("EMPTY", "")]);
        let c =
            &parse_exec(r#"/usr/sbin/named -f $OPTIONS $EMPTY $UNSET "${D}" --d=${D}/z $$5 a$D"#)
                .unwrap()[0];
        let (prog, argv) = c.expand(&e);
        assert_eq!(prog, "/usr/sbin/named");
        assert_eq!(
            argv,
            [
                "/usr/sbin/named",
                "-f",
                "-u",
                "bind",
                "-4",
                "/var/x y",
                "--d=/var/x y/z",
                "$5",
                "a$D"
            ]
        );
        // A quoted `$VAR` is still a word of its own: systemd unquotes first.
        let c = &parse_exec(r#"/bin/kill -HUP "$MAINPID""#).unwrap()[0];
        assert_eq!(
            c.expand(&env(&[("MAINPID", "42")])).1,
            ["/bin/kill", "-HUP", "42"]
        );
        let c = &parse_exec(":/bin/echo $A ${A}").unwrap()[0];
        assert_eq!(c.expand(&env(&[("A", "1")])).1, ["/bin/echo", "$A", "${A}"]);
        // The last setting wins.
        let c = &parse_exec("/bin/echo ${A}").unwrap()[0];
        assert_eq!(c.expand(&env(&[("A", "1"), ("A", "2")])).1[1], "2");
    }

    #[test]
    fn environment_assignments() {
        assert_eq!(
            parse_environment(r#"APACHE_STARTED_BY_SYSTEMD=true "B=two words" C= 1bad=x nothing"#),
            env(&[
                ("APACHE_STARTED_BY_SYSTEMD", "true"),
                ("B", "two words"),
                ("C", "")
            ])
        );
    }

    #[test]
    fn environment_files() {
        let text = "#\n# run resolvconf?\nRESOLVCONF=no\n\n# startup options\nOPTIONS=\"-u bind\"\n\
                    ; comment\n  SPACED = value with blanks   \nSQ='a \"b\" $c'\nDQ=\"x \\\"y\\\" \\$z \\n\"\n\
                    CONT=one\\\ntwo\nexport EXP=1\nBAD NAME=2\nMIX=a'b c'\"d\"e\nESC=a\\ b\\\\\n";
        assert_eq!(
            parse_env_file(text),
            env(&[
                ("RESOLVCONF", "no"),
                ("OPTIONS", "-u bind"),
                ("SPACED", "value with blanks"),
                ("SQ", "a \"b\" $c"),
                ("DQ", "x \"y\" $z \\n"),
                ("CONT", "onetwo"),
                ("EXP", "1"),
                ("MIX", "ab cde"),
                ("ESC", "a b\\"),
            ])
        );
        assert!(parse_env_file("").is_empty());
        assert_eq!(parse_env_file("A=1"), env(&[("A", "1")]));
    }
}
