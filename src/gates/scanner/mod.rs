//! Security scanners run as gates, their JSON parsed fail-closed: a scanner that reports errors,
//! skips everything, or scanned nothing fails the gate — bandit and pip-audit exit 0 in those
//! cases, so exit codes are never trusted. Adapters: bandit, pip-audit, npm audit, cargo-audit,
//! semgrep. Pure: bytes in, findings out.

use serde_json::Value;

pub(super) mod gate;

/// Severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "info" | "note" => Severity::Info,
            "low" => Severity::Low,
            "medium" | "moderate" | "warning" => Severity::Medium,
            "high" | "error" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    /// `file:line` or `package version`.
    pub place: String,
    pub message: String,
}

/// What a scanner's JSON says.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scan {
    pub findings: Vec<Finding>,
    /// How many files or dependencies were examined.
    pub scanned: u64,
    /// Reasons the scan cannot be trusted: errors, skipped input. Any of these fails closed.
    pub problems: Vec<String>,
    /// Things worth saying that do not fail the gate.
    pub notes: Vec<String>,
    /// What the scanner itself calls a warning, not a vulnerability (cargo-audit's
    /// unmaintained, unsound and yanked crates): shown, and blocking with `warnings = "fail"`.
    pub warnings: Vec<Finding>,
}

impl Severity {
    /// The qualitative rating of a CVSS base score (0.1–3.9 low, 4.0–6.9 medium, 7.0–8.9
    /// high, 9.0–10 critical; 0 is none, here info).
    pub fn from_score(score: f64) -> Self {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// The base score of a CVSS 3.0/3.1 vector (`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` is
/// 9.8), by the specification's formula; `None` for another version or a vector missing a
/// base metric.
pub fn cvss3_score(vector: &str) -> Option<f64> {
    let mut parts = vector.split('/');
    if !matches!(parts.next()?, "CVSS:3.0" | "CVSS:3.1") {
        return None;
    }
    let metrics: std::collections::HashMap<&str, &str> = parts.filter_map(|p| p.split_once(':')).collect();
    let get = |k: &str| metrics.get(k).copied();
    let changed = match get("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| match get(k)? {
        "H" => Some(0.56),
        "L" => Some(0.22),
        "N" => Some(0.0),
        _ => None,
    };
    let iss: f64 = 1.0 - (1.0 - cia("C")?) * (1.0 - cia("I")?) * (1.0 - cia("A")?);
    let impact = if changed { 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15) } else { 6.42 * iss };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Some(0.0);
    }
    let base = if changed { (1.08 * (impact + exploitability)).min(10.0) } else { (impact + exploitability).min(10.0) };
    // CVSS 3.1's Roundup: the smallest number with one decimal that is not below the input,
    // computed on integers so that 4.000000001 is not 4.1.
    #[allow(clippy::cast_possible_truncation)]
    let int = (base * 100_000.0).round() as i64;
    #[allow(clippy::cast_precision_loss)]
    Some(if int % 10_000 == 0 { int as f64 / 100_000.0 } else { ((int / 10_000) + 1) as f64 / 10.0 })
}

pub const SCANNERS: &[&str] = &["bandit", "pip-audit", "npm-audit", "cargo-audit", "semgrep"];

/// The command each scanner runs by default, writing its JSON to `report`.
pub fn default_command(scanner: &str, report: &str) -> Option<String> {
    Some(match scanner {
        "bandit" => format!("bandit -r . -q -f json -o {report}"),
        "pip-audit" => format!("pip-audit -f json -o {report}"),
        "npm-audit" => format!("npm audit --json > {report}"),
        "cargo-audit" => format!("cargo audit --json > {report}"),
        "semgrep" => format!("semgrep scan --json --output {report}"),
        _ => return None,
    })
}

