//! Front-matter extraction and every check a plan goes through, each with its place and fix.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{valid_slug, Diagnostic, Phase, Plan, Severity, COMMIT_TYPES};

/// The largest plan file lint reads: every hook parses the plan, so its size is bounded.
pub const MAX_PLAN_BYTES: usize = 1 << 20;
/// The most phases a plan may have.
pub const MAX_PHASES: usize = 1000;

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
    tasks: Vec<Spanned<String>>,
    #[serde(default)]
    tests: Vec<Spanned<String>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    depends_on: Option<Vec<Spanned<i64>>>,
    #[serde(default)]
    risks: Vec<Spanned<String>>,
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
    /// The byte offset in `text` of each diagnostic of `out`: lines and columns are worked out
    /// in one pass at the end ([`Checker::finish`]), not by rescanning the text for each.
    places: Vec<usize>,
}

impl Checker<'_> {
    fn at(&mut self, severity: Severity, span: Range<usize>, message: String, hint: Option<&str>) {
        // `usize::MAX` marks the opening fence itself (for keys that are missing altogether).
        let mut pos =
            if span.start == usize::MAX { 0 } else { self.offset.saturating_add(span.start).min(self.text.len()) };
        while !self.text.is_char_boundary(pos) {
            pos -= 1;
        }
        self.places.push(pos);
        self.out.push(Diagnostic {
            severity,
            file: self.file.into(),
            line: 0,
            col: 0,
            message,
            hint: hint.map(Into::into),
        });
    }

    /// The diagnostics with their lines and columns, in the order of the file.
    fn finish(mut self) -> Vec<Diagnostic> {
        let mut order: Vec<usize> = (0..self.out.len()).collect();
        order.sort_by_key(|&i| self.places[i]);
        let (mut line, mut col, mut cursor) = (1, 1, 0);
        for i in order {
            let pos = self.places[i];
            for ch in self.text[cursor..pos].chars() {
                if ch == '\n' {
                    line += 1;
                    col = 1;
                } else {
                    col += 1;
                }
            }
            cursor = pos;
            (self.out[i].line, self.out[i].col) = (line, col);
        }
        self.out.sort_by_key(|d| (d.line, d.col));
        self.out
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
    let mut c = Checker { file, text: "", offset: 0, out: Vec::new(), places: Vec::new() };
    if bytes.len() > MAX_PLAN_BYTES {
        c.error(
            0..0,
            format!("the plan is {} bytes, over the limit of {MAX_PLAN_BYTES} bytes (1 MiB)", bytes.len()),
            "split the work into several features, each with a plan of its own",
        );
        return Lint { plan: None, diagnostics: c.finish() };
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        c.error(0..0, "the plan is not valid UTF-8".into(), "save the file as UTF-8");
        return Lint { plan: None, diagnostics: c.finish() };
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    c.text = text;
    let (offset, front, body) = match split_front_matter(text) {
        Ok(parts) => parts,
        Err((at, message, hint)) => {
            c.error(at..at, message, hint);
            return Lint { plan: None, diagnostics: c.finish() };
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
            return Lint { plan: None, diagnostics: c.finish() };
        }
    };
    if raw.phases.len() > MAX_PHASES {
        c.error(
            raw.phases[MAX_PHASES].span(),
            format!("the plan has {} phases, over the limit of {MAX_PHASES}", raw.phases.len()),
            &format!("split the work into several features of at most {MAX_PHASES} phases each"),
        );
        return Lint { plan: None, diagnostics: c.finish() };
    }
    let plan = check(&mut c, raw, body, feature, known_gates);
    let plan = if c.out.iter().any(|d| d.severity == Severity::Error) { None } else { plan };
    Lint { plan, diagnostics: c.finish() }
}

/// The first character that has no place in a one-line plan value: the C0 controls (line
/// breaks, tab, NUL, ESC …), DEL and the C1 controls.
fn control_char(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

/// A control character named for a message.
fn describe(ch: char) -> String {
    match ch {
        '\n' => "a line break (\\n)".into(),
        '\r' => "a carriage return (\\r)".into(),
        '\t' => "a tab (\\t)".into(),
        '\0' => "a NUL byte (\\0)".into(),
        '\u{1b}' => "an escape character (ESC)".into(),
        _ => format!("the control character U+{:04X}", u32::from(ch)),
    }
}

/// `s` with its control characters escaped, safe to print on a terminal.
fn printable(s: &str) -> Cow<'_, str> {
    if control_char(s).is_none() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect())
}

