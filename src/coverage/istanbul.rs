//! istanbul's `coverage-final.json` (nyc, jest, vitest): statement counts, each counted on the
//! line where the statement starts — as istanbul computes line coverage itself.

use serde::Deserialize;
use std::collections::BTreeMap;

use super::Report;

#[derive(Deserialize)]
struct File {
    path: Option<String>,
    #[serde(rename = "statementMap")]
    statement_map: BTreeMap<String, Span>,
    s: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Span {
    start: Pos,
}

#[derive(Deserialize)]
struct Pos {
    line: u32,
}

pub fn parse(bytes: &[u8]) -> Result<Report, (Option<usize>, String)> {
    let doc: BTreeMap<String, File> = serde_json::from_slice(bytes).map_err(|e| super::json_error(&e))?;
    let mut report = Report::default();
    for (key, f) in doc {
        let path = f.path.unwrap_or(key);
        report.files.entry(path.clone()).or_default();
        for (id, span) in &f.statement_map {
            let hits =
                f.s.get(id).copied().ok_or_else(|| (None, format!("{path}: statement {id} has no count in `s`")))?;
            let line = super::line_number(u64::from(span.start.line))
                .map_err(|m| (None, format!("{path}: statement {id}: {m}")))?;
            report.hit(&path, line, hits);
        }
    }
    Ok(report)
}
