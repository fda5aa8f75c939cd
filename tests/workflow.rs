//! The core loop end to end: start → approve plan → phase by phase → one commit per phase.

use crate::common::TestRepo;

fn trailers(t: &TestRepo, rev: &str) -> Vec<String> {
    let msg = t.git(["log", "-1", "--format=%B", rev]);
    let mut cmd = t.command("git", &t.dir);
    cmd.args(["interpret-trailers", "--parse"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), msg.as_bytes()).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn three_phase_loop_end_to_end() {
    let t = TestRepo::new();
    t.run(["init"]).ok();
    let main = t.rev("main");
    let file = t.root.join("plan.md");
    std::fs::write(&file, TestRepo::plan_text("jwt-auth", 3)).unwrap();

    t.run(["start", "jwt-auth", "--plan", file.to_str().unwrap()]).ok();
    assert_eq!(t.head_branch(), "orchestrate/jwt-auth/main");
    assert_eq!(t.rev("orchestrate/jwt-auth/main~1"), main, "the plan commit sits on the base");
    assert_eq!(
        t.git(["log", "-1", "--format=%s"]).trim(),
        "docs(jwt-auth): plan JWT authentication with refresh tokens"
    );
    assert_eq!(t.read("plans/jwt-auth/plan.md"), TestRepo::plan_text("jwt-auth", 3));
    let status = t.run(["status", "--json"]).ok().json();
    assert_eq!(status["features"][0]["state"], "awaiting-plan-approval");

    t.run(["approve", "plan", "--yes", "-m", "looks good"]).ok();
    let slugs = ["database-schema", "backend-services", "frontend-integration"];
    let subjects =
        ["feat(jwt-auth): database schema", "feat(jwt-auth): backend services", "feat(jwt-auth): frontend integration"];
    for n in 1..=3u32 {
        let before = t.rev("orchestrate/jwt-auth/main");
        let started = t.run(["phase", "start", "next", "--json"]).ok().json();
        let branch = format!("orchestrate/jwt-auth/{n}-{}", slugs[n as usize - 1]);
        assert_eq!(started["branch"], branch.as_str());
        assert_eq!(t.head_branch(), branch);
        assert_eq!(started["fork"], before.as_str());

        // Two commits of work: the approval squashes them into one.
        // init installed the hooks: these commits pass through them (and their message lint).
        t.commit_file(&format!("area{n}/a.txt"), "first\n", "feat(jwt-auth): first part");
        t.commit_file(&format!("area{n}/b.txt"), "second\n", "feat(jwt-auth): second part");
        let phase_tree = t.rev(&format!("{branch}^{{tree}}"));
        let s = t.run(["status", "--json"]).ok().json();
        assert_eq!(s["features"][0]["phases"][n as usize - 1]["state"], "active", "commits alone ask no review");
        t.run(["phase", "submit"]).ok();
        let s = t.run(["status", "--json"]).ok().json();
        assert_eq!(s["features"][0]["phases"][n as usize - 1]["state"], "awaiting-review");

        t.run(["approve", "phase", "--yes"]).ok();
        let tip = t.rev("orchestrate/jwt-auth/main");
        assert_eq!(t.rev("orchestrate/jwt-auth/main~1"), before, "one commit per phase");
        // The squash carries the phase's tree, and the phase report beside it.
        let added = t.git(["diff", "--name-only", &phase_tree, "orchestrate/jwt-auth/main^{tree}"]);
        assert_eq!(added.trim(), format!("plans/jwt-auth/phase-{n}-complete.md"));
        let report = t.git(["show", &format!("orchestrate/jwt-auth/main:plans/jwt-auth/phase-{n}-complete.md")]);
        assert!(report.contains(&format!("reviewed tree {phase_tree}")), "{report}");
        assert!(report.contains(&format!("| `area{n}/a.txt` | created | +1 −0 |")), "{report}");
        assert_eq!(t.git(["log", "-1", "--format=%s", &tip]).trim(), subjects[n as usize - 1]);
        let body = t.git(["log", "-1", "--format=%b", &tip]);
        assert!(body.contains(&format!("- task {n}a\n- task {n}b")), "tasks in the body:\n{body}");
        let changed = format!("- area{n}/a.txt (new, +1)\n- area{n}/b.txt (new, +1)");
        assert!(body.contains(&changed), "what the phase changed, measured:\n{body}");
        assert_eq!(
            trailers(&t, &tip),
            vec![
                "Feature: jwt-auth".to_string(),
                format!("Phase: {n}/3"),
                "Approved-by: Ada Lovelace <ada@example.com>".to_string(),
                format!("Reviewed-tree: {phase_tree}"),
            ]
        );
    }
    assert_eq!(t.git(["rev-list", "--count", "main..orchestrate/jwt-auth/main"]).trim(), "4");
    assert_eq!(t.rev("main"), main, "the base is not touched before finish");

    let status = t.run(["status", "--json"]).ok().json();
    let f = &status["features"][0];
    assert_eq!(f["state"], "awaiting-finish");
    for p in f["phases"].as_array().unwrap() {
        assert_eq!(p["state"], "approved");
        assert_eq!(p["approved_by"], "Ada Lovelace <ada@example.com>");
    }

    // The notes hold the whole history, one JSON record a line, in causal order.
    let events = t.events("jwt-auth");
    let kinds: Vec<_> = events.iter().map(|e| e["event"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "plan-approved",
            "phase-started",
            "phase-submitted",
            "phase-approved",
            "phase-started",
            "phase-submitted",
            "phase-approved",
            "phase-started",
            "phase-submitted",
            "phase-approved"
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq grows: {seqs:?}");
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "ids are unique");
    assert_eq!(events[1]["note"], "looks good");
    assert_eq!(events[1]["plan_blob"], t.rev("orchestrate/jwt-auth/main:plans/jwt-auth/plan.md").as_str());
    assert_eq!(events[10]["commit"], t.rev("orchestrate/jwt-auth/main").as_str());
    assert!(events.iter().all(|e| e["by"] == "Ada Lovelace <ada@example.com>"));

    let log = t.run(["log", "--json"]).ok().json();
    assert_eq!(log.as_array().unwrap().len(), 11);
    let text = t.run(["log"]).ok().stdout;
    assert!(text.contains("phase-approved  phase 3 as"), "{text}");
}

#[test]
fn scaffolded_plan_lints_and_names_the_phases() {
    let t = TestRepo::new();
    t.run(["start", "billing", "--title", "Billing: \"quotes\" & stuff", "--phases", "2"]).ok();
    let plan = t.read("plans/billing/plan.md");
    assert!(
        plan.contains("title   = 'Billing: \"quotes\" & stuff'")
            || plan.contains(r#"title   = "Billing: \"quotes\" & stuff""#),
        "{plan}"
    );
    t.run(["plan", "lint"]).ok();
    let shown = t.run(["plan", "show", "--json"]).ok().json();
    assert_eq!(shown["title"], "Billing: \"quotes\" & stuff");
    assert_eq!(shown["phases"].as_array().unwrap().len(), 2);
    assert_eq!(shown["phases"][1]["depends_on"], serde_json::json!([1]));
}

#[test]
fn start_and_phase_start_keep_unstaged_and_untracked_work() {
    let t = TestRepo::new();
    t.write("README.md", "hello\nmy unstaged edit\n");
    t.write("notes/todo me.txt", "untracked ✓\n");
    t.started_and_approved("keep", 2);
    assert_eq!(t.read("README.md"), "hello\nmy unstaged edit\n");
    assert_eq!(t.read("notes/todo me.txt"), "untracked ✓\n");
    t.run(["phase", "start"]).ok();
    assert_eq!(t.read("README.md"), "hello\nmy unstaged edit\n");
    assert_eq!(t.read("notes/todo me.txt"), "untracked ✓\n");
    assert_eq!(t.git(["status", "--porcelain"]), " M README.md\n?? notes/\n");
}

#[test]
fn parallel_phases_squash_through_a_three_way_merge() {
    let t = TestRepo::new();
    t.started_with("par", &TestRepo::plan_text("par", 3).replace("id = 3\n", "id = 3\ndepends_on = [1]\n"));
    t.run(["phase", "start", "1"]).ok();
    t.commit_file("area1/x.txt", "1\n", "one");
    t.run(["phase", "submit", "1"]).ok();
    t.run(["approve", "phase", "1", "--yes"]).ok();
    // Phases 2 and 3 both fork after phase 1.
    t.run(["phase", "start", "2"]).ok();
    t.commit_file("area2/x.txt", "2\n", "two");
    t.run(["phase", "start", "3"]).ok();
    t.commit_file("area3/x.txt", "3\n", "three");
    t.run(["phase", "submit", "2"]).ok();
    t.run(["approve", "phase", "2", "--yes"]).ok();
    t.run(["phase", "submit", "3"]).ok();
    t.run(["approve", "phase", "3", "--yes"]).ok();
    let files = t.git(["ls-tree", "-r", "--name-only", "orchestrate/par/main"]);
    for f in ["area1/x.txt", "area2/x.txt", "area3/x.txt"] {
        assert!(files.contains(f), "{f} missing:\n{files}");
    }
    assert_eq!(t.git(["rev-list", "--count", "main..orchestrate/par/main"]).trim(), "4");
}

#[test]
fn conflicting_parallel_phase_is_refused_and_nothing_moves() {
    let t = TestRepo::new();
    // Every phase may touch shared.txt (the scope gate allows it); phases 2 and 3 both do.
    let plan = TestRepo::plan_text("clash", 3)
        .replace("id = 3\n", "id = 3\ndepends_on = [1]\n")
        .replace("/**\"]", "/**\", \"shared.txt\"]");
    t.started_with("clash", &plan);
    t.run(["phase", "start", "1"]).ok();
    t.commit_file("shared.txt", "base\n", "one");
    t.run(["phase", "submit", "1"]).ok();
    t.run(["approve", "phase", "1", "--yes"]).ok();
    t.run(["phase", "start", "2"]).ok();
    t.commit_file("shared.txt", "from two\n", "two");
    t.run(["phase", "start", "3"]).ok();
    t.commit_file("shared.txt", "from three\n", "three");
    t.run(["phase", "submit", "2"]).ok();
    t.run(["approve", "phase", "2", "--yes"]).ok();
    let before = t.rev("orchestrate/clash/main");
    t.run(["phase", "submit", "3"]).ok();
    let run = t.run(["approve", "phase", "3", "--yes"]).code(1);
    assert!(run.stderr.contains("merge conflict in shared.txt"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: rebase the phase branch"), "{}", run.stderr);
    assert_eq!(t.rev("orchestrate/clash/main"), before);
    let s = t.run(["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["phases"][2]["state"], "awaiting-review");
}

#[test]
fn approving_from_the_integration_branch_moves_the_work_tree_too() {
    let t = TestRepo::new();
    t.started_and_approved("here", 1);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/f.txt", "x\n", "work");
    t.git(["switch", "-q", "orchestrate/here/main"]);
    t.run(["phase", "submit", "1"]).ok();
    t.run(["approve", "phase", "1", "--yes"]).ok();
    assert_eq!(t.read("area1/f.txt"), "x\n");
    assert_eq!(t.git(["status", "--porcelain"]), "");
}

#[test]
fn branch_layout_follows_the_configured_pattern() {
    let t = TestRepo::new();
    t.commit_file(
        ".orchestrate.toml",
        "[branches]\nintegration = \"feat/{feature}/trunk\"\nphase = \"feat/{feature}/p{phase}\"\n",
        "chore: orchestrate config",
    );
    t.started_and_approved("layout", 2);
    assert_eq!(t.head_branch(), "feat/layout/trunk");
    t.run(["phase", "start"]).ok();
    assert_eq!(t.head_branch(), "feat/layout/p1");
    t.commit_file("area1/x", "x\n", "work");
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    assert_eq!(t.git(["rev-list", "--count", "main..feat/layout/trunk"]).trim(), "2");
}

#[test]
fn start_forks_from_the_named_base() {
    let t = TestRepo::new();
    t.git(["switch", "-q", "-c", "develop"]);
    t.commit_file("dev.txt", "dev\n", "chore: develop only");
    t.git(["switch", "-q", "main"]);
    let s = t.run(["start", "x", "--base", "develop", "--json"]).ok().json();
    assert_eq!(s["base"], "develop");
    assert_eq!(t.rev("orchestrate/x/main~1"), t.rev("develop"));
    assert_eq!(t.read("dev.txt"), "dev\n");
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["base"], "develop");
}

#[test]
fn an_approval_interrupted_before_it_was_recorded_is_completed_not_repeated() {
    let t = TestRepo::new();
    t.started_and_approved("crash", 2);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/x", "x\n", "work");
    // An approval that squashed, then died before its event was written: the squash is there,
    // the notes ref is where it was before.
    t.run(["phase", "submit"]).ok();
    let notes_before = t.rev("refs/notes/orchestrate");
    t.run(["approve", "phase", "--yes"]).ok();
    t.git(["update-ref", "refs/notes/orchestrate", &notes_before]);
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["phases"][0]["state"], "awaiting-review");
    let squashed = t.rev("orchestrate/crash/main");
    assert_eq!(t.git(["log", "-1", "--format=%s", &squashed]).trim(), "feat(crash): database schema");
    // Running it again records the approval of the commit that is there, and adds none.
    t.run(["phase", "submit", "1"]).ok();
    t.run(["approve", "phase", "1", "--yes"]).ok();
    assert_eq!(t.rev("orchestrate/crash/main"), squashed);
    let s = t.run(["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["phases"][0]["state"], "approved");
    assert_eq!(s["features"][0]["phases"][0]["commit"], squashed.as_str());
}
