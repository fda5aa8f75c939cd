//! Seeding a gate's build caches from the user's work tree, so that the first gate run of a
//! project is not a build from scratch. A gate's `seed` names directories of the work tree
//! (`target`, `node_modules`); each is copied once, when the gate has none yet, just before the
//! gate's first command. Later runs build on the gate's own copy, which stays between runs.
//!
//! The work tree is only read: nothing there is written, locked for writing or linked to (a
//! hard link or a symlink would let a gate write into the user's files). Files are copied with
//! `copy_file_range` (`std::fs::copy`), which shares the blocks on filesystems that can (btrfs,
//! XFS), and keep their modification times, clamped to now (a time in the future would make
//! every later build stale). A symlink is copied as a link only when it is relative and stays
//! inside the repository; anything else is left out. A Python virtual environment is refused:
//! it holds the absolute path it was made at, so a copy would run (and write into) the user's.
//!
//! A cargo target directory goes to the gate's own (its `CARGO_TARGET_DIR`), and only its build
//! units (`.fingerprint`, `build` and `deps` of each profile), less every unit of a package
//! the snapshot holds. Cargo decides that an artifact is fresh by its fingerprint file and file
//! times, both of which anyone who can write the work tree can forge (a test binary that prints
//! a passing summary, with a matching fingerprint and a time in the future): so the code under
//! judgment is never taken from a seed, only compiled from the snapshot. What is taken are the
//! artifacts of dependencies from registries and git; a directory seeded whole (`node_modules`)
//! is taken as it is. Trusting them is what a configuration says with `seed`.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

/// What became of one seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Copied now.
    Seeded,
    /// The gate has it already (an earlier seed, or its own build): nothing was copied.
    Present,
    /// The work tree has no such directory: nothing to copy.
    Missing,
    /// Not copied, for the reason given.
    Refused,
}

/// One directory a gate's `seed` names, and what became of it in this run.
#[derive(Debug, Clone, Serialize)]
pub struct Seed {
    /// The gate whose `seed` names it.
    pub gate: String,
    /// The directory, as configured (relative to the work tree's root).
    pub path: String,
    /// Where it goes: the gate's cargo target directory, or the same path in the gate worktree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub into: Option<PathBuf>,
    /// Whether it is a cargo target directory (seeded without the snapshot's own packages).
    pub cargo: bool,
    pub status: Status,
    /// Files and symlinks copied, and their bytes.
    pub files: u64,
    pub bytes: u64,
    /// Entries not copied: the build units of the snapshot's own packages, symlinks that leave
    /// the repository, sockets and other special files.
    pub left_out: u64,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where seeds come from and go.
pub struct Places<'a> {
    /// The user's work tree (only read).
    pub work: &'a Path,
    /// The gate worktree.
    pub worktree: &'a Path,
    /// The gate's cargo target directory.
    pub cargo_target: &'a Path,
    /// The snapshot's own cargo packages and targets (see [`cargo_names`]): never seeded.
    pub own: &'a HashSet<String>,
}

/// How long a seed waits for a cargo build running in the work tree to finish.
const CARGO_WAIT: Duration = Duration::from_secs(60);

/// Seed `path` (a directory of the work tree that gate `gate` names) into the gate's caches,
/// unless the gate has it already. Never fails: what went wrong is the seed's `reason`.
pub fn seed(gate: &str, path: &str, places: &Places<'_>) -> Seed {
    let start = Instant::now();
    let mut seed = Seed {
        gate: gate.into(),
        path: path.into(),
        into: None,
        cargo: false,
        status: Status::Missing,
        files: 0,
        bytes: 0,
        left_out: 0,
        duration_ms: 0,
        reason: None,
    };
    if let Err(why) = seed_into(places, &mut seed) {
        seed.status = Status::Refused;
        seed.reason = Some(why);
    }
    seed.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    seed
}

