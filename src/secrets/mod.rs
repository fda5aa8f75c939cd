//! The secret scanner: built-in rules for well-known token formats, JSON Web Tokens and
//! high-entropy values assigned to secret-like names (all of which block), plus rules and allowlists from a repository's
//! `.gitleaks.toml`. Inline `gitleaks:allow` / `orchestrate:allow-secret` markers and a baseline
//! of known findings (by content hash, not line number) suppress findings. Findings are only
//! ever shown redacted. Pure: text in, findings out.

mod gitleaks;
mod keywords;
pub mod rules;

use std::collections::HashSet;

use regex::{Regex, RegexBuilder};
use serde::Serialize;

pub use rules::{Check, RuleSpec};

/// Markers that allow a line.
const ALLOW_MARKERS: &[&str] = &["gitleaks:allow", "orchestrate:allow-secret"];

/// Whether a line carries an allow marker (both contain `:allow`, looked for first).
fn allowed(line: &str) -> bool {
    memchr::memmem::find(line.as_bytes(), b":allow").is_some() && ALLOW_MARKERS.iter().any(|m| line.contains(m))
}

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
    /// The rules' keywords, all found in one pass.
    keywords: keywords::Keywords,
    /// For each match state of `keywords`, the rules its keywords start.
    match_rules: Vec<Vec<usize>>,
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
    let b = secret.as_bytes();
    is_placeholder_text(secret)
        || ((b.len() == 32 || b.len() == 40 || b.len() == 64) && b.iter().all(u8::is_ascii_hexdigit))
        || is_uuid(secret)
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// Placeholder text: example words, templates, variables, one repeated character, runs of the
/// alphabet or of digits, a group repeated (`1234-1234-1234`).
fn is_placeholder_text(secret: &str) -> bool {
    const RUNS: &[&str] = &["abcdefgh", "123456789", "qwerty"];
    let lower = secret.to_ascii_lowercase();
    is_mask(secret) || RUNS.iter().any(|w| lower.contains(w)) || repeats_a_group(secret.as_bytes())
}

/// `n` letters of the alphabet in a row (`mnopqrst`): typed, not generated.
fn has_alphabet_run(value: &str, n: usize) -> bool {
    let b = value.to_ascii_lowercase().into_bytes();
    let mut run = 1;
    for w in b.windows(2) {
        run = if w[0].is_ascii_lowercase() && w[1] == w[0] + 1 { run + 1 } else { 1 };
        if run >= n {
            return true;
        }
    }
    false
}

/// Some four characters occur three times or more (not in random text of this length).
fn repeats_a_group(b: &[u8]) -> bool {
    b.len() <= 200 && b.windows(4).enumerate().any(|(i, w)| b[i + 1..].windows(4).filter(|x| *x == w).count() >= 2)
}

/// Text that says it is not a value: example words, templates, variables, a masked or elided
/// value, one repeated character.
fn is_mask(secret: &str) -> bool {
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
        "...",
    ];
    let lower = secret.to_ascii_lowercase();
    let b = secret.as_bytes();
    WORDS.iter().any(|w| lower.contains(w))
        || secret.starts_with('$')
        || (secret.len() > 2 && secret.starts_with('%') && secret.ends_with('%'))
        || b.windows(2).all(|w| w[0] == w[1])
}

