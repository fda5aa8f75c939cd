//! The event log and what it folds into. Each feature's log is a git note of JSON lines, one
//! event a line, so logs written in two clones merge by union. Nothing "current" is stored:
//! state is always derived by folding the log. This module knows events, not git.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("{place}: line {line} of the event log is not a valid event: {reason}")]
pub struct Error {
    pub place: String,
    pub line: usize,
    pub reason: String,
}

impl Error {
    pub fn hint(&self) -> String {
        format!(
            "the note was edited by hand or damaged; inspect it with `git notes --ref=orchestrate show {}` and remove or repair line {}",
            self.place.rsplit(' ').next().unwrap_or_default(),
            self.line
        )
    }
}

/// One record of the log. `seq` is a Lamport clock (one more than the highest seen when it was
/// written), so merged logs keep causal order even when clocks disagree; `id` breaks ties.
///
/// On disk an event is one flat JSON object: `{"seq":…,"ts":…,"id":…,"by":…,"event":"…",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Wire", try_from = "Wire")]
pub struct Event {
    pub seq: u64,
    pub ts: String,
    pub id: String,
    pub by: String,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum What {
    Created {
        feature: String,
        title: String,
        base: String,
        branch: String,
        plan: String,
        commit: String,
    },
    PlanApproved {
        plan_blob: String,
        note: Option<String>,
        /// The agent environment the approval was given from, when the user opted in.
        agent: Option<String>,
    },
    PhaseStarted {
        phase: u32,
        branch: String,
        fork: String,
    },
    PhaseApproved {
        phase: u32,
        commit: String,
        tree: String,
        note: Option<String>,
        agent: Option<String>,
        /// Gates a person let through without passing evidence: `<gate>: <reason>`.
        overrides: Vec<String>,
    },
    /// A gate skipped on a phase's snapshot (`ORCHESTRATE_SKIP`). Verdicts live only in
    /// `refs/notes/orchestrate-evidence`; logs written before that also hold `pass`/`fail` here.
    GateRun {
        phase: u32,
        gate: String,
        tree: String,
        fingerprint: String,
        verdict: String,
    },
    /// An event written by a newer version: kept in the log, ignored by the fold.
    Unknown,
}

/// The flat shape of an event on disk. Parsing this directly (rather than a flattened, tagged
/// enum, which serde buffers field by field) keeps `status` on a 10 000-event log fast.
#[derive(Default, Serialize, Deserialize)]
struct Wire {
    seq: u64,
    ts: String,
    id: String,
    by: String,
    event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan_blob: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fork: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tree: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdict: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    overrides: Vec<String>,
}

impl From<Event> for Wire {
    fn from(e: Event) -> Self {
        let mut w = Wire { seq: e.seq, ts: e.ts, id: e.id, by: e.by, event: e.what.name().into(), ..Wire::default() };
        match e.what {
            What::Created { feature, title, base, branch, plan, commit } => {
                (w.feature, w.title, w.base, w.branch, w.plan, w.commit) =
                    (Some(feature), Some(title), Some(base), Some(branch), Some(plan), Some(commit));
            }
            What::PlanApproved { plan_blob, note, agent } => {
                (w.plan_blob, w.note, w.agent) = (Some(plan_blob), note, agent);
            }
            What::PhaseStarted { phase, branch, fork } => {
                (w.phase, w.branch, w.fork) = (Some(phase), Some(branch), Some(fork));
            }
            What::PhaseApproved { phase, commit, tree, note, agent, overrides } => {
                (w.phase, w.commit, w.tree, w.note, w.agent, w.overrides) =
                    (Some(phase), Some(commit), Some(tree), note, agent, overrides);
            }
            What::GateRun { phase, gate, tree, fingerprint, verdict } => {
                (w.phase, w.gate, w.tree, w.fingerprint, w.verdict) =
                    (Some(phase), Some(gate), Some(tree), Some(fingerprint), Some(verdict));
            }
            What::Unknown => {}
        }
        w
    }
}

impl TryFrom<Wire> for Event {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        fn need<T>(value: Option<T>, event: &str, field: &str) -> Result<T, String> {
            value.ok_or_else(|| format!("a `{event}` event needs `{field}`"))
        }
        let e = w.event.as_str();
        let what = match e {
            "created" => What::Created {
                feature: need(w.feature, e, "feature")?,
                title: need(w.title, e, "title")?,
                base: need(w.base, e, "base")?,
                branch: need(w.branch, e, "branch")?,
                plan: need(w.plan, e, "plan")?,
                commit: need(w.commit, e, "commit")?,
            },
            "plan-approved" => {
                What::PlanApproved { plan_blob: need(w.plan_blob, e, "plan_blob")?, note: w.note, agent: w.agent }
            }
            "phase-started" => What::PhaseStarted {
                phase: need(w.phase, e, "phase")?,
                branch: need(w.branch, e, "branch")?,
                fork: need(w.fork, e, "fork")?,
            },
            "phase-approved" => What::PhaseApproved {
                phase: need(w.phase, e, "phase")?,
                commit: need(w.commit, e, "commit")?,
                tree: need(w.tree, e, "tree")?,
                note: w.note,
                agent: w.agent,
                overrides: w.overrides,
            },
            "gate-run" => What::GateRun {
                phase: need(w.phase, e, "phase")?,
                gate: need(w.gate, e, "gate")?,
                tree: need(w.tree, e, "tree")?,
                fingerprint: need(w.fingerprint, e, "fingerprint")?,
                verdict: need(w.verdict, e, "verdict")?,
            },
            _ => What::Unknown,
        };
        Ok(Event { seq: w.seq, ts: w.ts, id: w.id, by: w.by, what })
    }
}

