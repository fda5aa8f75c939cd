//! The command gate: its `run`'s exit code decides alone.

use super::engine::Run;
use super::{Evidence, Spec, Verdict};

pub(super) fn judge(spec: &Spec, run: &Run<'_>, e: &mut Evidence) {
    let code = run.code;
    e.summary = format!("exit {code}");
    if code != 0 {
        e.verdict = Verdict::Fail;
        e.reasons.push(format!("`{}` exited with {code}", spec.config.run.as_deref().unwrap_or_default()));
    }
}