/// The parts of a name: split at punctuation and at lower-to-upper case changes, lowercased
/// (`MY_apiToken2` → `my`, `api`, `token2`).
fn name_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// Name parts that say a value is not a secret: what it identifies, where it is, its shape, or
/// that it is public.
const NOT_SECRET_PARTS: &[&str] = &[
    "id",
    "ids",
    "uuid",
    "guid",
    "name",
    "names",
    "url",
    "uri",
    "urls",
    "endpoint",
    "host",
    "hostname",
    "domain",
    "file",
    "filename",
    "path",
    "dir",
    "version",
    "type",
    "types",
    "size",
    "length",
    "len",
    "count",
    "event",
    "hash",
    "sha",
    "sha1",
    "sha256",
    "md5",
    "checksum",
    "chksum",
    "digest",
    "rev",
    "srcrev",
    "etag",
    "integrity",
    "fingerprint",
    "public",
    "pub",
    "primary",
    "foreign",
    "schema",
    "sequence",
    "bucket",
    "keystore",
    "keytab",
    "keyword",
    "keywords",
    "keyframe",
    "format",
    "algorithm",
    "index",
    "field",
    "label",
    "prefix",
    "suffix",
    "mode",
    "policy",
    "ttl",
    "timeout",
    "expiry",
    "expires",
    "header",
    "param",
    "placeholder",
    "region",
    "username",
    "email",
    "login",
    "selector",
    "pressed",
    "mapping",
    "chars",
    "author",
    "enabled",
    "required",
    "min",
    "max",
    "location",
    "store",
    "csrf",
    "xsrf",
    "non",
    "invalid",
    "wrong",
    "bad",
    "fake",
    "dummy",
    "mock",
    "example",
    "sample",
    "pair",
    "signature",
    "signatures",
];

/// Name parts that make a name a provider key's without saying what the value is, and yet say
/// it is not the key.
const NOT_PROVIDER_PARTS: &[&str] = &[
    "url", "uri", "urls", "endpoint", "host", "hostname", "domain", "file", "filename", "path", "dir", "version",
    "region", "name", "username", "user", "email", "handle", "type", "format", "channel", "project", "org", "site",
    "page", "link", "image", "icon", "logo", "label", "title", "enabled", "plugin", "package", "module",
];

fn is_secret_part(part: &str) -> bool {
    let part = part.trim_end_matches(|c: char| c.is_ascii_digit());
    matches!(
        part,
        "key"
            | "keys"
            | "token"
            | "tokens"
            | "secret"
            | "secrets"
            | "password"
            | "passwords"
            | "passwd"
            | "pwd"
            | "pass"
            | "passphrase"
            | "credential"
            | "credentials"
            | "creds"
            | "cred"
            | "auth"
            | "oauth"
            | "api"
            | "access"
            | "jwt"
            | "bearer"
    ) || ["apikey", "secretkey", "accesskey", "privatekey", "authkey", "token", "secret", "password", "passwd"]
        .iter()
        .any(|w| part.len() > w.len() && part.ends_with(w))
}

/// Whether a value reads as words (`refreshTokenFromServer2`), not as random characters: at
/// most two digits, each letter run cased as a word is (`token`, `Token`, `TOKEN`, `HTTPServer`), and runs of
/// four or more letters, a third of them vowels (a fifth in random letters), make up half of it.
fn is_wordy(value: &str) -> bool {
    if value.bytes().filter(u8::is_ascii_digit).count() > 2 {
        return false;
    }
    let mut runs: Vec<&str> = Vec::new();
    for letters in value.split(|c: char| !c.is_ascii_alphabetic()) {
        let b = letters.as_bytes();
        let mut start = 0;
        for i in 1..b.len() {
            if b[i - 1].is_ascii_lowercase() && b[i].is_ascii_uppercase() {
                runs.push(&letters[start..i]);
                start = i;
            }
        }
        runs.push(&letters[start..]);
    }
    // `token`, `TOKEN`, `Token`, and an acronym before a word (`HTTPServer`, `APIOrganization`).
    let cased_as_word = |r: &&str| {
        let upper = r.bytes().take_while(u8::is_ascii_uppercase).count();
        upper == r.len() || (upper <= 4 && r.bytes().skip(upper).all(|c| c.is_ascii_lowercase()))
    };
    if !runs.iter().filter(|r| r.len() >= 3).all(cased_as_word) {
        return false;
    }
    let long: Vec<&&str> = runs.iter().filter(|r| r.len() >= 4).collect();
    let covered: usize = long.iter().map(|r| r.len()).sum();
    let vowels = long.iter().flat_map(|r| r.bytes()).filter(|c| b"aeiouAEIOU".contains(c)).count();
    !long.is_empty() && covered * 2 >= value.len() && vowels * 10 >= covered * 3
}

