//! `git write-tree` in-process: the tree of what is staged, built from the index the way git
//! builds it. Directories the index's cache-tree extension still vouches for are taken as they
//! are, so the cost follows what changed, not the size of the repository.

use gix::bstr::{BStr, ByteSlice};
use gix::index::entry::{Flags, Mode};
use gix::index::extension::Tree as CacheTree;
use gix::objs::tree::{Entry, EntryKind, EntryMode};

use super::{Error, ObjectId, Repo, Result};

/// An index this module does not build trees from; git does it instead.
struct Unusual;

impl Repo {
    /// The tree of what is staged: exactly what `git commit` would record. Inside a hook this is
    /// git's own (possibly temporary) index, through `GIT_INDEX_FILE`.
    pub fn index_tree(&self) -> Result<ObjectId> {
        let path = crate::env::git_index_file().unwrap_or_else(|| self.repo.index_path());
        // No index yet (nothing was ever staged) reads as an empty one, as in git.
        let index =
            gix::index::File::at_or_default(&path, gix::hash::Kind::Sha1, true, gix::index::decode::Options::default());
        let built = match index {
            Ok(index) => self.write_index_tree(&index)?,
            Err(_) => Err(Unusual),
        };
        if let Ok(tree) = built {
            return Ok(tree);
        }
        // Unmerged paths, sparse directories and the like: git knows them best, and says what
        // is wrong in its own words.
        let out = self.cli().args(["write-tree"]).read()?;
        ObjectId::from_hex(out.trim().as_bytes())
            .map_err(|_| Error::Cli { command: "git write-tree".into(), stderr: out })
    }

    fn write_index_tree(&self, index: &gix::index::File) -> Result<Result<ObjectId, Unusual>> {
        // Unmerged paths make git refuse; a sparse index holds directories as entries.
        if index.entries().iter().any(|e| e.stage_raw() != 0 || e.mode == Mode::DIR) {
            return Ok(Err(Unusual));
        }
        let builder = Builder { repo: self, index };
        Ok(builder.directory(b"".as_bstr(), 0, index.tree())?.map(|(id, _)| id))
    }
}

struct Builder<'a> {
    repo: &'a Repo,
    index: &'a gix::index::File,
}

impl Builder<'_> {
    /// Build the directory `dir` (empty, or ending in `/`) from the entries starting at `start`:
    /// its tree and the position of the first entry past it.
    fn directory(
        &self,
        dir: &BStr,
        start: usize,
        cache: Option<&CacheTree>,
    ) -> Result<Result<(ObjectId, usize), Unusual>> {
        let entries = self.index.entries();
        if let Some(valid) = cache.filter(|c| self.vouched(c)) {
            let end = start + entries[start..].partition_point(|e| e.path(self.index).starts_with(dir.as_bytes()));
            return Ok(Ok((valid.id, end)));
        }
        let mut out = Vec::new();
        let mut i = start;
        while i < entries.len() {
            let path = entries[i].path(self.index);
            let Some(rest) = path.strip_prefix(dir.as_bytes()) else { break };
            if let Some(slash) = rest.find_byte(b'/') {
                let name = &rest[..slash];
                let sub_dir = &path[..=dir.len() + slash];
                let sub_cache = cache.and_then(|c| c.children.iter().find(|t| t.name.as_slice() == name));
                let (oid, end) = match self.directory(sub_dir.as_bstr(), i, sub_cache)? {
                    Ok(built) => built,
                    Err(unusual) => return Ok(Err(unusual)),
                };
                // A directory holding only intent-to-add entries is left out, as git does.
                if !oid.is_empty_tree() {
                    out.push(Entry { mode: EntryMode::from(EntryKind::Tree), filename: name.into(), oid });
                }
                i = end;
                continue;
            }
            let entry = &entries[i];
            i += 1;
            // An intent-to-add entry (`git add -N`) is not part of the commit.
            if entry.flags.contains(Flags::INTENT_TO_ADD) {
                continue;
            }
            let Some(mode) = entry.mode.to_tree_entry_mode() else { return Ok(Err(Unusual)) };
            out.push(Entry { mode, filename: rest.into(), oid: entry.id });
        }
        let id = self.repo.write_tree(out)?;
        Ok(Ok((id, i)))
    }

    /// Whether the cache-tree still vouches for a directory: git marks a directory invalid when
    /// anything below it is staged, and (like git) we also want its tree to exist.
    fn vouched(&self, cache: &CacheTree) -> bool {
        cache.num_entries.is_some() && self.repo.repo.has_object(cache.id)
    }
}
