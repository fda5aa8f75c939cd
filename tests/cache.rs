//! The gate's build caches: cargo builds in the gate's own target directory, kept between runs
//! (only the first run builds from scratch), never in the user's; a `seed` copies the user's
//! build once, without the snapshot's own crates, so a planted artifact never decides a verdict.
//! Real git, real cargo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::TestRepo;

/// Every file below `dir`: its length, modification time and a hash of its content.
fn files(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime, u64)> {
    use std::hash::{Hash as _, Hasher as _};
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&path).unwrap_or_default().hash(&mut h);
                out.insert(path, (meta.len(), meta.modified().unwrap(), h.finish()));
            }
        }
    }
    out
}

/// The gate's cargo target directory (the tool's cache, under the test's HOME).
fn gate_target(t: &TestRepo) -> PathBuf {
    let targets = t.home().join(".cache/git-orchestrate/targets");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&targets).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.remove(0)
}

fn compiled(tail: &str) -> Vec<String> {
    tail.lines()
        .filter_map(|l| l.trim().strip_prefix("Compiling "))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

fn gate(t: &TestRepo) -> (i32, serde_json::Value) {
    let run = t.run_with_cargo(["gate", "--only", "tests", "--json"]);
    (run.code, run.json())
}

#[test]
fn the_gate_builds_in_its_own_target_kept_between_runs_never_in_the_user_s() {
    let t = TestRepo::new();
    t.write("Cargo.toml", "[workspace]\nmembers = [\"core\", \"app\"]\nresolver = \"2\"\n");
    t.write("core/Cargo.toml", "[package]\nname = \"core-lib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    t.write("core/src/lib.rs", "pub fn double(x: u32) -> u32 { x * 2 }\n");
    t.write(
        "app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncore-lib = { path = \"../core\" }\n",
    );
    t.write("app/src/lib.rs", "pub fn quad(x: u32) -> u32 { core_lib::double(core_lib::double(x)) }\n\n#[test]\nfn quads() { assert_eq!(quad(2), 8); }\n");
    t.write(".gitignore", "target/\nCargo.lock\n");
    t.configure("[gates.tests]\nrun = \"cargo test --offline --no-fail-fast\"\ntimeout = 600\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "feat: two crates"]);
    // The user builds by hand into the target directory their environment names (the one
    // `run_with_cargo` exports too).
    let user_target = t.root.join("target");
    t.cargo(&["test", "--offline", "--no-run"], None).ok();
    let before = files(&user_target);
    assert!(!before.is_empty());

    let (code, g) = gate(&t);
    assert_eq!(code, 0, "{g}");
    let first = &g["gates"][0];
    assert_eq!(first["figures"]["passed"], 1, "{first}");
    let mut built = compiled(first["output_tail"].as_str().unwrap());
    built.sort();
    assert_eq!(built, ["app", "core-lib"], "the first gate builds everything, in its own target");
    assert_eq!(files(&user_target), before, "the user's target directory is untouched");
    let target = gate_target(&t);
    assert!(target.join("debug/.fingerprint").is_dir(), "cargo built in {}", target.display());
    assert!(!t.dir.join("target").exists(), "nothing was built in the work tree");

    // A change to one crate: the next gate builds that crate only, on the gate's kept build.
    t.write("app/src/lib.rs", "pub fn quad(x: u32) -> u32 { core_lib::double(core_lib::double(x)) }\n\n#[test]\nfn quads() { assert_eq!(quad(3), 12); }\n");
    t.git(["commit", "-qam", "test: another figure"]);
    let (code, g) = gate(&t);
    assert_eq!(code, 0, "{g}");
    let second = &g["gates"][0];
    assert_eq!(compiled(second["output_tail"].as_str().unwrap()), ["app"], "{second}");
    assert_eq!(files(&user_target), before, "the user's target directory is untouched");
}

/// A dependency from a registry (a directory source outside the repository, as `cargo vendor`
/// makes), a crate of the repository that uses it, and `seed = ["target"]`.
fn seeded_project(t: &TestRepo) {
    let vendor = t.root.join("vendor");
    std::fs::create_dir_all(vendor.join("leftpad/src")).unwrap();
    std::fs::write(
        vendor.join("leftpad/Cargo.toml"),
        "[package]\nname = \"leftpad\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        vendor.join("leftpad/src/lib.rs"),
        "pub fn pad(s: &str, n: usize) -> String { format!(\"{s:>n$}\") }\n",
    )
    .unwrap();
    std::fs::write(vendor.join("leftpad/.cargo-checksum.json"), "{\"files\":{}}").unwrap();
    t.write(
        ".cargo/config.toml",
        &format!(
            "[source.crates-io]\nreplace-with = \"vendored\"\n\n[source.vendored]\ndirectory = \"{}\"\n",
            vendor.display()
        ),
    );
    t.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nleftpad = \"0.1\"\n\n[workspace]\n",
    );
    t.write("src/lib.rs", "pub fn padded() -> String { leftpad::pad(\"a\", 3) }\n\n#[test]\nfn pads() { assert_eq!(padded(), \"  a\"); }\n");
    t.write(".gitignore", "target/\n");
    t.configure("[gates.tests]\nrun = \"cargo test --offline --no-fail-fast\"\ntimeout = 600\nseed = [\"target\"]\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "feat: app"]);
}

#[test]
fn a_seeded_first_gate_reuses_dependencies_and_builds_the_repository_s_crates_over_a_planted_binary() {
    let t = TestRepo::new();
    seeded_project(&t);
    // The user (or an agent in their work tree) builds by hand in the work tree's target/.
    let user_target = t.dir.join("target");
    t.cargo(&["test", "--offline", "--no-run"], Some(&user_target)).ok();
    // Then breaks the code, and plants a test binary that prints a passing summary, with every
    // file of target/ dated in the future so that cargo would take it as fresh.
    t.write("src/lib.rs", "pub fn padded() -> String { leftpad::pad(\"a\", 4) }\n\n#[test]\nfn pads() { assert_eq!(padded(), \"  a\"); }\n");
    t.git(["commit", "-qam", "fix: wider"]);
    let deps = user_target.join("debug/deps");
    let mut planted = 0;
    for entry in std::fs::read_dir(&deps).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("app-") && !name.contains('.') {
            std::fs::write(&path, "#!/bin/sh\necho 'test result: ok. 42 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s'\n").unwrap();
            planted += 1;
        }
    }
    assert_eq!(planted, 1, "the test binary of app");
    let future = std::time::SystemTime::now() + std::time::Duration::from_secs(86_400 * 365 * 10);
    for path in files(&user_target).keys() {
        std::fs::File::options().write(true).open(path).unwrap().set_modified(future).unwrap();
    }
    let before = files(&user_target);

    let out = t.run_with_cargo(["gate", "--only", "tests", "--json"]);
    assert!(out.stderr.contains("seeded target from your work tree into "), "{}", out.stderr);
    assert!(out.stderr.contains("build units of this repository's own packages left out"), "{}", out.stderr);
    let (code, g) = (out.code, out.json());
    let run = &g["gates"][0];
    assert_eq!(code, 1, "{g}");
    assert_eq!((run["figures"]["passed"].as_u64(), run["figures"]["failed"].as_u64()), (Some(0), Some(1)), "{run}");
    assert_eq!(
        compiled(run["output_tail"].as_str().unwrap()),
        ["app"],
        "the dependency comes from the seed, the repository's crate from the snapshot: {run}"
    );
    let seed = &g["seeds"][0];
    assert_eq!(
        (seed["path"].as_str(), seed["status"].as_str(), seed["cargo"].as_bool()),
        (Some("target"), Some("seeded"), Some(true)),
        "{seed}"
    );
    assert!(seed["left_out"].as_u64().unwrap() >= 2, "app's units are left out: {seed}");
    assert_eq!(seed["into"].as_str().map(PathBuf::from), Some(gate_target(&t)), "{seed}");
    assert_eq!(files(&user_target), before, "the user's target directory is untouched");

    // Seeded once: the next run builds on the gate's own target.
    t.write("src/lib.rs", "pub fn padded() -> String { leftpad::pad(\"a\", 3) }\n\n#[test]\nfn pads() { assert_eq!(padded(), \"  a\"); }\n");
    t.git(["commit", "-qam", "fix: back"]);
    let (code, g) = gate(&t);
    assert_eq!(code, 0, "{g}");
    assert_eq!(g["seeds"][0]["status"], "present", "{g}");
    assert_eq!(compiled(g["gates"][0]["output_tail"].as_str().unwrap()), ["app"], "{g}");
    assert_eq!(files(&user_target), before, "the user's target directory is untouched");
}

#[test]
fn seed_is_said_in_trust_and_refused_where_it_could_leave_the_work_tree() {
    let t = TestRepo::new();
    t.configure("[gates.tests]\nrun = \"true\"\nseed = [\"../elsewhere\"]\n");
    let run = t.run(["gate"]).code(2);
    assert!(run.stderr.contains("gates.tests.seed has \"../elsewhere\", which climbs out"), "{}", run.stderr);
    t.configure("[gates.tests]\nrun = \"true\"\ncounts = false\nseed = [\"node_modules\"]\n[gates.t2]\nkind = \"tests\"\nfrom = \"tests\"\nseed = [\"x\"]\n");
    let run = t.run(["gate"]).code(2);
    assert!(run.stderr.contains("`seed` is for gates that run a command"), "{}", run.stderr);
    t.configure("[gates.tests]\nrun = \"true\"\ncounts = false\nseed = [\"node_modules\"]\n");
    let run = t.run(["trust", "--show"]).ok();
    assert!(run.stdout.contains("tests: copies node_modules from your work tree"), "{}", run.stdout);
}
