//! `TestRepo`: a throwaway repository driven through the real binary and real git, isolated
//! from the surrounding environment. Every variable of the calling process is dropped (a test
//! run from inside a git hook must never touch the real repository), HOME and XDG point into the
//! temp dir, system and global git config are off, identities and dates are fixed.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

pub const BIN: &str = env!("CARGO_BIN_EXE_git-orchestrate");

pub struct TestRepo {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub dir: PathBuf,
    home: PathBuf,
    clock: AtomicU64,
    /// Where the Python test tools are (`PYTHONPATH`), once a test asked for them.
    pythonpath: std::sync::Mutex<Option<PathBuf>>,
    /// Whether commands run with `ORCHESTRATE_TRUST_CONFIG=1` (as CI does): on unless a test
    /// is about trust.
    trust: std::sync::atomic::AtomicBool,
}

/// What a command did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// The one variable passed through: where git is. When `python3` on it is a version manager's
/// shim (pyenv's runs a few shell scripts, some 60 ms, before every interpreter), the directory
/// of the interpreter it runs goes first: the same Python, started directly.
#[allow(clippy::disallowed_methods)]
fn path() -> std::ffi::OsString {
    static PATH: std::sync::OnceLock<std::ffi::OsString> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let real = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        match real.as_deref().and_then(Path::parent).filter(|dir| dir.is_absolute()) {
            Some(dir) => std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path)))
                .unwrap_or(path),
            None => path,
        }
    })
    .clone()
}

#[allow(clippy::needless_pass_by_value)]
fn from_output(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The approval policy the tests run under unless they set one: `--yes` without a terminal.
pub const ANY: &str = "[approvals]\nrequire = \"any\"\n";

/// Where tests make their throwaway directories: `TMPDIR` when the person running the tests
/// set it; else `/dev/shm` (memory), when it is a writable directory; else the system's temp dir.
/// The suite creates and deletes some hundred thousand files: on a disk filesystem finding free
/// inodes among the just-deleted ones costs a third of the run.
#[allow(clippy::disallowed_methods)]
pub fn scratch() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let writable = || tempfile::Builder::new().prefix("orchestrate-probe").tempdir_in(shm).is_ok();
        if std::env::var_os("TMPDIR").is_none() && shm.is_dir() && writable() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    })
    .clone()
}

/// A throwaway directory under [`scratch`].
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("orchestrate-test").tempdir_in(scratch()).expect("temp dir")
}

