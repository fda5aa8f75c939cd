//! `status`: the JSON contract, and state that lives in notes, not branches.

use crate::common::TestRepo;

#[test]
fn json_has_the_documented_fields() {
    let t = TestRepo::new();
    t.configure("[gates.tests]\nrun = \"true\"\nstage = \"pre-push\"\ncounts = false\n[gates.coverage]\nmin = 80\n");
    t.started_and_approved("jwt-auth", 2);
    t.run(["phase", "start"]).ok();
    let s = t.run(["status", "--json"]).ok().json();
    let f = &s["features"][0];
    for key in ["name", "title", "state", "base", "branch", "phases", "waiting_for", "next"] {
        assert!(f.get(key).is_some(), "feature.{key} missing: {f}");
    }
    assert_eq!(f["name"], "jwt-auth");
    assert_eq!(f["title"], "JWT authentication with refresh tokens");
    assert_eq!(f["state"], "in-progress");
    assert_eq!(f["base"], "main");
    assert_eq!(f["branch"], "orchestrate/jwt-auth/main");
    assert_eq!(f["waiting_for"], "phase 1 work (@maat)");
    let p = &f["phases"][0];
    for key in ["id", "title", "owner", "state", "branch", "gates"] {
        assert!(p.get(key).is_some(), "phase.{key} missing: {p}");
    }
    assert_eq!(p["id"], 1);
    assert_eq!(p["owner"], "maat");
    assert_eq!(p["state"], "active");
    assert_eq!(p["branch"], "orchestrate/jwt-auth/1-database-schema");
    assert_eq!(
        p["gates"],
        serde_json::json!({"coverage": "none", "tests": "none", "scope": "none", "secrets": "none"}),
        "the built-in gates are on without being configured"
    );
    assert_eq!(f["phases"][1]["state"], "planned");
    assert_eq!(f["phases"][1]["branch"], "orchestrate/jwt-auth/2-backend-services");
}

#[test]
fn text_says_who_acts_next() {
    let t = TestRepo::new();
    t.started_and_approved("jwt-auth", 2);
    let text = t.run(["status"]).ok().stdout;
    assert!(text.contains("jwt-auth — JWT authentication with refresh tokens  [in-progress]"), "{text}");
    assert!(text.contains("waiting for: start of phase 1 (@maat)"), "{text}");
    assert!(text.contains("next: git orchestrate phase start 1 --feature jwt-auth"), "{text}");
}

#[test]
fn state_survives_deleting_every_branch() {
    let t = TestRepo::new();
    t.started_and_approved("gone", 2);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/a", "a\n", "work");
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    t.git(["switch", "-q", "main"]);
    t.git(["branch", "-D", "orchestrate/gone/main", "orchestrate/gone/1-database-schema"]);
    let s = t.run(["status", "--json"]).ok().json();
    let f = &s["features"][0];
    assert_eq!(f["name"], "gone");
    assert_eq!(f["phases"][0]["state"], "approved");
    assert_eq!(f["phases"][1]["state"], "planned");
    assert_eq!(f["phases"][1]["title"], "Backend services", "the plan is read from the commit that created it");
}

#[test]
fn state_is_discoverable_from_another_clone() {
    let t = TestRepo::new();
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.git(["remote", "add", "origin", remote.to_str().unwrap()]);
    t.started_and_approved("shared", 2);
    t.run(["phase", "start"]).ok();
    t.git([
        "push",
        "-q",
        "origin",
        "main",
        "orchestrate/shared/main",
        "orchestrate/shared/1-database-schema",
        "refs/notes/orchestrate",
    ]);

    let clone = t.root.join("clone");
    t.git_in(&t.root, ["clone", "-q", remote.to_str().unwrap(), clone.to_str().unwrap()]);
    t.git_in(
        &clone,
        [
            "fetch",
            "-q",
            "origin",
            "refs/notes/orchestrate:refs/notes/orchestrate",
            "orchestrate/shared/main:orchestrate/shared/main",
        ],
    );
    let s = t.run_in(&clone, ["status", "--json"]).ok().json();
    let f = &s["features"][0];
    assert_eq!(f["name"], "shared");
    assert_eq!(f["state"], "in-progress");
    assert_eq!(f["phases"][0]["state"], "active");
    assert_eq!(f["plan_approved_by"], "Ada Lovelace <ada@example.com>");
}

#[test]
fn no_features_yet() {
    let t = TestRepo::new();
    let run = t.run(["status"]).ok();
    assert!(run.stderr.contains("no features yet"));
    assert_eq!(t.run(["status", "--json"]).ok().json(), serde_json::json!({"features": []}));
}

#[test]
fn a_linked_worktree_sees_the_same_state() {
    let t = TestRepo::new();
    t.started_and_approved("wt", 2);
    let wt = t.root.join("wt dir ü");
    t.git(["worktree", "add", "-q", wt.to_str().unwrap(), "main"]);
    let s = t.run_in(&wt, ["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["state"], "in-progress");
    // A phase started from the linked worktree is checked out there.
    t.run_in(&wt, ["phase", "start", "--feature", "wt"]).ok();
    assert_eq!(t.git_in(&wt, ["rev-parse", "--abbrev-ref", "HEAD"]).trim(), "orchestrate/wt/1-database-schema");
    assert_eq!(t.head_branch(), "orchestrate/wt/main");
}
