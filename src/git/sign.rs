//! SSH signatures of approvals, as git makes them for commits: `ssh-keygen -Y sign` with the
//! user's signing key (`user.signingkey`, `gpg.format = ssh`), and `ssh-keygen -Y verify`
//! against an allowed-signers file (git's `gpg.ssh.allowedSignersFile` format). The one place
//! `ssh-keygen` runs; files it needs live in a private temporary directory.

use std::ffi::OsString;
use std::path::PathBuf;

use super::{Error, Repo, Result};

/// The namespace approvals are signed in, so a signature made for anything else never verifies
/// as one.
pub const NAMESPACE: &str = "git-orchestrate";
/// The namespace gate evidence is signed in: an approval's signature is never evidence, nor the
/// other way round.
pub const EVIDENCE_NAMESPACE: &str = "git-orchestrate-evidence";

fn ssh_keygen() -> Result<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in("ssh-keygen", crate::env::path(), cwd)
        .map_err(|_| Error::Io("signing needs ssh-keygen, which is not on PATH".into()))
}

fn temp() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("orchestrate-sign")
        .tempdir()
        .map_err(|e| Error::Io(format!("temporary directory: {e}")))
}

fn write(path: &std::path::Path, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

impl Repo {
    /// Sign `payload` with the user's git signing key, in `namespace`. Git must be set up for
    /// ssh signing (`gpg.format = ssh`, `user.signingkey` a key file, or a public key whose
    /// private half is in the ssh agent). Returns the armored signature.
    pub fn ssh_sign(&self, namespace: &str, payload: &[u8]) -> Result<String> {
        Ok(self.ssh_sign_all(namespace, &[payload])?.remove(0))
    }

    /// Sign each payload, with one run of ssh-keygen: one signature per payload, in order.
    pub fn ssh_sign_all(&self, namespace: &str, payloads: &[&[u8]]) -> Result<Vec<String>> {
        let format = self.config_string("gpg.format").unwrap_or_else(|| "openpgp".into());
        if format != "ssh" {
            return Err(Error::Io(format!(
                "signing needs ssh signing, and git's gpg.format is `{format}` (set gpg.format = ssh and user.signingkey)"
            )));
        }
        let key = self
            .config_string("user.signingkey")
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| Error::Io("signing needs a signing key: user.signingkey is not set".into()))?;
        let dir = temp()?;
        let key_path = if let Some(literal) = key.strip_prefix("key::") {
            let path = dir.path().join("key.pub");
            write(&path, literal.as_bytes())?;
            path
        } else if let Some(rest) = key.strip_prefix("~/") {
            crate::env::home().unwrap_or_default().join(rest)
        } else {
            PathBuf::from(key)
        };
        let mut args: Vec<OsString> =
            vec!["-Y".into(), "sign".into(), "-n".into(), namespace.into(), "-f".into(), key_path.into()];
        let mut files = Vec::with_capacity(payloads.len());
        for (i, payload) in payloads.iter().enumerate() {
            let data = dir.path().join(format!("payload-{i}"));
            write(&data, payload)?;
            args.push(data.clone().into());
            files.push(data.with_extension("sig"));
        }
        let out = duct::cmd(ssh_keygen()?, args)
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
            .map_err(|e| Error::Io(format!("ssh-keygen -Y sign: {e}")))?;
        if !out.status.success() {
            return Err(Error::Io(format!(
                "ssh-keygen could not sign with user.signingkey: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        files
            .iter()
            .map(|sig| std::fs::read_to_string(sig).map_err(|e| Error::Io(format!("reading the signature: {e}"))))
            .collect()
    }
}

/// Whether `signature` is `principal`'s signature of `payload`, by a key the allowed-signers
/// text lists for that principal. `Err` carries why not, in ssh-keygen's words.
pub fn ssh_verify(
    namespace: &str,
    allowed_signers: &[u8],
    principal: &str,
    payload: &[u8],
    signature: &str,
) -> Result<std::result::Result<(), String>> {
    let dir = temp()?;
    let (allowed, sig) = (dir.path().join("allowed_signers"), dir.path().join("payload.sig"));
    write(&allowed, allowed_signers)?;
    write(&sig, signature.as_bytes())?;
    let payload = payload.to_vec();
    let args: Vec<OsString> = vec![
        "-Y".into(),
        "verify".into(),
        "-n".into(),
        namespace.into(),
        "-I".into(),
        principal.into(),
        "-f".into(),
        allowed.into(),
        "-s".into(),
        sig.into(),
    ];
    let out = duct::cmd(ssh_keygen()?, args)
        .stdin_bytes(payload)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| Error::Io(format!("ssh-keygen -Y verify: {e}")))?;
    if out.status.success() {
        Ok(Ok(()))
    } else {
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let said = if said.is_empty() { String::from_utf8_lossy(&out.stdout).trim().to_string() } else { said };
        Ok(Err(said))
    }
}
