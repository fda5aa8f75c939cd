//! The malformed-plan corpus: each case gives its `file:line:col` error and a fix, never a panic.

use std::fmt::Write as _;

use crate::common::TestRepo;

const GOOD_PHASE: &str = "[[phase]]\nid = 1\ntitle = \"Schema\"\nowner = \"maat\"\npaths = [\"db/**\"]\n";

/// (name, plan text, the text the error points at, what the message says).
fn corpus() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let head = "+++\nfeature = \"x\"\ntitle = \"T\"\n";
    vec![
        ("no front matter", "# Just markdown\n".into(), "# Just", "the plan has no TOML front matter"),
        ("unclosed front matter", format!("{head}{GOOD_PHASE}"), "+++", "the front matter is never closed"),
        ("toml syntax", "+++\nfeature = \"x\"\ntitle = \"unterminated\n+++\n".into(), "\n+++", "invalid basic string"),
        ("missing feature", format!("+++\ntitle = \"T\"\n{GOOD_PHASE}+++\n"), "+++", "missing key `feature`"),
        ("bad slug", format!("+++\nfeature = \"JWT_Auth\"\ntitle = \"T\"\n{GOOD_PHASE}+++\n"), "\"JWT_Auth\"", "feature `JWT_Auth` is not a valid slug"),
        ("folder mismatch", format!("+++\nfeature = \"other\"\ntitle = \"T\"\n{GOOD_PHASE}+++\n"), "\"other\"", "does not match the plan's folder `x`"),
        ("missing title", format!("+++\nfeature = \"x\"\n{GOOD_PHASE}+++\n"), "+++", "missing key `title`"),
        ("empty title", format!("+++\nfeature = \"x\"\ntitle = \"  \"\n{GOOD_PHASE}+++\n"), "\"  \"", "`title` is empty"),
        ("multi-line title", format!("+++\nfeature = \"x\"\ntitle = \"a\\nb\"\n{GOOD_PHASE}+++\n"), "\"a\\nb\"", "contains a line break"),
        ("no phases", format!("{head}+++\n"), "+++", "the plan has no phases"),
        ("duplicate id", format!("{head}{GOOD_PHASE}[[phase]]\nid = 1\ntitle = \"B\"\nowner = \"o\"\n+++\n"), "1\ntitle = \"B\"", "phase id 1 is used twice"),
        ("id gap", format!("{head}{GOOD_PHASE}[[phase]]\nid = 3\ntitle = \"B\"\nowner = \"o\"\n+++\n"), "3\ntitle", "expected 2, found 3"),
        ("missing id", format!("{head}[[phase]]\ntitle = \"A\"\nowner = \"o\"\n+++\n"), "[[phase]]", "phase 1 has no `id`"),
        ("unknown dependency", format!("{head}{GOOD_PHASE}[[phase]]\nid = 2\ntitle = \"B\"\nowner = \"o\"\ndepends_on = [7]\n+++\n"), "7]", "phase 2 depends on unknown phase 7"),
        ("self dependency", format!("{head}[[phase]]\nid = 1\ntitle = \"A\"\nowner = \"o\"\ndepends_on = [1]\n+++\n"), "1]", "phase 1 depends on itself"),
        ("cycle", format!("{head}[[phase]]\nid = 1\ntitle = \"A\"\nowner = \"o\"\ndepends_on = [2]\n[[phase]]\nid = 2\ntitle = \"B\"\nowner = \"o\"\ndepends_on = [1]\n+++\n"), "2]", "cycle: 1 → 2 → 1"),
        ("unknown key", format!("{head}[[phase]]\nid = 1\ntitel = \"A\"\nowner = \"o\"\n+++\n"), "titel", "unknown field `titel`"),
        ("wrong type", format!("{head}[[phase]]\nid = \"one\"\ntitle = \"A\"\nowner = \"o\"\n+++\n"), "\"one\"", "invalid type"),
        ("empty phase title", format!("{head}[[phase]]\nid = 1\ntitle = \"\"\nowner = \"o\"\n+++\n"), "\"\"\nowner", "`title` is empty"),
        ("missing owner", format!("{head}[[phase]]\nid = 1\ntitle = \"A\"\n+++\n"), "[[phase]]", "missing key `owner`"),
        ("bad commit type", format!("{head}[[phase]]\nid = 1\ntitle = \"A\"\nowner = \"o\"\ntype = \"feature\"\n+++\n"), "\"feature\"", "is not a Conventional Commit type"),
        ("absolute path", format!("{head}[[phase]]\nid = 1\ntitle = \"A\"\nowner = \"o\"\npaths = [\"/etc/**\"]\n+++\n"), "\"/etc/**\"", "leaves the repository"),
        ("dotdot path", format!("{head}[[phase]]\nid = 1\ntitle = \"A\"\nowner = \"o\"\npaths = [\"src/../../x\"]\n+++\n"), "\"src/../../x\"", "leaves the repository"),
        ("unknown gate", format!("{head}[[phase]]\nid = 1\ntitle = \"A\"\nowner = \"o\"\n[phase.gates.speed]\nmin = 1\n+++\n"), "gates.speed]", "unknown gate `speed`"),
        ("duplicate key", "+++\nfeature = \"x\"\nfeature = \"y\"\n+++\n".into(), "feature = \"y\"", "duplicate key"),
        ("bad base", format!("+++\nfeature = \"x\"\ntitle = \"T\"\nbase = \"a..b\"\n{GOOD_PHASE}+++\n"), "\"a..b\"", "base `a..b` is not a valid branch name"),
    ]
}

