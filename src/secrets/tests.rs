//! Planted fake secrets (assembled at run time, so no literal token sits in this file), the
//! filters that keep placeholders quiet, allow markers, baselines and gitleaks configuration.

use std::collections::HashSet;

use super::{entropy, Scanner};

fn scan(text: &str) -> Vec<super::Finding> {
    let s = Scanner::new(None, HashSet::new()).unwrap();
    let mut out = Vec::new();
    s.scan("src/app.py", 1, text, &mut out);
    out
}

/// One fake secret per built-in blocking rule.
pub fn planted() -> Vec<(&'static str, String)> {
    let a = "Z7QW4R2T5Y6U3I2O";
    let alnum36 = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
    let long = "Zx9".repeat(30);
    vec![
        ("aws-access-key-id", format!("aws_id = \"{}{a}\"", "AKIA")),
        ("private-key", format!("-----BEGIN RSA {}-----", "PRIVATE KEY")),
        ("github-token", format!("token: {}_{alnum36}", "ghp")),
        ("github-fine-grained-pat", format!("{}_pat_{}", "github", "A1b2".repeat(20) + "C3")),
        ("gitlab-token", format!("{}-{}", "glpat", "x1Y2z3W4v5U6t7S8r9Q0")),
        ("slack-token", format!("{}-{}", "xoxb", "1234567890-0987654321-AbCdEfGhIjKlMnOp")),
        ("slack-webhook", format!("https://hooks.slack.{}/services/T0000/B0000/{}", "com", "Xy7".repeat(10))),
        ("stripe-live-key", format!("{}_live_{}", "sk", "4eC39HqLyjWDarjtT1zdp7dc")),
        ("google-api-key", format!("{}{}", "AIza", "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY")),
        ("openai-key", format!("{}-{}{}{}", "sk", "a".repeat(20), "T3Blbk", "FJ".to_string() + &"b".repeat(20))),
        ("openai-project-key", format!("{}-proj-{long}", "sk")),
        ("anthropic-key", format!("{}-ant-api03-{long}", "sk")),
        ("huggingface-token", format!("{}_{}", "hf", "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh")),
        ("npm-token", format!("//registry/:_authToken={}_{alnum36}", "npm")),
        ("pypi-token", format!("{}-AgEIcHlwaS5vcmc{}", "pypi", "Q".repeat(60))),
        ("database-url-password", format!("DATABASE_URL=postgres://app:{}@db:5432/app", "s3cr3t-Pa55w0rd")),
    ]
}

#[test]
fn every_builtin_rule_finds_its_token() {
    for (rule, line) in planted() {
        let found = scan(&line);
        assert!(found.iter().any(|f| f.rule == rule && !f.warning), "{rule} missed in {line:?}: {found:?}");
    }
}

#[test]
fn findings_are_redacted_and_located() {
    let text = format!("x = 1\n\n# config\nkey = \"{}{}\"\n", "AKIA", "Z7QW4R2T5Y6U3I2O");
    let f = &scan(&text)[0];
    assert_eq!((f.path.as_str(), f.line), ("src/app.py", 4));
    assert_eq!(f.redacted, "AKIA…(20 chars)");
    assert!(!format!("{f:?}").contains("Z7QW4R2T5Y6U3I2O"), "the secret never appears");
}

#[test]
fn generic_assignments_warn_and_placeholders_stay_quiet() {
    let found = scan("API_KEY = \"q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\"\n");
    assert_eq!((found.len(), found[0].rule.as_str(), found[0].warning), (1, "generic-secret-assignment", true));
    for quiet in [
        "api_key = \"your_api_key_here_please\"",
        "token = \"${GITHUB_TOKEN_FROM_ENVIRONMENT}\"",
        "secret = \"xxxxxxxxxxxxxxxxxxxxxxxx\"",
        "token = \"123e4567-e89b-12d3-a456-426614174000\"",
        "secret_sha = \"da39a3ee5e6b4b0d3255bfef95601890afd80709\"",
        "password = \"aaaaaaaaaaaaaaaaaaaa\"",
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app",
        "DATABASE_URL=postgres://app:password@localhost/app",
        "tokenizer = build_tokenizer(vocabulary_size=32000)",
        "AWS_ACCESS_KEY_ID = \"AKIAXXXXXXXXXXXXXXXX\"",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    ] {
        assert!(scan(quiet).is_empty(), "{quiet:?} flagged: {:?}", scan(quiet));
    }
}

