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
            line: u32::try_from(line).unwrap_or(u32::MAX),
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
    for f in doc.data.iter().flat_map(|d| &d.files) {
        report.files.entry(f.filename.clone()).or_default();
        let segs: Vec<Segment> =
            f.segments.iter().map(|s| segment(s, &f.filename)).collect::<Result<_, _>>().map_err(|m| (None, m))?;
        let (Some(first), Some(last)) = (segs.first(), segs.last()) else { continue };
        let mut wrapped: Option<Segment> = None;
        let mut i = 0;
        for line in first.line..=last.line {
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
        }
    }
    Ok(report)
}
