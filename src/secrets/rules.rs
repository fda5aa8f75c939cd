//! The built-in rules: well-known token formats (each provider's documented prefix and length),
//! JSON Web Tokens, a value assigned to a name that names a provider, and a high-entropy value
//! assigned to a secret-like name; all block. Each rule names the keywords that must occur on a
//! line before its regex runs (the prefilter that keeps scanning fast).

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
    /// What is checked beyond the regex and entropy.
    pub check: Check,
    /// A line that ends an opening (`<apiToken>`, a PEM header) is scanned joined with the next
    /// line, so a value written on the line below its name is found.
    pub next_line: bool,
}

/// Checks a match must pass beyond its regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    /// The first segment is base64url of a JSON object naming its `alg`.
    Jwt,
    /// Group 1 is the assigned name, group 2 the value: the name must name a secret (and no
    /// identifier, URL, hash …) and the value must look random, not like words, a path or a
    /// placeholder.
    Assignment,
    /// As [`Check::Assignment`], the name naming a provider instead of a secret.
    ProviderAssignment,
    /// `user:password`: the password is not a placeholder, a variable or the user name.
    UserPassword,
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
        check: Check::None,
        next_line: false,
    }
}

/// A token whose shape is its provider's: (id, description, regex, keywords, minimum entropy).
/// The regex's group 1 is the token.
type Token = (&'static str, &'static str, &'static str, &'static [&'static str], f64);

/// Provider token formats, as each provider documents them (prefix, alphabet, length).
const TOKENS: &[Token] = &[
    (
        "1password-secret-key",
        "1Password secret key",
        r"\b(A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})\b",
        &["a3-"],
        3.8,
    ),
    (
        "1password-service-account-token",
        "1Password service account token",
        r"\b(ops_eyJ[A-Za-z0-9+/]{250,}={0,3})",
        &["ops_ey"],
        4.0,
    ),
    ("adobe-client-secret", "Adobe client secret", r"\b(p8e-[A-Za-z0-9]{32})\b", &["p8e-"], 2.0),
    (
        "age-secret-key",
        "age secret key",
        r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
        &["age-secret-key-1"],
        0.0,
    ),
    (
        "airtable-personal-access-token",
        "Airtable personal access token",
        r"\b(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b",
        &["pat"],
        0.0,
    ),
    ("alibaba-access-key-id", "Alibaba Cloud access key id", r"\b(LTAI[A-Za-z0-9]{20})\b", &["ltai"], 2.0),
    ("anthropic-key", "Anthropic API key", r"\b(sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA)\b", &["sk-ant-"], 0.0),
    ("artifactory-api-key", "JFrog Artifactory API key", r"\b(AKCp[A-Za-z0-9]{69})\b", &["akcp"], 4.5),
    (
        "artifactory-reference-token",
        "JFrog Artifactory reference token",
        r"\b(cmVmd[A-Za-z0-9]{59})\b",
        &["cmvmd"],
        4.5,
    ),
    ("atlassian-api-token", "Atlassian API token", r"\b(ATATT3[A-Za-z0-9_=-]{186})\b", &["atatt3"], 3.5),
    (
        "authress-access-key",
        "Authress service client access key",
        r"\b((?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_-][A-Za-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120})",
        &[".acc_", ".acc-"],
        2.0,
    ),
    ("aws-bedrock-api-key", "Amazon Bedrock API key", r"\b(ABSK[A-Za-z0-9+/]{109,269}={0,2})", &["absk"], 3.0),
    (
        "aws-bedrock-short-lived-key",
        "Amazon Bedrock short-lived API key",
        r"(bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=%]*)",
        &["bedrock-api-key-"],
        3.0,
    ),
    ("clickhouse-cloud-key", "ClickHouse Cloud API secret key", r"\b(4b1d[A-Za-z0-9]{38})\b", &["4b1d"], 3.0),
    ("clojars-token", "Clojars deploy token", r"\b(CLOJARS_[A-Za-z0-9]{60})\b", &["clojars_"], 2.0),
    (
        "cloudflare-origin-ca-key",
        "Cloudflare Origin CA key",
        r"\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b",
        &["v1.0-"],
        2.0,
    ),
    ("databricks-token", "Databricks API token", r"\b(dapi[a-f0-9]{32}(?:-\d)?)\b", &["dapi"], 3.0),
    (
        "defined-networking-token",
        "Defined Networking API token",
        r"\b(dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52})",
        &["dnkey-"],
        0.0,
    ),
    (
        "digitalocean-token",
        "DigitalOcean token",
        r"\b(do[opr]_v1_[a-f0-9]{64})\b",
        &["doo_v1_", "dop_v1_", "dor_v1_"],
        3.0,
    ),
    ("doppler-token", "Doppler API token", r"\b(dp\.pt\.[A-Za-z0-9]{43})\b", &["dp.pt."], 2.0),
    ("duffel-token", "Duffel API token", r"\b(duffel_(?:test|live)_[A-Za-z0-9_=-]{43})", &["duffel_"], 2.0),
    ("dynatrace-token", "Dynatrace API token", r"\b(dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64})\b", &["dt0c01."], 4.0),
    ("easypost-token", "EasyPost API key", r"\b(EZ[AT]K[A-Za-z0-9]{54})\b", &["ezak", "eztk"], 2.0),
    ("facebook-page-token", "Facebook page access token", r"\b(EAA[MC][A-Za-z0-9]{100,})", &["eaam", "eaac"], 4.0),
    (
        "flutterwave-key",
        "Flutterwave key",
        r"\b(FLW(?:SECK|PUBK)_TEST-[a-hA-H0-9]{12,32}(?:-X)?)",
        &["flwseck_test", "flwpubk_test"],
        2.0,
    ),
    (
        "flyio-token",
        "Fly.io token",
        r"\b(fo1_[A-Za-z0-9_-]{43}|fm1[ar]_[A-Za-z0-9+/]{100,}={0,3}|fm2_[A-Za-z0-9+/]{100,}={0,3})",
        &["fo1_", "fm1a_", "fm1r_", "fm2_"],
        4.0,
    ),
    ("frameio-token", "Frame.io API token", r"\b(fio-u-[A-Za-z0-9_=-]{64})", &["fio-u-"], 0.0),
    (
        "gitlab-token",
        "GitLab token",
        r"\b(gl(?:pat|dt|ptt|rt|cbt|ffct|ft|imt|agent|oas|soat)-[0-9A-Za-z_.-]{20,300})",
        &[
            "glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glffct-", "glft-", "glimt-", "glagent-", "gloas-",
            "glsoat-",
        ],
        3.0,
    ),
    (
        "gitlab-runner-registration-token",
        "GitLab runner registration token",
        r"\b(GR1348941[A-Za-z0-9_-]{20})",
        &["gr1348941"],
        3.0,
    ),
    ("gitlab-session-cookie", "GitLab session cookie", r"_gitlab_session=([0-9a-z]{32})", &["_gitlab_session="], 3.0),
    (
        "grafana-token",
        "Grafana token",
        r"\b(eyJrIjoi[A-Za-z0-9]{70,400}={0,3}|glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
        &["eyjrijoi", "glc_", "glsa_"],
        3.0,
    ),
    (
        "harness-token",
        "Harness API key",
        r"\b((?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20})\b",
        &["pat.", "sat."],
        0.0,
    ),
    (
        "terraform-cloud-token",
        "Terraform Cloud API token",
        r"\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})",
        &["atlasv1"],
        3.5,
    ),
    ("vault-token-legacy", "HashiCorp Vault token (before 1.10)", r"\b(s\.[A-Za-z0-9]{24})\b", &["vault"], 3.5),
    (
        "vault-token",
        "HashiCorp Vault token",
        r"\b(hvs\.[A-Za-z0-9_-]{90,120}|hvb\.[A-Za-z0-9_-]{138,300})",
        &["hvs.", "hvb."],
        3.5,
    ),
    ("heroku-api-key", "Heroku API key", r"\b(HRKU-AA[0-9A-Za-z_-]{58})\b", &["hrku-aa"], 4.0),
    ("huggingface-token", "Hugging Face token", r"\b((?:hf_|api_org_)[A-Za-z]{34})\b", &["hf_", "api_org_"], 2.0),
    ("infracost-token", "Infracost API token", r"(?:^|[^A-Za-z0-9_.-])(ico-[A-Za-z0-9]{32})\b", &["ico-"], 3.0),
    ("intra42-secret", "42 intra client secret", r"\b(s-s4t2(?:ud|af)-[a-f0-9]{64})\b", &["s-s4t2"], 3.0),
    ("linear-api-key", "Linear API key", r"\b(lin_api_[A-Za-z0-9]{40})\b", &["lin_api_"], 2.0),
    ("lob-api-key", "Lob API key", r"\b((?:live|test)_(?:pub_[a-f0-9]{31}|[a-f0-9]{35}))\b", &["live_", "test_"], 0.0),
    ("maxmind-license-key", "MaxMind license key", r"\b([A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk)\b", &["_mmk"], 4.0),
    (
        "microsoft-teams-webhook",
        "Microsoft Teams webhook",
        r"(https://[a-z0-9]+\.webhook\.office\.com/webhookb2/[a-z0-9-]{36}@[a-z0-9-]{36}/IncomingWebhook/[a-z0-9]{32}/[a-z0-9-]{36})",
        &["webhook.office.com"],
        0.0,
    ),
    (
        "new-relic-key",
        "New Relic key",
        r"\b(NRAK-[A-Z0-9]{27}|NRII-[A-Za-z0-9-]{32}|NRJS-[a-f0-9]{19})\b",
        &["nrak-", "nrii-", "nrjs-"],
        0.0,
    ),
    ("notion-token", "Notion API token", r"\b(ntn_[0-9]{11}[A-Za-z0-9]{35})\b", &["ntn_"], 4.0),
    ("octopus-deploy-key", "Octopus Deploy API key", r"\b(API-[A-Z0-9]{26})\b", &["api-"], 3.0),
    ("openshift-token", "OpenShift user token", r"\b(sha256~[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)", &["sha256~"], 3.5),
    ("perplexity-key", "Perplexity API key", r"\b(pplx-[A-Za-z0-9]{48})\b", &["pplx-"], 4.0),
    (
        "planetscale-token",
        "PlanetScale token or password",
        r"\b(pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.-]{32,64})",
        &["pscale_"],
        3.0,
    ),
    ("postman-token", "Postman API key", r"\b(PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34})\b", &["pmak-"], 3.0),
    ("prefect-token", "Prefect API key", r"\b(pnu_[A-Za-z0-9]{36})\b", &["pnu_"], 2.0),
    ("pulumi-token", "Pulumi access token", r"\b(pul-[a-f0-9]{40})\b", &["pul-"], 2.0),
    ("readme-token", "ReadMe API key", r"\b(rdme_[a-z0-9]{70})\b", &["rdme_"], 2.0),
    ("rubygems-token", "RubyGems API key", r"\b(rubygems_[a-f0-9]{48})\b", &["rubygems_"], 2.0),
    ("scalingo-token", "Scalingo API token", r"\b(tk-us-[A-Za-z0-9_-]{48})", &["tk-us-"], 2.0),
    ("sendgrid-key", "SendGrid API key", r"\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})", &["sg."], 2.0),
    ("sendinblue-key", "Brevo (Sendinblue) API key", r"\b(xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})\b", &["xkeysib-"], 2.0),
    (
        "sentry-token",
        "Sentry token",
        r"\b(sntryu_[a-f0-9]{64}\b|sntrys_eyJpYXQiO[A-Za-z0-9+/]{20,400}={0,2}_[A-Za-z0-9+/]{43})",
        &["sntryu_", "sntrys_"],
        3.5,
    ),
    (
        "settlemint-token",
        "SettleMint access token",
        r"\b(sm_(?:aat|pat|sat)_[A-Za-z0-9]{16})\b",
        &["sm_aat_", "sm_pat_", "sm_sat_"],
        3.0,
    ),
    ("shippo-token", "Shippo API token", r"\b(shippo_(?:live|test)_[a-fA-F0-9]{40})\b", &["shippo_"], 2.0),
    (
        "shopify-token",
        "Shopify token",
        r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        &["shpat_", "shpca_", "shppa_", "shpss_"],
        2.0,
    ),
    ("sidekiq-credentials", "Sidekiq Enterprise credentials", r"\b([a-f0-9]{8}:[a-f0-9]{8})\b", &["contribsys"], 0.0),
    (
        "slack-token",
        "Slack token",
        r"\b(xox[bp]-\d{8,14}-\d{8,14}-[A-Za-z0-9-]{18,}|xoxb-\d{8,14}-[A-Za-z0-9]{18,26}|xoxp-\d{10,13}-\d{10,13}-\d{10,13}-[A-Za-z0-9-]{28,34}|xoxe-\d{10,13}-\d{10,13}-\d{10,13}-[A-Za-z0-9-]{28,34}|xox[os]-\d+-\d+-\d+-[a-fA-F0-9]{8,}|xox[ar]-(?:\d-)?[0-9A-Za-z]{8,48}|xapp-\d-[A-Za-z0-9]+-\d+-[A-Za-z0-9]{32,}|xoxe\.xox[bp]-\d-[A-Za-z0-9]{163,166}|xoxe-\d-[A-Za-z0-9]{146})",
        &["xoxb-", "xoxp-", "xoxe-", "xoxe.", "xoxo-", "xoxs-", "xoxa-", "xoxr-", "xapp-"],
        2.0,
    ),
    (
        "slack-webhook",
        "Slack webhook",
        r"((?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56})",
        &["hooks.slack.com"],
        0.0,
    ),
    (
        "sourcegraph-token",
        "Sourcegraph access token",
        r"\b(sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|sgp_[a-fA-F0-9]{40})\b",
        &["sgp_"],
        3.0,
    ),
    (
        "square-token",
        "Square token",
        r"\b((?:EAAA|sq0atp-)[A-Za-z0-9_-]{22,60}|sq0csp-[A-Za-z0-9_-]{43})\b",
        &["eaaa", "sq0atp-", "sq0csp-"],
        2.0,
    ),
    (
        "stripe-key",
        "Stripe secret or restricted key",
        r"\b((?:sk|rk)_(?:live|test|prod)_[0-9A-Za-z]{10,99})\b",
        &["sk_live_", "rk_live_", "sk_test_", "rk_test_", "sk_prod_", "rk_prod_"],
        2.0,
    ),
    ("telegram-bot-token", "Telegram bot token", r"\b([0-9]{5,16}:A[A-Za-z0-9_-]{34})\b", &["telegr"], 0.0),
    ("twilio-api-key", "Twilio API key", r"\b(SK[0-9a-fA-F]{32})\b", &["sk"], 3.0),
    ("typeform-token", "Typeform API token", r"\b(tfp_[A-Za-z0-9_.=-]{59})", &["tfp_"], 0.0),
];

/// Names of providers whose keys are often assigned to a name that carries the provider's name
/// (`datadog_api_key = ...`, `<mailgunToken>`): such a value blocks when it looks random.
pub const PROVIDERS: &[&str] = &[
    "adafruit",
    "adobe",
    "airtable",
    "algolia",
    "alibaba",
    "artifactory",
    "asana",
    "atlassian",
    "beamer",
    "bintray",
    "bitbucket",
    "bittrex",
    "cloudflare",
    "codecov",
    "cohere",
    "co_api_key",
    "coinbase",
    "confluence",
    "confluent",
    "contentful",
    "contribsys",
    "datadog",
    "discord",
    "dnkey",
    "droneci",
    "dropbox",
    "etsy",
    "facebook",
    "fastly",
    "finicity",
    "finnhub",
    "flickr",
    "freshbooks",
    "gitter",
    "gocardless",
    "heroku",
    "hubspot",
    "intercom",
    "jfrog",
    "jira",
    "kucoin",
    "launchdarkly",
    "linear",
    "linkedin",
    "linked_in",
    "linked-in",
    "looker",
    "mailchimp",
    "mailgun",
    "mapbox",
    "mattermost",
    "meraki",
    "messagebird",
    "message_bird",
    "message-bird",
    "netlify",
    "newrelic",
    "new_relic",
    "new-relic",
    "nytimes",
    "newyorktimes",
    "new-york-times",
    "okta",
    "plaid",
    "privateai",
    "private_ai",
    "private-ai",
    "rapidapi",
    "sendbird",
    "sentry",
    "snyk",
    "sonar",
    "sourcegraph",
    "squarespace",
    "sumo",
    "telegr",
    "travis",
    "twitch",
    "twitter",
    "typeform",
    "yandex",
    "zendesk",
];

/// Whether a value has a provider's key shape.
pub type Shape = fn(&str) -> bool;

/// Providers whose keys have one documented shape: a value assigned to a name that names one
/// of them is its key only in that shape.
pub const PROVIDER_SHAPES: &[(&str, Shape)] = &[
    // Cisco Meraki API keys: 40 hexadecimal characters, lowercase (gitleaks' rule and tests).
    ("meraki", |v| v.len() == 40 && v.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))),
];

