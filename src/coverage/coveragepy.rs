//! coverage.py's JSON report (`coverage json`): `executed_lines` and `missing_lines` per file.

use serde::Deserialize;
use std::collections::BTreeMap;

use super::Report;

#[derive(Deserialize)]
struct Doc {
    files: BTreeMap<String, File>,
}

#[derive(Deserialize)]
struct File {
    executed_lines: Vec<u32>,
    missing_lines: Vec<u32>,
}

pub fn parse(bytes: &[u8]) -> Result<Report, (Option<usize>, String)> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| super::json_error(&e))?;
    let mut report = Report::default();
    for (path, f) in doc.files {
        report.files.entry(path.clone()).or_default();
        let line = |l: u32| super::line_number(u64::from(l)).map_err(|m| (None, format!("{path}: {m}")));
        for l in f.missing_lines {
            report.hit(&path, line(l)?, 0);
        }
        for l in f.executed_lines {
            report.hit(&path, line(l)?, 1);
        }
    }
    Ok(report)
}
