//! The secret scanner: built-in rules for well-known token formats (which block) and a generic
//! high-entropy assignment rule (which warns), plus rules and allowlists from a repository's
//! `.gitleaks.toml`. Inline `gitleaks:allow` / `orchestrate:allow-secret` markers and a baseline
//! of known findings (by content hash, not line number) suppress findings. Findings are only
//! ever shown redacted. Pure: text in, findings out.

mod gitleaks;
pub mod rules;

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexBuilder};
use serde::Serialize;

pub use rules::RuleSpec;

/// From this many bytes scanned, a scanner uses the keyword DFA.
const DFA_FROM: usize = 256 * 1024;

fn keyword_automaton(patterns: &[String], kind: AhoCorasickKind) -> Result<AhoCorasick, Error> {
    AhoCorasickBuilder::new()
        .kind(Some(kind))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(patterns)
        .map_err(|e| Error::Config { file: "rules".into(), message: e.to_string() })
}

/// Markers that allow a line.
const ALLOW_MARKERS: &[&str] = &["gitleaks:allow", "orchestrate:allow-secret"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: rule `{rule}`: its regex cannot be used: {message}")]
    Regex { file: String, rule: String, message: String },
    #[error("{file}: {message}")]
    Config { file: String, message: String },
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub rule: String,
    pub description: String,
    pub path: String,
    pub line: u32,
    /// The secret with all but its first four characters hidden.
    pub redacted: String,
    /// Hash of the rule and the secret: what a baseline lists.
    pub fingerprint: String,
    /// Found by a rule that only warns.
    pub warning: bool,
}

struct Rule {
    spec: RuleSpec,
    /// Built-in rules compile on first use (a clean diff compiles none); rules from a
    /// configuration compile up front, so their errors are reported.
    re: std::sync::OnceLock<Regex>,
    path: Option<Regex>,
    allow: Vec<Regex>,
}

pub struct Scanner {
    rules: Vec<Rule>,
    /// The keywords as a contiguous NFA: it builds in a fraction of a DFA's time, which would
    /// be most of a commit-msg hook's run. Once a scanner has read [`DFA_FROM`] bytes it
    /// switches to a DFA, built then: it scans about twice as fast.
    keywords: AhoCorasick,
    keywords_dfa: std::sync::OnceLock<AhoCorasick>,
    patterns: Vec<String>,
    /// Bytes scanned so far: a scanner that has read this much is doing bulk work.
    scanned: std::sync::atomic::AtomicUsize,
    /// For each keyword, the rules it starts.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: run on every line.
    always: Vec<usize>,
    allow_paths: Vec<Regex>,
    allow_regexes: Vec<Regex>,
    stopwords: Vec<String>,
    baseline: HashSet<String>,
}

fn compile(file: &str, rule: &str, pattern: &str) -> Result<Regex, Error> {
    RegexBuilder::new(pattern).size_limit(32 << 20).build().map_err(|e| Error::Regex {
        file: file.into(),
        rule: rule.into(),
        message: e.to_string().lines().last().unwrap_or_default().trim().to_string(),
    })
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let len = s.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|&c| f64::from(c) / len).map(|p| -p * p.log2()).sum()
}

/// Values that look like secrets but are not: placeholders, variables, hashes, UUIDs.
fn is_placeholder(secret: &str) -> bool {
    const WORDS: &[&str] = &[
        "xxxx",
        "example",
        "changeme",
        "change_me",
        "your_",
        "your-",
        "placeholder",
        "dummy",
        "redacted",
        "****",
        "<",
        "${",
        "{{",
        "%s",
        "password",
        "secret",
        "sample",
        "fake",
    ];
    let lower = secret.to_ascii_lowercase();
    let b = secret.as_bytes();
    WORDS.iter().any(|w| lower.contains(w))
        || secret.starts_with('$')
        || b.windows(2).all(|w| w[0] == w[1])
        || ((b.len() == 32 || b.len() == 40 || b.len() == 64) && b.iter().all(u8::is_ascii_hexdigit))
        || (b.len() == 36
            && b.iter()
                .enumerate()
                .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() }))
}

