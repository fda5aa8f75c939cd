//! Property tests of every parser of outside input, called as a library: on arbitrary bytes and
//! on mutations of valid inputs, none panics and each returns within a bound (a hang fails the
//! test instead of stalling it). Case counts are modest so the module runs in seconds; set
//! `PROPTEST_CASES` for a longer run (docs/FUZZING.md).

use std::sync::mpsc;
use std::time::Duration;

use git_orchestrate::coverage::{self, Format};
use git_orchestrate::state::{self, Created, Event, PhaseStarted, PlanApproved, What};
use git_orchestrate::{commitmsg, config, plan};
use proptest::prelude::*;

use crate::common::TestRepo;

/// How long one call may take before it counts as a hang (a debug build on a busy machine).
const BOUND: Duration = Duration::from_secs(20);

/// Run `f` on its own thread; fail if it panics or has not returned within [`BOUND`].
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(BOUND) {
        Ok(value) => {
            let _ = worker.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not return within {BOUND:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
    }
}

/// Text that tends to matter to these parsers, spliced in by [`mutate`].
const TOKENS: &[&str] = &[
    "\n",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "=",
    "+++",
    "[[phase]]",
    "\\u0000",
    "\u{1b}",
    "\0",
    "4294967295",
    "18446744073709551616",
    "-1",
    "1e309",
    "NaN",
    "<",
    "/>",
    "&amp;",
    "<line ",
    "DA:",
    "SF:",
    "end_of_record",
    "mode: ",
    ".1,",
    "\":",
    "null",
    "true",
    "depends_on = [",
    "id = ",
    "**",
    "../",
    "$(",
    "feat: ",
    "BREAKING CHANGE: ",
    "\r",
];

/// One edit of an input: at a position (a fraction of its length), do one thing.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(u8),
    Replace(u8),
    Token(usize),
    Duplicate(usize),
    Truncate,
}

fn edits() -> impl Strategy<Value = Vec<(f64, Edit)>> {
    let edit = prop_oneof![
        (1usize..64).prop_map(Edit::Delete),
        any::<u8>().prop_map(Edit::Insert),
        any::<u8>().prop_map(Edit::Replace),
        (0..TOKENS.len()).prop_map(Edit::Token),
        (1usize..256).prop_map(Edit::Duplicate),
        Just(Edit::Truncate),
    ];
    prop::collection::vec((0.0..1.0f64, edit), 1..8)
}

