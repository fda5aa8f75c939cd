//! Installing the hook shims: into the directory git really runs hooks from (`core.hooksPath`
//! honoured, linked worktrees share it), keeping any hook that was there (renamed beside it and
//! run first), and restoring it exactly on uninstall. Knows files, not git.
//!
//! The message hooks (prepare-commit-msg, commit-msg) matter on feature branches only. Where the
//! user has none of their own, the shim is kept as `<hook>.orchestrate-shim` and hard-linked into
//! place by the pre-commit shim when a commit starts on a feature branch (git looks for the
//! message hooks after pre-commit has run), and unlinked by it on other branches: there a commit
//! runs one hook, not three. A hook of the user's is never linked over nor unlinked.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The hooks the tool installs.
pub const HOOKS: &[&str] = &["pre-commit", "pre-merge-commit", "prepare-commit-msg", "commit-msg", "pre-push"];

/// Marks a shim as ours (and its format version).
pub const MARKER: &str = "git-orchestrate-hook v";

/// The marker of the shims this version writes; older ones still work, with less done in `sh`.
const CURRENT: &str = "git-orchestrate-hook v4 ";

/// The hooks that pre-commit links in on feature branches only (when the user has none).
pub const ARMABLE: &[&str] = &["prepare-commit-msg", "commit-msg"];

/// The hooks whose shim links the armable ones in and out: the first hooks of a commit.
const ARMING: &[&str] = &["pre-commit", "pre-merge-commit"];

/// Where an armable hook's shim is kept while it is not linked in.
pub fn stash_path(dir: &Path, hook: &str) -> PathBuf {
    dir.join(format!("{hook}.orchestrate-shim"))
}

const SHIM: &str = include_str!("../hooks/shim.sh");

pub fn chained_path(dir: &Path, hook: &str) -> PathBuf {
    dir.join(format!("{hook}.orchestrate-chained"))
}

/// The shim text for `hook`, exec'ing `bin` (its absolute path, quoted for sh). `prefixes` are
/// the literal starts of feature branch names: commits on other branches end in the shim.
/// `armed`: the message hooks a pre-commit shim links in and out.
pub fn shim(hook: &str, bin: &Path, prefixes: &[String], armed: &[&str]) -> String {
    let quoted = bin.to_string_lossy().replace('\'', "'\\''");
    // Only what starts a valid branch name is baked in. Leaving one out would let its branches
    // take the fast path, so then every commit goes to the binary instead.
    let (valid, invalid): (Vec<&String>, Vec<&String>) =
        prefixes.iter().partition(|p| crate::git::Repo::validate_branch_name(&format!("{p}x")).is_ok());
    // A sh `case` pattern: each prefix, glob characters escaped, followed by anything.
    let pattern = valid
        .iter()
        .map(|p| {
            let escaped: String = p
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || "/._-".contains(c) { c.to_string() } else { format!("\\{c}") })
                .collect();
            format!("{escaped}*")
        })
        .collect::<Vec<_>>()
        .join("|ref:\\ refs/heads/");
    // Pushes can carry feature branches from anywhere; an empty prefix matches every branch.
    let fast = hook != "pre-push" && invalid.is_empty() && !valid.is_empty() && !valid.iter().any(|p| p.is_empty());
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
        .replace("__ARMED__", &if ARMING.contains(&hook) { armed.join(" ") } else { String::new() })
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

/// Whether a file (or a symlink, even a dangling one) is at `path`.
fn present(path: &Path) -> bool {
    path.exists() || path.is_symlink()
}

/// Whether `a` and `b` are the same file (hard links of one another).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether `hook` will be linked in and out by pre-commit: it is armable and the user has no
/// hook of that name (here, or kept beside it).
fn armable(dir: &Path, hook: &str) -> bool {
    let path = dir.join(hook);
    let stash = stash_path(dir, hook);
    ARMABLE.contains(&hook)
        && !present(&chained_path(dir, hook))
        && (!present(&stash) || is_ours(&stash))
        && (!present(&path) || is_ours(&path) || same_file(&path, &stash))
}

