//! The record of a verdict: `Evidence`, one JSON line in the note of the tree it judged
//! (`refs/notes/orchestrate-evidence`), and the cache that reads it back: the same tree (or the
//! same inputs) with the same configuration is never gated twice.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{in_scope, signing, Context, Error, Kind, Spec};
use crate::config::Stage;
use crate::git::{ObjectId, Repo};

/// The notes ref that holds gate evidence, one note per tree.
pub const EVIDENCE_REF: &str = "refs/notes/orchestrate-evidence";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The gate could not judge (timeout, broken report, bad configuration). Never cached.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }
}

/// What a gate run found: the evidence recorded in notes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    pub gate: String,
    pub kind: Kind,
    pub tree: String,
    pub fingerprint: String,
    pub verdict: Verdict,
    /// The key figure, for tables: "42 passed", "87.5 % (min 80)".
    pub summary: String,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub figures: BTreeMap<String, serde_json::Value>,
    pub command: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub stage: Stage,
    pub ts: String,
    pub by: String,
    pub feature: Option<String>,
    pub phase: Option<u32>,
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    #[serde(default)]
    pub output_tail: String,
    /// The inputs key (see [`inputs_key`]) when the gate declares `inputs`: the evidence holds
    /// for every snapshot whose inputs are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    /// The ssh signature of [`Evidence::signed_payload`], under `approvals.require = "signed"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

impl Evidence {
    /// A passing record for `spec` on the context's snapshot, with nothing measured yet.
    pub(super) fn begin(spec: &Spec, ctx: &Context, by: &str) -> Self {
        Evidence {
            gate: spec.name.clone(),
            kind: spec.kind,
            tree: ctx.tree.to_string(),
            fingerprint: spec.fingerprint.clone(),
            verdict: Verdict::Pass,
            summary: String::new(),
            reasons: Vec::new(),
            figures: BTreeMap::new(),
            command: None,
            exit_code: None,
            duration_ms: 0,
            stage: ctx.stage,
            ts: {
                let now = crate::env::now();
                now.round(jiff::Unit::Millisecond).unwrap_or(now).to_string()
            },
            by: by.to_string(),
            feature: ctx.feature.clone(),
            phase: ctx.phase,
            tools: BTreeMap::from([("git-orchestrate".to_string(), env!("CARGO_PKG_VERSION").to_string())]),
            output_tail: String::new(),
            inputs: None,
            sig: None,
        }
    }

    /// What a signature covers: the record's line without its signature.
    pub fn signed_payload(&self) -> String {
        let unsigned = Evidence { sig: None, ..self.clone() };
        serde_json::to_string(&unsigned).expect("evidence serializes")
    }

    /// The record as a line of its tree's note.
    pub(super) fn line(&self) -> String {
        serde_json::to_string(self).expect("evidence serializes") + "\n"
    }
}

/// Earlier evidence for this gate, tree and configuration, if it reached a verdict: among a
/// tree's `records` (from [`evidence_for`]), the newest that reached a verdict for this gate and
/// configuration and counts under `signing`.
pub fn cached<'e>(
    records: &'e [Evidence],
    spec: &Spec,
    signing: Option<&signing::Signing>,
) -> Result<Option<&'e Evidence>, Error> {
    let candidates = records
        .iter()
        .rev()
        .filter(|e| e.gate == spec.name && e.fingerprint == spec.fingerprint && e.verdict != Verdict::Error);
    for e in candidates {
        if signing::admits(signing, e)? {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// Every evidence record for a tree.
pub fn evidence_for(repo: &Repo, tree: ObjectId) -> Result<Vec<Evidence>, Error> {
    match repo.notes_tree(EVIDENCE_REF)? {
        Some(notes) => evidence_in(&notes, tree),
        None => Ok(Vec::new()),
    }
}

/// Every evidence record for a tree, from the evidence notes read once (for `status`).
pub fn evidence_in(notes: &crate::git::notes::NotesTree, tree: ObjectId) -> Result<Vec<Evidence>, Error> {
    let Some(note) = notes.get(tree)? else { return Ok(Vec::new()) };
    let key = tree.to_string();
    // A record copied from another tree's note is not evidence for this one. Under an inputs
    // key (a blob listing the inputs, see [`inputs_key`]) the record names that key.
    Ok(String::from_utf8_lossy(&note)
        .lines()
        .filter_map(|l| serde_json::from_str::<Evidence>(l).ok())
        .filter(|e| e.tree == key || e.inputs.as_deref() == Some(key.as_str()))
        .collect())
}

/// The key evidence of a gate with `inputs` is kept under: a blob (written, so the key names a
/// real object) listing the gate's fingerprint and each file of the snapshot the globs match,
/// with its blob id. A change outside the inputs keeps the key: the gate does not run again.
pub(super) fn inputs_key(
    repo: &Repo,
    spec: &Spec,
    ctx: &Context,
    files: &std::cell::OnceCell<Vec<(String, ObjectId)>>,
) -> Result<Option<ObjectId>, Error> {
    if spec.config.inputs.is_empty() || !spec.kind.runs_command() {
        return Ok(None);
    }
    let files = if let Some(f) = files.get() {
        f
    } else {
        let listed = repo.tree_blobs(ctx.tree)?;
        files.get_or_init(|| listed)
    };
    let mut text = format!("git-orchestrate gate inputs\nfingerprint {}\n", spec.fingerprint);
    for (path, id) in files.iter().filter(|(p, _)| in_scope(p, &spec.config.inputs)) {
        let _ = writeln!(text, "{id} {path}");
    }
    Ok(Some(repo.write_blob(text.as_bytes())?))
}