fn redact(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    format!("{shown}…({} chars)", secret.chars().count())
}

impl Scanner {
    /// The built-in rules, plus a repository's gitleaks configuration (`file` names it in
    /// errors), plus a baseline of fingerprints to ignore.
    pub fn new(gitleaks: Option<(&str, &str)>, baseline: HashSet<String>) -> Result<Self, Error> {
        let mut specs = rules::builtin();
        let mut allow_paths = Vec::new();
        let mut allow_regexes = Vec::new();
        let mut stopwords = Vec::new();
        if let Some((file, text)) = gitleaks {
            let cfg = gitleaks::parse(file, text)?;
            specs.retain(|r| !cfg.disabled.contains(&r.id));
            specs.extend(cfg.rules);
            for p in &cfg.allow_paths {
                allow_paths.push(compile(file, "[allowlist] paths", p)?);
            }
            for r in &cfg.allow_regexes {
                allow_regexes.push(compile(file, "[allowlist] regexes", r)?);
            }
            stopwords = cfg.stopwords;
        }
        let builtin_count = rules::builtin().len();
        let mut rules = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (i, spec) in specs.into_iter().enumerate() {
            let file = if i < builtin_count { "built-in rules" } else { gitleaks.map_or("", |g| g.0) };
            let re = std::sync::OnceLock::new();
            if i >= builtin_count {
                let _ = re.set(compile(file, &spec.id, &spec.regex)?);
            }
            let path = spec.path.as_deref().map(|p| compile(file, &spec.id, p)).transpose()?;
            let allow = spec.allow_regexes.iter().map(|r| compile(file, &spec.id, r)).collect::<Result<_, _>>()?;
            if spec.keywords.is_empty() {
                always.push(i);
            }
            for k in &spec.keywords {
                if let Some(at) = patterns.iter().position(|p| p == k) {
                    keyword_rules[at].push(i);
                } else {
                    patterns.push(k.clone());
                    keyword_rules.push(vec![i]);
                }
            }
            rules.push(Rule { spec, re, path, allow });
        }
        let keywords = keyword_automaton(&patterns, AhoCorasickKind::ContiguousNFA)?;
        let keywords_dfa = std::sync::OnceLock::new();
        Ok(Self {
            rules,
            keywords,
            keywords_dfa,
            patterns,
            scanned: std::sync::atomic::AtomicUsize::new(0),
            keyword_rules,
            always,
            allow_paths,
            allow_regexes,
            stopwords,
            baseline,
        })
    }

    /// Whether a path is allowed as a whole (gitleaks `[allowlist] paths`).
    pub fn path_allowed(&self, path: &str) -> bool {
        self.allow_paths.iter().any(|r| r.is_match(path))
    }