/// `a.b.c` with short identifier segments that read as words: a reference in code
/// (`X25519.secret_length`).
fn is_code_reference(value: &str) -> bool {
    let segments: Vec<&str> = value.split('.').collect();
    segments.len() > 1
        && segments.iter().all(|s| {
            s.len() <= 32
                && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                && (is_wordy(s) || is_short_versioned(s))
        })
}

/// A short name and a number: `X25519`, `Ed25519`, `SHA256`.
fn is_short_versioned(s: &str) -> bool {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    (1..=4).contains(&letters)
        && s.len() > letters
        && s.len() - letters <= 6
        && s.bytes().skip(letters).all(|c| c.is_ascii_digit())
}

/// A version number (`0.11.2`, `rc0.15.0_2023`): digits, a dot, digits, in short segments.
fn is_version(value: &str) -> bool {
    let b = value.as_bytes();
    b.windows(3).any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
        && value.split('.').all(|s| s.len() <= 20)
}

/// Whether `name` carries `provider` as a word of its own (`MAILGUN_KEY`, `mailgunToken`,
/// `new_relic_key`), not inside another word (`ReactNativeCameraKit` is no `meraki`).
fn names_provider(parts: &[String], provider: &str) -> bool {
    let provider: String = provider.chars().filter(char::is_ascii_alphanumeric).collect();
    (0..parts.len()).any(|i| {
        let mut joined = String::new();
        parts[i..].iter().any(|p| {
            joined.push_str(p);
            joined == provider
                || (joined.len() > provider.len() && joined.starts_with(&provider) && joined.len() == p.len())
        })
    })
}

/// A file name, a path or a host name: ends in a dot and a short extension.
fn is_file_or_host(value: &str) -> bool {
    let Some((stem, ext)) = value.rsplit_once('.') else { return false };
    !stem.is_empty()
        && (2..=4).contains(&ext.len())
        && ext.starts_with(|c: char| c.is_ascii_alphabetic())
        && ext.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// A value assigned to `name` passes as a secret: see [`Check::Assignment`]. `between` is
/// the text between the name and the value (the operator).
fn assignment_passes(name: &str, between: &str, value: &str, provider: bool) -> bool {
    // `>` assigns only in an XML element: `<apiToken>value`.
    if between.contains('>') && !between.contains("=>") && !name.starts_with('<') {
        return false;
    }
    let parts = name_parts(name);
    // The regexes leave lengths open (a bounded repetition would multiply their automata).
    if value.len() > if provider { 300 } else { 150 } || is_file_or_host(value) || (!provider && is_wordy(value)) {
        return false;
    }
    // A provider whose keys have one documented shape: a value of another shape assigned to
    // its name is not its key (`meraki_token = <67 characters>`), for either rule.
    let shapes: Vec<_> = rules::PROVIDER_SHAPES.iter().filter(|(p, _)| names_provider(&parts, p)).collect();
    if !shapes.is_empty() && !shapes.iter().any(|(_, fits)| fits(value)) {
        return false;
    }
    if provider {
        // A provider's format, even a made-up one (`12345678-ABCD-…`), is reported: fixtures
        // take an allow marker.
        let names_secret = parts.iter().any(|p| is_secret_part(p) || p == "client");
        let id_only = parts.iter().any(|p| p == "id") && !names_secret;
        return !is_mask(value)
            && !has_alphabet_run(value, 8)
            && !id_only
            && rules::PROVIDERS.iter().any(|p| names_provider(&parts, p))
            && !parts.iter().any(|p| NOT_PROVIDER_PARTS.contains(&p.as_str()))
            && value.bytes().any(|c| c.is_ascii_digit());
    }
    let b = value.as_bytes();
    if is_placeholder_text(value)
        || is_version(value)
        || ((b.len() == 32 || b.len() == 40) && b.iter().all(u8::is_ascii_hexdigit))
    {
        return false;
    }
    let has_digit = value.bytes().any(|c| c.is_ascii_digit());
    let mixed_case = value.bytes().any(|c| c.is_ascii_uppercase()) && value.bytes().any(|c| c.is_ascii_lowercase());
    parts.iter().any(|p| is_secret_part(p))
        && !parts.iter().any(|p| NOT_SECRET_PARTS.contains(&p.as_str()))
        && !is_uuid(value)
        && !is_code_reference(value)
        && (has_digit || (mixed_case && value.len() >= 16))
}

/// Line numbers in a text, counted only when a finding needs one (in order of position).
struct Lines<'a> {
    bytes: &'a [u8],
    /// Newlines are counted up to here.
    upto: usize,
    /// The number of the line at `upto`.
    number: u32,
}

