//! Shell habits: completion scripts for bash, zsh and fish and the man pages, all generated
//! from the CLI's own definition (clap_complete, clap_mangen), plus the hidden
//! `nsnet __complete` the scripts call back for what only a running lab knows: lab names,
//! node names, `node:iface`.
use crate::out::{out, outln};
use clap::{Args, CommandFactory, ValueEnum};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CompletionsCmd {
    /// The shell
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
pub struct ManCmd {
    /// Write nsnet.1 and a page per subcommand (nsnet-up.1 …) into this directory, instead of
    /// printing nsnet.1
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CompleteCmd {
    /// What to list
    #[arg(value_enum)]
    pub what: Candidates,
    /// Only this lab's
    #[arg(long)]
    pub lab: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidates {
    Labs,
    Nodes,
    Ifaces,
}

fn command() -> clap::Command {
    super::Cli::command()
}

impl CompletionsCmd {
    pub fn run(self) -> super::CmdResult {
        let mut cmd = command();
        let mut buf = Vec::new();
        let extra = match self.shell {
            Shell::Bash => {
                clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "nsnet", &mut buf);
                BASH_DYNAMIC
            }
            Shell::Zsh => {
                clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "nsnet", &mut buf);
                ""
            }
            Shell::Fish => {
                clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "nsnet", &mut buf);
                FISH_DYNAMIC
            }
        };
        let mut text = without_hidden(self.shell, &String::from_utf8_lossy(&buf), &cmd);
        if let Shell::Zsh = self.shell {
            text = zsh_dynamic(&text);
        }
        out!("{text}{extra}");
        Ok(0)
    }
}

impl ManCmd {
    pub fn run(self) -> super::CmdResult {
        let cmd = command();
        match &self.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                clap_mangen::generate_to(cmd, dir)?;
            }
            None => {
                let mut buf = Vec::new();
                clap_mangen::Man::new(cmd).render(&mut buf)?;
                out!("{}", String::from_utf8_lossy(&buf));
            }
        }
        Ok(0)
    }
}

impl CompleteCmd {
    /// Prints candidates, one a line; prints nothing (and succeeds) where it cannot see:
    /// without root, the labs' state is not readable.
    pub fn run(self) -> super::CmdResult {
        let labs = nsnet_core::state::list_labs();
        let labs: Vec<_> = match &self.lab {
            Some(l) => nsnet_core::LabName::from_arg(l)
                .ok()
                .into_iter()
                .filter(|l| labs.contains(l))
                .collect(),
            None => labs,
        };
        let mut seen = std::collections::BTreeSet::new();
        for lab in labs {
            if self.what == Candidates::Labs {
                seen.insert(lab.to_string());
                continue;
            }
            let Ok(running) = nsnet_core::RunningLab::open_name(&lab) else {
                continue;
            };
            for n in &running.plan().nodes {
                if self.what == Candidates::Nodes {
                    seen.insert(n.name.clone());
                } else {
                    for i in &n.interfaces {
                        seen.insert(format!("{}:{}", n.name, i.name));
                    }
                }
            }
        }
        for s in seen {
            outln!("{s}");
        }
        Ok(0)
    }
}

/// The generated script without the hidden subcommands among the words offered
/// (clap_complete offers them all).
fn without_hidden(shell: Shell, text: &str, cmd: &clap::Command) -> String {
    let hidden: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let offered = |h: &String| match shell {
            Shell::Bash => false,
            Shell::Zsh => t.starts_with(&format!("'{h}:")),
            Shell::Fish => line.contains(&format!("-a \"{h}\"")),
        };
        if hidden.iter().any(offered) {
            continue;
        }
        if matches!(shell, Shell::Bash) && t.starts_with("opts=\"") {
            let mut l = line.to_string();
            for h in &hidden {
                l = l.replace(&format!(" {h} "), " ");
            }
            out.push_str(&l);
            continue;
        }
        out.push_str(line);
    }
    out
}

