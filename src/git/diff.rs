//! What changed between two trees, in-process: the files that differ and the lines each one
//! gained, as `git diff --no-renames -U0` would report them. Subtrees with the same id are
//! skipped whole, so the cost follows the change, not the repository.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gix::bstr::{BString, ByteSlice};
use gix::objs::tree::EntryMode;

use super::{ObjectId, Repo, Result};

/// Added or modified line ranges (1-based, inclusive) per path.
pub type ChangedLines = BTreeMap<String, Vec<(u32, u32)>>;

/// Consecutive added lines of one file, as a block of text.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedBlock {
    pub path: String,
    pub first_line: u32,
    pub last_line: u32,
    pub text: String,
}

/// How a path differs between the two trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Added,
    /// Content, mode or type changed.
    Modified,
    Deleted,
}

/// One path that differs between the two trees.
#[derive(Debug, Clone, PartialEq)]
pub struct FileChange {
    pub path: String,
    pub status: Status,
    /// The lines the new side gained (none for a deletion, a binary file or a submodule).
    pub added: Vec<AddedBlock>,
    /// One side is binary (git's test), so there is no line diff: the whole new content is what
    /// the change adds, and `added` is empty. A secret scan reads it with [`binary_text`].
    pub binary: bool,
}

/// A changed path with its line counts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileStat {
    pub path: String,
    #[serde(serialize_with = "status_name")]
    pub status: Status,
    pub added: u32,
    pub removed: u32,
    pub binary: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde hands a reference
fn status_name<S: serde::Serializer>(status: &Status, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(match status {
        Status::Added => "created",
        Status::Modified => "modified",
        Status::Deleted => "deleted",
    })
}

/// Git's test for binary content: a NUL byte in the first 8000 bytes.
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}

/// The text in binary content, for a secret scan: invalid UTF-8 replaced, and each NUL made a
/// line break, so the printable runs between them are scanned as lines (a token after a NUL is
/// found, and nothing printed of a finding carries a NUL).
pub fn binary_text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).replace('\0', "\n")
}

/// A line diff that runs longer than this settles for a coarser (still correct) answer.
const DIFF_DEADLINE: Duration = Duration::from_secs(2);

type Entries = BTreeMap<BString, (EntryMode, ObjectId)>;

/// A path that differs, before its lines are worked out.
struct Changed {
    path: String,
    status: Status,
    old: Option<(EntryMode, ObjectId)>,
    new: Option<(EntryMode, ObjectId)>,
}

impl Repo {
    /// The files that differ from tree `base` (`None`: the empty tree) to `tree`, in path
    /// order, with the lines each gained.
    pub fn diff_trees(&self, base: Option<ObjectId>, tree: ObjectId) -> Result<Vec<FileChange>> {
        self.changed(base, tree)?.into_iter().map(|c| self.with_lines(c)).collect()
    }

    /// Per path that differs: what happened to it and the lines it gained and lost (a binary
    /// side counts no lines), as `git diff --numstat` says.
    pub fn file_stats(&self, base: Option<ObjectId>, tree: ObjectId) -> Result<Vec<FileStat>> {
        let text = |side: Option<(EntryMode, ObjectId)>| -> Result<Option<Vec<u8>>> {
            match side {
                Some((mode, id)) if mode.is_blob_or_symlink() => Ok(Some(self.read_blob(id)?)),
                _ => Ok(None),
            }
        };
        let mut out = Vec::new();
        for c in self.changed(base, tree)? {
            let (old, new) = (text(c.old)?.unwrap_or_default(), text(c.new)?.unwrap_or_default());
            let binary = is_binary(&old) || is_binary(&new);
            let (mut added, mut removed) = (0u32, 0u32);
            if !binary {
                let (old, new) = (String::from_utf8_lossy(&old), String::from_utf8_lossy(&new));
                let diff = similar::TextDiff::configure()
                    .algorithm(similar::Algorithm::Myers)
                    .deadline(Instant::now() + DIFF_DEADLINE)
                    .diff_lines(old.as_ref(), new.as_ref());
                for op in diff.ops() {
                    let (_, old_range, new_range) = op.as_tag_tuple();
                    if !matches!(op, similar::DiffOp::Equal { .. }) {
                        removed = removed.saturating_add(u32::try_from(old_range.len()).unwrap_or(u32::MAX));
                        added = added.saturating_add(u32::try_from(new_range.len()).unwrap_or(u32::MAX));
                    }
                }
            }
            out.push(FileStat { path: c.path, status: c.status, added, removed, binary });
        }
        Ok(out)
    }

