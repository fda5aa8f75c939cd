//! `verify`: judge a range of commits after the fact, as CI does for a push nobody's hooks saw
//! (`git push --no-verify`). The judge is pre-push's ([`super::judge`]); what it finds missing
//! can be run here (`--run-missing`) and recorded, so another clone's pre-push reuses it.

use std::collections::BTreeMap;

use crate::config::{Config, Stage};
use crate::error::{Error, Result};
use crate::gates::{self, Verdict};
use crate::git::{ObjectId, Repo};
use crate::workflow::{Loaded, Workflow};

use super::judge::{self, Judge, Place, Problem};
use super::{gate, GateRequest};

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest<'a> {
    /// `A..B`, or one revision (every feature commit reachable from it); default HEAD.
    pub range: Option<&'a str>,
    /// Run the gates whose evidence is missing, and record it.
    pub run_missing: bool,
    /// Run the configuration's commands without a trust record.
    pub trust: bool,
}

/// A gate run `--run-missing` made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ran {
    pub commit: String,
    pub feature: String,
    pub phase: u32,
    pub gate: String,
    pub verdict: Verdict,
    pub summary: String,
}

/// What `verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    pub range: String,
    /// Commits in the range.
    pub commits: usize,
    /// Of those, the features' commits judged.
    pub judged: usize,
    /// Whether evidence recorded in clones counted (`[ci] trust_pushed_evidence`).
    pub pushed_evidence_trusted: bool,
    pub problems: Vec<Problem>,
    pub ran: Vec<Ran>,
}