pub fn parse(scanner: &str, bytes: &[u8]) -> Result<Scan, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("{scanner} wrote an empty report"));
    }
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{scanner}'s report is not JSON (line {}: {e})", e.line()))?;
    match scanner {
        "bandit" => Ok(bandit(&doc)),
        "pip-audit" => pip_audit(&doc),
        "npm-audit" => npm_audit(&doc),
        "cargo-audit" => cargo_audit(&doc),
        "semgrep" => Ok(semgrep(&doc)),
        other => Err(format!("unknown scanner `{other}` (known: {})", SCANNERS.join(", "))),
    }
}

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn bandit(doc: &Value) -> Scan {
    let mut scan = Scan::default();
    for e in doc.get("errors").and_then(Value::as_array).into_iter().flatten() {
        scan.problems.push(format!("bandit could not scan {}: {}", s(e, "filename"), s(e, "reason")));
    }
    scan.scanned = doc
        .get("metrics")
        .and_then(Value::as_object)
        .map_or(0, |m| m.keys().filter(|k| *k != "_totals").count() as u64);
    for r in doc.get("results").and_then(Value::as_array).into_iter().flatten() {
        scan.findings.push(Finding {
            id: s(r, "test_id"),
            severity: Severity::parse(&s(r, "issue_severity")).unwrap_or(Severity::High),
            place: format!("{}:{}", s(r, "filename"), s(r, "line_number")),
            message: s(r, "issue_text"),
        });
    }
    scan
}

fn pip_audit(doc: &Value) -> Result<Scan, String> {
    // pip-audit 2.x: {"dependencies": [...], "fixes": [...]}; 1.x: a bare list.
    let deps = doc
        .get("dependencies")
        .or(Some(doc))
        .and_then(Value::as_array)
        .ok_or("pip-audit's report has no `dependencies` list")?;
    let mut scan = Scan::default();
    let mut skipped = Vec::new();
    for d in deps {
        let name = format!("{} {}", s(d, "name"), s(d, "version")).trim().to_string();
        if let Some(reason) = d.get("skip_reason").and_then(Value::as_str) {
            skipped.push(format!("{name}: {reason}"));
            continue;
        }
        scan.scanned += 1;
        for v in d.get("vulns").and_then(Value::as_array).into_iter().flatten() {
            let fix = v
                .get("fix_versions")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "));
            scan.findings.push(Finding {
                id: s(v, "id"),
                // pip-audit reports no severity: every known vulnerability counts as high.
                severity: Severity::High,
                place: name.clone(),
                message: match fix {
                    Some(f) if !f.is_empty() => format!("fixed in {f}"),
                    _ => "no fixed version".into(),
                },
            });
        }
    }
    if scan.scanned == 0 && !skipped.is_empty() {
        scan.problems.push(format!("pip-audit skipped every dependency ({}), e.g. {}", skipped.len(), skipped[0]));
    } else if !skipped.is_empty() {
        scan.notes.push(format!("pip-audit skipped {}: {}", skipped.len(), skipped.join("; ")));
    }
    Ok(scan)
}

fn npm_audit(doc: &Value) -> Result<Scan, String> {
    if doc.get("error").is_some() || (doc.get("vulnerabilities").is_none() && doc.get("message").is_some()) {
        // npm's own words, wherever this version put them: `error.code`/`error.summary`/
        // `error.detail`, or a top-level `message` and `statusCode` (a registry that refused).
        let err = doc.get("error").cloned().unwrap_or(Value::Null);
        let mut said = format!("{} {}", s(&err, "code"), s(&err, "summary")).trim().to_string();
        if let Value::String(text) = &err {
            said.clone_from(text);
        }
        let message = s(doc, "message");
        if !message.trim().is_empty() && !said.contains(message.trim()) {
            said = if said.is_empty() { message.trim().to_string() } else { format!("{said}: {}", message.trim()) };
        }
        let detail = s(&err, "detail");
        if !detail.trim().is_empty() {
            said = format!("{said} ({})", detail.trim());
        }
        if let Some(code) = doc.get("statusCode").or_else(|| err.get("statusCode")) {
            said = format!("{said} (HTTP {code})");
        }
        if said.trim().is_empty() {
            said = format!("its report says only {}", doc.to_string().chars().take(200).collect::<String>());
        }
        return Ok(Scan { problems: vec![format!("npm audit failed: {}", said.trim())], ..Scan::default() });
    }
    let vulns = doc
        .get("vulnerabilities")
        .and_then(Value::as_object)
        .ok_or("npm audit's report has no `vulnerabilities` (npm 7 or newer writes auditReportVersion 2)")?;
    let mut scan = Scan {
        scanned: doc.pointer("/metadata/dependencies/total").and_then(Value::as_u64).unwrap_or(0),
        ..Scan::default()
    };
    for (name, v) in vulns {
        scan.findings.push(Finding {
            id: name.clone(),
            severity: Severity::parse(&s(v, "severity")).unwrap_or(Severity::High),
            place: format!("{name} {}", s(v, "range")).trim().to_string(),
            message: v
                .get("via")
                .and_then(Value::as_array)
                .and_then(|via| via.iter().find_map(|x| x.get("title").and_then(Value::as_str)))
                .unwrap_or("vulnerable dependency")
                .to_string(),
        });
    }
    Ok(scan)
}