    /// The paths that differ between `base` and `tree` (no contents read).
    pub fn changed_paths(&self, base: Option<ObjectId>, tree: ObjectId) -> Result<Vec<String>> {
        Ok(self.changed(base, tree)?.into_iter().map(|c| c.path).collect())
    }

    /// [`summary`] of the change from `base` to `tree`, reading the contents of only the files
    /// it details (a change of thousands of files costs a tree walk, not thousands of diffs).
    pub fn diff_summary(&self, base: Option<ObjectId>, tree: ObjectId, max: usize) -> Result<String> {
        let mut changes = Vec::new();
        for (i, c) in self.changed(base, tree)?.into_iter().enumerate() {
            changes.push(if i < max {
                self.with_lines(c)?
            } else {
                FileChange { path: c.path, status: c.status, added: Vec::new(), binary: false }
            });
        }
        Ok(summary(&changes, max))
    }

    /// Every path a tree holds (recursively), submodules included.
    pub fn tree_files(&self, tree: ObjectId) -> Result<std::collections::BTreeSet<String>> {
        Ok(self.changed(None, tree)?.into_iter().map(|c| c.path).collect())
    }

    /// Every path of a tree (recursively) whose content is `blob`.
    pub fn paths_of_blob(&self, tree: ObjectId, blob: ObjectId) -> Result<Vec<String>> {
        Ok(self
            .changed(None, tree)?
            .into_iter()
            .filter(|c| c.new.is_some_and(|(mode, id)| id == blob && !mode.is_tree()))
            .map(|c| c.path)
            .collect())
    }

    /// Every file of a tree (recursively) with its object id, sorted by path.
    pub fn tree_blobs(&self, tree: ObjectId) -> Result<Vec<(String, ObjectId)>> {
        Ok(self.changed(None, tree)?.into_iter().filter_map(|c| c.new.map(|(_, id)| (c.path, id))).collect())
    }

    fn changed(&self, base: Option<ObjectId>, tree: ObjectId) -> Result<Vec<Changed>> {
        let mut out = Vec::new();
        self.diff_dirs(base, Some(tree), "", &mut out)?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn with_lines(&self, c: Changed) -> Result<FileChange> {
        let (added, binary) = match c.new {
            Some((mode, id)) if mode.is_blob_or_symlink() => self.added_lines(&c.path, c.old, id)?,
            _ => (Vec::new(), false),
        };
        Ok(FileChange { path: c.path, status: c.status, added, binary })
    }

    fn tree_map(&self, tree: Option<ObjectId>) -> Result<Entries> {
        let Some(id) = tree else { return Ok(Entries::new()) };
        Ok(self.tree_entries(id)?.into_iter().map(|e| (e.filename, (e.mode, e.oid))).collect())
    }

    fn diff_dirs(&self, a: Option<ObjectId>, b: Option<ObjectId>, dir: &str, out: &mut Vec<Changed>) -> Result<()> {
        if a == b {
            return Ok(());
        }
        let (left, right) = (self.tree_map(a)?, self.tree_map(b)?);
        let mut names: Vec<&BString> = left.keys().chain(right.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let path = format!("{dir}{}", name.to_str_lossy());
            let (l, r) = (left.get(name).copied(), right.get(name).copied());
            let subtree = |side: Option<(EntryMode, ObjectId)>| side.filter(|(m, _)| m.is_tree()).map(|(_, id)| id);
            let file = |side: Option<(EntryMode, ObjectId)>| side.filter(|(m, _)| !m.is_tree());
            let (la, ra) = (subtree(l), subtree(r));
            if la.is_some() || ra.is_some() {
                self.diff_dirs(la, ra, &format!("{path}/"), out)?;
            }
            let (old, new) = (file(l), file(r));
            if old != new {
                let status = match (old, new) {
                    (None, _) => Status::Added,
                    (_, None) => Status::Deleted,
                    _ => Status::Modified,
                };
                out.push(Changed { path, status, old, new });
            }
        }
        Ok(())
    }

    /// The lines blob `new` adds over `old` (an absent or non-blob old side adds them all), and
    /// whether either side is binary (then there are no lines).
    fn added_lines(
        &self,
        path: &str,
        old: Option<(EntryMode, ObjectId)>,
        new: ObjectId,
    ) -> Result<(Vec<AddedBlock>, bool)> {
        let new_data = self.read_blob(new)?;
        let old_data = match old {
            Some((mode, id)) if mode.is_blob_or_symlink() => self.read_blob(id)?,
            _ => Vec::new(),
        };
        if is_binary(&new_data) || is_binary(&old_data) {
            return Ok((Vec::new(), true));
        }
        let (old_text, new_text) = (String::from_utf8_lossy(&old_data), String::from_utf8_lossy(&new_data));
        let block = |first: usize, lines: &[&str]| {
            let text: Vec<&str> =
                lines.iter().map(|l| l.strip_suffix('\n').map_or(*l, |l| l.strip_suffix('\r').unwrap_or(l))).collect();
            let first_line = u32::try_from(first + 1).unwrap_or(u32::MAX);
            AddedBlock {
                path: path.to_string(),
                first_line,
                last_line: first_line.saturating_add(u32::try_from(lines.len()).unwrap_or(u32::MAX) - 1),
                text: text.join("\n"),
            }
        };
        let diff = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Myers)
            .deadline(Instant::now() + DIFF_DEADLINE)
            .diff_lines(old_text.as_ref(), new_text.as_ref());
        let lines = diff.new_slices();
        let mut out = Vec::new();
        for op in diff.ops() {
            if let similar::DiffOp::Insert { new_index, new_len, .. }
            | similar::DiffOp::Replace { new_index, new_len, .. } = *op
            {
                if new_len > 0 {
                    out.push(block(new_index, &lines[new_index..new_index + new_len]));
                }
            }
        }
        Ok((out, false))
    }
}