fn line_col(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("needle {needle:?} not in plan"));
    let before = &text[..at];
    (before.matches('\n').count() + 1, before.rsplit('\n').next().unwrap().chars().count() + 1)
}

#[test]
fn malformed_plans_name_file_line_col_and_the_fix() {
    let t = TestRepo::new();
    let cases = corpus();
    assert!(cases.len() >= 15);
    for (name, text, needle, message) in cases {
        let file = t.root.join("plans/x/plan.md");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &text).unwrap();
        let run = t.run(["plan", "lint", "--feature", "x", "--file", file.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{name}: exit {}\n{}{}", run.code, run.stdout, run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        let (line, col) = line_col(&text, needle);
        let want = format!("{}:{line}:{col}: error: ", file.display());
        let found = run.stdout.lines().find(|l| l.starts_with(&want) && l.contains(message));
        assert!(found.is_some(), "{name}: wanted `{want}…{message}`, got:\n{}", run.stdout);
        assert!(run.stdout.contains("  hint: "), "{name}: every error has a fix:\n{}", run.stdout);
    }
}

#[test]
fn not_utf8_is_an_error_not_a_panic() {
    let t = TestRepo::new();
    let file = t.root.join("bad.md");
    std::fs::write(&file, b"+++\nfeature = \"\xff\"\n+++\n").unwrap();
    let run = t.run(["plan", "lint", "--file", file.to_str().unwrap()]).code(1);
    assert!(run.stdout.contains(":1:1: error: the plan is not valid UTF-8"), "{}", run.stdout);
}

#[test]
fn overlapping_paths_warn_and_pass() {
    let t = TestRepo::new();
    let text = "+++\nfeature = \"x\"\ntitle = \"T\"\n[[phase]]\nid = 1\ntitle = \"A\"\nowner = \"o\"\npaths = [\"app/**\"]\n[[phase]]\nid = 2\ntitle = \"B\"\nowner = \"o\"\npaths = [\"app/models/**\"]\n+++\n";
    let file = t.root.join("p.md");
    std::fs::write(&file, text).unwrap();
    let run = t.run(["plan", "lint", "--file", file.to_str().unwrap(), "--json"]).ok();
    let report = run.json();
    assert_eq!(report["errors"], 0);
    assert_eq!(report["warnings"], 1);
    let d = &report["diagnostics"][0];
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["message"], "phase 2 path `app/models/**` overlaps phase 1 path `app/**`");
    assert_eq!((d["line"].as_u64(), d["col"].as_u64()), (Some(13), Some(10)));
}

