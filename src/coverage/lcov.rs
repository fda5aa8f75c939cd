//! lcov tracefiles (`SF:`, `DA:`, `end_of_record`). Unknown records — `VER:` of lcov 2.x, `FN`,
//! `BRDA`, checksums after `DA` hits as coverage.py writes them — are accepted and skipped.

use super::{atoi, Report};

pub fn parse(bytes: &[u8]) -> Result<Report, (usize, String)> {
    let mut report = Report::default();
    let mut file: Option<String> = None;
    let mut lines: Vec<(u32, u64)> = Vec::new();
    // The record's own `LF`/`LH` (lines found, lines hit): the producer's figure.
    let (mut found, mut hit): (Option<u64>, Option<u64>) = (None, None);
    let mut seen = std::collections::HashSet::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let n = i + 1;
        if let Some(rest) = line.strip_prefix(b"DA:") {
            if file.is_none() {
                return Err((n, "a DA record before any SF record".into()));
            }
            let text = || String::from_utf8_lossy(rest).into_owned();
            let mut parts = rest.splitn(3, |b| *b == b',');
            let line_no = parts
                .next()
                .and_then(|s| atoi(s.trim_ascii()))
                .ok_or_else(|| (n, format!("`DA:{}`: the line number is not a number", text())))?;
            let line_no = super::line_number(line_no).map_err(|m| (n, format!("`DA:{}`: {m}", text())))?;
            let hits =
                parts.next().map(<[u8]>::trim_ascii).ok_or_else(|| (n, format!("`DA:{}`: no hit count", text())))?;
            // gcov writes `-1` for lines it could not execute; count those as 0, not an error.
            let hits = match atoi(hits) {
                Some(h) => h,
                None => std::str::from_utf8(hits)
                    .ok()
                    .and_then(|h| h.parse::<f64>().ok())
                    .map(super::hits_from_f64)
                    .ok_or_else(|| (n, format!("`DA:{}`: the hit count is not a number", text())))?,
            };
            if line_no == 0 {
                return Err((n, "`DA:0,…`: lines start at 1".into()));
            }
            lines.push((line_no, hits));
        } else if let Some(n) = line.strip_prefix(b"LF:") {
            found = atoi(n.trim_ascii());
        } else if let Some(n) = line.strip_prefix(b"LH:") {
            hit = atoi(n.trim_ascii());
        } else if let Some(path) = line.strip_prefix(b"SF:") {
            if let Some(done) = file.take() {
                end(&mut report, &done, &mut lines, (found.take(), hit.take()), &mut seen);
            }
            let path = std::str::from_utf8(path).map_err(|_| (n, "the file name is not UTF-8".to_string()))?;
            report.files.entry(path.to_string()).or_default();
            file = Some(path.to_string());
        } else if line == b"end_of_record" {
            if let Some(done) = file.take() {
                end(&mut report, &done, &mut lines, (found.take(), hit.take()), &mut seen);
            }
        }
    }
    if let Some(done) = file.take() {
        end(&mut report, &done, &mut lines, (found, hit), &mut seen);
    }
    Ok(report)
}

/// Close a file's record: its lines, and its `LF`/`LH` when it had both (a record without
/// them has no producer's figure, and neither then has the file).
fn end(
    report: &mut Report,
    file: &str,
    lines: &mut Vec<(u32, u64)>,
    own: (Option<u64>, Option<u64>),
    seen: &mut std::collections::HashSet<String>,
) {
    report.add_lines(file, lines);
    match own {
        (Some(found), Some(hit)) if hit <= found => report.own_totals(file, hit, found, seen),
        _ => {
            // Seen without totals: a later record for the file brings none back for half of it.
            seen.insert(file.to_string());
            report.totals.remove(file);
        }
    }
}
