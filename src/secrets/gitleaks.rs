//! A repository's `.gitleaks.toml`: its rules (regex, secretGroup, entropy, keywords, path,
//! per-rule allowlists) and its global allowlist (paths, regexes, stopwords), so teams that
//! already tuned gitleaks keep their tuning. Regexes Rust's `regex` cannot compile (lookaround)
//! are errors naming the rule.

use serde::Deserialize;

use super::{Error, RuleSpec};

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    rules: Vec<Rule>,
    allowlist: Option<Allow>,
    #[serde(default)]
    allowlists: Vec<Allow>,
    extend: Option<Extend>,
}

#[derive(Deserialize)]
struct Extend {
    #[serde(default, rename = "disabledRules")]
    disabled_rules: Vec<String>,
}

#[derive(Deserialize)]
struct Rule {
    id: String,
    description: Option<String>,
    regex: Option<String>,
    #[serde(rename = "secretGroup")]
    secret_group: Option<usize>,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    path: Option<String>,
    allowlist: Option<Allow>,
    #[serde(default)]
    allowlists: Vec<Allow>,
}

#[derive(Deserialize, Default)]
struct Allow {
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
}

pub struct Config {
    pub rules: Vec<RuleSpec>,
    pub disabled: Vec<String>,
    pub allow_paths: Vec<String>,
    pub allow_regexes: Vec<String>,
    pub stopwords: Vec<String>,
}

pub fn parse(file: &str, text: &str) -> Result<Config, Error> {
    let doc: Doc = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        Error::Config { file: format!("{file}:{line}"), message: e.message().trim().to_string() }
    })?;
    let mut cfg = Config {
        rules: Vec::new(),
        disabled: doc.extend.map(|e| e.disabled_rules).unwrap_or_default(),
        allow_paths: Vec::new(),
        allow_regexes: Vec::new(),
        stopwords: Vec::new(),
    };
    for a in doc.allowlist.into_iter().chain(doc.allowlists) {
        cfg.allow_paths.extend(a.paths);
        cfg.allow_regexes.extend(a.regexes);
        cfg.stopwords.extend(a.stopwords.into_iter().map(|w| w.to_ascii_lowercase()));
    }
    for r in doc.rules {
        // Path-only rules flag whole files by name; this scanner reads content, so they are skipped.
        let Some(regex) = r.regex else { continue };
        let mut allow_regexes = Vec::new();
        let mut stopwords = Vec::new();
        for a in r.allowlist.into_iter().chain(r.allowlists) {
            allow_regexes.extend(a.regexes);
            stopwords.extend(a.stopwords.into_iter().map(|w| w.to_ascii_lowercase()));
        }
        cfg.rules.push(RuleSpec {
            description: r.description.unwrap_or_else(|| r.id.clone()),
            id: r.id,
            regex,
            keywords: r.keywords.into_iter().map(|k| k.to_ascii_lowercase()).collect(),
            secret_group: r.secret_group.unwrap_or(0),
            entropy: r.entropy,
            warn_only: false,
            path: r.path,
            allow_regexes,
            stopwords,
            check: super::Check::None,
            next_line: false,
        });
    }
    Ok(cfg)
}
