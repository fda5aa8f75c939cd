//! `git write-tree` in-process: the tree of what is staged, built from the index the way git
//! builds it. Directories the index's cache-tree extension still vouches for are taken as they
//! are, so the cost follows what changed, not the size of the repository.

use std::io::{BufRead, Read};
use std::path::Path;

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
        // `git commit` brings the cache-tree up to date (and writes its trees) before it runs
        // pre-commit: then the root tree is in the extension, and the entries need no decoding.
        if self.repo.object_hash() == gix::hash::Kind::Sha1 {
            if let Some(root) = cached_root(&path).filter(|id| self.repo.has_object(id)) {
                return Ok(root);
            }
        }
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

/// The root tree of the index at `path` if its cache-tree extension vouches for all of it,
/// found by stepping over the entries without decoding them. `None` for anything else: no
/// index, a root git marked invalid, a split or sparse index, an unknown version, a short file.
fn cached_root(path: &Path) -> Option<ObjectId> {
    let mut r = std::io::BufReader::with_capacity(64 * 1024, std::fs::File::open(path).ok()?);
    let mut header = [0u8; 12];
    r.read_exact(&mut header).ok()?;
    let word = |at: usize| u32::from_be_bytes(header[at..at + 4].try_into().expect("four bytes"));
    let (version, count) = (word(4), word(8));
    if &header[..4] != b"DIRC" || !(2..=4).contains(&version) {
        return None;
    }
    let mut name = Vec::new();
    for _ in 0..count {
        // ctime, mtime, dev, ino, mode, uid, gid, size, object id, flags: 62 bytes.
        let mut fixed = [0u8; 62];
        r.read_exact(&mut fixed).ok()?;
        let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
        let fixed_len = if flags & 0x4000 == 0 { 62 } else { 64 };
        if fixed_len == 64 {
            r.seek_relative(2).ok()?; // extended flags (version 3 and up)
        }
        if version == 4 {
            // The name: a varint (bytes to drop from the previous name), then a NUL-ended suffix.
            loop {
                let mut byte = [0u8];
                r.read_exact(&mut byte).ok()?;
                if byte[0] & 0x80 == 0 {
                    break;
                }
            }
            name.clear();
            r.read_until(0, &mut name).ok()?;
            continue;
        }
        // Versions 2 and 3: the name, then 1 to 8 NULs up to a multiple of 8 bytes. A name of
        // 0xFFF bytes or more is not counted in the flags: read up to its NUL.
        let mut consumed = fixed_len;
        let len = match usize::from(flags & 0x0FFF) {
            0x0FFF => {
                name.clear();
                r.read_until(0, &mut name).ok()?;
                consumed += name.len();
                name.len().checked_sub(1)?
            }
            len => len,
        };
        let padded = (fixed_len + len + 8) & !7;
        r.seek_relative(i64::try_from(padded.checked_sub(consumed)?).ok()?).ok()?;
    }
    // The extensions, then the checksum.
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).ok()?;
    let mut at = 0;
    while rest.len() - at > 20 {
        let signature = rest.get(at..at + 4)?;
        let size = usize::try_from(u32::from_be_bytes(rest.get(at + 4..at + 8)?.try_into().ok()?)).ok()?;
        let data = rest.get(at + 8..at + 8 + size)?;
        match signature {
            b"TREE" => {
                // The root: an empty path, NUL, "<entries> <subtrees>\n", and its id if valid.
                let (&0, data) = data.split_first()? else { return None };
                let line_end = data.find_byte(b'\n')?;
                let entries = data[..line_end].split(|b| *b == b' ').next()?;
                if entries.starts_with(b"-") {
                    return None;
                }
                return ObjectId::try_from(data.get(line_end + 1..line_end + 21)?).ok();
            }
            b"link" | b"sdir" => return None,
            _ => at += 8 + size,
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// git in `dir`, isolated from the environment this test runs in (a hook's `GIT_DIR`, the
    /// user's configuration).
    fn git(dir: &Path, args: &[&str]) -> String {
        #[allow(clippy::disallowed_methods)]
        let path = std::env::var_os("PATH").unwrap_or_default();
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", dir.join("no-config"))
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn root(dir: &Path) -> Option<String> {
        cached_root(&dir.join(".git/index")).map(|id| id.to_string())
    }

    #[test]
    fn the_root_is_read_from_every_index_version_and_only_when_valid() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        for (path, text) in [("a.txt", "a\n"), ("dir with space/naïve.txt", "b\n"), ("deep/1/2/f", "c\n")] {
            std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
            std::fs::write(dir.join(path), text).unwrap();
        }
        git(dir, &["add", "-A"]);
        assert_eq!(root(dir), None, "`git add` leaves the root invalid");
        git(dir, &["commit", "-qm", "one"]);
        assert_eq!(root(dir), Some(git(dir, &["rev-parse", "HEAD^{tree}"])), "version 2, just committed");

        std::fs::write(dir.join("a.txt"), "changed\n").unwrap();
        git(dir, &["add", "a.txt"]);
        assert_eq!(root(dir), None, "a staged change invalidates the root");

        // A name longer than the 12 bits of the flags (4095 bytes), made of 255-byte components.
        let blob = git(dir, &["hash-object", "-w", "a.txt"]);
        let long = vec!["x".repeat(250); 20].join("/");
        git(dir, &["update-index", "--add", "--cacheinfo", &format!("100644,{blob},{long}")]);
        let tree = git(dir, &["write-tree"]);
        assert_eq!(root(dir), Some(tree), "version 2, a 5 019-byte name");

        // git leaves a directory holding an intent-to-add entry invalid, even after write-tree.
        std::fs::write(dir.join("later.txt"), "later\n").unwrap();
        git(dir, &["add", "-N", "later.txt"]);
        git(dir, &["write-tree"]);
        assert_eq!(root(dir), None, "intent-to-add");
        git(dir, &["rm", "-q", "--cached", "later.txt"]);

        // skip-worktree is an extended flag: version 3.
        git(dir, &["update-index", "--skip-worktree", "a.txt"]);
        let tree = git(dir, &["write-tree"]);
        assert_eq!(&std::fs::read(dir.join(".git/index")).unwrap()[4..8], &[0, 0, 0, 3]);
        assert_eq!(root(dir), Some(tree), "version 3");

        git(dir, &["update-index", "--index-version", "4"]);
        let tree = git(dir, &["write-tree"]);
        assert_eq!(root(dir), Some(tree), "version 4, prefix-compressed names");

        // An untracked cache adds an extension after the cache-tree.
        git(dir, &["config", "core.untrackedCache", "true"]);
        git(dir, &["update-index", "--index-version", "2", "--untracked-cache"]);
        git(dir, &["status", "--porcelain"]);
        let tree = git(dir, &["write-tree"]);
        assert_eq!(root(dir), Some(tree), "with an untracked cache");

        // Split and sparse indexes are left to git.
        git(dir, &["update-index", "--split-index"]);
        git(dir, &["write-tree"]);
        assert_eq!(root(dir), None, "a split index");
    }

    #[test]
    fn a_short_or_foreign_file_is_no_root() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        std::fs::write(dir.join("a"), "a\n").unwrap();
        git(dir, &["add", "a"]);
        git(dir, &["commit", "-qm", "one"]);
        let index = std::fs::read(dir.join(".git/index")).unwrap();
        assert!(root(dir).is_some());
        for cut in [0, 5, 12, 40, 80, index.len() - 30] {
            std::fs::write(dir.join(".git/index"), &index[..cut]).unwrap();
            assert_eq!(root(dir), None, "cut at {cut}");
        }
        std::fs::write(dir.join(".git/index"), b"not an index at all").unwrap();
        assert_eq!(root(dir), None);
        assert_eq!(cached_root(&dir.join("missing")), None);
    }
}