fn seed_into(places: &Places<'_>, seed: &mut Seed) -> Result<(), String> {
    let source = super::inside(places.work, &seed.path).map_err(|why| format!("`{}` {why}", seed.path))?;
    let Ok(meta) = std::fs::symlink_metadata(&source) else {
        seed.status = Status::Missing;
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(format!("`{}` is not a directory", seed.path));
    }
    if is_file(&source.join("pyvenv.cfg")) {
        return Err(format!(
            "`{}` is a Python virtual environment, which holds the absolute path it was made at: a copy would run your own environment's Python and write into it (let the gate make its own; it stays between runs)",
            seed.path
        ));
    }
    seed.cargo = is_cargo_target(&source);
    let dest = if seed.cargo {
        places.cargo_target.to_path_buf()
    } else {
        super::inside(places.worktree, &seed.path)
            .map_err(|why| format!("in the gate worktree, `{}` {why}", seed.path))?
    };
    seed.into = Some(dest.clone());
    if std::fs::symlink_metadata(&dest).is_ok() {
        seed.status = Status::Present;
        return Ok(());
    }
    // Copied beside its place, then renamed into it: a run killed halfway leaves no seed that
    // looks whole.
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
        return Err(format!("`{}` has no place to go", seed.path));
    };
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(".orchestrate-seeding");
    let temp = parent.join(temp_name);
    remove_leftover(&temp).map_err(|e| format!("{}: {e}", temp.display()))?;
    let now = SystemTime::now();
    let copied = if seed.cargo {
        copy_cargo_target(&source, &temp, places, now, seed)
    } else {
        std::fs::create_dir(&temp).and_then(|()| copy_tree(&source, &temp, places.work, now, seed))
    };
    match copied.and_then(|()| std::fs::rename(&temp, &dest)) {
        Ok(()) => {
            seed.status = Status::Seeded;
            Ok(())
        }
        Err(e) => {
            let _ = remove_leftover(&temp);
            Err(format!("copying `{}` failed: {e}", seed.path))
        }
    }
}

/// Remove what a killed seed left (in the tool's own directories, under the gate lock).
fn remove_leftover(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => Ok(()),
    }
}

fn is_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

fn is_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Whether `dir` is a cargo target directory: cargo's `.rustc_info.json` or cache tag at its
/// root, or a profile directory (one holding `.fingerprint`) below it.
fn is_cargo_target(dir: &Path) -> bool {
    is_file(&dir.join(".rustc_info.json"))
        || std::fs::read(dir.join("CACHEDIR.TAG")).is_ok_and(|t| memchr::memmem::find(&t, b"cargo").is_some())
        || std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && is_dir(&e.path().join(".fingerprint")))
        })
}

/// The names the snapshot's own cargo packages build under, from the text of each of its
/// `Cargo.toml` files: the package's name and each target's (`[lib]`, `[[bin]]`, `[[test]]`,
/// `[[example]]`, `[[bench]]`), as written and with `-` as `_`. A unit whose name is one of
/// these is never seeded.
pub fn cargo_names<'a>(manifests: impl IntoIterator<Item = &'a [u8]>) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut add = |name: &str| {
        names.insert(name.to_string());
        names.insert(name.replace('-', "_"));
    };
    for text in manifests {
        let Ok(table) = toml::from_str::<toml::Table>(&String::from_utf8_lossy(text)) else { continue };
        let name_of = |v: &toml::Value| v.get("name").and_then(toml::Value::as_str).map(str::to_string);
        for key in ["package", "lib"] {
            if let Some(name) = table.get(key).and_then(name_of) {
                add(&name);
            }
        }
        for key in ["bin", "test", "example", "bench"] {
            for target in table.get(key).and_then(toml::Value::as_array).into_iter().flatten() {
                if let Some(name) = name_of(target) {
                    add(&name);
                }
            }
        }
    }
    names
}

/// Whether a build unit's entry (`.fingerprint/<name>-<hash>`, `build/<name>-<hash>`,
/// `deps/lib<name>-<hash>.rlib`, `deps/<name>-<hash>`) belongs to one of `own`.
fn own_unit(entry: &str, own: &HashSet<String>) -> bool {
    let stem = entry.split('.').next().unwrap_or(entry);
    let Some((name, hash)) = stem.rsplit_once('-') else { return false };
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    own.contains(name) || name.strip_prefix("lib").is_some_and(|n| own.contains(n))
}