fn cargo_audit(doc: &Value) -> Result<Scan, String> {
    let list = doc
        .pointer("/vulnerabilities/list")
        .and_then(Value::as_array)
        .ok_or("cargo-audit's report has no `vulnerabilities.list`")?;
    let mut scan = Scan {
        scanned: doc.pointer("/lockfile/dependency-count").and_then(Value::as_u64).unwrap_or(0),
        ..Scan::default()
    };
    for v in list {
        // The advisory's CVSS vector grades it; RustSec gives none for many advisories, which
        // count as high.
        let cvss = v.pointer("/advisory/cvss").and_then(Value::as_str);
        let severity = match cvss.map(|c| (c, cvss3_score(c))) {
            Some((_, Some(score))) => Severity::from_score(score),
            Some((vector, None)) => {
                scan.notes.push(format!("cannot score the CVSS vector {vector}: graded high"));
                Severity::High
            }
            None => Severity::High,
        };
        scan.findings.push(Finding {
            id: v.pointer("/advisory/id").and_then(Value::as_str).unwrap_or_default().to_string(),
            severity,
            place: format!(
                "{} {}",
                v.pointer("/package/name").and_then(Value::as_str).unwrap_or_default(),
                v.pointer("/package/version").and_then(Value::as_str).unwrap_or_default()
            ),
            message: v.pointer("/advisory/title").and_then(Value::as_str).unwrap_or_default().to_string(),
        });
    }
    // {"warnings": {"unmaintained": [{"kind": "unmaintained", "package": {…}, "advisory": {…}}],
    //  "yanked": [{"kind": "yanked", "package": {…}, "advisory": null}], …}}
    for (kind, list) in doc.get("warnings").and_then(Value::as_object).into_iter().flatten() {
        for w in list.as_array().into_iter().flatten() {
            let package = format!(
                "{} {}",
                w.pointer("/package/name").and_then(Value::as_str).unwrap_or_default(),
                w.pointer("/package/version").and_then(Value::as_str).unwrap_or_default()
            );
            let id = w.pointer("/advisory/id").and_then(Value::as_str).map_or_else(
                || format!("{kind}:{}", w.pointer("/package/name").and_then(Value::as_str).unwrap_or_default()),
                str::to_string,
            );
            let title = w.pointer("/advisory/title").and_then(Value::as_str).unwrap_or_default();
            scan.warnings.push(Finding {
                id,
                severity: Severity::Medium,
                place: package.trim().to_string(),
                message: if title.is_empty() { kind.clone() } else { format!("{kind}: {title}") },
            });
        }
    }
    Ok(scan)
}

fn semgrep(doc: &Value) -> Scan {
    let mut scan = Scan::default();
    for e in doc.get("errors").and_then(Value::as_array).into_iter().flatten() {
        let message = format!("semgrep: {} {}", s(e, "type"), s(e, "message")).trim().to_string();
        if s(e, "level") == "warn" {
            scan.notes.push(message);
        } else {
            scan.problems.push(message);
        }
    }
    scan.scanned = doc.pointer("/paths/scanned").and_then(Value::as_array).map_or(0, |p| p.len() as u64);
    for r in doc.get("results").and_then(Value::as_array).into_iter().flatten() {
        scan.findings.push(Finding {
            id: s(r, "check_id"),
            severity: Severity::parse(
                &r.pointer("/extra/severity").and_then(Value::as_str).unwrap_or("ERROR").to_ascii_lowercase(),
            )
            .unwrap_or(Severity::High),
            place: format!(
                "{}:{}",
                s(r, "path"),
                r.pointer("/start/line").map(ToString::to_string).unwrap_or_default()
            ),
            message: r.pointer("/extra/message").and_then(Value::as_str).unwrap_or_default().to_string(),
        });
    }
    scan
}

#[cfg(test)]
mod tests;
