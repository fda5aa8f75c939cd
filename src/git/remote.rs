//! Remotes: fetch the tool's notes into a namespace of their own, merge them by union, push
//! without force. Nothing here ever forces a ref on either side: a fetch writes only
//! `refs/orchestrate-remotes/<remote>/…` (the remote's copy, as remote-tracking branches are)
//! and the remote-tracking branches git's own refspecs name; a push is rejected rather than
//! overwrite, and the caller fetches, merges and tries again.

use std::collections::{BTreeMap, HashMap};

use super::notes::FANOUT_AT;
use super::{Error, ObjectId, Repo, Result};

/// Where a remote's copies of the tool's notes refs are kept: `<prefix><remote>/notes/<name>`.
pub const TRACKING_PREFIX: &str = "refs/orchestrate-remotes/";

/// The notes refs the tool owns (events, evidence): every one starts with this.
pub const NOTES_PREFIX: &str = "refs/notes/orchestrate";

/// The refspec that brings a remote's notes into [`TRACKING_PREFIX`]. Forced, as a
/// remote-tracking refspec is: it writes only the remote's copy, never a local notes ref.
pub fn notes_fetch_refspec(remote: &str) -> String {
    format!("+{NOTES_PREFIX}*:{}", tracking_notes_ref(remote, "orchestrate*"))
}

/// The local copy of a remote's notes ref `refs/notes/<name>`.
pub fn tracking_notes_ref(remote: &str, name: &str) -> String {
    format!("{TRACKING_PREFIX}{remote}/notes/{name}")
}

/// What a push did to one ref.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pushed {
    /// Created or moved forward on the remote.
    Updated,
    /// The remote already had it.
    UpToDate,
    /// The remote moved meanwhile (not a fast-forward), or a hook or the server declined: why.
    Rejected(String),
}

/// One ref of a push: where it went and what became of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefPush {
    pub remote_ref: String,
    pub result: Pushed,
}

impl Repo {
    /// The configured remotes, by name.
    pub fn remotes(&self) -> Result<Vec<String>> {
        Ok(self.cli().args(["remote"]).read()?.lines().map(str::to_string).collect())
    }

