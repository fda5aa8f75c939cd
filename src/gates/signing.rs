//! Signed evidence. Under `approvals.require = "signed"` every evidence record the tool writes is
//! signed with the user's git signing key (ssh), and a record counts (as a cached verdict, at
//! pre-push, in `status`, in the audit and the reports) only when it verifies for the person it
//! names against the allowed-signers file committed in the judging tree. An unsigned record, one
//! whose signature does not verify, or one altered after signing is a cache miss: the gate runs
//! again. Never a pass.
//!
//! The signature covers the record's JSON line without its `sig` field
//! ([`Evidence::signed_payload`]), so the tree, the gate's configuration fingerprint, the verdict
//! and the figures are all bound: a signed record copied to another tree's note, or edited, no
//! longer counts.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{Error, Evidence};
use crate::git::sign::EVIDENCE_NAMESPACE;
use crate::git::Repo;

/// The evidence policy of a feature under `approvals.require = "signed"`.
#[derive(Debug)]
pub struct Signing {
    /// Where the allowed-signers file is (for messages).
    pub path: String,
    /// Its content in the judging tree, when it is committed there.
    pub allowed: Option<Vec<u8>>,
    /// Lines already checked: a record is verified once per process.
    checked: RefCell<HashMap<String, bool>>,
}

/// The email in `Name <email>`: the principal a signature is checked for.
pub fn principal(by: &str) -> &str {
    by.rsplit_once('<').and_then(|(_, rest)| rest.strip_suffix('>')).unwrap_or(by)
}

impl Signing {
    pub fn new(path: String, allowed: Option<Vec<u8>>) -> Self {
        Signing { path, allowed, checked: RefCell::new(HashMap::new()) }
    }

    /// Whether `record` counts: signed by the person it names, with a key the allowed signers
    /// list for them, over exactly this record.
    pub fn admits(&self, record: &Evidence) -> Result<bool, Error> {
        let (Some(sig), Some(allowed)) = (&record.sig, &self.allowed) else { return Ok(false) };
        let payload = record.signed_payload();
        let memo = format!("{payload}\n{sig}");
        if let Some(known) = self.checked.borrow().get(&memo) {
            return Ok(*known);
        }
        let good =
            crate::git::sign::ssh_verify(EVIDENCE_NAMESPACE, allowed, principal(&record.by), payload.as_bytes(), sig)?
                .is_ok();
        self.checked.borrow_mut().insert(memo, good);
        Ok(good)
    }

    /// The records among `records` that count.
    pub fn admitted(&self, records: Vec<Evidence>) -> Result<Vec<Evidence>, Error> {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            if self.admits(&r)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Sign `records` in place with the user's signing key (one run of ssh-keygen). A record
    /// verified by this process stays admitted without running ssh-keygen again.
    pub fn sign(&self, repo: &Repo, records: &mut [Evidence]) -> Result<(), Error> {
        if records.is_empty() {
            return Ok(());
        }
        let payloads: Vec<String> = records
            .iter_mut()
            .map(|r| {
                r.sig = None;
                r.signed_payload()
            })
            .collect();
        let bytes: Vec<&[u8]> = payloads.iter().map(String::as_bytes).collect();
        let sigs = repo.ssh_sign_all(EVIDENCE_NAMESPACE, &bytes).map_err(|e| Error::Io {
            gate: records[0].gate.clone(),
            message: format!("approvals.require = \"signed\": evidence is signed with your git signing key, and {e}"),
        })?;
        for (r, sig) in records.iter_mut().zip(sigs) {
            r.sig = Some(sig);
        }
        Ok(())
    }
}

/// Whether `record` counts under `signing` (everything counts without it).
pub fn admits(signing: Option<&Signing>, record: &Evidence) -> Result<bool, Error> {
    signing.map_or(Ok(true), |s| s.admits(record))
}
