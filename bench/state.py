#!/usr/bin/env python3
"""Benchmark: `status --json` and recording one event, against repositories with many features.

Builds each repository directly with git plumbing (deterministic: fixed dates, fixed ids), so a
10 000-event repository takes seconds, then times the real binary. Never part of the tests.

    python3 bench/state.py [--bin target/release/git-orchestrate] [--runs 30]
"""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from common import arguments, git_env, timed as run_timed

ENV = git_env(HOME="/nonexistent", GIT_AUTHOR_DATE="1700000000 +0000", GIT_COMMITTER_DATE="1700000000 +0000", TZ="UTC")


def git(repo, *args, data=None):
    out = subprocess.run(["git", "-C", repo, *args], input=data, capture_output=True, env=ENV, check=True)
    return out.stdout.decode().strip()


def plan_text(feature, phases):
    s = f'+++\nfeature = "{feature}"\ntitle = "Feature {feature}"\nbase = "main"\n'
    for i in range(1, phases + 1):
        s += (f'\n[[phase]]\nid = {i}\ntitle = "Phase {i} of {feature}"\nowner = "hermes"\n'
              f'tasks = ["task a", "task b"]\ntests = ["test a"]\npaths = ["{feature}/p{i}/**"]\n')
    return s + "+++\n\n# Plan\n"


def event(seq, what, **fields):
    e = {"seq": seq, "ts": f"2026-01-01T00:00:{seq % 60:02d}Z", "id": f"{seq:016x}bench", "by": "Bench <bench@example.com>", "event": what}
    e.update(fields)
    return json.dumps(e, separators=(",", ":"))


def build(root, features, phases, events_per_feature, fresh):
    """A repository with `features` features of `phases` phases, `events_per_feature` events each,
    plus `fresh` features that only have their `created` event (for timing an approval)."""
    repo = os.path.join(root, "repo")
    git(root, "init", "-q", "-b", "main", repo)
    git(repo, "commit", "-q", "--allow-empty", "-m", "init")
    main = git(repo, "rev-parse", "HEAD")
    refs, notes = [], []
    names = [f"feat-{i:03d}" for i in range(features)] + [f"fresh-{i:03d}" for i in range(fresh)]
    for n, name in enumerate(names):
        plan = git(repo, "hash-object", "-w", "--stdin", data=plan_text(name, phases).encode())
        plans = git(repo, "mktree", data=f"100644 blob {plan}\tplan.md\n".encode())
        feat_dir = git(repo, "mktree", data=f"040000 tree {plans}\t{name}\n".encode())
        # `approve plan --yes` without a terminal needs approvals.require = "any".
        config = git(repo, "hash-object", "-w", "--stdin", data=b'[approvals]\nrequire = "any"\n')
        tree = git(repo, "mktree", data=f"100644 blob {config}\t.orchestrate.toml\n040000 tree {feat_dir}\tplans\n".encode())
        commit = git(repo, "commit-tree", tree, "-p", main, "-m", f"docs({name}): plan", data=b"")
        branch = f"orchestrate/{name}/main"
        refs.append(f"create refs/heads/{branch} {commit}\n")
        lines = [event(1, "created", feature=name, title=f"Feature {name}", base="main", branch=branch,
                       plan=f"plans/{name}/plan.md", commit=commit)]
        if n < features:
            seq = 2
            lines.append(event(seq, "plan-approved", plan_blob=plan))
            # Phases: the first half approved, the next one active, the rest planned.
            for p in range(1, phases + 1):
                pbranch = f"orchestrate/{name}/{p}-phase-{p}"
                refs.append(f"create refs/heads/{pbranch} {commit}\n")
                if p > phases // 2 + 1:
                    continue
                seq += 1
                lines.append(event(seq, "phase-started", phase=p, branch=pbranch, fork=commit))
                if p <= phases // 2:
                    seq += 1
                    lines.append(event(seq, "phase-approved", phase=p, commit=commit, tree=tree))
            # The rest of the log: gate runs, the bulk of a real log.
            while len(lines) < events_per_feature:
                seq += 1
                lines.append(event(seq, "gate-run", phase=1 + seq % phases, gate="tests", tree=tree, fingerprint="0123456789abcdef", verdict="pass"))
        key = git(repo, "hash-object", "-w", "--stdin", data=f"git-orchestrate feature {name}\n".encode())
        blob = git(repo, "hash-object", "-w", "--stdin", data=("\n".join(lines) + "\n").encode())
        notes.append(f"100644 blob {blob}\t{key}\n")
    git(repo, "update-ref", "--stdin", data="".join(refs).encode())
    notes_tree = git(repo, "mktree", data="".join(notes).encode())
    notes_commit = git(repo, "commit-tree", notes_tree, "-m", "notes", data=b"")
    git(repo, "update-ref", "refs/notes/orchestrate", notes_commit)
    git(repo, "pack-refs", "--all")
    return repo


def timed(cmd, cwd, runs):
    """(median, min) in milliseconds."""
    med, best, _ = run_timed(cmd, runs, cwd=cwd, env=ENV, stdin=subprocess.DEVNULL)
    return med * 1000, best * 1000


def main():
    args, binary = arguments(__doc__, runs=30)
    print(f"git-orchestrate {subprocess.run([binary, '--version'], capture_output=True, text=True).stdout.split()[-1]}, "
          f"{subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.strip()}, {os.cpu_count()} cores")
    print("Each cell: median (min) over the runs, wall time of the whole process.")
    print("| features | phases | events | status --json, loose objects | status --json, after git gc | record one event (approve plan) | bare `git --version` |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for features, phases, per in [(10, 10, 100), (100, 10, 10), (100, 10, 100), (100, 10, 1000)]:
        root = tempfile.mkdtemp(prefix="orchestrate-bench")
        try:
            fresh = args.runs
            repo = build(root, features, phases, per, fresh)
            out = json.loads(subprocess.run([binary, "status", "--json"], cwd=repo, env=ENV, check=True, capture_output=True).stdout)
            assert len(out["features"]) == features + fresh, "every feature is listed"
            status = timed([binary, "status", "--json"], repo, args.runs)
            git(repo, "gc", "-q")
            packed = timed([binary, "status", "--json"], repo, args.runs)
            # One approval each on fresh features: load the feature, check the plan, append one event.
            samples = []
            for i in range(fresh):
                start = time.perf_counter()
                subprocess.run([binary, "approve", "plan", "--yes", "--feature", f"fresh-{i:03d}"], cwd=repo, env=ENV, check=True, capture_output=True, stdin=subprocess.DEVNULL)
                samples.append((time.perf_counter() - start) * 1000)
            record = (statistics.median(samples), min(samples))
            bare = timed(["git", "--version"], repo, args.runs)
            events = features * per + fresh
            print(f"| {features + fresh} | {(features + fresh) * phases} | {events} | {status[0]:.1f} ms ({status[1]:.1f}) | "
                  f"{packed[0]:.1f} ms ({packed[1]:.1f}) | {record[0]:.1f} ms ({record[1]:.1f}) | {bare[0]:.1f} ms |")
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
