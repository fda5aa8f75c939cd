//! The one place that spawns `git`: a `which`-resolved binary, explicit `-C`, stdin closed,
//! `LC_ALL=C`, output captured. Used only for what gix cannot do.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{Error, Result};

fn git_binary() -> Result<&'static Path> {
    static GIT: OnceLock<Option<PathBuf>> = OnceLock::new();
    GIT.get_or_init(|| {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        which::which_in("git", crate::env::path(), cwd).ok()
    })
    .as_deref()
    .ok_or_else(|| Error::Spawn("git was not found on PATH".into()))
}

/// A `git` invocation being built.
pub struct Git {
    dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    clean_env: bool,
    /// Ended (killed) when it runs longer: for talking to a remote that may never answer.
    limit: Option<std::time::Duration>,
}

/// What a finished `git` run left behind.
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Git {
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), args: Vec::new(), env: Vec::new(), clean_env: false, limit: None }
    }

    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `--flag=value` as one argument.
    #[must_use]
    pub fn arg_pair(mut self, flag: &str, value: &str) -> Self {
        self.args.push(format!("{flag}={value}").into());
        self
    }

    #[must_use]
    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// End the run (an error) when it takes longer than `limit`.
    #[must_use]
    pub fn limit(mut self, limit: std::time::Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Drop `GIT_DIR`, `GIT_INDEX_FILE` and friends: for running git on another repository
    /// or worktree than the one a hook was called for.
    #[must_use]
    pub fn clean_env(mut self) -> Self {
        self.clean_env = true;
        self
    }

    fn describe(&self) -> String {
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        format!("git {}", args.join(" "))
    }

    /// Run and return whatever happened; fails only if git could not be started.
    pub fn output(self) -> Result<Output> {
        let git = git_binary()?;
        let mut args: Vec<OsString> = vec!["-C".into(), self.dir.clone().into_os_string()];
        args.extend(self.args.iter().cloned());
        let mut expr =
            duct::cmd(git, args).env("LC_ALL", "C").stdout_capture().stderr_capture().unchecked().stdin_null();
        if self.clean_env {
            for var in crate::env::GIT_REPO_VARS {
                expr = expr.env_remove(var);
            }
        }
        for (k, v) in &self.env {
            expr = expr.env(k, v);
        }
        let out = match self.limit {
            None => expr.run().map_err(|e| Error::Spawn(format!("{}: {e}", self.describe())))?,
            Some(limit) => {
                let handle = expr.start().map_err(|e| Error::Spawn(format!("{}: {e}", self.describe())))?;
                let done = handle.wait_timeout(limit).map_err(|e| Error::Spawn(format!("{}: {e}", self.describe())))?;
                if let Some(out) = done {
                    out.clone()
                } else {
                    let _ = handle.kill();
                    return Err(Error::Io(format!(
                        "`{}` did not finish within {} s",
                        self.describe(),
                        limit.as_secs()
                    )));
                }
            }
        };
        Ok(Output {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// Run; a non-zero exit is an error carrying git's stderr.
    pub fn run(self) -> Result<()> {
        self.read().map(|_| ())
    }

    /// Run and return stdout; a non-zero exit is an error carrying git's stderr.
    pub fn read(self) -> Result<String> {
        let command = self.describe();
        let out = self.output()?;
        if out.success {
            Ok(out.stdout)
        } else {
            Err(Error::Cli { command, stderr: out.stderr })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_past_its_limit_is_ended_with_an_error() {
        let dir = std::env::temp_dir();
        let start = std::time::Instant::now();
        let run = Git::new(&dir)
            .args(["-c", "alias.hang=!sleep 3", "hang"])
            .limit(std::time::Duration::from_millis(300))
            .output();
        let Err(Error::Io(why)) = run else { panic!("not ended: {:?}", run.map(|o| o.stdout)) };
        assert!(why.contains("did not finish within"), "{why}");
        assert!(start.elapsed() < std::time::Duration::from_secs(3), "ended at the limit, not when it finished");
    }
}
