//! Notes as append-only logs: one note per key object, lines appended by compare-and-swap on the
//! notes ref, so concurrent writers never lose a record (plain `git notes add` does). Reads accept
//! any fanout git itself may have written; writes keep a note where it already is.

use gix::bstr::ByteSlice;

use super::{Error, ObjectId, Repo, Result};

/// The notes ref that holds every feature's event log.
pub const EVENTS_REF: &str = "refs/notes/orchestrate";

const MAX_TRIES: u32 = 500;

impl Repo {
    /// The content of the note attached to `key` in `notes_ref`, if there is one.
    pub fn note(&self, notes_ref: &str, key: ObjectId) -> Result<Option<Vec<u8>>> {
        let Some(tip) = self.ref_id(notes_ref)? else { return Ok(None) };
        let tree = self.commit_tree(tip)?;
        match self.locate_note(tree, key)? {
            Some((_, blob)) => Ok(Some(self.read_blob(blob)?)),
            None => Ok(None),
        }
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

    fn walk_notes(&self, tree: ObjectId, prefix: &str, out: &mut Vec<(ObjectId, ObjectId)>) -> Result<()> {
        let tree =
            self.gix().find_tree(tree).map_err(|e| Error::Gix { context: "reading a notes tree".into(), source: e })?;
        for entry in tree.iter() {
            let entry = entry.map_err(|e| Error::Gix { context: "decoding a notes tree".into(), source: e })?;
            let name = format!("{prefix}{}", entry.filename().to_str_lossy());
            if entry.mode().is_tree() && name.len() < 40 {
                self.walk_notes(entry.object_id(), &name, out)?;
            } else if entry.mode().is_blob() {
                // Other files in a notes tree (not a hex object name) are not notes.
                if let Ok(key) = ObjectId::from_hex(name.as_bytes()) {
                    out.push((key, entry.object_id()));
                }
            }
        }
        Ok(())
    }

    /// Where `key`'s note sits in a notes tree (path, blob), trying the fanouts git uses.
    fn locate_note(&self, tree: ObjectId, key: ObjectId) -> Result<Option<(String, ObjectId)>> {
        let hex = key.to_hex().to_string();
        let commit_tree =
            self.gix().find_tree(tree).map_err(|e| Error::Gix { context: "reading a notes tree".into(), source: e })?;
        for depth in 0..=3 {
            let mut path = String::new();
            for i in 0..depth {
                path.push_str(&hex[i * 2..i * 2 + 2]);
                path.push('/');
            }
            path.push_str(&hex[depth * 2..]);
            let entry = commit_tree
                .lookup_entry_by_path(&path)
                .map_err(|e| Error::Gix { context: format!("looking up note {path}"), source: e })?;
            if let Some(entry) = entry.filter(|e| e.mode().is_blob()) {
                return Ok(Some((path, entry.object_id())));
            }
        }
        Ok(None)
    }

    /// Append `text` to the note on `key`, retrying until no other writer got in between.
    pub fn append_note(&self, notes_ref: &str, key: ObjectId, text: &str, message: &str) -> Result<()> {
        let identity = self.identity().unwrap_or_else(|_| super::Identity {
            name: "git-orchestrate".into(),
            email: "git-orchestrate@localhost".into(),
        });
        for attempt in 0..MAX_TRIES {
            let tip = self.ref_id(notes_ref)?;
            let (tree, location) = match tip {
                Some(tip) => {
                    let tree = self.commit_tree(tip)?;
                    (tree, self.locate_note(tree, key)?)
                }
                None => (ObjectId::empty_tree(gix::hash::Kind::Sha1), None),
            };
            let mut content = match &location {
                Some((_, blob)) => self.read_blob(*blob)?,
                None => Vec::new(),
            };
            if !content.is_empty() && !content.ends_with(b"\n") {
                content.push(b'\n');
            }
            content.extend_from_slice(text.as_bytes());
            let blob = self.write_blob(&content)?;
            let path = location.map_or_else(|| key.to_hex().to_string(), |(p, _)| p);
            let new_tree = self.tree_with_file(tree, &path, blob)?;
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

    fn write_commit_as(
        &self,
        who: &super::Identity,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId> {
        let time = super::now();
        let sig = gix::actor::Signature { name: who.name.as_str().into(), email: who.email.as_str().into(), time };
        let mut buf = gix::date::parse::TimeBuf::default();
        let sig = sig.to_ref(&mut buf);
        let commit = self
            .gix()
            .new_commit_as(sig, sig, message, tree, parents.iter().copied())
            .map_err(|e| Error::Gix { context: "writing a notes commit".into(), source: e })?;
        Ok(commit.id)
    }
}
