//! A team across clones: `sync` through a bare remote, status from the remote, `verify` in CI.

use std::path::{Path, PathBuf};

use crate::common::TestRepo;

/// The counting gate: every run is a line in `$HOME/runs`; it passes when `area1/ok` exists.
const COUNTING_GATE: &str =
    "[gates.tests]\nrun = 'echo run >> \"$HOME/runs\"; test -f area1/ok'\nstage = \"pre-commit\"\ncounts = false\n";

/// A bare `remote.git` as `origin`, `main` pushed to it.
fn with_origin(t: &TestRepo) -> PathBuf {
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", "--initial-branch=main", remote.to_str().unwrap()]);
    t.git(["remote", "add", "origin", remote.to_str().unwrap()]);
    t.git(["push", "-q", "--no-verify", "origin", "main"]);
    remote
}

/// A clone of `remote` at `root/<name>`, committing as `who`.
fn clone(t: &TestRepo, remote: &Path, name: &str, who: &str) -> PathBuf {
    let dir = t.root.join(name);
    t.git_in(&t.root, ["clone", "-q", remote.to_str().unwrap(), dir.to_str().unwrap()]);
    t.git_in(&dir, ["config", "user.name", who]);
    t.git_in(&dir, ["config", "user.email", &format!("{}@example.com", who.to_lowercase())]);
    dir
}

/// Every ref of the remote, for "nothing was forced" checks.
fn remote_refs(t: &TestRepo, remote: &Path) -> Vec<(String, String)> {
    t.git_in(remote, ["for-each-ref", "--format=%(refname) %(objectname)"])
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())))
        .collect()
}

/// Every ref the remote had before is an ancestor of what it has now: no push was forced.
fn assert_only_forward(t: &TestRepo, remote: &Path, before: &[(String, String)]) {
    let now = remote_refs(t, remote);
    for (name, old) in before {
        let new = now.iter().find(|(n, _)| n == name).map(|(_, id)| id.clone());
        let new = new.unwrap_or_else(|| panic!("{name} was deleted on the remote"));
        let ok = t.command("git", remote).args(["merge-base", "--is-ancestor", old, &new]).status().unwrap();
        assert!(ok.success(), "{name} moved from {old} to {new}, not forward: a forced push");
    }
}

/// The records of every notes ref, sorted: what a clone knows.
fn records(t: &TestRepo, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for notes in ["orchestrate", "orchestrate-evidence"] {
        let list = t.command("git", dir).args(["notes", &format!("--ref={notes}"), "list"]).output().unwrap();
        for line in String::from_utf8_lossy(&list.stdout).lines() {
            let blob = line.split_whitespace().next().unwrap();
            let text = t.git_in(dir, ["cat-file", "-p", blob]);
            out.extend(text.lines().map(|l| format!("{notes}: {l}")));
        }
    }
    out.sort();
    out
}

/// `status --json` without the parts that tell where a clone read a branch from.
fn status(t: &TestRepo, dir: &Path) -> serde_json::Value {
    let mut s = t.run_in(dir, ["status", "--json"]).ok().json();
    for f in s["features"].as_array_mut().unwrap() {
        f.as_object_mut().unwrap().remove("read_from_remote");
    }
    s
}

