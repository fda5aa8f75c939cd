//! lcov tracefiles (`SF:`, `DA:`, `end_of_record`). Unknown records — `VER:` of lcov 2.x, `FN`,
//! `BRDA`, checksums after `DA` hits as coverage.py writes them — are accepted and skipped.

use super::Report;

pub fn parse(bytes: &[u8]) -> Result<Report, (usize, String)> {
    let mut report = Report::default();
    let mut file: Option<String> = None;
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let n = i + 1;
        if let Some(path) = line.strip_prefix(b"SF:") {
            let path = std::str::from_utf8(path).map_err(|_| (n, "the file name is not UTF-8".to_string()))?;
            report.files.entry(path.to_string()).or_default();
            file = Some(path.to_string());
        } else if let Some(rest) = line.strip_prefix(b"DA:") {
            let Some(current) = file.as_deref() else {
                return Err((n, "a DA record before any SF record".into()));
            };
            let rest = std::str::from_utf8(rest).map_err(|_| (n, "not UTF-8".to_string()))?;
            let mut parts = rest.split(',');
            let line_no: u32 = parts
                .next()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| (n, format!("`DA:{rest}`: the line number is not a number")))?;
            let hits = parts.next().map(str::trim).ok_or_else(|| (n, format!("`DA:{rest}`: no hit count")))?;
            // gcov writes `-1` for lines it could not execute; count those as 0, not an error.
            let hits: u64 = match hits.parse::<i64>() {
                Ok(h) => u64::try_from(h).unwrap_or(0),
                Err(_) => hits
                    .parse::<f64>()
                    .map(super::hits_from_f64)
                    .map_err(|_| (n, format!("`DA:{rest}`: the hit count is not a number")))?,
            };
            if line_no == 0 {
                return Err((n, "`DA:0,…`: lines start at 1".into()));
            }
            report.hit(current, line_no, hits);
        } else if line == b"end_of_record" {
            file = None;
        }
    }
    Ok(report)
}
