//! Consent before commands. A repository's `.orchestrate.toml` names commands (gate `run`s,
//! their environment); a fresh clone's would run them on the first commit or push. They run only
//! once this user has trusted their content hash, recorded in the user's own configuration
//! directory, outside every repository, so nothing inside a repository can grant it. A changed
//! command set is another hash, and needs trust again. This module reads and writes that record;
//! it never prints.

use std::io::Write as _;
use std::path::PathBuf;

use crate::config::Config;
use crate::gates::{Kind, Spec};

/// The commands a configuration would run, gate by gate, and the hash trust is given to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Commands {
    pub hash: String,
    pub commands: Vec<Command>,
}

/// One gate's command and the environment it is given.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Command {
    pub gate: String,
    pub run: String,
    pub env: Vec<(String, String)>,
    /// The work tree's directories the gate's build caches are seeded from (trusted as they are).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seed: Vec<String>,
}

/// The commands of `config` (none when it only has built-in gates). Every gate's own `run` and
/// `env` count, whether or not the gate resolves as it is: a plan's thresholds may complete a
/// gate later, but never its command.
pub fn commands(config: &Config) -> Commands {
    let mut commands = Vec::new();
    for (name, gate) in &config.gates {
        let resolved = Spec::resolve(name, gate, None).ok();
        if resolved.as_ref().is_some_and(|s| matches!(s.kind, Kind::Secrets | Kind::Scope)) && gate.run.is_none() {
            continue;
        }
        let run = gate
            .run
            .clone()
            .or_else(|| resolved.and_then(|s| s.config.run))
            .or_else(|| {
                let scanner = gate.scanner.as_deref()?;
                let report = gate.report.clone().unwrap_or_else(|| format!(".orchestrate-{scanner}.json"));
                crate::gates::scanner::default_command(scanner, &report)
            })
            .unwrap_or_default();
        if run.is_empty() && gate.env.is_empty() && gate.seed.is_empty() {
            continue;
        }
        let env = gate.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        commands.push(Command { gate: name.clone(), run, env, seed: gate.seed.clone() });
    }
    let canonical = serde_json::to_string(&commands).expect("commands serialize");
    let hash = crate::git::blob_id(canonical.as_bytes()).to_string();
    Commands { hash, commands }
}

fn store() -> Option<PathBuf> {
    crate::env::config_dir().map(|d| d.join("trusted"))
}

/// Whether this user trusts the command set `hash`.
pub fn is_trusted(hash: &str) -> bool {
    let Some(path) = store() else { return false };
    std::fs::read_to_string(path).is_ok_and(|text| text.lines().any(|l| l.split_whitespace().next() == Some(hash)))
}

/// Record that this user trusts `hash`; returns the file it is recorded in.
pub fn trust(hash: &str) -> std::io::Result<PathBuf> {
    let path = store().ok_or_else(|| std::io::Error::other("no home directory to record trust in (set HOME)"))?;
    if is_trusted(hash) {
        return Ok(path);
    }
    std::fs::create_dir_all(path.parent().expect("has a parent"))?;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    writeln!(file, "{hash}")?;
    Ok(path)
}