/// Install the shims into `dir`. `arm`: whether the message hooks may be linked in and out (not
/// in a hooks directory inside the work tree, where that would show in `git status`).
pub fn install(dir: &Path, bin: &Path, prefixes: &[String], arm: bool) -> std::io::Result<Vec<Change>> {
    std::fs::create_dir_all(dir)?;
    // A kept-aside shim someone edited (through its hard link) is theirs now: give it back its
    // name, where the code below keeps it and runs it first.
    for hook in ARMABLE {
        let (path, stash) = (dir.join(hook), stash_path(dir, hook));
        if present(&stash) && !is_ours(&stash) {
            if same_file(&path, &stash) {
                std::fs::remove_file(&stash)?;
            } else if !present(&path) {
                std::fs::rename(&stash, &path)?;
            }
        }
    }
    let armed: Vec<&str> = ARMABLE.iter().copied().filter(|h| arm && armable(dir, h)).collect();
    let mut out = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let chained = chained_path(dir, hook);
        let stash = stash_path(dir, hook);
        let text = shim(hook, bin, prefixes, &armed);
        if armed.contains(hook) {
            let action = if present(&path) || present(&stash) { Action::Updated } else { Action::Installed };
            if std::fs::read_to_string(&stash).is_ok_and(|t| t == text) {
                touch(&stash);
            } else {
                write_executable(&stash, &text)?;
            }
            // Linked in now; the first commit outside a feature takes it out again.
            if !same_file(&path, &stash) {
                let tmp = path.with_extension("orchestrate-tmp");
                let _ = std::fs::remove_file(&tmp);
                std::fs::hard_link(&stash, &tmp).or_else(|_| std::fs::copy(&stash, &tmp).map(|_| ()))?;
                std::fs::rename(&tmp, &path)?;
            }
            out.push(Change { hook: (*hook).to_string(), action });
            continue;
        }
        let action = if present(&path) {
            if is_ours(&path) {
                Action::Updated
            } else if present(&chained) {
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
        // A hook that was armable before the user added their own: it stays in place now.
        if is_ours(&stash) {
            std::fs::remove_file(&stash)?;
        }
        if action == Action::Updated && std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            touch(&path);
            out.push(Change { hook: (*hook).to_string(), action });
            continue;
        }
        write_executable(&path, &text)?;
        out.push(Change { hook: (*hook).to_string(), action });
    }
    Ok(out)
}

/// Make an unchanged shim newer than the configuration again: its fast path compares the two
/// (`-nt`), and a stale time would send every commit to the binary. Best effort: a hooks
/// directory this user cannot write keeps its times, and installing changes nothing there.
fn touch(path: &Path) {
    if let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

pub fn uninstall(dir: &Path) -> std::io::Result<Vec<Change>> {
    let mut out = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let chained = chained_path(dir, hook);
        let stash = stash_path(dir, hook);
        let stashed = is_ours(&stash);
        let action = if is_ours(&path) {
            std::fs::remove_file(&path)?;
            if present(&chained) {
                std::fs::rename(&chained, &path)?;
                Action::Restored
            } else {
                Action::Removed
            }
        } else if present(&path) {
            Action::Kept
        } else if stashed {
            Action::Removed
        } else {
            Action::Absent
        };
        if stashed {
            std::fs::remove_file(&stash)?;
        }
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
    /// Linked in by pre-commit on feature branches only (the user has no hook of this name).
    pub feature_branches_only: bool,
    pub problem: Option<String>,
}

pub fn status(dir: &Path) -> Vec<HookStatus> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    let current = |p: &Path| std::fs::read_to_string(p).is_ok_and(|t| t.contains(CURRENT));
    // The message hooks kept aside fire when a pre-commit shim links them in.
    let arming = ARMING.iter().any(|h| is_ours(&dir.join(h)) && executable(&dir.join(h)));
    HOOKS
        .iter()
        .map(|hook| {
            let path = dir.join(hook);
            let stash = stash_path(dir, hook);
            let chained = chained_path(dir, hook).exists();
            // A message hook kept aside runs from there, once a pre-commit shim links it in.
            let stashed = is_ours(&stash);
            let file = if stashed { &stash } else { &path };
            let foreign = present(&path) && !is_ours(&path);
            let problem = if stashed && foreign {
                Some("a hook of yours took its place: `hooks install` keeps yours and runs it first".to_string())
            } else if !stashed && !path.exists() {
                Some("not installed: git orchestrate hooks install".to_string())
            } else if foreign {
                Some("another tool's hook is here; `hooks install` keeps it and runs it first".to_string())
            } else if stashed && !arming {
                Some("only pre-commit links it in on feature branches, and pre-commit is not installed".to_string())
            } else if !executable(file) {
                Some(format!("not executable, git skips it: chmod +x {}", file.display()))
            } else if !current(file) {
                Some("an older shim (it works, more slowly): git orchestrate hooks install updates it".to_string())
            } else {
                None
            };
            let installed = stashed || is_ours(&path);
            HookStatus {
                hook: (*hook).to_string(),
                installed,
                chained,
                executable: executable(file),
                fires: installed && !foreign && (arming || !stashed) && executable(file),
                feature_branches_only: stashed,
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

    #[test]
    fn a_name_that_is_no_branch_name_is_never_baked_in_and_turns_the_fast_path_off() {
        let bin = std::path::Path::new("/bin/git-orchestrate");
        let prefixes = vec!["orchestrate/".to_string(), "evil\n$(touch pwned)".to_string()];
        let text = super::shim("pre-commit", bin, &prefixes, &[]);
        assert!(!text.contains("pwned"), "{text}");
        assert!(text.contains("\nfast=no\n"), "every commit goes to the binary instead");
        // A valid one with characters sh cares about is baked in, each of them escaped.
        let text = super::shim("pre-commit", bin, &["a$(b)&c{d}/".to_string()], &[]);
        assert!(text.contains("refs/heads/a\\$\\(b\\)\\&c\\{d\\}/*)"), "{text}");
        assert!(text.contains("\nfast=yes\n"));
    }
}
