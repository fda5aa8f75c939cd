//! Go's coverprofile (`go test -coverprofile`): `mode:` then
//! `file.go:startLine.startCol,endLine.endCol statements count` blocks. A line's hits are the
//! highest count of the blocks that cover it. Paths are import paths; the gate strips the
//! module path (from go.mod).

use super::Report;

pub fn parse(bytes: &[u8]) -> Result<Report, (usize, String)> {
    let text = std::str::from_utf8(bytes).map_err(|e| (1, format!("not UTF-8: {e}")))?;
    let mut report = Report::default();
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, first)) if first.starts_with("mode:") => {}
        _ => return Err((1, "a coverprofile starts with `mode: set|count|atomic`".into())),
    }
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = || (n, format!("`{line}` is not `file:start.col,end.col statements count`"));
        let (file, rest) = line.rsplit_once(':').ok_or_else(bad)?;
        let mut fields = rest.split_whitespace();
        let range = fields.next().ok_or_else(bad)?;
        let _statements: u64 = fields.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let count: u64 = fields.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let (start, end) = range.split_once(',').ok_or_else(bad)?;
        let line_of = |pos: &str| pos.split('.').next().and_then(|l| l.parse::<u32>().ok());
        let (start, end) = (line_of(start).ok_or_else(bad)?, line_of(end).ok_or_else(bad)?);
        if end < start {
            return Err((n, format!("block ends (line {end}) before it starts (line {start})")));
        }
        for l in start..=end {
            report.hit(file, l, count);
        }
    }
    Ok(report)
}
