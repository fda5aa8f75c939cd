//! The only door to git. gix does the reads and the ref, object and notes writes in-process;
//! [`cli`] runs the `git` binary for what gix cannot do (switching a work tree, `merge-tree`,
//! config writes). No other module touches a repository or spawns a process.

mod cli;
mod diff;
mod index;
mod loose;
pub mod notes;
pub mod remote;
pub mod sign;

/// How a path changed (the name the audit uses).
pub use diff::Status as ChangeStatus;
pub use diff::{binary_text, changed_lines, is_binary, ChangedLines, FileChange, FileStat, Status};

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::{FullName, Target};

pub use gix::ObjectId;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{context}: {source}")]
    Gix { context: String, source: gix::Error },
    #[error("not inside a git repository: {0}")]
    NotARepo(String),
    #[error("this repository has no work tree (it is bare)")]
    Bare,
    #[error("`{command}` failed{}", if .stderr.is_empty() { String::new() } else { format!(": {}", .stderr) })]
    Cli { command: String, stderr: String },
    #[error("could not run git: {0}")]
    Spawn(String),
    #[error("no git identity: user.name and user.email are not set")]
    Identity,
    #[error("{name} kept moving while we updated it ({tries} tries)")]
    Contended { name: String, tries: u32 },
    #[error("{name} moved from {expected} to {actual} while we worked")]
    Moved { name: String, expected: String, actual: String },
    #[error("{0} already exists")]
    RefExists(String),
    #[error("merge conflict in {}", .0.join(", "))]
    Conflict(Vec<String>),
    #[error("invalid branch name `{name}`: {reason}")]
    BadRefName { name: String, reason: String },
    #[error("{0}")]
    Io(String),
    #[error("{said} is too old: git-orchestrate needs git {major}.{minor} or newer", said = .0, major = MIN_GIT.0, minor = MIN_GIT.1)]
    TooOld(String),
}

/// The oldest git this tool works with: `merge-tree --write-tree --merge-base` (the phase
/// squash) needs 2.40.
pub const MIN_GIT: (u32, u32) = (2, 40);

impl Error {
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotARepo(_) => Some("run this inside a git repository, or `git init` one first".into()),
            Error::Identity => {
                Some("set it with: git config user.name \"Your Name\" && git config user.email you@example.com".into())
            }
            Error::Spawn(_) => {
                Some(format!("install git ({}.{} or newer) and make sure it is on PATH", MIN_GIT.0, MIN_GIT.1))
            }
            Error::TooOld(_) => Some(format!("install git {}.{} or newer", MIN_GIT.0, MIN_GIT.1)),
            Error::Contended { .. } => Some("another process is writing the same ref; try again".into()),
            Error::Moved { .. } => Some("someone else updated it; run the command again to see the new state".into()),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

trait Context<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<gix::Error>> Context<T> for std::result::Result<T, E> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Gix { context: context(), source: e.into() })
    }
}

/// Where HEAD points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// On a branch (short name) that has commits.
    Branch {
        name: String,
        id: ObjectId,
    },
    /// On a branch with no commits yet.
    Unborn {
        name: String,
    },
    Detached {
        id: ObjectId,
    },
}

