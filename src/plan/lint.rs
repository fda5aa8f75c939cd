//! Front-matter extraction and every check a plan goes through, each with its place and fix.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{valid_slug, Diagnostic, Phase, Plan, Severity, COMMIT_TYPES};

/// Gates every plan may name, besides the ones `.orchestrate.toml` defines.
pub const BUILTIN_GATES: &[&str] = &["tests", "coverage", "secrets", "audit", "scope", "lint", "commit-msg"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    feature: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    base: Option<Spanned<String>>,
    /// Free-form data for people and other tools; never interpreted.
    #[allow(dead_code)]
    meta: Option<toml::Table>,
    #[serde(default, rename = "phase")]
    phases: Vec<Spanned<RawPhase>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    id: Option<Spanned<i64>>,
    title: Option<Spanned<String>>,
    owner: Option<Spanned<String>>,
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    tasks: Vec<String>,
    #[serde(default)]
    tests: Vec<String>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    depends_on: Option<Vec<Spanned<i64>>>,
    #[serde(default)]
    risks: Vec<String>,
    gates: Option<Spanned<toml::Table>>,
}

/// Everything `plan lint` found, and the plan when no error stopped it.
pub struct Lint {
    pub plan: Option<Plan>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Lint {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }
}

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    /// Byte offset of the front matter inside `text`.
    offset: usize,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn at(&mut self, severity: Severity, span: Range<usize>, message: String, hint: Option<&str>) {
        // `usize::MAX` marks the opening fence itself (for keys that are missing altogether).
        let pos = if span.start == usize::MAX { 0 } else { (self.offset + span.start).min(self.text.len()) };
        let before = &self.text[..pos];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.out.push(Diagnostic { severity, file: self.file.into(), line, col, message, hint: hint.map(Into::into) });
    }

    fn error(&mut self, span: Range<usize>, message: String, hint: &str) {
        self.at(Severity::Error, span, message, Some(hint));
    }

    fn warn(&mut self, span: Range<usize>, message: String, hint: &str) {
        self.at(Severity::Warning, span, message, Some(hint));
    }

    /// A place before the front matter starts: the opening fence.
    fn fence() -> Range<usize> {
        usize::MAX..usize::MAX
    }
}

const FENCE_HINT: &str =
    "a plan starts with a line `+++`, then the TOML keys (feature, title, [[phase]] …), then a closing `+++` line";

fn split_front_matter(text: &str) -> Result<(usize, &str, &str), (usize, String, &'static str)> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "+++" {
        return Err((0, "the plan has no TOML front matter".into(), FENCE_HINT));
    }
    let start = first.len();
    let mut pos = start;
    for line in lines {
        if line.trim_end() == "+++" {
            return Ok((start, &text[start..pos], &text[pos + line.len()..]));
        }
        pos += line.len();
    }
    Err((0, "the front matter is never closed".into(), "add a line `+++` after the last TOML key"))
}

/// Check a plan and build it when there is no error.
pub fn lint(file: &str, bytes: &[u8], feature: Option<&str>, known_gates: &[String]) -> Lint {
    let mut c = Checker { file, text: "", offset: 0, out: Vec::new() };
    let Ok(text) = std::str::from_utf8(bytes) else {
        c.error(0..0, "the plan is not valid UTF-8".into(), "save the file as UTF-8");
        return Lint { plan: None, diagnostics: c.out };
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    c.text = text;
    let (offset, front, body) = match split_front_matter(text) {
        Ok(parts) => parts,
        Err((at, message, hint)) => {
            c.error(at..at, message, hint);
            return Lint { plan: None, diagnostics: c.out };
        }
    };
    c.offset = offset;
    let raw: RawPlan = match toml::from_str(front) {
        Ok(raw) => raw,
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            let message = err.message().trim().replace('\n', " ");
            let hint = toml_hint(&message);
            c.error(span, message, &hint);
            return Lint { plan: None, diagnostics: c.out };
        }
    };
    let plan = check(&mut c, raw, body, feature, known_gates);
    let plan = if c.out.iter().any(|d| d.severity == Severity::Error) { None } else { plan };
    c.out.sort_by_key(|d| (d.line, d.col));
    Lint { plan, diagnostics: c.out }
}