    /// Fetch from `remote` what its configured refspecs fetch, plus `extra` (no tags). Prompts
    /// are off: an unreachable remote is an error, never a wait for a password.
    pub fn fetch(&self, remote: &str, extra: &[String], limit: std::time::Duration) -> Result<()> {
        let configured = self.local_config_all(&format!("remote.{remote}.fetch"))?;
        self.cli()
            .limit(limit)
            .env("GIT_TERMINAL_PROMPT", "0")
            .args(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote])
            .args(configured)
            .args(extra)
            .run()
    }

    /// Every value of a configuration key, from any scope git reads.
    fn local_config_all(&self, key: &str) -> Result<Vec<String>> {
        let out = self.cli().args(["config", "--get-all", key]).output()?;
        Ok(if out.success { out.stdout.lines().map(str::to_string).collect() } else { Vec::new() })
    }

    /// Push `refspecs` (`<src>:<dst>`, never forced) to `remote` in one push, through the
    /// pre-push hook like any push. Returns each ref's result; a ref the remote rejected is a
    /// result, not an error. An error is a push that could not be made at all (no remote, no
    /// network, a hook that declined the whole push).
    pub fn push_refs(&self, remote: &str, refspecs: &[String], limit: std::time::Duration) -> Result<Vec<RefPush>> {
        if refspecs.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(forced) = refspecs.iter().find(|s| s.starts_with('+')) {
            return Err(Error::Io(format!("refusing to force {forced}: pushes here are never forced")));
        }
        let out = self
            .cli()
            .limit(limit)
            .env("GIT_TERMINAL_PROMPT", "0")
            .args(["push", "--porcelain", remote])
            .args(refspecs)
            .output()?;
        let results = parse_porcelain(&out.stdout);
        if results.is_empty() && !out.success {
            return Err(Error::Cli { command: format!("git push {remote}"), stderr: out.stderr });
        }
        Ok(results)
    }

    /// Every ref whose full name starts with `prefix`, with the object it points to.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        use gix::bstr::ByteSlice;
        let platform = self.repo.references().map_err(|e| Error::Io(format!("listing refs: {e}")))?;
        let iter = platform.prefixed(prefix).map_err(|e| Error::Io(format!("listing {prefix}: {e}")))?;
        let mut out = Vec::new();
        for r in iter.flatten() {
            let name = r.name().as_bstr().to_str_lossy().into_owned();
            if let Some(id) = r.target().try_id() {
                out.push((name, id.to_owned()));
            }
        }
        Ok(out)
    }

    /// Whether `id` names a commit (not a blob, a tree or a tag).
    pub fn is_commit(&self, id: ObjectId) -> bool {
        self.repo.find_object(id).is_ok_and(|o| o.kind == gix::object::Kind::Commit)
    }

    /// The remote-tracking branches of every remote: `(remote, branch) → tip`.
    pub fn remote_branch_tips(&self) -> Result<HashMap<(String, String), ObjectId>> {
        let mut out = HashMap::new();
        for (remote, branch) in self.remote_branches()? {
            if let Some(id) = self.ref_id(&format!("refs/remotes/{remote}/{branch}"))? {
                out.insert((remote, branch), id);
            }
        }
        Ok(out)
    }

    /// Make local notes ref `local` hold everything `theirs` (a remote's copy) holds: nothing
    /// when `theirs` is already in it, a fast-forward when `local` is in `theirs`, else a merge
    /// commit whose every note is the union of both sides' lines (each side's lines in their
    /// order, ours first, none twice). Compare-and-swap on `local`: a concurrent writer makes
    /// this start over on the new tip, so no record is ever lost.
    pub fn merge_notes_union(&self, local: &str, theirs: ObjectId, message: &str) -> Result<NotesMerge> {
        if !self.is_commit(theirs) {
            return Ok(NotesMerge::NotACommit);
        }
        for _ in 0..50 {
            let ours = self.ref_id(local)?;
            let Some(ours_id) = ours else {
                match self.cas_ref(local, None, theirs, message) {
                    Ok(()) => return Ok(NotesMerge::FastForward),
                    Err(Error::Moved { .. } | Error::RefExists(_)) => {}
                    Err(e) => return Err(e),
                }
                continue;
            };
            if ours_id == theirs {
                return Ok(NotesMerge::UpToDate);
            }
            let base = self.merge_base(ours_id, theirs)?;
            if base == Some(theirs) {
                return Ok(NotesMerge::UpToDate);
            }
            let new = if base == Some(ours_id) {
                theirs
            } else {
                let tree = self.union_notes_trees(self.commit_tree(ours_id)?, self.commit_tree(theirs)?)?;
                self.write_commit_as(&self.notes_identity(), tree, &[ours_id, theirs], message)?
            };
            match self.cas_ref(local, Some(ours_id), new, message) {
                Ok(()) => {
                    return Ok(if new == theirs { NotesMerge::FastForward } else { NotesMerge::Merged });
                }
                Err(Error::Moved { .. } | Error::RefExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(Error::Contended { name: local.into(), tries: 50 })
    }

    /// A notes tree holding every note of `ours` and `theirs`; a key on both sides gets the
    /// union of the two notes' lines.
    fn union_notes_trees(&self, ours: ObjectId, theirs: ObjectId) -> Result<ObjectId> {
        let mut all: BTreeMap<ObjectId, ObjectId> = self.notes_tree_entries(ours)?.into_iter().collect();
        for (key, blob) in self.notes_tree_entries(theirs)? {
            match all.get(&key) {
                None => {
                    all.insert(key, blob);
                }
                Some(mine) if *mine == blob => {}
                Some(mine) => {
                    let merged = union_lines(&self.read_blob(*mine)?, &self.read_blob(blob)?);
                    all.insert(key, self.write_blob(&merged)?);
                }
            }
        }
        self.write_notes_tree(&all)
    }

    /// Write a notes tree for `notes`, spread over `ab/…` directories as git does past
    /// [`FANOUT_AT`] notes.
    fn write_notes_tree(&self, notes: &BTreeMap<ObjectId, ObjectId>) -> Result<ObjectId> {
        use gix::objs::tree::{Entry, EntryKind};
        let blob = |name: String, oid: ObjectId| Entry { mode: EntryKind::Blob.into(), filename: name.into(), oid };
        if notes.len() <= FANOUT_AT {
            let mut entries: Vec<Entry> = notes.iter().map(|(k, b)| blob(k.to_string(), *b)).collect();
            entries.sort();
            return self.write_tree(entries);
        }
        let mut dirs: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for (key, b) in notes {
            let hex = key.to_string();
            dirs.entry(hex[..2].to_string()).or_default().push(blob(hex[2..].to_string(), *b));
        }
        let mut top = Vec::with_capacity(dirs.len());
        for (name, mut entries) in dirs {
            entries.sort();
            let oid = self.write_tree(entries)?;
            top.push(Entry { mode: EntryKind::Tree.into(), filename: name.into(), oid });
        }
        top.sort();
        self.write_tree(top)
    }
}

/// How a notes ref took a remote's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotesMerge {
    UpToDate,
    FastForward,
    Merged,
    /// The remote's ref is not a commit (a blob, a tree, a tag): notes history never is. Left
    /// out, the local ref untouched.
    NotACommit,
}

/// The lines of `a`, then those of `b` that `a` lacks, each once; every line ends in `\n`.
pub fn union_lines(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(a.len() + b.len());
    for line in a.split(|c| *c == b'\n').chain(b.split(|c| *c == b'\n')) {
        if !line.is_empty() && seen.insert(line) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    out
}

/// `git push --porcelain`'s lines: `<flag>\t<src>:<dst>\t<summary>`.
fn parse_porcelain(stdout: &str) -> Vec<RefPush> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let flag = parts.next()?;
            let refs = parts.next()?;
            let summary = parts.next().unwrap_or_default();
            let (_, dst) = refs.split_once(':')?;
            let result = match flag {
                " " | "*" | "+" => Pushed::Updated,
                "=" => Pushed::UpToDate,
                "!" => Pushed::Rejected(summary.trim().to_string()),
                _ => return None,
            };
            Some(RefPush { remote_ref: dst.to_string(), result })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_keeps_each_line_once_ours_first() {
        assert_eq!(union_lines(b"a\nb\n", b"b\nc"), b"a\nb\nc\n");
        assert_eq!(union_lines(b"", b"x\n"), b"x\n");
        assert_eq!(union_lines(b"a\na\n", b""), b"a\n");
    }

    #[test]
    fn porcelain_lines_are_read() {
        let out = "To ../remote.git\n*\trefs/notes/a:refs/notes/a\t[new reference]\n=\trefs/heads/x:refs/heads/x\t[up to date]\n!\trefs/heads/y:refs/heads/y\t[rejected] (fetch first)\nDone\n";
        let r = parse_porcelain(out);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].result, Pushed::Updated);
        assert_eq!(r[1].result, Pushed::UpToDate);
        assert_eq!(r[2].result, Pushed::Rejected("[rejected] (fetch first)".into()));
        assert_eq!(r[2].remote_ref, "refs/heads/y");
    }
}
