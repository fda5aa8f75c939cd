//! The tests gate: the verdict on a test run, from the counts of the runner's summary
//! (`test_counts`, read as the output streams), or from its exit code alone with
//! `counts = false`. With `from = "<coverage gate>"` it reads that gate's run instead of running
//! the suite again. (The module is the gate; unit tests sit in each file's own `mod tests`.)

use std::time::Duration;

use super::{runner, test_counts, Context, Evidence, Spec, Verdict};

/// The verdict of a tests gate with `from = "<coverage gate>"`: that gate's run (in `source`)
/// read for its test counts, as if the tests gate had run the suite itself.
pub(super) fn from(spec: &Spec, source: &Evidence, ctx: &Context, by: &str) -> Evidence {
    let mut e = Evidence::begin(spec, ctx, by);
    e.command.clone_from(&source.command);
    e.exit_code = source.exit_code;
    e.output_tail.clone_from(&source.output_tail);
    e.figures.insert("from".into(), source.gate.clone().into());
    let Some(code) = source.exit_code else {
        e.verdict = Verdict::Error;
        e.summary = format!("{} did not finish", source.gate);
        e.reasons.push(format!("the run of `{}` reached no exit code: {}", source.gate, source.summary));
        return e;
    };
    let finished = runner::Finished {
        ending: runner::Ending::Exited(code),
        started: std::time::SystemTime::now(),
        duration: Duration::ZERO,
        tail: source.output_tail.clone(),
        counts: test_counts::parse(&source.output_tail),
    };
    judge(spec, &finished, code, &mut e);
    e
}

pub(super) fn judge(spec: &Spec, finished: &runner::Finished, code: i32, e: &mut Evidence) {
    if spec.config.counts == Some(false) {
        // The configuration says this runner prints no summary the tool reads: the exit code
        // decides alone.
        e.summary = format!("exit {code} (counts = false)");
        if code != 0 {
            e.verdict = Verdict::Fail;
            e.reasons.push(format!("the test command exited with {code}"));
        }
        return;
    }
    let Some((runner, counts)) = finished.counts else {
        e.verdict = Verdict::Error;
        e.summary = format!("exit {code}, no test summary recognised");
        e.reasons.push(format!(
            "no test summary recognised in the output (read: {}): the tests gate cannot tell what ran; its output's tail is below",
            test_counts::RUNNERS.join(", ")
        ));
        return;
    };
    e.figures.insert("runner".into(), runner.into());
    e.figures.insert("passed".into(), counts.passed.into());
    e.figures.insert("failed".into(), counts.failed.into());
    e.figures.insert("skipped".into(), counts.skipped.into());
    if counts.failed_files > 0 {
        e.figures.insert("failed_files".into(), counts.failed_files.into());
    }
    e.summary = format!("{} passed, {} failed, {} skipped", counts.passed, counts.failed, counts.skipped);
    // pytest exits 5 when it collected nothing (unittest too, from Python 3.12): that is "no
    // test ran", not a failure of one.
    let nothing_ran = counts.passed == 0 && counts.failed == 0;
    let code_ok = code == 0 || (nothing_ran && matches!(runner, "pytest" | "unittest") && code == 5);
    if counts.failed_files > 0 {
        e.verdict = Verdict::Fail;
        let n = counts.failed_files;
        e.summary = format!("{}, {n} test file{} failed", e.summary, if n == 1 { "" } else { "s" });
        e.reasons.push(format!(
            "{n} test file{} failed as a whole (it did not load or run): its tests are not counted (exit {code})",
            if n == 1 { "" } else { "s" }
        ));
    } else if nothing_ran && !spec.config.allow_no_tests.unwrap_or(false) {
        e.verdict = Verdict::Fail;
        e.reasons.push(
            "no test ran: a run that tests nothing proves nothing (set allow_no_tests = true to accept it)".into(),
        );
    } else if !code_ok || counts.failed > 0 {
        e.verdict = Verdict::Fail;
        e.reasons.push(format!(
            "{} test{} failed (exit {code})",
            counts.failed,
            if counts.failed == 1 { "" } else { "s" }
        ));
    }
}
