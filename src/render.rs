//! The minijinja environment: templates embedded from `templates/`, each overridable by a file
//! of the same name under `.orchestrate/templates/` in the repository. Values are rendered as
//! text for files and messages; nothing rendered here is ever run by a shell.

use std::path::{Path, PathBuf};

use minijinja::{Environment, Value};

#[derive(Debug, thiserror::Error)]
#[error("template {name}: {detail}")]
pub struct Error {
    name: String,
    detail: String,
    /// How to fix it, when there is something better to say than "fix the template".
    pub hint: Option<String>,
}

const BUILTIN: &[(&str, &str)] = &[
    ("plan.md", include_str!("../templates/plan.md")),
    ("brief.md", include_str!("../templates/brief.md")),
    ("phase-commit.txt", include_str!("../templates/phase-commit.txt")),
    ("phase-complete.md", include_str!("../templates/phase-complete.md")),
    ("complete.md", include_str!("../templates/complete.md")),
    ("finish-commit.txt", include_str!("../templates/finish-commit.txt")),
    ("start-commit.txt", include_str!("../templates/start-commit.txt")),
    ("orchestrate.toml", include_str!("../templates/orchestrate.toml")),
];

/// Where a repository keeps its template overrides.
pub const OVERRIDE_DIR: &str = ".orchestrate/templates";

pub struct Renderer {
    /// The repository's work tree, where overrides are looked for.
    root: Option<PathBuf>,
}

/// A TOML literal for a value: strings quoted and escaped, so plan text cannot break the file.
fn toml_filter(value: &Value) -> String {
    match value.as_str() {
        Some(s) => toml::Value::String(s.to_string()).to_string(),
        None => value.to_string(),
    }
}

fn lower_first(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        // Keep acronyms as written: "JWT auth" stays, "Database schema" becomes "database schema".
        Some(_) if chars.clone().next().is_some_and(char::is_uppercase) => value.to_string(),
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Renderer {
    pub fn new(repo_root: Option<&Path>) -> Self {
        Self { root: repo_root.map(Path::to_path_buf) }
    }

    /// The override of template `name`, if the repository has one. An override is a regular
    /// file inside the repository: a symlink on the way to it (the file, `.orchestrate/templates`
    /// or `.orchestrate`) is refused, so a checkout cannot make the tool print or commit a file
    /// from elsewhere on the machine.
    fn override_path(&self, name: &str) -> Result<Option<PathBuf>, Error> {
        let Some(root) = &self.root else { return Ok(None) };
        let relative = Path::new(OVERRIDE_DIR).join(name);
        let shown = relative.display().to_string();
        let unreadable = |e: std::io::Error| Error { name: shown.clone(), detail: e.to_string(), hint: None };
        let mut path = root.clone();
        let mut walked = PathBuf::new();
        for part in relative.components() {
            path.push(part);
            walked.push(part);
            match std::fs::symlink_metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(unreadable(e)),
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error {
                        name: shown,
                        detail: format!(
                            "{} is a symbolic link; template overrides are read only from regular files inside the repository",
                            walked.display()
                        ),
                        hint: Some(format!(
                            "replace {} with a regular file (a copy), or delete it to use the built-in template",
                            walked.display()
                        )),
                    });
                }
                Ok(_) => {}
            }
        }
        if !path.is_file() {
            return Ok(None);
        }
        let (real, real_root) = (path.canonicalize().map_err(unreadable)?, root.canonicalize().map_err(unreadable)?);
        if !real.starts_with(&real_root) {
            return Err(Error {
                name: shown,
                detail: format!("resolves to {}, outside the repository", real.display()),
                hint: Some("keep template overrides inside the repository, as regular files".into()),
            });
        }
        Ok(Some(path))
    }

    fn source(&self, name: &str) -> Result<String, Error> {
        if let Some(path) = self.override_path(name)? {
            let shown = Path::new(OVERRIDE_DIR).join(name).display().to_string();
            return std::fs::read_to_string(&path).map_err(|e| Error {
                name: shown,
                detail: e.to_string(),
                hint: None,
            });
        }
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| (*s).to_string()).ok_or_else(|| Error {
            name: name.into(),
            detail: "no such template".into(),
            hint: None,
        })
    }

    pub fn render(&self, name: &str, context: impl serde::Serialize) -> Result<String, Error> {
        let source = self.source(name)?;
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid");
        env.set_syntax(syntax);
        env.add_filter("toml", toml_filter);
        env.add_filter("lower_first", lower_first);
        let err = |e: minijinja::Error| Error { name: name.into(), detail: e.to_string(), hint: None };
        env.add_template_owned(name.to_string(), source).map_err(err)?;
        env.get_template(name).map_err(err)?.render(minijinja::value::Serde(context)).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_filter_escapes_hostile_text() {
        let r = Renderer::new(None);
        let title = "x\"\n[[phase]]\nid = 99 # \u{1b}";
        let text = r
            .render("plan.md", minijinja::context! { feature => "f", title => title, base => "main", phases => vec![minijinja::context!{ id => 1, title => title, owner => "maat" }] })
            .unwrap();
        let front = text.split("+++").nth(1).unwrap();
        let doc: toml::Table = toml::from_str(front).unwrap();
        assert_eq!(doc["title"].as_str(), Some(title));
        assert_eq!(doc["phase"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn lower_first_keeps_acronyms() {
        assert_eq!(lower_first("Database schema"), "database schema");
        assert_eq!(lower_first("JWT service"), "JWT service");
    }
}
