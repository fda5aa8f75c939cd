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

/// A JSON Web Token (HS256, `{"sub":"1234567890"}`), assembled so that no token sits here.
pub fn jwt() -> String {
    format!(
        "{}.{}.{}",
        "eyJhbGciOiJIUzI1NiIs".to_string() + "InR5cCI6IkpXVCJ9",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
}

/// One fake secret per built-in blocking rule.
pub fn planted() -> Vec<(&'static str, String)> {
    let a = "Z7QW4R2T5Y6U3I2O";
    let alnum36 = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
    let long = "Zx9".repeat(30);
    vec![
        ("aws-access-key-id", format!("aws_id = \"{}{a}\"", "AKIA")),
        ("private-key", format!("-----BEGIN RSA {}-----\n{}", "PRIVATE KEY", "MIIEpAIBAAKCAQEA1b2C3d4E5f6G7h8I9j0K")),
        ("github-token", format!("token: {}_{alnum36}", "ghp")),
        ("github-fine-grained-pat", format!("{}_pat_{}", "github", "A1b2".repeat(20) + "C3")),
        ("gitlab-token", format!("{}-{}", "glpat", "x1Y2z3W4v5U6t7S8r9Q0")),
        ("slack-token", format!("{}-{}", "xoxb", "7812365427-2364535789-GkwFDQoHqzXDVsC6GzqYUypD")),
        ("slack-webhook", format!("https://hooks.slack.{}/services/T01ABCDEF/B02GHIJKL/{}", "com", "Xy7".repeat(8))),
        ("stripe-key", format!("{}_live_{}", "sk", "4eC39HqLyjWDarjtT1zdp7dc")),
        ("google-api-key", format!("{}{}", "AIza", "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY")),
        ("openai-key", format!("{}-{}{}{}", "sk", "a".repeat(20), "T3Blbk", "FJ".to_string() + &"b".repeat(20))),
        ("openai-project-key", format!("{}-proj-{long}", "sk")),
        ("anthropic-key", format!("{}-ant-api03-{long}Zx9AA", "sk")),
        ("jwt", jwt()),
        ("generic-api-key", format!("API_KEY = \"{}\"", "q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1")),
        ("provider-key-assignment", format!("DATADOG_API_KEY={}", "or6churgw6k9zyg1z6ntg6i85qo1u8zpvew1o3q5")),
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
fn generic_assignments_block_and_placeholders_stay_quiet() {
    let found = scan("API_KEY = \"q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\"\n");
    assert_eq!((found.len(), found[0].rule.as_str(), found[0].warning), (1, "generic-api-key", false));
    // The forms of configuration and code, the value on the line below an XML element's tag.
    for form in [
        "apiToken := \"q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\"",
        "  \"client_secret\": \"q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\",",
        "db_password: 'q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1'",
        "System.setProperty(\"AUTH_TOKEN\", \"q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\")",
        "$accessKey .= \"q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\"",
        "<apiToken>\n    q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\n</apiToken>",
    ] {
        let found = scan(form);
        assert!(found.iter().any(|f| f.rule == "generic-api-key" && !f.warning), "{form:?}: {found:?}");
    }
    for quiet in [
        "api_key = \"refreshTokenFromServer2\"",
        "secret_length = X25519.secret_length",
        "public_key = \"9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit\"",
        "key_file = \"certs/s_rsa1024_priv.pem\"",
        "api_version = \"rc0.15.0_20231217_1420\"",
        "credentialsId: 'ff083f76-7804-4ef1-80e4-fe975bb9141b'",
        "token = \"1234-1234-1234-4ddbc191d40e\"",
        "template<class _RandomAccessIterator>\n_LIBCPP_CONSTEXPR_AFTER_CXX11",
        "ReactNativeCameraKit: f15a5a04b0f6dc6073e6db0296e6ef2d8b8d2522",
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
fn json_web_tokens_block_when_their_header_names_an_algorithm() {
    let token = jwt();
    for line in [token.clone(), format!("Authorization: Bearer {token}"), format!("\"idToken\": \"{token}\",")] {
        let found = scan(&line);
        assert!(found.iter().any(|f| f.rule == "jwt" && !f.warning), "{line:?}: {found:?}");
    }
    // Three base64url segments whose first is no JSON header: not a token.
    let (_, rest) = token.split_once('.').unwrap();
    let not_jwt = format!("{}.{rest}", "eyJub3RhaGVhZGVyIjoxfQ");
    assert!(!scan(&not_jwt).iter().any(|f| f.rule == "jwt"), "{not_jwt}");
    assert!(super::is_jwt(&token));
}

#[test]
fn provider_names_and_formats() {
    for (line, rule) in [
        (format!("heroku_api_key = \"{}\"", "5eb4223e-5008-46e5-be67-c7b8f2732305"), "provider-key-assignment"),
        (format!("MAILGUN_TOKEN: {}-{}", "key", "7c8b06d6e14813c31ff43f8513e25ae5"), "provider-key-assignment"),
        (
            format!("{}-SECRET-KEY-1{}", "AGE", "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".repeat(2).get(..58).unwrap()),
            "age-secret-key",
        ),
        (format!("x = \"{}_{}\"", "shpat", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"), "shopify-token"),
    ] {
        let found = scan(&line);
        assert!(found.iter().any(|f| f.rule == rule), "{rule} missed in {line:?}: {found:?}");
    }
}

/// A name that names a provider with one documented key shape takes only that shape: Meraki
/// keys are 40 lowercase hex characters (gitleaks' own false-positive samples of its rule).
#[test]
fn provider_shapes_decide_for_a_named_provider() {
    let key = "53369721ac6b2eea9a02450076d953c0".to_string() + "6265a6a7";
    for line in
        [format!("merakiToken = \"{key}\""), format!("MERAKI_API_KEY: {key}"), format!("<merakiToken>\n  {key}\n")]
    {
        let found = scan(&line);
        assert!(found.iter().any(|f| f.rule == "provider-key-assignment" && !f.warning), "{line:?}: {found:?}");
    }
    for quiet in [
        // Mixed case, and 67 characters with one outside hex: not a Meraki key.
        format!("meraki-api-key: {}", "acdeFf05b1a6d4c890237bf08c5e6e8d2b4d0f2e"),
        format!("meraki_token = {}{}", "5cb4a5f04cd412fe946667b17f0129ba17aeb2e0", "c7b5b7264efcebf7d022bfe2R21"),
    ] {
        assert!(scan(&quiet).is_empty(), "{quiet:?} flagged: {:?}", scan(&quiet));
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
    assert!(s.redact_text(&jwt()).starts_with("eyJh…("), "{}", s.redact_text(&jwt()));
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

/// A big text is read as two halves at once: secrets in either half, at the split and at the
/// ends are found at their lines, as in a small text.
#[test]
fn bulk_scans_find_the_same_at_the_same_lines() {
    let s = Scanner::new(None, HashSet::new()).unwrap();
    let filler = "let value = compute(index, total);\n".repeat(10_000);
    for (rule, line) in planted() {
        for (text, at) in [
            (format!("{filler}{line}\n"), 10_001),
            (format!("{line}\n{filler}"), 1),
            (format!("{}{line}\n{}", &filler[..filler.len() / 2], &filler[filler.len() / 2..]), 5_001),
        ] {
            let mut out = Vec::new();
            s.scan("big.rs", 1, &text, &mut out);
            assert!(out.iter().any(|f| f.rule == rule && f.line == at), "{rule} at {at}: {out:?}");
        }
    }
    let mut small = Vec::new();
    s.scan("small.rs", 7, &planted()[0].1, &mut small);
    assert_eq!(small.iter().map(|f| f.line).collect::<Vec<_>>(), [7]);
}

/// The keyword automaton finds every occurrence of every keyword, overlapping ones and either
/// case, as a plain search does, in small texts and in texts read in two halves.
#[test]
fn keyword_automaton_finds_every_occurrence() {
    let patterns: Vec<String> = ["key", "api_key", "age-secret-key-1", "sk", "q~", "ask", "-----begin", "://", "xoxb-"]
        .map(String::from)
        .to_vec();
    let k = super::keywords::Keywords::new(&patterns);
    // A deterministic mix of the keywords' bytes, both cases, and line breaks.
    let alphabet = b"keyKEYapiAPI_-sSqQ~:/bBeEgGiInN1xXoO \n-";
    let mut seed = 7u64;
    for len in [0, 1, 5, 100, 5_000, 20_000] {
        let text: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                alphabet[usize::try_from(seed >> 33).unwrap() % alphabet.len()]
            })
            .collect();
        let lower = text.to_ascii_lowercase();
        let mut want = Vec::new();
        for end in 1..=lower.len() {
            for (i, p) in patterns.iter().enumerate() {
                if lower[..end].ends_with(p.as_bytes()) {
                    want.push((end, i));
                }
            }
        }
        let mut got = Vec::new();
        k.find(&text, |end, m| got.extend(k.ends(m).iter().map(|&i| (end, i))));
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "text of {len} bytes");
    }
}

/// The assignment rules run only where a value at least as long as theirs follows an operator;
/// the check never says shorter than what their regexes take.
#[test]
fn assigned_values_are_measured_as_the_regexes_take_them() {
    for (hay, want) in [
        ("apiToken := \"q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\"", 23),
        ("\"client_secret\" => 'abc=def+ghi/jk',", 14),
        ("<apiToken>\n    q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\n</apiToken>", 23),
        // `cart.parse` is followed by `(`: no value ends there.
        ("key = cart.parse(session_key, 42)", 2),
        ("token_key: 12345", 5),
        ("a = b ==== c", 3),
    ] {
        assert_eq!(super::longest_assigned_value(hay.as_bytes()), want, "{hay:?}");
    }
}
