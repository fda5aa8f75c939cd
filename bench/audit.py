#!/usr/bin/env python3
"""Benchmark: what the audit gate adds to a phase-branch commit's gating.

A phase whose staged change touches 10 files (5 pytest files, each with a test removed, an
assertion dropped and a skip marker added, and 5 source files with a coverage exclusion) is
judged at pre-commit with `gate --stage pre-commit --force`: the secrets gate alone, and the
secrets gate with the audit. Both share the one in-process diff; the difference is the audit's
own cost (its findings, the old and new text of the test files, the evidence written).

    python3 bench/audit.py [--bin target/release/git-orchestrate] [--runs 30]
"""
import os
import shutil
import subprocess
import tempfile

from common import arguments, git_env, timed

TEST = "import pytest\n\n\n" + "".join(f"def test_{i}():\n    assert {i} == {i}\n    assert {i} + 0 == {i}\n\n\n" for i in range(40))


def main():
    args, binary = arguments(__doc__, runs=30)
    root = tempfile.mkdtemp(prefix="orchestrate-audit-bench")
    env = git_env(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="gc.auto", GIT_CONFIG_VALUE_0="0")
    try:
        repo = os.path.join(root, "repo")
        run = lambda *cmd: subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
        os.makedirs(repo)
        run("git", "init", "-q", "-b", "main")
        with open(os.path.join(repo, ".orchestrate.toml"), "w") as f:
            f.write('[gates.secrets]\n\n[approvals]\nrequire = "any"\n')
        for i in range(5):
            os.makedirs(os.path.join(repo, "work/tests"), exist_ok=True)
            with open(os.path.join(repo, f"work/tests/test_m{i}.py"), "w") as f:
                f.write(TEST)
            with open(os.path.join(repo, f"work/m{i}.py"), "w") as f:
                f.write("".join(f"def f{j}(x):\n    return x + {j}\n\n\n" for j in range(100)))
        run("git", "add", "-A")
        run("git", "commit", "-q", "-m", "chore: init")
        plan = os.path.join(root, "plan.md")
        with open(plan, "w") as f:
            f.write('+++\nfeature = "bench"\ntitle = "Bench"\n[[phase]]\nid = 1\ntitle = "Work"\nowner = "hermes"\npaths = ["work/**"]\n+++\n')
        run(binary, "start", "bench", "--plan", plan)
        run(binary, "approve", "plan", "--yes")
        run(binary, "phase", "start")
        for i in range(5):
            text = TEST.replace("def test_3():", "@pytest.mark.skip\ndef test_3():").replace("def test_7():\n    assert 7 == 7\n", "def test_7():\n")
            text = text.replace("def test_9():", "def _helper_9():")
            with open(os.path.join(repo, f"work/tests/test_m{i}.py"), "w") as f:
                f.write(text)
            with open(os.path.join(repo, f"work/m{i}.py"), "a") as f:
                f.write("def g(x):  # pragma: no cover\n    return x\n")
        run("git", "add", "-A")
        gate = [binary, "gate", "--stage", "pre-commit", "--force"]
        kw = dict(cwd=repo, env=env)
        secrets, secrets_min, _ = timed(gate + ["--only", "secrets"], args.runs, **kw)
        both, both_min, out = timed(gate + ["--only", "secrets,audit", "--json"], args.runs, check=False, **kw)
        findings = out.stdout.decode().count('"id": "audit:')
        print("| gates (pre-commit, 10 staged files) | median | min |")
        print("|---|---:|---:|")
        print(f"| secrets | {secrets * 1000:.1f} ms | {secrets_min * 1000:.1f} ms |")
        print(f"| secrets + audit ({findings} findings) | {both * 1000:.1f} ms | {both_min * 1000:.1f} ms |")
        print(f"| the audit's share | **{(both - secrets) * 1000:.1f} ms** | |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