fn toml_hint(message: &str) -> String {
    if message.contains("unknown field") {
        "remove or rename the key; keys are listed in the message (free-form data goes under [meta])".into()
    } else if message.contains("invalid type") {
        "change the value to the type the message asks for (ids are integers, titles are strings, lists use [ ])".into()
    } else if message.contains("duplicate key") {
        "keep one of the two keys".into()
    } else {
        "fix the TOML syntax at that place (strings need quotes, tables use [name] and [[phase]])".into()
    }
}

fn text_value(
    c: &mut Checker,
    value: Option<Spanned<String>>,
    what: &str,
    parent: Range<usize>,
    hint: &str,
) -> Option<String> {
    match value {
        None => {
            c.error(parent, format!("missing key `{what}`"), hint);
            None
        }
        Some(v) => {
            let span = v.span();
            let s = v.into_inner();
            if s.trim().is_empty() {
                c.error(span, format!("`{what}` is empty"), hint);
                None
            } else if s.chars().any(char::is_control) {
                c.error(
                    span,
                    format!("`{what}` contains a line break or control character"),
                    "keep it on one line: it becomes a commit subject and a branch name",
                );
                None
            } else {
                Some(s)
            }
        }
    }
}

#[allow(clippy::too_many_lines)]
fn check(c: &mut Checker, raw: RawPlan, body: &str, expected: Option<&str>, known_gates: &[String]) -> Option<Plan> {
    let top = Checker::fence();
    let feature = match raw.feature {
        None => {
            c.error(top.clone(), "missing key `feature`".into(), "add `feature = \"<slug>\"` to the front matter");
            None
        }
        Some(f) => {
            let span = f.span();
            let f = f.into_inner();
            if !valid_slug(&f) {
                c.error(
                    span,
                    format!("feature `{f}` is not a valid slug"),
                    "use lowercase letters, digits and single dashes, starting with a letter or digit: `jwt-auth`",
                );
                None
            } else if let Some(expected) = expected.filter(|e| *e != f) {
                c.error(
                    span,
                    format!("feature `{f}` does not match the plan's folder `{expected}`"),
                    &format!("set `feature = \"{expected}\"`, or move the plan to plans/{f}/plan.md"),
                );
                None
            } else {
                Some(f)
            }
        }
    };
    let title =
        text_value(c, raw.title, "title", top.clone(), "add `title = \"…\"`: one line saying what the feature is");
    let base = raw.base.and_then(|b| {
        let span = b.span();
        let b = b.into_inner();
        if crate::git::Repo::validate_branch_name(&b).is_err() || b.is_empty() {
            c.error(
                span,
                format!("base `{b}` is not a valid branch name"),
                "name an existing branch, e.g. `base = \"main\"`, or remove the key to use the default branch",
            );
            None
        } else {
            Some(b)
        }
    });
    if raw.phases.is_empty() {
        c.error(
            top.clone(),
            "the plan has no phases".into(),
            "add at least one [[phase]] table with id, title and owner",
        );
    }

    let mut gates: Vec<&str> = BUILTIN_GATES.to_vec();
    gates.extend(known_gates.iter().map(String::as_str));

    let mut phases = Vec::new();
    let mut seen: HashMap<i64, Range<usize>> = HashMap::new();
    let mut dep_spans: Vec<(u32, Vec<Spanned<i64>>)> = Vec::new();
    let mut path_spans: Vec<(u32, Spanned<String>)> = Vec::new();
    for (index, spanned) in raw.phases.into_iter().enumerate() {
        let phase_span = spanned.span();
        let p = spanned.into_inner();
        let expected_id = i64::try_from(index).unwrap_or(i64::MAX) + 1;
        let id = match p.id {
            None => {
                c.error(
                    phase_span.clone(),
                    format!("phase {expected_id} has no `id`"),
                    &format!("add `id = {expected_id}`"),
                );
                None
            }
            Some(id) => {
                let span = id.span();
                let v = *id.get_ref();
                if let Some(_first) = seen.get(&v) {
                    c.error(
                        span,
                        format!("phase id {v} is used twice"),
                        "give each phase its own id: 1, 2, 3 … in order",
                    );
                    None
                } else {
                    seen.insert(v, span.clone());
                    if v == expected_id {
                        u32::try_from(v).ok()
                    } else {
                        c.error(
                            span,
                            format!("phase ids must be 1..N in order: expected {expected_id}, found {v}"),
                            &format!("set `id = {expected_id}` (phases are numbered in the order they appear)"),
                        );
                        None
                    }
                }
            }
        };
        let label = id.map_or_else(|| format!("phase #{expected_id}"), |id| format!("phase {id}"));
        let ptitle = text_value(c, p.title, "title", phase_span.clone(), &format!("give {label} a `title = \"…\"`"));
        let owner = text_value(
            c,
            p.owner,
            "owner",
            phase_span.clone(),
            &format!("give {label} an `owner`: a role (maat, hermes, aphrodite …) or a person"),
        );
        let kind = match p.kind {
            None => "feat".to_string(),
            Some(k) => {
                let span = k.span();
                let k = k.into_inner();
                if !COMMIT_TYPES.contains(&k.as_str()) {
                    c.error(
                        span,
                        format!("{label}: `type = \"{k}\"` is not a Conventional Commit type"),
                        &format!("use one of: {}", COMMIT_TYPES.join(", ")),
                    );
                }
                k
            }
        };
        for path in &p.paths {
            let v = path.get_ref();
            let span = path.span();
            if v.trim().is_empty() {
                c.error(
                    span,
                    format!("{label}: an entry of `paths` is empty"),
                    "remove it, or write a path pattern such as `src/auth/**`",
                );
            } else if v.starts_with('/') || v.contains('\\') || v.split('/').any(|s| s == "..") {
                c.error(
                    span,
                    format!("{label}: path `{v}` leaves the repository or is not relative"),
                    "write paths relative to the repository root with `/`: `app/models/**`",
                );
            } else if v.matches('[').count() != v.matches(']').count() {
                c.error(
                    span,
                    format!("{label}: path `{v}` has an unbalanced `[`"),
                    "close the character class, or escape it as `\\[`",
                );
            }
        }
        if let Some(gates_table) = &p.gates {
            for (name, table) in gates_table.get_ref() {
                let keys = table.as_table().map_or_else(Vec::new, |t| t.keys().map(String::as_str).collect());
                for key in keys.into_iter().filter(|k| !crate::gates::PLAN_TUNABLE.contains(k)) {
                    c.error(
                        gates_table.span(),
                        format!("{label}: the override of gate `{name}` sets `{key}`, which a plan may not set"),
                        &format!(
                            "a plan tunes only {}; commands, environment and reports are set in .orchestrate.toml",
                            crate::gates::PLAN_TUNABLE.join(", ")
                        ),
                    );
                }
                if !gates.contains(&name.as_str()) {
                    c.error(
                        gates_table.span(),
                        format!("{label}: unknown gate `{name}`"),
                        &format!(
                            "known gates: {}; define new ones under [gates.{name}] in .orchestrate.toml",
                            gates.join(", ")
                        ),
                    );
                }
            }
        }
        let Some(id) = id else { continue };
        if p.paths.is_empty() {
            c.warn(
                phase_span.clone(),
                format!("phase {id} lists no `paths`"),
                "list the paths the phase may touch, so the scope gate can check it",
            );
        }
        if let Some(deps) = p.depends_on.as_ref() {
            dep_spans.push((id, deps.clone()));
        }
        path_spans.extend(p.paths.iter().map(|s| (id, s.clone())));
        phases.push(Phase {
            id,
            title: ptitle.unwrap_or_default(),
            owner: owner.unwrap_or_default(),
            kind,
            tasks: p.tasks,
            tests: p.tests,
            paths: p.paths.into_iter().map(Spanned::into_inner).collect(),
            depends_on: match p.depends_on {
                Some(d) => d.iter().filter_map(|v| u32::try_from(*v.get_ref()).ok()).collect(),
                None if id > 1 => vec![id - 1],
                None => Vec::new(),
            },
            risks: p.risks,
            gates: p.gates.map(Spanned::into_inner).unwrap_or_default(),
        });
    }

    // Dependencies name existing phases and form no cycle.
    let ids: Vec<u32> = phases.iter().map(|p| p.id).collect();
    let id_list = ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    for (id, deps) in &dep_spans {
        for dep in deps {
            let v = *dep.get_ref();
            if v == i64::from(*id) {
                c.error(dep.span(), format!("phase {id} depends on itself"), "remove it from `depends_on`");
            } else if !u32::try_from(v).is_ok_and(|v| ids.contains(&v)) {
                c.error(
                    dep.span(),
                    format!("phase {id} depends on unknown phase {v}"),
                    &format!("phases are {id_list}"),
                );
            }
        }
    }
    if let Some(cycle) = find_cycle(&phases) {
        let span = dep_spans
            .iter()
            .find(|(id, _)| *id == cycle[0])
            .and_then(|(_, d)| d.first())
            .map_or(top.clone(), Spanned::span);
        let path = cycle.iter().map(ToString::to_string).collect::<Vec<_>>().join(" → ");
        c.error(
            span,
            format!("phases depend on each other in a cycle: {path}"),
            "break the cycle: a phase may only depend on phases that can finish before it",
        );
    }

    // Overlapping paths make scope ambiguous: warn, naming both phases.
    for (i, (a_id, a)) in path_spans.iter().enumerate() {
        for (b_id, b) in &path_spans[i + 1..] {
            if a_id != b_id && overlaps(a.get_ref(), b.get_ref()) {
                c.warn(
                    b.span(),
                    format!("phase {b_id} path `{}` overlaps phase {a_id} path `{}`", b.get_ref(), a.get_ref()),
                    "make the paths disjoint, so each file belongs to one phase's scope",
                );
            }
        }
    }

    Some(Plan { feature: feature?, title: title?, base, phases, body: body.to_string() })
}

