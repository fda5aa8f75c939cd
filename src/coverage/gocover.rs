//! Go's coverprofile (`go test -coverprofile`): `mode:` then
//! `file.go:startLine.startCol,endLine.endCol statements count` blocks. A line's hits are the
//! highest count of the blocks that cover it. Paths are import paths; the gate strips the
//! module path (from go.mod).
//!
//! A block is a range of lines, so a short record can name millions of them: line numbers are
//! bounded ([`super::MAX_LINE`]), so is the number of lines the whole report covers
//! ([`super::MAX_REPORT_LINES`], checked before anything is expanded), and blocks that repeat
//! or overlap (merged profiles list each block once per test binary) are swept once per line,
//! not expanded once per block.

use std::collections::{BTreeMap, BinaryHeap};

use super::Report;

/// One block: first line, last line, count, and the report line it came from.
type Block = (u32, u32, u64, usize);

pub fn parse(bytes: &[u8]) -> Result<Report, (usize, String)> {
    let text = std::str::from_utf8(bytes).map_err(|e| (1, format!("not UTF-8: {e}")))?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, first)) if first.starts_with("mode:") => {}
        _ => return Err((1, "a coverprofile starts with `mode: set|count|atomic`".into())),
    }
    let mut files: BTreeMap<&str, Vec<Block>> = BTreeMap::new();
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
        let line_of = |pos: &str| pos.split('.').next().and_then(|l| l.parse::<u64>().ok());
        let (start, end) = (line_of(start).ok_or_else(bad)?, line_of(end).ok_or_else(bad)?);
        let start = super::line_number(start).map_err(|m| (n, m))?;
        let end = super::line_number(end).map_err(|m| (n, m))?;
        if end < start {
            return Err((n, format!("block ends (line {end}) before it starts (line {start})")));
        }
        files.entry(file).or_default().push((start, end, count, n));
    }
    // How many lines the report covers in all (overlapping blocks counted once), before any
    // line is expanded.
    let mut total: u64 = 0;
    for blocks in files.values_mut() {
        blocks.sort_unstable();
        let mut covered_to = 0u32;
        for &(start, end, _, n) in blocks.iter() {
            let from = start.max(covered_to.saturating_add(1));
            if end >= from {
                total += u64::from(end - from) + 1;
                covered_to = end;
            }
            if total > super::MAX_REPORT_LINES {
                return Err((
                    n,
                    format!("the blocks cover more than {} lines in all: not a real profile", super::MAX_REPORT_LINES),
                ));
            }
        }
    }
    let mut report = Report::default();
    for (file, blocks) in files {
        let mut hits = Vec::new();
        sweep(&blocks, &mut hits);
        report.add_lines(file, &mut hits);
    }
    Ok(report)
}

/// Each line the sorted `blocks` cover, with the highest count among the blocks covering it.
fn sweep(blocks: &[Block], out: &mut Vec<(u32, u64)>) {
    // (count, last line) of the blocks started so far; those that ended are dropped lazily.
    let mut open: BinaryHeap<(u64, u32)> = BinaryHeap::new();
    let mut next = 0;
    let mut line = 0u32;
    loop {
        if open.is_empty() {
            let Some(&(start, ..)) = blocks.get(next) else { break };
            line = line.max(start);
        }
        while let Some(&(_, end, count, _)) = blocks.get(next).filter(|b| b.0 <= line) {
            open.push((count, end));
            next += 1;
        }
        while open.peek().is_some_and(|&(_, end)| end < line) {
            open.pop();
        }
        if let Some(&(count, _)) = open.peek() {
            out.push((line, count));
            let Some(following) = line.checked_add(1) else { break };
            line = following;
        }
    }
}