#[test]
fn start_with_a_malformed_plan_names_the_file_and_creates_nothing() {
    let t = TestRepo::new();
    let file = t.root.join("draft.md");
    std::fs::write(
        &file,
        "+++\nfeature = \"x\"\ntitle = \"T\"\n[[phase]]\nid = 2\ntitle = \"A\"\nowner = \"o\"\n+++\n",
    )
    .unwrap();
    let run = t.run(["start", "x", "--plan", file.to_str().unwrap()]).code(2);
    assert!(
        run.stderr
            .contains(&format!("error: {}:5:6: phase ids must be 1..N in order: expected 1, found 2", file.display())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: set `id = 1`"), "{}", run.stderr);
    assert_eq!(t.git(["for-each-ref", "--format=%(refname)"]), "refs/heads/main\n");
}

#[test]
fn hostile_plan_text_stays_text() {
    let t = TestRepo::new();
    let text = "+++\nfeature = \"x\"\ntitle = \"$(touch pwned) `touch pwned2` ; rm -rf ~\"\n[[phase]]\nid = 1\ntitle = \"'; touch pwned3; echo '\"\nowner = \"{{ 7*7 }}\"\ntasks = [\"{% for x in range(9999999) %}x{% endfor %}\"]\npaths = [\"a/**\"]\n+++\n";
    let file = t.root.join("p.md");
    std::fs::write(&file, text).unwrap();
    t.run(["start", "x", "--plan", file.to_str().unwrap()]).ok();
    t.run(["approve", "plan", "--yes"]).ok();
    t.run(["phase", "start"]).ok();
    let brief = t.run(["phase", "brief"]).ok().stdout;
    assert!(brief.starts_with("@{{ 7*7 }}: Implement phase 1 of x: '; touch pwned3; echo '"), "{brief}");
    assert!(brief.contains("- {% for x in range(9999999) %}x{% endfor %}"), "{brief}");
    t.commit_file("a/f", "f\n", "work");
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    let subject = t.git(["log", "-1", "--format=%s", "orchestrate/x/main"]);
    assert_eq!(subject.trim(), "feat(x): '; touch pwned3; echo '");
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(!t.dir.join(f).exists() && !t.root.join(f).exists(), "{f} was created");
    }
}

/// One plan per hostile value: (name, the TOML line of phase 1 that carries it, the message).
fn hostile_values() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("NUL in a task", r#"tasks = ["ok", "a\u0000b"]"#, "an entry of `tasks` contains a NUL byte"),
        ("ESC in a test", r#"tests = ["\u001b[31mred"]"#, "an entry of `tests` contains an escape character"),
        ("newline in a risk", r#"risks = ["one\ntwo"]"#, "an entry of `risks` contains a line break"),
        ("tab in a task", r#"tasks = ["a\tb"]"#, "an entry of `tasks` contains a tab"),
        ("DEL in a test", r#"tests = ["a\u007fb"]"#, "contains the control character U+007F"),
        ("C1 control in a risk", r#"risks = ["a\u0085b"]"#, "contains the control character U+0085"),
        ("ESC in the owner", r#"owner = "o\u001b]0;x\u0007""#, "`owner` contains an escape character"),
        (
            "command substitution in a path",
            r#"paths = ["src/$(touch pwned)/**"]"#,
            "contains a command substitution `$(`",
        ),
        ("backtick in a path", r#"paths = ["src/`id`"]"#, "contains a backtick"),
        ("semicolon in a path", r#"paths = ["src;rm -rf ~"]"#, "contains `;`"),
        ("pipe in a path", r#"paths = ["src|sh"]"#, "contains `|`"),
        ("ampersand in a path", r#"paths = ["src&"]"#, "contains `&`"),
        ("redirection in a path", r#"paths = ["src>out"]"#, "contains `>`"),
        ("input redirection in a path", r#"paths = ["src<in"]"#, "contains `<`"),
        ("newline in a path", r#"paths = ["src\n/**"]"#, "contains a line break"),
        ("NUL in a path", r#"paths = ["src\u0000"]"#, "contains a NUL byte"),
        ("leading dash in a path", r#"paths = ["-rf"]"#, "starts with `-`"),
    ]
}

fn hostile_plan(line: &str) -> String {
    // The hostile line comes last, so it overrides nothing and follows the keys it may replace.
    let owner = if line.starts_with("owner") { "" } else { "owner = \"o\"\n" };
    format!("+++\nfeature = \"x\"\ntitle = \"T\"\n[[phase]]\nid = 1\ntitle = \"A\"\n{owner}{line}\n+++\n")
}

#[test]
fn control_characters_and_shell_syntax_are_refused_by_lint_and_by_start() {
    let t = TestRepo::new();
    for (name, line, message) in hostile_values() {
        let text = hostile_plan(line);
        let file = t.root.join("hostile.md");
        std::fs::write(&file, &text).unwrap();
        // The error points at the offending entry: the last string on the line.
        let close = line.rfind('"').unwrap();
        let at = text.find(line).unwrap() + line[..close].rfind('"').unwrap();
        let (l, c) = line_col(&text, &text[at..]);
        let place = format!("{}:{l}:{c}: ", file.display());

        let run = t.run(["plan", "lint", "--file", file.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{name}: lint exit {}\n{}{}", run.code, run.stdout, run.stderr);
        let found = run.stdout.lines().find(|x| x.starts_with(&format!("{place}error: ")) && x.contains(message));
        assert!(found.is_some(), "{name}: wanted `{place}error: …{message}`, got:\n{}", run.stdout);
        assert!(run.stdout.contains("  hint: "), "{name}: every error has a fix:\n{}", run.stdout);
        assert!(!run.stdout.contains(['\0', '\u{1b}', '\u{7f}']), "{name}: raw control characters printed");

        let run = t.run(["start", "x", "--plan", file.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{name}: start exit {}\n{}{}", run.code, run.stdout, run.stderr);
        assert!(
            run.stderr.contains(&format!("error: {place}")) && run.stderr.contains(message),
            "{name}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("hint: "), "{name}: {}", run.stderr);
        assert_eq!(t.git(["for-each-ref", "--format=%(refname)"]), "refs/heads/main\n", "{name}: start created refs");
    }
}

#[test]
fn glob_syntax_spaces_and_non_ascii_in_paths_are_fine() {
    let t = TestRepo::new();
    let file = t.root.join("p.md");
    std::fs::write(
        &file,
        hostile_plan(r#"paths = ["src/{a,b}/*.rs", "docs/my notes ü/**", "img/[ab]?.png", "a-b_c.d/**", "lib$x/**"]"#),
    )
    .unwrap();
    let run = t.run(["plan", "lint", "--file", file.to_str().unwrap(), "--json"]).ok();
    assert_eq!(run.json()["errors"], 0, "{}", run.stdout);
}

#[test]
fn a_plan_over_the_size_limits_is_refused_naming_the_limit() {
    let t = TestRepo::new();
    let file = t.root.join("big.md");

    // 1 000 phases, each after the one before: within the limit, accepted (and linted quickly,
    // see docs/BENCHMARKS.md).
    std::fs::write(&file, TestRepo::plan_text("x", 1000)).unwrap();
    let run = t.run(["plan", "lint", "--file", file.to_str().unwrap(), "--json"]).ok();
    assert_eq!((run.json()["errors"].as_u64(), run.json()["warnings"].as_u64()), (Some(0), Some(0)), "{}", run.stdout);

    let text = TestRepo::plan_text("x", 1001);
    std::fs::write(&file, &text).unwrap();
    let run = t.run(["plan", "lint", "--file", file.to_str().unwrap()]).code(1);
    let (line, col) = line_col(&text, "[[phase]]\nid = 1001");
    let want = format!("{}:{line}:{col}: error: the plan has 1001 phases, over the limit of 1000", file.display());
    assert!(run.stdout.contains(&want), "wanted {want}, got:\n{}", run.stdout);
    assert!(run.stdout.contains("hint: split the work into several features"), "{}", run.stdout);

    let mut text = TestRepo::plan_text("x", 3);
    text.push_str(&"Lorem ipsum dolor sit amet.\n".repeat(40_000));
    std::fs::write(&file, &text).unwrap();
    let run = t.run(["plan", "lint", "--file", file.to_str().unwrap()]).code(1);
    let want =
        format!("{}:1:1: error: the plan is {} bytes, over the limit of 1048576 bytes", file.display(), text.len());
    assert!(run.stdout.contains(&want), "wanted {want}, got:\n{}", run.stdout);
    let run = t.run(["start", "x", "--plan", file.to_str().unwrap()]).code(2);
    assert!(run.stderr.contains("over the limit of 1048576 bytes"), "{}", run.stderr);
}

#[test]
fn a_long_dependency_chain_and_many_overlaps_lint_without_a_stack_overflow() {
    // Each phase names the one before it explicitly, and every path overlaps every other: one
    // warning per path (naming the first), not one per pair.
    let mut text = String::from("+++\nfeature = \"x\"\ntitle = \"T\"\n");
    for i in 1..=1000 {
        let deps = if i > 1 { format!("depends_on = [{}]\n", i - 1) } else { String::new() };
        let _ = write!(text, "[[phase]]\nid = {i}\ntitle = \"P\"\nowner = \"o\"\n{deps}paths = [\"src/**\"]\n");
    }
    text.push_str("+++\n");
    let t = TestRepo::new();
    let file = t.root.join("chain.md");
    std::fs::write(&file, &text).unwrap();
    let run = t.run(["plan", "lint", "--file", file.to_str().unwrap(), "--json"]).ok();
    let report = run.json();
    assert_eq!((report["errors"].as_u64(), report["warnings"].as_u64()), (Some(0), Some(999)));
    assert_eq!(report["diagnostics"][998]["message"], "phase 1000 path `src/**` overlaps phase 1 path `src/**`");
}

#[test]
fn a_plan_names_only_gates_of_the_registry_or_the_configuration() {
    let t = TestRepo::new();
    let file = t.root.join("p.md");
    for (gate, known) in [("tests", true), ("coverage", true), ("audit", true), ("lint", false), ("commit-msg", false)]
    {
        let text = TestRepo::plan_text("x", 1)
            .replace("+++\n\n#", &format!("[phase.gates.{gate}]\nstage = \"review\"\n+++\n\n#"));
        std::fs::write(&file, text).unwrap();
        let run = t.run(["plan", "lint", "--file", file.to_str().unwrap(), "--json"]);
        let errors = run.json()["errors"].as_u64();
        assert_eq!(errors == Some(0), known, "{gate}: {}", run.stdout);
        if !known {
            assert!(run.stdout.contains("known gates: tests, coverage, secrets, scope, audit;"), "{}", run.stdout);
        }
    }
    // `[roles]` was parsed and never used: a configuration holding it is refused, by line.
    t.configure("[roles.agent]\ncommand = [\"claude\"]\n");
    let run = t.run(["gate"]).code(2);
    assert!(run.stderr.contains(".orchestrate.toml:1:"), "{}", run.stderr);
    assert!(run.stderr.contains("roles"), "{}", run.stderr);
}
