//! The scope gate: on a phase, every file the change touches is inside the paths the plan lists
//! for it; and the path matching the engine uses for `inputs` and coverage's `exclude`.

use super::{diff_of, Context, Error, Evidence, Spec, Verdict};
use crate::git::Repo;

/// Whether `path` is one of the feature's own documents: a Markdown file directly in
/// `plans/<feature>/` (the plan, the phase reports). Nothing else there is exempt from scope or
/// from the integration branch's rule: code, scripts and links are not documents.
pub fn is_plan_document(feature: &str, path: &str) -> bool {
    path.strip_prefix("plans/")
        .and_then(|rest| rest.strip_prefix(feature))
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|name| name.strip_suffix(".md"))
        .is_some_and(|stem| !stem.contains('/') && !stem.is_empty())
}

/// Whether `path` is inside one of the phase's path patterns (`*` stays within a directory,
/// `**` crosses them; a plain path covers the directory below it).
pub fn in_scope(path: &str, patterns: &[String]) -> bool {
    use gix::bstr::ByteSlice;
    let mode = gix::glob::wildmatch::Mode::NO_MATCH_SLASH_LITERAL;
    patterns.iter().any(|p| {
        let p = p.trim_end_matches('/');
        gix::glob::wildmatch(p.as_bytes().as_bstr(), path.as_bytes().as_bstr(), mode)
            || (!p.contains(['*', '?', '[']) && path.starts_with(&format!("{p}/")))
    })
}

/// The scope gate: on a phase, every file the change touches is one the plan lists for it (the
/// feature's own `plans/<feature>/` is always in scope).
pub(super) fn gate(repo: &Repo, spec: &Spec, ctx: &Context, by: &str) -> Result<Evidence, Error> {
    let start = std::time::Instant::now();
    let mut e = Evidence::begin(spec, ctx, by);
    match (&ctx.scope, ctx.base) {
        (None, _) => e.summary = "not on a phase".into(),
        (Some(paths), _) if paths.is_empty() => {
            e.summary = "the plan lists no paths".into();
            e.reasons.push("note: list the phase's `paths` in the plan so its scope can be checked".into());
        }
        (Some(_), None) => e.summary = "nothing to compare with".into(),
        (Some(paths), Some(_)) => {
            let changed: Vec<&String> = diff_of(repo, ctx)?.iter().map(|c| &c.path).collect();
            let outside: Vec<&String> = changed
                .iter()
                .copied()
                .filter(|f| {
                    !ctx.feature.as_deref().is_some_and(|name| is_plan_document(name, f)) && !in_scope(f, paths)
                })
                .collect();
            e.figures.insert("files".into(), changed.len().into());
            e.summary = format!("{} of {} files outside", outside.len(), changed.len());
            if !outside.is_empty() {
                e.verdict = Verdict::Fail;
                e.reasons.push(format!(
                    "outside the phase's paths ({}): {}",
                    paths.join(", "),
                    outside.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
                e.figures.insert("outside".into(), outside.iter().map(|s| s.as_str()).collect::<Vec<_>>().into());
            }
        }
    }
    e.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(e)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_markdown_directly_in_the_feature_s_folder_is_a_plan_document() {
        use super::is_plan_document as doc;
        assert!(doc("x", "plans/x/plan.md"));
        assert!(doc("x", "plans/x/phase-1-complete.md"));
        for not in [
            "plans/x/conftest.py",
            "plans/x/sub/a.md",
            "plans/xy/plan.md",
            "plans/x/.md",
            "plans/x/srclink",
            "src/plans/x/a.md",
        ] {
            assert!(!doc("x", not), "{not}");
        }
    }
}