impl Head {
    pub fn branch(&self) -> Option<&str> {
        match self {
            Head::Branch { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// An author or committer: `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

/// An open repository with a work tree. Cloning is cheap and gives an independent handle, one
/// per thread.
pub struct Repo {
    repo: gix::Repository,
    workdir: PathBuf,
    /// The commit-graph, opened at the first ancestry question (`None` inside: there is none).
    commit_graph: std::cell::OnceCell<Option<gix::commitgraph::Graph>>,
}

impl Clone for Repo {
    /// A copy for another thread: the commit-graph is opened again there when needed.
    fn clone(&self) -> Self {
        Self { repo: self.repo.clone(), workdir: self.workdir.clone(), commit_graph: std::cell::OnceCell::new() }
    }
}

impl Repo {
    /// Find the repository that contains `dir`, honouring `GIT_DIR` and friends as git does
    /// (inside a hook they name the repository being committed to).
    pub fn discover(dir: &Path) -> Result<Self> {
        let mut repo = gix::ThreadSafeRepository::discover_with_environment_overrides(dir)
            .map_err(|_| Error::NotARepo(dir.display().to_string()))?
            .to_thread_local();
        // A command reads the same few objects (notes trees and commits, a phase's tips) more
        // than once; without a cache each read is a file opened, mapped and inflated again.
        repo.object_cache_size_if_unset(4 << 20);
        let workdir = repo.workdir().ok_or(Error::Bare)?.to_path_buf();
        Ok(Self { repo, workdir, commit_graph: std::cell::OnceCell::new() })
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// The directory shared by all worktrees (where refs and objects live).
    pub fn common_dir(&self) -> &Path {
        self.repo.common_dir()
    }

    pub(in crate::git) fn cli(&self) -> cli::Git {
        cli::Git::new(&self.workdir)
    }

    /// The git binary's version, read once per process: `(major, minor)` and its own words.
    pub fn git_version(&self) -> Result<((u32, u32), String)> {
        static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let said = match VERSION.get() {
            Some(v) => v.clone(),
            None => VERSION.get_or_init(|| self.cli().args(["--version"]).read().unwrap_or_default()).clone(),
        };
        let said = said.trim().to_string();
        let number =
            said.split_whitespace().nth(2).ok_or_else(|| Error::Spawn(format!("`git --version` said `{said}`")))?;
        let mut parts = number.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
        Ok(((parts.next().unwrap_or(0), parts.next().unwrap_or(0)), said))
    }

    /// Refuse, with a clear error, a git older than [`MIN_GIT`] (checked once per process, by the
    /// operations that need it).
    pub fn require_git(&self) -> Result<()> {
        let (version, said) = self.git_version()?;
        if version < MIN_GIT {
            return Err(Error::TooOld(said));
        }
        Ok(())
    }

    /// Check out `branch` here (`git switch --no-guess`: git refuses, and nothing changes, when
    /// local edits are in the way).
    pub fn switch(&self, branch: &str) -> Result<()> {
        self.cli().args(["switch", "--no-guess", branch]).run()
    }

    /// Whether the index differs from HEAD's tree.
    pub fn has_staged_changes(&self) -> Result<bool> {
        Ok(!self.cli().args(["diff-index", "--cached", "--quiet", "HEAD", "--"]).output()?.success)
    }

    /// Set `key` to `value` in this repository's own configuration.
    pub fn set_local_config(&self, key: &str, value: &str) -> Result<()> {
        self.cli().args(["config", "--local", key, value]).run()
    }

    /// Every value of a multi-valued `key` in this repository's own configuration.
    pub fn local_config_values(&self, key: &str) -> Result<Vec<String>> {
        let out = self.cli().args(["config", "--local", "--get-all", key]).output()?;
        Ok(out.stdout.lines().map(str::to_string).collect())
    }

    /// Add one more value to a multi-valued `key` in this repository's own configuration.
    pub fn add_local_config(&self, key: &str, value: &str) -> Result<()> {
        self.cli().args(["config", "--local", "--add", key, value]).run()
    }

    pub fn head(&self) -> Result<Head> {
        let head = self.repo.head().ctx(|| "reading HEAD".into())?;
        if let Some(name) = head.referent_name() {
            let name = name.shorten().to_str_lossy().into_owned();
            return Ok(match head.id() {
                Some(id) => Head::Branch { name, id: id.detach() },
                None => Head::Unborn { name },
            });
        }
        match head.id() {
            Some(id) => Ok(Head::Detached { id: id.detach() }),
            None => Err(Error::NotARepo("HEAD points nowhere".into())),
        }
    }

    /// The commit a branch (short name) points to, if it exists.
    pub fn branch_tip(&self, branch: &str) -> Result<Option<ObjectId>> {
        self.ref_id(&format!("refs/heads/{branch}"))
    }

    /// The object a full ref name points to, peeled, if the ref exists.
    pub fn ref_id(&self, full_name: &str) -> Result<Option<ObjectId>> {
        let found = self.repo.try_find_reference(full_name).ctx(|| format!("reading {full_name}"))?;
        match found {
            None => Ok(None),
            Some(mut r) => Ok(Some(r.peel_to_id().ctx(|| format!("peeling {full_name}"))?.detach())),
        }
    }

    /// Resolve a revision such as a branch name or `HEAD~1` to a commit.
    pub fn resolve_commit(&self, spec: &str) -> Result<Option<ObjectId>> {
        let Ok(id) = self.repo.rev_parse_single(spec) else { return Ok(None) };
        let Ok(commit) = id.object().map(gix::Object::peel_to_commit) else { return Ok(None) };
        Ok(commit.ok().map(|c| c.id))
    }

    /// All local branches under `prefix` (short names) with their tips, read in one pass.
    pub fn branches_under(&self, prefix: &str) -> Result<HashMap<String, ObjectId>> {
        let platform = self.repo.references().ctx(|| "listing refs".into())?;
        let full = format!("refs/heads/{prefix}");
        let iter = platform.prefixed(full.as_str()).ctx(|| format!("listing {full}"))?;
        let mut out = HashMap::new();
        for r in iter {
            let Ok(mut r) = r else { continue };
            let name = r.name().shorten().to_str_lossy().into_owned();
            // Branches point at commits: take the id as stored. Peeling would read every object.
            let id = match r.target().try_id() {
                Some(id) => id.to_owned(),
                None => match r.peel_to_id() {
                    Ok(id) => id.detach(),
                    Err(_) => continue,
                },
            };
            out.insert(name, id);
        }
        Ok(out)
    }

    /// Remote-tracking branches as `(remote, branch)`: `refs/remotes/origin/a/b` is `("origin", "a/b")`.
    pub fn remote_branches(&self) -> Result<Vec<(String, String)>> {
        let platform = self.repo.references().ctx(|| "listing refs".into())?;
        let iter = platform.prefixed("refs/remotes/").ctx(|| "listing refs/remotes/".into())?;
        let mut out = Vec::new();
        for r in iter.flatten() {
            let full = r.name().as_bstr().to_str_lossy().into_owned();
            if let Some((remote, branch)) = full.strip_prefix("refs/remotes/").and_then(|s| s.split_once('/')) {
                if branch != "HEAD" {
                    out.push((remote.to_string(), branch.to_string()));
                }
            }
        }
        Ok(out)
    }

    /// Move the branch checked out here forward to `to`, work tree and index with it (git
    /// refuses, and nothing changes, when local edits are in the way).
    pub fn fast_forward_checked_out(&self, to: ObjectId) -> Result<()> {
        self.cli().args(["merge", "--ff-only", "--quiet", &to.to_string()]).run()
    }

    /// Push `branch` to `remote` (its pre-push hook judges it like any push), setting upstream.
    pub fn push_branch(&self, remote: &str, branch: &str) -> Result<()> {
        self.cli()
            .args(["push", "--quiet", "--set-upstream", remote, &format!("refs/heads/{branch}:refs/heads/{branch}")])
            .run()
    }

    /// Run GitHub's `gh` in the work tree with `args`: `Ok(None)` when it is not on PATH, else
    /// its standard output, or an error with what it said.
    fn gh(&self, args: &[&std::ffi::OsStr]) -> Result<Option<String>> {
        let Ok(gh) = which::which("gh") else { return Ok(None) };
        let out = duct::cmd(gh, args)
            .dir(&self.workdir)
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
            .map_err(|e| Error::Spawn(format!("gh: {e}")))?;
        if !out.status.success() {
            let words: Vec<String> = args.iter().take(2).map(|a| a.to_string_lossy().into_owned()).collect();
            return Err(Error::Cli {
                command: format!("gh {}", words.join(" ")),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(Some(String::from_utf8_lossy(&out.stdout).trim().to_string()))
    }

    /// Open a pull request with `gh` when it is on PATH: `Ok(Some(its output))` (the PR's
    /// address), or `Ok(None)` when there is no `gh` (the caller says what to run instead).
    pub fn gh_pr_create(&self, base: &str, head: &str, title: &str, body_file: &Path) -> Result<Option<String>> {
        let os = std::ffi::OsStr::new;
        self.gh(&[
            os("pr"),
            os("create"),
            os("--base"),
            os(base),
            os("--head"),
            os(head),
            os("--title"),
            os(title),
            os("--body-file"),
            body_file.as_os_str(),
        ])
    }

    /// Whether the forge protects `branch` (pushes to it go through pull requests), asked of
    /// `gh` when it is on PATH; `false` when it cannot tell.
    pub fn gh_branch_protected(&self, branch: &str) -> bool {
        let path = format!("repos/{{owner}}/{{repo}}/branches/{branch}");
        let os = std::ffi::OsStr::new;
        self.gh(&[os("api"), os(&path), os("--jq"), os(".protected")]).is_ok_and(|out| out.as_deref() == Some("true"))
    }

    /// Close the pull request of `head` with a comment, through `gh` when it is on PATH
    /// (`Ok(false)` when there is no `gh`).
    pub fn gh_pr_close(&self, head: &str, comment: &str) -> Result<bool> {
        let os = std::ffi::OsStr::new;
        Ok(self.gh(&[os("pr"), os("close"), os(head), os("--comment"), os(comment)])?.is_some())
    }

    /// Check a short branch name the way git does.
    pub fn validate_branch_name(name: &str) -> Result<()> {
        FullName::try_from(format!("refs/heads/{name}"))
            .map(|_| ())
            .map_err(|e| Error::BadRefName { name: name.into(), reason: e.to_string() })
    }

    /// The committer identity git would use: `GIT_COMMITTER_*`, `committer.*`, `user.*`, `EMAIL`.
    /// (Resolved here rather than through gix's personas, which ask jiff for the system time
    /// zone — a walk of /usr/share/zoneinfo on every command.)
    pub fn identity(&self) -> Result<Identity> {
        self.person(crate::env::Role::Committer)
    }

    fn person(&self, role: crate::env::Role) -> Result<Identity> {
        let cfg = self.repo.config_snapshot();
        let get = |key: &str| cfg.string(key).map(|s| s.to_str_lossy().into_owned()).filter(|s| !s.is_empty());
        let (name_env, email_env) = crate::env::git_person(role);
        let section = match role {
            crate::env::Role::Author => "author",
            crate::env::Role::Committer => "committer",
        };
        let name = name_env.or_else(|| get(&format!("{section}.name"))).or_else(|| get("user.name"));
        let email = email_env
            .or_else(|| get(&format!("{section}.email")))
            .or_else(|| get("user.email"))
            .or_else(crate::env::email);
        match (name, email) {
            (Some(name), Some(email)) => Ok(Identity { name, email }),
            _ => Err(Error::Identity),
        }
    }

    /// A signature for `role` now (or at `GIT_AUTHOR_DATE`/`GIT_COMMITTER_DATE`).
    pub(crate) fn signature(&self, role: crate::env::Role) -> Result<gix::actor::Signature> {
        let who = self.person(role)?;
        let time = crate::env::git_date(role).and_then(|d| gix::date::parse(&d, None).ok()).unwrap_or_else(now);
        Ok(gix::actor::Signature { name: who.name.as_str().into(), email: who.email.as_str().into(), time })
    }

    pub fn write_blob(&self, data: &[u8]) -> Result<ObjectId> {
        self.write_object(gix::objs::Kind::Blob, data)
    }

    /// Write an object of `kind` with `data` (see [`loose`] for how).
    fn write_object(&self, kind: gix::objs::Kind, data: &[u8]) -> Result<ObjectId> {
        loose::write(&self.repo, kind, data)
    }

    /// Write `object` (a tree or a commit) through [`Repo::write_object`].
    fn write_encoded(&self, object: &impl gix::objs::WriteTo) -> Result<ObjectId> {
        let mut data = Vec::with_capacity(usize::try_from(object.size()).unwrap_or(0));
        object.write_to(&mut data).map_err(|e| Error::Io(format!("encoding a {}: {e}", object.kind())))?;
        self.write_object(object.kind(), &data)
    }

    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        let blob = self.repo.find_blob(id).ctx(|| format!("reading blob {id}"))?;
        Ok(blob.data.clone())
    }

    pub fn commit_tree(&self, commit: ObjectId) -> Result<ObjectId> {
        let c = self.repo.find_commit(commit).ctx(|| format!("reading commit {commit}"))?;
        Ok(c.tree_id().ctx(|| format!("reading the tree of {commit}"))?.detach())
    }

    pub fn commit_message(&self, commit: ObjectId) -> Result<String> {
        let c = self.repo.find_commit(commit).ctx(|| format!("reading commit {commit}"))?;
        Ok(c.message_raw_sloppy().to_str_lossy().into_owned())
    }

    pub fn commit_parents(&self, commit: ObjectId) -> Result<Vec<ObjectId>> {
        let c = self.repo.find_commit(commit).ctx(|| format!("reading commit {commit}"))?;
        Ok(c.parent_ids().map(gix::Id::detach).collect())
    }

    /// The blob at `path` (slash-separated, relative to the root) in `commit`'s tree.
    pub fn blob_at(&self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let tree = self
            .repo
            .find_commit(commit)
            .ctx(|| format!("reading commit {commit}"))?
            .tree()
            .ctx(|| format!("reading the tree of {commit}"))?;
        let entry = tree.lookup_entry_by_path(path).ctx(|| format!("looking up {path}"))?;
        Ok(entry.filter(|e| e.mode().is_blob()).map(|e| e.object_id()))
    }

    /// A copy of `tree` with `path` set to `blob` (intermediate trees created as needed).
    pub fn tree_with_file(&self, tree: ObjectId, path: &str, blob: ObjectId) -> Result<ObjectId> {
        let mut editor = self.repo.edit_tree(tree).ctx(|| "editing a tree".into())?;
        editor.upsert(path, EntryKind::Blob, blob).ctx(|| format!("adding {path}"))?;
        Ok(editor.write().ctx(|| "writing a tree".into())?.detach())
    }

    /// Write a commit object (no ref is moved) as the current identity.
    pub fn write_commit(&self, tree: ObjectId, parents: &[ObjectId], message: &str) -> Result<ObjectId> {
        let author = self.signature(crate::env::Role::Author)?;
        let committer = self.signature(crate::env::Role::Committer)?;
        self.write_commit_by(author, committer, tree, parents, message)
    }

    fn write_commit_by(
        &self,
        author: gix::actor::Signature,
        committer: gix::actor::Signature,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId> {
        self.write_encoded(&gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author,
            committer,
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        })
    }

    /// Of `commits` taken in order, the newest: each one that is a commit here replaces the one
    /// before when it descends from it (a commit off that line leaves the newest as it was).
    pub fn newest_descendant(&self, commits: impl IntoIterator<Item = ObjectId>) -> Result<Option<ObjectId>> {
        let mut newest: Option<ObjectId> = None;
        for c in commits {
            if !self.is_commit(c) {
                continue;
            }
            newest = match newest {
                Some(n) if self.merge_base(n, c)? != Some(n) => Some(n),
                _ => Some(c),
            };
        }
        Ok(newest)
    }

    /// The best common ancestor of two commits.
    pub fn merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>> {
        let mut graph = self.repo.revision_graph(self.commit_graph()?);
        let base = self.repo.merge_base_with_graph(a, b, &mut graph);
        Ok(base.ctx(|| format!("finding the merge base of {a} and {b}"))?.map(gix::Id::detach))
    }

    /// The commit-graph, if the repository has one and uses it: opened once.
    fn commit_graph(&self) -> Result<Option<&gix::commitgraph::Graph>> {
        if let Some(graph) = self.commit_graph.get() {
            return Ok(graph.as_ref());
        }
        let graph = self.repo.commit_graph_if_enabled().ctx(|| "reading the commit-graph".into())?;
        Ok(self.commit_graph.get_or_init(|| graph).as_ref())
    }

    /// Move (or create, with `expected = None`) a ref only if it still has the value we saw:
    /// compare-and-swap. Lock contention waits with backoff.
    pub fn cas_ref(&self, full_name: &str, expected: Option<ObjectId>, new: ObjectId, reason: &str) -> Result<()> {
        let name = FullName::try_from(full_name)
            .map_err(|e| Error::BadRefName { name: full_name.into(), reason: e.to_string() })?;
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange { mode: RefLog::AndReference, force_create_reflog: false, message: reason.into() },
                expected: match expected {
                    Some(id) => PreviousValue::MustExistAndMatch(Target::Object(id)),
                    None => PreviousValue::MustNotExist,
                },
                new: Target::Object(new),
            },
            name,
            deref: false,
        };
        let timeout = gix::lock::acquire::Fail::AfterDurationWithBackoff(std::time::Duration::from_secs(5));
        let committer = self.identity().ok();
        let sig = committer.as_ref().map(|c| gix::actor::Signature {
            name: c.name.as_str().into(),
            email: c.email.as_str().into(),
            time: now(),
        });
        let mut buf = gix::date::parse::TimeBuf::default();
        let sig_ref = sig.as_ref().map(|s| s.to_ref(&mut buf));
        let result = self.repo.refs.transaction().prepare(Some(edit), timeout, timeout).and_then(|t| t.commit(sig_ref));
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                let actual = self.ref_id(full_name)?;
                if actual == expected {
                    Err(Error::Gix { context: format!("updating {full_name}"), source: gix::Error::from_error(err) })
                } else if let (Some(_), None) = (expected, actual) {
                    Err(Error::Moved { name: full_name.into(), expected: short(expected), actual: "nothing".into() })
                } else if expected.is_none() {
                    Err(Error::RefExists(full_name.into()))
                } else {
                    Err(Error::Moved { name: full_name.into(), expected: short(expected), actual: short(actual) })
                }
            }
        }
    }

    /// Delete a ref if it still points at `expected`.
    pub fn delete_ref(&self, full_name: &str, expected: ObjectId) -> Result<()> {
        let name = FullName::try_from(full_name)
            .map_err(|e| Error::BadRefName { name: full_name.into(), reason: e.to_string() })?;
        let edit = RefEdit {
            change: Change::Delete {
                expected: PreviousValue::MustExistAndMatch(Target::Object(expected)),
                log: RefLog::AndReference,
            },
            name,
            deref: false,
        };
        self.repo.edit_reference(edit).ctx(|| format!("deleting {full_name}"))?;
        Ok(())
    }

    /// Stage `paths` as `git add` does.
    pub fn stage(&self, paths: &[&str]) -> Result<()> {
        self.cli().args(["add", "--"]).args(paths.iter().copied()).run()
    }

    /// Commit the index with `message` as a person's `git commit` does: through the hooks.
    pub fn commit_staged(&self, message: &str) -> Result<()> {
        self.cli().args(["commit", "-q", "-m", message]).run()
    }

    /// The last `n` commits of `rev`, newest first, as `git log --oneline` shows them.
    pub fn oneline_log(&self, rev: &str, n: usize) -> Result<String> {
        self.cli().args(["log", "--format=%h %s", &format!("-{n}"), rev, "--"]).read()
    }

    /// The text of `path` at `rev`, as `git show <rev>:<path>` prints it.
    pub fn file_at(&self, rev: &str, path: &str) -> Result<Option<String>> {
        let Some(commit) = self.resolve_commit(rev)? else { return Ok(None) };
        let Some(blob) = self.blob_at(commit, path)? else { return Ok(None) };
        Ok(Some(String::from_utf8_lossy(&self.read_blob(blob)?).into_owned()))
    }

    /// Which branches are checked out in any worktree of this repository (short names).
    pub fn checked_out_branches(&self) -> Result<Vec<(String, PathBuf)>> {
        let text = self.cli().args(["worktree", "list", "--porcelain"]).read()?;
        let mut out = Vec::new();
        let mut path = PathBuf::new();
        for line in text.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                path = PathBuf::from(p);
            } else if let Some(b) = line.strip_prefix("branch refs/heads/") {
                out.push((b.to_string(), path.clone()));
            }
        }
        Ok(out)
    }
}

/// Make a new repository at `dir` on branch `branch`, committing as `name <email>` (its own
/// configuration): for the tour's throwaway repository.
pub fn init_repository(dir: &Path, branch: &str, name: &str, email: &str) -> Result<Repo> {
    cli::Git::new(dir).clean_env().args(["init", "-q", "-b", branch]).run()?;
    let repo = Repo::discover(dir)?;
    repo.set_local_config("user.name", name)?;
    repo.set_local_config("user.email", email)?;
    Ok(repo)
}

/// The current time with the local UTC offset, found as libc finds it (`TZ`, else
/// `/etc/localtime`). gix asks jiff for the system zone, and jiff walks all of
/// `/usr/share/zoneinfo` to do so: milliseconds on every command that writes a commit or reflog.
pub fn now() -> gix::date::Time {
    use jiff::tz::TimeZone;
    static LOCAL: std::sync::OnceLock<TimeZone> = std::sync::OnceLock::new();
    let tz = LOCAL.get_or_init(|| {
        let from_file = |path: &str| std::fs::read(path).ok().and_then(|data| TimeZone::tzif("local", &data).ok());
        let found = match crate::env::tz() {
            Some(v) if v.is_empty() => Some(TimeZone::UTC),
            Some(v) => {
                let v = v.strip_prefix(':').unwrap_or(&v);
                if v.starts_with('/') {
                    from_file(v)
                } else {
                    TimeZone::posix(v).ok().or_else(|| from_file(&format!("/usr/share/zoneinfo/{v}")))
                }
            }
            None => from_file("/etc/localtime"),
        };
        found.unwrap_or(TimeZone::UTC)
    });
    let ts = crate::env::now();
    gix::date::Time { seconds: ts.as_second(), offset: tz.to_offset(ts).seconds() }
}

fn short(id: Option<ObjectId>) -> String {
    id.map_or_else(|| "nothing".into(), |id| id.to_hex_with_len(12).to_string())
}

/// The id git would give a blob with these bytes, without writing it.
pub fn blob_id(data: &[u8]) -> ObjectId {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, data)
        .expect("sha1 is compiled in, so hashing cannot fail")
}

