//! The built-in rules: well-known token formats that block, and a generic high-entropy
//! assignment that warns. Each rule names the keywords that must occur on a line before its
//! regex runs (the prefilter that keeps scanning fast).

/// A rule as the scanner uses it, built in or from `.gitleaks.toml`.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub id: String,
    pub description: String,
    pub regex: String,
    /// Lowercase keywords; a line must contain one (case-insensitively) for the rule to run.
    pub keywords: Vec<String>,
    /// The capture group holding the secret (0: the whole match).
    pub secret_group: usize,
    /// Minimum Shannon entropy (bits per character) of the secret.
    pub entropy: Option<f64>,
    /// Findings of a warning rule do not block.
    pub warn_only: bool,
    /// Regexes for file paths this rule applies to (gitleaks `path`).
    pub path: Option<String>,
    /// Secrets matching these are not findings (per-rule allowlist).
    pub allow_regexes: Vec<String>,
    pub stopwords: Vec<String>,
}

fn rule(id: &str, description: &str, regex: &str, keywords: &[&str], group: usize) -> RuleSpec {
    RuleSpec {
        id: id.into(),
        description: description.into(),
        regex: regex.into(),
        keywords: keywords.iter().map(|k| k.to_ascii_lowercase()).collect(),
        secret_group: group,
        entropy: None,
        warn_only: false,
        path: None,
        allow_regexes: Vec::new(),
        stopwords: Vec::new(),
    }
}

pub fn builtin() -> Vec<RuleSpec> {
    let mut aws = rule(
        "aws-access-key-id",
        "AWS access key id",
        r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        &["akia", "asia", "abia", "acca"],
        1,
    );
    // Documentation placeholders (AKIAXXXXXXXXXXXXXXXX, AKIAIOSFODNN7EXAMPLE) are low-entropy.
    aws.entropy = Some(3.0);
    let mut rules = vec![
        aws,
        rule(
            "private-key",
            "Private key",
            r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
            &["-----begin"],
            0,
        ),
        rule(
            "github-token",
            "GitHub token",
            r"\b((?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36})\b",
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
            1,
        ),
        rule(
            "github-fine-grained-pat",
            "GitHub fine-grained token",
            r"\b(github_pat_[0-9A-Za-z_]{82})\b",
            &["github_pat_"],
            1,
        ),
        rule(
            "gitlab-token",
            "GitLab token",
            r"\b(gl(?:pat|dt|ptt|rt)-[0-9A-Za-z_-]{20,})\b",
            &["glpat-", "gldt-", "glptt-", "glrt-"],
            1,
        ),
        rule(
            "slack-token",
            "Slack token",
            r"\b(xox[baprs]-[0-9A-Za-z-]{10,72})\b",
            &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
            1,
        ),
        rule(
            "slack-webhook",
            "Slack webhook",
            r"(https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/]{30,})",
            &["hooks.slack.com"],
            1,
        ),
        rule(
            "stripe-live-key",
            "Stripe live key",
            r"\b((?:sk|rk)_live_[0-9A-Za-z]{24,99})\b",
            &["sk_live_", "rk_live_"],
            1,
        ),
        rule("google-api-key", "Google API key", r"\b(AIza[0-9A-Za-z_-]{35})\b", &["aiza"], 1),
        rule(
            "openai-key",
            "OpenAI API key",
            r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})\b",
            &["t3blbkfj"],
            1,
        ),
        rule("openai-project-key", "OpenAI project key", r"\b(sk-proj-[A-Za-z0-9_-]{80,})", &["sk-proj-"], 1),
        rule("anthropic-key", "Anthropic API key", r"\b(sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,})", &["sk-ant-"], 1),
        rule("huggingface-token", "Hugging Face token", r"\b(hf_[A-Za-z]{34})\b", &["hf_"], 1),
        rule("npm-token", "npm access token", r"\b(npm_[A-Za-z0-9]{36})\b", &["npm_"], 1),
        rule(
            "pypi-token",
            "PyPI upload token",
            r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
            &["pypi-ageichlwas5vcmc"],
            1,
        ),
        rule(
            "database-url-password",
            "Database URL with a password",
            r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql)://[^\s:/@]+:([^\s@/]{3,})@",
            &["://"],
            1,
        ),
    ];
    let mut generic = rule(
        "generic-secret-assignment",
        "High-entropy value assigned to a secret-like name",
        r#"(?i)(?:api[_-]?key|secret|token|passwd|password|pwd|access[_-]?key|auth[_-]?key|credential)[A-Za-z0-9_-]{0,20}["']?\s*(?:=|:|:=|=>)\s*["'`]?([A-Za-z0-9+/=_.~-]{16,})"#,
        &["key", "secret", "token", "passw", "pwd", "credential"],
        1,
    );
    generic.entropy = Some(3.5);
    generic.warn_only = true;
    rules.push(generic);
    rules
}
