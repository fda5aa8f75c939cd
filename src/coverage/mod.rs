//! Coverage reports, one parser per format, all into one model: for each file, the hits of each
//! instrumented line, built from per-line (or per-region) records, and beside them the
//! producer's own per-file totals where the format carries them (lcov `LF`/`LH`, llvm-cov's
//! `summary.lines`, coverage.py's `summary`), so the project figure is the producer's own. Parsers accept records they do not know (lcov 2.x, coverage.py's lcov) and
//! report what they cannot read with its line. Pure: bytes in, model out.

mod cobertura;
mod coveragepy;
mod gocover;
mod istanbul;
mod jacoco;
mod lcov;
mod llvmcov;

use std::collections::BTreeMap;
use std::fmt;

/// Line → hits, for each file as the report names it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub files: BTreeMap<String, BTreeMap<u32, u64>>,
    /// Directories the report says its relative paths start from (Cobertura `<source>`).
    pub sources: Vec<String>,
    /// The producer's own (covered, total) for a file, where the format says it. A file the
    /// report names twice (two lcov records) has none: its records are merged line by line.
    pub totals: BTreeMap<String, (u64, u64)>,
}

impl Report {
    /// Record the producer's own totals for `file`; a second record for the same file drops
    /// them (the merged lines are the only truth left).
    fn own_totals(&mut self, file: &str, covered: u64, total: u64, seen: &mut std::collections::HashSet<String>) {
        if seen.insert(file.to_string()) {
            self.totals.insert(file.to_string(), (covered, total));
        } else {
            self.totals.remove(file);
        }
    }

    /// (covered, total) over `files` (names as the report gives them): the producer's own
    /// figures when it gave them for every one of these files, else counted from the lines.
    pub fn tally<'a>(&self, files: impl IntoIterator<Item = &'a String> + Clone) -> (u64, u64) {
        let own = files.clone().into_iter().map(|f| self.totals.get(f).copied()).collect::<Option<Vec<_>>>();
        match own {
            Some(own) if !own.is_empty() => own.iter().fold((0, 0), |(c, t), (fc, ft)| (c + fc, t + ft)),
            _ => files.into_iter().filter_map(|f| self.files.get(f)).fold((0, 0), |(c, t), lines| {
                (c + lines.values().filter(|h| **h > 0).count() as u64, t + lines.len() as u64)
            }),
        }
    }

    fn hit(&mut self, file: &str, line: u32, hits: u64) {
        let lines = self.files.entry(file.to_string()).or_default();
        let h = lines.entry(line).or_insert(0);
        *h = (*h).max(hits);
    }

    /// Add a file's collected (line, hits) records at once: sorted and bulk-loaded, the highest
    /// hits winning for a line that appears twice. For large reports this is the hot path.
    fn add_lines(&mut self, file: &str, lines: &mut Vec<(u32, u64)>) {
        lines.sort_unstable_by_key(|(l, _)| *l);
        lines.dedup_by(|next, kept| {
            if next.0 == kept.0 {
                kept.1 = kept.1.max(next.1);
                true
            } else {
                false
            }
        });
        match self.files.get_mut(file) {
            Some(map) if !map.is_empty() => {
                for (l, h) in lines.drain(..) {
                    let e = map.entry(l).or_insert(0);
                    *e = (*e).max(h);
                }
            }
            _ => {
                let map: BTreeMap<u32, u64> = lines.drain(..).collect();
                self.files.insert(file.to_string(), map);
            }
        }
    }
}

/// The highest line number a report may name: no source file has ten million lines, and a
/// range up to a line like 4294967295 must not be expanded.
pub const MAX_LINE: u32 = 10_000_000;

/// The most lines a report whose records are ranges (Go blocks, llvm-cov regions) may expand
/// to, over all its files.
pub const MAX_REPORT_LINES: u64 = 20_000_000;

/// A line number from a report, refused past [`MAX_LINE`].
fn line_number(n: u64) -> Result<u32, String> {
    u32::try_from(n)
        .ok()
        .filter(|l| *l <= MAX_LINE)
        .ok_or_else(|| format!("line {n} is past the highest line a report may name ({MAX_LINE})"))
}