/// `base` with the `edits` applied.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
fn mutate(base: &[u8], edits: &[(f64, Edit)]) -> Vec<u8> {
    let mut out = base.to_vec();
    for (at, edit) in edits {
        let i = ((out.len() as f64) * at) as usize;
        let i = i.min(out.len());
        match edit {
            Edit::Delete(n) => drop(out.drain(i..(i + n).min(out.len()))),
            Edit::Insert(b) => out.insert(i, *b),
            Edit::Replace(b) if i < out.len() => out[i] = *b,
            Edit::Replace(_) => {}
            Edit::Token(t) => drop(out.splice(i..i, TOKENS[*t].bytes())),
            Edit::Duplicate(n) => {
                let piece = out[i..(i + n).min(out.len())].to_vec();
                drop(out.splice(i..i, piece));
            }
            Edit::Truncate => out.truncate(i),
        }
    }
    out
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// --- the plan ---

fn lint_plan(bytes: Vec<u8>) {
    within("plan lint", move || {
        let report = plan::lint("plans/x/plan.md", &bytes, Some("x"), &["deploy".to_string()]);
        assert_eq!(report.plan.is_some(), report.errors() == 0, "a plan is built exactly when there is no error");
        assert!(report.diagnostics.iter().all(|d| d.line >= 1 && d.col >= 1));
        let parsed = plan::parse("plans/x/plan.md", &bytes, Some("x"), &[]);
        if let Ok(p) = parsed {
            assert!(p.phases.iter().enumerate().all(|(i, ph)| p.phase(ph.id).is_some() && ph.id as usize == i + 1));
        }
    });
}

// --- the configuration ---

const CONFIG: &str = r#"[branches]
integration = "orchestrate/{feature}/main"
phase = "orchestrate/{feature}/{phase}-{slug}"

[gates.tests]
run = "cargo test"
stage = "pre-push"
timeout = 600

[gates.coverage]
run = "cargo llvm-cov --json --output-path coverage.json"
report = "coverage.json"
min = 80.0

[gates.secrets]
"#;

fn parse_config(text: String) {
    within("config parse", move || {
        if let Ok(c) = config::Config::parse(".orchestrate.toml", &text) {
            let _ = c.gate_names();
        }
    });
}

// --- coverage reports ---

const FORMATS: &[Format] = &[
    Format::Lcov,
    Format::Cobertura,
    Format::Jacoco,
    Format::CoveragePy,
    Format::LlvmCov,
    Format::GoCover,
    Format::Istanbul,
];

/// A small valid report of each format, for mutations.
fn sample(format: Format) -> &'static str {
    match format {
        Format::Lcov => "TN:\nSF:src/a.py\nDA:1,1\nDA:2,0,abc==\nDA:3,-1\nend_of_record\nSF:b.py\nDA:5,7\n",
        Format::Cobertura => r#"<?xml version="1.0" ?><coverage><sources><source>/ci/R&amp;D</source></sources><packages><package name="p"><classes><class name="a" filename="p/a.py"><methods><method name="f"><lines><line number="2" hits="3"/></lines></method></methods><lines><line number="1" hits="1"/><line number="2" hits="0"/><line number="3" hits="1.0"/></lines></class></classes></package></packages></coverage>"#,
        Format::Jacoco => r#"<?xml version="1.0"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="r"><package name="com/x"><sourcefile name="A.java"><line nr="3" mi="0" ci="2" mb="0" cb="0"/><line nr="4" mi="1" ci="0"/><line nr="5" mi="0" ci="0"/></sourcefile></package></report>"#,
        Format::CoveragePy => r#"{"meta":{"version":"7.4"},"files":{"a.py":{"executed_lines":[1,2,4],"missing_lines":[3],"excluded_lines":[]}}}"#,
        Format::LlvmCov => r#"{"type":"llvm.coverage.json.export","version":"2.0.1","data":[{"files":[{"filename":"src/a.rs","segments":[[1,1,3,true,true,false],[2,5,0,true,true,false],[3,1,0,false,false,false],[5,1,2,true,true,true],[6,1,0,false,false,false]]}]}]}"#,
        Format::GoCover => "mode: count\nexample.com/m/a.go:3.14,5.2 2 1\nexample.com/m/a.go:5.2,7.3 1 0\nexample.com/m/b.go:1.1,1.9 1 4\n",
        Format::Istanbul => r#"{"/src/a.js":{"path":"/src/a.js","statementMap":{"0":{"start":{"line":1,"column":0},"end":{"line":1,"column":9}},"1":{"start":{"line":2,"column":0},"end":{"line":4,"column":1}}},"s":{"0":1,"1":0}}}"#,
    }
}

fn parse_report(bytes: Vec<u8>) {
    within("coverage parse", move || {
        let _ = Format::detect(&bytes);
        for &format in FORMATS {
            if let Ok(report) = coverage::parse(format, &bytes) {
                let lines: usize = report.files.values().map(std::collections::BTreeMap::len).sum();
                assert!(lines as u64 <= coverage::MAX_REPORT_LINES + bytes.len() as u64);
                assert!(report.files.values().flat_map(|f| f.keys()).all(|l| *l <= coverage::MAX_LINE));
            }
        }
    });
}

// --- the event log ---