impl TestRepo {
    /// An empty temp dir (no repository yet).
    pub fn empty() -> Self {
        let tmp = tempdir();
        let root = tmp.path().canonicalize().expect("canonical temp dir");
        let home = root.join("home");
        let dir = root.join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            _tmp: tmp,
            root,
            dir,
            home,
            clock: AtomicU64::new(0),
            pythonpath: std::sync::Mutex::new(None),
            trust: true.into(),
        }
    }

    /// A repository on `main` with one commit.
    pub fn new() -> Self {
        let t = Self::empty();
        t.git(["init", "-q", "-b", "main"]);
        t.write("README.md", "hello\n");
        // Tests approve with --yes and no terminal, which only `approvals.require = "any"` allows.
        t.write(".orchestrate.toml", ANY);
        t.git(["add", "README.md", ".orchestrate.toml"]);
        t.git(["commit", "-q", "-m", "chore: initial commit"]);
        t
    }

    /// A command with the isolated environment, run in `dir`.
    pub fn command(&self, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let date = format!("{} +0000", 1_700_000_000 + tick * 60);
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", path())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_AUTHOR_NAME", "Ada Lovelace")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Lovelace")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_EDITOR", ":")
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        if self.trust.load(Ordering::Relaxed) {
            cmd.env("ORCHESTRATE_TRUST_CONFIG", "1");
        }
        if let Some(site) = self.pythonpath.lock().unwrap().as_ref() {
            cmd.env("PYTHONPATH", site);
        }
        cmd
    }

    /// Make pytest, coverage.py and bandit importable by `python3` in this repository's commands
    /// (provisioned once per test run, see [`python_tools`]). `false`, with a message on stderr,
    /// where they cannot be had on this machine: the caller skips.
    pub fn with_python_tools(&self) -> bool {
        match python_tools() {
            Ok(site) => {
                *self.pythonpath.lock().unwrap() = site;
                true
            }
            Err(why) => {
                eprintln!("SKIPPED: this test needs pytest, coverage.py and bandit, which cannot be had here: {why}");
                false
            }
        }
    }

    /// From now on, commands run as on a user's machine: the configuration's commands need trust.
    pub fn without_ci_trust(&self) {
        self.trust.store(false, Ordering::Relaxed);
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Run git in the repository; panics on failure and returns stdout.
    #[track_caller]
    pub fn git<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.git_in(&self.dir, args)
    }

    #[track_caller]
    pub fn git_in<I, S>(&self, dir: &Path, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.command("git", dir).args(args).output().expect("git runs");
        let run = from_output(out);
        assert_eq!(run.code, 0, "git failed:\n{}", run.stderr);
        run.stdout
    }

    /// Run git and return what happened, success or not.
    pub fn git_try<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        from_output(self.command("git", &self.dir).args(args).output().expect("git runs"))
    }

    /// Run `git-orchestrate` in the repository.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_in(&self.dir, args)
    }

    pub fn run_in<I, S>(&self, dir: &Path, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        from_output(self.command(BIN, dir).args(args).output().expect("binary runs"))
    }

    /// Run `git-orchestrate` with extra environment variables.
    pub fn run_env<I, S>(&self, env: &[(&str, &str)], args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(BIN, &self.dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        from_output(cmd.args(args).output().expect("binary runs"))
    }

    /// Write a file of the work tree. `.orchestrate.toml` gets [`ANY`] appended unless it sets
    /// `[approvals]` itself: tests approve with `--yes` and no terminal (the policy tests set
    /// their own).
    pub fn write(&self, path: &str, text: &str) {
        let with_policy;
        let text = if path == ".orchestrate.toml" && !text.contains("[approvals]") {
            with_policy = format!("{text}\n{ANY}");
            &with_policy
        } else {
            text
        };
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Run `git-orchestrate` where cargo works as it does for the one running the tests (its
    /// toolchain and registry cache through `RUSTUP_HOME`/`CARGO_HOME`), building into a
    /// target directory of this repository's temp dir, offline.
    pub fn run_with_cargo<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let vars = self.cargo_vars();
        let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.run_env(&env, args)
    }

    /// The toolchain the suite itself runs with (the test's HOME is a temp dir), offline, and
    /// `CARGO_TARGET_DIR` outside the repository (`<root>/target`), as a user may export it.
    fn cargo_vars(&self) -> Vec<(&'static str, String)> {
        #[allow(clippy::disallowed_methods)]
        let var = |name: &str| std::env::var(name).ok();
        let home = var("HOME").unwrap_or_default();
        let rustup = var("RUSTUP_HOME").unwrap_or_else(|| format!("{home}/.rustup"));
        let cargo_home = var("CARGO_HOME").unwrap_or_else(|| format!("{home}/.cargo"));
        let target = self.root.join("target");
        vec![
            ("RUSTUP_HOME", rustup),
            ("CARGO_HOME", cargo_home),
            ("CARGO_TARGET_DIR", target.to_str().unwrap().to_string()),
            ("CARGO_NET_OFFLINE", "true".to_string()),
            ("CARGO_BUILD_JOBS", "1".to_string()),
        ]
    }

    /// Run cargo by hand in the work tree, as the user would, with the environment of
    /// [`TestRepo::run_with_cargo`] (`target` replaces its `CARGO_TARGET_DIR`).
    pub fn cargo(&self, args: &[&str], target: Option<&Path>) -> Run {
        let mut cmd = self.command("cargo", &self.dir);
        for (k, v) in self.cargo_vars() {
            cmd.env(k, v);
        }
        if let Some(target) = target {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        from_output(cmd.args(args).output().expect("cargo runs"))
    }

    /// Take the committed `.orchestrate.toml` away (for `init`, which writes one only where
    /// there is none).
    pub fn without_config(&self) {
        self.git(["rm", "-q", "--", ".orchestrate.toml"]);
        self.git(["commit", "-q", "--no-verify", "-m", "chore: no configuration"]);
    }

    /// Write `.orchestrate.toml` and commit it (gates judge with the committed configuration).
    pub fn configure(&self, text: &str) {
        self.write(".orchestrate.toml", text);
        self.git(["add", "--", ".orchestrate.toml"]);
        self.git(["commit", "-q", "--no-verify", "-m", "chore: gates"]);
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).unwrap()
    }

    /// Write, stage and commit one file.
    pub fn commit_file(&self, path: &str, text: &str, message: &str) {
        self.write(path, text);
        self.git(["add", "--", path]);
        self.git(["commit", "-q", "-m", message]);
    }

    pub fn head_branch(&self) -> String {
        self.git(["rev-parse", "--abbrev-ref", "HEAD"]).trim().to_string()
    }

    pub fn rev(&self, spec: &str) -> String {
        self.git(["rev-parse", spec]).trim().to_string()
    }

    /// The feature's event log as stored in the notes (one JSON object a line).
    pub fn events(&self, feature: &str) -> Vec<serde_json::Value> {
        let key = self.hash_blob(&format!("git-orchestrate feature {feature}\n"));
        let note = self.git(["notes", "--ref=orchestrate", "show", &key]);
        note.lines().map(|l| serde_json::from_str(l).expect("each note line is JSON")).collect()
    }

    pub fn hash_blob(&self, content: &str) -> String {
        let mut cmd = self.command("git", &self.dir);
        cmd.args(["hash-object", "-w", "--stdin"]).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), content.as_bytes()).unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A plan with `n` phases, each with disjoint paths, committed-ready text.
    pub fn plan_text(feature: &str, n: u32) -> String {
        let mut s = format!(
            "+++\nfeature = \"{feature}\"\ntitle = \"JWT authentication with refresh tokens\"\nbase = \"main\"\n"
        );
        let titles = ["Database schema", "Backend services", "Frontend integration", "Docs", "Rollout"];
        let owners = ["maat", "hermes", "aphrodite", "mnemosyne", "zeus"];
        for i in 1..=n {
            let t = titles[(i as usize - 1) % titles.len()];
            let o = owners[(i as usize - 1) % owners.len()];
            let _ = write!(
                s,
                "\n[[phase]]\nid = {i}\ntitle = \"{t}\"\nowner = \"{o}\"\ntasks = [\"task {i}a\", \"task {i}b\"]\ntests = [\"test {i}\"]\npaths = [\"area{i}/**\"]\nrisks = [\"risk {i}\"]\n"
            );
        }
        s.push_str("+++\n\n# JWT authentication\n");
        s
    }

    /// Start `feature` from a plan file with `n` phases and approve the plan.
    pub fn started_and_approved(&self, feature: &str, n: u32) {
        self.started_with(feature, &Self::plan_text(feature, n));
    }

    /// Start `feature` from the plan text `plan` and approve the plan.
    pub fn started_with(&self, feature: &str, plan: &str) {
        let file = self.root.join(format!("{feature}-plan.md"));
        std::fs::write(&file, plan).unwrap();
        self.run(["start", feature, "--plan", file.to_str().unwrap()]).ok();
        self.run(["approve", "plan", "--yes"]).ok();
    }
}

