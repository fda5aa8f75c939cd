//! `secrets scan`: the secret scanner on files and directories, outside any gate. Inside a
//! repository, what git ignores is skipped and the gitleaks configuration is the one the secrets
//! gate reads.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::git::Repo;
use crate::secrets::{self, Scanner};

/// What to scan, and with what.
#[derive(Debug, Clone, Copy)]
pub struct ScanRequest<'a> {
    /// Files or directories.
    pub paths: &'a [PathBuf],
    /// A gitleaks configuration to add (default: the repository's, as the secrets gate names it).
    pub gitleaks: Option<&'a Path>,
    /// A baseline of accepted findings (`{"fingerprints": [...]}`).
    pub baseline: Option<&'a Path>,
}

/// The repository the scan runs in: what git does not ignore, and its gitleaks configuration
/// (path, text) as the secrets gate names it: the work tree's copy, else the committed one.
fn in_repository(repo: &Repo) -> Option<(secrets::Unignored, Option<(String, String)>)> {
    let root = std::fs::canonicalize(repo.workdir()).ok()?;
    let files = repo.unignored_files(std::slice::from_ref(&root)).ok()?;
    let files = files.into_iter().map(|f| f.strip_prefix(repo.workdir()).map_or(f.clone(), |rel| root.join(rel)));
    let unignored = secrets::Unignored::new(root.clone(), files);
    // The path the secrets gate reads its gitleaks configuration from.
    let head = repo.resolve_commit("HEAD").ok().flatten();
    let config = crate::workflow::config_at(repo, head).map(|(c, _)| c).unwrap_or_default();
    let secrets_gate = config
        .gates_in_effect()
        .into_iter()
        .find(|(name, g)| g.kind_name(name).is_ok_and(|k| k == "secrets"))
        .map(|(_, g)| g);
    let path = secrets_gate.unwrap_or_default().gitleaks_file();
    let text = std::fs::read_to_string(root.join(&path)).ok().or_else(|| {
        let tree = repo.commit_tree(head?).ok()?;
        repo.tree_blob(tree, &path).ok()?.map(|b| String::from_utf8_lossy(&b).into_owned())
    });
    Some((unignored, text.map(|t| (path, t))))
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::usage(format!("cannot read {what} {}: {e}", path.display())))
}

/// Scan `req.paths` with the built-in rules, the gitleaks configuration and the baseline; inside
/// `repo` (the repository the command runs in, if any) skipping what git ignores unless named.
pub fn scan(repo: Option<&Repo>, req: &ScanRequest<'_>) -> Result<secrets::Scanned> {
    let (unignored, repo_gitleaks) = match repo.and_then(in_repository) {
        Some((u, g)) => (Some(u), g),
        None => (None, None),
    };
    let (gitleaks_name, gitleaks_text) = match req.gitleaks {
        Some(p) => (p.display().to_string(), Some(read(p, "gitleaks configuration")?)),
        None => repo_gitleaks.map_or((String::new(), None), |(name, text)| (name, Some(text))),
    };
    let baseline: HashSet<String> = match req.baseline {
        None => HashSet::new(),
        Some(p) => {
            let text = read(p, "baseline")?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::usage(format!("{}:{}: {e}", p.display(), e.line())))?;
            v["fingerprints"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_string)).collect()
        }
    };
    let scanner = Scanner::new(gitleaks_text.as_deref().map(|t| (gitleaks_name.as_str(), t)), baseline)
        .map_err(|e| Error::usage(e.to_string()))?;
    Ok(secrets::scan_paths(&scanner, req.paths, unignored.as_ref()))
}