impl Lines<'_> {
    /// The number of the line `pos` is on (`pos` not before the last one asked for).
    fn at(&mut self, pos: usize) -> u32 {
        let newlines = memchr::memchr_iter(b'\n', &self.bytes[self.upto..pos]).count();
        self.number = self.number.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        self.upto = pos;
        self.number
    }
}

/// The length of the longest value an assignment regex of [`rules::assignment_regex`] could
/// take in `hay`: a run of value characters after an operator's last character (`=`, `:`, `,`,
/// `>`) and blanks, a line break, a quote, and followed by what ends a value. Never shorter than
/// what the regex matches, so a rule whose minimum is longer cannot match.
fn longest_assigned_value(hay: &[u8]) -> usize {
    // Bytes of a value: `[A-Za-z0-9_.=+/~%-]`.
    const VALUE: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0u8;
        loop {
            t[b as usize] =
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'=' | b'+' | b'/' | b'~' | b'%' | b'-');
            if b == u8::MAX {
                break t;
            }
            b += 1;
        }
    };
    let value = |c: u8| VALUE[usize::from(c)];
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut longest = 0;
    let mut i = 0;
    while i < hay.len() {
        if !matches!(hay[i], b'=' | b':' | b',' | b'>') {
            i += 1;
            continue;
        }
        // `[ \t]*\r?\n?[ \t]*[`'"]?`
        let mut j = i + 1;
        while j < hay.len() && blank(hay[j]) {
            j += 1;
        }
        if hay.get(j) == Some(&b'\r') {
            j += 1;
        }
        if hay.get(j) == Some(&b'\n') {
            j += 1;
        }
        while j < hay.len() && blank(hay[j]) {
            j += 1;
        }
        if matches!(hay.get(j), Some(b'`' | b'\'' | b'"')) {
            j += 1;
        }
        let mut k = j;
        while k < hay.len() && value(hay[k]) {
            k += 1;
        }
        // What may follow a value: a quote, blank, `;`, `,`, `)`, `<`, `&`, `\n`-style escapes, the
        // end, or any non-ASCII character (`\s` is Unicode).
        let ends = hay.get(k).is_none_or(|&c| !c.is_ascii() || b"`'\";,)<&\\ \t\n\r\x0b\x0c".contains(&c));
        if ends {
            longest = longest.max(k - j);
        }
        // An `=` inside the value starts a shorter one with the same end; its last byte may be
        // an operator followed by blanks (`:=` is `:` and `=`).
        i = k.saturating_sub(1).max(i + 1);
    }
    longest
}

/// A PKCS #12 key store by its file name (`.p12`, `.pfx`).
fn is_pkcs12(path: &str) -> bool {
    let path = std::path::Path::new(path);
    path.file_stem().is_some_and(|s| !s.is_empty() && !s.to_string_lossy().starts_with('.'))
        && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"))
}

/// Whether `token` is a JSON Web Token: its header is base64url of a JSON object with `alg`.
fn is_jwt(token: &str) -> bool {
    let header = token.split('.').next().unwrap_or_default().trim_end_matches('=');
    let Some(bytes) = base64url(header) else { return false };
    let text = String::from_utf8_lossy(&bytes);
    text.trim_start().starts_with('{') && text.contains("\"alg\"")
}

