//! Every environment variable the tool reads, in one place (clippy.toml bans `std::env::var`
//! elsewhere). Nothing here writes the environment.

#![allow(clippy::disallowed_methods)]

use std::ffi::OsString;

/// Variables set by AI coding agents' shells. Approvals are human pause points, so they are
/// refused where one of these is present (SPEC §8).
const AGENT_MARKERS: &[(&str, &str)] = &[
    ("CLAUDECODE", "Claude Code"),
    ("CLAUDE_CODE_ENTRYPOINT", "Claude Code"),
    ("CODEX_SANDBOX", "Codex"),
    ("CODEX_SANDBOX_NETWORK_DISABLED", "Codex"),
    ("CODEX_MANAGED_BY_NPM", "Codex"),
    ("CURSOR_AGENT", "Cursor"),
    ("GEMINI_CLI", "Gemini CLI"),
    ("AIDER_MODEL", "aider"),
    ("OPENCODE", "opencode"),
    ("GOOSE_TERMINAL", "goose"),
    ("CLINE_ACTIVE", "Cline"),
    ("COPILOT_AGENT", "Copilot agent"),
    ("ORCHESTRATE_AGENT", "an agent (ORCHESTRATE_AGENT is set)"),
];

/// The name of the agent whose environment we run in, if any.
pub fn agent() -> Option<&'static str> {
    AGENT_MARKERS
        .iter()
        .find(|(var, _)| std::env::var_os(var).is_some_and(|v| !v.is_empty() && v != "0"))
        .map(|(_, name)| *name)
}

/// `NO_COLOR` set to anything non-empty turns colour off (<https://no-color.org>).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// `TZ`, for the local time of commits and reflogs.
pub fn tz() -> Option<String> {
    std::env::var_os("TZ").map(|v| v.to_string_lossy().into_owned())
}

/// The user's home directory, for `~/` in `core.hooksPath`.
pub fn home() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(std::path::PathBuf::from)
}

/// `ORCHESTRATE_SKIP=gate,gate`: gates the user asks to skip (only optional ones can be).
pub fn skip() -> Vec<String> {
    std::env::var("ORCHESTRATE_SKIP")
        .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// `ORCHESTRATE_TRUST_CONFIG=1`: run the committed configuration's commands without a trust
/// record, for CI, which runs what its own repository says (documented in the README).
pub fn trust_config() -> bool {
    std::env::var_os("ORCHESTRATE_TRUST_CONFIG").is_some_and(|v| v == "1" || v == "true")
}

/// The user's own configuration directory for this tool: `$XDG_CONFIG_HOME/git-orchestrate`,
/// else `~/.config/git-orchestrate`. Outside every repository.
pub fn config_dir() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home().map(|h| h.join(".config")))?;
    Some(base.join("git-orchestrate"))
}

/// `ORCHESTRATE_TEST_NOW` (an RFC 3339 time, e.g. `2026-01-01T00:00:00Z`): for tests only, the
/// clock every event, evidence record and notes commit reads, and the seed of event ids, so
/// outputs can be snapshotted. Unset (always, outside tests), the real clock is used.
pub fn test_now() -> Option<jiff::Timestamp> {
    std::env::var("ORCHESTRATE_TEST_NOW").ok().and_then(|v| v.parse().ok())
}

/// The time now: the real clock, or the fixed one tests set ([`test_now`]).
pub fn now() -> jiff::Timestamp {
    test_now().unwrap_or_else(jiff::Timestamp::now)
}

/// The user's cache directory for this tool: `$XDG_CACHE_HOME/git-orchestrate`, else
/// `~/.cache/git-orchestrate`. Outside every repository (the gate worktrees live there).
pub fn cache_dir() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home().map(|h| h.join(".cache")))?;
    Some(base.join("git-orchestrate"))
}

/// Whose identity: the author's or the committer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Author,
    Committer,
}

fn non_empty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// `GIT_AUTHOR_NAME`/`_EMAIL` or `GIT_COMMITTER_NAME`/`_EMAIL`.
pub fn git_person(role: Role) -> (Option<String>, Option<String>) {
    match role {
        Role::Author => (non_empty("GIT_AUTHOR_NAME"), non_empty("GIT_AUTHOR_EMAIL")),
        Role::Committer => (non_empty("GIT_COMMITTER_NAME"), non_empty("GIT_COMMITTER_EMAIL")),
    }
}

/// `GIT_AUTHOR_DATE` or `GIT_COMMITTER_DATE`.
pub fn git_date(role: Role) -> Option<String> {
    non_empty(match role {
        Role::Author => "GIT_AUTHOR_DATE",
        Role::Committer => "GIT_COMMITTER_DATE",
    })
}

/// `EMAIL`, git's last fallback for an email address.
pub fn email() -> Option<String> {
    non_empty("EMAIL")
}

/// `GIT_INDEX_FILE`: inside a hook, the index git is committing (a temporary one for
/// `git commit -a` or `git commit <paths>`). Relative to the current directory, as in git.
pub fn git_index_file() -> Option<std::path::PathBuf> {
    std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty()).map(std::path::PathBuf::from)
}

/// `PATH`, for finding `git` with `which`.
pub fn path() -> Option<OsString> {
    std::env::var_os("PATH")
}

/// Drop git's repository variables from this process (for the tour, which works in a throwaway
/// repository and must never follow `GIT_DIR` back to the caller's). Called before any thread
/// starts.
pub fn forget_git_repository() {
    for var in GIT_REPO_VARS {
        std::env::remove_var(var);
    }
}

/// For the tour, which gates its own throwaway repository: its configuration's commands run
/// without a trust record, in this process and the hooks it starts. Called before any thread.
pub fn trust_this_process() {
    std::env::set_var("ORCHESTRATE_TRUST_CONFIG", "1");
}

/// Git's own variables that point a child process at a repository. Inside a hook git exports
/// them; they must be stripped before running git anywhere else.
pub const GIT_REPO_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
];
