//! The metric gate: one number read from a JSON report (a dotted path into the document) and
//! held to `min` and/or `max` — the seed's "accessibility ≥ 95" or "latency < 50 ms".

use serde_json::Value;

use super::engine::Run;
use super::{report, Context, Error, Evidence, Spec, Verdict};
use crate::git::Repo;

/// Check a metric gate's keys: a report, where the number is in it, and at least one bound.
pub(super) fn configure(config: &crate::config::Gate) -> Result<(), String> {
    if config.report.is_none() || config.path.is_none() {
        return Err(
            "a metric gate needs `report` (a JSON file its command writes) and `path` (where the number is)".into()
        );
    }
    if config.min.is_none() && config.max.is_none() {
        return Err("a metric gate needs `min`, `max`, or both".into());
    }
    Ok(())
}

/// The metric gate on its run: the number in this run's report, held to `min` and `max`.
pub(super) fn judge_run(repo: &Repo, spec: &Spec, ctx: &Context, run: &Run<'_>, e: &mut Evidence) -> Result<(), Error> {
    if let Some(bytes) = report::fresh(repo, spec, ctx, run, e)? {
        judge(spec, run.code, &bytes, e);
    }
    Ok(())
}

/// The value at a dotted path: `categories.accessibility.score`, `runs.0.p95` (numbers index
/// arrays).
pub fn lookup<'v>(doc: &'v Value, path: &str) -> Result<&'v Value, String> {
    let mut current = doc;
    let mut walked = Vec::new();
    for key in path.split('.') {
        walked.push(key);
        let next = match current {
            Value::Object(map) => map.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        current = next.ok_or_else(|| format!("`{}` is not in the report", walked.join(".")))?;
    }
    Ok(current)
}

/// The number at `path`, times `scale`.
pub fn read(bytes: &[u8], path: &str, scale: f64) -> Result<f64, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("line {}: {e}", e.line()))?;
    let v = lookup(&doc, path)?;
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.map(|n| n * scale).ok_or_else(|| format!("`{path}` is {v}, not a number"))
}

fn judge(spec: &Spec, code: i32, bytes: &[u8], e: &mut Evidence) {
    let cfg = &spec.config;
    let path = cfg.path.as_deref().unwrap_or_default();
    match read(bytes, path, cfg.scale.unwrap_or(1.0)) {
        Err(reason) => {
            e.verdict = Verdict::Error;
            e.summary = "unreadable metric".into();
            e.reasons.push(format!("{}: {reason}", cfg.report.as_deref().unwrap_or_default()));
        }
        Ok(value) => {
            e.figures.insert("value".into(), serde_json::json!(value));
            let bounds: Vec<String> = [cfg.min.map(|m| format!("min {m}")), cfg.max.map(|m| format!("max {m}"))]
                .into_iter()
                .flatten()
                .collect();
            e.summary = format!("{path} = {value} ({})", bounds.join(", "));
            if cfg.min.is_some_and(|m| value < m) || cfg.max.is_some_and(|m| value > m) {
                e.verdict = Verdict::Fail;
                e.reasons.push(format!("{path} is {value}, outside {}", bounds.join(" and ")));
            } else if code != 0 {
                e.verdict = Verdict::Fail;
                e.reasons.push(format!("the command exited with {code}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_into_objects_and_arrays() {
        let report = br#"{"categories": {"accessibility": {"score": 0.97}}, "runs": [{"p95": "42.5"}], "name": "x"}"#;
        assert!((read(report, "categories.accessibility.score", 100.0).unwrap() - 97.0).abs() < 1e-9);
        assert!((read(report, "runs.0.p95", 1.0).unwrap() - 42.5).abs() < 1e-9);
        assert_eq!(
            read(report, "categories.performance.score", 1.0).unwrap_err(),
            "`categories.performance` is not in the report"
        );
        assert_eq!(read(report, "name", 1.0).unwrap_err(), "`name` is \"x\", not a number");
        assert!(read(b"{\n,}", "a", 1.0).unwrap_err().starts_with("line 2"));
    }
}
