//! Notes as append-only logs: one note per key object, lines appended by compare-and-swap on the
//! notes ref, so concurrent writers never lose a record (plain `git notes add` does). Reads accept
//! any fanout git itself may have written; writes keep a note where it already is.

use std::collections::HashMap;
use std::rc::Rc;

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryMode;

use super::{Error, ObjectId, Repo, Result};

/// The notes ref that holds every feature's event log.
pub const EVENTS_REF: &str = "refs/notes/orchestrate";

const MAX_TRIES: u32 = 500;

/// A notes directory with this many entries spreads new notes one level deeper, as git does
/// past 256 notes, so no tree rewritten on an append grows without bound.
pub(super) const FANOUT_AT: usize = 256;

/// A notes ref's tree, read once for many lookups: each directory of it is decoded once.
pub struct NotesTree<'r> {
    repo: &'r Repo,
    tree: ObjectId,
    dirs: std::cell::RefCell<HashMap<ObjectId, Rc<Dir>>>,
}

/// A decoded notes directory: name → (mode, object).
type Dir = HashMap<Vec<u8>, (EntryMode, ObjectId)>;

impl<'r> NotesTree<'r> {
    fn new(repo: &'r Repo, tree: ObjectId) -> Self {
        Self { repo, tree, dirs: std::cell::RefCell::default() }
    }

    /// The note on `key`, if there is one.
    pub fn get(&self, key: ObjectId) -> Result<Option<Vec<u8>>> {
        match self.locate(key)? {
            (_, Some(blob)) => Ok(Some(self.repo.read_blob(blob)?)),
            (_, None) => Ok(None),
        }
    }

    /// Where `key`'s note sits: its path and blob (git spreads notes over `ab/cd…` directories
    /// as they grow; a tree may mix depths), or, when there is no note, the path a new one
    /// gets: as deep as the directories already there, one level deeper where a directory has
    /// grown past [`FANOUT_AT`] entries.
    fn locate(&self, key: ObjectId) -> Result<(String, Option<ObjectId>)> {
        let hex = key.to_hex().to_string();
        let mut path = String::new();
        let mut dir_id = self.tree;
        let mut depth = 0;
        loop {
            let dir = self.dir(dir_id)?;
            let rest = &hex[depth * 2..];
            if let Some((_, blob)) = dir.get(rest.as_bytes()).filter(|(mode, _)| mode.is_blob()) {
                return Ok((format!("{path}{rest}"), Some(*blob)));
            }
            match dir.get(&rest.as_bytes()[..2]) {
                Some((mode, below)) if depth < 19 && mode.is_tree() => {
                    dir_id = *below;
                    path.push_str(&rest[..2]);
                    path.push('/');
                    depth += 1;
                }
                _ => {
                    let fan = dir.len() >= FANOUT_AT && depth < 3;
                    let new =
                        if fan { format!("{path}{}/{}", &rest[..2], &rest[2..]) } else { format!("{path}{rest}") };
                    return Ok((new, None));
                }
            }
        }
    }

    fn dir(&self, id: ObjectId) -> Result<Rc<Dir>> {
        if let Some(dir) = self.dirs.borrow().get(&id) {
            return Ok(Rc::clone(dir));
        }
        let dir: Rc<Dir> =
            Rc::new(self.repo.tree_entries(id)?.into_iter().map(|e| (e.filename.into(), (e.mode, e.oid))).collect());
        self.dirs.borrow_mut().insert(id, Rc::clone(&dir));
        Ok(dir)
    }
}

impl Repo {
    /// The content of the note attached to `key` in `notes_ref`, if there is one.
    pub fn note(&self, notes_ref: &str, key: ObjectId) -> Result<Option<Vec<u8>>> {
        match self.notes_tree(notes_ref)? {
            Some(notes) => notes.get(key),
            None => Ok(None),
        }
    }

