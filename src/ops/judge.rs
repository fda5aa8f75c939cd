//! The one judge of a feature's commits, shared by pre-push (the commits a push brings) and
//! `verify` (the commits of a range, in CI): where each commit belongs, and what it lacks.

use std::collections::HashMap;

use crate::config::{Config, Stage};
use crate::error::{Error, Result};
use crate::gates::{self, signing::Signing, Key, Verdict};
use crate::git::{ObjectId, Repo};
use crate::plan::Plan;
use crate::state::Approval;
use crate::workflow::Loaded;

/// Where a commit of a feature was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Phase(u32),
    Integration,
}

/// Something a commit lacks, with the command that fixes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub commit: String,
    pub feature: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub fix: String,
    /// The phase whose gate evidence is missing (what `--run-missing` can supply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_gate: Option<String>,
    /// The stage whose gate it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    #[serde(skip)]
    pub phase: Option<u32>,
}

impl Problem {
    pub fn into_error(self) -> Error {
        let mut err = Error::blocked(self.message);
        err.causes.extend(self.cause.iter().flat_map(|c| c.lines()).map(str::to_string));
        err.hints.extend(self.fix.lines().map(str::to_string));
        err
    }
}

/// Every commit of the feature's branches since it started, by where it was made. `tip` finds a
/// branch's tip: local branches for pre-push, remote-tracking copies as well for `verify`.
/// With `layout` (the judging configuration's branch names), a planned phase with no recorded
/// start is found by its branch's name too.
pub fn places(
    repo: &Repo,
    loaded: &Loaded,
    layout: Option<&crate::config::Branches>,
    tip: &dyn Fn(&str) -> Result<Option<ObjectId>>,
) -> Result<HashMap<ObjectId, Place>> {
    let f = &loaded.feature;
    let mut place = HashMap::new();
    let created = Some(f.created_commit);
    let start = match created {
        Some(c) => repo.commit_parents(c).unwrap_or_default(),
        None => Vec::new(),
    };
    if let Some(t) = tip(&f.branch)? {
        for c in repo.rev_list(&[t], &start, None)? {
            place.insert(c, Place::Integration);
        }
    }
    if let Some(c) = created {
        place.entry(c).or_insert(Place::Integration);
    }
    for (id, rec) in &f.phases {
        let fork = rec.fork;
        if let Some(t) = tip(&rec.branch)? {
            for c in repo.rev_list(&[t], &fork.into_iter().collect::<Vec<_>>(), None)? {
                place.entry(c).or_insert(Place::Phase(*id));
            }
        }
    }
    // A phase whose start was never recorded here (its clone never shared it) is still found
    // by the branch name the layout gives it: its commits past the integration branch are its.
    if let (Some((plan, _)), Some(layout)) = (loaded.plan.as_ref().ok(), layout) {
        let integration = tip(&f.branch)?.into_iter().chain(start.iter().copied()).collect::<Vec<_>>();
        for def in &plan.phases {
            if f.phases.contains_key(&def.id) {
                continue;
            }
            if let Some(t) = tip(&phase_branch(loaded, layout, def.id).unwrap_or_default())? {
                for c in repo.rev_list(&[t], &integration, None)? {
                    place.entry(c).or_insert(Place::Phase(def.id));
                }
            }
        }
    }
    Ok(place)
}

/// Where "every commit since the features started" begins: the newest commit that every
/// feature's start descends from. Excluding each start's parents instead would hide an older
/// feature's commits, merged into the base before a newer feature started, behind the newer
/// one's start. Empty (nothing excluded) without features or when histories are unrelated.
pub fn features_start(repo: &Repo, features: &[Loaded]) -> Result<Vec<ObjectId>> {
    let mut starts = features.iter().flat_map(|l| repo.commit_parents(l.feature.created_commit).unwrap_or_default());
    let Some(first) = starts.next() else { return Ok(Vec::new()) };
    let mut common = Some(first);
    for s in starts {
        common = match common {
            Some(c) => repo.merge_base(c, s)?,
            None => None,
        };
    }
    Ok(common.into_iter().collect())
}