/// Decodes unpadded base64url (or base64); `None` on any other character.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or(0));
        }
    }
    Some(out)
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
                // A built-in keyword's first eight characters tell as much, and keep the automaton
                // small enough for the cache (a line with the whole keyword has them).
                let k = if i < builtin_count { k.get(..8).unwrap_or(k) } else { k.as_str() };
                if let Some(at) = patterns.iter().position(|p| p == k) {
                    keyword_rules[at].push(i);
                } else {
                    patterns.push(k.to_string());
                    keyword_rules.push(vec![i]);
                }
            }
            rules.push(Rule { spec, re, path, allow });
        }
        // An empty keyword is on every line.
        for (k, rules) in patterns.iter().zip(&keyword_rules) {
            if k.is_empty() {
                always.extend(rules);
            }
        }
        always.sort_unstable();
        always.dedup();
        let keywords = keywords::Keywords::new(&patterns);
        // Every keyword that ends at a place (`age-secret-key-1` and `key`) starts its rules.
        let match_rules = (0..keywords.match_states())
            .map(|m| {
                let mut r: Vec<usize> =
                    keywords.ends(m).iter().flat_map(|&k| keyword_rules[k].iter().copied()).collect();
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect();
        Ok(Self { rules, keywords, match_rules, always, allow_paths, allow_regexes, stopwords, baseline })
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
        if first_line == 1 && is_pkcs12(path) {
            self.report(path, 1, "pkcs12-file", "PKCS #12 key store (holds private keys)", path, out);
        }
        if memchr::memmem::find(text.as_bytes(), b"kind:").is_some() {
            self.scan_kubernetes(path, first_line, text, out);
        }
        let bytes = text.as_bytes();
        // An allow marker is looked for on a line only when the text has one somewhere.
        let markers = memchr::memmem::find(bytes, b":allow").is_some();
        let mut line_start = 0usize;
        let mut lines = Lines { bytes, upto: 0, number: first_line };
        let mut candidates: Vec<usize> = Vec::new();
        // The line being gathered: its start and end (its newline or the end of the text).
        let mut current: Option<(usize, usize)> = None;
        self.keywords.find(bytes, |end, m| {
            // The keyword's last byte: on the line it is found on.
            let at = end - 1;
            if let Some((s, e)) = current {
                if at < e {
                    candidates.extend(&self.match_rules[m]);
                    return;
                }
                self.flush(path, text, (s, e), &mut lines, markers, &mut candidates, out);
            }
            // Move to the line of this match (its number is counted only for a finding).
            let start = memchr::memrchr(b'\n', &bytes[line_start..at]).map_or(line_start, |p| line_start + p + 1);
            line_start = start;
            let line_end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |p| at + p);
            current = Some((start, line_end));
            candidates.extend(&self.match_rules[m]);
        });
        if let Some(range) = current {
            self.flush(path, text, range, &mut lines, markers, &mut candidates, out);
        }
        if !self.always.is_empty() {
            // Rules without keywords see every line that had no keyword.
            for (n, line) in (first_line..).zip(text.split('\n')) {
                let mut cands = self.always.clone();
                let mut found = Vec::new();
                self.scan_line(path, &mut || n, line, None, markers, &mut cands, &mut found);
                for f in found {
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
            }
        }
    }

    /// Scans the line `range` of `text` with the rules its keywords started (`candidates`,
    /// emptied), and those without keywords.
    #[allow(clippy::too_many_arguments)]
    fn flush(
        &self,
        path: &str,
        text: &str,
        range: (usize, usize),
        lines: &mut Lines,
        markers: bool,
        candidates: &mut Vec<usize>,
        out: &mut Vec<Finding>,
    ) {
        candidates.extend(&self.always);
        candidates.sort_unstable();
        candidates.dedup();
        let next = (range.1 < text.len()).then(|| {
            let rest = &text[range.1 + 1..];
            &rest[..memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len())]
        });
        self.scan_line(path, &mut || lines.at(range.0), &text[range.0..range.1], next, markers, candidates, out);
        candidates.clear();
    }

    /// `markers`: whether the text has an allow marker anywhere (else no line is looked at for
    /// one).
    #[allow(clippy::too_many_arguments)]
    fn scan_line(
        &self,
        path: &str,
        line_no: &mut dyn FnMut() -> u32,
        line: &str,
        next: Option<&str>,
        markers: bool,
        candidates: &mut [usize],
        out: &mut Vec<Finding>,
    ) {
        if markers && allowed(line) {
            return;
        }
        // A line that opens something whose value may follow on the next line: an XML element
        // (`<apiToken>`) or a PEM header.
        let trimmed = line.trim_end();
        let joined = next
            .filter(|n| (trimmed.ends_with('>') || trimmed.ends_with("-----")) && !(markers && allowed(n)))
            .map(|n| format!("{line}\n{n}"));
        let mut secrets: Vec<(usize, usize)> = Vec::new();
        // The longest value after an assignment operator, in the line and joined with the next
        // (worked out once, when an assignment rule is a candidate).
        let mut values: [Option<usize>; 2] = [None, None];
        for &i in candidates.iter() {
            let rule = &self.rules[i];
            if rule.path.as_ref().is_some_and(|p| !p.is_match(path)) {
                continue;
            }
            let re = rule.re.get_or_init(|| {
                compile("built-in rules", &rule.spec.id, &rule.spec.regex)
                    .expect("the built-in rules compile (a unit test compiles each)")
            });
            let haystack = match &joined {
                Some(j) if rule.spec.next_line => j.as_str(),
                _ => line,
            };
            // An assignment needs a value that long after an operator: most lines with a secret
            // word in code have none, and are not worth the regex.
            let min_value = match rule.spec.check {
                Check::Assignment => rules::GENERIC_VALUE_MIN,
                Check::ProviderAssignment => rules::PROVIDER_VALUE_MIN,
                _ => 0,
            };
            if min_value > 0 {
                let longest = *values[usize::from(haystack.len() != line.len())]
                    .get_or_insert_with(|| longest_assigned_value(haystack.as_bytes()));
                if longest < min_value {
                    continue;
                }
            }
            // Most lines a rule runs on hold no match: telling so costs less than looking for
            // its groups.
            if !re.is_match(haystack) {
                continue;
            }
            for caps in re.captures_iter(haystack) {
                let Some(m) = caps.get(rule.spec.secret_group).or_else(|| caps.get(0)) else { continue };
                let secret = m.as_str();
                if !self.is_secret(rule, &caps, secret) {
                    continue;
                }
                // A value another rule already reported on this line is one finding.
                let assignment = matches!(rule.spec.check, Check::Assignment | Check::ProviderAssignment);
                if assignment && secrets.iter().any(|&(s, e)| s < m.end() && m.start() < e) {
                    continue;
                }
                secrets.push((m.start(), m.end()));
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
                    line: line_no() + u32::from(m.start() > line.len()),
                    redacted: redact(secret),
                    fingerprint,
                    warning: rule.spec.warn_only,
                });
            }
        }
    }

    /// A finding of a check that is not a rule's regex (file names, Kubernetes secrets).
    fn report(&self, path: &str, line: u32, rule: &str, description: &str, secret: &str, out: &mut Vec<Finding>) {
        let fingerprint = crate::git::blob_id(format!("{rule}\0{secret}").as_bytes()).to_hex_with_len(16).to_string();
        if self.baseline.contains(&fingerprint) || self.allow_regexes.iter().any(|r| r.is_match(secret)) {
            return;
        }
        out.push(Finding {
            rule: rule.into(),
            description: description.into(),
            path: path.into(),
            line,
            redacted: redact(secret),
            fingerprint,
            warning: false,
        });
    }

    /// The `data:` values of a Kubernetes `Secret` manifest (base64, at least 10 characters; a
    /// templated or empty value is not one). Each YAML document is judged on its own.
    fn scan_kubernetes(&self, path: &str, first_line: u32, text: &str, out: &mut Vec<Finding>) {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut start = 0;
        while start < lines.len() {
            let end = (start..lines.len()).find(|&i| lines[i].trim_end() == "---").unwrap_or(lines.len());
            let doc = &lines[start..end];
            let is_secret = doc.iter().any(|l| {
                let l = l.trim().to_ascii_lowercase();
                l.strip_prefix("kind:").is_some_and(|k| k.trim().trim_matches(|c| c == '"' || c == '\'') == "secret")
            });
            if is_secret {
                self.kubernetes_data(path, first_line, start, doc, out);
            }
            start = end + 1;
        }
    }

    fn kubernetes_data(&self, path: &str, first_line: u32, offset: usize, doc: &[&str], out: &mut Vec<Finding>) {
        let indent = |l: &str| l.len() - l.trim_start().len();
        let Some(at) = doc.iter().position(|l| l.trim_end().trim_start() == "data:") else { return };
        let base = indent(doc[at]);
        let mut i = at + 1;
        while i < doc.len() {
            let line = doc[i];
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                i += 1;
                continue;
            }
            if indent(line) <= base {
                break;
            }
            let mut value_at = i;
            let mut value = line.trim().split_once(':').map_or("", |(_, v)| v.trim());
            if matches!(value, "|" | ">" | "|-" | ">-") && i + 1 < doc.len() {
                value_at = i + 1;
                value = doc[i + 1].trim();
            }
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            let body = value.trim_end_matches('=');
            if ALLOW_MARKERS.iter().any(|m| line.contains(m)) {
                i += 1;
                continue;
            }
            if body.len() >= 10 && body.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/') {
                let line_no = first_line + u32::try_from(offset + value_at).unwrap_or(u32::MAX - first_line);
                self.report(path, line_no, "kubernetes-secret", "Kubernetes Secret data", value, out);
            }
            i = value_at + 1;
        }
    }

    /// Whether a match of `rule` is a secret: not a placeholder, entropy, the rule's check,
    /// allowlists and stopwords.
    fn is_secret(&self, rule: &Rule, caps: &regex::Captures, secret: &str) -> bool {
        // Cheapest first: most matches of the assignment rules are code (`key = cart.parse`).
        if rule.spec.entropy.is_some_and(|min| entropy(secret) < min) {
            return false;
        }
        // Masked or templated values are never secrets, whatever rule matched them.
        let lower = secret.to_ascii_lowercase();
        if lower.contains("xxxx")
            || lower.contains("example")
            || secret.contains("****")
            || (secret.len() > 2 && secret.starts_with('%') && secret.ends_with('%'))
        {
            return false;
        }
        let ok = match rule.spec.check {
            Check::None => true,
            Check::Jwt => is_jwt(secret),
            Check::Assignment | Check::ProviderAssignment => {
                let (Some(name), Some(value), Some(whole)) = (caps.get(1), caps.get(2), caps.get(0)) else {
                    return false;
                };
                let between = &whole.as_str()[name.end() - whole.start()..value.start() - whole.start()];
                assignment_passes(name.as_str(), between, secret, rule.spec.check == Check::ProviderAssignment)
            }
            Check::UserPassword => {
                let (user, password) = secret.rsplit_once(':').unwrap_or(("", secret));
                let unquote = |s: &str| s.trim_matches(|c| matches!(c, '"' | '\'' | '{' | '}')).to_string();
                let (user, password) = (unquote(user), unquote(password));
                password.len() >= 6
                    && password != user
                    && !password.starts_with('$')
                    && !is_mask(&password)
                    && !is_wordy(&password)
            }
        };
        if !ok || (rule.spec.warn_only && is_placeholder(secret)) {
            return false;
        }
        if rule.spec.id == "database-url-password" && (is_placeholder(secret) || secret.starts_with('%')) {
            return false;
        }
        !(rule.allow.iter().chain(&self.allow_regexes).any(|r| r.is_match(secret))
            || rule.spec.stopwords.iter().chain(&self.stopwords).any(|w| lower.contains(w.as_str())))
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
                    if self.is_secret(rule, caps, secret) {
                        whole.replace(secret, &redact(secret))
                    } else {
                        whole.to_string()
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
    /// Files and directories not walked into because git ignores them.
    pub ignored: usize,
}

/// The files a walk may enter inside a work tree: those git does not ignore, and the
/// directories that hold them. Paths are canonical.
#[derive(Debug, Default)]
pub struct Unignored {
    root: std::path::PathBuf,
    files: HashSet<std::path::PathBuf>,
    dirs: HashSet<std::path::PathBuf>,
}

impl Unignored {
    /// `root`: the work tree (canonical); `files`: the files git lists under it.
    pub fn new(root: std::path::PathBuf, files: impl IntoIterator<Item = std::path::PathBuf>) -> Self {
        let mut out = Self { root, ..Self::default() };
        for f in files {
            let mut dir = f.parent();
            while let Some(d) = dir {
                if !d.starts_with(&out.root) || !out.dirs.insert(d.to_path_buf()) {
                    break;
                }
                dir = d.parent();
            }
            out.files.insert(f);
        }
        out
    }

    /// Whether a walk skips `path` (canonical) because git ignores it.
    fn ignores(&self, path: &std::path::Path, dir: bool) -> bool {
        path.starts_with(&self.root)
            && path != self.root
            && !(if dir { &self.dirs } else { &self.files }).contains(path)
    }
}

/// A path [`scan_paths`] did not scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
    /// The path was given as is, not found by walking a directory.
    pub named: bool,
}