/// The Python tools the gate tests run for real: pytest, coverage.py and bandit. When the
/// machine's `python3` lacks them, they are installed once per test run with pip into
/// `target/tmp/python-tools` (made once, reused by later runs), and handed to commands through
/// `PYTHONPATH`. `Ok(None)`: the machine's own have them. `Err`: no `python3` or no pip.
pub fn python_tools() -> Result<Option<PathBuf>, String> {
    static TOOLS: std::sync::OnceLock<Result<Option<PathBuf>, String>> = std::sync::OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let imports = |site: Option<&Path>| {
                let mut cmd = Command::new("python3");
                cmd.args(["-c", "import pytest, coverage, bandit"]).stdout(Stdio::null()).stderr(Stdio::null());
                if let Some(site) = site {
                    cmd.env("PYTHONPATH", site);
                }
                cmd.status().is_ok_and(|s| s.success())
            };
            if imports(None) {
                return Ok(None);
            }
            let site = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-tools");
            if imports(Some(&site)) {
                return Ok(Some(site));
            }
            let out = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "--target"])
                .arg(&site)
                .args(["pytest", "coverage", "bandit"])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("python3: {e}"))?;
            if !out.status.success() {
                return Err(format!("pip install failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            }
            if imports(Some(&site)) {
                Ok(Some(site))
            } else {
                Err("installed, but not importable".into())
            }
        })
        .clone()
}

/// vitest and jest for the runner tests: installed once per test run with npm into
/// `target/tmp/node-tools` (reused by later runs). Returns that directory (its
/// `node_modules/.bin` holds both), or why they cannot be had here (no node or npm, no
/// registry): the caller skips with a visible message.
pub fn node_tools() -> Result<PathBuf, String> {
    static TOOLS: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-tools");
            let bin = dir.join("node_modules").join(".bin");
            if bin.join("vitest").exists() && bin.join("jest").exists() {
                return Ok(dir);
            }
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("package.json"), "{\"name\": \"node-tools\", \"private\": true}\n")
                .map_err(|e| e.to_string())?;
            let out = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent", "vitest@3.2.7", "jest@29.7.0"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("npm: {e}"))?;
            if !out.status.success() || !bin.join("vitest").exists() {
                return Err(format!("npm install failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            }
            Ok(dir)
        })
        .clone()
}