    /// Scan `text` (the contents of `path`, or added lines of it); `first_line` numbers its
    /// first line. Findings are appended to `out`.
    pub fn scan(&self, path: &str, first_line: u32, text: &str, out: &mut Vec<Finding>) {
        if self.path_allowed(path) {
            return;
        }
        let bytes = text.as_bytes();
        let mut line_start = 0usize;
        let mut line_no = first_line;
        let mut candidates: Vec<usize> = Vec::new();
        let mut current: Option<(usize, usize)> = None;
        let flush = |range: (usize, usize), line: u32, cands: &mut Vec<usize>, out: &mut Vec<Finding>| {
            cands.extend(&self.always);
            cands.sort_unstable();
            cands.dedup();
            self.scan_line(path, line, &text[range.0..range.1], cands, out);
            cands.clear();
        };
        let seen = self.scanned.fetch_add(bytes.len(), std::sync::atomic::Ordering::Relaxed) + bytes.len();
        let automaton = if seen >= DFA_FROM {
            self.keywords_dfa.get_or_init(|| {
                keyword_automaton(&self.patterns, AhoCorasickKind::DFA).unwrap_or_else(|_| self.keywords.clone())
            })
        } else {
            &self.keywords
        };
        for m in automaton.find_iter(bytes) {
            if let Some((s, e)) = current {
                if m.start() < e {
                    candidates.extend(&self.keyword_rules[m.pattern().as_usize()]);
                    continue;
                }
                flush((s, e), line_no, &mut candidates, out);
            }
            // Move to the line of this match, counting the newlines on the way.
            let start = memchr::memrchr(b'\n', &bytes[..m.start()]).map_or(0, |p| p + 1);
            let lines_between = memchr::memchr_iter(b'\n', &bytes[line_start..start]).count();
            line_no += u32::try_from(lines_between).unwrap_or(u32::MAX);
            line_start = start;
            let end = memchr::memchr(b'\n', &bytes[m.start()..]).map_or(bytes.len(), |p| m.start() + p);
            current = Some((start, end));
            candidates.extend(&self.keyword_rules[m.pattern().as_usize()]);
        }
        if let Some(range) = current {
            flush(range, line_no, &mut candidates, out);
        }
        if !self.always.is_empty() {
            // Rules without keywords see every line that had no keyword.
            for (n, line) in (first_line..).zip(text.split('\n')) {
                let mut cands = self.always.clone();
                let mut found = Vec::new();
                self.scan_line(path, n, line, &mut cands, &mut found);
                for f in found {
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
            }
        }
    }

    fn scan_line(&self, path: &str, line_no: u32, line: &str, candidates: &mut [usize], out: &mut Vec<Finding>) {
        if ALLOW_MARKERS.iter().any(|m| line.contains(m)) {
            return;
        }
        for &i in candidates.iter() {
            let rule = &self.rules[i];
            if rule.path.as_ref().is_some_and(|p| !p.is_match(path)) {
                continue;
            }
            let re = rule.re.get_or_init(|| {
                compile("built-in rules", &rule.spec.id, &rule.spec.regex)
                    .expect("the built-in rules compile (a unit test compiles each)")
            });
            for caps in re.captures_iter(line) {
                let Some(m) = caps.get(rule.spec.secret_group).or_else(|| caps.get(0)) else { continue };
                let secret = m.as_str();
                // Masked or templated values are never secrets, whatever rule matched them.
                let lower = secret.to_ascii_lowercase();
                if lower.contains("xxxx") || lower.contains("example") || secret.contains("****") {
                    continue;
                }
                if rule.spec.warn_only && is_placeholder(secret) {
                    continue;
                }
                if rule.spec.id == "database-url-password" && (is_placeholder(secret) || secret.starts_with('%')) {
                    continue;
                }
                if rule.spec.entropy.is_some_and(|min| entropy(secret) < min) {
                    continue;
                }
                let lower = secret.to_ascii_lowercase();
                if rule.allow.iter().chain(&self.allow_regexes).any(|r| r.is_match(secret))
                    || rule.spec.stopwords.iter().chain(&self.stopwords).any(|w| lower.contains(w.as_str()))
                {
                    continue;
                }
                let fingerprint = crate::git::blob_id(format!("{}\0{secret}", rule.spec.id).as_bytes())
                    .to_hex_with_len(16)
                    .to_string();
                if self.baseline.contains(&fingerprint) {
                    continue;
                }
                out.push(Finding {
                    rule: rule.spec.id.clone(),
                    description: rule.spec.description.clone(),
                    path: path.into(),
                    line: line_no,
                    redacted: redact(secret),
                    fingerprint,
                    warning: rule.spec.warn_only,
                });
            }
        }
    }

    /// Replace every secret the rules find in `text` by its redaction (for output kept in notes).
    pub fn redact_text(&self, text: &str) -> String {
        let mut findings = Vec::new();
        self.scan("", 1, text, &mut findings);
        if findings.is_empty() {
            return text.to_string();
        }
        let mut out = text.to_string();
        for rule in &self.rules {
            let Some(re) = rule.re.get() else { continue };
            out = re
                .replace_all(&out, |caps: &regex::Captures| {
                    let whole = caps.get(0).map_or("", |m| m.as_str());
                    let secret = caps.get(rule.spec.secret_group).map_or(whole, |m| m.as_str());
                    if (rule.spec.warn_only && is_placeholder(secret))
                        || rule.spec.entropy.is_some_and(|min| entropy(secret) < min)
                    {
                        whole.to_string()
                    } else {
                        whole.replace(secret, &redact(secret))
                    }
                })
                .into_owned();
        }
        out
    }
}

#[cfg(test)]
mod tests;

/// The built-in rules alone, compiled once: for redacting output and guarding what is written
/// to notes.
pub fn builtin() -> Option<&'static Scanner> {
    static SCANNER: std::sync::OnceLock<Option<Scanner>> = std::sync::OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(None, HashSet::new()).ok()).as_ref()
}