#[test]
fn three_clones_share_every_record_through_sync_and_nothing_is_forced() {
    let t = TestRepo::new();
    let remote = with_origin(&t);
    // Approving shares the decision with origin at once.
    t.started_and_approved("shared", 3);
    let pushed = remote_refs(&t, &remote);
    assert!(pushed.iter().any(|(n, _)| n == "refs/notes/orchestrate"), "{pushed:?}");
    assert!(pushed.iter().any(|(n, _)| n == "refs/heads/orchestrate/shared/main"), "{pushed:?}");

    // A fresh clone, then the one documented command: the same state as the origin clone.
    let b = clone(&t, &remote, "b", "Grace");
    let c = clone(&t, &remote, "c", "Edsger");
    let before = t.run_in(&b, ["status"]).ok();
    assert!(
        before.stderr.contains("git orchestrate sync"),
        "a fresh clone says how to get the state: {}",
        before.stderr
    );
    t.run_in(&b, ["sync"]).ok();
    assert_eq!(status(&t, &b), status(&t, &t.dir), "a fresh clone's status after `sync`");
    t.run_in(&c, ["sync"]).ok();

    // Concurrent events in all three: phase 1 of the shared feature started in two clones that
    // had not seen each other (the same note written apart), and a feature of its own in each.
    t.run_in(&b, ["phase", "start", "1", "--feature", "shared"]).ok();
    t.run_in(&c, ["phase", "start", "1", "--feature", "shared"]).ok();
    for (dir, name) in [(&t.dir, "fa"), (&b, "fb"), (&c, "fc")] {
        let file = t.root.join(format!("{name}.md"));
        std::fs::write(&file, TestRepo::plan_text(name, 1)).unwrap();
        t.run_in(dir, ["start", name, "--plan", file.to_str().unwrap()]).ok();
    }
    // Each syncs in turn, then again: never a forced push.
    for dir in [&t.dir, &b, &c, &t.dir, &b] {
        let before = remote_refs(&t, &remote);
        let out = t.run_in(dir, ["sync", "--json"]).ok().json();
        assert_eq!(out["remote"], "origin");
        assert_only_forward(&t, &remote, &before);
    }
    let all = records(&t, &t.dir);
    assert_eq!(records(&t, &b), all, "every record in b");
    assert_eq!(records(&t, &c), all, "every record in c");
    let features = status(&t, &c);
    let names: Vec<&str> =
        features["features"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["fa", "fb", "fc", "shared"]);
    let shared = &features["features"][3];
    assert_eq!(shared["phases"][0]["state"], "active", "{shared}");
    assert_eq!(shared["phases"][1]["state"], "planned", "{shared}");
    let started = all.iter().filter(|r| r.contains("\"phase-started\"")).count();
    assert_eq!(started, 2, "both starts are kept: {all:?}");
    // The origin clone made no phase branch: sync created it from origin's.
    assert!(t.git(["branch", "--list", "orchestrate/shared/*"]).contains("1-database-schema"));
}

#[test]
fn a_push_rejected_because_the_remote_moved_is_retried_never_forced() {
    let t = TestRepo::new();
    let remote = with_origin(&t);
    t.started_and_approved("race", 1);
    let b = clone(&t, &remote, "b", "Grace");
    t.run_in(&b, ["sync"]).ok();
    // b records something, and will push it to origin while a's sync is pushing.
    let file = t.root.join("other.md");
    std::fs::write(&file, TestRepo::plan_text("other", 1)).unwrap();
    t.run_in(&b, ["start", "other", "--plan", file.to_str().unwrap()]).ok();
    let mine = t.root.join("mine.md");
    std::fs::write(&mine, TestRepo::plan_text("mine", 1)).unwrap();
    t.run(["start", "mine", "--plan", mine.to_str().unwrap()]).ok();
    let hook = t.dir.join(".git/hooks/pre-push");
    let marker = t.root.join("raced");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nif [ ! -e '{m}' ]; then touch '{m}'; git -C '{b}' push -q origin refs/notes/orchestrate:refs/notes/orchestrate; fi\nexit 0\n",
            m = marker.display(),
            b = b.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let before = remote_refs(&t, &remote);
    let out = t.run(["sync", "--no-branches", "--json"]).ok().json();
    assert!(marker.exists(), "the remote moved during the push");
    assert_eq!(out["rounds"], 2, "rejected once, fetched, merged and pushed again: {out}");
    assert_only_forward(&t, &remote, &before);
    t.run_in(&b, ["sync"]).ok();
    assert_eq!(records(&t, &b), records(&t, &t.dir));
    let names = t.run_in(&b, ["status", "--json"]).ok().json();
    assert_eq!(names["features"].as_array().unwrap().len(), 3);
}

