#!/usr/bin/env python3
"""Benchmark: what the audit gate adds to a phase-branch commit's gating.

A phase whose staged change touches 10 files is judged twice: clean (a new function in each of
5 source files, a new test in each of 5 pytest files), and gaming (in each pytest file a test
removed, an assertion dropped and a skip marker added; in each source file a coverage
exclusion). Each is judged at pre-commit with `gate --stage pre-commit --force`: the secrets gate alone, and the
secrets gate with the audit. Both share the one in-process diff; the difference is the audit's
own cost (its findings, the old and new text of the test files, the evidence written).

With valgrind on PATH it also counts each process's instructions (callgrind), a figure that
other work on the machine does not change.

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
        gate = [binary, "gate", "--stage", "pre-commit", "--force"]
        kw = dict(cwd=repo, env=env)
        print("| gates (pre-commit, 10 staged files) | median | min |")
        print("|---|---:|---:|")
        # A clean phase first (a new function in each source file, a new test in each test
        # file), then one that games the tests in every file.
        for scenario in ("clean", "gaming"):
            for i in range(5):
                if scenario == "clean":
                    text = TEST + f"def test_new_{i}():\n    assert f{i}(1) == 1 + {i}\n"
                    code = f"def h{i}(x):\n    return x * {i}\n"
                else:
                    text = TEST.replace("def test_3():", "@pytest.mark.skip\ndef test_3():").replace("def test_7():\n    assert 7 == 7\n", "def test_7():\n")
                    text = text.replace("def test_9():", "def _helper_9():")
                    code = "def g(x):  # pragma: no cover\n    return x\n"
                with open(os.path.join(repo, f"work/tests/test_m{i}.py"), "w") as f:
                    f.write(text)
                with open(os.path.join(repo, f"work/m{i}.py"), "a") as f:
                    f.write(code)
            run("git", "add", "-A")
            # Both with --json (the findings are counted from it), so rendering costs the same.
            secrets, secrets_min, _ = timed(gate + ["--only", "secrets", "--json"], args.runs, **kw)
            both, both_min, out = timed(gate + ["--only", "secrets,audit", "--json"], args.runs, check=False, **kw)
            findings = out.stdout.decode().count('"id": "audit:')
            print(f"| {scenario}: secrets | {secrets * 1000:.1f} ms | {secrets_min * 1000:.1f} ms |")
            print(f"| {scenario}: secrets + audit ({findings} findings) | {both * 1000:.1f} ms | {both_min * 1000:.1f} ms |")
            print(f"| {scenario}: the audit's share | **{(both - secrets) * 1000:.1f} ms** | |")
            if shutil.which("valgrind"):
                # Instructions, which other work on the machine does not change.
                counts = []
                for only in ("secrets", "secrets,audit"):
                    # From the same start: the evidence note grows with every run above.
                    run("git", "update-ref", "-d", "refs/notes/orchestrate-evidence")
                    cg = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + gate + ["--only", only, "--json"],
                                        cwd=repo, env=env, capture_output=True)
                    counts.append(int(cg.stderr.decode().split("Collected : ")[1].split()[0]))
                print(f"| {scenario}: instructions, secrets → secrets + audit | {counts[0] / 1e6:.1f} M → {counts[1] / 1e6:.1f} M | +{(counts[1] - counts[0]) / 1e6:.1f} M |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