fn event_log() -> String {
    let events = [
        What::Created(Created {
            feature: "x".into(),
            title: "JWT".into(),
            base: "main".into(),
            branch: "orchestrate/x/main".into(),
            plan: "plans/x/plan.md".into(),
            commit: git_orchestrate::git::ObjectId::from_hex("0".repeat(40).as_bytes()).unwrap(),
            lane: None,
        }),
        What::PlanApproved(PlanApproved {
            plan_blob: git_orchestrate::git::ObjectId::from_hex("1".repeat(40).as_bytes()).unwrap(),
            note: Some("lgtm".into()),
            agent: None,
            via: None,
            sig: None,
        }),
        What::PhaseStarted(PhaseStarted {
            phase: 1,
            branch: "orchestrate/x/1-schema".into(),
            fork: git_orchestrate::git::ObjectId::from_hex("2".repeat(40).as_bytes()).unwrap(),
        }),
    ];
    events
        .into_iter()
        .enumerate()
        .map(|(i, what)| {
            let e = Event {
                seq: i as u64 + 1,
                ts: format!("2026-01-01T00:00:0{i}Z"),
                id: format!("id{i}"),
                by: "Ada <ada@example.com>".into(),
                what,
            };
            serde_json::to_string(&e).unwrap() + "\n"
        })
        .collect()
}

fn read_log(bytes: Vec<u8>) {
    within("event log", move || {
        if let Ok(events) = state::parse_log("refs/notes/orchestrate:x", &bytes) {
            let _ = state::fold(&events);
        }
    });
}

// --- commit messages ---

const MESSAGE: &str = "feat(auth): issue refresh tokens\n\nTokens rotate on use; the old one is revoked.\n\nRefs: #12\nBREAKING CHANGE: sessions from before are logged out\n";

fn lint_message(text: String) {
    within("commit-msg lint", move || {
        let _ = commitmsg::lint(&text);
    });
}

proptest! {
    // 256 cases a property unless PROPTEST_CASES says otherwise; no regression files written.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plan_lint_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        lint_plan(bytes);
    }

    #[test]
    fn plan_lint_on_arbitrary_front_matter(body in "[ -~\n\u{0}\u{1b}\u{85}é]{0,600}") {
        lint_plan(format!("+++\n{body}\n+++\n").into_bytes());
    }

    #[test]
    fn plan_lint_on_mutated_plans(n in 1u32..6, edits in edits()) {
        lint_plan(mutate(TestRepo::plan_text("x", n).as_bytes(), &edits));
    }

    #[test]
    fn config_on_arbitrary_text(text in any::<String>()) {
        parse_config(text);
    }

    #[test]
    fn config_on_mutated_configs(edits in edits()) {
        parse_config(lossy(&mutate(CONFIG.as_bytes(), &edits)));
    }

    #[test]
    fn coverage_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_report(bytes);
    }

    #[test]
    fn coverage_on_mutated_reports(format in 0..FORMATS.len(), edits in edits()) {
        parse_report(mutate(sample(FORMATS[format]).as_bytes(), &edits));
    }

    #[test]
    fn event_log_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        read_log(bytes);
    }

    #[test]
    fn event_log_on_mutated_logs(edits in edits()) {
        read_log(mutate(event_log().as_bytes(), &edits));
    }

    #[test]
    fn commit_messages_arbitrary_and_mutated(text in any::<String>(), edits in edits()) {
        lint_message(text);
        lint_message(lossy(&mutate(MESSAGE.as_bytes(), &edits)));
    }
}

/// The valid samples are valid: mutations start from inputs that reach deep into each parser.
#[test]
fn the_samples_the_mutations_start_from_are_valid() {
    for &format in FORMATS {
        let report = coverage::parse(format, sample(format).as_bytes());
        assert!(report.is_ok_and(|r| !r.files.is_empty()), "{format:?}");
    }
    assert!(plan::parse("plans/x/plan.md", TestRepo::plan_text("x", 3).as_bytes(), Some("x"), &[]).is_ok());
    assert!(config::Config::parse(".orchestrate.toml", CONFIG).is_ok());
    assert_eq!(state::parse_log("log", event_log().as_bytes()).unwrap().len(), 3);
    assert_eq!(commitmsg::lint(MESSAGE), Vec::<String>::new());
}