/// Scan files and directories (recursively, skipping `.git`, and inside a work tree what git
/// ignores, when `unignored` lists what it does not). Binary files are scanned too, as
/// their printable text ([`crate::git::binary_text`]). Symbolic links (never followed), FIFOs,
/// sockets, devices, files over [`MAX_SCAN_FILE`] and unreadable paths are not scanned: each is
/// listed in [`Scanned::skipped`] with the reason.
pub fn scan_paths(scanner: &Scanner, paths: &[std::path::PathBuf], unignored: Option<&Unignored>) -> Scanned {
    fn skip(out: &mut Scanned, shown: &str, named: bool, reason: String) {
        out.skipped.push(Skipped { path: shown.to_string(), reason, named });
    }
    struct Walk<'a> {
        scanner: &'a Scanner,
        unignored: Option<&'a Unignored>,
    }
    fn walk(
        w: &Walk,
        path: &std::path::Path,
        abs: Option<&std::path::Path>,
        shown: &str,
        named: bool,
        out: &mut Scanned,
    ) {
        let scanner = w.scanner;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) => return skip(out, shown, named, format!("cannot read it: {e}")),
        };
        let kind = meta.file_type();
        // A path named on the command line is scanned even if git ignores it.
        // git lists no FIFO, socket or device: those are reported below, not taken as ignored.
        let listable = kind.is_dir() || kind.is_file() || kind.is_symlink();
        if !named && listable && w.unignored.zip(abs).is_some_and(|(u, a)| u.ignores(a, kind.is_dir())) {
            out.ignored += 1;
            return;
        }
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
                let child_abs = abs.map(|a| a.join(&name));
                walk(w, &entry.path(), child_abs.as_deref(), &child, false, out);
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
                        // Valid UTF-8 (the usual case) is taken as is, not copied.
                        String::from_utf8(data).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                    };
                    scanner.scan(shown, 1, &text, &mut out.findings);
                }
                Err(e) => skip(out, shown, named, format!("cannot read it: {e}")),
            }
        }
    }
    let mut out = Scanned::default();
    let w = Walk { scanner, unignored };
    for p in paths {
        // Below a path that git ignores and that was named anyway, nothing is left out.
        let abs = unignored.and_then(|u| std::fs::canonicalize(p).ok().filter(|a| !u.ignores(a, a.is_dir())));
        walk(&w, p, abs.as_deref(), &p.to_string_lossy(), true, &mut out);
    }
    out
}
