//! The snapshot and the change the gates judge are worked out in-process; they must be exactly
//! what git itself would say: the tree `git write-tree` writes, the files and added lines
//! `git diff --no-renames -U0` shows.

use std::collections::BTreeSet;

use crate::common::TestRepo;

const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// The tree the gate judged (`gate --stage pre-commit` judges what is staged).
fn gated_tree(t: &TestRepo, env: &[(&str, &str)]) -> String {
    let run = t.run_env(env, ["gate", "--stage", "pre-commit", "--json"]).ok();
    run.json()["tree"].as_str().unwrap().to_string()
}

#[track_caller]
fn same_tree_as_git(t: &TestRepo, what: &str) {
    let ours = gated_tree(t, &[]);
    let git = t.git(["write-tree"]).trim().to_string();
    assert_eq!(ours, git, "{what}: the gated tree differs from `git write-tree`");
}

#[test]
fn the_staged_tree_is_the_one_git_write_tree_writes() {
    let t = TestRepo::new();
    same_tree_as_git(&t, "just committed: the cache-tree vouches for everything");

    // Names whose order differs between paths and tree entries, spaces, non-ASCII, modes.
    for path in ["a-b", "a.b", "a/x", "a0", "ab/c", "dir with space/naïve.txt", "deep/1/2/3/f", "bin/run.sh"] {
        t.write(path, &format!("{path}\n"));
    }
    std::fs::set_permissions(t.dir.join("bin/run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("a.b", t.dir.join("link")).unwrap();
    t.git(["add", "-A"]);
    same_tree_as_git(&t, "new files, an executable, a symlink");
    t.git(["commit", "-qm", "chore: files"]);

    t.write("deep/1/2/3/f", "changed\n");
    t.git(["add", "-A"]);
    same_tree_as_git(&t, "one deep change, every other directory still valid");

    t.git(["rm", "-q", "a/x"]);
    same_tree_as_git(&t, "a directory emptied by a removal");

    t.write("ita.txt", "later\n");
    t.write("only-ita/y", "later\n");
    t.git(["add", "-N", "ita.txt", "only-ita/y"]);
    same_tree_as_git(&t, "intent-to-add entries, one alone in its directory");

    let head = t.rev("HEAD");
    t.git(["update-index", "--add", "--cacheinfo", &format!("160000,{head},vendor/sub")]);
    same_tree_as_git(&t, "a submodule");

    t.git(["update-index", "--split-index"]);
    t.write("a0", "split\n");
    t.git(["add", "a0"]);
    same_tree_as_git(&t, "a split index");
    t.git(["update-index", "--no-split-index"]);

    // Another index, as `git commit -a` and `git commit <paths>` make for their hooks.
    let alt = t.root.join("alt-index");
    let alt = alt.to_str().unwrap();
    t.git(["commit", "-qm", "chore: more"]);
    let env = [("GIT_INDEX_FILE", alt)];
    let mut git = t.command("git", &t.dir);
    git.env("GIT_INDEX_FILE", alt).args(["read-tree", "HEAD"]);
    assert!(git.status().unwrap().success());
    t.write("elsewhere.txt", "only in the other index\n");
    let mut git = t.command("git", &t.dir);
    git.env("GIT_INDEX_FILE", alt).args(["add", "elsewhere.txt"]);
    assert!(git.status().unwrap().success());
    let mut git = t.command("git", &t.dir);
    let expected = git.env("GIT_INDEX_FILE", alt).args(["write-tree"]).output().unwrap();
    let expected = String::from_utf8(expected.stdout).unwrap().trim().to_string();
    assert_eq!(gated_tree(&t, &env), expected, "GIT_INDEX_FILE is the index judged");
    assert_ne!(expected, t.git(["write-tree"]).trim(), "and not the default index");

    // A sparse index holds whole directories as entries: git builds that tree.
    t.git(["rm", "-q", "--cached", "ita.txt", "only-ita/y"]);
    std::fs::remove_file(t.dir.join("ita.txt")).unwrap();
    std::fs::remove_dir_all(t.dir.join("only-ita")).unwrap();
    t.git(["sparse-checkout", "set", "--cone", "--sparse-index", "bin"]);
    same_tree_as_git(&t, "a sparse index");
}

#[test]
fn an_empty_repository_and_an_unmerged_index() {
    let t = TestRepo::empty();
    t.git(["init", "-q", "-b", "main"]);
    assert_eq!(gated_tree(&t, &[]), EMPTY_TREE, "nothing staged yet: the empty tree, as git writes it");

    let t = TestRepo::new();
    t.commit_file("f.txt", "base\n", "chore: base");
    t.git(["switch", "-q", "-c", "other"]);
    t.commit_file("f.txt", "theirs\n", "chore: theirs");
    t.git(["switch", "-q", "main"]);
    t.commit_file("f.txt", "ours\n", "chore: ours");
    assert_ne!(t.git_try(["merge", "-q", "other"]).code, 0, "a conflict");
    let run = t.run(["gate", "--stage", "pre-commit"]);
    assert_ne!(run.code, 0, "an unmerged index has no tree");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stderr.contains("write-tree"), "git's own words say why: {}", run.stderr);
}

/// `git diff -U0` from `base` to the staged tree: (path, line) of every added line holding `needle`.
fn git_added_lines(t: &TestRepo, base: &str, tree: &str, needle: &str) -> BTreeSet<(String, u64)> {
    let diff = t.git(["-c", "core.quotePath=false", "diff", "--no-renames", "-U0", base, tree]);
    let mut out = BTreeSet::new();
    let (mut path, mut line) = (String::new(), 0u64);
    for l in diff.lines() {
        if let Some(p) = l.strip_prefix("+++ ") {
            // A path with a space ends in a tab in this header.
            let p = p.strip_suffix('\t').unwrap_or(p);
            path = p.strip_prefix("b/").unwrap_or(p).to_string();
        } else if let Some(hunk) = l.strip_prefix("@@ ") {
            let new = hunk.split(' ').find_map(|p| p.strip_prefix('+')).unwrap();
            line = new.split(',').next().unwrap().parse().unwrap();
        } else if let Some(added) = l.strip_prefix('+') {
            if added.contains(needle) {
                out.insert((path.clone(), line));
            }
            line += 1;
        }
    }
    out
}

#[test]
fn the_gates_see_the_change_as_git_diff_does() {
    let secret = format!("{}{}", "AKIA", "Z7QW4R2T5Y6U3I2O");
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.secrets]\n\n[gates.scope]\n", "chore: gates");
    t.started_with("x", &TestRepo::plan_text("x", 1).replace("area1/**", "nowhere/**"));
    // What the phase starts from: text, CRLF, no final newline, binary, a file that becomes a
    // directory and a directory that becomes a file, a mode to change, a file to delete.
    let lines = (1..=40).map(|i| format!("line {i}")).collect::<Vec<_>>().join("\n") + "\n";
    t.write("text.txt", &lines);
    t.write("crlf.txt", "one\r\ntwo\r\nthree\r\n");
    t.write("no-newline.txt", "last");
    std::fs::write(t.dir.join("blob.bin"), b"\0\x01\x02binary").unwrap();
    t.write("becomes-dir", "a file\n");
    t.write("becomes-file/inner.txt", "inner\n");
    t.write("mode.sh", "echo\n");
    t.write("gone.txt", "bye\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: starting point"]);
    t.run(["phase", "start"]).ok();
    let fork = t.rev("HEAD");

    let mut text: Vec<String> = lines.lines().map(str::to_string).collect();
    text[4] = format!("key = \"{secret}\"");
    text.insert(20, format!("added = \"{secret}\""));
    text.insert(21, format!("also = \"{secret}\""));
    text.retain(|l| l != "line 30");
    text.push(format!("tail = \"{secret}\""));
    t.write("text.txt", &(text.join("\n") + "\n"));
    t.write("crlf.txt", &format!("one\r\nk = \"{secret}\"\r\nthree\r\n"));
    t.write("no-newline.txt", &format!("last\nk = \"{secret}\""));
    std::fs::write(t.dir.join("blob.bin"), format!("\0{secret}").as_bytes()).unwrap();
    std::fs::remove_file(t.dir.join("becomes-dir")).unwrap();
    t.write("becomes-dir/now.txt", &format!("k = \"{secret}\"\n"));
    std::fs::remove_dir_all(t.dir.join("becomes-file")).unwrap();
    t.write("becomes-file", "a file now\n");
    std::fs::set_permissions(t.dir.join("mode.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::remove_file(t.dir.join("gone.txt")).unwrap();
    t.write("new dir/naïve ü.txt", &format!("x\nk = \"{secret}\"\n"));
    t.git(["add", "-A"]);

    let report = t.run(["gate", "--stage", "pre-commit", "--json"]).code(1).json();
    let tree = report["tree"].as_str().unwrap();
    let gate = |name: &str| report["gates"].as_array().unwrap().iter().find(|g| g["gate"] == name).unwrap().clone();

    let files = t.git(["-c", "core.quotePath=false", "diff", "--no-renames", "--name-only", &fork, tree]);
    let files: BTreeSet<String> = files.lines().map(str::to_string).collect();
    let outside: BTreeSet<String> =
        gate("scope")["figures"]["outside"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().into()).collect();
    assert_eq!(outside, files, "the scope gate judged exactly the files git diff lists");

    let found: BTreeSet<(String, u64)> = gate("secrets")["figures"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
        .collect();
    // git shows no lines of a binary file: the gate scans all of it, each run between NUL
    // bytes a line (the token follows the one NUL).
    let mut want = git_added_lines(&t, &fork, tree, &secret);
    want.insert(("blob.bin".to_string(), 2));
    assert_eq!(found, want, "secrets found on git's added lines, at its numbers, and in the binary file");
    assert_eq!(found.len(), 9, "{found:?}");
}