impl What {
    /// Text a person wrote into the event (a title, an approval note), if any.
    pub fn free_text(&self) -> Option<&str> {
        match self {
            What::Created { title, .. } => Some(title),
            What::PlanApproved { note, .. } | What::PhaseApproved { note, .. } => note.as_deref(),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            What::Created { .. } => "created",
            What::PlanApproved { .. } => "plan-approved",
            What::PhaseStarted { .. } => "phase-started",
            What::PhaseApproved { .. } => "phase-approved",
            What::GateRun { .. } => "gate-run",
            What::Unknown => "unknown",
        }
    }
}

/// A unique id: time, process and a counter, mixed with per-process randomness.
fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(jiff::Timestamp::now().as_nanosecond().unsigned_abs());
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut id = String::new();
    let _ = write!(id, "{:016x}{:08x}", h.finish(), std::process::id());
    id
}

impl Event {
    /// A new event that follows everything in `log`.
    pub fn new(log: &[Event], by: &str, what: What) -> Self {
        let seq = log.iter().map(|e| e.seq).max().unwrap_or(0) + 1;
        let ts = jiff::Timestamp::now().round(jiff::Unit::Microsecond).unwrap_or_else(|_| jiff::Timestamp::now());
        Self { seq, ts: ts.to_string(), id: new_id(), by: by.into(), what }
    }

    /// The line stored in the note.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("events always serialize");
        line.push('\n');
        line
    }
}