/// A cargo target directory's build units into `dest`: its metadata files, then for each
/// profile directory (`debug`, `release`, `<triple>/debug`, `llvm-cov-target/debug`, …) its
/// `.fingerprint`, `build` and `deps`, less the snapshot's own units. Uplifted binaries,
/// `incremental` (only ever the workspace's own crates), documentation and packages are not
/// copied.
fn copy_cargo_target(
    source: &Path,
    dest: &Path,
    places: &Places<'_>,
    now: SystemTime,
    seed: &mut Seed,
) -> std::io::Result<()> {
    std::fs::create_dir(dest)?;
    for name in [".rustc_info.json", "CACHEDIR.TAG"] {
        let from = source.join(name);
        if is_file(&from) {
            copy_file(&from, &dest.join(name), now, seed)?;
        }
    }
    copy_profiles(source, dest, places, now, seed, 0)
}

fn copy_profiles(
    dir: &Path,
    dest: &Path,
    places: &Places<'_>,
    now: SystemTime,
    seed: &mut Seed,
    depth: usize,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let (from, to) = (entry.path(), dest.join(entry.file_name()));
        if is_dir(&from.join(".fingerprint")) {
            copy_profile(&from, &to, places, now, seed)?;
        } else if depth < 2 {
            copy_profiles(&from, &to, places, now, seed, depth + 1)?;
        }
    }
    Ok(())
}

fn copy_profile(
    profile: &Path,
    dest: &Path,
    places: &Places<'_>,
    now: SystemTime,
    seed: &mut Seed,
) -> std::io::Result<()> {
    // Cargo holds `.cargo-lock` exclusively while it builds: a shared lock (taken on a file
    // opened for reading) waits for a build in progress and keeps the next from starting
    // halfway through the copy.
    let _lock = shared_lock(&profile.join(".cargo-lock"))?;
    for sub in [".fingerprint", "build", "deps"] {
        let from = profile.join(sub);
        if !is_dir(&from) {
            continue;
        }
        let to = dest.join(sub);
        std::fs::create_dir_all(&to)?;
        for entry in std::fs::read_dir(&from)? {
            let entry = entry?;
            let name = entry.file_name();
            if own_unit(&name.to_string_lossy(), places.own) {
                seed.left_out += 1;
                continue;
            }
            copy_entry(&entry.path(), &to.join(&name), places.work, now, seed)?;
        }
    }
    Ok(())
}

