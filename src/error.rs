//! The one error type commands return: what went wrong, why, and how to fix it, with an exit code.
//! Domain modules keep their own error types; this module only decides how they are presented.

use std::fmt;

/// Which exit code an error maps to (SPEC §4): 1 blocked or failed check, 2 usage or
/// configuration, 130 interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A gate or check failed, or the action is refused in the current state.
    Blocked,
    /// Bad arguments, bad configuration, bad plan, unknown names.
    Usage,
    /// The user pressed Ctrl-C.
    Interrupted,
    /// Our reader went away (`git orchestrate log | head`): stop quietly.
    BrokenPipe,
}

/// A user-facing error, printed git-style as `error:`, `caused by:`, `hint:`.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub causes: Vec<String>,
    pub hints: Vec<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn blocked(message: impl Into<String>) -> Self {
        Self { kind: Kind::Blocked, message: message.into(), causes: Vec::new(), hints: Vec::new() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self { kind: Kind::Usage, message: message.into(), causes: Vec::new(), hints: Vec::new() }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    #[must_use]
    pub fn cause(mut self, cause: impl fmt::Display) -> Self {
        self.causes.push(cause.to_string());
        self
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Blocked => 1,
            Kind::Usage => 2,
            Kind::Interrupted => 130,
            Kind::BrokenPipe => 0,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<crate::git::Error> for Error {
    fn from(err: crate::git::Error) -> Self {
        let hint = err.hint();
        let mut out = match err {
            crate::git::Error::NotARepo(_) | crate::git::Error::Bare | crate::git::Error::BadRefName { .. } => {
                Error::usage(err.to_string())
            }
            _ => Error::blocked(err.to_string()),
        };
        if let Some(h) = hint {
            out = out.hint(h);
        }
        out
    }
}

impl From<crate::plan::Diagnostic> for Error {
    fn from(d: crate::plan::Diagnostic) -> Self {
        let mut out = Error::usage(d.to_string());
        if let Some(h) = d.hint {
            out = out.hint(h);
        }
        out
    }
}

impl From<crate::config::Error> for Error {
    fn from(err: crate::config::Error) -> Self {
        let mut out = Error::usage(err.to_string());
        if let Some(h) = err.hint() {
            out = out.hint(h);
        }
        out
    }
}

impl From<crate::state::Error> for Error {
    fn from(err: crate::state::Error) -> Self {
        let hint = err.hint();
        let mut out = Error::blocked(err.to_string());
        out.hints.push(hint);
        out
    }
}

impl From<crate::gates::Error> for Error {
    fn from(err: crate::gates::Error) -> Self {
        match err {
            crate::gates::Error::Git(e) => Error::from(e),
            crate::gates::Error::Interrupted => {
                Error { kind: Kind::Interrupted, message: err.to_string(), causes: Vec::new(), hints: Vec::new() }
            }
            crate::gates::Error::Config { .. } => Error::usage(err.to_string())
                .hint("fix [gates] in .orchestrate.toml (or the plan's [phase.gates] override)"),
            crate::gates::Error::Io { .. } => Error::blocked(err.to_string()),
            crate::gates::Error::Untrusted(ref commands) => {
                let mut out = Error::blocked(err.to_string());
                for crate::trust::Command { gate, run, env, seed } in &commands.commands {
                    let env = env.iter().fold(String::new(), |s, (k, v)| s + k + "=" + v + " ");
                    out = out.cause(format!("gate {gate} runs: {env}{run}"));
                    if !seed.is_empty() {
                        out = out.cause(format!("gate {gate} copies from your work tree: {}", seed.join(", ")));
                    }
                }
                out.hint("read them; if you are happy to run them on this machine: git orchestrate trust")
            }
        }
    }
}

impl From<crate::render::Error> for Error {
    fn from(err: crate::render::Error) -> Self {
        let hint = err
            .hint
            .clone()
            .unwrap_or_else(|| "fix the template, or delete the override to use the built-in one".into());
        Error::usage(err.to_string()).hint(hint)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            Error { kind: Kind::BrokenPipe, message: String::new(), causes: Vec::new(), hints: Vec::new() }
        } else {
            Error::blocked(err.to_string())
        }
    }
}