/// A change as a few lines for a commit message body: one per file (at most `max`), with what
/// happened to it and the lines it gained, each line short enough for the message lint.
fn summary(changes: &[FileChange], max: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for c in changes.iter().take(max) {
        let lines: usize = c.added.iter().map(|b| (b.last_line - b.first_line + 1) as usize).sum();
        let what = match (c.status, lines) {
            (Status::Added, n) => format!("new, +{n}"),
            (Status::Deleted, _) => "deleted".to_string(),
            (Status::Modified, 0) => "changed".to_string(),
            (Status::Modified, n) => format!("+{n}"),
        };
        let room = 90usize.saturating_sub(what.len());
        let chars = c.path.chars().count();
        let path = if chars > room {
            let tail: String = c.path.chars().skip(chars - room.saturating_sub(1)).collect();
            format!("…{tail}")
        } else {
            c.path.clone()
        };
        let _ = writeln!(out, "- {path} ({what})");
    }
    if changes.len() > max {
        let more = changes.len() - max;
        let _ = writeln!(out, "- and {more} more file{}", if more == 1 { "" } else { "s" });
    }
    out.trim_end().to_string()
}

/// The new side's added or modified line ranges per path.
pub fn changed_lines(changes: &[FileChange]) -> ChangedLines {
    let mut out = ChangedLines::new();
    for change in changes.iter().filter(|c| !c.added.is_empty()) {
        out.insert(change.path.clone(), change.added.iter().map(|b| (b.first_line, b.last_line)).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{summary, AddedBlock, FileChange, Status};

    fn change(path: &str, status: Status, lines: u32) -> FileChange {
        let added = (lines > 0)
            .then(|| AddedBlock { path: path.into(), first_line: 1, last_line: lines, text: String::new() })
            .into_iter()
            .collect();
        FileChange { path: path.into(), status, added, binary: false }
    }

    #[test]
    fn a_summary_fits_the_message_lint() {
        let long = format!("{}/file.rs", "deep".repeat(40));
        let changes = [
            change("new.rs", Status::Added, 3),
            change("old.rs", Status::Deleted, 0),
            change("mode.sh", Status::Modified, 0),
            change(&long, Status::Modified, 2),
            change("more.rs", Status::Added, 1),
        ];
        let text = summary(&changes, 4);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[..3], ["- new.rs (new, +3)", "- old.rs (deleted)", "- mode.sh (changed)"]);
        assert!(lines[3].starts_with("- …") && lines[3].ends_with("deep/file.rs (+2)"), "{}", lines[3]);
        assert!(lines.iter().all(|l| l.chars().count() <= 100), "{text}");
        assert_eq!(lines[4], "- and 1 more file");
    }
}