impl Repo {
    /// A boolean from git's configuration; unset or unparsable is `false`.
    pub fn config_bool(&self, key: &str) -> bool {
        self.repo.config_snapshot().boolean(key).unwrap_or(false)
    }

    /// A boolean from the user's own git configuration only (`~/.gitconfig`, git's XDG file,
    /// the system file): a repository's `.git/config`, `-c` and the environment are ignored, so
    /// nothing inside a repository can turn it on.
    pub fn user_config_bool(&self, key: &str) -> bool {
        use gix::config::Source;
        let snapshot = self.repo.config_snapshot();
        snapshot
            .plumbing()
            .boolean_filter(key, |meta| matches!(meta.source, Source::User | Source::Git | Source::System))
            .ok()
            .flatten()
            .unwrap_or(false)
    }

    /// A string from git's configuration.
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.repo.config_snapshot().string(key).map(|s| s.to_str_lossy().into_owned())
    }
}

impl Repo {
    /// Where a symbolic ref points (full name), if it is symbolic.
    pub fn symbolic_target(&self, full_name: &str) -> Result<Option<String>> {
        let found = self.repo.try_find_reference(full_name).ctx(|| format!("reading {full_name}"))?;
        Ok(found.and_then(|r| match r.target() {
            gix::refs::TargetRef::Symbolic(name) => Some(name.as_bstr().to_str_lossy().into_owned()),
            gix::refs::TargetRef::Object(_) => None,
        }))
    }
}