#[test]
fn inline_markers_and_baseline() {
    let line = format!("aws = \"{}{}\"", "AKIA", "Z7QW4R2T5Y6U3I2O");
    assert!(scan(&format!("{line} # gitleaks:allow")).is_empty());
    assert!(scan(&format!("{line} // orchestrate:allow-secret")).is_empty());
    let fingerprint = scan(&line)[0].fingerprint.clone();
    let s = Scanner::new(None, HashSet::from([fingerprint])).unwrap();
    let mut out = Vec::new();
    // Same secret on another line and in another file: still the same fingerprint.
    s.scan("elsewhere.txt", 40, &format!("\n\n{line}"), &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn gitleaks_rules_allowlists_and_bad_regexes() {
    let cfg = r#"
title = "team rules"
[extend]
useDefault = true
disabledRules = ["huggingface-token"]

[[rules]]
id = "acme-internal-token"
description = "ACME internal token"
regex = '''acme_(?:live|test)_([a-z0-9]{24})'''
secretGroup = 1
keywords = ["acme_"]
[[rules.allowlists]]
stopwords = ["00000000"]

[allowlist]
paths = ['''^fixtures/''']
regexes = ['''^acme_test_''']
"#;
    let s = Scanner::new(Some((".gitleaks.toml", cfg)), HashSet::new()).unwrap();
    let mut out = Vec::new();
    s.scan("src/a.rs", 1, "let t = \"acme_live_ab12cd34ef56gh78ij90kl12\";\n", &mut out);
    assert_eq!(out[0].rule, "acme-internal-token");
    out.clear();
    s.scan("src/a.rs", 1, "let t = \"acme_live_00000000ef56gh78ij90kl12\";\n", &mut out);
    assert!(out.is_empty(), "stopword: {out:?}");
    s.scan("fixtures/tokens.txt", 1, "acme_live_ab12cd34ef56gh78ij90kl12\n", &mut out);
    assert!(out.is_empty(), "allowlisted path");
    s.scan("src/b.rs", 1, &format!("{}_{}", "hf", "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"), &mut out);
    assert!(out.is_empty(), "disabled rule: {out:?}");

    let bad = "[[rules]]\nid = \"lookahead\"\nregex = '''token(?=[a-z]+)'''\n";
    let err = Scanner::new(Some((".gitleaks.toml", bad)), HashSet::new()).err().unwrap();
    assert!(err.to_string().starts_with(".gitleaks.toml: rule `lookahead`: its regex cannot be used"), "{err}");
    let err = Scanner::new(Some((".gitleaks.toml", "[[rules]\n")), HashSet::new()).err().unwrap();
    assert!(err.to_string().starts_with(".gitleaks.toml:1:"), "{err}");
}

#[test]
fn redact_text_hides_secrets_in_output() {
    let s = Scanner::new(None, HashSet::new()).unwrap();
    let secret = format!("{}_{}", "ghp", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
    let out = s.redact_text(&format!("pushing with {secret}\nok\n"));
    assert_eq!(out, "pushing with ghp_…(40 chars)\nok\n");
}

#[test]
fn every_builtin_rule_compiles() {
    for rule in super::rules::builtin() {
        assert!(super::compile("built-in rules", &rule.id, &rule.regex).is_ok(), "{}", rule.id);
    }
}

#[test]
fn entropy_of_random_and_repeated() {
    assert!(entropy("aaaaaaaa") < 0.01);
    assert!(entropy("q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1") > 4.0);
}

/// Past `DFA_FROM` bytes a scanner switches keyword automatons; both find the same secrets at
/// the same lines.
#[test]
fn bulk_scans_switch_automaton_and_find_the_same() {
    let s = Scanner::new(None, HashSet::new()).unwrap();
    let filler = "let value = compute(index, total);\n".repeat(10_000);
    for (rule, line) in planted() {
        let text = format!("{filler}{line}\n");
        let mut out = Vec::new();
        s.scan("big.rs", 1, &text, &mut out);
        assert!(out.iter().any(|f| f.rule == rule && f.line == 10_001), "{rule}: {out:?}");
    }
    assert!(s.keywords_dfa.get().is_some(), "the scanner moved to the DFA");
    let mut small = Vec::new();
    s.scan("small.rs", 7, &planted()[0].1, &mut small);
    assert_eq!(small.iter().map(|f| f.line).collect::<Vec<_>>(), [7]);
}