/// Parse a note's lines into events in log order. `place` names the note in errors.
pub fn parse_log(place: &str, text: &[u8]) -> Result<Vec<Event>, Error> {
    let text = std::str::from_utf8(text).map_err(|e| Error { place: place.into(), line: 1, reason: e.to_string() })?;
    let mut events = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(line).map_err(|e| Error {
            place: place.into(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        // A union merge can leave the same record twice; it happened once.
        if seen.insert(event.id.clone()) {
            events.push(event);
        }
    }
    events.sort_by(|a, b| (a.seq, &a.ts, &a.id).cmp(&(b.seq, &b.ts, &b.id)));
    Ok(events)
}

/// A feature as its log tells it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Feature {
    pub name: String,
    pub title: String,
    pub base: String,
    pub branch: String,
    pub plan: String,
    /// The commit that added the plan: where the plan is read when the branch is gone.
    pub created_commit: String,
    pub created_by: String,
    pub created_at: String,
    pub plan_approval: Option<Approval>,
    pub phases: BTreeMap<u32, PhaseRecord>,
    /// The last recorded run (a skip) of each gate on each phase: (phase, gate) → run.
    #[serde(skip)]
    pub gate_runs: BTreeMap<(u32, String), GateRunRecord>,
    pub events: usize,
}

impl Feature {
    /// Whether the plan's approval covers `plan_blob`, the plan as committed now.
    pub fn plan_approved_as(&self, plan_blob: Option<crate::git::ObjectId>) -> bool {
        let blob = plan_blob.map(|b| b.to_string());
        self.plan_approval.as_ref().is_some_and(|a| Some(&a.what) == blob.as_ref())
    }

    /// The commits the tool made itself: the plan commit and each phase's squash.
    pub fn tool_commits(&self) -> Vec<&str> {
        std::iter::once(self.created_commit.as_str())
            .chain(self.phases.values().filter_map(|p| p.approval.as_ref().map(|a| a.what.as_str())))
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GateRunRecord {
    pub tree: String,
    pub fingerprint: String,
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub by: String,
    pub at: String,
    /// What was approved: the plan blob, or the phase's squash commit.
    pub what: String,
    /// The agent environment it was given from (the user opted in), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Gates let through by a person's named decision: `<gate>: <reason>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseRecord {
    pub branch: String,
    pub fork: String,
    pub started_by: String,
    pub started_at: String,
    pub approval: Option<Approval>,
}

/// Fold a feature's log into its state. Returns `None` when the log has no `created` event.
pub fn fold(events: &[Event]) -> Option<Feature> {
    let mut feature: Option<Feature> = None;
    for e in events {
        if let What::Created { feature: name, title, base, branch, plan, commit } = &e.what {
            feature = Some(Feature {
                name: name.clone(),
                title: title.clone(),
                base: base.clone(),
                branch: branch.clone(),
                plan: plan.clone(),
                created_commit: commit.clone(),
                created_by: e.by.clone(),
                created_at: e.ts.clone(),
                ..Feature::default()
            });
        }
        let Some(f) = feature.as_mut() else { continue };
        f.events += 1;
        match &e.what {
            What::PlanApproved { plan_blob, agent, .. } => {
                f.plan_approval = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: plan_blob.clone(),
                    agent: agent.clone(),
                    overrides: Vec::new(),
                });
            }
            What::PhaseStarted { phase, branch, fork } => {
                let p = f.phases.entry(*phase).or_default();
                *p = PhaseRecord {
                    branch: branch.clone(),
                    fork: fork.clone(),
                    started_by: e.by.clone(),
                    started_at: e.ts.clone(),
                    approval: p.approval.clone(),
                };
            }
            What::PhaseApproved { phase, commit, agent, overrides, .. } => {
                f.phases.entry(*phase).or_default().approval = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: commit.clone(),
                    agent: agent.clone(),
                    overrides: overrides.clone(),
                });
            }
            What::GateRun { phase, gate, tree, fingerprint, verdict } => {
                f.gate_runs.insert(
                    (*phase, gate.clone()),
                    GateRunRecord { tree: tree.clone(), fingerprint: fingerprint.clone(), verdict: verdict.clone() },
                );
            }
            What::Created { .. } | What::Unknown => {}
        }
    }
    feature
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> What {
        What::Created {
            feature: "f".into(),
            title: "T".into(),
            base: "main".into(),
            branch: "orchestrate/f/main".into(),
            plan: "plans/f/plan.md".into(),
            commit: "0".repeat(40),
        }
    }

    #[test]
    fn union_merged_logs_fold_in_causal_order() {
        let a = Event::new(&[], "A <a@x>", created());
        let b = Event::new(
            std::slice::from_ref(&a),
            "B <b@x>",
            What::PlanApproved { plan_blob: "1".repeat(40), note: None, agent: None },
        );
        // A union merge (cat_sort_uniq) sorts lines and may duplicate them.
        let mut lines = [b.to_line(), a.to_line(), b.to_line()];
        lines.sort();
        let log = parse_log("test", lines.concat().as_bytes()).unwrap();
        assert_eq!(log, vec![a, b]);
        let f = fold(&log).unwrap();
        assert_eq!(f.plan_approval.unwrap().by, "B <b@x>");
        assert_eq!(f.events, 2);
    }

    #[test]
    fn unknown_events_are_kept_but_ignored() {
        let line = r#"{"seq":1,"ts":"2026-01-01T00:00:00Z","id":"x","by":"A","event":"from-the-future","extra":1}"#;
        let log = parse_log("test", line.as_bytes()).unwrap();
        assert_eq!(log[0].what, What::Unknown);
        assert!(fold(&log).is_none());
    }

    #[test]
    fn corrupt_line_names_its_place() {
        let good = Event::new(&[], "A", created()).to_line();
        let err = parse_log("feature f", format!("{good}not json\n").as_bytes()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("feature f: line 2"));
    }
}