impl Repo {
    /// The commits reachable from `include` but not from `exclude` (nor, with `remote`, from
    /// any of that remote's tracking branches), newest first (`git rev-list`).
    pub fn rev_list(&self, include: &[ObjectId], exclude: &[ObjectId], remote: Option<&str>) -> Result<Vec<ObjectId>> {
        if include.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = self.cli().args(["rev-list"]).args(include.iter().map(ToString::to_string)).args(["--not"]);
        cmd = cmd.args(exclude.iter().map(ToString::to_string));
        if let Some(remote) = remote {
            cmd = cmd.args([format!("--remotes={remote}")]);
        }
        cmd.read()?
            .lines()
            .map(|l| {
                ObjectId::from_hex(l.trim().as_bytes())
                    .map_err(|e| Error::Cli { command: "git rev-list".into(), stderr: e.to_string() })
            })
            .collect()
    }

    /// Three-way merge of two commits into a tree, without touching any work tree
    /// (`git merge-tree --write-tree`).
    pub fn merge_trees(&self, base: ObjectId, ours: ObjectId, theirs: ObjectId) -> Result<ObjectId> {
        self.require_git()?;
        let out = self
            .cli()
            .args(["merge-tree", "--write-tree", "--name-only", "--no-messages"])
            .arg_pair("--merge-base", &base.to_string())
            .args([ours.to_string(), theirs.to_string()])
            .output()?;
        let mut lines = out.stdout.lines();
        let tree = lines.next().and_then(|l| ObjectId::from_hex(l.trim().as_bytes()).ok());
        match (out.success, tree) {
            (true, Some(tree)) => Ok(tree),
            (false, Some(_)) => Err(Error::Conflict(lines.take_while(|l| !l.is_empty()).map(str::to_string).collect())),
            _ => Err(Error::Cli { command: "git merge-tree".into(), stderr: out.stderr }),
        }
    }
}

