//! `llvm-cov export` JSON (cargo-llvm-cov `--json`): per-file region segments, turned into line
//! hits the way llvm-cov computes line coverage itself (`LineCoverageStats`): a line counts when
//! a region starts on it or one carried over from an earlier line covers it, and its hits are the
//! highest count among them. Gap regions and skipped regions do not count.

use serde::Deserialize;

use super::Report;

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "type")]
    kind: Option<String>,
    data: Vec<Export>,
}

#[derive(Deserialize)]
struct Export {
    files: Vec<File>,
}

#[derive(Deserialize)]
struct File {
    filename: String,
    segments: Vec<Vec<serde_json::Value>>,
    /// llvm-cov's own figures for the file (`lines.count`, `lines.covered`; the export's
    /// `totals.lines` sums them).
    summary: Option<serde_json::Value>,
}

/// line, column, count, has count, is region entry, is gap region.
#[derive(Clone, Copy)]
struct Segment {
    line: u32,
    count: u64,
    has_count: bool,
    entry: bool,
    gap: bool,
}

impl Segment {
    fn starts_region(self) -> bool {
        !self.gap && self.has_count && self.entry
    }
}

fn segment(v: &[serde_json::Value], file: &str) -> Result<Segment, String> {
    let n = |i: usize| v.get(i).and_then(serde_json::Value::as_u64);
    let b = |i: usize| v.get(i).and_then(|x| x.as_bool().or_else(|| x.as_u64().map(|n| n != 0)));
    match (n(0), n(2), b(3), b(4)) {
        (Some(line), Some(count), Some(has_count), Some(entry)) => Ok(Segment {
            line: super::line_number(line).map_err(|m| format!("{file}: {m}"))?,
            count,
            has_count,
            entry,
            gap: b(5).unwrap_or(false),
        }),
        _ => Err(format!("{file}: a segment is not [line, col, count, has_count, is_entry, …]")),
    }
}

pub fn parse(bytes: &[u8]) -> Result<Report, (Option<usize>, String)> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| super::json_error(&e))?;
    if doc.kind.as_deref().is_some_and(|k| k != "llvm.coverage.json.export") {
        return Err((None, format!("`type` is {:?}, not llvm.coverage.json.export", doc.kind.unwrap_or_default())));
    }
    let mut report = Report::default();
    // Lines between a file's first and last segment, over all files: what the walk below may
    // expand to, bounded before it starts.
    let mut span: u64 = 0;
    let mut files = Vec::new();
    for f in doc.data.iter().flat_map(|d| &d.files) {
        let segs: Vec<Segment> =
            f.segments.iter().map(|s| segment(s, &f.filename)).collect::<Result<_, _>>().map_err(|m| (None, m))?;
        if let Some(w) = segs.windows(2).find(|w| w[1].line < w[0].line) {
            let message = format!("{}: segments go back from line {} to line {}", f.filename, w[0].line, w[1].line);
            return Err((None, message));
        }
        if let (Some(first), Some(last)) = (segs.first(), segs.last()) {
            span += u64::from(last.line - first.line) + 1;
            if span > super::MAX_REPORT_LINES {
                let message = format!(
                    "{}: the segments span more than {} lines in all: not a real export",
                    f.filename,
                    super::MAX_REPORT_LINES
                );
                return Err((None, message));
            }
        }
        files.push((f, segs));
    }
    let mut seen = std::collections::HashSet::new();
    for (f, segs) in files {
        report.files.entry(f.filename.clone()).or_default();
        let own = f
            .summary
            .as_ref()
            .and_then(|s| Some((s.pointer("/lines/covered")?.as_u64()?, s.pointer("/lines/count")?.as_u64()?)));
        match own {
            Some((covered, count)) if covered <= count => report.own_totals(&f.filename, covered, count, &mut seen),
            _ => {
                seen.insert(f.filename.clone());
                report.totals.remove(&f.filename);
            }
        }
        let (Some(first), Some(last)) = (segs.first(), segs.last()) else { continue };
        let mut wrapped: Option<Segment> = None;
        let mut i = 0;
        let mut line = first.line;
        while line <= last.line {
            // Nothing carried over counts: skip to the next line a segment is on.
            if !wrapped.is_some_and(|w| w.has_count && !w.gap) {
                line = segs.get(i).map_or(line, |s| line.max(s.line));
            }
            let start = i;
            while i < segs.len() && segs[i].line == line {
                i += 1;
            }
            let on_line = &segs[start..i];
            let skipped = on_line.first().is_some_and(|s| !s.has_count && s.entry);
            let regions = on_line.iter().filter(|s| s.starts_region()).count();
            let mapped = !skipped && (wrapped.is_some_and(|w| w.has_count && !w.gap) || regions > 0);
            if mapped {
                let mut count = wrapped.filter(|w| w.has_count).map_or(0, |w| w.count);
                if regions > 0 {
                    for s in on_line.iter().filter(|s| s.starts_region()) {
                        count = count.max(s.count);
                    }
                }
                report.hit(&f.filename, line, count);
            }
            if let Some(last_on_line) = on_line.last() {
                wrapped = Some(*last_on_line);
            }
            line += 1;
        }
    }
    Ok(report)
}