/// What in a path pattern could be read as shell syntax or an option: the pattern is a glob
/// (letters, digits, `/ . _ - * ? [ ] { } ,`, spaces and non-ASCII are all fine).
fn shell_syntax(path: &str) -> Option<&'static str> {
    if path.starts_with('-') {
        return Some("starts with `-` (it would read as an option)");
    }
    if path.contains("$(") {
        return Some("contains a command substitution `$(`");
    }
    for (c, what) in [
        ('`', "contains a backtick"),
        (';', "contains `;`"),
        ('|', "contains `|`"),
        ('&', "contains `&`"),
        ('<', "contains `<`"),
        ('>', "contains `>`"),
    ] {
        if path.contains(c) {
            return Some(what);
        }
    }
    None
}

/// Refuse control characters in each entry of a one-line-per-entry list (`tasks`, `tests`, `risks`).
fn one_line_entries(c: &mut Checker, label: &str, what: &str, entries: &[Spanned<String>]) {
    for entry in entries {
        if let Some(ch) = control_char(entry.get_ref()) {
            c.error(
                entry.span(),
                format!("{label}: an entry of `{what}` contains {}", describe(ch)),
                "keep each entry on one line of printable text (it goes into briefs and commit messages); split a long one into several entries",
            );
        }
    }
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
            } else if let Some(ch) = control_char(&s) {
                c.error(
                    span,
                    format!("`{what}` contains {}", describe(ch)),
                    "keep it on one line of printable text: it becomes a commit subject and a branch name",
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
                    format!("feature `{}` is not a valid slug", printable(&f)),
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
                format!("base `{}` is not a valid branch name", printable(&b)),
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

    // Besides the gates `.orchestrate.toml` defines, the registry's names.
    let mut gates: Vec<&str> = crate::gates::registry::names(|k| k.named).collect();
    for name in known_gates {
        if !gates.contains(&name.as_str()) {
            gates.push(name);
        }
    }

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
                        format!("{label}: `type = \"{}\"` is not a Conventional Commit type", printable(&k)),
                        &format!("use one of: {}", COMMIT_TYPES.join(", ")),
                    );
                }
                k
            }
        };
        one_line_entries(c, &label, "tasks", &p.tasks);
        one_line_entries(c, &label, "tests", &p.tests);
        one_line_entries(c, &label, "risks", &p.risks);
        for path in &p.paths {
            let v = path.get_ref();
            let span = path.span();
            if v.trim().is_empty() {
                c.error(
                    span,
                    format!("{label}: an entry of `paths` is empty"),
                    "remove it, or write a path pattern such as `src/auth/**`",
                );
            } else if let Some(ch) = control_char(v) {
                c.error(
                    span,
                    format!("{label}: path `{}` contains {}", printable(v), describe(ch)),
                    "a path pattern is one line of printable text, such as `src/auth/**`",
                );
            } else if let Some(what) = shell_syntax(v) {
                c.error(
                    span,
                    format!("{label}: path `{v}` {what}"),
                    "a path pattern is a glob: letters, digits, spaces, `/ . _ - * ? [ ] { } ,`; remove the shell syntax",
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
                        format!("{label}: unknown gate `{}`", printable(name)),
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
            tasks: p.tasks.into_iter().map(Spanned::into_inner).collect(),
            tests: p.tests.into_iter().map(Spanned::into_inner).collect(),
            paths: p.paths.into_iter().map(Spanned::into_inner).collect(),
            depends_on: match p.depends_on {
                Some(d) => d.iter().filter_map(|v| u32::try_from(*v.get_ref()).ok()).collect(),
                None if id > 1 => vec![id - 1],
                None => Vec::new(),
            },
            risks: p.risks.into_iter().map(Spanned::into_inner).collect(),
            gates: p.gates.map(Spanned::into_inner).unwrap_or_default(),
        });
    }

    // Dependencies name existing phases and form no cycle.
    let ids: HashSet<u32> = phases.iter().map(|p| p.id).collect();
    let id_list = id_list(&phases);
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

    // Overlapping paths make scope ambiguous: warn once for each path that overlaps an earlier
    // one of another phase, naming both.
    let mut index = PathIndex::default();
    for (b_id, b) in &path_spans {
        if let Some((a_id, a)) = index.overlapping(*b_id, b.get_ref()) {
            c.warn(
                b.span(),
                format!("phase {b_id} path `{}` overlaps phase {a_id} path `{a}`", b.get_ref()),
                "make the paths disjoint, so each file belongs to one phase's scope",
            );
        }
        index.add(*b_id, b.get_ref());
    }

    Some(Plan { feature: feature?, title: title?, base, phases, body: body.to_string() })
}