/// Where the gate worktree is and whether it is sound (for `doctor`).
#[derive(Debug, Clone)]
pub struct GateWorktree {
    pub path: PathBuf,
    pub exists: bool,
    /// What is wrong with it, if anything.
    pub problem: Option<String>,
}

impl Repo {
    /// The gate worktree's administrative directory, inside the common git dir (canonical): its
    /// `HEAD`, its `index`, and `commondir` holding `../..`, relative, so that it survives a move
    /// or a copy of the repository. Git does not list it among the worktrees: the tool made it.
    fn gate_admin_dir(&self) -> Result<PathBuf> {
        Ok(self.canonical_common_dir()?.join("orchestrate").join("gate"))
    }

    fn canonical_common_dir(&self) -> Result<PathBuf> {
        self.common_dir()
            .canonicalize()
            .map_err(|e| Error::Io(format!("resolving {}: {e}", self.common_dir().display())))
    }

    /// Where the gate worktree is (it may not exist yet): in the tool's cache directory, outside
    /// every `.git` directory (test runners skip paths inside one), keyed by the canonical path of
    /// the common git dir, so a moved repository gets a fresh one and a copy its own.
    pub fn gate_worktree_path(&self) -> Result<PathBuf> {
        self.gate_cache_path("worktrees")
    }