/// A non-negative decimal number, straight from bytes.
fn atoi(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Lcov,
    Cobertura,
    Jacoco,
    CoveragePy,
    LlvmCov,
    GoCover,
    Istanbul,
}

impl Format {
    pub const NAMES: &'static [&'static str] =
        &["lcov", "cobertura", "jacoco", "coverage-py-json", "llvm-cov-json", "go-coverprofile", "istanbul-json"];

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "lcov" => Format::Lcov,
            "cobertura" => Format::Cobertura,
            "jacoco" => Format::Jacoco,
            "coverage-py-json" | "coverage.py" => Format::CoveragePy,
            "llvm-cov-json" | "llvm-cov" => Format::LlvmCov,
            "go-coverprofile" | "go" => Format::GoCover,
            "istanbul-json" | "istanbul" => Format::Istanbul,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Lcov => "lcov",
            Format::Cobertura => "cobertura",
            Format::Jacoco => "jacoco",
            Format::CoveragePy => "coverage-py-json",
            Format::LlvmCov => "llvm-cov-json",
            Format::GoCover => "go-coverprofile",
            Format::Istanbul => "istanbul-json",
        }
    }

    /// Guess the format from the first bytes of the report (and its last, for llvm-cov's
    /// export, which writes its `type` marker after the data).
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
        let tail = String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(4096)..]);
        let trimmed = head.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with("mode:") {
            Some(Format::GoCover)
        } else if trimmed.starts_with("TN:") || trimmed.starts_with("SF:") || trimmed.starts_with("VER:") {
            Some(Format::Lcov)
        } else if trimmed.starts_with('<') {
            if head.contains("JACOCO") || head.contains("<report") {
                Some(Format::Jacoco)
            } else if head.contains("<coverage") {
                Some(Format::Cobertura)
            } else {
                None
            }
        } else if trimmed.starts_with('{') {
            if head.contains("llvm.coverage.json.export") || tail.contains("llvm.coverage.json.export") {
                Some(Format::LlvmCov)
            } else if head.contains("\"executed_lines\"") || head.contains("\"meta\"") && head.contains("\"files\"") {
                Some(Format::CoveragePy)
            } else if head.contains("\"statementMap\"") {
                Some(Format::Istanbul)
            } else {
                None
            }
        } else {
            None
        }
    }
}

/// A report that cannot be read, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub format: Format,
    /// 1-based line in the report, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {} (as {})", self.message, self.format.name()),
            None => write!(f, "{} (as {})", self.message, self.format.name()),
        }
    }
}

pub fn parse(format: Format, bytes: &[u8]) -> Result<Report, ParseError> {
    let err = |line: Option<usize>, message: String| ParseError { format, line, message };
    let report = match format {
        Format::Lcov => lcov::parse(bytes).map_err(|(l, m)| err(Some(l), m))?,
        Format::Cobertura => cobertura::parse(bytes).map_err(|(l, m)| err(l, m))?,
        Format::Jacoco => jacoco::parse(bytes).map_err(|(l, m)| err(l, m))?,
        Format::CoveragePy => coveragepy::parse(bytes).map_err(|(l, m)| err(l, m))?,
        Format::LlvmCov => llvmcov::parse(bytes).map_err(|(l, m)| err(l, m))?,
        Format::GoCover => gocover::parse(bytes).map_err(|(l, m)| err(Some(l), m))?,
        Format::Istanbul => istanbul::parse(bytes).map_err(|(l, m)| err(l, m))?,
    };
    if report.files.is_empty() {
        return Err(err(None, "the report measures no file".into()));
    }
    Ok(report)
}

/// Hits written as a float (some producers do): negative and NaN are 0, the rest truncated.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn hits_from_f64(h: f64) -> u64 {
    if h > 0.0 {
        h as u64
    } else {
        0
    }
}

/// The line of a byte offset, for parsers that work on the whole text (JSON, XML).
#[allow(clippy::naive_bytecount)]
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// A JSON error with its line.
fn json_error(e: &serde_json::Error) -> (Option<usize>, String) {
    (Some(e.line()), e.to_string())
}

#[cfg(test)]
mod tests;