/// Judge every feature commit of the range: approvals that verify and name a person, no
/// unfinished feature in its base, no hand-made commit on an integration branch, and passing
/// evidence for every phase commit's required gates.
pub fn verify(
    repo: &Repo,
    config: &Config,
    req: &VerifyRequest<'_>,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<VerifyReport> {
    let flow = Workflow::new(repo, config);
    let features: Vec<Loaded> = flow.features()?.into_iter().filter_map(|(log, _)| flow.load_log(log)).collect();
    let trusted_here = config.ci.trust_pushed_evidence;
    let spec = req.range.unwrap_or("HEAD");
    let commits = range_commits(repo, spec, &features)?;
    let mut report = VerifyReport {
        range: spec.to_string(),
        commits: commits.len(),
        judged: 0,
        pushed_evidence_trusted: trusted_here,
        problems: Vec::new(),
        ran: Vec::new(),
    };
    // A branch missing here (a CI checkout) is read from its remote-tracking copy.
    let tip = |branch: &str| -> Result<Option<ObjectId>> {
        Ok(match repo.branch_tip(branch)? {
            Some(t) => Some(t),
            None => flow.remote_copy(branch)?.map(|(_, id)| id),
        })
    };
    for loaded in &features {
        let judging = crate::workflow::judging_config(repo, Some(&loaded.feature))?;
        let places = judge::places(repo, loaded, Some(&judging.0.branches), &tip)?;
        let mut mine: Vec<(ObjectId, Place)> = commits.iter().filter_map(|c| places.get(c).map(|p| (*c, *p))).collect();
        if mine.is_empty() {
            continue;
        }
        let judge = Judge::judged_by(repo, loaded, judging)?;
        let layout = &judge.config().branches;
        report.judged += mine.len();
        let f = &loaded.feature;
        if let Err(e) = super::require_verified(repo, &loaded.log) {
            report.problems.push(feature_problem(f, e));
        }
        for (who, what) in approvals(f) {
            if !names_a_person(&who) {
                report.problems.push(feature_problem(
                    f,
                    Error::blocked(format!("{what} of {} is recorded as by `{who}`, which names no person", f.name))
                        .hint("have a person approve again from their own terminal, with their name and email set"),
                ));
            }
        }
        // A feature starts from its base as the shared history has it (the remote's copy where
        // there is one): its rules are the base's configuration at that point, and a fork the
        // base never held means rules nobody shared, let alone reviewed.
        let shared_base = match flow.remote_copy(&f.base)? {
            Some((_, id)) => Some(id),
            None => repo.branch_tip(&f.base)?,
        };
        if let Some(base) = shared_base {
            for fork in repo.commit_parents(f.created_commit)? {
                if repo.merge_base(fork, base)? != Some(fork) {
                    report.problems.push(feature_problem(
                        f,
                        Error::blocked(format!(
                            "feature {} starts from {}, which {} does not hold: the configuration that judges it never reached the base",
                            f.name,
                            fork.to_hex_with_len(10),
                            f.base
                        ))
                        .hint(format!(
                            "bring those commits of {} in through review first, then start the feature from the base as it is shared",
                            f.base
                        )),
                    ));
                }
            }
        }
        // The stricter of the checked-out configuration and the one that judges the feature
        // (its base's): a pushed branch cannot trust its own forged evidence.
        let trusted = trusted_here && judge.config().ci.trust_pushed_evidence;
        report.pushed_evidence_trusted &= trusted;
        // Commits in the base: only a finished feature's, as its finish approval covers them.
        if let Some(base) = tip(&f.base)? {
            let (on_base, rest): (Vec<_>, Vec<_>) =
                mine.into_iter().partition(|(c, _)| repo.merge_base(*c, base).ok().flatten() == Some(*c));
            mine = rest;
            let commits: Vec<ObjectId> = on_base.iter().map(|(c, _)| *c).collect();
            if let Some(p) = judge.may_reach_base(&commits)? {
                report.problems.push(p);
            }
        }
        // The tips of the phase branches: where pre-push runs its own stage's gates. One lookup
        // per phase, kept when that tip is a commit of the phase.
        let phases: std::collections::BTreeSet<u32> = places
            .values()
            .filter_map(|p| match p {
                Place::Phase(id) => Some(*id),
                Place::Integration => None,
            })
            .collect();
        let mut tips = Vec::new();
        for id in phases {
            let Some(branch) = judge::phase_branch(loaded, layout, id) else { continue };
            if let Some(t) = tip(&branch)?.filter(|t| places.get(t) == Some(&Place::Phase(id))) {
                tips.push(t);
            }
        }
        for (commit, at) in mine {
            let mut problems = judge.commit(commit, at, trusted, true)?;
            if let (Place::Phase(phase), true) = (at, tips.contains(&commit)) {
                judge.missing_evidence(commit, phase, Stage::PrePush, trusted, true, &mut problems)?;
            }
            let (missing, other): (Vec<_>, Vec<_>) = problems.into_iter().partition(|p| p.missing_gate.is_some());
            report.problems.extend(other);
            let Place::Phase(phase) = at else { continue };
            if missing.is_empty() || !req.run_missing {
                report.problems.extend(missing.into_iter().map(|p| untrusted(p, trusted)));
                continue;
            }
            let rev = commit.to_string();
            let mut stages: Vec<Stage> = missing.iter().filter_map(|p| p.stage).collect();
            stages.dedup();
            let mut outcomes = Vec::new();
            for stage in stages {
                let gate_req = GateRequest {
                    stage: Some(stage),
                    rev: Some(&rev),
                    phase: Some(phase),
                    trust: req.trust,
                    all: true,
                    // Evidence from clones is not trusted: run again whatever the notes hold.
                    force: !trusted,
                    ..GateRequest::default()
                };
                outcomes.extend(gate(repo, Some(loaded), &gate_req, progress)?.outcomes);
            }
            for p in missing {
                let name = p.missing_gate.clone().unwrap_or_default();
                let outcome = outcomes.iter().find(|o| o.evidence.gate == name);
                if let Some(o) = outcome {
                    report.ran.push(Ran {
                        commit: p.commit.clone(),
                        feature: f.name.clone(),
                        phase,
                        gate: name.clone(),
                        verdict: o.evidence.verdict,
                        summary: o.evidence.summary.clone(),
                    });
                }
                match outcome {
                    Some(o) if o.evidence.verdict == Verdict::Pass => {}
                    Some(o) => report.problems.push(Problem {
                        message: format!(
                            "commit {} on phase {phase} of {} fails `{name}`: {}",
                            p.commit, f.name, o.evidence.summary
                        ),
                        fix: format!("fix it on the phase branch, commit, and push again (gate: {name})"),
                        ..p
                    }),
                    None => report.problems.push(p),
                }
            }
        }
    }
    Ok(report)
}