    /// Where the gate's cargo builds (its `CARGO_TARGET_DIR`): beside the gate worktree, in the
    /// tool's cache directory under the same key, never inside the snapshot's checkout (whose
    /// tracked files could otherwise redirect or overwrite it) and never the user's own.
    pub fn gate_target_path(&self) -> Result<PathBuf> {
        self.gate_cache_path("targets")
    }

    /// `<cache dir>/<kind>/<hash of the canonical common dir>`.
    fn gate_cache_path(&self, kind: &str) -> Result<PathBuf> {
        use std::os::unix::ffi::OsStrExt as _;
        let common = self.canonical_common_dir()?;
        let key = blob_id(common.as_os_str().as_bytes()).to_hex_with_len(16).to_string();
        let cache = crate::env::cache_dir().ok_or_else(|| {
            Error::Io("no place for the gate worktree: neither XDG_CACHE_HOME nor HOME is set".into())
        })?;
        Ok(cache.join(kind).join(key))
    }

    /// The `.git` file that binds the gate worktree to this repository's admin dir.
    fn gate_link(&self) -> Result<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt as _;
        let mut link = b"gitdir: ".to_vec();
        link.extend_from_slice(self.gate_admin_dir()?.as_os_str().as_bytes());
        link.push(b'\n');
        Ok(link)
    }

    /// The persistent gate worktree, moved to `tree` with `commit` (else HEAD) as its detached
    /// HEAD. The user's own work tree is never used; untracked files the gates leave behind (build
    /// output) stay, so builds are incremental. Anything a killed run left half-done is reset here.
    /// Only ever called with the gate lock held.
    pub fn gate_worktree(&self, tree: ObjectId, commit: Option<ObjectId>) -> Result<PathBuf> {
        let io = |what: &Path, e: std::io::Error| Error::Io(format!("{}: {e}", what.display()));
        // Earlier versions kept a `git worktree` under the git dir: it is ours, so remove it.
        let old = self.common_dir().join("orchestrate").join("worktree");
        if std::fs::symlink_metadata(&old).is_ok() {
            std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
            let _ = self.cli().clean_env().args(["worktree", "prune"]).run();
        }
        let admin = self.gate_admin_dir()?;
        std::fs::create_dir_all(&admin).map_err(|e| io(&admin, e))?;
        let head = match commit.map_or_else(|| self.resolve_commit("HEAD"), |c| Ok(Some(c)))? {
            Some(id) => format!("{id}\n"),
            // An unborn repository: a branch no one has, so that git still sees a repository.
            None => "ref: refs/orchestrate/gate-unborn\n".into(),
        };
        for (name, text) in [("commondir", "../..\n"), ("HEAD", head.as_str())] {
            let file = admin.join(name);
            if std::fs::read(&file).ok().as_deref() != Some(text.as_bytes()) {
                std::fs::write(&file, text).map_err(|e| io(&file, e))?;
            }
        }
        let path = self.gate_worktree_path()?;
        std::fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
        let dot_git = path.join(".git");
        let link = self.gate_link()?;
        if std::fs::read(&dot_git).ok() != Some(link.clone()) {
            // A new work tree, or one bound elsewhere: its files are not what the index says.
            let _ = std::fs::remove_file(admin.join("index"));
            if dot_git.is_dir() {
                std::fs::remove_dir_all(&dot_git).map_err(|e| io(&dot_git, e))?;
            }
            std::fs::write(&dot_git, &link).map_err(|e| io(&dot_git, e))?;
        }
        // A run killed inside `read-tree` leaves its lock; we hold the gate lock, so it is stale.
        let _ = std::fs::remove_file(admin.join("index.lock"));
        cli::Git::new(&path).clean_env().args(["read-tree", "-u", "--reset", &tree.to_string()]).run()?;
        Ok(path)
    }

    /// Where the gate worktree is and whether it is bound to this repository.
    pub fn gate_worktree_status(&self) -> Result<GateWorktree> {
        let path = self.gate_worktree_path()?;
        let old = self.common_dir().join("orchestrate").join("worktree");
        let exists = path.join(".git").exists();
        let problem = if std::fs::symlink_metadata(&old).is_ok() {
            Some(format!("an old gate worktree is left under the git dir ({})", old.display()))
        } else if exists && std::fs::read(path.join(".git")).ok() != Some(self.gate_link()?) {
            Some(format!("{}: its .git file does not point at this repository", path.display()))
        } else {
            None
        };
        Ok(GateWorktree { path, exists, problem })
    }
}