/// Bash: values only a running lab knows, asked of the nsnet being completed (the first
/// word), before the generated completion handles the rest. `:` is a word break for bash,
/// so `r1:eth` arrives as three words and the answers are trimmed to what follows the last
/// colon (as bash-completion's `__ltrim_colon_completions` does).
const BASH_DYNAMIC: &str = r#"
# Dynamic values (labs, nodes, node:iface) come from `nsnet __complete`: lab state is
# readable by root only, so they complete for root.
_nsnet_dynamic() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    # The current word may be `node:if`, split by bash at the colon into three words.
    local last=$COMP_CWORD colon=""
    if [[ $cur == : ]]; then last=$((COMP_CWORD - 1)); colon="$prev:"; cur="$prev:"
    elif [[ $prev == : ]]; then last=$((COMP_CWORD - 2)); colon="${COMP_WORDS[COMP_CWORD-2]}:"; cur="$colon$cur"
    fi
    local sub="" subsub="" lab="" i w npos=0 skip=0
    for ((i = 1; i < last; i++)); do
        w="${COMP_WORDS[i]}"
        if [[ $w == : ]]; then skip=1; continue; fi
        if ((skip)); then skip=0; continue; fi
        case "$w" in
            --lab) lab="${COMP_WORDS[i+1]}"; ((i++)); continue ;;
            --) break ;;
            -*) continue ;;
        esac
        if [[ -z $sub ]]; then sub="$w"
        elif [[ $sub == link && -z $subsub ]]; then subsub="$w"
        else ((npos++))
        fi
    done
    local what=""
    if [[ $prev == --lab ]]; then
        what=labs
    elif [[ -n $sub && $cur != -* ]]; then
        case "$sub" in
            exec|enter|logs|fw|ssh|proxy) ((npos == 0)) && what=nodes ;;
            path) ((npos < 2)) && what=nodes ;;
            capture) ((npos == 0)) && what=ifaces ;;
            link) [[ -n $subsub && $subsub != show ]] && what="ifaces nodes" ;;
            down|status|ssh-config) ((npos == 0)) && what=labs ;;
            events|top|graph) ;;
        esac
    fi
    if [[ -n $what ]]; then
        local words="" k
        for k in $what; do
            words+=" $("${COMP_WORDS[0]}" __complete "$k" ${lab:+--lab "$lab"} 2>/dev/null)"
        done
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        if [[ -n $colon || $cur == *:* ]]; then
            local pre="${cur%"${cur##*:}"}"
            for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]="${COMPREPLY[i]#"$pre"}"; done
        fi
        ((${#COMPREPLY[@]})) && return 0
    fi
    _nsnet "$@"
}
complete -F _nsnet_dynamic -o bashdefault -o default nsnet
"#;

/// Fish: the same values, through `nsnet __complete`.
const FISH_DYNAMIC: &str = r#"
# Dynamic values (labs, nodes, node:iface) from `nsnet __complete` (root: lab state is root's).
function __nsnet_dynamic
    set -l words (commandline -opc)
    set -l lab
    set -l i (contains -i -- --lab $words)
    and set lab --lab $words[(math $i + 1)]
    nsnet __complete $argv $lab 2>/dev/null
end
complete -c nsnet -l lab -f -a '(__nsnet_dynamic labs)'
complete -c nsnet -n '__fish_seen_subcommand_from exec enter logs fw ssh proxy path' -f -a '(__nsnet_dynamic nodes)'
complete -c nsnet -n '__fish_seen_subcommand_from capture' -f -a '(__nsnet_dynamic ifaces)'
complete -c nsnet -n '__fish_seen_subcommand_from down up set; and __fish_seen_subcommand_from link' -f -a '(__nsnet_dynamic ifaces; __nsnet_dynamic nodes)'
complete -c nsnet -n '__fish_seen_subcommand_from down status ssh-config; and not __fish_seen_subcommand_from link' -f -a '(__nsnet_dynamic labs)'
"#;

/// Zsh: clap_complete leaves values it cannot know to `_default`; the ones named NODE,
/// NODE:IFACE and LAB get nsnet's own lists instead (`_nsnet_values KIND`).
fn zsh_dynamic(generated: &str) -> String {
    let mut text = generated.to_string();
    for (name, kind) in [
        (":node -- ", "nodes"),
        (":src -- ", "nodes"),
        (":target -- ", "ifaces"),
        (":lab -- ", "labs"),
        (":link -- ", "ifaces"),
    ] {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(name) {
            let end = rest[at..].find(":_default").map(|e| at + e);
            match end {
                Some(e) if !rest[at..e].contains('\n') => {
                    out.push_str(&rest[..e]);
                    out.push_str(&format!(":_nsnet_values {kind}"));
                    rest = &rest[e + ":_default".len()..];
                }
                _ => {
                    out.push_str(&rest[..at + name.len()]);
                    rest = &rest[at + name.len()..];
                }
            }
        }
        out.push_str(rest);
        text = out;
    }
    // Option values: `--lab=[…]:LAB:_default`.
    text = text.replace(":LAB:_default", ":LAB:_nsnet_values labs");
    let helper = r#"
# Dynamic values (labs, nodes, node:iface) from `nsnet __complete` (root: lab state is root's).
_nsnet_values() {
    local -a vals
    vals=(${(f)"$(nsnet __complete $1 2>/dev/null)"})
    _describe -t $1 $1 vals
}
"#;
    match text.find("if [ \"$funcstack[1]\" = \"_nsnet\" ]") {
        Some(at) => format!("{}{helper}\n{}", &text[..at], &text[at..]),
        None => format!("{text}{helper}"),
    }
}
