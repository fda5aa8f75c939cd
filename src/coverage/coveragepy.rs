//! coverage.py's JSON report (`coverage json`): `executed_lines` and `missing_lines` per file,
//! and each file's `summary`, from which coverage.py computes its own percentage (statements
//! and, with branch coverage on, branches: `totals.percent_covered`).

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
    summary: Option<Summary>,
}

#[derive(Deserialize)]
struct Summary {
    covered_lines: Option<u64>,
    num_statements: Option<u64>,
    #[serde(default)]
    covered_branches: u64,
    #[serde(default)]
    num_branches: u64,
}

pub fn parse(bytes: &[u8]) -> Result<Report, (Option<usize>, String)> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| super::json_error(&e))?;
    let mut report = Report::default();
    let mut seen = std::collections::HashSet::new();
    for (path, f) in doc.files {
        report.files.entry(path.clone()).or_default();
        if let Some((s, lines, statements)) =
            f.summary.as_ref().and_then(|s| Some((s, s.covered_lines?, s.num_statements?)))
        {
            let (covered, total) = (lines + s.covered_branches, statements + s.num_branches);
            if covered <= total {
                report.own_totals(&path, covered, total, &mut seen);
            }
        }
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