impl Repo {
    /// A tree's entries, in git's order (the empty tree needs no object).
    fn tree_entries(&self, id: ObjectId) -> Result<Vec<gix::objs::tree::Entry>> {
        if id.is_empty_tree() {
            return Ok(Vec::new());
        }
        let tree = self.repo.find_tree(id).ctx(|| format!("reading tree {id}"))?;
        let decoded = tree.decode().ctx(|| format!("decoding tree {id}"))?;
        Ok(decoded.entries.iter().map(|e| gix::objs::tree::Entry::from(*e)).collect())
    }

    /// Write a tree from entries in git's order. Unlike gix's tree editor, this does not look up
    /// every entry's object on disk: the callers made them, or took them from the index.
    fn write_tree(&self, entries: Vec<gix::objs::tree::Entry>) -> Result<ObjectId> {
        self.write_encoded(&gix::objs::Tree { entries })
    }

    /// The files under `paths` (absolute, inside the work tree) that git does not ignore:
    /// tracked ones, and untracked ones no ignore rule matches (`git ls-files --cached --others
    /// --exclude-standard`), as absolute paths. An ignored directory is not descended into.
    pub fn unignored_files(&self, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let mut args: Vec<OsString> = [
            "--literal-pathspecs",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--full-name",
            "--",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.extend(paths.iter().map(|p| p.as_os_str().to_os_string()));
        let listed = self.cli().args(args).read()?;
        Ok(listed.split('\0').filter(|p| !p.is_empty()).map(|p| self.workdir.join(p)).collect())
    }

    /// The content of the file at `path` in `tree`, if there is one.
    pub fn tree_blob(&self, tree: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        let tree = self.repo.find_tree(tree).ctx(|| format!("reading tree {tree}"))?;
        let entry = tree.lookup_entry_by_path(path).ctx(|| format!("looking up {path}"))?;
        match entry.filter(|e| e.mode().is_blob()) {
            Some(e) => Ok(Some(self.read_blob(e.object_id())?)),
            None => Ok(None),
        }
    }
}

/// Where git runs hooks from for this repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HooksDir {
    pub path: PathBuf,
    /// `core.hooksPath`, as configured, when set.
    pub configured: Option<String>,
}