#[test]
fn status_reads_missing_branches_from_the_remote_and_names_the_restore() {
    let t = TestRepo::new();
    let remote = with_origin(&t);
    t.started_and_approved("gone", 2);
    let b = clone(&t, &remote, "b", "Grace");
    // The notes alone (plain `git fetch` after init's refspec, then merged): no local branches.
    t.git_in(&b, ["fetch", "-q", "origin", "refs/notes/orchestrate:refs/notes/orchestrate"]);
    let s = t.run_in(&b, ["status", "--json"]).ok().json();
    let f = &s["features"][0];
    assert_eq!(f["state"], "in-progress", "not void: the plan is read from origin's branch: {f}");
    assert_eq!(f["read_from_remote"]["orchestrate/gone/main"], "origin/orchestrate/gone/main");
    let text = t.run_in(&b, ["status"]).ok().stdout;
    assert!(text.contains("read from origin/orchestrate/gone/main"), "{text}");
    // Gone here and on the remote: the command that brings it back.
    t.git(["switch", "-q", "main"]);
    t.git(["branch", "-D", "orchestrate/gone/main"]);
    t.git(["push", "-q", "--no-verify", "origin", "--delete", "orchestrate/gone/main"]);
    t.git(["fetch", "-q", "--prune", "origin"]);
    let s = t.run(["status", "--json"]).ok().json();
    let restore = s["features"][0]["restore"].as_str().unwrap().to_string();
    assert!(restore.starts_with("git branch orchestrate/gone/main "), "{restore}");
    let words: Vec<&str> = restore.split_whitespace().collect();
    t.git(["branch", words[2], words[3]]);
    let s = t.run(["status", "--json"]).ok().json();
    assert!(s["features"][0]["restore"].is_null());
    assert_eq!(s["features"][0]["state"], "in-progress");
}

#[test]
fn init_lets_plain_fetch_bring_the_notes_beside_ours() {
    let t = TestRepo::new();
    let remote = with_origin(&t);
    t.started_and_approved("f", 1);
    let b = clone(&t, &remote, "b", "Grace");
    t.run_in(&b, ["init"]).ok();
    let specs = t.git_in(&b, ["config", "--get-all", "remote.origin.fetch"]);
    assert!(specs.contains("refs/notes/orchestrate*:refs/orchestrate-remotes/origin/notes/orchestrate*"), "{specs}");
    t.git_in(&b, ["fetch", "-q"]);
    assert!(!t
        .git_in(&b, ["rev-parse", "-q", "--verify", "refs/orchestrate-remotes/origin/notes/orchestrate"])
        .is_empty());
    // Nothing local was written over: sync merges.
    let local = t.command("git", &b).args(["rev-parse", "-q", "--verify", "refs/notes/orchestrate"]).output().unwrap();
    assert!(!local.status.success(), "plain fetch never writes our notes ref");
    t.run_in(&b, ["sync"]).ok();
    assert_eq!(status(&t, &b), status(&t, &t.dir));
}

#[test]
fn divergent_decisions_resolve_the_same_everywhere_and_are_shown() {
    let t = TestRepo::new();
    let remote = with_origin(&t);
    t.started_and_approved("d", 1);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/a.txt", "a\n", "feat(d): a");
    t.run(["phase", "submit"]).ok();
    t.run(["sync"]).ok();
    let b = clone(&t, &remote, "b", "Grace");
    t.run_in(&b, ["sync"]).ok();
    // Apart: the origin clone approves phase 1, b sends it back.
    t.run(["approve", "phase", "--yes"]).ok();
    t.git_in(&b, ["switch", "-q", "orchestrate/d/1-database-schema"]);
    t.run_in(&b, ["review", "1", "--request-changes", "-m", "more tests"]).ok();
    t.run_in(&b, ["sync", "--no-branches"]).ok();
    t.run(["sync", "--no-branches"]).ok();
    let here = t.run(["status", "--json"]).ok().json();
    let there = t.run_in(&b, ["status", "--json"]).ok().json();
    for s in [&here, &there] {
        let f = &s["features"][0];
        assert_eq!(f["phases"][0]["state"], "approved", "the approval stands: {f}");
        let d = f["divergent"][0].as_str().unwrap_or_default();
        assert!(d.contains("phase 1 was approved by") && d.contains("sent back by"), "{f}");
    }
    assert!(t.run(["status"]).ok().stdout.contains("divergent: phase 1 was approved by"));
}