/// The keywords of the generic rule: a line without one has no secret-like name.
const SECRET_KEYWORDS: &[&str] =
    &["key", "token", "secret", "pwd", "pass", "credential", "creds", "auth", "api", "access", "jwt", "bearer"];

/// Words that make a name a secret's (`api_key`, `dbPassword`, `client-secret` …).
const SECRET_WORDS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "credential",
    "credentials",
    "creds",
    "auth",
    "apikey",
    "api",
    "access",
    "jwt",
    "bearer",
];

pub fn builtin() -> Vec<RuleSpec> {
    let mut aws = rule(
        "aws-access-key-id",
        "AWS access key id",
        r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        &["a3t", "akia", "asia", "abia", "acca"],
        1,
    );
    // Documentation placeholders (AKIAXXXXXXXXXXXXXXXX, AKIAIOSFODNN7EXAMPLE) are low-entropy.
    aws.entropy = Some(3.0);
    let mut private_key = rule(
        "private-key",
        "Private key",
        // The header, then key material (or a PEM header field) on the same or the next line.
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----\s*(?:[A-Za-z0-9+/=]{20,}|Proc-Type:|Version:|Comment:)",
        &["-----begin"],
        0,
    );
    private_key.next_line = true;
    let mut google =
        rule("google-api-key", "Google API key", r"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)", &["aiza"], 1);
    google.entropy = Some(4.0);
    let mut jwt = rule(
        "jwt",
        "JSON Web Token",
        r"\b(eyJ[A-Za-z0-9_-]{10,}={0,2}\.eyJ[A-Za-z0-9_-]{10,}={0,2}\.[A-Za-z0-9_-]{0,}={0,2})",
        &["eyj"],
        1,
    );
    jwt.check = Check::Jwt;
    let mut curl_user = rule(
        "curl-auth-user",
        "Credentials in curl's --user",
        r#"(?:\bcurl\b.*?\s(?:-u|--user)|(?:^|\s)(?:--user|-u))[= \t]{1,5}["']?((?:[A-Za-z0-9_@.{}-]{3,})?["']?:["']?[^\s"':\[\]<>()]{3,})["']?(?:\s|$)"#,
        &["curl", "--user", "-u "],
        1,
    );
    curl_user.check = Check::UserPassword;
    let mut freemius = rule(
        "freemius-secret-key",
        "Freemius secret key",
        r#"["']secret_key["']\s*=>\s*["'](sk_[^\s"']{29})["']"#,
        &["secret_key"],
        1,
    );
    freemius.path = Some(r"(?i)\.php$".into());
    let mut nuget = rule(
        "nuget-config-password",
        "Password in a NuGet configuration",
        r#"(?i)<add key="(?:ClearText)?Password"\s*value="([^"]{8,})"\s*/>"#,
        &["<add key="],
        1,
    );
    nuget.path = Some(r"(?i)nuget\.config$".into());
    let mut rules = vec![
        curl_user,
        freemius,
        aws,
        private_key,
        rule(
            "gcp-service-account",
            "Google Cloud service account key file",
            r#""type"\s*:\s*"service_account""#,
            &["service_account"],
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
        google,
        jwt,
        rule(
            "openai-key",
            "OpenAI API key",
            r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})\b",
            &["t3blbkfj"],
            1,
        ),
        rule("openai-project-key", "OpenAI project key", r"\b(sk-proj-[A-Za-z0-9_-]{80,})", &["sk-proj-"], 1),
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
        rule(
            "curl-auth-header",
            "Credentials in a curl Authorization header",
            r#"(?i)["'](?:[A-Za-z]+-)*(?:Authorization|Token|Api-?Token|Api-?Key|Auth-?Token|Access-?Token)[ \t]*:[ \t]*(?:(?:Basic|Bearer|Token|Api-?Token)[ \t]+)?([A-Za-z0-9_.=+/~@-]{8,})["']"#,
            &["authorization", "token:", "api-token", "apitoken", "api-key", "apikey"],
            1,
        ),
        nuget,
        rule(
            "azure-ad-client-secret",
            "Azure AD client secret",
            r#"(?:^|[\\'"`\s>=:(,)])([A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?:$|[\\'"`\s<),])"#,
            &["q~"],
            1,
        ),
        rule(
            "facebook-access-token",
            "Facebook access token",
            r"\b(\d{15,16}(?:\||%7[Cc])[0-9A-Za-z_-]{27,40})\b",
            &["facebook"],
            1,
        ),
    ];
    for &(id, description, regex, keywords, entropy) in TOKENS {
        let mut r = rule(id, description, regex, keywords, 1);
        // A token on the line below its tag (`<sidekiqToken>`) is found with the tag's keyword.
        r.next_line = true;
        if entropy > 0.0 {
            r.entropy = Some(entropy);
        }
        rules.push(r);
    }
    let mut provider = rule(
        "provider-key-assignment",
        "Random value assigned to a name that names a provider",
        &assignment_regex(PROVIDERS, &format!("[A-Za-z0-9_.=+/~%-]{{{PROVIDER_VALUE_MIN},}}")),
        PROVIDERS,
        2,
    );
    provider.entropy = Some(2.5);
    provider.check = Check::ProviderAssignment;
    provider.next_line = true;
    rules.push(provider);
    let mut generic = rule(
        "generic-api-key",
        "High-entropy value assigned to a secret-like name",
        &assignment_regex(SECRET_WORDS, &format!("[A-Za-z0-9_.=+/~-]{{{GENERIC_VALUE_MIN},}}")),
        SECRET_KEYWORDS,
        2,
    );
    generic.entropy = Some(3.5);
    generic.check = Check::Assignment;
    generic.next_line = true;
    rules.push(generic);
    rules
}

/// The shortest value the generic rule takes.
pub const GENERIC_VALUE_MIN: usize = 10;
/// The shortest value the provider rule takes.
pub const PROVIDER_VALUE_MIN: usize = 14;

/// `name = value` in the forms of configuration files and code: group 1 the name (containing
/// one of `words`), group 2 the value. Operators: `=`, `:`, `:=`, `::=`, `?=`, `.=`, `=>`, `,`
/// (a call's arguments) and `>` (an XML element, whose value may be on the next line).
pub(super) fn assignment_regex(words: &[&str], value: &str) -> String {
    let words: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
    format!(
        r#"(?i)(<?[A-Za-z0-9_.-]*(?:{})[A-Za-z0-9_.-]*)(?:[ \t][A-Za-z0-9_.]+)?[ \t]*["']?[ \t]*(?:=|:{{1,3}}=|\?=|\.=|=>|:|,|>)[ \t]*\r?\n?[ \t]*[`'"]?({value})(?:[`'"\s;,)<&]|\\[nrt]|$)"#,
        words.join("|")
    )
}