/// The branch of phase `id`: the one its start recorded, else the one the layout gives it.
pub fn phase_branch(loaded: &Loaded, layout: &crate::config::Branches, id: u32) -> Option<String> {
    let f = &loaded.feature;
    match f.phases.get(&id) {
        Some(rec) => Some(rec.branch.clone()),
        None => {
            loaded.plan.as_ref().ok().and_then(|(p, _)| p.phase(id)).map(|def| layout.phase(&f.name, id, &def.slug()))
        }
    }
}

/// What judges one feature's commits: its judging configuration, evidence policy and plan.
pub struct Judge<'a> {
    repo: &'a Repo,
    loaded: &'a Loaded,
    config: Config,
    config_blob: Option<ObjectId>,
    signing: Option<Signing>,
    tool: Vec<ObjectId>,
}

impl<'a> Judge<'a> {
    pub fn new(repo: &'a Repo, loaded: &'a Loaded) -> Result<Self> {
        Self::judged_by(repo, loaded, crate::workflow::judging_config(repo, Some(&loaded.feature))?)
    }

    /// A judge under the judging configuration already read (`judging_config` of the feature).
    pub fn judged_by(
        repo: &'a Repo,
        loaded: &'a Loaded,
        (config, config_blob): (Config, Option<ObjectId>),
    ) -> Result<Self> {
        let f = &loaded.feature;
        let signing = crate::workflow::evidence_signing(repo, Some(f))?;
        let tool = f.tool_commits();
        Ok(Self { repo, loaded, config, config_blob, signing, tool })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn plan(&self) -> Option<&Plan> {
        self.loaded.plan.as_ref().ok().map(|(p, _)| p)
    }

    /// Whether `commit` is in what a person approved at a pause point (`approval`'s commit).
    pub fn approved_by(&self, commit: ObjectId, approval: Option<&Approval>) -> Result<bool> {
        let Some(a) = approval else { return Ok(false) };
        Ok(self.repo.merge_base(commit, a.what)? == Some(commit))
    }

    /// Whether every one of `commits` reached the base with the feature finished, as its finish
    /// approval covers it.
    pub fn may_reach_base(&self, commits: &[ObjectId]) -> Result<Option<Problem>> {
        let f = &self.loaded.feature;
        for c in commits {
            if f.finished.is_none() || !self.approved_by(*c, f.finished.as_ref())? {
                return Ok(Some(Problem {
                    commit: c.to_hex_with_len(10).to_string(),
                    feature: f.name.clone(),
                    message: format!("feature {}'s commits reach {} and the feature is not finished", f.name, f.base),
                    cause: None,
                    fix: format!("a person finishes a feature first: git orchestrate finish --feature {}", f.name),
                    missing_gate: None,
                    stage: None,
                    phase: None,
                }));
            }
        }
        Ok(None)
    }

    /// The problems of one commit made at `at`. `evidence` says whether recorded gate evidence
    /// counts (`verify` under `[ci] trust_pushed_evidence = false` counts none of it). With
    /// `all`, every missing gate is named; else the first problem ends the judging.
    pub fn commit(&self, commit: ObjectId, at: Place, evidence: bool, all: bool) -> Result<Vec<Problem>> {
        let f = &self.loaded.feature;
        let repo = self.repo;
        let short = commit.to_hex_with_len(10).to_string();
        let problem = |message: String, fix: String, gate: Option<String>, phase: Option<u32>| Problem {
            commit: short.clone(),
            feature: f.name.clone(),
            message,
            cause: None,
            fix,
            missing_gate: gate,
            stage: None,
            phase,
        };
        if self.tool.contains(&commit) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        match at {
            Place::Integration if self.approved_by(commit, f.finish_approval.as_ref())? => {}
            Place::Integration => {
                let parents = repo.commit_parents(commit)?;
                let parent_tree = parents.first().map(|p| repo.commit_tree(*p)).transpose()?;
                let outside = super::outside_plan(repo, f, parent_tree, repo.commit_tree(commit)?)?;
                if !outside.is_empty() {
                    let err = super::hand_made(f, &format!("commit {short}"), &outside);
                    let mut p = problem(err.message, err.hints.join("\n"), None, None);
                    p.cause = (!err.causes.is_empty()).then(|| err.causes.join("\n"));
                    out.push(p);
                }
            }
            Place::Phase(p) => {
                let branch = f.phases.get(&p).map_or_else(|| format!("phase {p}"), |r| r.branch.clone());
                let what = format!("the message of commit {short} on {branch} needs work");
                if let Some(err) = crate::commitmsg::judge(&repo.commit_message(commit)?, what) {
                    let mut fix = err.hints;
                    fix.push(format!("reword it (git rebase -i {short}~1, `reword`), then push again"));
                    let mut found = problem(err.message, fix.join("\n"), None, Some(p));
                    found.cause = (!err.causes.is_empty()).then(|| err.causes.join("\n"));
                    out.push(found);
                    if !all {
                        return Ok(out);
                    }
                }
                self.missing_evidence(commit, p, Stage::PreCommit, evidence, all, &mut out)?;
            }
        }
        Ok(out)
    }

    /// A problem for each of `stage`'s required gates without passing evidence for `commit`'s
    /// tree, judged as phase `phase` (pre-commit: every commit of a phase; pre-push: its tip).
    pub fn missing_evidence(
        &self,
        commit: ObjectId,
        phase: u32,
        stage: Stage,
        evidence: bool,
        all: bool,
        out: &mut Vec<Problem>,
    ) -> Result<()> {
        let f = &self.loaded.feature;
        let repo = self.repo;
        let short = commit.to_hex_with_len(10).to_string();
        let branch = f.phases.get(&phase).map_or_else(|| format!("phase {phase}"), |r| r.branch.clone());
        let def = self.plan().and_then(|pl| pl.phase(phase));
        let key = Key {
            config_blob: self.config_blob,
            phase: Some(phase),
            base: super::fork_tree(repo, f, phase)?,
            scope: def.map(|d| d.paths.as_slice()),
        };
        let required: Vec<_> = gates::select(&self.config, Some(stage), &[], &key, def.map(|d| &d.gates))?
            .into_iter()
            .filter(|s| s.required && self.config.lane_allows(f.lane.as_deref(), &s.name))
            .collect();
        if required.is_empty() {
            return Ok(());
        }
        let records = if evidence { gates::evidence_for(repo, repo.commit_tree(commit)?)? } else { Vec::new() };
        let what = if self.signing.is_some() { "signed, passing" } else { "passing" };
        let (when, fix) = match stage {
            Stage::PreCommit => ("was it made with --no-verify?", "pre-commit"),
            _ => ("was it pushed with --no-verify?", stage.as_str()),
        };
        for spec in &required {
            let passed =
                gates::cached(&records, spec, self.signing.as_ref())?.is_some_and(|e| e.verdict == Verdict::Pass);
            if passed {
                continue;
            }
            out.push(Problem {
                commit: short.clone(),
                feature: f.name.clone(),
                message: format!("commit {short} on {branch} has no {what} `{}` evidence: {when}", spec.name),
                cause: None,
                fix: format!(
                    "gate it now: git orchestrate gate --rev {short} --stage {fix} --feature {} --phase {phase}; then push again",
                    f.name
                ),
                missing_gate: Some(spec.name.clone()),
                stage: Some(stage),
                phase: Some(phase),
            });
            if !all {
                return Ok(());
            }
        }
        Ok(())
    }
}
