#!/usr/bin/env python3
"""Benchmark: no wasted runs — a docs-only phase push, and tests + coverage from one run.

A small Python project (pytest under coverage.py: `--modules` modules of 25 tests each, every
test doing a little arithmetic) gated by a coverage gate and a tests gate.

1. A docs-only phase push: on a phase branch, a code change is pushed (its pre-push hook runs
   the suite under coverage), then a README-only commit is pushed, `--runs` times. With the
   gates' `inputs` (`app/**`, `tests/**`) the pre-push hook finds the evidence of the same
   inputs and runs nothing; without them it runs the suite again. Each gate command appends a
   line to a marker file, so "no command ran" is counted, not assumed. `git push --no-verify`
   of the same kind of commit is the floor.
2. Tests and coverage: `gate --force` with a tests gate that runs pytest and a coverage gate
   that runs it again under coverage (two runs), against a tests gate with
   `from = "coverage"` (one run serves both).

pytest and coverage.py are taken from `python3` as it is, else from the test suite's
`target/tmp/python-tools`, else installed with pip into the benchmark's temporary directory.

    python3 bench/runs.py [--bin target/release/git-orchestrate] [--runs 10] [--modules 40]
"""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from common import arguments, git_env, timed

HERE = os.path.dirname(os.path.abspath(__file__))


def python_tools(root):
    """A PYTHONPATH under which `python3` imports pytest and coverage ('' when it does as it is)."""
    def imports(path):
        env = dict(os.environ, PYTHONPATH=path) if path else os.environ
        return subprocess.run(["python3", "-c", "import pytest, coverage"], env=env, capture_output=True).returncode == 0
    if imports(""):
        return ""
    provisioned = os.path.join(HERE, "..", "target", "tmp", "python-tools")
    if imports(provisioned):
        return os.path.abspath(provisioned)
    site = os.path.join(root, "site")
    subprocess.run(["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", site, "pytest", "coverage"], check=True)
    return site


def sh(cmd, cwd, env, **kw):
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kw)


def write(repo, path, text):
    full = os.path.join(repo, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def project(repo, modules):
    """`modules` modules of app/, each with a test file of 25 tests."""
    write(repo, "README.md", "# calc\n")
    write(repo, "app/__init__.py", "")
    write(repo, "tests/__init__.py", "")
    for m in range(modules):
        write(repo, f"app/m{m}.py", "".join(
            f"def f{i}(n):\n    total = 0\n    for k in range(n):\n        total += (k * {i + 1}) % 7\n    return total\n\n\n" for i in range(25)))
        write(repo, f"tests/test_m{m}.py", f"from app import m{m}\n\n\n" + "".join(
            f"def test_f{i}():\n    assert m{m}.f{i}(2000) == sum((k * {i + 1}) % 7 for k in range(2000))\n\n\n" for i in range(25)))


PYTEST = "python3 -m pytest -q -p no:cacheprovider tests"
COVERAGE = "python3 -m coverage run --source=app -m pytest -q -p no:cacheprovider tests && python3 -m coverage json -q -o coverage.json"
INPUTS = 'inputs = ["app/**", "tests/**"]\n'


def config(one_run, inputs, stage=None):
    """The gates: coverage, and tests from its run (`one_run`) or run separately. Each command
    first appends a line to $BENCH_MARKER."""
    at = f'stage = "{stage}"\n' if stage else ""
    keys = INPUTS if inputs else ""
    text = '[approvals]\nrequire = "any"\n\n'
    text += f'[gates.coverage]\nrun = "echo coverage >> \\"$BENCH_MARKER\\"; {COVERAGE}"\nreport = "coverage.json"\nmin = 90\n{at}{keys}\n'
    if one_run:
        text += f'[gates.tests]\nfrom = "coverage"\n{at}{keys}'
    else:
        text += f'[gates.tests]\nrun = "echo tests >> \\"$BENCH_MARKER\\"; {PYTEST}"\n{at}{keys}'
    return text


def marks(marker):
    try:
        with open(marker) as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0


def new_repo(root, name, env, modules, text):
    repo = os.path.join(root, name)
    os.makedirs(repo)
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    project(repo, modules)
    write(repo, ".orchestrate.toml", text)
    write(repo, ".gitignore", "coverage.json\n.coverage\n__pycache__/\n")
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "-m", "chore: init"], repo, env)
    return repo


def push_timed(repo, env, verify=True):
    start = time.perf_counter()
    sh(["git", "push", "-q", *([] if verify else ["--no-verify"]), "origin", "HEAD"], repo, env)
    return time.perf_counter() - start