/// Under `[ci] trust_pushed_evidence = false` a missing gate says why evidence did not count.
fn untrusted(mut p: Problem, trusted: bool) -> Problem {
    if !trusted {
        p.message = format!(
            "{} (evidence recorded in clones is not trusted here: [ci] trust_pushed_evidence = false)",
            p.message
        );
        p.fix = "run the gates here: git orchestrate verify --run-missing".into();
    }
    p
}

fn feature_problem(f: &crate::state::Feature, e: Error) -> Problem {
    Problem {
        commit: String::new(),
        feature: f.name.clone(),
        message: e.message,
        cause: e.causes.into_iter().next(),
        fix: e.hints.join("; "),
        missing_gate: None,
        stage: None,
        phase: None,
    }
}

/// Every approval of a feature: (who, what).
fn approvals(f: &crate::state::Feature) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut all = Vec::new();
    if let Some(a) = &f.plan_approval {
        all.push((a.by.clone(), "the plan approval".to_string()));
    }
    for (id, p) in &f.phases {
        if let Some(a) = &p.approval {
            all.push((a.by.clone(), format!("the approval of phase {id}")));
        }
    }
    if let Some(a) = &f.finish_approval {
        all.push((a.by.clone(), "the finish approval".to_string()));
    }
    for (who, what) in all {
        out.entry(what).or_insert(who);
    }
    out.into_iter().map(|(what, who)| (who, what)).collect()
}

/// `Name <email>` with a name and an address, and not the tool's own stand-in identity.
fn names_a_person(by: &str) -> bool {
    let Some((name, rest)) = by.split_once(" <") else { return false };
    let email = rest.trim_end_matches('>');
    let domain_ok = |d: &str| d.contains('.') && !d.starts_with('.') && !d.ends_with('.');
    let address = email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain_ok(domain));
    !name.trim().is_empty() && address && email != "git-orchestrate@localhost"
}

/// The commits of `spec`: `A..B`, or every commit reachable from one revision since the
/// features started.
fn range_commits(repo: &Repo, spec: &str, features: &[Loaded]) -> Result<Vec<ObjectId>> {
    let resolve = |rev: &str| -> Result<ObjectId> {
        repo.resolve_commit(rev)?.ok_or_else(|| {
            Error::usage(format!("`{rev}` names no commit"))
                .hint("pass --range A..B with two commits, branches or tags (in CI: the pushed range)")
        })
    };
    // CI names a new branch's range from the null commit: all of it is new.
    let spec = match spec.split_once("..") {
        Some((a, b)) if !a.is_empty() && a.bytes().all(|c| c == b'0') => b,
        _ => spec,
    };
    if let Some((a, b)) = spec.split_once("..") {
        if b.starts_with('.') {
            return Err(
                Error::usage(format!("`{spec}`: a symmetric range (A...B) is not a pushed range")).hint("pass A..B")
            );
        }
        let (a, b) = (resolve(if a.is_empty() { "HEAD" } else { a })?, resolve(if b.is_empty() { "HEAD" } else { b })?);
        return Ok(repo.rev_list(&[b], &[a], None)?);
    }
    let tip = resolve(spec)?;
    Ok(repo.rev_list(&[tip], &judge::features_start(repo, features)?, None)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_names_a_person() {
        assert!(names_a_person("Ada Lovelace <ada@example.com>"));
        assert!(!names_a_person("git-orchestrate <git-orchestrate@localhost>"));
        assert!(!names_a_person("ci"));
        assert!(!names_a_person(" <ada@example.com>"));
        assert!(!names_a_person("Ada <nobody>"));
        assert!(!names_a_person("x <@>"), "an address needs a mailbox and a domain");
        assert!(!names_a_person("x <a@localhost>"));
    }
}
