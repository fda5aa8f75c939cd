//! Conventional Commits, checked the way the commit-msg hook needs: the header, the blank line
//! after it, and line length — with git's trailer grammar in mind (`Token: value` lines, and
//! `BREAKING CHANGE:`/`BREAKING-CHANGE:`) and URLs exempt from the length limit. Pure.

pub const MAX_HEADER: usize = 100;
pub const MAX_LINE: usize = 100;

/// Messages git writes itself, which are not checked.
fn generated(header: &str) -> bool {
    ["Merge ", "Revert \"", "fixup! ", "squash! ", "amend! ", "Initial commit"].iter().any(|p| header.starts_with(p))
}

/// `type(scope)!: subject`: a known type, an optional scope in parentheses (not starting with a
/// space), an optional `!`, then `: ` and a subject. (Parsed by hand: the hook runs on every
/// commit, and compiling a regex would cost more than the whole check.)
fn conventional(header: &str) -> bool {
    let end = header.find(['(', '!', ':']).unwrap_or(header.len());
    if !crate::plan::COMMIT_TYPES.contains(&&header[..end]) {
        return false;
    }
    let mut rest = &header[end..];
    if let Some(scoped) = rest.strip_prefix('(') {
        let Some(close) = scoped.find(')') else { return false };
        let scope = &scoped[..close];
        if scope.is_empty() || scope.contains('(') || scope.starts_with(char::is_whitespace) {
            return false;
        }
        rest = &scoped[close + 1..];
    }
    let rest = rest.strip_prefix('!').unwrap_or(rest);
    rest.strip_prefix(": ").and_then(|s| s.chars().next()).is_some_and(|c| !c.is_whitespace())
}

/// A git trailer line: `Token: value` (letters, digits, dashes) or `BREAKING CHANGE: value`.
fn trailer(line: &str) -> bool {
    line.split_once(": ").is_some_and(|(token, _)| {
        token == "BREAKING CHANGE"
            || (!token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    })
}

/// The problems of a commit message (empty when it is fine). Comment lines (`#`) are ignored,
/// as git strips them.
pub fn lint(message: &str) -> Vec<String> {
    let lines: Vec<&str> = message.lines().filter(|l| !l.starts_with('#')).collect();
    let mut problems = Vec::new();
    let Some(header) = lines.iter().find(|l| !l.trim().is_empty()) else {
        return vec!["the message is empty".into()];
    };
    if generated(header) {
        return problems;
    }
    if !conventional(header) {
        problems.push(format!(
            "the first line must be `type(scope): subject` with a type among {}; it is `{header}`",
            crate::plan::COMMIT_TYPES.join(", ")
        ));
    }
    if header.chars().count() > MAX_HEADER {
        problems.push(format!("the first line has {} characters; keep it to {MAX_HEADER}", header.chars().count()));
    }
    let start = lines.iter().position(|l| l == header).unwrap_or(0);
    if lines.get(start + 1).is_some_and(|l| !l.trim().is_empty()) {
        problems.push("leave a blank line between the first line and the body".into());
    }
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let long = line.chars().count() > MAX_LINE;
        if long && !line.contains("://") && !trailer(line) {
            problems.push(format!(
                "line {} has {} characters; wrap the body at {MAX_LINE}",
                i + 1,
                line.chars().count()
            ));
        }
    }
    problems
}

/// What is wrong with a commit message (Conventional Commits, secrets in it), as an error headed
/// `what` with one cause per problem; `None` when nothing is.
pub fn judge(message: &str, what: impl Into<String>) -> Option<crate::error::Error> {
    let mut problems = crate::commitmsg::lint(message);
    if let Some(scanner) = crate::secrets::builtin() {
        let mut found = Vec::new();
        scanner.scan("(commit message)", 1, message, &mut found);
        problems.extend(
            found.iter().filter(|f| !f.warning).map(|f| format!("line {}: {} ({})", f.line, f.description, f.redacted)),
        );
    }
    (!problems.is_empty())
        .then(|| problems.into_iter().fold(crate::error::Error::blocked(what), crate::error::Error::cause))
}

#[cfg(test)]
mod tests {
    use super::lint;

    #[test]
    fn good_messages() {
        for m in [
            "feat(auth): add login\n",
            "fix!: drop the old API\n\nBREAKING CHANGE: the old API is gone, and this trailer may run as long as it needs to, past any limit\n",
            "docs: link\n\nSee https://example.com/a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on\n",
            "chore(deps): bump\n\nSigned-off-by: A Person With A Very Long Name And An Even Longer Email Address <someone@a-very-long-domain.example.com>\n",
            "Merge branch 'main' into feature\n",
            "feat(x): y\n# Please enter the commit message for your changes.\n",
        ] {
            assert_eq!(lint(m), Vec::<String>::new(), "{m:?}");
        }
    }

    #[test]
    fn bad_messages() {
        assert!(lint("updated stuff\n")[0].starts_with("the first line must be"));
        assert!(lint("feature: x\n")[0].starts_with("the first line must be"));
        assert!(lint("feat(x):no space\n")[0].starts_with("the first line must be"));
        for header in ["feat(): x", "feat( x): y", "feat(a(b)): c", "feat(x: y", "feat:  x", "feat!:", "feats: x"] {
            assert!(lint(header)[0].starts_with("the first line must be"), "{header}");
        }
        for header in ["feat(a b): c", "fix!: x", "fix(core)!: x", "revert: x"] {
            assert_eq!(lint(header), Vec::<String>::new(), "{header}");
        }
        assert_eq!(lint("feat: x\nbody right away\n"), vec!["leave a blank line between the first line and the body"]);
        assert!(lint(&format!("feat: x\n\n{}\n", "word ".repeat(30)))[0].starts_with("line 3 has 150 characters"));
        assert_eq!(lint("# only a comment\n"), vec!["the message is empty"]);
    }
}