/// The phase ids for a hint: all of them when few, else the first and the last.
fn id_list(phases: &[Phase]) -> String {
    match phases {
        [first, second, .., last] if phases.len() > 10 => format!("{}, {}, … {}", first.id, second.id, last.id),
        _ => phases.iter().map(|p| p.id.to_string()).collect::<Vec<_>>().join(", "),
    }
}

/// A cycle among the phases' dependencies, by depth-first search without recursion (a chain of
/// phases is as deep as it is long), each phase and dependency visited once.
fn find_cycle(phases: &[Phase]) -> Option<Vec<u32>> {
    // Ids are unique here (a duplicate was refused and left out), so ordering by id is the
    // order the search starts from.
    let mut order: Vec<&Phase> = phases.iter().collect();
    order.sort_unstable_by_key(|p| p.id);
    let position: HashMap<u32, usize> = order.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; order.len()];
    for root in 0..order.len() {
        if state[root] != 0 {
            continue;
        }
        // (phase, how many of its dependencies were followed already)
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (n, ref mut next)) = stack.last_mut() {
            let Some(&dep) = order[n].depends_on.get(*next) else {
                state[n] = 2;
                stack.pop();
                continue;
            };
            *next += 1;
            let Some(&d) = position.get(&dep) else { continue };
            match state[d] {
                0 => {
                    state[d] = 1;
                    stack.push((d, 0));
                }
                1 => {
                    let from = stack.iter().position(|&(x, _)| x == d).unwrap_or(0);
                    let mut cycle: Vec<u32> = stack[from..].iter().map(|&(x, _)| order[x].id).collect();
                    cycle.push(order[d].id);
                    return Some(cycle);
                }
                _ => {}
            }
        }
    }
    None
}

/// The paths seen so far, indexed so that a new path finds one it overlaps (as [`overlaps`]
/// decides) in time linear in its length: directory prefixes are nodes of a trie of path
/// components, so no prefix is hashed twice.
#[derive(Default)]
struct PathIndex<'a> {
    /// (parent node, component) → node; node 0 is the root, the empty string before any `/`.
    trie: HashMap<(usize, &'a str), usize>,
    nodes: usize,
    /// By exact literal prefix ([`prefix_of`]): equal prefixes overlap.
    same: HashMap<&'a str, Seen<'a>>,
    /// Deep patterns by the node of their prefix (trailing `/` trimmed): they cover what is below.
    deep: HashMap<usize, Seen<'a>>,
    /// Every directory above a pattern's prefix (the text before each of its `/`).
    below: HashMap<usize, Seen<'a>>,
    /// Deep patterns with an empty prefix (`**`): they cover everything.
    everywhere: Seen<'a>,
    /// Every pattern, for a deep one with an empty prefix.
    any: Seen<'a>,
    /// How many patterns were filed: their order, to name the earliest.
    count: usize,
}

