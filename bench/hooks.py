#!/usr/bin/env python3
"""Benchmark: the whole `git commit`, side by side, with each hook manager's no-op pre-commit hook.

Installs the peers from the registries into a temporary directory (pip: pre-commit, prek,
lefthook; npm: husky), sets up one repository per contender, and times `git commit` of a small
staged change: no hook, a bare `sh` hook, each peer, and git-orchestrate (on a branch outside
any feature: after the first commit there, git runs its pre-commit shim alone, which exits). Then git-orchestrate on a phase branch with the
secrets and scope gates on a 10-file change (against a hookless commit of the same change), and
a 20 000-file repository, off and on a phase branch.

    python3 bench/hooks.py [--bin target/release/git-orchestrate] [--runs 30]
"""
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import arguments, git_env


def sh(cmd, cwd, env, **kw):
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, **kw)


def new_repo(root, name, env, files=1):
    repo = os.path.join(root, name)
    os.makedirs(repo)
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    for i in range(files):
        path = os.path.join(repo, f"src/d{i // 500}/f{i}.txt") if files > 1 else os.path.join(repo, "file.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"line {i}\n")
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "-m", "chore: init"], repo, env)
    return repo


THREE = ["pre-commit", "prepare-commit-msg", "commit-msg"]


def bare_hooks(repo, hooks):
    """Install each of `hooks` as a sh script that does nothing."""
    for name in hooks:
        hook = os.path.join(repo, ".git", "hooks", name)
        with open(hook, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(hook, 0o755)


def on_phase(binary, repo, plan, env):
    """Install the hooks, start feature `bench` from `plan`, approve it and start its phase 1."""
    sh([binary, "hooks", "install"], repo, env)
    sh([binary, "start", "bench", "--plan", plan], repo, env)
    sh([binary, "approve", "plan", "--yes"], repo, env)
    sh([binary, "phase", "start"], repo, env)
    os.makedirs(os.path.join(repo, "work"), exist_ok=True)


def commit_once(repo, env, i, files):
    for f in files:
        with open(os.path.join(repo, f), "a") as fh:
            fh.write(f"change {i}\n")
    sh(["git", "add", "--", *files], repo, env)
    start = time.perf_counter()
    sh(["git", "commit", "-q", "-m", f"chore: change {i}"], repo, env)
    return (time.perf_counter() - start) * 1000


def time_round_robin(contenders, env, runs):
    """Median commit time of each contender, commits interleaved (in a shuffled order each
    round) so that drift in the machine's load hits every contender alike.
    contenders: [(name, repo, files)]."""
    samples = {name: [] for name, _, _ in contenders}
    order = list(contenders)
    shuffle = random.Random(7).shuffle
    for i in range(runs + 3):
        shuffle(order)  # no contender always runs first, or right after the same one
        for name, repo, files in order:
            ms = commit_once(repo, env, i, files)
            if i >= 3:  # warm-up
                samples[name].append(ms)
    return {name: statistics.median(v) for name, v in samples.items()}


NOOP_PRE_COMMIT = """repos:
- repo: local
  hooks:
  - id: noop
    name: noop
    entry: "true"
    language: system
    pass_filenames: false
    always_run: true
"""


def main():
    args, binary = arguments(__doc__, runs=30)
    root = tempfile.mkdtemp(prefix="orchestrate-hooks-bench")
    # No background `git maintenance --auto` after each commit: it would run into the next
    # contender's timing.
    env = git_env(GIT_CONFIG_COUNT="2", GIT_CONFIG_KEY_0="maintenance.auto", GIT_CONFIG_VALUE_0="false",
                  GIT_CONFIG_KEY_1="gc.auto", GIT_CONFIG_VALUE_1="0")
    try:
        venv = os.path.join(root, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", "pre-commit", "prek", "lefthook"], check=True)
        npm_dir = os.path.join(root, "npm")
        os.makedirs(npm_dir)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", npm_dir, "husky"], check=True, capture_output=True)
        env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env["PATH"]
        contenders = []
        repo = new_repo(root, "none", env)
        contenders.append(("no hook", repo, ("file.txt",)))
        # The phase-branch contender commits ten files: its baseline commits the same change.
        ten = tuple(f"work/f{i}.py" for i in range(10))
        repo = new_repo(root, "none10", env)
        os.makedirs(os.path.join(repo, "work"))
        contenders.append(("no hook, the same 10-file change", repo, ten))

        repo = new_repo(root, "sh", env)
        bare_hooks(repo, ["pre-commit"])
        contenders.append(("bare sh hook", repo, ("file.txt",)))

        # The three hooks a commit on a phase branch runs, each an `exit 0`: the floor there.
        repo = new_repo(root, "sh3", env)
        bare_hooks(repo, THREE)
        contenders.append(("three bare sh hooks (pre-commit, prepare-commit-msg, commit-msg)", repo, ("file.txt",)))

        for tool in ["pre-commit", "prek"]:
            repo = new_repo(root, tool, env)
            with open(os.path.join(repo, ".pre-commit-config.yaml"), "w") as f:
                f.write(NOOP_PRE_COMMIT)
            sh(["git", "add", "-A"], repo, env)
            sh(["git", "commit", "-q", "-m", "chore: config"], repo, env)
            sh([tool, "install"], repo, env)
            contenders.append((tool, repo, ("file.txt",)))

        repo = new_repo(root, "lefthook", env)
        with open(os.path.join(repo, "lefthook.yml"), "w") as f:
            f.write("pre-commit:\n  commands:\n    noop:\n      run: \"true\"\n")
        sh(["lefthook", "install"], repo, env)
        contenders.append(("lefthook", repo, ("file.txt",)))

        repo = new_repo(root, "husky", env)
        husky = os.path.join(npm_dir, "node_modules", ".bin", "husky")
        sh([husky], repo, env)
        with open(os.path.join(repo, ".husky", "pre-commit"), "w") as f:
            f.write("true\n")
        contenders.append(("husky", repo, ("file.txt",)))

        repo = new_repo(root, "orchestrate", env)
        sh([binary, "hooks", "install"], repo, env)
        contenders.append(("git-orchestrate, branch outside any feature", repo, ("file.txt",)))

        # A phase branch: secrets and scope gates at pre-commit on a 10-file change.
        repo = new_repo(root, "phase", env)
        with open(os.path.join(repo, ".orchestrate.toml"), "w") as f:
            f.write("[gates.secrets]\n\n[gates.scope]\n\n[approvals]\nrequire = \"any\"\n")
        sh(["git", "add", "-A"], repo, env)
        sh(["git", "commit", "-q", "-m", "chore: gates"], repo, env)
        plan = os.path.join(root, "plan.md")
        with open(plan, "w") as f:
            f.write('+++\nfeature = "bench"\ntitle = "Bench"\n[[phase]]\nid = 1\ntitle = "Work"\nowner = "hermes"\npaths = ["work/**"]\n+++\n')
        on_phase(binary, repo, plan, env)
        contenders.append(("git-orchestrate, phase branch, secrets + scope gates, 10 files", repo, ten))
        results = time_round_robin(contenders, env, args.runs)
        none = results["no hook"]

        big = []
        for name in ["big-none", "big-sh", "big-sh3", "big-orchestrate", "big-lefthook", "big-phase"]:
            repo = new_repo(root, name, env, files=20000)
            if name == "big-sh":
                bare_hooks(repo, ["pre-commit"])
            if name == "big-sh3":
                bare_hooks(repo, THREE)
            if name == "big-orchestrate":
                sh([binary, "hooks", "install"], repo, env)
            if name == "big-lefthook":
                with open(os.path.join(repo, "lefthook.yml"), "w") as f:
                    f.write("pre-commit:\n  commands:\n    noop:\n      run: \"true\"\n")
                sh(["lefthook", "install"], repo, env)
            if name == "big-phase":
                with open(os.path.join(repo, ".orchestrate.toml"), "w") as f:
                    f.write("[gates.secrets]\n\n[gates.scope]\n\n[approvals]\nrequire = \"any\"\n")
                sh(["git", "add", "-A"], repo, env)
                sh(["git", "commit", "-q", "-m", "chore: gates"], repo, env)
                on_phase(binary, repo, plan, env)
                big.append((name, repo, ("work/f0.py",)))
                continue
            big.append((name, repo, ("src/d0/f0.txt",)))
        big_results = time_round_robin(big, env, args.runs)
        big_none_ms, big_sh_ms, big_sh3_ms, big_ms, big_lefthook_ms, big_phase_ms = (big_results[n] for n in ["big-none", "big-sh", "big-sh3", "big-orchestrate", "big-lefthook", "big-phase"])

        versions = {t: subprocess.run([t, "--version"], env=env, capture_output=True, text=True).stdout.strip().splitlines()[0] for t in ["pre-commit", "prek", "lefthook"]}
        husky_version = subprocess.run(["node", "-p", f"require('{npm_dir}/node_modules/husky/package.json').version"], capture_output=True, text=True).stdout.strip()
        print(f"peers: {versions['pre-commit']}, {versions['prek']}, lefthook {versions['lefthook']}, husky {husky_version}; {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.strip()}")
        print(f"median of {args.runs} commits each, whole `git commit` wall time")
        print("| contender | git commit | over no hook |")
        print("|---|---:|---:|")
        ten_none = results["no hook, the same 10-file change"]
        for name, ms in results.items():
            base = ten_none if "10 files" in name else none
            print(f"| {name} | {ms:.1f} ms | +{ms - base:.1f} ms |")
        print("| 20 000-file repo, no hook | {:.1f} ms | |".format(big_none_ms))
        print("| 20 000-file repo, bare sh hook | {:.1f} ms | ×{:.2f} |".format(big_sh_ms, big_sh_ms / big_none_ms))
        print("| 20 000-file repo, three bare sh hooks | {:.1f} ms | ×{:.2f} |".format(big_sh3_ms, big_sh3_ms / big_none_ms))
        print("| 20 000-file repo, git-orchestrate outside any feature | {:.1f} ms | ×{:.2f} |".format(big_ms, big_ms / big_none_ms))
        print("| 20 000-file repo, lefthook | {:.1f} ms | ×{:.2f} |".format(big_lefthook_ms, big_lefthook_ms / big_none_ms))
        print("| 20 000-file repo, git-orchestrate on a phase branch, secrets + scope | {:.1f} ms | ×{:.2f} |".format(big_phase_ms, big_phase_ms / big_none_ms))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