#[test]
fn evidence_survives_amend_rebase_and_a_squash_merge_and_commit_notes_follow_rewrites() {
    let t = TestRepo::new();
    t.configure(COUNTING_GATE);
    t.run(["init"]).ok();
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("r", 1);
    t.run(["phase", "start"]).ok();
    let runs = t.home().join("runs");
    let count = || std::fs::read_to_string(&runs).unwrap_or_default().lines().count();
    t.commit_file("area1/ok", "ok\n", "feat(r): ok");
    let after_commit = count();
    assert!(after_commit >= 1);
    // A commit-keyed note of any orchestrate ref follows --amend and rebase (notes.rewriteRef).
    t.git(["notes", "--ref=orchestrate-review", "add", "-m", "looked at it", "HEAD"]);
    t.git(["commit", "-q", "--amend", "--no-verify", "-m", "feat(r): ok, reworded"]);
    assert_eq!(t.git(["notes", "--ref=orchestrate-review", "show", "HEAD"]).trim(), "looked at it");
    t.git(["rebase", "-q", "--force-rebase", "--no-verify", "HEAD~1"]);
    assert_eq!(t.git(["notes", "--ref=orchestrate-review", "show", "HEAD"]).trim(), "looked at it");
    // Tree-keyed evidence: the rewritten commits have the tree that was gated.
    let v = t.run(["verify", "--range", "main..HEAD", "--json"]).ok().json();
    assert_eq!(v["problems"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(count(), after_commit, "verify reused the evidence");
    // A squash merge of the phase elsewhere has the same tree: a cache hit, no run.
    t.git(["switch", "-q", "-c", "elsewhere", "orchestrate/r/main"]);
    t.git(["merge", "-q", "--squash", "orchestrate/r/1-database-schema"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(r): squashed"]);
    t.run(["gate", "--stage", "pre-commit", "--rev", "HEAD", "--feature", "r", "--phase", "1"]).ok();
    assert_eq!(count(), after_commit, "the squash's tree was gated already");
}

#[test]
fn verify_finds_a_no_verify_push_and_its_run_missing_evidence_is_reused_by_another_clones_pre_push() {
    let t = TestRepo::new();
    t.configure(COUNTING_GATE);
    let remote = with_origin(&t);
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("m", 1);
    t.run(["phase", "start"]).ok();
    let runs = t.home().join("runs");
    let count = || std::fs::read_to_string(&runs).unwrap_or_default().lines().count();
    // Past every hook: a commit with --no-verify, pushed with --no-verify.
    t.write("area1/ok", "ok\n");
    t.git(["add", "area1/ok"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(m): ungated"]);
    t.git(["push", "-q", "--no-verify", "origin", "orchestrate/m/1-database-schema"]);
    assert_eq!(count(), 0);
    let range = format!("{}..{}", t.rev("orchestrate/m/main"), t.rev("HEAD"));

    // CI: a fresh clone, the notes fetched, the pushed range verified.
    let ci = clone(&t, &remote, "ci", "CI");
    t.run_in(&ci, ["sync", "--no-branches"]).ok();
    let v = t.run_in(&ci, ["verify", "--range", &range, "--json"]).code(1).json();
    let problems = v["problems"].as_array().unwrap();
    let gates: Vec<&str> = problems.iter().map(|p| p["missing_gate"].as_str().unwrap()).collect();
    assert_eq!(gates, ["tests", "secrets", "scope"], "every required gate lacks evidence: {v}");
    assert!(problems[0]["message"].as_str().unwrap().contains("no passing `tests` evidence"), "{v}");
    assert!(problems[0]["fix"].as_str().unwrap().contains("git orchestrate gate --rev"), "{v}");
    let text = t.run_in(&ci, ["verify", "--range", &range]).code(1);
    assert!(text.stdout.contains("3 problems"), "{}", text.stdout);

    // CI runs what is missing, records it, and pushes the evidence back.
    let v = t.run_in(&ci, ["verify", "--range", &range, "--run-missing", "--trust", "--json"]).ok().json();
    assert_eq!(v["ran"][0]["gate"], "tests", "{v}");
    assert!(v["ran"].as_array().unwrap().iter().all(|r| r["verdict"] == "pass"), "{v}");
    assert_eq!(count(), 1);
    t.run_in(&ci, ["sync", "--no-branches"]).ok();
    // The developer's clone takes it, and its pre-push needs no run.
    t.run(["sync", "--no-branches"]).ok();
    t.commit_file("area1/more.txt", "more\n", "feat(m): more");
    let runs_now = count();
    let pushed = t.git_try(["push", "-q", "origin", "orchestrate/m/1-database-schema"]);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert_eq!(count(), runs_now, "the evidence CI recorded was reused: no re-run");
}

#[test]
fn a_forged_evidence_note_passes_pre_push_but_not_verify_under_the_ci_policy() {
    let t = TestRepo::new();
    t.configure(&format!("{COUNTING_GATE}[approvals]\nrequire = \"any\"\n\n[ci]\ntrust_pushed_evidence = false\n"));
    let remote = with_origin(&t);
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("f", 1);
    t.run(["phase", "start"]).ok();
    let runs = t.home().join("runs");
    let count = || std::fs::read_to_string(&runs).unwrap_or_default().lines().count();
    // A real pass, on a tree with area1/ok.
    t.commit_file("area1/ok", "ok\n", "feat(f): ok");
    let good = t.rev("HEAD^{tree}");
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", &good]);
    // A commit whose gate fails, made with --no-verify, and the pass copied onto its tree.
    t.git(["rm", "-q", "area1/ok"]);
    t.write("area1/work.txt", "w\n");
    t.git(["add", "area1/work.txt"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(f): no ok"]);
    let bad = t.rev("HEAD^{tree}");
    let forged: Vec<String> = note
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|mut r| {
            r["tree"] = bad.clone().into();
            r.to_string()
        })
        .collect();
    t.git(["notes", "--ref=orchestrate-evidence", "add", "-f", "-m", &forged.join("\n"), &bad]);
    let before = count();
    // The hooks take the forgery (unsigned evidence is the default policy)...
    let pushed = t.git_try(["push", "-q", "origin", "orchestrate/f/1-database-schema"]);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert_eq!(count(), before, "pre-push took the forged pass");
    t.run(["sync", "--no-branches"]).ok();
    // ... CI under `trust_pushed_evidence = false` does not.
    let ci = clone(&t, &remote, "ci", "CI");
    t.run_in(&ci, ["sync", "--no-branches"]).ok();
    let range = format!("{}..{}", t.rev("orchestrate/f/main"), t.rev("HEAD"));
    let v = t.run_in(&ci, ["verify", "--range", &range, "--json"]).code(1).json();
    assert!(v["problems"][0]["message"].as_str().unwrap().contains("not trusted here"), "{v}");
    assert_eq!(v["pushed_evidence_trusted"], false);
    let v = t.run_in(&ci, ["verify", "--range", &range, "--run-missing", "--trust", "--json"]).code(1).json();
    let failing: Vec<&serde_json::Value> =
        v["ran"].as_array().unwrap().iter().filter(|r| r["verdict"] == "fail").collect();
    assert_eq!(failing.len(), 1, "the gate ran on the forged tree and failed: {v}");
    assert!(
        v["problems"].as_array().unwrap().iter().any(|p| p["message"].as_str().unwrap().contains("fails `tests`")),
        "{v}"
    );
}

#[test]
fn an_unreachable_remote_never_fails_an_approval() {
    let t = TestRepo::new();
    t.git(["remote", "add", "origin", t.root.join("nowhere.git").to_str().unwrap()]);
    let file = t.root.join("p.md");
    std::fs::write(&file, TestRepo::plan_text("u", 1)).unwrap();
    t.run(["start", "u", "--plan", file.to_str().unwrap()]).ok();
    let run = t.run(["approve", "plan", "--yes"]).ok();
    assert!(run.stderr.contains("not shared with origin"), "{}", run.stderr);
    assert!(run.stderr.contains("git orchestrate sync"), "{}", run.stderr);
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "in-progress");
    let sync = t.run(["sync"]).code(1);
    assert!(sync.stderr.contains("error:"), "{}", sync.stderr);
}

/// The commands between `# orchestrate:begin` and `# orchestrate:end` of a CI recipe.
fn recipe(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci").join(name)).unwrap();
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches("- ");
        if line.ends_with("orchestrate:begin") {
            inside = true;
        } else if line.ends_with("orchestrate:end") {
            inside = false;
        } else if inside {
            let words: Vec<String> = line.split_whitespace().map(|w| w.trim_matches('"').to_string()).collect();
            assert_eq!(words[..2], ["git", "orchestrate"], "{line}");
            out.push(words[2..].to_vec());
        }
    }
    assert_eq!(out.len(), 3, "{name}");
    out
}

#[test]
fn the_ci_recipes_catch_a_no_verify_push_and_push_their_evidence_back() {
    let t = TestRepo::new();
    t.configure(COUNTING_GATE);
    let remote = with_origin(&t);
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("ci", 1);
    t.run(["phase", "start"]).ok();
    let before = t.rev("HEAD");
    t.write("area1/ok", "ok\n");
    t.git(["add", "area1/ok"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(ci): pushed past the hooks"]);
    t.git(["push", "-q", "--no-verify", "origin", "orchestrate/ci/1-database-schema"]);
    let range = format!("{before}..{}", t.rev("HEAD"));
    for (i, name) in ["github-actions.yml", "gitlab-ci.yml"].into_iter().enumerate() {
        let ci = clone(&t, &remote, &format!("ci-{}", name.replace('.', "-")), "CI");
        let steps = recipe(name);
        let run = |args: &[String]| {
            let args: Vec<String> = args.iter().map(|a| a.replace("$RANGE", &range)).collect();
            t.run_in(&ci, &args)
        };
        run(&steps[0]).ok();
        // Without the run of what is missing, the push is caught; once the first recipe pushed
        // its evidence back, the second finds it.
        let plain: Vec<String> = steps[1].iter().filter(|a| *a != "--run-missing").cloned().collect();
        if i == 0 {
            let caught = run(&plain).code(1);
            assert!(caught.stdout.contains("no passing `tests` evidence"), "{name}: {}", caught.stdout);
        } else {
            run(&plain).ok();
        }
        run(&steps[1]).ok();
        run(&steps[2]).ok();
    }
    // The evidence CI pushed back is in the remote's notes: the developer's next push needs no run.
    t.run(["sync", "--no-branches"]).ok();
    let v = t.run(["verify", "--range", &range, "--json"]).ok().json();
    assert_eq!(v["problems"].as_array().unwrap().len(), 0, "{v}");
}

#[test]
fn verify_finds_a_phase_whose_start_was_never_shared_by_its_branch_name() {
    let t = TestRepo::new();
    t.configure(COUNTING_GATE);
    // The remote is not `origin`: nothing is shared on its own.
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", "--initial-branch=main", remote.to_str().unwrap()]);
    t.git(["remote", "add", "upstream", remote.to_str().unwrap()]);
    t.git(["push", "-q", "--no-verify", "upstream", "main"]);
    t.started_and_approved("hidden", 1);
    t.run(["sync", "upstream"]).ok();
    // The phase starts and its work is pushed past every hook; its start stays in this clone.
    t.run(["phase", "start"]).ok();
    t.write("area1/ok", "ok\n");
    t.git(["add", "area1/ok"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(hidden): unseen"]);
    t.git(["push", "-q", "--no-verify", "upstream", "orchestrate/hidden/1-database-schema"]);
    let ci = clone(&t, &remote, "ci", "CI");
    t.run_in(&ci, ["sync", "--no-branches"]).ok();
    let log = t.run_in(&ci, ["log", "--feature", "hidden", "--json"]).ok().stdout;
    assert!(!log.contains("phase-started"), "CI never heard of the phase: {log}");
    let range = format!("{}..{}", t.rev("orchestrate/hidden/main"), t.rev("HEAD"));
    let v = t.run_in(&ci, ["verify", "--range", &range, "--json"]).code(1).json();
    assert_eq!(v["judged"], 1, "{v}");
    assert!(v["problems"][0]["message"].as_str().unwrap().contains("no passing `tests` evidence"), "{v}");
}

#[test]
fn verify_runs_the_push_stage_gates_of_a_phase_tip_pushed_past_pre_push() {
    let t = TestRepo::new();
    t.configure(
        "[approvals]\nrequire = \"any\"\n\n[gates.slowcheck]\nrun = \"test -f area1/ready\"\nstage = \"pre-push\"\n",
    );
    let remote = with_origin(&t);
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("pp", 1);
    t.run(["phase", "start"]).ok();
    // Through the commit hooks, past pre-push.
    t.commit_file("area1/a.txt", "a\n", "feat(pp): a");
    t.git(["push", "-q", "--no-verify", "origin", "orchestrate/pp/1-database-schema"]);
    t.run(["sync", "--no-branches"]).ok();
    let ci = clone(&t, &remote, "ci", "CI");
    t.run_in(&ci, ["sync", "--no-branches"]).ok();
    let range = format!("{}..{}", t.rev("orchestrate/pp/main"), t.rev("HEAD"));
    let v = t.run_in(&ci, ["verify", "--range", &range, "--json"]).code(1).json();
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "pre-commit evidence is there, the push gate's is not: {v}");
    assert_eq!(problems[0]["missing_gate"], "slowcheck");
    assert_eq!(problems[0]["stage"], "pre-push");
    assert!(problems[0]["message"].as_str().unwrap().contains("pushed with --no-verify"), "{v}");
    let v = t.run_in(&ci, ["verify", "--range", &range, "--run-missing", "--trust", "--json"]).code(1).json();
    assert_eq!(v["ran"][0]["gate"], "slowcheck", "{v}");
    assert_eq!(v["ran"][0]["verdict"], "fail", "{v}");
}

#[test]
fn a_command_that_needs_a_branch_only_a_remote_has_says_how_to_bring_it() {
    let t = TestRepo::new();
    let remote = with_origin(&t);
    t.started_and_approved("here", 1);
    let b = clone(&t, &remote, "b", "Grace");
    t.run_in(&b, ["sync", "--no-branches"]).ok();
    let run = t.run_in(&b, ["phase", "start", "--feature", "here"]).code(1);
    assert!(run.stderr.contains("integration branch orchestrate/here/main is not here"), "{}", run.stderr);
    assert!(
        run.stderr.contains("origin/orchestrate/here/main has it: `git orchestrate sync` creates it here"),
        "{}",
        run.stderr
    );
    t.run_in(&b, ["sync"]).ok();
    t.run_in(&b, ["phase", "start", "--feature", "here"]).ok();
}

#[test]
fn a_hostile_remote_cannot_plant_a_non_commit_nor_move_or_send_branches_outside_the_layout() {
    let t = TestRepo::new();
    let remote = with_origin(&t);
    t.started_and_approved("h", 1);
    // Private work that must never leave this clone, and a base that must not move.
    t.git(["switch", "-q", "-c", "private/wip", "main"]);
    t.commit_file("secret.txt", "mine\n", "wip: private");
    t.git(["switch", "-q", "orchestrate/h/main"]);
    // The attacker's clone: a record naming those branches, and notes refs that are no commits.
    let evil = clone(&t, &remote, "evil", "Mallory");
    t.run_in(&evil, ["sync", "--no-branches"]).ok();
    let key = t.hash_blob("git-orchestrate feature h\n");
    let fork = t.rev("orchestrate/h/main");
    for (phase, branch) in [(7, "private/wip"), (8, "main")] {
        let line = format!(
            r#"{{"seq":90,"ts":"2026-01-01T00:00:00Z","id":"evil{phase}","by":"Mallory <m@example.com>","event":"phase-started","phase":{phase},"branch":"{branch}","fork":"{fork}"}}"#
        );
        t.git_in(&evil, ["notes", "--ref=orchestrate", "append", "--no-separator", "-m", &line, &key]);
    }
    t.git_in(&evil, ["push", "-q", "--no-verify", "origin", "refs/notes/orchestrate"]);
    let garbage = {
        let mut cmd = t.command("git", &remote);
        cmd.args(["hash-object", "-w", "--stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"garbage\n").unwrap();
        drop(child.stdin.take());
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
    };
    t.git_in(&remote, ["update-ref", "refs/notes/orchestrate-planted", &garbage]);
    let main_before = t.rev("main");
    let out = t.run(["sync", "--json"]).code(1).json();
    let planted = out["notes"].as_array().unwrap().iter().find(|n| n["notes_ref"] == "refs/notes/orchestrate-planted");
    assert_eq!(planted.unwrap()["merged"], "not-a-commit", "{out}");
    let local = t
        .command("git", &t.dir)
        .args(["rev-parse", "-q", "--verify", "refs/notes/orchestrate-planted"])
        .output()
        .unwrap();
    assert!(!local.status.success(), "no non-commit becomes a local notes ref");
    // The other notes were still exchanged, and the branches outside the layout left alone.
    assert_eq!(
        t.git(["rev-parse", "refs/notes/orchestrate"]),
        t.git_in(&remote, ["rev-parse", "refs/notes/orchestrate"])
    );
    let names: Vec<&str> = out["branches"].as_array().unwrap().iter().map(|b| b["branch"].as_str().unwrap()).collect();
    assert!(!names.contains(&"private/wip") && !names.contains(&"main"), "{names:?}");
    assert!(t.git_in(&remote, ["for-each-ref", "refs/heads/private"]).is_empty(), "private work never left");
    assert_eq!(t.rev("main"), main_before);
}

#[test]
fn verify_keeps_an_older_feature_in_view_and_refuses_a_feature_started_from_an_unshared_base() {
    let t = TestRepo::new();
    t.configure(COUNTING_GATE);
    let remote = with_origin(&t);
    t.started_and_approved("old", 1);
    t.run(["phase", "start"]).ok();
    t.write("area1/ok", "ok\n");
    t.git(["add", "area1/ok"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(old): ungated"]);
    t.git(["switch", "-q", "main"]);
    t.git(["merge", "-q", "--no-ff", "--no-verify", "-m", "merge old by hand", "orchestrate/old/1-database-schema"]);
    assert!(t.run(["verify", "--json"]).code(1).json()["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not finished"));
    // A later feature starts: the older one's commits in main stay in view.
    t.started_and_approved("new", 1);
    t.git(["switch", "-q", "main"]);
    let v = t.run(["verify", "--json"]).code(1).json();
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["message"].as_str().unwrap().contains("feature old's commits reach main")),
        "{v}"
    );

    // An agent weakens the rules on its own main, never shared, and starts a feature from it.
    t.git(["push", "-q", "--no-verify", "origin", "main"]);
    t.write(".orchestrate.toml", "[approvals]\nrequire = \"any\"\n");
    t.git(["commit", "-qam", "chore: tidy config", "--no-verify"]);
    t.started_and_approved("weak", 1);
    t.run(["phase", "start"]).ok();
    t.write("area1/work.txt", "w\n");
    t.git(["add", "area1/work.txt"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(weak): no ok"]);
    t.git(["push", "-q", "--no-verify", "origin", "orchestrate/weak/main", "orchestrate/weak/1-database-schema"]);
    t.run(["sync", "--no-branches"]).ok();
    let ci = clone(&t, &remote, "ci", "CI");
    t.run_in(&ci, ["sync", "--no-branches"]).ok();
    let v = t
        .run_in(&ci, ["verify", "--range", "origin/main..origin/orchestrate/weak/1-database-schema", "--json"])
        .code(1)
        .json();
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["message"].as_str().unwrap().contains("which main does not hold")),
        "{v}"
    );
}