/// The first pattern filed under a key, and the first one of another phase than that one:
/// enough to name an overlapping pattern of a phase other than any given one.
#[derive(Default, Clone, Copy)]
struct Seen<'a> {
    first: Option<(usize, u32, &'a str)>,
    other: Option<(usize, u32, &'a str)>,
}

impl<'a> Seen<'a> {
    fn add(&mut self, entry: (usize, u32, &'a str)) {
        match self.first {
            None => self.first = Some(entry),
            Some((_, id, _)) if self.other.is_none() && id != entry.1 => self.other = Some(entry),
            _ => {}
        }
    }

    /// The earliest pattern filed here that belongs to a phase other than `id`.
    fn not_of(&self, id: u32) -> Option<(usize, u32, &'a str)> {
        self.first.filter(|f| f.1 != id).or(self.other)
    }
}

impl<'a> PathIndex<'a> {
    /// The child of `node` named `component`, made when `create` (`None`: absent).
    fn child(&mut self, node: usize, component: &'a str, create: bool) -> Option<usize> {
        if let Some(&n) = self.trie.get(&(node, component)) {
            return Some(n);
        }
        if !create {
            return None;
        }
        self.nodes += 1;
        self.trie.insert((node, component), self.nodes);
        Some(self.nodes)
    }

    /// The node of `dir` (`None` when no pattern reached it and `create` is false).
    fn node(&mut self, dir: &'a str, create: bool) -> Option<usize> {
        let mut node = 0;
        for component in dir.split('/') {
            node = self.child(node, component, create)?;
        }
        Some(node)
    }

    /// The nodes of the text before each `/` of `s`, in order, as far as they exist.
    fn dirs(&mut self, s: &'a str, create: bool) -> Vec<usize> {
        let mut out = Vec::new();
        let mut node = 0;
        let mut components = s.split('/').peekable();
        while let Some(component) = components.next() {
            if components.peek().is_none() {
                break;
            }
            let Some(next) = self.child(node, component, create) else { break };
            node = next;
            out.push(node);
        }
        out
    }

    /// File `pattern` of phase `id`.
    fn add(&mut self, id: u32, pattern: &'a str) {
        let entry = (self.count, id, pattern);
        self.count += 1;
        let (prefix, deep) = prefix_of(pattern);
        self.same.entry(prefix).or_default().add(entry);
        self.any.add(entry);
        if deep {
            if prefix.is_empty() {
                self.everywhere.add(entry);
            }
            let node = self.node(prefix.trim_end_matches('/'), true).expect("nodes are created on the way");
            self.deep.entry(node).or_default().add(entry);
        }
        for node in self.dirs(prefix, true) {
            self.below.entry(node).or_default().add(entry);
        }
    }

    /// The earliest filed pattern of another phase than `id` that `pattern` overlaps.
    fn overlapping(&mut self, id: u32, pattern: &'a str) -> Option<(u32, &'a str)> {
        let (prefix, deep) = prefix_of(pattern);
        let mut found = vec![self.same.get(prefix).copied().unwrap_or_default(), self.everywhere];
        // An earlier deep pattern whose directory holds this one's prefix.
        for node in self.dirs(prefix, false) {
            found.extend(self.deep.get(&node).copied());
        }
        if deep {
            if prefix.is_empty() {
                found.push(self.any);
            }
            // An earlier pattern whose prefix lies below this deep one's.
            if let Some(node) = self.node(prefix.trim_end_matches('/'), false) {
                found.extend(self.below.get(&node).copied());
            }
        }
        found.iter().filter_map(|s| s.not_of(id)).min_by_key(|e| e.0).map(|(_, id, p)| (id, p))
    }
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

/// Whether two patterns overlap: the definition [`PathIndex`] follows (a test compares them).
#[cfg(test)]
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
    use super::{overlaps, PathIndex};

    /// The index names the same earlier path as comparing every pair would.
    #[test]
    fn the_path_index_agrees_with_pairwise_overlaps() {
        let patterns = [
            "",
            "/",
            "//",
            "a",
            "a/",
            "a//",
            "a/b",
            "a/b/",
            "a//b",
            "/a",
            "a/**",
            "a/*",
            "a/*.rs",
            "a/b/**",
            "a/b/c",
            "**",
            "*",
            "*.rs",
            "b/**",
            "ab/**",
            "a/[x]y",
            "a/b?",
            "a/b/c/**",
            "src",
            "src/lib.rs",
            "src/**/x",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(seed >> 33).unwrap() % n
        };
        for _ in 0..3000 {
            let len = 1 + next(7);
            let paths: Vec<(u32, &str)> =
                (0..len).map(|_| (u32::try_from(1 + next(3)).unwrap(), patterns[next(patterns.len())])).collect();
            let mut index = PathIndex::default();
            for (i, &(id, b)) in paths.iter().enumerate() {
                let want = paths[..i].iter().find(|(a_id, a)| *a_id != id && overlaps(a, b)).copied();
                assert_eq!(index.overlapping(id, b), want, "{b:?} of phase {id} after {:?}", &paths[..i]);
                index.add(id, b);
            }
        }
    }

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
