#!/usr/bin/env python3
"""Benchmark: `sync` of 10 000 events between two clones, and `verify` of a 100-commit range.

sync: a repository of 100 features with 100 events each (built with git plumbing, as
bench/state.py builds it) is pushed to a bare remote; a fresh clone then takes all of it with
`sync --no-branches` (fetch, fast-forward, push up to date), and, after both clones appended
one event to every feature apart, `sync --no-branches` merges the 100 diverged notes by union
and pushes. verify: a phase of 100 commits, each gated, judged with `verify --range`.
Never part of the tests.

    python3 bench/sync.py [--bin target/release/git-orchestrate] [--runs 5]
"""
import os
import shutil
import subprocess
import tempfile
import time

from common import arguments
from state import ENV, build, event, git


def run(binary, cwd, *args):
    start = time.perf_counter()
    subprocess.run([binary, *args], cwd=cwd, env=ENV, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def append_everywhere(repo, tag):
    """One more event on every feature's note, written as a new notes commit (plumbing)."""
    tip = git(repo, "rev-parse", "refs/notes/orchestrate")
    entries = git(repo, "ls-tree", "-r", tip).splitlines()
    lines = []
    for n, entry in enumerate(entries):
        mode_type_blob, path = entry.split("\t")
        blob = mode_type_blob.split()[2]
        text = git(repo, "cat-file", "-p", blob) + "\n" + event(100000 + n, "phase-submitted", phase=1, commit="0" * 40).replace("bench", tag) + "\n"
        new = git(repo, "hash-object", "-w", "--stdin", data=text.encode())
        lines.append(f"100644 blob {new}\t{path}\n")
    tree = git(repo, "mktree", data="".join(lines).encode())
    commit = git(repo, "commit-tree", tree, "-p", tip, "-m", "notes", data=b"")
    git(repo, "update-ref", "refs/notes/orchestrate", commit, tip)


def sync_figures(binary, runs):
    fresh, merged = [], []
    for _ in range(runs):
        root = tempfile.mkdtemp(prefix="orchestrate-bench")
        try:
            a = build(root, 100, 10, 100, 0)
            remote = os.path.join(root, "remote.git")
            git(root, "init", "-q", "--bare", "-b", "main", remote)
            git(a, "remote", "add", "origin", remote)
            git(a, "push", "-q", "--no-verify", "origin", "main", "refs/notes/orchestrate")
            b = os.path.join(root, "b")
            git(root, "clone", "-q", remote, b)
            fresh.append(run(binary, b, "sync", "--no-branches"))
            append_everywhere(a, "aaaa")
            git(a, "push", "-q", "--no-verify", "origin", "refs/notes/orchestrate")
            append_everywhere(b, "bbbb")
            merged.append(run(binary, b, "sync", "--no-branches"))
            count = sum(len(git(b, "cat-file", "-p", l.split()[2]).splitlines())
                        for l in git(b, "ls-tree", "-r", "refs/notes/orchestrate").splitlines())
            assert count == 100 * 102, count
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return sorted(fresh), sorted(merged)


def verify_figures(binary, runs):
    root = tempfile.mkdtemp(prefix="orchestrate-bench")
    try:
        repo = os.path.join(root, "repo")
        git(root, "init", "-q", "-b", "main", repo)
        with open(os.path.join(repo, ".orchestrate.toml"), "w") as f:
            f.write('[approvals]\nrequire = "any"\n')
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", "chore: init")
        plan = os.path.join(root, "plan.md")
        with open(plan, "w") as f:
            f.write('+++\nfeature = "v"\ntitle = "V"\nbase = "main"\n\n[[phase]]\nid = 1\ntitle = "One"\nowner = "a"\n'
                    'tasks = ["t"]\ntests = ["t"]\npaths = ["src/**"]\n+++\n\n# V\n')
        for args in (["start", "v", "--plan", plan], ["approve", "plan", "--yes"], ["phase", "start"]):
            subprocess.run([binary, *args], cwd=repo, env=ENV, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        fork = git(repo, "rev-parse", "HEAD")
        os.makedirs(os.path.join(repo, "src"), exist_ok=True)
        for i in range(100):
            with open(os.path.join(repo, "src", f"f{i}.py"), "w") as f:
                f.write(f"X = {i}\n")
            git(repo, "add", ".")
            git(repo, "commit", "-q", "-m", f"feat(v): step {i}")
            subprocess.run([binary, "gate", "--stage", "pre-commit", "--rev", "HEAD", "--feature", "v", "--phase", "1"],
                           cwd=repo, env=ENV, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        samples = sorted(run(binary, repo, "verify", "--range", f"{fork}..HEAD") for _ in range(runs * 4))
        return samples
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    args, binary = arguments(__doc__, runs=5)
    fresh, merged = sync_figures(binary, args.runs)
    med = lambda s: s[len(s) // 2]
    print(f"sync, fresh clone takes 10 000 events: median {med(fresh):.0f} ms (min {fresh[0]:.0f})")
    print(f"sync, 100 diverged notes merged by union and pushed: median {med(merged):.0f} ms (min {merged[0]:.0f})")
    v = verify_figures(binary, args.runs)
    print(f"verify, 100-commit range, all evidence present: median {med(v):.0f} ms (min {v[0]:.0f})")


if __name__ == "__main__":
    main()