    /// The notes of `notes_ref` as they are now, for many lookups (`None`: no notes yet).
    pub fn notes_tree(&self, notes_ref: &str) -> Result<Option<NotesTree<'_>>> {
        let Some(tip) = self.ref_id(notes_ref)? else { return Ok(None) };
        Ok(Some(NotesTree::new(self, self.commit_tree(tip)?)))
    }

    /// Every note in `notes_ref` as (annotated object, note content).
    pub fn notes(&self, notes_ref: &str) -> Result<Vec<(ObjectId, Vec<u8>)>> {
        self.note_entries(notes_ref)?.into_iter().map(|(key, blob)| Ok((key, self.read_blob(blob)?))).collect()
    }

    /// Every note in `notes_ref` as (annotated object, note blob), without reading the notes.
    pub fn note_entries(&self, notes_ref: &str) -> Result<Vec<(ObjectId, ObjectId)>> {
        let Some(tip) = self.ref_id(notes_ref)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        self.walk_notes(self.commit_tree(tip)?, "", &mut out)?;
        Ok(out)
    }

    /// Every note of a notes tree as (annotated object, note blob).
    pub(super) fn notes_tree_entries(&self, tree: ObjectId) -> Result<Vec<(ObjectId, ObjectId)>> {
        let mut out = Vec::new();
        self.walk_notes(tree, "", &mut out)?;
        Ok(out)
    }

    fn walk_notes(&self, tree: ObjectId, prefix: &str, out: &mut Vec<(ObjectId, ObjectId)>) -> Result<()> {
        for entry in self.tree_entries(tree)? {
            let name = format!("{prefix}{}", entry.filename.to_str_lossy());
            if entry.mode.is_tree() && name.len() < 40 {
                self.walk_notes(entry.oid, &name, out)?;
            } else if entry.mode.is_blob() {
                // Other files in a notes tree (not a hex object name) are not notes.
                if let Ok(key) = ObjectId::from_hex(name.as_bytes()) {
                    out.push((key, entry.oid));
                }
            }
        }
        Ok(())
    }

    /// Append `text` to the note on `key`, retrying until no other writer got in between.
    pub fn append_note(&self, notes_ref: &str, key: ObjectId, text: &str, message: &str) -> Result<()> {
        let identity = self.notes_identity();
        for attempt in 0..MAX_TRIES {
            let tip = self.ref_id(notes_ref)?;
            let tree = match tip {
                Some(tip) => self.commit_tree(tip)?,
                None => ObjectId::empty_tree(gix::hash::Kind::Sha1),
            };
            let (path, blob) = NotesTree::new(self, tree).locate(key)?;
            let mut content = match blob {
                Some(blob) => self.read_blob(blob)?,
                None => Vec::new(),
            };
            if !content.is_empty() && !content.ends_with(b"\n") {
                content.push(b'\n');
            }
            content.extend_from_slice(text.as_bytes());
            let blob = self.write_blob(&content)?;
            let new_tree = self.notes_tree_with(tree, &path, blob)?;
            let commit = self.write_commit_as(&identity, new_tree, tip.as_slice(), message)?;
            match self.cas_ref(notes_ref, tip, commit, message) {
                Ok(()) => return Ok(()),
                Err(Error::Moved { .. } | Error::RefExists(_)) => {
                    // Someone else appended first: back off a little (jittered) and redo.
                    let micros = 50 + u64::from(attempt.min(40)) * 25 + u64::from(std::process::id() % 97);
                    std::thread::sleep(std::time::Duration::from_micros(micros));
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Contended { name: notes_ref.into(), tries: MAX_TRIES })
    }

    /// Rewrite the note on `key` as `edit` says (given its content now; `None`: leave it), by
    /// the same compare-and-swap as an append, so a concurrent append is never lost: the edit
    /// is redone on the content that includes it. Returns the edit's result, or `None` when
    /// there is no note or nothing to change. Only a repair a person asks for rewrites a log.
    pub fn rewrite_note<T>(
        &self,
        notes_ref: &str,
        key: ObjectId,
        message: &str,
        mut edit: impl FnMut(&[u8]) -> Option<(Vec<u8>, T)>,
    ) -> Result<Option<T>> {
        let identity = self.notes_identity();
        for attempt in 0..MAX_TRIES {
            let Some(tip) = self.ref_id(notes_ref)? else { return Ok(None) };
            let tree = self.commit_tree(tip)?;
            let (path, Some(blob)) = NotesTree::new(self, tree).locate(key)? else { return Ok(None) };
            let Some((content, out)) = edit(&self.read_blob(blob)?) else { return Ok(None) };
            let blob = self.write_blob(&content)?;
            let new_tree = self.notes_tree_with(tree, &path, blob)?;
            let commit = self.write_commit_as(&identity, new_tree, &[tip], message)?;
            match self.cas_ref(notes_ref, Some(tip), commit, message) {
                Ok(()) => return Ok(Some(out)),
                Err(Error::Moved { .. } | Error::RefExists(_)) => {
                    let micros = 50 + u64::from(attempt.min(40)) * 25 + u64::from(std::process::id() % 97);
                    std::thread::sleep(std::time::Duration::from_micros(micros));
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Contended { name: notes_ref.into(), tries: MAX_TRIES })
    }

    /// A copy of notes tree `tree` with the note at `path` set to `blob`. (Not gix's tree
    /// editor: it looks up every entry's object on disk, a file lookup per note, and notes
    /// trees are large.)
    fn notes_tree_with(&self, tree: ObjectId, path: &str, blob: ObjectId) -> Result<ObjectId> {
        use gix::objs::tree::{Entry, EntryKind};
        let mut entries = self.tree_entries(tree)?;
        let (name, rest) = match path.split_once('/') {
            Some((dir, rest)) => (dir, Some(rest)),
            None => (path, None),
        };
        let existing = entries.iter().position(|e| e.filename == name.as_bytes());
        let entry = match rest {
            None => Entry { mode: EntryKind::Blob.into(), filename: name.into(), oid: blob },
            Some(rest) => {
                let below = existing
                    .map(|i| &entries[i])
                    .filter(|e| e.mode.is_tree())
                    .map_or_else(|| ObjectId::empty_tree(gix::hash::Kind::Sha1), |e| e.oid);
                let oid = self.notes_tree_with(below, rest, blob)?;
                Entry { mode: EntryKind::Tree.into(), filename: name.into(), oid }
            }
        };
        match existing {
            Some(i) => entries[i] = entry,
            None => entries.push(entry),
        }
        entries.sort();
        self.write_tree(entries)
    }

    /// Who writes notes commits: the user, or the tool's own name where no identity is set (a
    /// CI runner): a record must never be lost for want of a name.
    pub(super) fn notes_identity(&self) -> super::Identity {
        self.identity().unwrap_or_else(|_| super::Identity {
            name: "git-orchestrate".into(),
            email: "git-orchestrate@localhost".into(),
        })
    }

    pub(super) fn write_commit_as(
        &self,
        who: &super::Identity,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId> {
        let sig = gix::actor::Signature {
            name: who.name.as_str().into(),
            email: who.email.as_str().into(),
            time: super::now(),
        };
        self.write_commit_by(sig.clone(), sig, tree, parents, message)
    }
}