impl Repo {
    /// The hooks directory git uses: `core.hooksPath` (relative paths resolve against the work
    /// tree's root, as git does), else the common git dir's `hooks` (shared by linked worktrees).
    pub fn hooks_dir(&self) -> HooksDir {
        match self.config_string("core.hooksPath").filter(|p| !p.is_empty()) {
            Some(configured) => {
                let expanded = match configured.strip_prefix("~/") {
                    Some(rest) => crate::env::home().map_or_else(|| PathBuf::from(&configured), |h| h.join(rest)),
                    None => PathBuf::from(&configured),
                };
                let path = if expanded.is_absolute() { expanded } else { self.workdir.join(expanded) };
                HooksDir { path, configured: Some(configured) }
            }
            None => HooksDir { path: self.common_dir().join("hooks"), configured: None },
        }
    }

    /// The branch being worked on: HEAD's, or during a rebase the branch being rebased.
    pub fn working_branch(&self) -> Result<Option<String>> {
        if let Head::Branch { name, .. } | Head::Unborn { name } = self.head()? {
            return Ok(Some(name));
        }
        for dir in ["rebase-merge", "rebase-apply"] {
            if let Ok(name) = std::fs::read_to_string(self.git_dir().join(dir).join("head-name")) {
                return Ok(name.trim().strip_prefix("refs/heads/").map(str::to_string));
            }
        }
        Ok(None)
    }
}