/// The largest file [`scan_paths`] reads.
pub const MAX_SCAN_FILE: u64 = 64 << 20;

/// What [`scan_paths`] found, read, and could not read.
#[derive(Debug, Default)]
pub struct Scanned {
    pub findings: Vec<Finding>,
    /// How many bytes were scanned.
    pub bytes: u64,
    /// Every path that was not scanned, with why; none is left out silently.
    pub skipped: Vec<Skipped>,
}

/// A path [`scan_paths`] did not scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
    /// The path was given as is, not found by walking a directory.
    pub named: bool,
}

/// Scan files and directories (recursively, skipping `.git`). Binary files are scanned too, as
/// their printable text ([`crate::git::binary_text`]). Symbolic links (never followed), FIFOs,
/// sockets, devices, files over [`MAX_SCAN_FILE`] and unreadable paths are not scanned: each is
/// listed in [`Scanned::skipped`] with the reason.
pub fn scan_paths(scanner: &Scanner, paths: &[std::path::PathBuf]) -> Scanned {
    fn skip(out: &mut Scanned, shown: &str, named: bool, reason: String) {
        out.skipped.push(Skipped { path: shown.to_string(), reason, named });
    }
    fn walk(scanner: &Scanner, path: &std::path::Path, shown: &str, named: bool, out: &mut Scanned) {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) => return skip(out, shown, named, format!("cannot read it: {e}")),
        };
        let kind = meta.file_type();
        if kind.is_dir() {
            let entries = match std::fs::read_dir(path) {
                Ok(entries) => entries,
                Err(e) => return skip(out, shown, named, format!("cannot list the directory: {e}")),
            };
            let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
            entries.sort_by_key(std::fs::DirEntry::file_name);
            for entry in entries {
                let name = entry.file_name();
                if name == ".git" {
                    continue;
                }
                let child = if shown.is_empty() || shown == "." {
                    name.to_string_lossy().into_owned()
                } else {
                    format!("{shown}/{}", name.to_string_lossy())
                };
                walk(scanner, &entry.path(), &child, false, out);
            }
        } else if kind.is_symlink() {
            skip(out, shown, named, "a symbolic link: links are not followed (scan its target)".into());
        } else if !kind.is_file() {
            skip(out, shown, named, "not a regular file (a FIFO, socket or device): it is never read".into());
        } else if meta.len() > MAX_SCAN_FILE {
            let reason = format!("{} bytes, over the {} MiB a scan reads", meta.len(), MAX_SCAN_FILE >> 20);
            skip(out, shown, named, reason);
        } else {
            match std::fs::read(path) {
                Ok(data) => {
                    out.bytes += data.len() as u64;
                    let text = if crate::git::is_binary(&data) {
                        crate::git::binary_text(&data)
                    } else {
                        String::from_utf8_lossy(&data).into_owned()
                    };
                    scanner.scan(shown, 1, &text, &mut out.findings);
                }
                Err(e) => skip(out, shown, named, format!("cannot read it: {e}")),
            }
        }
    }
    let mut out = Scanned::default();
    for p in paths {
        walk(scanner, p, &p.to_string_lossy(), true, &mut out);
    }
    out
}
