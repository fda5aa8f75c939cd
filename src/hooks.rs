//! Installing the hook shims: into the directory git really runs hooks from (`core.hooksPath`
//! honoured, linked worktrees share it), keeping any hook that was there (renamed beside it and
//! run first), and restoring it exactly on uninstall. Knows files, not git.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The hooks the tool installs.
pub const HOOKS: &[&str] = &["pre-commit", "pre-merge-commit", "prepare-commit-msg", "commit-msg", "pre-push"];

/// Marks a shim as ours (and its format version).
pub const MARKER: &str = "git-orchestrate-hook v";

/// The marker of the shims this version writes; older ones still work, with less done in `sh`.
const CURRENT: &str = "git-orchestrate-hook v3 ";

const SHIM: &str = include_str!("../hooks/shim.sh");

pub fn chained_path(dir: &Path, hook: &str) -> PathBuf {
    dir.join(format!("{hook}.orchestrate-chained"))
}

/// The shim text for `hook`, exec'ing `bin` (its absolute path, quoted for sh). `prefixes` are
/// the literal starts of feature branch names: commits on other branches end in the shim.
pub fn shim(hook: &str, bin: &Path, prefixes: &[String]) -> String {
    let quoted = bin.to_string_lossy().replace('\'', "'\\''");
    // A sh `case` pattern: each prefix, glob characters escaped, followed by anything.
    let pattern = prefixes
        .iter()
        .map(|p| {
            let escaped: String = p
                .chars()
                .map(|c| if "*?[]\\|()'\" $`;&<> ".contains(c) { format!("\\{c}") } else { c.to_string() })
                .collect();
            format!("{escaped}*")
        })
        .collect::<Vec<_>>()
        .join("|ref:\\ refs/heads/");
    // Pushes can carry feature branches from anywhere; an empty prefix matches every branch.
    let fast = hook != "pre-push" && !prefixes.iter().any(String::is_empty);
    // For commit-msg's own fast path: the header patterns of each commit type, and every
    // keyword of a blocking secret rule, case-insensitively.
    let types = crate::plan::COMMIT_TYPES;
    let colon = types.iter().map(|t| format!("{t}':'\\ [![:space:]]*|{t}'!:'\\ [![:space:]]*")).collect::<Vec<_>>();
    let paren = types.iter().map(|t| format!("{t}\\(*")).collect::<Vec<_>>();
    let words: Vec<String> = crate::secrets::rules::builtin()
        .iter()
        .filter(|r| !r.warn_only)
        .flat_map(|r| r.keywords.clone())
        .map(|k| format!("*{}*", case_insensitive(&k)))
        .collect();
    SHIM.replace("__BIN__", &quoted)
        .replace("__TYPES_COLON__", &colon.join(" | "))
        .replace("__TYPES_PAREN__", &paren.join(" | "))
        .replace("__SECRET_WORDS__", &words.join(" | "))
        .replace("__HOOK__", hook)
        .replace("__PREFIXES__", &pattern)
        .replace("__FAST__", if fast { "yes" } else { "no" })
}

/// `word` as a sh `case` pattern that matches it in any letter case, other characters escaped.
fn case_insensitive(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else if c.is_ascii_alphanumeric() || "-_./:".contains(c) {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

pub fn is_ours(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| String::from_utf8_lossy(&b[..b.len().min(512)]).contains(MARKER))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Installed,
    Updated,
    /// A hook of the user's was kept and is run first.
    Chained,
    Removed,
    /// The user's hook is back where it was.
    Restored,
    /// Not ours: left alone.
    Kept,
    Absent,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub hook: String,
    pub action: Action,
}

fn write_executable(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Write beside and rename: a hook is never seen half-written.
    let tmp = path.with_extension("orchestrate-tmp");
    std::fs::write(&tmp, text)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, path)
}

pub fn install(dir: &Path, bin: &Path, prefixes: &[String]) -> std::io::Result<Vec<Change>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let chained = chained_path(dir, hook);
        let action = if path.exists() || path.is_symlink() {
            if is_ours(&path) {
                Action::Updated
            } else if chained.exists() || chained.is_symlink() {
                // Both a foreign hook and a kept one: do not guess which wins.
                return Err(std::io::Error::other(format!(
                    "{} and {} both exist; move one of them away first",
                    path.display(),
                    chained.display()
                )));
            } else {
                std::fs::rename(&path, &chained)?;
                Action::Chained
            }
        } else {
            Action::Installed
        };
        let text = shim(hook, bin, prefixes);
        if action == Action::Updated && std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            out.push(Change { hook: (*hook).to_string(), action });
            continue;
        }
        write_executable(&path, &text)?;
        out.push(Change { hook: (*hook).to_string(), action });
    }
    Ok(out)
}

pub fn uninstall(dir: &Path) -> std::io::Result<Vec<Change>> {
    let mut out = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let chained = chained_path(dir, hook);
        let action = if is_ours(&path) {
            std::fs::remove_file(&path)?;
            if chained.exists() || chained.is_symlink() {
                std::fs::rename(&chained, &path)?;
                Action::Restored
            } else {
                Action::Removed
            }
        } else if path.exists() {
            Action::Kept
        } else {
            Action::Absent
        };
        out.push(Change { hook: (*hook).to_string(), action });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
#[allow(clippy::struct_excessive_bools)]
pub struct HookStatus {
    pub hook: String,
    pub installed: bool,
    pub chained: bool,
    pub executable: bool,
    /// Whether git will run our shim for this hook.
    pub fires: bool,
    pub problem: Option<String>,
}

pub fn status(dir: &Path) -> Vec<HookStatus> {
    use std::os::unix::fs::PermissionsExt;
    HOOKS
        .iter()
        .map(|hook| {
            let path = dir.join(hook);
            let installed = is_ours(&path);
            let executable = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
            let chained = chained_path(dir, hook).exists();
            let problem = if !path.exists() {
                Some("not installed: git orchestrate hooks install".to_string())
            } else if !installed {
                Some("another tool's hook is here; `hooks install` keeps it and runs it first".to_string())
            } else if !executable {
                Some(format!("not executable, git skips it: chmod +x {}", path.display()))
            } else if !std::fs::read_to_string(&path).is_ok_and(|t| t.contains(CURRENT)) {
                Some("an older shim (it works, more slowly): git orchestrate hooks install updates it".to_string())
            } else {
                None
            };
            HookStatus {
                hook: (*hook).to_string(),
                installed,
                chained,
                executable,
                fires: installed && executable,
                problem,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shim_carries_the_current_marker() {
        assert!(super::SHIM.contains(super::CURRENT));
    }
}
