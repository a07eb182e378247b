//! The dirs that systemd-tmpfiles makes in /run at boot (`d /run/named 0775 root bind`),
//! made in the node's fresh /run before its first service starts: daemons such as named
//! expect them. Only `d` and `D` lines under /run are acted on; nothing outside the node's
//! own tmpfs is touched.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

/// Where tmpfiles.d configs live, most important first.
const DIRS: [&str; 5] = [
    "/etc/tmpfiles.d",
    "/run/tmpfiles.d",
    "/usr/local/lib/tmpfiles.d",
    "/usr/lib/tmpfiles.d",
    "/lib/tmpfiles.d",
];

/// One dir to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    pub path: String,
    pub mode: u32,
    pub user: String,
    pub group: String,
}

/// The `d`/`D` lines of a tmpfiles.d config whose path lies in /run (`/var/run` is /run).
pub fn parse(text: &str) -> Vec<RunDir> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let kind = f.first()?.trim_end_matches(['!', '-', '=', '~', '^']);
            if kind != "d" && kind != "D" {
                return None;
            }
            let path = f.get(1)?.replace("%t", "/run");
            let path = match path.strip_prefix("/var/run/") {
                Some(rest) => format!("/run/{rest}"),
                None => path,
            };
            if !path.starts_with("/run/") || path.contains('%') || path.contains("/../") {
                return None;
            }
            let field = |i: usize, default: &str| -> String {
                match f.get(i) {
                    Some(&"-") | None => default.to_string(),
                    Some(v) => v.to_string(),
                }
            };
            let mode = u32::from_str_radix(field(2, "0755").trim_start_matches('~'), 8).ok()?;
            Some(RunDir {
                path: path.trim_end_matches('/').to_string(),
                mode,
                user: field(3, "root"),
                group: field(4, "root"),
            })
        })
        .collect()
}

/// Every config's dirs: configs by file name, a name in a more important dir hiding the same
/// name further down.
pub fn configured(
    read_dir: impl Fn(&str) -> Vec<String>,
    read: impl Fn(&str) -> String,
) -> Vec<RunDir> {
    let mut files: Vec<(String, String)> = Vec::new();
    for d in DIRS {
        for name in read_dir(d) {
            if name.ends_with(".conf") && !files.iter().any(|(n, _)| *n == name) {
                files.push((name.clone(), format!("{d}/{name}")));
            }
        }
    }
    files.sort();
    files.iter().flat_map(|(_, p)| parse(&read(p))).collect()
}

/// Makes the node's boot-time /run dirs that are missing, with their mode and owner (names
/// from the node's passwd and group files).
pub fn create_run_dirs() {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = fs::read_to_string("/etc/group").unwrap_or_default();
    let dirs = configured(
        |d| {
            fs::read_dir(d)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        },
        |p| fs::read_to_string(p).unwrap_or_default(),
    );
    for d in dirs {
        if fs::symlink_metadata(&d.path).is_ok() {
            continue;
        }
        let uid = super::spawn::passwd_entry(&passwd, &d.user).map_or(0, |e| e.1);
        let gid = super::spawn::group_id(&group, &d.group).unwrap_or(0);
        if fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&d.path)
            .is_ok()
        {
            let _ = std::os::unix::fs::chown(&d.path, Some(uid), Some(gid));
            let _ = fs::set_permissions(&d.path, fs::Permissions::from_mode(d.mode));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dirs_of_tmpfiles_configs() {
        let text = "# named\nd /run/named 0775 root bind - -\n\
                    d /var/run/frr 0755 frr frr\nD! %t/x - - -\nd /var/lib/x 0700 a a\n\
                    L /run/link - - - - /x\nd /run/../etc 0755\n";
        assert_eq!(
            parse(text),
            vec![
                RunDir {
                    path: "/run/named".into(),
                    mode: 0o775,
                    user: "root".into(),
                    group: "bind".into()
                },
                RunDir {
                    path: "/run/frr".into(),
                    mode: 0o755,
                    user: "frr".into(),
                    group: "frr".into()
                },
                RunDir {
                    path: "/run/x".into(),
                    mode: 0o755,
                    user: "root".into(),
                    group: "root".into()
                },
            ]
        );
        let dirs = configured(
            |d| match d {
                "/etc/tmpfiles.d" => vec!["named.conf".into()],
                "/usr/lib/tmpfiles.d" => vec!["named.conf".into(), "frr.conf".into()],
                _ => vec![],
            },
            |p| match p {
                "/etc/tmpfiles.d/named.conf" => "d /run/named 0700 root root\n".into(),
                "/usr/lib/tmpfiles.d/frr.conf" => "d /run/frr 0755 frr frr\n".into(),
                other => panic!("{other} is hidden"),
            },
        );
        assert_eq!(
            dirs.iter()
                .map(|d| (d.path.as_str(), d.mode))
                .collect::<Vec<_>>(),
            [("/run/frr", 0o755), ("/run/named", 0o700)]
        );
    }
}
