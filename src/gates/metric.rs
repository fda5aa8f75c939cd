//! The metric gate: one number read from a JSON report (a dotted path into the document) and
//! held to `min` and/or `max` — the seed's "accessibility ≥ 95" or "latency < 50 ms".

use serde_json::Value;

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
