//! Test counts read from a test runner's own summary lines: cargo test, cargo nextest, pytest,
//! Python's unittest, jest, vitest, go test. The output is read line by line as it is written
//! ([`Counter`]), so every summary counts however long the output (cargo prints one `test
//! result:` per binary; a failure early in a long run is never cut off with the output's tail).
//! Colour and cursor escapes are stripped first: vitest colours its summary even when piped.

use regex::Regex;
use serde::Serialize;
use std::sync::OnceLock;

/// The runners whose summaries are read.
pub const RUNNERS: &[&str] = &["cargo test", "cargo nextest", "pytest", "unittest", "jest", "vitest", "go test"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Test files or suites that failed as a whole (vitest's `Test Files 1 failed`, jest's
    /// `Test Suites: 1 failed`): a file that does not even load runs none of its tests.
    #[serde(skip_serializing_if = "is_zero")]
    pub failed_files: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.failed_files += other.failed_files;
    }
}

/// `text` without terminal escapes: CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or `ESC \`) and
/// two-byte escapes. A carriage return keeps only what was written after it, as a terminal
/// would show the line.
pub fn strip_ansi(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\u{1b}', '\r', '\u{9b}']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let text = text.trim_end_matches('\r');
    let text = text.rsplit('\r').next().unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

struct Patterns {
    cargo: Regex,
    nextest: Regex,
    pytest: Regex,
    jest: Regex,
    jest_suites: Regex,
    vitest: Regex,
    vitest_files: Regex,
    unittest_ran: Regex,
    unittest_end: Regex,
    go: Regex,
}

fn patterns() -> &'static Patterns {
    static RE: OnceLock<Patterns> = OnceLock::new();
    RE.get_or_init(|| Patterns {
        // test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; …
        cargo: Regex::new(r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored").expect("valid"),
        // Summary [   0.123s] 45 tests run: 44 passed, 1 failed, 2 skipped
        nextest: Regex::new(
            r"^\s*Summary \[.*?\] (\d+) tests? run: (\d+) passed(?:.*?(\d+) failed)?(?:.*?(\d+) skipped)?",
        )
        .expect("valid"),
        // ==== 3 passed, 1 failed, 2 skipped in 0.12s ==== / 5 passed in 0.1s / no tests ran in 0.01s
        // pytest 9: == 1 passed, 3 subtests passed in 0.01s ==
        pytest: Regex::new(r"^=*\s*((?:\d+ [\w ]+?(?:, )?)+|no tests ran) in [\d.]+s").expect("valid"),
        // Tests:       1 failed, 2 skipped, 3 passed, 6 total
        jest: Regex::new(r"^Tests:\s+(.*?)(\d+) total").expect("valid"),
        // Test Suites: 1 failed, 1 passed, 2 total
        jest_suites: Regex::new(r"^Test Suites:\s+(.*?)(\d+) total").expect("valid"),
        // Tests  1 failed | 2 passed | 1 skipped (4)   /   Tests  no tests
        vitest: Regex::new(r"^\s*Tests\s+((?:\d+ \w+(?: \| )?)+\s*\((\d+)\)|no tests\s*$)").expect("valid"),
        // Test Files  1 failed | 1 passed (2)
        vitest_files: Regex::new(r"^\s*Test Files\s+((?:\d+ \w+(?: \| )?)+)\s*\((\d+)\)").expect("valid"),
        // Ran 3 tests in 0.001s
        unittest_ran: Regex::new(r"^Ran (\d+) tests? in [\d.]+s").expect("valid"),
        // OK / OK (skipped=1) / FAILED (failures=1, errors=2, skipped=3) / NO TESTS RAN
        unittest_end: Regex::new(r"^(OK|FAILED|NO TESTS RAN)(?: \((.*)\))?\s*$").expect("valid"),
        // --- PASS: TestX (0.00s) / --- FAIL: / --- SKIP:
        go: Regex::new(r"^\s*--- (PASS|FAIL|SKIP): ").expect("valid"),
    })
}

/// `3 passed, 1 failed` / `1 failed | 2 passed` → counts (pytest 9's `3 subtests passed` are
/// not tests: they are left out).
fn words(text: &str) -> Counts {
    let mut c = Counts::default();
    for part in text.split([',', '|']) {
        let mut it = part.split_whitespace();
        let (Some(n), Some(word)) = (it.next(), it.next()) else { continue };
        let Ok(n) = n.parse::<u64>() else { continue };
        match word {
            w if w.starts_with("pass") => c.passed += n,
            w if w.starts_with("fail") || w.starts_with("error") => c.failed += n,
            w if w.starts_with("skip")
                || w.starts_with("xfail")
                || w.starts_with("todo")
                || w.starts_with("deselected") =>
            {
                c.skipped += n;
            }
            _ => {}
        }
    }
    c
}

/// Reads a test run's output line by line and keeps the counts of every summary it sees.
#[derive(Debug, Default, Clone)]
pub struct Counter {
    cargo: Option<Counts>,
    nextest: Option<Counts>,
    jest: Option<Counts>,
    jest_failed_suites: u64,
    vitest: Option<Counts>,
    vitest_failed_files: u64,
    pytest: Option<Counts>,
    unittest: Option<Counts>,
    /// `Ran N tests` seen, waiting for the `OK`/`FAILED` line that follows.
    unittest_ran: Option<u64>,
    go: Option<Counts>,
}

impl Counter {
    /// One line of output (without its newline).
    pub fn line(&mut self, raw: &str) {
        let line = strip_ansi(raw);
        let line = line.as_ref();
        let p = patterns();
        let num = |m: Option<regex::Match>| m.and_then(|m| m.as_str().parse::<u64>().ok()).unwrap_or(0);
        if let Some(ran) = self.unittest_ran {
            if let Some(cap) = p.unittest_end.captures(line) {
                let mut c = Counts::default();
                let (mut failed, mut skipped) = (0, 0);
                for part in cap.get(2).map_or("", |m| m.as_str()).split(',') {
                    let Some((key, n)) = part.trim().split_once('=') else { continue };
                    let n: u64 = n.trim().parse().unwrap_or(0);
                    match key {
                        "failures" | "errors" | "unexpected successes" => failed += n,
                        "skipped" | "expected failures" => skipped += n,
                        _ => {}
                    }
                }
                c.failed = failed;
                c.skipped = skipped;
                c.passed = ran.saturating_sub(failed + skipped);
                if &cap[1] == "FAILED" && c.failed == 0 {
                    c.failed_files += 1;
                }
                self.unittest.get_or_insert_with(Counts::default).add(c);
                self.unittest_ran = None;
                return;
            }
            if !line.trim().is_empty() {
                self.unittest_ran = None;
            }
        }
        if let Some(cap) = p.cargo.captures(line) {
            let c =
                Counts { passed: num(cap.get(1)), failed: num(cap.get(2)), skipped: num(cap.get(3)), failed_files: 0 };
            self.cargo.get_or_insert_with(Counts::default).add(c);
        } else if let Some(cap) = p.nextest.captures(line) {
            self.nextest = Some(Counts {
                passed: num(cap.get(2)),
                failed: num(cap.get(3)),
                skipped: num(cap.get(4)),
                failed_files: 0,
            });
        } else if let Some(cap) = p.jest_suites.captures(line) {
            self.jest_failed_suites = words(&cap[1]).failed;
        } else if let Some(cap) = p.jest.captures(line) {
            self.jest = Some(words(&cap[1]));
        } else if let Some(cap) = p.vitest_files.captures(line) {
            self.vitest_failed_files = words(&cap[1]).failed;
        } else if let Some(cap) = p.vitest.captures(line) {
            self.vitest = Some(if cap[1].starts_with("no tests") { Counts::default() } else { words(&cap[1]) });
        } else if let Some(cap) = p.unittest_ran.captures(line) {
            self.unittest_ran = Some(num(cap.get(1)));
        } else if let Some(cap) = p.pytest.captures(line) {
            self.pytest = Some(if &cap[1] == "no tests ran" { Counts::default() } else { words(&cap[1]) });
        } else if let Some(cap) = p.go.captures(line) {
            let go = self.go.get_or_insert_with(Counts::default);
            match &cap[1] {
                "PASS" => go.passed += 1,
                "FAIL" => go.failed += 1,
                _ => go.skipped += 1,
            }
        } else if line.starts_with("ok  \t") && line.contains("[no tests to run]") {
            self.go.get_or_insert_with(Counts::default);
        }
    }

    /// Every line of `text`.
    pub fn text(&mut self, text: &str) {
        for line in text.lines() {
            self.line(line);
        }
    }

    /// The runner's name and its counts, or `None` when no summary line was recognised.
    pub fn finish(&self) -> Option<(&'static str, Counts)> {
        let with = |c: Option<Counts>, files: u64| c.map(|c| Counts { failed_files: c.failed_files + files, ..c });
        let jest = with(self.jest, self.jest_failed_suites).or_else(|| {
            (self.jest_failed_suites > 0).then(|| Counts { failed_files: self.jest_failed_suites, ..Counts::default() })
        });
        let vitest = with(self.vitest, self.vitest_failed_files);
        [
            ("cargo test", self.cargo),
            ("cargo nextest", self.nextest),
            ("jest", jest),
            ("vitest", vitest),
            ("pytest", self.pytest),
            ("unittest", self.unittest),
            ("go test", self.go),
        ]
        .into_iter()
        .find_map(|(name, c)| c.map(|c| (name, c)))
    }
}

/// The runner's name and its counts in `output`, or `None` when no summary line was recognised.
pub fn parse(output: &str) -> Option<(&'static str, Counts)> {
    let mut counter = Counter::default();
    counter.text(output);
    counter.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(passed: u64, failed: u64, skipped: u64) -> Counts {
        Counts { passed, failed, skipped, failed_files: 0 }
    }

    #[test]
    fn cargo_test_sums_every_binary() {
        let out = "running 7 tests\ntest result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\nrunning 3 tests\ntest result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n";
        assert_eq!(parse(out), Some(("cargo test", c(9, 1, 1))));
    }

    #[test]
    fn nextest() {
        let out = "     Summary [   0.123s] 45 tests run: 44 passed, 1 failed, 2 skipped\n";
        assert_eq!(parse(out), Some(("cargo nextest", c(44, 1, 2))));
        assert_eq!(
            parse("     Summary [   0.1s] 3 tests run: 3 passed, 0 skipped\n"),
            Some(("cargo nextest", c(3, 0, 0)))
        );
    }

    #[test]
    fn pytest_shapes() {
        assert_eq!(parse("..F\n=== 2 passed, 1 failed, 3 skipped in 0.12s ===\n"), Some(("pytest", c(2, 1, 3))));
        assert_eq!(parse("...\n3 passed in 0.01s\n"), Some(("pytest", c(3, 0, 0))));
        assert_eq!(parse("\nno tests ran in 0.01s\n"), Some(("pytest", c(0, 0, 0))));
        assert_eq!(parse("== 1 failed, 2 passed, 1 error, 1 xfailed in 1.20s ==\n"), Some(("pytest", c(2, 2, 1))));
    }

    #[test]
    fn jest_and_vitest() {
        assert_eq!(parse("Tests:       1 failed, 2 skipped, 3 passed, 6 total\n"), Some(("jest", c(3, 1, 2))));
        assert_eq!(
            parse(" Test Files  1 passed (1)\n      Tests  1 failed | 2 passed (3)\n"),
            Some(("vitest", c(2, 1, 0)))
        );
    }

    #[test]
    fn go_test() {
        let out = "=== RUN   TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\n--- SKIP: TestC (0.00s)\nFAIL\n";
        assert_eq!(parse(out), Some(("go test", c(1, 1, 1))));
        assert_eq!(parse("ok  \texample.com/x\t0.001s [no tests to run]\n"), Some(("go test", c(0, 0, 0))));
    }

    #[test]
    fn coloured_summaries_are_read() {
        // vitest with colour (it colours even when piped, e.g. under FORCE_COLOR or in CI).
        let out = "\u{1b}[2m Test Files \u{1b}[22m \u{1b}[1m\u{1b}[31m2 failed\u{1b}[39m\u{1b}[22m\u{1b}[2m | \u{1b}[22m\u{1b}[1m\u{1b}[32m1 passed\u{1b}[39m\u{1b}[22m\u{1b}[90m (3)\u{1b}[39m\n\u{1b}[2m      Tests \u{1b}[22m \u{1b}[1m\u{1b}[31m1 failed\u{1b}[39m\u{1b}[22m\u{1b}[2m | \u{1b}[22m\u{1b}[1m\u{1b}[32m1 passed\u{1b}[39m\u{1b}[22m\u{1b}[2m | \u{1b}[22m\u{1b}[33m1 skipped\u{1b}[39m\u{1b}[90m (3)\u{1b}[39m\n";
        assert_eq!(parse(out), Some(("vitest", Counts { failed_files: 2, ..c(1, 1, 1) })));
        let none = "\u{1b}[2m Test Files \u{1b}[22m \u{1b}[1m\u{1b}[31m1 failed\u{1b}[39m\u{1b}[22m\u{1b}[90m (1)\u{1b}[39m\n\u{1b}[2m      Tests \u{1b}[22m \u{1b}[2mno tests\u{1b}[22m\n";
        assert_eq!(parse(none), Some(("vitest", Counts { failed_files: 1, ..c(0, 0, 0) })));
        assert_eq!(strip_ansi("\u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{7} done\r3 passed"), "3 passed");
    }

    #[test]
    fn pytest_9_subtests_and_unittest() {
        assert_eq!(parse("==== 2 passed, 3 subtests passed in 0.02s ====\n"), Some(("pytest", c(2, 0, 0))));
        assert_eq!(parse("== 1 failed, 1 passed, 2 subtests failed in 0.1s ==\n"), Some(("pytest", c(1, 1, 0))));
        let ok = "...\n----------------------------------------------------------------------\nRan 3 tests in 0.001s\n\nOK (skipped=1)\n";
        assert_eq!(parse(ok), Some(("unittest", c(2, 0, 1))));
        let failed = "Ran 10 tests in 0.010s\n\nFAILED (failures=1, errors=2, skipped=3)\n";
        assert_eq!(parse(failed), Some(("unittest", c(4, 3, 3))));
        assert_eq!(parse("Ran 0 tests in 0.000s\n\nOK\n"), Some(("unittest", c(0, 0, 0))));
        assert_eq!(parse("Ran 0 tests in 0.000s\n\nNO TESTS RAN\n"), Some(("unittest", c(0, 0, 0))));
    }

    #[test]
    fn jest_failed_suites_count() {
        let out = "Test Suites: 1 failed, 1 passed, 2 total\nTests:       2 passed, 2 total\n";
        assert_eq!(parse(out), Some(("jest", Counts { failed_files: 1, ..c(2, 0, 0) })));
    }

    #[test]
    fn unknown_output() {
        assert_eq!(parse("all good\n"), None);
    }
}