/// Depth-first search for a cycle; `state` is 0 unvisited, 1 on the stack, 2 done.
fn visit(n: u32, deps: &BTreeMap<u32, &[u32]>, state: &mut HashMap<u32, u8>, stack: &mut Vec<u32>) -> Option<Vec<u32>> {
    state.insert(n, 1);
    stack.push(n);
    for &d in deps.get(&n).copied().unwrap_or(&[]) {
        match state.get(&d).copied().unwrap_or(0) {
            1 => {
                let from = stack.iter().position(|&x| x == d).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(d);
                return Some(cycle);
            }
            0 if deps.contains_key(&d) => {
                if let Some(c) = visit(d, deps, state, stack) {
                    return Some(c);
                }
            }
            _ => {}
        }
    }
    stack.pop();
    state.insert(n, 2);
    None
}

fn find_cycle(phases: &[Phase]) -> Option<Vec<u32>> {
    let deps: BTreeMap<u32, &[u32]> = phases.iter().map(|p| (p.id, p.depends_on.as_slice())).collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state: HashMap<u32, u8> = HashMap::new();
    for &n in deps.keys() {
        if state.get(&n).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, &deps, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// The literal directory prefix of a pattern (up to the first glob character) and whether the
/// pattern reaches into subdirectories.
fn prefix_of(pattern: &str) -> (&str, bool) {
    let cut = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    let literal = &pattern[..cut];
    let dir = literal.rfind('/').map_or("", |i| &literal[..=i]);
    let deep = pattern.contains("**") || cut == pattern.len();
    if cut == pattern.len() {
        // A plain path: a file or a whole directory.
        (pattern.trim_end_matches('/'), true)
    } else {
        (dir, deep)
    }
}

fn overlaps(a: &str, b: &str) -> bool {
    let ((pa, deep_a), (pb, deep_b)) = (prefix_of(a), prefix_of(b));
    let within = |inner: &str, outer: &str| {
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{}/", outer.trim_end_matches('/')))
    };
    if a == b || pa == pb {
        return true;
    }
    (deep_a && within(pb, pa)) || (deep_b && within(pa, pb))
}

#[cfg(test)]
mod tests {
    use super::overlaps;

    #[test]
    fn overlapping_paths() {
        assert!(overlaps("app/**", "app/models/**"));
        assert!(overlaps("app/models/**", "app/**"));
        assert!(overlaps("src", "src/lib.rs"));
        assert!(!overlaps("tests/db/**", "tests/api/**"));
        assert!(!overlaps("migrations/**", "app/models/**"));
        assert!(!overlaps("src/*.rs", "src/lib/**"));
    }
}
