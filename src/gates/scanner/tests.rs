//! Recorded outputs of each scanner, including their error and "everything skipped" shapes.

use super::{parse, Severity};

#[test]
fn bandit_findings_errors_and_nothing_scanned() {
    let ok = br#"{"errors": [], "generated_at": "2026-11-24T00:00:00Z", "metrics": {"_totals": {"loc": 12}, "./src/a.py": {"loc": 12}},
      "results": [{"filename": "./src/a.py", "issue_severity": "MEDIUM", "issue_confidence": "HIGH", "issue_text": "Use of exec detected.", "line_number": 4, "test_id": "B102", "test_name": "exec_used"}]}"#;
    let scan = parse("bandit", ok).unwrap();
    assert_eq!(scan.scanned, 1);
    assert_eq!(scan.findings[0].id, "B102");
    assert_eq!(scan.findings[0].severity, Severity::Medium);
    assert_eq!(scan.findings[0].place, "./src/a.py:4");
    // bandit exits 0 when it cannot parse a file: the error is in the JSON.
    let broken = br#"{"errors": [{"filename": "./bad.py", "reason": "syntax error while parsing AST from file"}], "metrics": {"_totals": {}}, "results": []}"#;
    let scan = parse("bandit", broken).unwrap();
    assert_eq!(scan.problems, vec!["bandit could not scan ./bad.py: syntax error while parsing AST from file"]);
    assert_eq!(scan.scanned, 0);
}

#[test]
fn pip_audit_vulns_partial_and_total_skips() {
    let report = br#"{"dependencies": [{"name": "flask", "version": "0.5", "vulns": [{"id": "PYSEC-2019-179", "fix_versions": ["1.0"], "aliases": ["CVE-2019-1010083"]}]},
      {"name": "left-pad", "skip_reason": "Dependency not found on PyPI and could not be audited: left-pad (0.0.1)"}], "fixes": []}"#;
    let scan = parse("pip-audit", report).unwrap();
    assert_eq!((scan.scanned, scan.findings.len()), (1, 1));
    assert_eq!(scan.findings[0].message, "fixed in 1.0");
    assert!(scan.problems.is_empty());
    assert!(scan.notes[0].starts_with("pip-audit skipped 1"));
    // Offline, pip-audit skips everything and exits 0.
    let skipped = br#"{"dependencies": [{"name": "requests", "skip_reason": "Could not reach the vulnerability service"}], "fixes": []}"#;
    let scan = parse("pip-audit", skipped).unwrap();
    assert!(scan.problems[0].starts_with("pip-audit skipped every dependency (1)"), "{:?}", scan.problems);
    assert!(parse("pip-audit", br#"{"fixes": []}"#).unwrap_err().contains("no `dependencies` list"));
}

#[test]
fn npm_audit_vulns_and_error_shapes() {
    let report = br#"{"auditReportVersion": 2, "vulnerabilities": {"lodash": {"name": "lodash", "severity": "high", "isDirect": true,
      "via": [{"source": 1065, "title": "Prototype Pollution in lodash", "severity": "high"}], "range": "<4.17.21", "fixAvailable": true}},
      "metadata": {"vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 1, "critical": 0, "total": 1}, "dependencies": {"prod": 2, "dev": 0, "total": 2}}}"#;
    let scan = parse("npm-audit", report).unwrap();
    assert_eq!(scan.scanned, 2);
    assert_eq!(scan.findings[0].message, "Prototype Pollution in lodash");
    assert_eq!(scan.findings[0].severity, Severity::High);
    let no_lock = br#"{"error": {"code": "ENOLOCK", "summary": "This command requires an existing lockfile.", "detail": "Try creating one first with: npm i --package-lock-only"}}"#;
    assert_eq!(
        parse("npm-audit", no_lock).unwrap().problems,
        vec!["npm audit failed: ENOLOCK This command requires an existing lockfile. (Try creating one first with: npm i --package-lock-only)"]
    );
    let offline = br#"{"message": "request to https://example.invalid failed", "error": {"code": "ENOTFOUND", "summary": "request failed"}}"#;
    assert!(parse("npm-audit", offline).unwrap().problems[0].contains("ENOTFOUND"));
}

#[test]
fn cargo_audit_and_semgrep() {
    let report = br#"{"lockfile": {"dependency-count": 120}, "vulnerabilities": {"found": true, "count": 1, "list": [{"advisory": {"id": "RUSTSEC-2020-0071", "package": "time", "title": "Potential segfault in the time crate"}, "package": {"name": "time", "version": "0.1.43"}}]}, "warnings": {}}"#;
    let scan = parse("cargo-audit", report).unwrap();
    assert_eq!(
        (scan.scanned, scan.findings[0].id.as_str(), scan.findings[0].place.as_str()),
        (120, "RUSTSEC-2020-0071", "time 0.1.43")
    );
    let sg = br#"{"results": [{"check_id": "python.lang.security.audit.eval-detected", "path": "a.py", "start": {"line": 3}, "extra": {"severity": "WARNING", "message": "eval"}}],
      "errors": [{"code": 3, "level": "error", "type": "Syntax error", "message": "at line b.py:1"}], "paths": {"scanned": ["a.py", "b.py"]}}"#;
    let scan = parse("semgrep", sg).unwrap();
    assert_eq!((scan.scanned, scan.findings[0].severity), (2, Severity::Medium));
    assert_eq!(scan.problems, vec!["semgrep: Syntax error at line b.py:1"]);
}

#[test]
fn not_json_or_empty_is_an_error() {
    assert!(parse("bandit", b"").unwrap_err().contains("empty report"));
    assert!(parse("bandit", b"Traceback (most recent call last):").unwrap_err().contains("not JSON"));
    assert!(parse("trivy", b"{}").unwrap_err().contains("unknown scanner `trivy`"));
}

#[test]
fn cvss_3_base_scores_grade_findings() {
    use super::cvss3_score as score;
    assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), Some(9.8));
    assert_eq!(score("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"), Some(5.9));
    assert_eq!(score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), Some(10.0));
    assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N"), Some(6.4));
    assert_eq!(score("CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), Some(0.0));
    assert_eq!(score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"), None);
    assert_eq!(Severity::from_score(9.8), Severity::Critical);
    assert_eq!(Severity::from_score(5.9), Severity::Medium);
    let report = br#"{"lockfile": {"dependency-count": 3}, "vulnerabilities": {"list": [{"advisory": {"id": "RUSTSEC-2023-0001", "title": "t", "cvss": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, "package": {"name": "tokio", "version": "1.18.0"}}]},
      "warnings": {"yanked": [{"kind": "yanked", "package": {"name": "half", "version": "2.3.0"}, "advisory": null}]}}"#;
    let scan = parse("cargo-audit", report).unwrap();
    assert_eq!(scan.findings[0].severity, Severity::Critical);
    assert_eq!((scan.warnings[0].id.as_str(), scan.warnings[0].message.as_str()), ("yanked:half", "yanked"));
}
