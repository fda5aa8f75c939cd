//! Test counts read from a test runner's own summary lines: cargo test, cargo nextest, pytest,
//! jest, vitest, go test. The counts are figures in the evidence; the exit code still decides.

use regex::Regex;
use serde::Serialize;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.passed + self.failed + self.skipped
    }

    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// The runner's name and its counts, or `None` when no summary line was recognised.
pub fn parse(output: &str) -> Option<(&'static str, Counts)> {
    static RE: OnceLock<[Regex; 6]> = OnceLock::new();
    let [cargo, nextest, pytest, jest, vitest, go] = RE.get_or_init(|| {
        [
            // test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; …
            Regex::new(r"(?m)^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored").expect("valid"),
            // Summary [   0.123s] 45 tests run: 44 passed, 1 failed, 2 skipped
            Regex::new(
                r"(?m)^\s*Summary \[.*?\] (\d+) tests? run: (\d+) passed(?:.*?(\d+) failed)?(?:.*?(\d+) skipped)?",
            )
            .expect("valid"),
            // ==== 3 passed, 1 failed, 2 skipped in 0.12s ==== / 5 passed in 0.1s / no tests ran in 0.01s
            Regex::new(r"(?m)^=*\s*((?:\d+ \w+(?:, )?)+|no tests ran) in [\d.]+s").expect("valid"),
            // Tests:       1 failed, 2 skipped, 3 passed, 6 total
            Regex::new(r"(?m)^Tests:\s+(.*?)(\d+) total").expect("valid"),
            // Tests  1 failed | 2 passed | 1 skipped (4)
            Regex::new(r"(?m)^\s*Tests\s+((?:\d+ \w+(?: \| )?)+)\s*\((\d+)\)").expect("valid"),
            // --- PASS: TestX (0.00s) / --- FAIL: / --- SKIP:   and   ok  pkg 0.1s [no tests to run]
            Regex::new(r"(?m)^\s*--- (PASS|FAIL|SKIP): ").expect("valid"),
        ]
    });
    let num = |m: Option<regex::Match>| m.and_then(|m| m.as_str().parse::<u64>().ok()).unwrap_or(0);
    let words = |text: &str| {
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
    };

    let mut found: Option<(&'static str, Counts)> = None;
    let mut total = Counts::default();
    for cap in cargo.captures_iter(output) {
        total.add(Counts { passed: num(cap.get(1)), failed: num(cap.get(2)), skipped: num(cap.get(3)) });
        found = Some(("cargo test", total));
    }
    if found.is_some() {
        return found;
    }
    if let Some(cap) = nextest.captures_iter(output).last() {
        return Some((
            "cargo nextest",
            Counts { passed: num(cap.get(2)), failed: num(cap.get(3)), skipped: num(cap.get(4)) },
        ));
    }
    if let Some(cap) = jest.captures_iter(output).last() {
        return Some(("jest", words(&cap[1])));
    }
    if let Some(cap) = vitest.captures_iter(output).last() {
        return Some(("vitest", words(&cap[1])));
    }
    if let Some(cap) = pytest.captures_iter(output).last() {
        return Some(("pytest", if &cap[1] == "no tests ran" { Counts::default() } else { words(&cap[1]) }));
    }
    let mut go_counts = Counts::default();
    let mut go_seen = false;
    for cap in go.captures_iter(output) {
        go_seen = true;
        match &cap[1] {
            "PASS" => go_counts.passed += 1,
            "FAIL" => go_counts.failed += 1,
            _ => go_counts.skipped += 1,
        }
    }
    if go_seen || output.lines().any(|l| l.starts_with("ok  \t") && l.contains("[no tests to run]")) {
        return Some(("go test", go_counts));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(passed: u64, failed: u64, skipped: u64) -> Counts {
        Counts { passed, failed, skipped }
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
    fn unknown_output() {
        assert_eq!(parse("all good\n"), None);
    }
}
