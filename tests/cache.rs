//! The gate's build caches: cargo builds in the gate's own target directory, kept between runs
//! (only the first run builds from scratch), never in the user's. Real git, real cargo.

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