/// A shared `flock` on cargo's build lock, waited for up to [`CARGO_WAIT`]; none when the
/// profile has no lock file.
fn shared_lock(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let start = Instant::now();
    loop {
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared) {
            Ok(()) => return Ok(Some(file)),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                if start.elapsed() > CARGO_WAIT
                    || super::runner::interrupted().load(std::sync::atomic::Ordering::Relaxed)
                {
                    return Err(std::io::Error::other(format!(
                        "a cargo build in your work tree held {} for {} s",
                        path.display(),
                        CARGO_WAIT.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Copy a directory's content into `dest` (which exists).
fn copy_tree(source: &Path, dest: &Path, work: &Path, now: SystemTime, seed: &mut Seed) -> std::io::Result<()> {
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        copy_entry(&entry.path(), &dest.join(entry.file_name()), work, now, seed)?;
    }
    Ok(())
}

/// Copy one entry, never following a symlink: a directory with its content, a regular file,
/// a symlink that is relative and stays inside the work tree (resolved from where it is, by
/// its text); anything else is left out.
fn copy_entry(from: &Path, to: &Path, work: &Path, now: SystemTime, seed: &mut Seed) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    let kind = meta.file_type();
    if kind.is_dir() {
        std::fs::create_dir(to)?;
        copy_tree(from, to, work, now, seed)
    } else if kind.is_file() {
        copy_file(from, to, now, seed)
    } else if kind.is_symlink() {
        let target = std::fs::read_link(from)?;
        if stays_inside(work, from, &target) {
            std::os::unix::fs::symlink(&target, to)?;
            seed.files += 1;
        } else {
            seed.left_out += 1;
        }
        Ok(())
    } else {
        seed.left_out += 1;
        Ok(())
    }
}

/// Whether the symlink at `link` (inside `work`), pointing at `target`, stays inside `work`:
/// relative, and never climbing above `work`'s root, resolved by its text.
fn stays_inside(work: &Path, link: &Path, target: &Path) -> bool {
    let Ok(at) = link.parent().unwrap_or(link).strip_prefix(work) else { return false };
    let mut depth = at.components().filter(|c| matches!(c, Component::Normal(_))).count();
    for part in target.components() {
        match part {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Copy a regular file (`copy_file_range`: shared blocks where the filesystem can), with its
/// permissions and its modification time, clamped to `now`.
fn copy_file(from: &Path, to: &Path, now: SystemTime, seed: &mut Seed) -> std::io::Result<()> {
    let bytes = std::fs::copy(from, to)?;
    let modified = std::fs::symlink_metadata(from)?.modified().unwrap_or(now).min(now);
    let since = modified.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let time = rustix::fs::Timespec {
        tv_sec: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: since.subsec_nanos().into(),
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        to,
        &rustix::fs::Timestamps { last_access: time, last_modification: time },
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )?;
    seed.files += 1;
    seed.bytes += bytes;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn names_of_the_snapshot_s_packages_and_targets() {
        let manifest = b"[package]\nname = \"my-app\"\n[lib]\nname = \"core_lib\"\n[[bin]]\nname = \"tool\"\n[[test]]\nname = \"integration\"\npath = \"tests/main.rs\"\n";
        let names = cargo_names([&manifest[..], b"[workspace]\nmembers = []\n", b"not toml ["]);
        for name in ["my-app", "my_app", "core_lib", "tool", "integration"] {
            assert!(names.contains(name), "{name}: {names:?}");
        }
        assert_eq!(names.len(), 5);
    }

    #[test]
    fn own_units_are_told_by_name_and_hash() {
        let own = cargo_names([&b"[package]\nname = \"my-app\"\n"[..]]);
        for entry in [
            "my-app-0123456789abcdef",
            "my_app-0123456789abcdef",
            "libmy_app-0123456789abcdef.rlib",
            "libmy_app-0123456789abcdef.rmeta",
            "my_app-0123456789abcdef.d",
        ] {
            assert!(own_unit(entry, &own), "{entry}");
        }
        for entry in ["serde-0123456789abcdef", "libserde-0123456789abcdef.rlib", "my-app", "my-app-notahash", "x"] {
            assert!(!own_unit(entry, &own), "{entry}");
        }
    }

    #[test]
    fn symlinks_are_kept_only_inside_the_work_tree() {
        let work = Path::new("/w");
        let link = Path::new("/w/node_modules/.bin/vitest");
        assert!(stays_inside(work, link, Path::new("../vitest/vitest.mjs")));
        assert!(stays_inside(work, link, Path::new("../../packages/a")));
        assert!(!stays_inside(work, link, Path::new("../../../packages/a")));
        assert!(!stays_inside(work, link, Path::new("../../../../etc/passwd")));
        assert!(!stays_inside(work, link, Path::new("/etc/passwd")));
    }

    #[test]
    fn a_cargo_target_is_seeded_without_the_snapshot_s_own_units() {
        let tmp = tempfile::tempdir().unwrap();
        let (work, worktree, target) = (tmp.path().join("work"), tmp.path().join("gate"), tmp.path().join("targets/k"));
        let t = work.join("target");
        write(&t.join(".rustc_info.json"), "{}");
        write(&t.join("debug/.cargo-lock"), "");
        write(&t.join("debug/.fingerprint/dep-0123456789abcdef/lib-dep"), "fp");
        write(&t.join("debug/.fingerprint/app-0123456789abcdef/lib-app"), "planted");
        write(&t.join("debug/deps/libdep-0123456789abcdef.rlib"), "rlib");
        write(&t.join("debug/deps/app-0123456789abcdef"), "planted binary");
        write(&t.join("debug/build/dep-0123456789abcdef/out/gen.rs"), "generated");
        write(&t.join("debug/incremental/app-1/s"), "incremental");
        write(&t.join("debug/app"), "uplifted");
        std::fs::create_dir_all(&worktree).unwrap();
        // A time in the future is clamped: it would make every later build stale.
        let future = t.join("debug/deps/libdep-0123456789abcdef.rlib");
        std::fs::File::options()
            .write(true)
            .open(&future)
            .unwrap()
            .set_modified(SystemTime::now() + Duration::from_secs(86_400 * 365))
            .unwrap();
        let own = cargo_names([&b"[package]\nname = \"app\"\n"[..]]);
        let places = Places { work: &work, worktree: &worktree, cargo_target: &target, own: &own };
        let s = seed("tests", "target", &places);
        assert_eq!((s.status, s.cargo, s.into.as_deref()), (Status::Seeded, true, Some(target.as_path())), "{s:?}");
        assert!(target.join("debug/deps/libdep-0123456789abcdef.rlib").is_file());
        assert!(target.join("debug/build/dep-0123456789abcdef/out/gen.rs").is_file());
        assert!(target.join(".rustc_info.json").is_file());
        for gone in [
            "debug/.fingerprint/app-0123456789abcdef",
            "debug/deps/app-0123456789abcdef",
            "debug/incremental",
            "debug/app",
        ] {
            assert!(!target.join(gone).exists(), "{gone} was copied");
        }
        assert_eq!(s.left_out, 2);
        let copied = std::fs::metadata(target.join("debug/deps/libdep-0123456789abcdef.rlib")).unwrap();
        assert!(copied.modified().unwrap() <= SystemTime::now());
        // The gate has its own now: a second seed copies nothing.
        assert_eq!(seed("tests", "target", &places).status, Status::Present);
        assert!(!worktree.join("target").exists(), "nothing lands in the gate worktree");
    }

    #[test]
    fn a_directory_is_seeded_whole_a_virtualenv_and_a_symlinked_one_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (work, worktree, target) = (tmp.path().join("work"), tmp.path().join("gate"), tmp.path().join("t"));
        write(&work.join("node_modules/vitest/index.mjs"), "export {}");
        std::fs::create_dir_all(work.join("node_modules/.bin")).unwrap();
        std::os::unix::fs::symlink("../vitest/index.mjs", work.join("node_modules/.bin/vitest")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", work.join("node_modules/.bin/outside")).unwrap();
        write(&work.join(".venv/pyvenv.cfg"), "home = /usr/bin\n");
        std::fs::create_dir_all(work.join("real")).unwrap();
        std::os::unix::fs::symlink(work.join("real"), work.join("linked")).unwrap();
        std::fs::create_dir_all(&worktree).unwrap();
        let own = HashSet::new();
        let places = Places { work: &work, worktree: &worktree, cargo_target: &target, own: &own };
        let s = seed("tests", "node_modules", &places);
        assert_eq!((s.status, s.cargo, s.files, s.left_out), (Status::Seeded, false, 2, 1), "{s:?}");
        assert_eq!(
            std::fs::read_link(worktree.join("node_modules/.bin/vitest")).unwrap(),
            Path::new("../vitest/index.mjs")
        );
        assert!(std::fs::symlink_metadata(worktree.join("node_modules/.bin/outside")).is_err());
        let venv = seed("tests", ".venv", &places);
        assert_eq!(venv.status, Status::Refused);
        assert!(venv.reason.unwrap().contains("virtual environment"));
        assert!(!worktree.join(".venv").exists());
        assert_eq!(seed("tests", "linked", &places).status, Status::Refused);
        assert_eq!(seed("tests", "absent", &places).status, Status::Missing);
        assert!(!target.exists(), "no cargo target was made");
    }
}
