//! SSH signatures of approvals, as git makes them for commits: `ssh-keygen -Y sign` with the
//! user's signing key (`user.signingkey`, `gpg.format = ssh`), and `ssh-keygen -Y verify`
//! against an allowed-signers file (git's `gpg.ssh.allowedSignersFile` format). The one place
//! `ssh-keygen` runs; files it needs live in a private temporary directory.

use std::ffi::OsString;
use std::path::PathBuf;

use super::{Error, Repo, Result};

/// The namespace every signature is made in, so one made for anything else never verifies here.
pub const NAMESPACE: &str = "git-orchestrate";

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
    /// Sign `payload` with the user's git signing key. Git must be set up for ssh signing
    /// (`gpg.format = ssh`, `user.signingkey` a key file, or a public key whose private half is
    /// in the ssh agent). Returns the armored signature.
    pub fn ssh_sign(&self, payload: &[u8]) -> Result<String> {
        let format = self.config_string("gpg.format").unwrap_or_else(|| "openpgp".into());
        if format != "ssh" {
            return Err(Error::Io(format!(
                "signed approvals need ssh signing, and git's gpg.format is `{format}` (set gpg.format = ssh and user.signingkey)"
            )));
        }
        let key = self
            .config_string("user.signingkey")
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| Error::Io("signed approvals need a signing key: user.signingkey is not set".into()))?;
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
        let data = dir.path().join("payload");
        write(&data, payload)?;
        let sig = dir.path().join("payload.sig");
        let args: Vec<OsString> =
            vec!["-Y".into(), "sign".into(), "-n".into(), NAMESPACE.into(), "-f".into(), key_path.into(), data.into()];
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
        std::fs::read_to_string(&sig).map_err(|e| Error::Io(format!("reading the signature: {e}")))
    }
}

/// Whether `signature` is `principal`'s signature of `payload`, by a key the allowed-signers
/// text lists for that principal. `Err` carries why not, in ssh-keygen's words.
pub fn ssh_verify(
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
        NAMESPACE.into(),
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