def docs_push(binary, root, env, modules, runs, inputs):
    """Push a code change of a phase, then `runs` README-only commits; returns (first push, the
    README pushes' median and min, gate commands run by the README pushes, --no-verify median)."""
    name = "with-inputs" if inputs else "without-inputs"
    marker = os.path.join(root, f"{name}.marker")
    env = dict(env, BENCH_MARKER=marker)
    repo = new_repo(root, name, env, modules, config(True, inputs, stage="pre-push"))
    remote = os.path.join(root, f"{name}.git")
    sh(["git", "init", "-q", "--bare", remote], root, env)
    sh(["git", "remote", "add", "origin", remote], repo, env)
    sh(["git", "push", "-q", "origin", "main"], repo, env)
    plan = os.path.join(root, f"{name}-plan.md")
    with open(plan, "w") as f:
        f.write('+++\nfeature = "docs"\ntitle = "Docs"\n[[phase]]\nid = 1\ntitle = "Work"\nowner = "hermes"\npaths = ["app/**", "tests/**", "README.md"]\n+++\n')
    sh([binary, "hooks", "install"], repo, env)
    sh([binary, "start", "docs", "--plan", plan], repo, env)
    sh([binary, "approve", "plan", "--yes"], repo, env)
    sh([binary, "phase", "start"], repo, env)
    with open(os.path.join(repo, "app", "m0.py"), "a") as f:
        f.write("def extra(n):\n    return n + 1\n")
    with open(os.path.join(repo, "tests", "test_m0.py"), "a") as f:
        f.write("def test_extra():\n    assert m0.extra(1) == 2\n")
    sh(["git", "commit", "-qam", "feat(app): extra"], repo, env)
    first = push_timed(repo, env)
    ran_before = marks(marker)
    samples, floor = [], []
    for i in range(runs):
        with open(os.path.join(repo, "README.md"), "a") as f:
            f.write(f"Line {i}.\n")
        sh(["git", "commit", "-qam", f"docs: line {i}"], repo, env)
        samples.append(push_timed(repo, env))
        with open(os.path.join(repo, "README.md"), "a") as f:
            f.write(f"Unhooked line {i}.\n")
        sh(["git", "commit", "-qam", f"docs: unhooked line {i}"], repo, env)
        floor.append(push_timed(repo, env, verify=False))
    return first, statistics.median(samples), min(samples), marks(marker) - ran_before, statistics.median(floor)


def one_or_two(binary, root, env, modules, runs):
    out = {}
    for one_run in (False, True):
        name = "one-run" if one_run else "two-runs"
        marker = os.path.join(root, f"{name}.marker")
        run_env = dict(env, BENCH_MARKER=marker)
        repo = new_repo(root, name, run_env, modules, config(one_run, inputs=False))
        sh([binary, "gate"], repo, run_env)
        med, best, last = timed([binary, "gate", "--force", "--json"], runs, cwd=repo, env=run_env, text=True)
        gates = {g["gate"]: g for g in json.loads(last.stdout)["gates"]}
        out[name] = (med, best, gates["tests"]["summary"], marks(marker) // (runs + 1))
    return out


def main():
    args, binary = arguments(__doc__, runs=10, modules=40)
    root = tempfile.mkdtemp(prefix="orchestrate-runs-bench")
    try:
        home = os.path.join(root, "home")
        os.makedirs(home)
        pythonpath = python_tools(root)
        env = git_env(HOME=home, ORCHESTRATE_TRUST_CONFIG="1", **({"PYTHONPATH": pythonpath} if pythonpath else {}))
        tests = args.modules * 25
        print(f"project: {args.modules} modules, {tests} tests (pytest under coverage.py)")

        for inputs in (True, False):
            runs = args.runs if inputs else max(3, args.runs // 3)
            first, med, best, ran, floor = docs_push(binary, root, env, args.modules, runs, inputs)
            what = "with inputs" if inputs else "without inputs"
            print(f"docs-only phase push, {what}: git push {med * 1000:.0f} ms median (min {best * 1000:.0f} ms) over {runs} pushes; "
                  f"gate commands run by them: {ran}; the code push before them: {first:.2f} s; git push --no-verify: {floor * 1000:.0f} ms")

        results = one_or_two(binary, root, env, args.modules, max(3, args.runs // 2))
        for name, (med, best, summary, commands) in results.items():
            print(f"tests + coverage, {name}: gate --force {med:.2f} s median (min {best:.2f} s); {commands} command(s) a run; tests: {summary}")
        two, one = results["two-runs"][0], results["one-run"][0]
        print(f"one run instead of two: {two - one:.2f} s saved ({(1 - one / two) * 100:.0f} %)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
